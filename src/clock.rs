//! Evaluation time. Commands read the wall clock once and pass an [`AsOf`]
//! down; nothing below the command line asks what time it is.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// Text that is neither a date nor an RFC 3339 time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a date or a time; write 2026-12-01 or 2026-12-01T09:00:00+08:00")]
pub struct NotATime(pub String);

/// An evaluation time and the day it is in the policy's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsOf {
    pub at: DateTime<FixedOffset>,
    /// `today` of the rule language.
    pub today: NaiveDate,
}

impl AsOf {
    pub fn new(instant: DateTime<Utc>, tz: Tz) -> AsOf {
        let local = instant.with_timezone(&tz);
        AsOf {
            at: local.fixed_offset(),
            today: local.date_naive(),
        }
    }

    /// `--as-of`: a date (the start of that day in `tz`) or an RFC 3339 time.
    pub fn parse(text: &str, tz: Tz) -> Result<AsOf, NotATime> {
        let t = text.trim();
        if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
            return Ok(AsOf::new(dt.with_timezone(&Utc), tz));
        }
        if let Some(d) = crate::text::parse_date(t).filter(|_| !t.contains(':')) {
            return Ok(AsOf::start_of(d, tz));
        }
        Err(NotATime(text.to_string()))
    }

    /// The first moment of a day in `tz`.
    pub fn start_of(day: NaiveDate, tz: Tz) -> AsOf {
        let midnight = day.and_time(chrono::NaiveTime::MIN);
        let local = tz
            .from_local_datetime(&midnight)
            .earliest()
            .unwrap_or_else(|| tz.from_utc_datetime(&midnight));
        AsOf {
            at: local.fixed_offset(),
            today: day,
        }
    }

    pub fn utc(&self) -> DateTime<Utc> {
        self.at.with_timezone(&Utc)
    }

    /// RFC 3339 with the zone's offset, as stored and printed.
    pub fn rfc3339(&self) -> String {
        self.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    }
}

/// UTC as stored for comparisons: `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_text(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Reads back [`utc_text`].
pub fn parse_utc(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The wall clock, injected: the command line passes the system clock,
/// tests a fixed or stepping one.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that always says the same time.
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// The system clock, or a fixed time named by an environment variable
/// (read once, by the command line).
pub enum FixedOrSystem {
    Fixed(FixedClock),
    System(SystemClock),
}

impl FixedOrSystem {
    pub fn from_env(var: &str) -> FixedOrSystem {
        match std::env::var(var)
            .ok()
            .and_then(|t| DateTime::parse_from_rfc3339(t.trim()).ok())
        {
            Some(t) => FixedOrSystem::Fixed(FixedClock(t.with_timezone(&Utc))),
            None => FixedOrSystem::System(SystemClock),
        }
    }
}

impl Clock for FixedOrSystem {
    fn now(&self) -> DateTime<Utc> {
        match self {
            FixedOrSystem::Fixed(c) => c.now(),
            FixedOrSystem::System(c) => c.now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap_or(Tz::UTC);
        let a = AsOf::parse("2026-12-01", tz).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.rfc3339(), "2026-12-01T00:00:00+08:00");
        let b = AsOf::parse("2026-11-30T20:00:00Z", tz).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.today.to_string(), "2026-12-01");
        assert!(AsOf::parse("tomorrow", tz).is_err());
    }
}
