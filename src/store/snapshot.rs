//! Connections that read one snapshot of the database side by side. A
//! dry-run reads its rules on a connection per core; together they must
//! see the data as one read transaction would, none of them a commit that
//! another does not see.
//!
//! SQLite (WAL): a read transaction sees the last commit before it
//! starts. The readers start theirs while the connection that asks holds
//! the write lock (`BEGIN IMMEDIATE`, given up as soon as they have), so
//! that no commit can fall between them. PostgreSQL: the connection that
//! asks exports its transaction's snapshot (`pg_export_snapshot()`) and
//! each reader's transaction takes it (`SET TRANSACTION SNAPSHOT`).

use super::{Behavior, Db, Dialect, Location};
use crate::error::Result;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

/// How long the asking connection waits for SQLite's write lock while
/// another writer (a run, an import) holds it, before its caller reads on
/// one connection instead.
const WRITE_LOCK_WAIT: Duration = Duration::from_millis(200);

/// A connection in a read transaction on the shared snapshot. The
/// transaction ends when it is dropped (rolled back: it wrote nothing).
pub struct Reader {
    db: Db,
}

impl Deref for Reader {
    type Target = Db;
    fn deref(&self) -> &Db {
        &self.db
    }
}

impl DerefMut for Reader {
    fn deref_mut(&mut self) -> &mut Db {
        &mut self.db
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let _ = self.db.execute_batch("ROLLBACK");
    }
}

/// `n` new connections to the database `at` (the one `conn` is open on),
/// each in a read transaction, all on one snapshot in which `ready` holds
/// (asked on `conn`, in that snapshot). `None` when they cannot be had at
/// once — SQLite's write lock held by another writer or refused (a file
/// read-only to this user), a connection refused (the server's limit), or
/// `ready` false: the caller reads on `conn` alone.
pub fn readers(
    conn: &mut Db,
    at: &Location,
    n: usize,
    ready: &dyn Fn(&Db) -> Result<bool>,
) -> Result<Option<Vec<Reader>>> {
    // Opened before the write lock is taken: opening checks the
    // migrations, which would wait for it.
    let mut dbs = Vec::with_capacity(n);
    for _ in 0..n {
        match super::open(at) {
            Ok(db) => dbs.push(db),
            Err(e) => {
                tracing::debug!("reading on one connection: another could not be opened: {e}");
                return Ok(None);
            }
        }
    }
    match conn.dialect() {
        Dialect::Sqlite => {
            conn.wait_for_locks(WRITE_LOCK_WAIT)?;
            let started = under_write_lock(conn, dbs, ready);
            // The connection's own wait again, whatever happened above.
            let restored = conn.wait_for_locks(super::BUSY_TIMEOUT);
            let started = started?;
            restored?;
            Ok(started)
        }
        Dialect::Postgres => on_exported_snapshot(conn, dbs, ready),
    }
}

/// `db` in a read transaction on the shared snapshot (see [`readers`]).
fn begin(db: Db) -> Result<Reader> {
    db.execute_batch(db.dialect().begin(Behavior::Snapshot))?;
    Ok(Reader { db })
}

/// SQLite: each of `dbs` starts its read transaction while `conn` holds
/// the write lock.
fn under_write_lock(
    conn: &mut Db,
    dbs: Vec<Db>,
    ready: &dyn Fn(&Db) -> Result<bool>,
) -> Result<Option<Vec<Reader>>> {
    let lock = match conn.transaction_with_behavior(Behavior::Immediate) {
        Ok(lock) => lock,
        Err(e) => {
            tracing::debug!("reading on one connection: no write lock at once: {e}");
            return Ok(None);
        }
    };
    if !ready(&lock)? {
        return Ok(None);
    }
    let mut readers = Vec::with_capacity(dbs.len());
    for db in dbs {
        let r = begin(db)?;
        // The snapshot is taken at the first read.
        r.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))?;
        readers.push(r);
    }
    lock.rollback()?;
    Ok(Some(readers))
}

/// PostgreSQL: each of `dbs` takes the snapshot `conn`'s transaction
/// exports.
fn on_exported_snapshot(
    conn: &mut Db,
    dbs: Vec<Db>,
    ready: &dyn Fn(&Db) -> Result<bool>,
) -> Result<Option<Vec<Reader>>> {
    let tx = conn.transaction_with_behavior(Behavior::Snapshot)?;
    let id: String = tx.query_row("SELECT pg_export_snapshot()", [], |r| r.get(0))?;
    if !ready(&tx)? {
        return Ok(None);
    }
    let mut readers = Vec::with_capacity(dbs.len());
    for db in dbs {
        let r = begin(db)?;
        if let Err(e) = r.execute_batch(&format!("SET TRANSACTION SNAPSHOT '{id}'")) {
            // A pool between duban and the server may not pass it.
            tracing::debug!("reading on one connection: the snapshot was not taken: {e}");
            return Ok(None);
        }
        readers.push(r);
    }
    // Taken: the exporting transaction may end.
    tx.rollback()?;
    Ok(Some(readers))
}
