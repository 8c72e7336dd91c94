//! Each chat channel's posts of the last minute: a channel takes at most
//! `rate_per_minute` posts in any sixty seconds (the robots' own rule),
//! counted in the database so the limit holds across restarts and between
//! a daemon and a `duban deliver`.

use super::{Db, OptionalExtension};
use crate::clock::utc_text;
use crate::error::Result;
use crate::params;
use chrono::{DateTime, Duration, Utc};

const WINDOW: Duration = Duration::seconds(60);

/// Takes a post for `channel` at `now`: `None` when it may go now
/// (recorded), else the time the oldest post of the minute leaves it.
pub fn take(
    conn: &Db,
    channel: &str,
    rate_per_minute: u32,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    let since = utc_text(now - WINDOW);
    conn.execute(
        "DELETE FROM channel_posts WHERE channel = ?1 AND at <= ?2",
        params![channel, since],
    )?;
    // The rate_per_minute-th newest post of the window, if there are that many.
    let full: Option<String> = conn
        .query_row(
            "SELECT at FROM channel_posts WHERE channel = ?1 ORDER BY at DESC LIMIT 1 OFFSET ?2",
            params![channel, i64::from(rate_per_minute.max(1)) - 1],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(at) = full {
        let at = DateTime::parse_from_rfc3339(&at)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now);
        return Ok(Some(at + WINDOW + Duration::seconds(1)));
    }
    record(conn, channel, now, 1)?;
    Ok(None)
}

/// The robot said "too fast": the channel is full for the next minute.
pub fn fill(conn: &Db, channel: &str, rate_per_minute: u32, now: DateTime<Utc>) -> Result<()> {
    record(conn, channel, now, rate_per_minute)
}

/// Counts `n` posts to `channel` at `now`.
fn record(conn: &Db, channel: &str, now: DateTime<Utc>, n: u32) -> Result<()> {
    let at = utc_text(now);
    let mut insert =
        conn.prepare_cached("INSERT INTO channel_posts (channel, at) VALUES (?1, ?2)")?;
    for _ in 0..n {
        insert.execute(params![channel, at])?;
    }
    Ok(())
}
