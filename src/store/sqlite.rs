//! SQLite through rusqlite: opening a file, binding duban's values,
//! reading them back, and rusqlite's errors in duban's words. Nothing
//! outside `src/store` names rusqlite.

use super::db::{DatabaseError, Db, DbResult, ErrorKind, ValueRef};
use rusqlite::types::{ToSqlOutput, ValueRef as S};
use std::path::Path;

impl From<rusqlite::Error> for DatabaseError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        let (kind, code) = match &e {
            rusqlite::Error::SqliteFailure(f, _) => {
                let kind = match f.code {
                    C::DatabaseBusy | C::DatabaseLocked => ErrorKind::Busy,
                    C::ConstraintViolation
                        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
                    {
                        ErrorKind::Duplicate
                    }
                    C::ConstraintViolation => ErrorKind::Constraint,
                    C::CannotOpen | C::NotADatabase => ErrorKind::Connection,
                    _ => ErrorKind::Other,
                };
                (kind, Some(f.extended_code.to_string()))
            }
            rusqlite::Error::QueryReturnedNoRows => (ErrorKind::NoRows, None),
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::Utf8Error(..) => (ErrorKind::Conversion, None),
            _ => (ErrorKind::Other, None),
        };
        DatabaseError {
            message: e.to_string(),
            code,
            kind,
        }
    }
}

/// Opens (or creates) the file; the caller configures it.
pub(crate) fn open(path: &Path) -> DbResult<Db> {
    Ok(Db::sqlite(rusqlite::Connection::open(path)?))
}

pub(crate) fn open_in_memory() -> DbResult<Db> {
    Ok(Db::sqlite(rusqlite::Connection::open_in_memory()?))
}

/// The pragmas every connection runs with.
pub(crate) fn configure(conn: &rusqlite::Connection) -> DbResult<()> {
    conn.busy_timeout(super::BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // A page cache of 32 MiB (SQLite's default is 2 MiB): rules scan and
    // probe the same tables one after the other. Bounded, whatever the
    // size of the database.
    conn.pragma_update(None, "cache_size", -32 * 1024)?;
    Ok(())
}

/// What a page cache is sized for while one command reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CacheSize {
    /// A replay (`simulate`), which reads the same tables day after day:
    /// as large as the database file, so that each page is read from the
    /// file once, at most 1 GiB.
    Database,
    /// A report (`dry-run`), which reads each rule's tables once and
    /// writes nothing, on this many connections side by side (1: one): 2
    /// MiB among them, about SQLite's default, at least 512 KiB each (more
    /// than 2 MiB in all beyond four). The configured 32 MiB made it no
    /// faster at a million problems (the operating system keeps the file's
    /// pages), but filled there and not at a tenth of the office. A
    /// connection's sort (the firings, in subject order) holds as much as
    /// its cache, at least 1 MiB (SQLite's smallest, 250 pages), before it
    /// spills to a temporary file: two connections hold what one does.
    Report(usize),
    /// SQLite's `cache_size` as it was, to give back.
    Was(i64),
}

/// Runs `f` with the page cache sized for `size`, and gives the cache its
/// size back after. Nothing on PostgreSQL, whose server keeps its own cache.
pub(crate) fn with_page_cache<T>(
    db: &mut Db,
    size: CacheSize,
    f: impl FnOnce(&mut Db) -> crate::error::Result<T>,
) -> crate::error::Result<T> {
    let before = page_cache(db, size)?;
    let out = f(db);
    if let Some(before) = before {
        page_cache(db, before)?;
    }
    out
}

/// Sizes the page cache for `size`; returns the size it replaced.
fn page_cache(db: &Db, size: CacheSize) -> DbResult<Option<CacheSize>> {
    let super::db::Inner::Sqlite(conn) = &db.inner else {
        return Ok(None);
    };
    let before: i64 = conn.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
    // In KiB when negative: SQLite's way of giving the size in bytes.
    let size = match size {
        CacheSize::Database => {
            let bytes: i64 = conn.query_row(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
                [],
                |r| r.get(0),
            )?;
            -(bytes / 1024 + 1024).clamp(32 * 1024, 1024 * 1024)
        }
        CacheSize::Report(n) => -(2 * 1024 / n.max(1) as i64).max(512),
        CacheSize::Was(s) => s,
    };
    conn.pragma_update(None, "cache_size", size)?;
    Ok(Some(CacheSize::Was(before)))
}

/// A larger cache for the temporary tables of an import (SQLite only):
/// most of their pages stay off the temporary file without all of them
/// held in memory.
pub(crate) fn temp_cache(db: &Db) -> DbResult<()> {
    if let super::db::Inner::Sqlite(conn) = &db.inner {
        conn.execute_batch("PRAGMA temp.cache_size = -8192")?;
    }
    Ok(())
}

/// Bounds a connection's page cache to `kib` (and with it what one sort
/// holds in memory before it spills to a temporary file).
pub(crate) fn cache_kib(db: &Db, kib: u32) -> DbResult<()> {
    if let super::db::Inner::Sqlite(conn) = &db.inner {
        conn.pragma_update(None, "cache_size", -i64::from(kib))?;
    }
    Ok(())
}

/// Turns SQLite's own checking of foreign keys off or on (outside a
/// transaction); PostgreSQL's constraints stay as they are declared.
pub(crate) fn foreign_keys(db: &Db, on: bool) -> DbResult<()> {
    if let super::db::Inner::Sqlite(conn) = &db.inner {
        conn.pragma_update(None, "foreign_keys", if on { "ON" } else { "OFF" })?;
    }
    Ok(())
}

/// Brings the database to the latest migration.
pub(crate) fn migrate(db: &mut Db, what: &str) -> crate::error::Result<()> {
    let Some(conn) = db.sqlite_mut() else {
        return Ok(());
    };
    super::migrations::migrations()
        .to_latest(conn)
        .map_err(|source| crate::error::Error::Migration {
            what: what.to_string(),
            source: Box::new(source),
        })
}

struct Bind<'a>(ValueRef<'a>);

impl rusqlite::ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            ValueRef::Null => S::Null,
            ValueRef::Integer(n) => S::Integer(n),
            ValueRef::Real(x) => S::Real(x),
            ValueRef::Text(t) => S::Text(t.as_bytes()),
            ValueRef::Blob(b) => S::Blob(b),
            ValueRef::Date(d) => {
                return Ok(ToSqlOutput::Owned(rusqlite::types::Value::Text(
                    d.format("%Y-%m-%d").to_string(),
                )));
            }
            ValueRef::Timestamp(t) => {
                return Ok(ToSqlOutput::Owned(rusqlite::types::Value::Text(
                    super::db::timestamp_text(&t),
                )));
            }
        }))
    }
}

pub(crate) fn bind(stmt: &mut rusqlite::Statement<'_>, values: &[ValueRef<'_>]) -> DbResult<()> {
    let expected = stmt.parameter_count();
    if values.len() != expected {
        return Err(DatabaseError::new(
            ErrorKind::Other,
            format!(
                "{} parameters given where the statement has {expected}",
                values.len()
            ),
        ));
    }
    for (i, v) in values.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, Bind(*v))?;
    }
    Ok(())
}

pub(crate) fn bind_one(
    stmt: &mut rusqlite::Statement<'_>,
    i: usize,
    value: ValueRef<'_>,
) -> DbResult<()> {
    Ok(stmt.raw_bind_parameter(i, Bind(value))?)
}

pub(crate) fn execute(
    stmt: &mut rusqlite::Statement<'_>,
    values: &[ValueRef<'_>],
) -> DbResult<usize> {
    bind(stmt, values)?;
    Ok(stmt.raw_execute()?)
}

pub(crate) fn value<'r>(row: &'r rusqlite::Row<'_>, i: usize) -> DbResult<ValueRef<'r>> {
    Ok(match row.get_ref(i)? {
        S::Null => ValueRef::Null,
        S::Integer(n) => ValueRef::Integer(n),
        S::Real(x) => ValueRef::Real(x),
        S::Text(t) => ValueRef::Text(
            std::str::from_utf8(t)
                .map_err(|e| DatabaseError::conversion(format!("column {i} is not UTF-8: {e}")))?,
        ),
        S::Blob(b) => ValueRef::Blob(b),
    })
}

#[cfg(test)]
mod build {
    /// The bundled SQLite is built as `.cargo/config.toml` asks: a page
    /// cache per connection, no memory statistics. Without it, connections
    /// reading side by side wait on one mutex for every page.
    #[test]
    fn each_connection_has_a_page_cache_of_its_own() {
        let conn = rusqlite::Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        let mut stmt = conn
            .prepare("PRAGMA compile_options")
            .unwrap_or_else(|e| panic!("{e}"));
        let options: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "{options:?}"
        );
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
    }
}
