//! The database (SQLite): opening it safely, migrations, and every
//! statement on duban's own tables — tasks, outbox, audit, episodes, runs,
//! schedule state — behind typed functions. The case tables are generated
//! from [`crate::schema`]; nothing outside this module spells a table of
//! duban's own in SQL (a test in `tests/` greps for it).
//!
//! Opening applies the migrations, turns on WAL, foreign keys and a busy
//! timeout, and creates a new file readable by its owner only.

pub mod accounts;
pub mod approvals;
pub mod audit;
pub mod cases;
pub mod channels;
pub mod episodes;
pub mod export;
pub mod firings;
pub mod import;
pub mod migrations;
pub mod outbox;
pub mod progress;
pub mod runs;
pub mod sources;
pub mod tasks;
pub mod window;
pub mod workdays;

use crate::error::{Error, Result};
use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;

/// How long a writer waits for another (the daemon, an import) before
/// giving up with "database is locked".
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Opens an existing case database.
pub fn open(path: &Path) -> Result<Connection> {
    if !path.exists() {
        return Err(Error::invalid(format!(
            "no case database at {}: run `duban init` to create one (or `duban demo` for a demo office)",
            path.display()
        )));
    }
    connect(path)
}

/// Creates a case database; refuses to touch an existing file.
pub fn create(path: &Path) -> Result<Connection> {
    if path.exists() {
        return Err(Error::invalid(format!(
            "{} already exists; duban will not overwrite it",
            path.display()
        )));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::private::create_dir_all(dir).map_err(|source| Error::Io {
            what: format!("creating {}", dir.display()),
            source,
        })?;
    }
    create_private_file(path)?;
    connect(path)
}

fn create_private_file(path: &Path) -> Result<()> {
    crate::private::create_new(path)
        .map(|_| ())
        .map_err(|source| Error::Io {
            what: format!("creating {}", path.display()),
            source,
        })
}

fn connect(path: &Path) -> Result<Connection> {
    let mut conn = Connection::open(path)
        .map_err(|source| Error::failed(format!("opening {}", path.display()), source))?;
    configure(&conn)?;
    migrations::migrations()
        .to_latest(&mut conn)
        .map_err(|source| Error::Migration {
            what: path.display().to_string(),
            source,
        })?;
    Ok(conn)
}

/// The pragmas every connection runs with.
pub fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // A page cache of 32 MiB (SQLite's default is 2 MiB): rules scan and
    // probe the same tables one after the other. Bounded, whatever the
    // size of the database.
    conn.pragma_update(None, "cache_size", -32 * 1024)?;
    Ok(())
}

/// An in-memory database with the full schema (policy tests, fixtures).
pub fn in_memory() -> Result<Connection> {
    let mut conn = Connection::open_in_memory()?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrations::migrations()
        .to_latest(&mut conn)
        .map_err(|source| Error::Migration {
            what: "an in-memory database".into(),
            source,
        })?;
    Ok(conn)
}

/// `?1, ?2, … ?n`: the parameters of an INSERT of n columns.
pub fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A WHERE clause built from the filters a list was given, and only those,
/// so that SQLite can choose an index for them (a clause written once with
/// `(?1 IS NULL OR col = ?1)` for every optional filter cannot use one).
#[derive(Debug, Default)]
pub(crate) struct Where {
    conds: Vec<String>,
    args: Vec<rusqlite::types::Value>,
}

impl Where {
    /// Adds a condition; `?N` in `cond` stands for `value`'s parameter.
    pub(crate) fn and(&mut self, cond: &str, value: impl Into<rusqlite::types::Value>) {
        self.args.push(value.into());
        self.conds.push(format!(
            "({})",
            cond.replace("?N", &format!("?{}", self.args.len()))
        ));
    }

    /// The conditions joined by AND (`1` when there are none).
    pub(crate) fn sql(&self) -> String {
        if self.conds.is_empty() {
            "1".into()
        } else {
            self.conds.join(" AND ")
        }
    }

    /// The parameter number the next value would get (for LIMIT, OFFSET).
    pub(crate) fn next(&self) -> usize {
        self.args.len() + 1
    }

    /// The values, and then `more` (LIMIT, OFFSET …).
    pub(crate) fn params(&self, more: &[i64]) -> Vec<rusqlite::types::Value> {
        let mut all = self.args.clone();
        all.extend(more.iter().map(|&n| rusqlite::types::Value::Integer(n)));
        all
    }
}
