//! `duban run`, `duban dry-run` and `duban diff`: evaluating a policy.

use super::report::{DiffPrinter, Report};
use super::{Format, policy_paths};
use crate::clock::{AsOf, Clock};
use crate::config::Config;
use crate::engine::{Engine, Reading, RunOptions};
use crate::error::{Error, Result};
use crate::lang::ir::Policy;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Evaluate the policy now, record what it does, deliver the notices.
///
/// Tasks, episodes and audit are recorded, notices queued and delivered.
///
/// Each rule is one transaction: if duban is stopped midway, every rule is
/// either wholly recorded or not at all, and the next run carries on.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  duban run\n  duban run --rule overdue_reminder\n  duban run --as-of 2026-12-01"
)]
pub struct RunArgs {
    /// Evaluation time: a date (the start of that day) or an RFC 3339 time.
    #[arg(long, value_name = "T")]
    as_of: Option<String>,
    /// Only this rule.
    #[arg(long, value_name = "NAME")]
    rule: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// List every firing, not a few per rule.
    #[arg(long)]
    all: bool,
    /// Queue notices but do not deliver them now.
    #[arg(long)]
    no_deliver: bool,
}

/// Show what `duban run` would do, writing nothing.
///
/// RULES: a policy to try (files or a folder) instead of the configured one.
/// --fresh ignores the episodes already running, as if the policy had never
/// run.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  duban dry-run\n  duban dry-run new-rules/ --fresh\n  duban dry-run --rule low_rate --as-of 2026-12-01 --format json"
)]
pub struct DryRunArgs {
    /// .rules files or folders (default: the configured rules folder).
    #[arg(value_name = "RULES")]
    paths: Vec<PathBuf>,
    #[arg(long, value_name = "T")]
    as_of: Option<String>,
    #[arg(long, value_name = "NAME")]
    rule: Option<String>,
    /// As if no episode had started yet.
    #[arg(long)]
    fresh: bool,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// List every firing, not a few per rule.
    #[arg(long)]
    all: bool,
    /// Read up to N rules side by side, each on its own connection, all on
    /// one snapshot of the database (default: the machine's cores, at most
    /// 4; 1 reads them one after another).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
}

/// Compare two policies: the actions NEW adds and removes against OLD.
///
/// Both are evaluated on the same data and episode state, writing nothing.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  duban diff rules/ proposed-rules/ --as-of 2026-12-01")]
pub struct DiffArgs {
    /// The policy as it is (a .rules file or folder).
    old: PathBuf,
    /// The policy as proposed.
    new: PathBuf,
    #[arg(long, value_name = "T")]
    as_of: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

/// Loads and checks a policy; on errors prints them and fails with exit 1.
pub(crate) fn load_policy(paths: &[PathBuf], cfg: &Config) -> Result<Policy> {
    crate::policy::load_valid(paths, cfg, |checked| {
        let color = super::color_stderr();
        for d in &checked.diagnostics {
            eprint!("{}", checked.sources.render(d, color));
        }
    })
}

/// The zone of `today` for commands that read the ledger without
/// evaluating (`status`, `tasks`): the configured policy's, as `run` uses;
/// the config's when the policy does not check (with a warning).
pub(crate) fn office_timezone(cfg: &Config) -> chrono_tz::Tz {
    policy_timezone(cfg).unwrap_or_else(|why| {
        eprintln!(
            "warning: {why}; dates are in the config's time zone {}",
            cfg.timezone
        );
        cfg.timezone
    })
}

/// The time zone of the configured policy, or why there is none to read
/// (for commands that need only today's date, which fall back quietly).
pub(crate) fn policy_timezone(cfg: &Config) -> std::result::Result<chrono_tz::Tz, String> {
    crate::policy::timezone(cfg)
}

pub(crate) fn as_of(arg: Option<&str>, tz: chrono_tz::Tz, clock: &dyn Clock) -> Result<AsOf> {
    match arg {
        Some(t) => AsOf::parse(t, tz).map_err(|e| Error::usage(e.to_string())),
        None => Ok(AsOf::new(clock.now(), tz)),
    }
}

/// The domain of the sender address, for Message-IDs and calendar UIDs.
pub(crate) fn mail_domain(cfg: &Config) -> String {
    cfg.mail_domain()
}

fn rules_of(engine: &Engine<'_>, only: Option<&str>) -> Result<Vec<usize>> {
    engine.select(only).map_err(|e| Error::usage(e.to_string()))
}

pub fn run(config: &Option<PathBuf>, args: RunArgs) -> Result<ExitCode> {
    let cfg = Config::load(config.as_deref())?;
    let policy = load_policy(std::slice::from_ref(&cfg.rules), &cfg)?;
    let mut conn = crate::store::open(&cfg.database)?;
    let clock = super::clock();
    let as_of = as_of(args.as_of.as_deref(), policy.tz, &clock)?;
    let engine = Engine::for_office(&policy, &cfg)?;
    let rules = rules_of(&engine, args.rule.as_deref())?;
    let mut report = Report::new(args.format, &policy, args.all);
    report.begin(&as_of, "run")?;
    let outcomes = engine.run(
        &mut conn,
        &rules,
        &as_of,
        &RunOptions::new("run", &clock),
        &mut |p| report.firing(p),
    )?;
    report.finish(&outcomes, "fired")?;
    if args.no_deliver {
        return Ok(ExitCode::SUCCESS);
    }
    super::deliver::deliver_and_report(&cfg, &conn, &clock, args.format)
}

pub fn dry_run(config: &Option<PathBuf>, args: DryRunArgs) -> Result<ExitCode> {
    let cfg = Config::load(config.as_deref())?;
    let paths = policy_paths(config, &args.paths)?;
    let policy = load_policy(&paths, &cfg)?;
    let mut conn = crate::store::open(&cfg.database)?;
    let as_of = as_of(args.as_of.as_deref(), policy.tz, &super::clock())?;
    let engine = Engine::for_office(&policy, &cfg)?;
    let rules = rules_of(&engine, args.rule.as_deref())?;
    let mut report = Report::new(args.format, &policy, args.all);
    report.begin(&as_of, "dry-run")?;
    // The table keeps a few examples per rule, in order, whatever order
    // the firings come in; JSON and `--all` list every firing, in order.
    let reading = Reading {
        fresh: args.fresh,
        values: false,
        ordered: args.format == Format::Json || args.all,
        sink_writes: false,
    };
    let jobs = args.jobs.map_or_else(default_jobs, usize::from);
    let parts = report.parts();
    let side_by_side = engine.dry_run_side_by_side(
        &mut conn,
        &cfg.database,
        &rules,
        &as_of,
        reading,
        jobs,
        &parts,
        &mut |part| report.take(part),
    )?;
    let outcomes = match side_by_side {
        Some(outcomes) => outcomes,
        None => engine.dry_run(&mut conn, &rules, &as_of, reading, &mut |p| {
            report.firing(p)
        })?,
    };
    report.finish(&outcomes, "would fire")?;
    Ok(ExitCode::SUCCESS)
}

/// Rules read side by side unless `--jobs` says otherwise: one per core,
/// at most four (each connection keeps a page cache of its own).
fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

pub fn diff(config: &Option<PathBuf>, args: DiffArgs) -> Result<ExitCode> {
    let cfg = Config::load(config.as_deref())?;
    let old = load_named(&args.old, "OLD", &cfg)?;
    let new = load_named(&args.new, "NEW", &cfg)?;
    let mut conn = crate::store::open(&cfg.database)?;
    let as_of = as_of(args.as_of.as_deref(), new.tz, &super::clock())?;
    let (old_engine, new_engine) = (
        Engine::for_office(&old, &cfg)?,
        Engine::for_office(&new, &cfg)?,
    );
    let printer = std::cell::RefCell::new(DiffPrinter::new(args.format));
    crate::engine::diff::diff(
        &mut conn,
        &old_engine,
        &new_engine,
        &as_of,
        &mut |a| printer.borrow_mut().added(&a),
        &mut |a| printer.borrow_mut().removed(&a),
    )?;
    printer.into_inner().finish()?;
    Ok(ExitCode::SUCCESS)
}

fn load_named(path: &Path, which: &str, cfg: &Config) -> Result<Policy> {
    load_policy(std::slice::from_ref(&path.to_path_buf()), cfg).map_err(|e| match e {
        Error::Invalid(m) => Error::Invalid(format!("{which} ({}): {m}", path.display())),
        other => other,
    })
}
