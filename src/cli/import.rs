//! `duban import PATH…`: ledgers into the case database, all or nothing.

use crate::clock::{AsOf, Clock, utc_text};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::store::import::{Observer, Outcome, Stamp, import};
use crate::store::sources::{InputFile, TableInput, csv_table, discover, xlsx_tables};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

/// Import ledgers (.csv or .xlsx) into the case database.
///
/// Files are named after their table — organizations, persons, rounds,
/// inspections, problems, tasks (or 组织, 人员, 轮次, 巡察, 问题, 任务); a
/// workbook holds a sheet per table. Columns are the field names (with
/// `_id` for references: inspection_id, responsible_id …) or their Chinese
/// labels. UTF-8 (with or without BOM) and GBK are both read.
///
/// Records are matched by id: new ones are inserted, changed ones updated,
/// only the columns the file has. Any bad row rejects the whole import and
/// leaves the database as it was.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  duban import ledgers/\n  duban import problems.csv tasks.csv\n  duban import 整改台账.xlsx"
)]
pub struct Args {
    /// Files or folders.
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
}

pub fn run(config: &Option<PathBuf>, args: Args) -> Result<ExitCode> {
    let cfg = Config::load(config.as_deref())?;
    let inputs = discover(&args.paths)?;
    let mut tables: Vec<TableInput<'static>> = Vec::new();
    for input in inputs {
        match input {
            InputFile::Csv(path, entity) => tables.push(csv_table(&path, entity)?),
            InputFile::Xlsx(path) => {
                let (sheets, skipped) = xlsx_tables(&path)?;
                for s in skipped {
                    eprintln!(
                        "warning: {}[{s}]: sheet not named after a table; skipped",
                        path.file_name()
                            .map(|n| n.to_string_lossy())
                            .unwrap_or_default()
                    );
                }
                tables.extend(sheets);
            }
        }
    }
    if tables.is_empty() {
        return Err(Error::invalid("nothing to import"));
    }
    let now = super::clock().now();
    let stamp = Stamp {
        today: AsOf::new(now, crate::policy::timezone(&cfg).unwrap_or(cfg.timezone)).today,
        at: utc_text(now),
    };
    let mut conn = crate::store::open(&cfg.database)?;
    let outcome = import(&mut conn, tables, &stamp, &Bar::default())?;
    report(&outcome)
}

fn report(o: &Outcome) -> Result<ExitCode> {
    for w in &o.warnings {
        eprintln!("warning: {w}");
    }
    if !o.ok() {
        for e in &o.errors {
            eprintln!("{e}");
        }
        if o.more_errors > 0 {
            eprintln!("… and {} more errors", o.more_errors);
        }
        let total = o.errors.len() + o.more_errors;
        return Err(Error::invalid(format!(
            "import rejected: {}; the database is unchanged",
            super::counted(total, "error")
        )));
    }
    for t in &o.tables {
        println!(
            "{:<14} {:>8} rows: {} inserted, {} updated, {} unchanged",
            t.entity.table(),
            t.rows,
            t.inserted,
            t.updated,
            t.unchanged
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A progress bar per table on stderr, with the rows read and the rows per
/// second; hidden when stderr is not a terminal.
#[derive(Default)]
struct Bar {
    bar: std::cell::RefCell<Option<(ProgressBar, std::time::Instant)>>,
}

impl Observer for Bar {
    fn table_started(&self, t: &TableInput<'_>) {
        let bar = ProgressBar::new(t.total_bytes);
        let style =
            ProgressStyle::with_template("{prefix:<28} {wide_bar} {percent:>3}% {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(t.origin.clone());
        *self.bar.borrow_mut() = Some((bar, std::time::Instant::now()));
    }

    fn advance(&self, t: &TableInput<'_>, rows: u64) {
        if let Some((b, start)) = self.bar.borrow().as_ref() {
            b.set_position(t.progress.load(Ordering::Relaxed));
            let secs = start.elapsed().as_secs_f64().max(0.001);
            b.set_message(format!("{rows} rows, {:.0} rows/s", rows as f64 / secs));
        }
    }

    fn table_finished(&self, _t: &TableInput<'_>) {
        if let Some((b, _)) = self.bar.borrow_mut().take() {
            b.finish_and_clear();
        }
    }
}
