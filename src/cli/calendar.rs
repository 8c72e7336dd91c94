//! `duban calendar show|import`: the office's working days (SPEC §8).

use crate::calendar::{Added, Calendar, NotCovered, Year, parse_holiday_cn, parse_ics_holidays};
use crate::clock::{AsOf, Clock};
use crate::config::Config;
use crate::error::{Context, Error, Result};
use chrono::{Datelike, NaiveDate};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The working-day calendar: holidays off, make-up working days (调休).
///
/// The calendar lives in calendar.toml beside duban.toml (config key
/// `calendar`), one table per year. Due dates, `N workdays` and `on
/// workdays` schedules read it. A year it does not cover is never guessed:
/// add it when the State Council's notice for it is published.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  duban calendar show              this year\n  duban calendar show 2026\n  duban calendar import holiday-cn-2027.json    the holiday-cn data set's format\n  duban calendar import holidays.ics            an iCalendar file of holidays"
)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Print a year as month grids, days off and working weekends marked.
    Show {
        /// The year (default: this year).
        year: Option<i32>,
    },
    /// Add or replace years from holiday-cn JSON or an iCalendar file.
    Import { file: PathBuf },
}

pub fn run(config: &Option<PathBuf>, args: Args, clock: &dyn Clock) -> Result<ExitCode> {
    let cfg = Config::load(config.as_deref())?;
    let mut calendar = cfg.load_calendar()?;
    match args.command {
        Command::Show { year } => {
            let year = year.unwrap_or_else(|| AsOf::new(clock.now(), cfg.timezone).today.year());
            show(&calendar, year, super::color_stdout())?;
        }
        Command::Import { file } => {
            let bytes = std::fs::read(&file)
                .map_err(|e| Error::invalid(format!("cannot read {}: {e}", file.display())))?;
            let text = crate::text::decode(&bytes).map_err(|enc| {
                Error::invalid(format!("{}: not valid text (tried {enc})", file.display()))
            })?;
            let years = read_years(&text)
                .map_err(|e| Error::invalid(format!("{}: {e}", file.display())))?;
            for (year, y) in years {
                let (off, work) = (y.off.len(), y.work.len());
                let what = match calendar.set(year, y) {
                    Added::New => "added",
                    Added::Replaced => "replaced",
                    Added::Unchanged => "unchanged",
                };
                println!("{year}: {what} ({off} days off, {work} working weekend days)");
            }
            write(&cfg.calendar, &calendar)?;
            println!("wrote {}", cfg.calendar.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the calendar file whole (a temporary file, then renamed).
pub(crate) fn write(path: &Path, calendar: &Calendar) -> Result<()> {
    crate::private::write(path, calendar.to_toml().as_bytes())
        .context(|| format!("writing {}", path.display()))
}

/// Years from holiday-cn JSON or iCalendar text.
fn read_years(text: &str) -> std::result::Result<Vec<(i32, Year)>, crate::calendar::ImportError> {
    if text.trim_start().starts_with('{') {
        parse_holiday_cn(text).map(|y| vec![y])
    } else {
        parse_ics_holidays(text)
    }
}

const WEEK: [&str; 7] = ["一", "二", "三", "四", "五", "六", "日"];

/// The year as month grids, two months side by side.
fn show(calendar: &Calendar, year: i32, color: bool) -> Result<()> {
    let Some(y) = calendar.year(year) else {
        return Err(Error::invalid(NotCovered(year).to_string()));
    };
    println!(
        "{year} 年工作日历{}",
        y.source
            .as_deref()
            .map(|s| format!(" — {s}"))
            .unwrap_or_default()
    );
    println!(
        "legend: 休 day off (holiday) · 班 working weekend day (调休上班) · other Saturdays and Sundays are days off"
    );
    let months: Vec<Vec<String>> = (1..=12).map(|m| month(calendar, year, m, color)).collect();
    for pair in months.chunks(2) {
        println!();
        let rows = pair.iter().map(Vec::len).max().unwrap_or(0);
        for r in 0..rows {
            let line: Vec<String> = pair
                .iter()
                .map(|m| {
                    let cell = m.get(r).map(String::as_str).unwrap_or("");
                    let shown = unicode_width::UnicodeWidthStr::width(visible(cell).as_str());
                    format!("{cell}{}", " ".repeat(36usize.saturating_sub(shown)))
                })
                .collect();
            println!("{}", line.join("  ").trim_end());
        }
    }
    let off = y.off.len();
    let work = y.work.len();
    println!("\n{off} holidays off, {work} working weekend days in {year}");
    Ok(())
}

/// The visible text of a line (colour codes removed), for padding.
fn visible(s: &str) -> String {
    let mut out = String::new();
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, c) => out.push(c),
        }
    }
    out
}

/// One month's lines: the title, the week header, the weeks.
fn month(calendar: &Calendar, year: i32, m: u32, color: bool) -> Vec<String> {
    let mut lines = vec![
        format!("{m:>2} 月"),
        WEEK.map(|w| format!("{w}   ")).concat(),
    ];
    let Some(first) = NaiveDate::from_ymd_opt(year, m, 1) else {
        return lines;
    };
    let mut line = "     ".repeat(first.weekday().num_days_from_monday() as usize);
    for day in first.iter_days().take_while(|d| d.month() == m) {
        let weekend = day.weekday().num_days_from_monday() >= 5;
        let work = calendar.is_workday(day).unwrap_or(false);
        let (mark, paint) = match (work, weekend) {
            (false, false) => ("休", "\x1b[1;31m"),
            (true, true) => ("班", "\x1b[1;34m"),
            (false, true) => ("  ", "\x1b[2m"),
            (true, false) => ("  ", ""),
        };
        let cell = format!("{:>2}{mark}", day.day());
        if color && !paint.is_empty() {
            line.push_str(&format!("{paint}{cell}\x1b[0m "));
        } else {
            line.push_str(&cell);
            line.push(' ');
        }
        if day.weekday().num_days_from_monday() == 6 {
            lines.push(std::mem::take(&mut line));
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}
