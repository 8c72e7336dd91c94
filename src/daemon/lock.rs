//! One service per database: an exclusive lock on `<database>.lock`, held
//! for the life of `duban serve` and released by the system if it dies.
//! Other commands (`tasks done`, `import` …) do not take it; they share the
//! database with the service through SQLite's own locking.

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub struct ServiceLock {
    _file: File,
    pub path: PathBuf,
}

impl ServiceLock {
    pub fn acquire(database: &Path) -> Result<ServiceLock> {
        let mut name = database.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|source| Error::Io {
                what: path.display().to_string(),
                source,
            })?;
        if file.try_lock().is_err() {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(Error::invalid(format!(
                "another `duban serve` is running on {} ({}); one service per database",
                database.display(),
                if holder.is_empty() {
                    "lock held".to_string()
                } else {
                    format!("process {holder}")
                }
            )));
        }
        let _ = file.set_len(0);
        let _ = file.seek(SeekFrom::Start(0));
        let _ = write!(file, "{}", std::process::id());
        let _ = file.flush();
        Ok(ServiceLock { _file: file, path })
    }
}
