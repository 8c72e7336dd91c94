//! Which `duban serve` leads: several may share one database (on several
//! machines, with PostgreSQL); the one holding the lease `serve`
//! ([`crate::store::leases`]) schedules the rules and delivers the
//! notices, the others stand by. The leader renews the lease every
//! [`RENEW`]; a service standing by looks every [`LOOK`] and takes the
//! lease when it expired ([`SECONDS`] after its last renewal) or at once
//! when its holder ran on this machine and is gone — within 30 s of the
//! leader's end, a crash included.
//!
//! What the lease cannot promise alone (a leader stalled past its lease
//! while another took over), the work promises itself: a rule's
//! evaluation for a scheduled time records that time in its own
//! transaction and is skipped by a service that finds it recorded; a
//! notice is claimed before it is sent.

use crate::config::Config;
use crate::error::Result;
use crate::store::leases::{self, Holder, Lease};
use std::time::Duration;

/// The lease's name.
pub const LEASE: &str = "serve";

/// How long a lease holds after its renewal.
pub const SECONDS: u32 = 20;

/// How often the leader renews it.
pub const RENEW: Duration = Duration::from_secs(4);

/// How often a service standing by looks whether it may lead.
pub const LOOK: Duration = Duration::from_secs(4);

fn me() -> Holder<'static> {
    Holder {
        owner: crate::owner::current(),
        host: crate::owner::host(),
        boot: crate::owner::boot(),
    }
}

/// Takes the lease if it is free, expired or its holder gone; true when
/// this process leads.
pub fn take(cfg: &Config) -> Result<bool> {
    let conn = crate::store::open(&cfg.database)?;
    leases::take(&conn, LEASE, me(), SECONDS, &|l: &Lease| {
        crate::owner::gone(&l.owner, &l.host, &l.boot)
    })
}

/// What a renewal found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    Renewed,
    /// Another service holds the lease.
    Lost,
    /// Another transaction held the lock the renewal needs for longer
    /// than [`RENEW`] (on SQLite, the write lock of this service's own
    /// long rule transaction, or an import): no other service can take the
    /// lease while it is held either, and the next renewal finds whether
    /// one did when it ended.
    Waiting,
}

/// Renews the lease, waiting at most [`RENEW`] for a lock.
pub fn renew(cfg: &Config) -> Result<Renewal> {
    let conn = crate::store::open(&cfg.database)?;
    conn.wait_for_locks(RENEW)?;
    match leases::renew(&conn, LEASE, crate::owner::current(), SECONDS) {
        Ok(true) => Ok(Renewal::Renewed),
        Ok(false) => Ok(Renewal::Lost),
        Err(crate::error::Error::Database(e)) if e.kind == crate::store::ErrorKind::Busy => {
            Ok(Renewal::Waiting)
        }
        Err(e) => Err(e),
    }
}

/// Gives the lease up, for a service standing by to take at once.
pub fn release(cfg: &Config) -> Result<()> {
    let conn = crate::store::open(&cfg.database)?;
    leases::release(&conn, LEASE, crate::owner::current())
}

/// The leader, as a log line or `status` names it: `process 4242@… on
/// host`.
pub fn describe(l: &Lease) -> String {
    let pid = l.owner.split('@').next().unwrap_or(&l.owner);
    if l.host.is_empty() {
        format!("process {pid}")
    } else {
        format!("process {pid} on {}", l.host)
    }
}

/// Who leads now, if anyone.
pub fn leader(cfg: &Config) -> Result<Option<Lease>> {
    let conn = crate::store::open(&cfg.database)?;
    leases::current(&conn, LEASE)
}
