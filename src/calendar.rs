//! Working days (工作日, SPEC §8): which days an office works, year by
//! year, as the State Council's holiday notice arranges them — public
//! holidays off, some weekend days worked (调休上班).
//!
//! A day is a working day when its year's table lists it in `work`, or it
//! is Monday to Friday and not in `off`. A year without a table is *not
//! covered*, and nothing here guesses it: every question about such a year
//! answers [`NotCovered`], whose message tells the office how to add it.
//!
//! Pure: parses and writes text (`calendar.toml`, holiday-cn JSON, an
//! iCalendar file of holidays); the command line reads and writes files.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

/// A year the calendar does not cover was needed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the calendar does not cover {0}: add it to calendar.toml (from the State Council's notice for {0}) or `duban calendar import FILE`"
)]
pub struct NotCovered(pub i32);

/// One year's arrangement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Year {
    /// Where the arrangement comes from (the notice's title or address).
    pub source: Option<String>,
    /// Days off that would be working days (holidays on weekdays).
    pub off: BTreeSet<NaiveDate>,
    /// Weekend days that are working days.
    pub work: BTreeSet<NaiveDate>,
}

/// The years an office's calendar covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    years: BTreeMap<i32, Year>,
}

/// A covered day as the calendar table holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    pub day: NaiveDate,
    pub work: bool,
    /// Working days up to and including this day, over every covered day.
    pub ordinal: i64,
    /// The first and last day of the run of consecutive covered years it
    /// is in.
    pub run_first: NaiveDate,
    pub run_last: NaiveDate,
}

/// An error in a calendar file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {key}: {message}")]
pub struct FileError {
    pub file: String,
    pub line: usize,
    pub key: String,
    pub message: String,
}

/// What adding a year did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    New,
    Replaced,
    Unchanged,
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

impl Calendar {
    /// The years duban knows: the State Council's arrangements for 2024 to
    /// 2026, built in.
    pub fn builtin() -> Calendar {
        // Tested to parse (see the tests below).
        Calendar::parse(BUILTIN, "builtin.toml").unwrap_or_default()
    }

    pub fn years(&self) -> impl Iterator<Item = (i32, &Year)> {
        self.years.iter().map(|(y, t)| (*y, t))
    }

    pub fn year(&self, year: i32) -> Option<&Year> {
        self.years.get(&year)
    }

    pub fn covers(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// Adds or replaces a year; says which. The same days again change
    /// nothing (whatever the source says).
    pub fn set(&mut self, year: i32, y: Year) -> Added {
        match self.years.get(&year) {
            Some(old) if old.off == y.off && old.work == y.work => Added::Unchanged,
            old => {
                let added = if old.is_some() {
                    Added::Replaced
                } else {
                    Added::New
                };
                self.years.insert(year, y);
                added
            }
        }
    }

    pub fn is_workday(&self, d: NaiveDate) -> Result<bool, NotCovered> {
        let y = self.years.get(&d.year()).ok_or(NotCovered(d.year()))?;
        Ok(y.work.contains(&d) || (!is_weekend(d) && !y.off.contains(&d)))
    }

    /// `d` itself when it is a working day, else the next one (a time
    /// limit that ends on a day off ends on the next working day).
    pub fn on_or_after(&self, d: NaiveDate) -> Result<NaiveDate, NotCovered> {
        let mut day = d;
        loop {
            if self.is_workday(day)? {
                return Ok(day);
            }
            day = day.succ_opt().ok_or(NotCovered(d.year() + 1))?;
        }
    }

    /// The `n`-th working day after `d` (`d` itself not counted).
    pub fn add_workdays(&self, d: NaiveDate, n: u64) -> Result<NaiveDate, NotCovered> {
        let mut day = d;
        let mut left = n;
        while left > 0 {
            day = day.succ_opt().ok_or(NotCovered(d.year() + 1))?;
            if self.is_workday(day)? {
                left -= 1;
            }
        }
        Ok(day)
    }

    /// The latest day `l` with at least `n` working days in `l < x ≤ d`:
    /// a firing on or before it is `n` working days ago.
    pub fn workdays_back(&self, d: NaiveDate, n: u64) -> Result<NaiveDate, NotCovered> {
        let mut day = d;
        let mut counted = 0;
        loop {
            if self.is_workday(day)? {
                counted += 1;
            }
            let before = day.pred_opt().ok_or(NotCovered(d.year() - 1))?;
            if counted >= n {
                return Ok(before);
            }
            day = before;
        }
    }

    /// The working days `x` with `from < x ≤ to` (negative when `to` is
    /// before `from`): `workdays_since(from)` at `to`.
    pub fn workdays_between(&self, from: NaiveDate, to: NaiveDate) -> Result<i64, NotCovered> {
        let (a, b, sign) = if from <= to {
            (from, to, 1)
        } else {
            (to, from, -1)
        };
        let mut n = 0;
        let mut day = a;
        while day < b {
            day = day.succ_opt().ok_or(NotCovered(b.year()))?;
            if self.is_workday(day)? {
                n += 1;
            }
        }
        // `a` itself must be covered too: its day is where counting starts.
        self.is_workday(a)?;
        Ok(sign * n)
    }

    /// Every covered day (the calendar table of the database), with the
    /// count of working days up to and including it and the covered run
    /// of years it is in: working days between two days can be counted
    /// only within one run.
    pub fn days(&self) -> Vec<Day> {
        let mut out = Vec::new();
        let mut ordinal = 0;
        let years: Vec<i32> = self.years.keys().copied().collect();
        for run in years.chunk_by(|a, b| b - a == 1) {
            let (Some(first), Some(last)) = (
                run.first().and_then(|y| NaiveDate::from_ymd_opt(*y, 1, 1)),
                run.last().and_then(|y| NaiveDate::from_ymd_opt(*y, 12, 31)),
            ) else {
                continue;
            };
            for day in first.iter_days().take_while(|d| *d <= last) {
                let work = self.is_workday(day).unwrap_or(false);
                ordinal += i64::from(work);
                out.push(Day {
                    day,
                    work,
                    ordinal,
                    run_first: first,
                    run_last: last,
                });
            }
        }
        out
    }

    /// Reads `calendar.toml`; errors name the file, the line and the key.
    pub fn parse(text: &str, file: &str) -> Result<Calendar, FileError> {
        let err = |span: Option<Range<usize>>, key: &str, message: String| FileError {
            file: file.to_string(),
            line: span.map(|s| line_of(text, s.start)).unwrap_or(1),
            key: key.to_string(),
            message,
        };
        let raw: BTreeMap<String, toml::Spanned<RawYear>> =
            toml::from_str(text).map_err(|e| err(e.span(), "syntax", e.message().to_string()))?;
        let mut c = Calendar::default();
        for (key, table) in raw {
            let span = table.span();
            let year: i32 = key
                .parse()
                .ok()
                .filter(|y| (1900..=2999).contains(y))
                .ok_or_else(|| {
                    err(
                        Some(span.clone()),
                        &key,
                        "a table's name is a year, as in [2026]".into(),
                    )
                })?;
            let raw = table.into_inner();
            let mut y = Year {
                source: raw.source,
                ..Year::default()
            };
            for (list, which) in [(&raw.off, "off"), (&raw.work, "work")] {
                let key = format!("{year}.{which}");
                for item in list {
                    let days =
                        parse_range(item.get_ref()).map_err(|m| err(Some(item.span()), &key, m))?;
                    for day in days {
                        if day.year() != year {
                            return Err(err(
                                Some(item.span()),
                                &key,
                                format!("{day} is not in {year}"),
                            ));
                        }
                        let (set, other) = if which == "off" {
                            (&mut y.off, &y.work)
                        } else {
                            (&mut y.work, &y.off)
                        };
                        if other.contains(&day) {
                            return Err(err(
                                Some(item.span()),
                                &key,
                                format!("{day} is both a day off and a working day"),
                            ));
                        }
                        if !set.insert(day) {
                            return Err(err(
                                Some(item.span()),
                                &key,
                                format!("{day} is listed twice (ranges overlap?)"),
                            ));
                        }
                    }
                }
            }
            c.years.insert(year, y);
        }
        Ok(c)
    }

    /// The calendar as `calendar.toml`: one table per year, runs of days
    /// written as ranges.
    pub fn to_toml(&self) -> String {
        let mut s = String::from(
            "# Working days (工作日): one table per year, from the State Council's notice on\n\
             # public holidays. A day is a working day when it is in `work`, or it is Monday\n\
             # to Friday and not in `off`. A year without a table is not covered: duban\n\
             # never guesses it. When next year's notice is out, add its table here, or\n\
             # `duban calendar import FILE` (holiday-cn JSON or an iCalendar file).\n",
        );
        for (year, y) in &self.years {
            s.push_str(&format!("\n[{year}]\n"));
            if let Some(src) = &y.source {
                s.push_str(&format!("source = {}\n", toml_string(src)));
            }
            s.push_str(&format!("off = [{}]\n", ranges(&y.off).join(", ")));
            s.push_str(&format!("work = [{}]\n", ranges(&y.work).join(", ")));
        }
        s
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYear {
    source: Option<String>,
    #[serde(default)]
    off: Vec<toml::Spanned<String>>,
    #[serde(default)]
    work: Vec<toml::Spanned<String>>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// `2026-10-01` or `2026-10-01..2026-10-07` (both ends included).
fn parse_range(text: &str) -> Result<Vec<NaiveDate>, String> {
    let date = |t: &str| {
        NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").map_err(|_| {
            format!("\"{t}\" is not a date (write 2026-10-01, or 2026-10-01..2026-10-07)")
        })
    };
    let (a, b) = match text.split_once("..") {
        Some((a, b)) => (date(a)?, date(b)?),
        None => {
            let d = date(text)?;
            (d, d)
        }
    };
    if b < a {
        return Err(format!("\"{text}\" ends before it starts"));
    }
    Ok(a.iter_days().take_while(|d| *d <= b).collect())
}

/// Runs of consecutive days as `"a..b"` or `"a"`.
fn ranges(days: &BTreeSet<NaiveDate>) -> Vec<String> {
    let mut out: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for &d in days {
        match out.last_mut() {
            Some((_, end)) if end.checked_add_days(Days::new(1)) == Some(d) => *end = d,
            _ => out.push((d, d)),
        }
    }
    out.into_iter()
        .map(|(a, b)| {
            if a == b {
                format!("\"{a}\"")
            } else {
                format!("\"{a}..{b}\"")
            }
        })
        .collect()
}

/// The built-in years.
const BUILTIN: &str = include_str!("calendar/builtin.toml");

#[derive(serde::Deserialize)]
struct HolidayCn {
    year: i32,
    #[serde(default)]
    papers: Vec<String>,
    days: Vec<HolidayCnDay>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct HolidayCnDay {
    date: String,
    is_off_day: bool,
}

/// Why an imported file gives no calendar year.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("not holiday-cn JSON: {0}")]
    Json(String),
    #[error("{0}: no days in it (the notice for that year may not be out yet)")]
    Empty(i32),
    #[error("{date}: {message}")]
    Day { date: String, message: String },
    #[error("no holiday events (VEVENT with a DTSTART date) in it")]
    NoEvents,
}

/// One year from a holiday-cn JSON file (`holiday-cn-2026.json`).
pub fn parse_holiday_cn(text: &str) -> Result<(i32, Year), ImportError> {
    let h: HolidayCn = serde_json::from_str(text).map_err(|e| ImportError::Json(e.to_string()))?;
    if h.days.is_empty() {
        return Err(ImportError::Empty(h.year));
    }
    let mut y = Year {
        source: h.papers.first().cloned(),
        ..Year::default()
    };
    for d in &h.days {
        let date =
            NaiveDate::parse_from_str(&d.date, "%Y-%m-%d").map_err(|_| ImportError::Day {
                date: d.date.clone(),
                message: "not a date".into(),
            })?;
        if date.year() != h.year {
            return Err(ImportError::Day {
                date: d.date.clone(),
                message: format!("not in {}", h.year),
            });
        }
        if d.is_off_day {
            y.off.insert(date);
        } else {
            y.work.insert(date);
        }
    }
    Ok((h.year, y))
}

/// Days off from an iCalendar file of holidays: every all-day event is a
/// day off (multi-day events every day of them); an event whose summary
/// says 班 or 上班 (a make-up working day) is a working day. Grouped by year.
pub fn parse_ics_holidays(text: &str) -> Result<Vec<(i32, Year)>, ImportError> {
    let mut years: BTreeMap<i32, Year> = BTreeMap::new();
    let unfolded = text.replace("\r\n ", "").replace("\n ", "");
    let mut in_event = false;
    let (mut start, mut end, mut summary): (Option<NaiveDate>, Option<NaiveDate>, String) =
        (None, None, String::new());
    let ics_date =
        |v: &str| NaiveDate::parse_from_str(v.trim().get(..8).unwrap_or(""), "%Y%m%d").ok();
    for line in unfolded.lines() {
        let line = line.trim_end_matches('\r');
        let (name, value) = match line.split_once(':') {
            Some((n, v)) => (n.split(';').next().unwrap_or(n), v),
            None => continue,
        };
        match (name, value) {
            ("BEGIN", "VEVENT") => {
                in_event = true;
                (start, end, summary) = (None, None, String::new());
            }
            ("END", "VEVENT") if in_event => {
                in_event = false;
                let Some(first) = start else { continue };
                // DTEND of an all-day event is the day after the last.
                let last = end
                    .and_then(|e| e.pred_opt())
                    .filter(|e| *e >= first)
                    .unwrap_or(first);
                let work = summary.contains('班');
                for day in first.iter_days().take_while(|d| *d <= last) {
                    let y = years.entry(day.year()).or_default();
                    if work {
                        y.work.insert(day);
                    } else if !is_weekend(day) || !y.work.contains(&day) {
                        y.off.insert(day);
                    }
                }
            }
            ("DTSTART", v) if in_event => start = ics_date(v),
            ("DTEND", v) if in_event => end = ics_date(v),
            ("SUMMARY", v) if in_event => summary = v.to_string(),
            _ => {}
        }
    }
    if years.is_empty() {
        return Err(ImportError::NoEvents);
    }
    // A weekend day off is an ordinary weekend: only weekdays are listed.
    for y in years.values_mut() {
        y.off.retain(|d| !is_weekend(*d));
        let work = y.work.clone();
        y.off.retain(|d| !work.contains(d));
    }
    Ok(years.into_iter().collect())
}

/// The warning `check` and `status` give from 1 December when next year
/// is not covered.
pub fn next_year_warning(calendar: &Calendar, today: NaiveDate) -> Option<String> {
    let next = today.year() + 1;
    (today.month() == 12 && !calendar.covers(next)).then(|| {
        format!(
            "{}; from 1 January due dates and working-day rules that need it are skipped",
            NotCovered(next)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn the_builtin_years_parse_and_round_trip() {
        let c = Calendar::parse(BUILTIN, "builtin.toml").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c, Calendar::builtin());
        // The same facts as the holiday-cn data set's file for 2026.
        let (year, from_json) = parse_holiday_cn(include_str!(
            "../tests/fixtures/calendar/holiday-cn-2026.json"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let builtin = c.year(year).cloned().unwrap_or_default();
        assert_eq!((builtin.off, builtin.work), (from_json.off, from_json.work));
        assert_eq!(
            c.years().map(|(y, _)| y).collect::<Vec<_>>(),
            [2024, 2025, 2026]
        );
        let again =
            Calendar::parse(&c.to_toml(), "calendar.toml").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again, c);
    }

    #[test]
    fn national_day_2026() {
        let c = Calendar::builtin();
        // due 7 days from 2026-09-28 is 10-05, a holiday: the next working day is 10-08.
        assert_eq!(c.on_or_after(d("2026-10-05")), Ok(d("2026-10-08")));
        assert_eq!(c.add_workdays(d("2026-09-30"), 5), Ok(d("2026-10-13")));
        assert_eq!(c.is_workday(d("2026-10-10")), Ok(true), "a worked Saturday");
        assert_eq!(c.is_workday(d("2026-10-01")), Ok(false));
        // Spring Festival: 02-14 (a worked Saturday) to 02-24.
        assert_eq!(c.workdays_between(d("2026-02-13"), d("2026-02-24")), Ok(2));
        assert_eq!(c.workdays_between(d("2026-02-24"), d("2026-02-13")), Ok(-2));
        assert_eq!(c.is_workday(d("2027-01-04")), Err(NotCovered(2027)));
        assert_eq!(c.add_workdays(d("2026-12-30"), 5), Err(NotCovered(2027)));
    }

    #[test]
    fn file_errors_name_line_and_key() {
        let e = Calendar::parse(
            "[2026]\noff = [\"2026-10-01\"]\nwork = [\"2026-10-01\"]\n",
            "c.toml",
        )
        .err()
        .unwrap_or_else(|| panic!("accepted"));
        assert_eq!((e.line, e.key.as_str()), (3, "2026.work"), "{e}");
        let e = Calendar::parse(
            "[2026]\noff = [\"2026-10-01..2026-10-07\", \"2026-10-05\"]\n",
            "c.toml",
        )
        .err()
        .unwrap_or_else(|| panic!("accepted"));
        assert!(e.message.contains("twice"), "{e}");
        let e = Calendar::parse("[2026]\noff = [\"2026-13-01\"]\n", "c.toml")
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert_eq!(e.line, 2, "{e}");
        assert!(Calendar::parse("[2026]\nof = []\n", "c.toml").is_err());
        assert!(Calendar::parse("[2026]\noff = [\"2025-10-01\"]\n", "c.toml").is_err());
    }

    #[test]
    fn holidays_from_icalendar() {
        let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261001\r\nDTEND;VALUE=DATE:20261008\r\nSUMMARY:国庆节\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261010\r\nSUMMARY:国庆节 补班\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let years = parse_ics_holidays(ics).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(years.len(), 1);
        let (year, y) = &years[0];
        assert_eq!(*year, 2026);
        // 10-03 and 10-04 are a weekend: not listed.
        assert_eq!(y.off.len(), 5);
        assert!(y.work.contains(&d("2026-10-10")));
    }
}
