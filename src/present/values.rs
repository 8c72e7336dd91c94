//! Single values: shares as percentages, day counts, dates in sentences
//! and in tables, times in the office's zone.

use super::Lang;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;

/// A share in 0..1 as a percentage with at most one decimal:
/// `0.59375` → `59.4%`, `0.7` → `70%`.
pub fn percent(share: f64) -> String {
    crate::lang::template::percent_text(share)
}

/// A count of days: `262 天`, `262 days`, `1 day`.
pub fn days(n: i64, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!("{n} 天"),
        Lang::En if n.abs() == 1 => format!("{n} day"),
        Lang::En => format!("{n} days"),
    }
}

/// A count of working days: `5 个工作日`, `5 working days`.
pub fn workdays(n: i64, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!("{n} 个工作日"),
        Lang::En if n.abs() == 1 => format!("{n} working day"),
        Lang::En => format!("{n} working days"),
    }
}

/// A number as people read it: whole numbers without a fraction, others
/// with at most two decimals.
pub fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 9e15 {
        format!("{}", x as i64)
    } else {
        let s = format!("{x:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A date in a sentence: `2026年12月8日`, `8 December 2026`.
pub fn date_long(d: NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
        Lang::En => d.format("%-d %B %Y").to_string(),
    }
}

/// A date in a table: `2026-12-08`.
pub fn date_short(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A stored date (`2026-12-08`) in a sentence; other text as it is.
pub fn date_text_long(text: &str, lang: Lang) -> String {
    match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        Ok(d) => date_long(d, lang),
        Err(_) => text.to_string(),
    }
}

/// A moment in the office's zone, to the minute: `2026-12-03 09:00`.
pub fn time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

/// A stored time (RFC 3339, any offset) in the office's zone; a date
/// stays a date; other text as it is.
pub fn time_text(text: &str, tz: Tz) -> String {
    match DateTime::parse_from_rfc3339(text.trim()) {
        Ok(t) => time(t.with_timezone(&Utc), tz),
        Err(_) => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_words() {
        assert_eq!(percent(0.59375), "59.4%");
        assert_eq!(percent(0.7), "70%");
        assert_eq!(days(262, Lang::Zh), "262 天");
        assert_eq!(days(1, Lang::En), "1 day");
        assert_eq!(number(0.5938), "0.59");
        assert_eq!(number(5.0), "5");
        let d = NaiveDate::from_ymd_opt(2026, 12, 8).unwrap_or_default();
        assert_eq!(date_long(d, Lang::Zh), "2026年12月8日");
        assert_eq!(date_long(d, Lang::En), "8 December 2026");
        assert_eq!(
            time_text("2026-12-03T01:00:00Z", chrono_tz::Asia::Shanghai),
            "2026-12-03 09:00"
        );
        assert_eq!(
            time_text("2026-12-03T09:00:00+08:00", chrono_tz::Asia::Shanghai),
            "2026-12-03 09:00"
        );
    }
}
