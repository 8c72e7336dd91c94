//! `simulate`: the scheduled runs of the next N days, replayed on a copy of
//! the episode state while the case data stays as it is — "if nobody
//! rectifies anything, what will this policy order, day by day?".
//!
//! Everything happens in one read transaction: the copy of the open
//! episodes lives in a temporary table, the rules are compiled once, and
//! each day each rule that is scheduled that day is evaluated once, at its
//! first scheduled time, with the same queries as `run`.

use super::{Engine, Mode, RuleOutcome};
use crate::clock::AsOf;
use crate::error::{Error, Result};
use crate::schedule::Cron;
use chrono::{Duration, NaiveDate, TimeZone};
use chrono_tz::Tz;
use rusqlite::{Connection, TransactionBehavior};

/// When a policy and its rules name no schedule: every morning at nine.
pub const DEFAULT_SCHEDULE: &str = "0 9 * * *";

#[derive(Debug, Clone, Default)]
pub struct Day {
    pub date: Option<NaiveDate>,
    /// Per rule that ran that day (in policy order).
    pub rules: Vec<RuleOutcome>,
}

/// The schedule of each rule: its own, the policy's, or the default.
pub fn schedules(engine: &Engine<'_>) -> Result<Vec<Cron>> {
    engine
        .policy
        .rules
        .iter()
        .map(|r| {
            let text = r
                .schedule
                .as_deref()
                .or(engine.policy.schedule.as_deref())
                .unwrap_or(DEFAULT_SCHEDULE);
            Cron::parse(text)
                .map_err(|e| Error::invalid(format!("rule {}: schedule \"{text}\": {e}", r.name)))
        })
        .collect()
}

/// Replays `days` days after `from`, in `tz`.
pub fn simulate(
    conn: &mut Connection,
    engine: &Engine<'_>,
    from: &AsOf,
    days: u32,
    tz: Tz,
) -> Result<Vec<Day>> {
    let crons = schedules(engine)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
    crate::store::episodes::copy_for_simulation(&tx)?;
    let start = from.at.with_timezone(&tz);
    let end = start + Duration::days(i64::from(days));
    let mut out = Vec::new();
    let mut day = start.date_naive();
    while day <= end.date_naive() {
        let mut report = Day {
            date: Some(day),
            rules: Vec::new(),
        };
        let day_start = tz
            .from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .unwrap_or(start);
        let day_end = day_start + Duration::days(1) - Duration::seconds(1);
        // Times in (from, end]: today's later runs, not those already past.
        let window_start = if day_start > start {
            day_start - Duration::seconds(1)
        } else {
            start
        };
        let window_end = if day_end < end { day_end } else { end };
        for (i, cron) in crons.iter().enumerate() {
            let Some(t) = cron.times_between(&window_start, &window_end).next() else {
                continue;
            };
            let at = AsOf::new(t.with_timezone(&chrono::Utc), tz);
            report.rules.push(engine.evaluate_rule(
                &tx,
                i,
                &at,
                Mode::Simulate,
                &mut |_| Ok(()),
            )?);
        }
        if !report.rules.is_empty() {
            out.push(report);
        }
        day = match day.succ_opt() {
            Some(d) => d,
            None => break,
        };
    }
    // The copy was made inside the transaction: rolling back removes it.
    tx.rollback()?;
    Ok(out)
}
