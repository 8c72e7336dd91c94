//! Which rules are due: a rule is due when one of its scheduled times has
//! passed since the scheduled time it last ran for (kept per rule in
//! `schedule_state`), or when it never ran. However many times were
//! missed, it runs once.

use crate::engine::Engine;
use crate::engine::simulate::schedules;
use crate::error::Result;
use crate::schedule::Cron;
use crate::store::Db;
use chrono::{DateTime, Duration, FixedOffset};
use chrono_tz::Tz;
use std::collections::HashMap;

/// Times counted at most when a rule missed many (a seconds schedule down
/// for a week).
const COUNT_CAP: usize = 10_000;

#[derive(Debug, Clone)]
pub struct Due {
    pub rule: usize,
    /// Scheduled times passed since the last run (at most `COUNT_CAP`).
    pub missed: usize,
    /// The latest of them (none for a rule that never ran and has no time
    /// in the past year).
    pub latest: Option<DateTime<Tz>>,
    pub never_ran: bool,
}

/// The scheduled time each rule last ran for.
pub fn last_runs(conn: &Db) -> Result<HashMap<String, DateTime<FixedOffset>>> {
    crate::store::runs::last_scheduled(conn)
}

/// The latest scheduled time at or before `now`, looking back up to a year.
pub fn latest_at_or_before(cron: &Cron, now: &DateTime<Tz>) -> Option<DateTime<Tz>> {
    for window in [
        Duration::hours(1),
        Duration::days(1),
        Duration::days(32),
        Duration::days(367),
    ] {
        let from = *now - window;
        let latest = cron.times_between(&from, now).take(COUNT_CAP * 10).last();
        if latest.is_some() {
            return latest;
        }
    }
    None
}

/// The rules due at `now`.
pub fn due(
    engine: &Engine<'_>,
    last: &HashMap<String, DateTime<FixedOffset>>,
    now: &DateTime<Tz>,
) -> Result<Vec<Due>> {
    let crons = schedules(engine)?;
    let tz = now.timezone();
    let mut out = Vec::new();
    for (i, (rule, cron)) in engine.policy.rules.iter().zip(&crons).enumerate() {
        if cron.rests_on(now) {
            // `on workdays`, and today is a day off: what is due waits for
            // the next working day.
            continue;
        }
        match last.get(&rule.name) {
            None => out.push(Due {
                rule: i,
                missed: 0,
                latest: latest_at_or_before(cron, now),
                never_ran: true,
            }),
            Some(t) => {
                let since = t.with_timezone(&tz);
                let times: Vec<DateTime<Tz>> =
                    cron.times_between(&since, now).take(COUNT_CAP).collect();
                if let Some(latest) = times.last().cloned() {
                    out.push(Due {
                        rule: i,
                        missed: times.len(),
                        latest: Some(latest),
                        never_ran: false,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// The next scheduled time of each rule after what it last ran for (or
/// after `now`).
pub fn next_times(
    engine: &Engine<'_>,
    last: &HashMap<String, DateTime<FixedOffset>>,
    now: &DateTime<Tz>,
) -> Result<Vec<Option<DateTime<Tz>>>> {
    let crons = schedules(engine)?;
    let tz = now.timezone();
    Ok(engine
        .policy
        .rules
        .iter()
        .zip(&crons)
        .map(|(rule, cron)| {
            let after = match last.get(&rule.name) {
                Some(t) if t.with_timezone(&tz) > *now => t.with_timezone(&tz),
                _ => *now,
            };
            cron.next_after(&after)
        })
        .collect())
}
