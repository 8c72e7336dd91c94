//! The days on which windowed rules hold over a simulated span
//! (`temp.sim_window`), and the day-to-day changes read from it: which
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
    conn.execute_batch(
        "DROP TABLE IF EXISTS temp.sim_window;
         CREATE TEMP TABLE sim_window (rule INTEGER NOT NULL, id TEXT NOT NULL, lo TEXT NOT NULL, hi TEXT NOT NULL);",
    )?;
    Ok(())
}

/// Indexes the windows once they are all in.
pub fn index(conn: &Db) -> Result<()> {
    conn.execute_batch(
        "CREATE INDEX temp.sim_window_lo ON sim_window(rule, lo);
         CREATE INDEX temp.sim_window_hi ON sim_window(rule, hi);",
    )?;
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
}

/// Records, for rule number `rule`, the days in `first..=last` on which
/// each subject holds.
pub fn fill(conn: &Db, rule: usize, w: &Interval<'_>, first: &str, last: &str) -> Result<()> {
    let Interval {
        sql,
        from,
        until,
        bound,
    } = w;
    let k = bound.len();
    let (p_rule, p_first, p_last) = (k + 1, k + 2, k + 3);
    let lo = from.unwrap_or("'0000-01-01'");
    let hi = until.unwrap_or("'9999-12-31'");
    let insert = format!(
        "INSERT INTO temp.sim_window (rule, id, lo, hi)
         SELECT ?{p_rule}, id, max(lo, ?{p_first}), min(hi, ?{p_last}) FROM (
           SELECT s.id AS id, {lo} AS lo, {hi} AS hi FROM {} s{} WHERE {})
         WHERE lo <= ?{p_last} AND hi >= ?{p_first}",
        sql.table, sql.joins, sql.condition
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
    Ok(conn
        .prepare_cached(
            "UPDATE temp.sim_episodes SET ended_at = ?5 WHERE id IN (
               SELECT ep.id FROM temp.sim_window w
               JOIN temp.sim_episodes ep ON ep.rule = ?2 AND ep.subject_id = w.id AND ep.ended_at IS NULL
               WHERE w.rule = ?1 AND w.hi >= ?3 AND w.hi < ?4)",
        )?
        .execute(params![rule as i64, rule_name, prev, day, at])? as u64)
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
    conn.prepare_cached(
        "INSERT INTO temp.holds SELECT id FROM temp.sim_window
         WHERE rule = ?1 AND lo > ?2 AND lo <= ?3 AND hi >= ?3",
    )?
    .execute(params![rule as i64, prev, day])?;
    if let Some(from) = repeat_from {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO temp.holds SELECT subject_id FROM temp.sim_episodes
             WHERE rule = ?1 AND ended_at IS NULL AND last_fired_on <= ?2",
        )?
        .execute(params![rule_name, from])?;
    }
    Ok(())
}
