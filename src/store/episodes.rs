//! Episodes: per (rule, subject), the stretch of time the rule holds. A
//! row starts when the rule starts to hold (its actions fire), counts each
//! `repeat every` firing, and ends when the rule stops holding.
//!
//! `simulate` works on a copy of the open episodes in a temporary table
//! ([`Episodes::Simulated`]); every function here takes which one.

use super::{Db, OptionalExtension};
use crate::error::Result;
use crate::params;
use chrono::NaiveDate;

/// Which episode table: the live one, or the simulation's copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Episodes {
    Live,
    Simulated,
}

impl Episodes {
    pub(crate) fn table(self, d: super::Dialect) -> String {
        match self {
            Episodes::Live => "episodes".into(),
            Episodes::Simulated => d.temp("sim_episodes"),
        }
    }
}

/// An episode that was already running (policy test fixtures).
pub struct Running<'a> {
    pub rule: &'a str,
    pub entity: &'a str,
    pub subject: &'a str,
    pub started_at: &'a str,
    pub last_fired_at: &'a str,
    pub last_fired_on: &'a str,
    pub fired: i64,
}

/// Whether `rule` has any open episode.
pub fn has_open(conn: &Db, which: Episodes, rule: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT EXISTS (SELECT 1 FROM {} WHERE rule = ?1 AND ended_at IS NULL)",
            which.table(conn.dialect())
        ))?
        .query_row(params![rule], |r| r.get(0))?)
}

/// Starts an episode (`fired` 1); returns its id.
pub fn start(
    conn: &Db,
    which: Episodes,
    rule: &str,
    entity: &str,
    subject: &str,
    at: &str,
    on: &str,
) -> Result<i64> {
    Ok(conn.insert_id(
        &format!(
            "INSERT INTO {} (rule, subject_type, subject_id, started_at, last_fired_at, last_fired_on, fired)
             VALUES (?1, ?2, ?3, ?4, ?4, ?5, 1)",
            which.table(conn.dialect())
        ),
        params![rule, entity, subject, at, on],
    )?)
}

/// A rule's firings at one time (a simulated day).
pub struct Firing<'a> {
    pub rule: &'a str,
    pub entity: &'a str,
    pub at: &'a str,
    pub on: &'a str,
}

/// Records, in the simulation's copy, the firings of `f.rule` for the
/// subjects in `temp.holds`, all at once: those due again under `repeat
/// every` (their open episode last fired on or before `repeat_from`) count
/// one more firing, and those without an open episode start one — the
/// rows [`super::firings::Shape::Held`] reads.
pub fn fire_held(conn: &Db, f: &Firing<'_>, repeat_from: Option<&str>) -> Result<()> {
    let d = conn.dialect();
    let (episodes, holds) = (d.temp("sim_episodes"), d.temp("holds"));
    // Repeats first: the episodes started below last fired today, after
    // any `repeat_from`.
    if let Some(from) = repeat_from {
        let from_day = d.day("?4");
        conn.prepare_cached(&format!(
            "UPDATE {episodes} SET last_fired_at = ?2, last_fired_on = ?3, fired = fired + 1
             WHERE rule = ?1 AND ended_at IS NULL AND last_fired_on <= {from_day}
               AND subject_id IN (SELECT id FROM {holds})"
        ))?
        .execute(params![f.rule, f.at, f.on, from])?;
    }
    conn.prepare_cached(&format!(
        "INSERT INTO {episodes} (rule, subject_type, subject_id, started_at, last_fired_at, last_fired_on, fired)
         SELECT ?1, ?2, h.id, ?3, ?3, ?4, 1 FROM {holds} h
         WHERE NOT EXISTS (SELECT 1 FROM {episodes} ep
                           WHERE ep.rule = ?1 AND ep.subject_id = h.id AND ep.ended_at IS NULL)"
    ))?
    .execute(params![f.rule, f.entity, f.at, f.on])?;
    Ok(())
}

/// Counts a repeat firing of episode `id`.
pub fn fire_again(conn: &Db, which: Episodes, id: i64, at: &str, on: &str) -> Result<()> {
    conn.prepare_cached(&format!(
        "UPDATE {} SET last_fired_at = ?2, last_fired_on = ?3, fired = fired + 1 WHERE id = ?1",
        which.table(conn.dialect())
    ))?
    .execute(params![id, at, on])?;
    Ok(())
}

/// The `last_fired_on` of an episode whose firing awaits a decision, or was
/// rejected: no day is on or after it, so `repeat every` never fires again
/// until an approval sets the day it counts from.
pub const AWAITING_DECISION: &str = "9999-12-31";

/// Holds episode `id`'s repeats until its firing is approved.
pub fn await_decision(conn: &Db, id: i64) -> Result<()> {
    conn.prepare_cached("UPDATE episodes SET last_fired_on = ?2 WHERE id = ?1")?
        .execute(params![id, AWAITING_DECISION])?;
    Ok(())
}

/// An approved firing: `repeat every` counts from `on`, the approval day.
pub fn approved_on(conn: &Db, id: i64, on: NaiveDate) -> Result<()> {
    conn.prepare_cached("UPDATE episodes SET last_fired_on = ?2 WHERE id = ?1")?
        .execute(params![id, on.to_string()])?;
    Ok(())
}

/// Records an episode that was running before (a policy test's fixture).
pub fn insert_running(conn: &Db, e: &Running<'_>) -> Result<()> {
    conn.execute(
        "INSERT INTO episodes (rule, subject_type, subject_id, started_at, last_fired_at, last_fired_on, fired)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            e.rule,
            e.entity,
            e.subject,
            e.started_at,
            e.last_fired_at,
            e.last_fired_on,
            e.fired
        ],
    )?;
    Ok(())
}

/// Ends the open episodes of `rule` whose subject is not in the set of
/// subjects that hold (`temp.holds`, see [`super::firings`]); returns how
/// many ended.
pub fn end_unheld(conn: &Db, which: Episodes, rule: &str, at: &str) -> Result<u64> {
    Ok(conn
        .prepare_cached(&format!(
            "UPDATE {} SET ended_at = ?2 WHERE rule = ?1 AND ended_at IS NULL
             AND subject_id NOT IN (SELECT id FROM {})",
            which.table(conn.dialect()),
            conn.dialect().temp("holds")
        ))?
        .execute(params![rule, at])? as u64)
}

/// The open episode of a rule for a subject.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OpenEpisode {
    pub started_at: String,
    pub last_fired_at: String,
    pub last_fired_on: String,
    pub fired: i64,
}

pub fn open(conn: &Db, rule: &str, subject: &str) -> Result<Option<OpenEpisode>> {
    Ok(conn
        .query_row(
            "SELECT started_at, last_fired_at, last_fired_on, fired FROM episodes
             WHERE rule = ?1 AND subject_id = ?2 AND ended_at IS NULL",
            params![rule, subject],
            |r| {
                Ok(OpenEpisode {
                    started_at: r.get(0)?,
                    last_fired_at: r.get(1)?,
                    last_fired_on: r.get(2)?,
                    fired: r.get(3)?,
                })
            },
        )
        .optional()?)
}

/// Copies the open episodes into the simulation's table (inside the
/// caller's transaction: rolling it back removes the copy).
pub fn copy_for_simulation(conn: &Db) -> Result<()> {
    let d = conn.dialect();
    let table = d.temp("sim_episodes");
    conn.execute_batch(&d.new_temp_table(
        "sim_episodes",
        "CREATE TEMP TABLE sim_episodes (
           id INTEGER PRIMARY KEY, rule TEXT NOT NULL, subject_type TEXT NOT NULL, subject_id TEXT NOT NULL,
           started_at TEXT NOT NULL, last_fired_at TEXT NOT NULL, last_fired_on TEXT NOT NULL,
           fired INTEGER NOT NULL, ended_at TEXT)",
    ))?;
    conn.execute_batch(&format!(
        "INSERT INTO {table}
           SELECT id, rule, subject_type, subject_id, started_at, last_fired_at, last_fired_on, fired, ended_at
           FROM episodes WHERE ended_at IS NULL;
         {}
         {}
         {}",
        d.ids_follow(&table).unwrap_or_default(),
        d.temp_index(
            "CREATE INDEX temp.sim_episodes_open ON sim_episodes(rule, subject_id) WHERE ended_at IS NULL"
        ),
        // The episodes due again under `repeat every` each day, by the day
        // they last fired.
        d.temp_index(
            "CREATE INDEX temp.sim_episodes_due ON sim_episodes(rule, last_fired_on) WHERE ended_at IS NULL"
        ),
    ))?;
    Ok(())
}

/// Gathers the statistics of the simulation's copy of the episodes where
/// the database plans from them, after a day that started many. Without
/// them PostgreSQL took one rule's open episodes (78,995 at a million
/// problems) for six, and hashed them all each day to find a few hundred.
/// (Not after the copy: it reads its estimates from a table's size until
/// it has statistics, and those of an empty copy made it look the episodes
/// up by scanning them, once per subject, on the first day.) Only the
/// columns the look-ups read: the rule, the subject, whether it ended. Not
/// the id: knowing it is never missing, PostgreSQL took the subjects that
/// have no open episode (`ep.id IS NULL` after the join) for one row and
/// read the persons table whole for each of 763 (a day-by-day
/// simulation's rule and day: 0.5 s → 2.8 s).
pub fn simulated_statistics(conn: &Db) -> Result<()> {
    let d = conn.dialect();
    if let Some(sql) = d.gather_statistics(&d.temp("sim_episodes"), "rule, subject_id, ended_at") {
        conn.execute_batch(&sql)?;
    }
    Ok(())
}
