//! Cron schedules as users write them (SPEC §3): 5 fields
//! (`minute hour day month weekday`, weekday 0–7 with 0 and 7 Sunday), or 6
//! with seconds first. The `cron` crate numbers weekdays 1–7 from Sunday;
//! this module translates, so `0 9 * * 1` means Monday as everywhere else.
//! Pure: it computes times, it never reads the clock.

use crate::calendar::Calendar;
use chrono::{DateTime, TimeZone};
use std::str::FromStr;
use std::sync::Arc;

/// Why a schedule is not one.
#[derive(Debug, thiserror::Error)]
pub enum CronError {
    #[error(
        "a schedule has 5 fields (minute hour day month weekday) or 6 with seconds first; this one has {0}"
    )]
    FieldCount(usize),
    #[error("this schedule never comes round")]
    Never,
    #[error("`{0}` is not a step")]
    Step(String),
    #[error("weekday `{0}` is out of range 0–7 (0 and 7 are Sunday)")]
    WeekdayRange(usize),
    #[error("`{0}` is not a weekday (0–7 or sun, mon …)")]
    Weekday(String),
    #[error("{0}")]
    Field(#[from] cron::error::Error),
}

#[derive(Debug, Clone)]
pub struct Cron {
    /// As the user wrote it.
    pub text: String,
    schedule: cron::Schedule,
    /// `on workdays`: times on a day off (or a day the calendar does not
    /// cover) are skipped.
    workdays: Option<Arc<Calendar>>,
}

/// How far ahead a schedule that rests on days off looks for its next
/// working day before it gives up (a calendar that covers nothing ahead).
const LOOK_AHEAD_DAYS: i64 = 400;

impl Cron {
    pub fn parse(text: &str) -> Result<Cron, CronError> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let (seconds, rest) = match fields.len() {
            5 => ("0", &fields[..]),
            6 => (fields[0], &fields[1..]),
            n => return Err(CronError::FieldCount(n)),
        };
        let weekday = unix_weekdays_to_cron(rest[4])?;
        let normalized = format!(
            "{seconds} {} {} {} {} {weekday}",
            rest[0], rest[1], rest[2], rest[3]
        );
        let schedule = cron::Schedule::from_str(&normalized)?;
        if schedule.upcoming(chrono::Utc).next().is_none() {
            return Err(CronError::Never);
        }
        Ok(Cron {
            text: text.to_string(),
            schedule,
            workdays: None,
        })
    }

    /// The same schedule, resting on the days `calendar` has off.
    pub fn on_workdays(mut self, calendar: Arc<Calendar>) -> Cron {
        self.workdays = Some(calendar);
        self
    }

    /// Whether the schedule runs at `t` (not a day off when it rests on them).
    fn runs_at<Tz: TimeZone>(&self, t: &DateTime<Tz>) -> bool {
        match &self.workdays {
            None => true,
            Some(c) => c.is_workday(t.date_naive()).unwrap_or(false),
        }
    }

    /// Whether the schedule rests all of `t`'s day (`on workdays`, a day
    /// off): nothing of it runs then, a first run or a catch-up neither.
    pub fn rests_on<Tz: TimeZone>(&self, t: &DateTime<Tz>) -> bool {
        self.workdays.is_some() && !self.runs_at(t)
    }

    /// Whether a time in `(from, to]` is skipped for being on a day off.
    pub fn rests_between<Tz: TimeZone>(&self, from: &DateTime<Tz>, to: &DateTime<Tz>) -> bool {
        self.workdays.is_some()
            && self
                .schedule
                .after(from)
                .take_while(|t| t <= to)
                .any(|t| !self.runs_at(&t))
    }

    /// The first scheduled time strictly after `t`.
    pub fn next_after<Tz: TimeZone>(&self, t: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        let horizon = t.clone() + chrono::Duration::days(LOOK_AHEAD_DAYS);
        self.schedule
            .after(t)
            .take_while(|x| *x <= horizon)
            .find(|x| self.runs_at(x))
    }

    /// Scheduled times in `(from, to]`.
    pub fn times_between<'a, Tz: TimeZone + 'a>(
        &'a self,
        from: &DateTime<Tz>,
        to: &'a DateTime<Tz>,
    ) -> impl Iterator<Item = DateTime<Tz>> + 'a {
        self.schedule
            .after(from)
            .take_while(move |t| t <= to)
            .filter(|t| self.runs_at(t))
    }

    /// The last scheduled time at or before `t`, searched back up to `horizon`.
    pub fn last_at_or_before<Tz: TimeZone>(
        &self,
        t: &DateTime<Tz>,
        horizon: &DateTime<Tz>,
    ) -> Option<DateTime<Tz>> {
        self.schedule
            .after(horizon)
            .take_while(|s| s <= t)
            .filter(|s| self.runs_at(s))
            .last()
    }
}

const DAY_NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Rewrites a weekday field from Unix numbering (0–7, Sunday 0 and 7) to
/// the `cron` crate's (1–7, Sunday 1) as an explicit list.
fn unix_weekdays_to_cron(field: &str) -> Result<String, CronError> {
    if field == "*" || field == "?" {
        return Ok("*".into());
    }
    let mut days = [false; 7];
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<usize>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| CronError::Step(s.to_string()))?,
            ),
            None => (item, 1),
        };
        let (lo, hi) = if range == "*" {
            (0, 6)
        } else if let Some((a, b)) = range.split_once('-') {
            (weekday(a)?, weekday(b)?)
        } else {
            let d = weekday(range)?;
            (d, if step > 1 { 6 } else { d })
        };
        // `5-7` is Friday to Sunday: a range may run past Saturday.
        let hi = if hi < lo { hi + 7 } else { hi };
        let mut d = lo;
        while d <= hi {
            days[d % 7] = true;
            d += step;
        }
    }
    let list: Vec<String> = (0..7)
        .filter(|d| days[*d])
        .map(|d| (d + 1).to_string())
        .collect();
    Ok(list.join(","))
}

fn weekday(token: &str) -> Result<usize, CronError> {
    if let Ok(n) = token.parse::<usize>() {
        return match n {
            0..=6 => Ok(n),
            7 => Ok(7),
            _ => Err(CronError::WeekdayRange(n)),
        };
    }
    let lower = token.to_lowercase();
    DAY_NAMES
        .iter()
        .position(|d| lower.starts_with(d))
        .ok_or_else(|| CronError::Weekday(token.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, NaiveDate, Weekday};

    fn next(text: &str, from: &str) -> DateTime<chrono::Utc> {
        let c = Cron::parse(text).unwrap_or_else(|e| panic!("{e}"));
        let t = NaiveDate::parse_from_str(from, "%Y-%m-%d")
            .unwrap_or_default()
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc();
        c.next_after(&t).unwrap_or(t)
    }

    #[test]
    fn monday_is_one_as_in_unix_cron() {
        // 2026-11-22 is a Sunday.
        assert_eq!(next("0 9 * * 1", "2026-11-22").weekday(), Weekday::Mon);
        assert_eq!(next("0 9 * * 0", "2026-11-23").weekday(), Weekday::Sun);
        assert_eq!(next("0 9 * * 7", "2026-11-23").weekday(), Weekday::Sun);
        assert_eq!(next("0 9 * * 1-5", "2026-11-21").weekday(), Weekday::Mon);
        assert_eq!(
            next("0 9 * * fri-sun", "2026-11-23").weekday(),
            Weekday::Fri
        );
    }

    #[test]
    fn six_fields_take_seconds_first() {
        let t = next("*/2 * * * * *", "2026-11-22");
        assert_eq!(t.timestamp() % 2, 0);
    }

    #[test]
    fn bad_schedules_say_why() {
        assert!(Cron::parse("0 9 * *").is_err());
        assert!(Cron::parse("0 25 * * *").is_err());
        assert!(Cron::parse("0 9 * * 8").is_err());
        assert!(Cron::parse("0 9 31 2 *").is_err());
    }
}
