//! `duban export [TABLE…] --to FILE.xlsx|DIR`: the ledgers back out, in
//! the form `duban import` takes.

use crate::clock::{AsOf, Clock};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ledger::export::{Options, Target, export};
use crate::schema::Entity;
use crate::store::sources::{TABLE_NAMES, table_named};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;

/// Export tables to a workbook or to CSV files, in the import format.
///
/// A workbook (`--to FILE.xlsx`) gets a sheet per table; a folder (`--to
/// DIR`) a CSV file per table (UTF-8 with a BOM, as Excel reads Chinese).
/// Columns are those `duban import` reads, so a ledger goes to Excel,
/// is edited there, and comes back with `duban import`. Read-only columns
/// duban computes — `overdue_days`, `open_days`, the names of the persons
/// a row refers to — come last, marked "(read-only)" / "（只读）"; an import
/// passes over them.
///
/// A clerk may mark a task done in the tasks sheet (status 已完成 / done,
/// with done_on and outcome): importing it closes the task as `duban tasks
/// done` does.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  duban export --to 台账.xlsx\n  duban export problems tasks --to 2026-11.xlsx --labels\n  duban export --to ledgers/"
)]
pub struct Args {
    /// Tables to export (default: all): organizations, persons, rounds,
    /// inspections, problems, tasks, or 组织, 人员, 轮次, 巡察, 问题, 任务.
    #[arg(value_name = "TABLE")]
    tables: Vec<String>,
    /// A workbook (.xlsx) or a folder for CSV files.
    #[arg(long, value_name = "FILE.xlsx|DIR")]
    to: PathBuf,
    /// Chinese column labels and enum labels (状态: 已整改) instead of
    /// field names and codes; `duban import` reads both.
    #[arg(long)]
    labels: bool,
}

pub fn run(config: &Option<PathBuf>, args: Args) -> Result<ExitCode> {
    let tables = tables(&args.tables)?;
    let target = Target::of(&args.to)?;
    let cfg = Config::load(config.as_deref())?;
    let mut conn = crate::store::open(&cfg.database)?;
    let today = AsOf::new(
        super::clock().now(),
        crate::policy::timezone(&cfg).unwrap_or(cfg.timezone),
    )
    .today;
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {pos} rows ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    // One read transaction: the tables as they were at one moment, read
    // as they stream.
    let tx = conn.transaction_with_behavior(crate::store::Behavior::Deferred)?;
    let written = export(
        &tx,
        &tables,
        &target,
        &Options {
            labels: args.labels,
            today,
        },
        &mut |entity, n| {
            bar.set_message(entity.table());
            bar.set_position(n);
        },
    )?;
    tx.rollback()?;
    bar.finish_and_clear();
    for (entity, n) in written {
        println!("{:<14} {n:>8} rows", entity.table());
    }
    println!("written to {}", args.to.display());
    Ok(ExitCode::SUCCESS)
}

/// The tables named, in import order; all when none is named.
fn tables(names: &[String]) -> Result<Vec<Entity>> {
    let mut chosen = Vec::new();
    for name in names {
        let e = table_named(name).map_err(|hint| {
            Error::usage(format!(
                "no table `{name}`{hint}; the tables are {TABLE_NAMES}"
            ))
        })?;
        chosen.push(e);
    }
    Ok(Entity::IMPORT_ORDER
        .into_iter()
        .filter(|e| chosen.is_empty() || chosen.contains(e))
        .collect())
}
