//! The database (SQLite or PostgreSQL): its driver, opening it safely,
//! migrations, and every
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
pub mod copy;
pub mod db;
pub mod dialect;
pub mod diff_actions;
pub mod episodes;
pub mod export;
pub mod firings;
pub mod import;
pub mod leases;
pub mod location;
pub mod migrations;
pub mod outbox;
pub(crate) mod pg;
pub mod pool;
pub mod progress;
pub mod runs;
pub mod snapshot;
pub mod sources;
pub(crate) mod sqlite;
pub mod tasks;
pub mod window;
pub mod workdays;

pub use db::{
    Behavior, DatabaseError, Db, DbResult, ErrorKind, FromSql, MappedRows, OptionalExtension,
    Params, Row, Rows, Statement, ToSql, Tx, Value, ValueRef, params_from_iter,
};
pub use dialect::Dialect;
pub use location::Location;
pub use pool::Pool;

/// `params![a, b, …]`: parameters of mixed types.
pub use crate::params;

use crate::error::{Error, Result};
use std::path::Path;
use std::time::Duration;

/// How long a writer waits for another (the daemon, an import) before
/// giving up with "database is locked".
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Opens an existing case database: a SQLite file or a PostgreSQL
/// database holding duban's tables.
pub fn open(at: &Location) -> Result<Db> {
    match at {
        Location::File(path) => open_file(path),
        Location::Server(server) => open_server(server),
    }
}

/// Creates a case database: a new SQLite file (an existing file is
/// refused), or duban's tables in a PostgreSQL database that holds none
/// of them.
pub fn create(at: &Location) -> Result<Db> {
    match at {
        Location::File(path) => create_file(path),
        Location::Server(server) => {
            let mut db = connect_server(server)?;
            make_postgres_tables(&mut db, server.url())?;
            Ok(db)
        }
    }
}

/// Opens an existing SQLite file.
pub fn open_file(path: &Path) -> Result<Db> {
    if !path.exists() {
        return Err(Error::invalid(format!(
            "no case database at {}: run `duban init` to create one (or `duban demo` for a demo office)",
            path.display()
        )));
    }
    connect(path)
}

/// Creates a SQLite file; refuses to touch an existing file.
pub fn create_file(path: &Path) -> Result<Db> {
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

/// Connects to the server and brings the database's tables to this
/// duban's version (see [`migrations::migrate_postgres`]).
fn open_server(server: &location::Server) -> Result<Db> {
    let mut db = connect_server(server)?;
    migrations::migrate_postgres(&mut db, server.url())?;
    Ok(db)
}

/// Connects to the server, the password from the environment; its
/// failures in words.
fn connect_server(server: &location::Server) -> Result<Db> {
    let password = server.password()?;
    let url = server.url();
    pg::connect(url, password.as_deref())
        .map(Db::pg)
        .map_err(|e| match e.code.as_deref() {
            Some("28P01" | "28000") => Error::failed(
                format!("the PostgreSQL server of {url} refused to sign duban in (check the user, and the password in the variable database_password_env names)"),
                e,
            ),
            Some("3D000") => Error::failed(
                format!("{url}: the server has no such database (create it first: createdb)"),
                e,
            ),
            _ if e.kind == ErrorKind::Connection || e.code.is_none() => Error::failed(
                format!("cannot reach the PostgreSQL server of {url} (is it running and listening there?)"),
                e,
            ),
            _ => Error::failed(format!("connecting to {url}"), e),
        })
}

fn create_private_file(path: &Path) -> Result<()> {
    crate::private::create_new(path)
        .map(|_| ())
        .map_err(|source| Error::Io {
            what: format!("creating {}", path.display()),
            source,
        })
}

fn connect(path: &Path) -> Result<Db> {
    let mut db = sqlite::open(path)
        .map_err(|source| Error::failed(format!("opening {}", path.display()), source))?;
    configure(&mut db)?;
    sqlite::migrate(&mut db, &path.display().to_string())?;
    Ok(db)
}

/// The pragmas every SQLite connection runs with (none on PostgreSQL).
pub fn configure(db: &mut Db) -> Result<()> {
    if let Some(conn) = db.sqlite_mut() {
        sqlite::configure(conn)?;
    }
    Ok(())
}

/// An in-memory database with the full schema (policy tests, fixtures).
pub fn in_memory() -> Result<Db> {
    let mut db = sqlite::open_in_memory()?;
    db.execute_batch("PRAGMA foreign_keys = ON")?;
    sqlite::migrate(&mut db, "an in-memory database")?;
    Ok(db)
}

/// Connects to a PostgreSQL database (`postgresql://user@host:port/db`,
/// no password), whatever it holds.
pub fn connect_postgres(url: &str) -> Result<Db> {
    pg::connect(url, None)
        .map(Db::pg)
        .map_err(|source| Error::failed(format!("connecting to {url}"), source))
}

/// Makes duban's tables in an empty PostgreSQL database (one
/// transaction); a database that already holds a table of those names is
/// refused, nothing written.
pub fn create_postgres(url: &str) -> Result<Db> {
    let mut db = connect_postgres(url)?;
    make_postgres_tables(&mut db, url)?;
    Ok(db)
}

fn make_postgres_tables(db: &mut Db, url: &str) -> Result<()> {
    let ddl = migrations::ddl(Dialect::Postgres)?;
    let tx = db.transaction()?;
    let taken = tables(&tx)?;
    let made_here = |t: &&String| {
        ddl.contains(&format!("CREATE TABLE {t} ("))
            || ddl.contains(&format!("CREATE TABLE \"{t}\" ("))
    };
    if let Some(t) = taken.iter().find(made_here) {
        return Err(Error::invalid(format!(
            "{url} already holds a table {t}; duban makes its tables only in a database without them"
        )));
    }
    tx.execute_batch(&ddl)?;
    tx.commit()?;
    Ok(())
}

/// The names of the tables a database holds, in order of name.
pub(crate) fn tables(conn: &Db) -> Result<Vec<String>> {
    Ok(conn
        .prepare(conn.dialect().tables())?
        .query_map((), |r| r.get(0))?
        .collect::<DbResult<_>>()?)
}

/// Makes this transaction wait for any other holding the lock named
/// `what` until it ends, so that the two work one after the other, the
/// second seeing what the first wrote: on PostgreSQL an advisory lock
/// keyed by the name; on SQLite the write lock (`BEGIN IMMEDIATE`) does it.
pub(crate) fn lock_named(conn: &Db, what: &str) -> Result<()> {
    use sha2::{Digest, Sha256};
    if let Some(sql) = conn.dialect().transaction_lock() {
        let digest = Sha256::digest(what.as_bytes());
        let mut key = [0u8; 8];
        key.copy_from_slice(&digest[..8]);
        conn.execute(sql, [i64::from_be_bytes(key)])?;
    }
    Ok(())
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
    args: Vec<Value>,
}

impl Where {
    /// Adds a condition; `?N` in `cond` stands for `value`'s parameter.
    pub(crate) fn and(&mut self, cond: &str, value: impl Into<Value>) {
        self.args.push(value.into());
        self.conds.push(format!(
            "({})",
            cond.replace("?N", &format!("?{}", self.args.len()))
        ));
    }

    /// The conditions joined by AND (`1 = 1` when there are none).
    pub(crate) fn sql(&self) -> String {
        if self.conds.is_empty() {
            "1 = 1".into()
        } else {
            self.conds.join(" AND ")
        }
    }

    /// The parameter number the next value would get (for LIMIT, OFFSET).
    pub(crate) fn next(&self) -> usize {
        self.args.len() + 1
    }

    /// The values, and then `more` (LIMIT, OFFSET …).
    pub(crate) fn params(&self, more: &[i64]) -> Vec<Value> {
        let mut all = self.args.clone();
        all.extend(more.iter().map(|&n| Value::Integer(n)));
        all
    }
}
