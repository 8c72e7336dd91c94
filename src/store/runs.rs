//! Runs: one row per evaluation (`run`, a scheduled run, a catch-up), with
//! what it did, for `status`; and the schedule state, the scheduled time
//! each rule last ran for (the daemon's catch-up).

use super::Db;
use crate::error::Result;
use crate::params;
use chrono::{DateTime, FixedOffset};
use std::collections::HashMap;

/// Records the start of a run by the process `owner`; returns its id.
pub fn start(
    conn: &Db,
    kind: &str,
    as_of: &str,
    policy_hash: &str,
    started_at: &str,
    owner: &str,
) -> Result<i64> {
    Ok(conn.insert_id(
        "INSERT INTO runs (kind, as_of, policy_hash, started_at, owner) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![kind, as_of, policy_hash, started_at, owner],
    )?)
}

/// What one rule of a run did.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleCounts {
    pub fired: u64,
    pub tasks: u64,
    pub notices: u64,
    pub skipped: u64,
}

/// Adds a rule's counts to its run (in the rule's transaction).
pub fn add_rule(conn: &Db, run: i64, c: RuleCounts) -> Result<()> {
    conn.execute(
        "UPDATE runs SET rules = rules + 1, fired = fired + ?2, tasks = tasks + ?3, notices = notices + ?4,
                skipped = skipped + ?5 WHERE id = ?1",
        params![
            run,
            c.fired as i64,
            c.tasks as i64,
            c.notices as i64,
            c.skipped as i64
        ],
    )?;
    Ok(())
}

/// Records the end of a run, with why it stopped early if it did.
pub fn finish(conn: &Db, run: i64, at: &str, error: Option<&str>) -> Result<()> {
    conn.execute(
        "UPDATE runs SET finished_at = ?2, error = ?3 WHERE id = ?1",
        params![run, at, error],
    )?;
    Ok(())
}

/// A run as `status` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Run {
    pub id: i64,
    pub kind: String,
    pub as_of: String,
    pub rules: i64,
    pub fired: i64,
    pub tasks: i64,
    pub notices: i64,
    pub skipped: i64,
    pub finished_at: Option<String>,
    pub policy_hash: String,
    /// The process that ran it ([`crate::owner`]); none before owners
    /// were recorded.
    pub owner: Option<String>,
}

/// The latest `n` runs, newest first.
pub fn recent(conn: &Db, n: u64) -> Result<Vec<Run>> {
    let mut stmt = conn.prepare(
        "SELECT id, kind, as_of, rules, fired, tasks, notices, skipped, finished_at, policy_hash, owner
         FROM runs ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([n as i64], |r| {
        Ok(Run {
            id: r.get(0)?,
            kind: r.get(1)?,
            as_of: r.get(2)?,
            rules: r.get(3)?,
            fired: r.get(4)?,
            tasks: r.get(5)?,
            notices: r.get(6)?,
            skipped: r.get(7)?,
            finished_at: r.get(8)?,
            policy_hash: r.get(9)?,
            owner: r.get(10)?,
        })
    })?;
    Ok(rows.collect::<super::DbResult<Vec<_>>>()?)
}

/// Records the scheduled time `rule` ran for (in the rule's transaction).
pub fn record_scheduled(conn: &Db, rule: &str, at: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO schedule_state (rule, last_scheduled_at) VALUES (?1, ?2)
         ON CONFLICT(rule) DO UPDATE SET last_scheduled_at = excluded.last_scheduled_at",
        params![rule, at],
    )?;
    Ok(())
}

/// The scheduled time each rule last ran for.
pub fn last_scheduled(conn: &Db) -> Result<HashMap<String, DateTime<FixedOffset>>> {
    let mut stmt = conn.prepare("SELECT rule, last_scheduled_at FROM schedule_state")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = HashMap::new();
    for row in rows {
        let (rule, at) = row?;
        if let Ok(t) = DateTime::parse_from_rfc3339(&at) {
            out.insert(rule, t);
        }
    }
    Ok(out)
}

/// Makes this transaction wait for any other evaluating `rule` until it
/// ends, so that two processes running it at once (two `duban run`, a
/// `run` beside `serve`) evaluate it one after the other, the second
/// seeing what the first recorded: on PostgreSQL an advisory lock keyed
/// by the rule's name; on SQLite the write lock every evaluation takes.
pub fn lock_rule(conn: &Db, rule: &str) -> Result<()> {
    super::lock_named(conn, &format!("duban rule {rule}"))
}

/// Whether `rule` ran already for the scheduled time `at` or a later one
/// (another service ran it while this one waited): it is not run again.
pub fn ran_for(conn: &Db, rule: &str, at: &str) -> Result<bool> {
    use super::OptionalExtension;
    let last: Option<String> = conn
        .query_row(
            "SELECT last_scheduled_at FROM schedule_state WHERE rule = ?1",
            [rule],
            |r| r.get(0),
        )
        .optional()?;
    let parse = |t: &str| DateTime::parse_from_rfc3339(t).ok();
    Ok(match (last.as_deref().and_then(parse), parse(at)) {
        (Some(last), Some(at)) => last >= at,
        _ => false,
    })
}
