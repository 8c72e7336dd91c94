//! `duban report --to FILE.xlsx|FILE.html`: the office's rectification
//! progress report (整改进展通报).

use crate::config::Config;
use crate::error::Result;
use crate::ledger::report::{Period, build, write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Write the rectification progress report (整改进展通报).
///
/// Per inspected organization: its problems, how many are rectified, the
/// rectification rate, the overdue ones, the rate a period earlier and the
/// change in percentage points, the problems rectified in the period, and
/// its tasks by kind, done and open. Lowest rate first, totals last, and a
/// bar chart of the rates: a native chart in the workbook, an SVG in the
/// page. Every figure is computed from the dates in the ledgers as they
/// stood on the report's day.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  duban report --to 2026-11.xlsx\n  duban report --as-of 2026-09-30 --period quarter --to 三季度.html"
)]
pub struct Args {
    /// A workbook (.xlsx) or a page (.html).
    #[arg(long, value_name = "FILE.xlsx|FILE.html")]
    to: PathBuf,
    /// The report's day (default: today), as `2026-11-30`.
    #[arg(long, value_name = "DATE")]
    as_of: Option<String>,
    /// What "the previous period" is: a month or a quarter before.
    #[arg(long, value_enum, default_value = "month")]
    period: Period,
}

pub fn run(config: &Option<PathBuf>, args: Args) -> Result<ExitCode> {
    let cfg = Config::load(config.as_deref())?;
    // The policy gives the time zone and the labels of its own task kinds
    // (`tasktype`); the report does without it.
    let policy = crate::policy::load(
        std::slice::from_ref(&cfg.rules),
        cfg.timezone,
        &cfg.channel_names(),
    )
    .ok()
    .and_then(|c| c.policy);
    let tz = policy.as_ref().map(|p| p.tz).unwrap_or(cfg.timezone);
    let as_of = super::evaluate::as_of(args.as_of.as_deref(), tz, &super::clock())?;
    let conn = crate::store::open(&cfg.database)?;
    let label = |kind: &str| crate::ledger::report::kind_label(policy.as_ref(), kind);
    let report = build(&conn, as_of.today, args.period, &label)?;
    write(&report, &args.to)?;
    println!(
        "{}: {} organizations, compared with {}; written to {}",
        report.title(),
        report.rows.len(),
        report.previous,
        args.to.display()
    );
    Ok(ExitCode::SUCCESS)
}
