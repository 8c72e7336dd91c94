//! Files and folders that hold people's names, problems or secrets — the
//! database, the outbox, exports, reports, `duban.toml`, the calendar —
//! are made here, for the office's user only: files 0600, folders 0700,
//! whatever the umask (the mode is set on the open file, not left to the
//! umask). A file written "whole" goes to a temporary name, is synced,
//! renamed into place, and its folder synced, so a crash leaves the old
//! file or the new one and a file counted as written survives power loss.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Mode of a file only its owner reads and writes.
pub const FILE_MODE: u32 = 0o600;
/// Mode of a folder only its owner enters.
pub const DIR_MODE: u32 = 0o700;

/// Creates (or truncates) `path` as a private file.
pub fn create(path: &Path) -> std::io::Result<File> {
    open(path, false)
}

/// Creates `path` as a private file; fails if it exists.
pub fn create_new(path: &Path) -> std::io::Result<File> {
    open(path, true)
}

#[cfg(unix)]
fn open(path: &Path, new: bool) -> std::io::Result<File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut options = std::fs::OpenOptions::new();
    options.write(true).mode(FILE_MODE);
    if new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    let file = options.open(path)?;
    // The umask may have taken bits away, an old file kept its own mode:
    // set it on the open file.
    file.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
    Ok(file)
}

#[cfg(not(unix))]
fn open(path: &Path, new: bool) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    options.open(path)
}

/// Creates `dir` and its missing parents as private folders; a folder that
/// exists already keeps its mode (it may be the office's own).
pub fn create_dir_all(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let missing: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
            .map(Path::to_path_buf)
            .collect();
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)?;
        for d in missing {
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(DIR_MODE))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// Writes `bytes` to `path` as a private file, whole: a temporary name
/// beside it, synced, renamed into place, the folder synced.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temp = temp_name(path);
    let written = (|| {
        let mut file = create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    std::fs::rename(&temp, path)?;
    sync_dir(path)
}

/// The temporary name [`write`] uses beside `path`.
pub fn temp_name(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Syncs the folder holding `path`, so a rename into it survives a crash.
pub fn sync_dir(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Whether users other than the owner may read `path` (a folder: enter it).
pub fn readable_by_others(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o044 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// Whether a folder may be entered or listed by others and holds a file
/// they may read; for a file, whether they may read it.
pub fn exposed(path: &Path) -> bool {
    if !path.is_dir() {
        return readable_by_others(path);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let enterable = std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o011 != 0);
        if !enterable {
            return false;
        }
        if readable_by_others(path) {
            return true;
        }
        std::fs::read_dir(path)
            .is_ok_and(|entries| entries.flatten().any(|e| readable_by_others(&e.path())))
    }
    #[cfg(not(unix))]
    false
}
