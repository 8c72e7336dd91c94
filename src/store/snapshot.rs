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
/// each in a read transaction, all on one snapshot. `None` when SQLite's
/// write lock is not to be had at once (another writer holds it, or the
/// file is read-only to this user): the caller reads on `conn` alone.
pub fn readers(conn: &mut Db, at: &Location, n: usize) -> Result<Option<Vec<Reader>>> {
    // Opened before the write lock is taken: opening checks the
    // migrations, which would wait for it.
    let mut dbs = Vec::with_capacity(n);
    for _ in 0..n {
        dbs.push(super::open(at)?);
    }
    let start = |db: Db| -> Result<Reader> {
        db.execute_batch(db.dialect().begin(Behavior::Snapshot))?;
        Ok(Reader { db })
    };
    match conn.dialect() {
        Dialect::Sqlite => {
            conn.wait_for_locks(WRITE_LOCK_WAIT)?;
            let started = match conn.transaction_with_behavior(Behavior::Immediate) {
                Err(_) => Ok(None),
                Ok(lock) => dbs
                    .into_iter()
                    .map(|db| {
                        let r = start(db)?;
                        // The snapshot is taken at the first read.
                        r.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))?;
                        Ok(r)
                    })
                    .collect::<Result<Vec<_>>>()
                    .and_then(|readers| {
                        lock.rollback()?;
                        Ok(Some(readers))
                    }),
            };
            conn.wait_for_locks(super::BUSY_TIMEOUT)?;
            started
        }
        Dialect::Postgres => {
            let tx = conn.transaction_with_behavior(Behavior::Snapshot)?;
            let id: String = tx.query_row("SELECT pg_export_snapshot()", [], |r| r.get(0))?;
            let mut readers = Vec::with_capacity(n);
            for db in dbs {
                let r = start(db)?;
                r.execute_batch(&format!("SET TRANSACTION SNAPSHOT '{id}'"))?;
                readers.push(r);
            }
            // Taken: the exporting transaction may end.
            tx.rollback()?;
            Ok(Some(readers))
        }
    }
}
