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
use crate::store::Value as Sql;
use crate::store::firings::RuleSql;
use crate::store::sqlite::{self, CacheSize};
use crate::store::window;
use crate::store::{Behavior, Db};
use chrono::{Duration, NaiveDate, TimeZone};
use chrono_tz::Tz;

/// When a policy and its rules name no schedule: every morning at nine.
pub const DEFAULT_SCHEDULE: &str = "0 9 * * *";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Day {
    pub date: Option<NaiveDate>,
    /// Per rule that ran that day (in policy order).
    pub rules: Vec<RuleOutcome>,
    /// Rules scheduled `on workdays` that rest this day (a day off).
    pub rested: Vec<String>,
}

/// The schedule of each rule: its own, the policy's, or the default.
pub fn schedules(engine: &Engine<'_>) -> Result<Vec<Cron>> {
    let calendar = std::sync::Arc::new(engine.calendar().clone());
    engine
        .policy
        .rules
        .iter()
        .map(|r| {
            let (text, workdays) = match r.schedule.as_ref().or(engine.policy.schedule.as_ref()) {
                Some(s) => (s.cron.as_str(), s.workdays),
                None => (DEFAULT_SCHEDULE, false),
            };
            let cron = Cron::parse(text).map_err(|e| {
                Error::invalid(format!("rule {}: schedule \"{text}\": {e}", r.name))
            })?;
            Ok(if workdays {
                cron.on_workdays(calendar.clone())
            } else {
                cron
            })
        })
        .collect()
}

/// How the days are replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Each scheduled evaluation as a run does it: the oracle.
    DayByDay,
    /// Rules whose condition holds on an interval of days per subject
    /// ([`crate::compile::window`]) are evaluated once for the whole span;
    /// each later day only their changes are read. The result is the same.
    Windowed,
}

/// Replays `days` days after `from`, in `tz`.
pub fn simulate(
    conn: &mut Db,
    engine: &Engine<'_>,
    from: &AsOf,
    days: u32,
    tz: Tz,
    replay: Replay,
) -> Result<Vec<Day>> {
    let crons = schedules(engine)?;
    // Each day reads the same pages again: a cache that holds them all.
    sqlite::with_page_cache(conn, CacheSize::Database, |conn| {
        replay_days(conn, engine, &crons, from, days, tz, replay)
    })
}

fn replay_days(
    conn: &mut Db,
    engine: &Engine<'_>,
    crons: &[Cron],
    from: &AsOf,
    days: u32,
    tz: Tz,
    replay: Replay,
) -> Result<Vec<Day>> {
    let tx = conn.transaction_with_behavior(Behavior::Deferred)?;
    crate::store::episodes::copy_for_simulation(&tx)?;
    let start = from.at.with_timezone(&tz);
    let end = start + Duration::days(i64::from(days));
    let windowed = match replay {
        Replay::DayByDay => vec![false; crons.len()],
        Replay::Windowed => windows(&tx, engine, start.date_naive(), end.date_naive())?,
    };
    // Per windowed rule: the day it was last evaluated and how many
    // subjects held then.
    let mut last: Vec<Option<(NaiveDate, u64)>> = vec![None; crons.len()];
    let mut out = Vec::new();
    // Per rule, its open episodes when their statistics were last gathered.
    let mut analyzed = std::collections::HashMap::new();
    let mut day = start.date_naive();
    while day <= end.date_naive() {
        let mut report = Day {
            date: Some(day),
            ..Day::default()
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
            if cron.rests_between(&window_start, &window_end) {
                report.rested.push(engine.policy.rules[i].name.clone());
            }
            let Some(t) = cron.times_between(&window_start, &window_end).next() else {
                continue;
            };
            let at = AsOf::new(t.with_timezone(&chrono::Utc), tz);
            let outcome = match last[i] {
                Some((prev, held)) if windowed[i] => step(&tx, engine, i, &at, prev, held)?,
                None if windowed[i] => {
                    engine.evaluate_rule(&tx, i, &at, Mode::SimulateWhole, &mut |_| Ok(()))?
                }
                _ => engine.evaluate_rule(&tx, i, &at, Mode::Simulate, &mut |_| Ok(()))?,
            };
            if windowed[i] {
                last[i] = Some((at.today, outcome.holds));
            }
            report.rules.push(outcome);
        }
        // The planner's statistics of the episodes gathered again after a
        // day on which a rule's episodes more than doubled (by more than
        // 50): its episodes are found by the rule's name, and a plan made
        // for a few of them reads many slowly (a weekly rule's first
        // firings, 18,187 taken for one: 150 ms a day instead of 3). Each
        // time costs about 65 ms at a million problems; a rule's steady
        // churn does not ask for it.
        let grown = report.rules.iter().any(|o| {
            let known = analyzed.get(&o.rule).copied().unwrap_or(0);
            o.new_episodes > 50 + known
        });
        if grown {
            crate::store::episodes::simulated_statistics(&tx)?;
            for o in &report.rules {
                analyzed.insert(o.rule.clone(), o.holds);
            }
        }
        if !report.rules.is_empty() || !report.rested.is_empty() {
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

/// Records the days each windowed rule holds on, for every subject at
/// once; returns which rules are windowed.
fn windows(conn: &Db, engine: &Engine<'_>, first: NaiveDate, last: NaiveDate) -> Result<Vec<bool>> {
    window::create(conn)?;
    let mut windowed = Vec::new();
    for (i, rule) in engine.policy.rules.iter().enumerate() {
        let Some(w) = crate::compile::window(engine.policy, rule, conn.dialect()) else {
            windowed.push(false);
            continue;
        };
        let mut bound = vec![Sql::Text(first.to_string())];
        bound.extend(w.params.iter().cloned());
        let sql = RuleSql::plain(rule.entity.table(), &w.joins, &w.condition, "");
        let interval = window::Interval {
            sql,
            from: w.from.as_deref(),
            until: w.until.as_deref(),
            bound: &bound,
            starts: &w.starts,
            ends: &w.ends,
        };
        window::fill(conn, i, &interval, &first.to_string(), &last.to_string())?;
        windowed.push(true);
    }
    window::index(conn)?;
    Ok(windowed)
}

/// A windowed rule's evaluation on `at`'s day, after one on `prev` at
/// which `held` subjects held: the episodes of those that stopped holding
/// end, those that started fire, and so do those due again.
fn step(
    conn: &Db,
    engine: &Engine<'_>,
    i: usize,
    at: &AsOf,
    prev: NaiveDate,
    held: u64,
) -> Result<RuleOutcome> {
    let rule = &engine.policy.rules[i];
    let (prev, day) = (prev.to_string(), at.today.to_string());
    let ended = window::end_leaving(conn, i, &rule.name, &prev, &day, &at.rfc3339())?;
    let repeat_from =
        super::plan::repeat_from(rule, at.today, engine.calendar()).map(|d| d.to_string());
    window::firing_candidates(conn, i, &rule.name, &prev, &day, repeat_from.as_deref())?;
    let mut o = engine.evaluate_rule(conn, i, at, Mode::SimulateGiven, &mut |_| Ok(()))?;
    o.ended = ended;
    o.holds = (held + o.new_episodes).saturating_sub(ended);
    Ok(o)
}
