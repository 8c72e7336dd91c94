//! Connections kept for reuse between requests (the workbench): one is
//! taken for a request and given back after it, at most `size` kept idle.
//!
//! A request reads a page of rows or a count through an index, not the
//! scans of a run: each connection's page cache is bounded to
//! [`CACHE_KIB`] rather than the runs' 32 MiB, so that the pool's memory
//! stays small however many requests it has served.

use super::{Db, Location};
use crate::error::Result;
use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

pub struct Pool {
    at: Location,
    size: usize,
    idle: Mutex<Vec<Db>>,
}

/// A connection of the pool; back in the pool when dropped.
pub struct Pooled<'p> {
    pool: &'p Pool,
    db: Option<Db>,
}

/// The page cache of each of the pool's connections, in KiB.
pub const CACHE_KIB: u32 = 4 * 1024;

/// A connection for the pool.
fn connect(at: &Location) -> Result<Db> {
    let db = super::open(at)?;
    super::sqlite::cache_kib(&db, CACHE_KIB)?;
    Ok(db)
}

impl Pool {
    /// A pool of connections to the database `at`, which must exist: the
    /// first is opened at once.
    pub fn open(at: Location, size: usize) -> Result<Pool> {
        let first = connect(&at)?;
        Ok(Pool {
            at,
            size,
            idle: Mutex::new(vec![first]),
        })
    }

    /// Where the connections go.
    pub fn location(&self) -> &Location {
        &self.at
    }

    /// An idle connection, or a new one.
    pub fn get(&self) -> Result<Pooled<'_>> {
        let idle = self.idle.lock().ok().and_then(|mut p| p.pop());
        let db = match idle {
            Some(db) => db,
            None => connect(&self.at)?,
        };
        Ok(Pooled {
            pool: self,
            db: Some(db),
        })
    }
}

impl Deref for Pooled<'_> {
    type Target = Db;
    fn deref(&self) -> &Db {
        // Some until dropped.
        self.db.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Db {
        self.db.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let (Some(db), Ok(mut idle)) = (self.db.take(), self.pool.idle.lock())
            && idle.len() < self.pool.size
            && !db.is_closed()
        {
            idle.push(db);
        }
    }
}

impl Drop for Pool {
    /// The idle connections are closed on a thread of their own: closing
    /// a PostgreSQL connection waits on the driver's own runtime, which a
    /// thread of the workbench's runtime (where the pool ends when the
    /// service stops) may not do.
    fn drop(&mut self) {
        let idle = match self.idle.get_mut() {
            Ok(idle) => std::mem::take(idle),
            Err(poisoned) => std::mem::take(poisoned.into_inner()),
        };
        if !idle.is_empty() {
            let _ = std::thread::spawn(move || drop(idle)).join();
        }
    }
}
