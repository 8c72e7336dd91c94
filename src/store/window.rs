//! The days on which windowed rules hold over a simulated span
//! (the temporary table `sim_window`), and the day-to-day changes read from it: which
//! subjects start to hold, which stop (their episodes in the simulation's
//! copy end), which are due again. See [`crate::compile::window`].

use super::Db;
use super::Value as Sql;
use super::firings::RuleSql;
use crate::error::Result;
use crate::params;

/// Creates the (empty) table of windows, inside the simulation's
/// transaction.
pub fn create(conn: &Db) -> Result<()> {
    conn.execute_batch(&conn.dialect().new_temp_table(
        "sim_window",
        "CREATE TEMP TABLE sim_window (rule INTEGER NOT NULL, id TEXT NOT NULL, lo TEXT NOT NULL, hi TEXT NOT NULL)",
    ))?;
    Ok(())
}

/// Indexes the windows once they are all in.
pub fn index(conn: &Db) -> Result<()> {
    let d = conn.dialect();
    conn.execute_batch(&format!(
        "{}\n{}",
        d.temp_index("CREATE INDEX temp.sim_window_lo ON sim_window(rule, lo)"),
        d.temp_index("CREATE INDEX temp.sim_window_hi ON sim_window(rule, hi)"),
    ))?;
    Ok(())
}

/// A rule's condition in its days-interval form.
pub struct Interval<'a> {
    /// The today-free parts, over the subject table.
    pub sql: RuleSql<'a>,
    /// SQL date expressions of the first and last day (none: unbounded).
    pub from: Option<&'a str>,
    pub until: Option<&'a str>,
    /// The parameters, from ?1.
    pub bound: &'a [Sql],
    /// Dates and days `(date, k)` such that the subject holds by the last
    /// day only if `date + k ≤ last` ([`crate::compile::WindowRule`]).
    pub starts: &'a [(String, i64)],
    /// Likewise, it holds on the first day or later only if `date + k ≥
    /// first`.
    pub ends: &'a [(String, i64)],
}

/// Records, for rule number `rule`, the days in `first..=last` on which
/// each subject holds.
pub fn fill(conn: &Db, rule: usize, w: &Interval<'_>, first: &str, last: &str) -> Result<()> {
    let Interval {
        sql,
        from,
        until,
        bound,
        starts,
        ends,
    } = w;
    let k = bound.len();
    let (p_rule, p_first, p_last) = (k + 1, k + 2, k + 3);
    let d = conn.dialect();
    let (first_day, last_day) = (d.first_day(), d.last_day());
    let lo = from.unwrap_or(&first_day);
    let hi = until.unwrap_or(&last_day);
    let (first_p, last_p) = (d.day(&format!("?{p_first}")), d.day(&format!("?{p_last}")));
    // What the days' bounds imply, tested on the dates as they are stored
    // before any day is computed.
    let mut early = String::new();
    for (date, k) in starts.iter() {
        early.push_str(&format!(" AND {date} <= {}", d.add_days(&last_p, -k)));
    }
    for (date, k) in ends.iter() {
        early.push_str(&format!(" AND {date} >= {}", d.add_days(&first_p, -k)));
    }
    let insert = format!(
        "INSERT INTO {window} (rule, id, lo, hi)
         SELECT ?{p_rule}, id, {greatest}, {least} FROM (
           SELECT s.id AS id, {lo} AS lo, {hi} AS hi FROM {} s{} WHERE {}{early}{once}) AS w
         WHERE lo <= {last_p} AND hi >= {first_p}",
        sql.table,
        sql.joins,
        sql.condition,
        once = d.computed_once(),
        window = d.temp("sim_window"),
        greatest = d.greatest(&["lo".into(), first_p.clone()]),
        least = d.least(&["hi".into(), last_p.clone()]),
    );
    let mut stmt = conn.prepare(&insert)?;
    for (i, v) in bound.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, v)?;
    }
    stmt.raw_bind_parameter(p_rule, rule as i64)?;
    stmt.raw_bind_parameter(p_first, first)?;
    stmt.raw_bind_parameter(p_last, last)?;
    stmt.raw_execute()?;
    Ok(())
}

/// Ends the open simulated episodes of `rule_name` whose subject held on
/// day `prev` and no longer on `day`; returns how many.
pub fn end_leaving(
    conn: &Db,
    rule: usize,
    rule_name: &str,
    prev: &str,
    day: &str,
    at: &str,
) -> Result<u64> {
    let d = conn.dialect();
    let (episodes, window) = (d.temp("sim_episodes"), d.temp("sim_window"));
    Ok(conn
        .prepare_cached(&format!(
            "UPDATE {episodes} SET ended_at = ?5 WHERE id IN (
               SELECT ep.id FROM {window} w
               JOIN {episodes} ep ON ep.rule = ?2 AND ep.subject_id = w.id AND ep.ended_at IS NULL
               WHERE w.rule = ?1 AND w.hi >= ?3 AND w.hi < ?4)"
        ))?
        .execute(params![rule as i64, rule_name, prev, day, at])? as u64)
}

/// The rows of `temp.sim_window` of the rule numbered by parameter
/// `rule` whose spans cover the day of parameter `day`.
fn held_on(rule: usize, day: usize) -> String {
    format!("rule = ?{rule} AND lo <= ?{day} AND hi >= ?{day}")
}

/// Fills `temp.holds` with every subject rule number `rule` holds for on
/// `day`.
pub fn holding_on(conn: &Db, rule: usize, day: &str) -> Result<()> {
    super::firings::new_holds(conn)?;
    let d = conn.dialect();
    let (holds, window) = (d.temp("holds"), d.temp("sim_window"));
    conn.prepare_cached(&format!(
        "INSERT INTO {holds} SELECT id FROM {window} WHERE {}",
        held_on(1, 2)
    ))?
    .execute(params![rule as i64, day])?;
    Ok(())
}

/// Starts, in the simulation's copy of the episodes, one for every subject
/// rule number `rule` holds for on `f.on` (a rule with no open episode);
/// returns how many.
pub fn start_holding(conn: &Db, rule: usize, f: &super::episodes::Firing<'_>) -> Result<u64> {
    let d = conn.dialect();
    let (episodes, window) = (d.temp("sim_episodes"), d.temp("sim_window"));
    Ok(conn
        .prepare_cached(&format!(
            "INSERT INTO {episodes} (rule, subject_type, subject_id, started_at, last_fired_at, last_fired_on, fired)
             SELECT ?1, ?2, id, ?3, ?3, ?4, 1 FROM {window} WHERE {}",
            held_on(5, 4)
        ))?
        .execute(params![f.rule, f.entity, f.at, f.on, rule as i64])? as u64)
}

/// Fills `temp.holds` with the subjects that may fire on `day`: those that
/// start to hold after `prev`, and — with `repeat every` — those whose
/// open episode last fired on or before `repeat_from`.
pub fn firing_candidates(
    conn: &Db,
    rule: usize,
    rule_name: &str,
    prev: &str,
    day: &str,
    repeat_from: Option<&str>,
) -> Result<()> {
    super::firings::new_holds(conn)?;
    let d = conn.dialect();
    let (holds, window, episodes) = (
        d.temp("holds"),
        d.temp("sim_window"),
        d.temp("sim_episodes"),
    );
    conn.prepare_cached(&format!(
        "INSERT INTO {holds} SELECT id FROM {window}
         WHERE rule = ?1 AND lo > ?2 AND lo <= ?3 AND hi >= ?3"
    ))?
    .execute(params![rule as i64, prev, day])?;
    if let Some(from) = repeat_from {
        conn.prepare_cached(&d.insert_ignoring(&format!(
            "INTO {holds} SELECT subject_id FROM {episodes}
             WHERE rule = ?1 AND ended_at IS NULL AND last_fired_on <= ?2"
        )))?
        .execute(params![rule_name, from])?;
    }
    Ok(())
}
