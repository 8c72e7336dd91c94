//! `duban db copy --to URL`: the office's SQLite database into an empty
//! PostgreSQL database, checked row by row (the work is in
//! [`crate::store::copy`]).

use crate::config::Config;
use crate::error::Result;
use std::path::PathBuf;
use std::process::ExitCode;

/// The case database itself: copying it to PostgreSQL.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    Copy(CopyArgs),
}

/// Copy the office into an empty PostgreSQL database, and check the copy.
///
/// Every table — the case tables and duban's own: episodes, runs, audit,
/// outbox, approvals, accounts, sessions … — and the schema version go
/// over in one transaction. Before it commits, each table is read back
/// in key order and compared with the office value by value; a copy that
/// differs is rolled back. A database that holds any table is refused
/// (exit 1), nothing written. The copy's working-day table is then filled
/// with the office's calendar, as a run would. Then set `database` in
/// duban.toml to the URL.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  createdb -h 127.0.0.1 -U duban duban\n  duban db copy --to postgresql://duban@127.0.0.1:5432/duban\n  DUBAN_DATABASE_PASSWORD=… duban db copy --to postgresql://duban@db.internal/duban --password-env DUBAN_DATABASE_PASSWORD"
)]
struct CopyArgs {
    /// The PostgreSQL database to copy into (empty), without a password.
    #[arg(long, value_name = "URL")]
    to: String,
    /// The environment variable holding the server's password.
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
}

pub fn run(config: &Option<PathBuf>, args: Args) -> Result<ExitCode> {
    match args.command {
        Command::Copy(a) => copy(config, a),
    }
}

fn copy(config: &Option<PathBuf>, args: CopyArgs) -> Result<ExitCode> {
    let cfg = Config::load(config.as_deref())?;
    // Read before the copy: a calendar file in error stops it before it
    // starts, not after it is done.
    let workdays = crate::store::workdays::Workdays::new(&cfg.load_calendar()?);
    let mut source = crate::store::open(&cfg.database)?;
    let to = crate::store::Location::parse(
        &args.to,
        std::path::Path::new("."),
        args.password_env.as_deref(),
        "--to",
    )?;
    let started = std::time::Instant::now();
    let mut first = true;
    let copied = crate::store::copy::to_postgres(&mut source, &to, &mut |t| {
        if std::mem::take(&mut first) {
            println!("{:<20} {:>10} {:>10}  checked", "table", "rows", "copied");
        }
        println!(
            "{:<20} {:>10} {:>10}  {}",
            t.table,
            t.rows,
            t.copied,
            if t.equal == t.rows {
                "equal".to_string()
            } else {
                format!("{} equal", t.equal)
            }
        );
    })?;
    println!(
        "{}, {}, schema version {}: copied to {} and checked in {:.1} s",
        super::counted(copied.tables.len(), "table"),
        super::counted(copied.rows(), "row"),
        copied.version,
        to,
        started.elapsed().as_secs_f64()
    );
    // The copy's working-day table holds the office's calendar, as after
    // a run: the copy's first dry-run can read its rules side by side. The
    // copy is done whether or not this is: the first run fills it anyway.
    if let Err(e) = crate::store::open(&to)
        .and_then(|mut copy| crate::store::workdays::fill(&mut copy, &workdays))
    {
        eprintln!("warning: the copy's working-day table is filled at its first run: {e}");
    }
    Ok(ExitCode::SUCCESS)
}
