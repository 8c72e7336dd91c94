//! Leases: which of several processes sharing the database does a piece
//! of work no two may do at once (`serve`'s scheduling and delivery). The
//! holder renews its lease every few seconds; it expires by the
//! database's clock, and another process takes it then — or at once when
//! the holder ran on this machine and is gone ([`crate::owner`]).
//!
//! Every change is one conditional statement, so two processes reaching
//! for a free or expired lease cannot both get it.

use super::Db;
use crate::error::Result;
use crate::params;

/// A lease as it is held.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Lease {
    pub owner: String,
    pub host: String,
    pub boot: String,
    pub taken_at: String,
    pub renewed_at: String,
    pub expires_at: String,
    /// Expired by the database's clock.
    pub expired: bool,
}

/// Who asks for a lease: a process ([`crate::owner::current`]) on a
/// machine (its name and boot).
#[derive(Debug, Clone, Copy)]
pub struct Holder<'a> {
    pub owner: &'a str,
    pub host: &'a str,
    pub boot: &'a str,
}

/// The lease `name`, if someone holds it.
pub fn current(conn: &Db, name: &str) -> Result<Option<Lease>> {
    use super::OptionalExtension;
    let now = conn.dialect().clock(0);
    Ok(conn
        .query_row(
            &format!(
                "SELECT owner, host, boot, taken_at, renewed_at, expires_at, expires_at < {now}
                 FROM leases WHERE name = ?1"
            ),
            [name],
            |r| {
                Ok(Lease {
                    owner: r.get(0)?,
                    host: r.get(1)?,
                    boot: r.get(2)?,
                    taken_at: r.get(3)?,
                    renewed_at: r.get(4)?,
                    expires_at: r.get(5)?,
                    expired: r.get(6)?,
                })
            },
        )
        .optional()?)
}

/// Takes the lease `name` for `seconds` when no one holds it, when it
/// expired, or when `gone` says its holder is gone; true when `me` holds
/// it now (a lease `me` holds already is renewed).
pub fn take(
    conn: &Db,
    name: &str,
    me: Holder<'_>,
    seconds: u32,
    gone: &dyn Fn(&Lease) -> bool,
) -> Result<bool> {
    if renew(conn, name, me.owner, seconds)? {
        return Ok(true);
    }
    let d = conn.dialect();
    let (now, until) = (d.clock(0), d.clock(seconds));
    let inserted = conn.execute(
        &format!(
            "INSERT INTO leases (name, owner, host, boot, taken_at, renewed_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, {now}, {now}, {until}) ON CONFLICT (name) DO NOTHING"
        ),
        params![name, me.owner, me.host, me.boot],
    )?;
    if inserted == 1 {
        return Ok(true);
    }
    let Some(held) = current(conn, name)? else {
        return Ok(false);
    };
    if !held.expired && !gone(&held) {
        return Ok(false);
    }
    // Taken from that holder only: if another process took it meanwhile,
    // nothing changes.
    let taken = conn.execute(
        &format!(
            "UPDATE leases SET owner = ?2, host = ?3, boot = ?4, taken_at = {now}, renewed_at = {now},
                    expires_at = {until}
             WHERE name = ?1 AND owner = ?5 AND expires_at = ?6"
        ),
        params![name, me.owner, me.host, me.boot, held.owner, held.expires_at],
    )?;
    Ok(taken == 1)
}

/// Extends the lease `owner` holds by `seconds` from now; false when it
/// holds it no more.
pub fn renew(conn: &Db, name: &str, owner: &str, seconds: u32) -> Result<bool> {
    let d = conn.dialect();
    let (now, until) = (d.clock(0), d.clock(seconds));
    let n = conn.execute(
        &format!(
            "UPDATE leases SET renewed_at = {now}, expires_at = {until} WHERE name = ?1 AND owner = ?2"
        ),
        params![name, owner],
    )?;
    Ok(n == 1)
}

/// Gives the lease up (another process may take it at once).
pub fn release(conn: &Db, name: &str, owner: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM leases WHERE name = ?1 AND owner = ?2",
        params![name, owner],
    )?;
    Ok(())
}
