//! `duban init [DIR] [--database URL]`: a new office — config, example
//! policy, empty database (a SQLite file, or duban's tables in a
//! PostgreSQL database).

use crate::config::DEFAULT_FILE;
use crate::error::{Context, Error, Result};
use crate::store::Location;
use std::path::PathBuf;
use std::process::ExitCode;

/// Set up a new office: config, example policy, empty database.
///
/// Writes duban.toml, the example policy (and its tests) in rules/, and an
/// empty case database: duban.db, or duban's tables in the PostgreSQL
/// database `--database` names.
///
/// Refuses to overwrite anything that is already there: files, or tables
/// of duban's in that database.
#[derive(clap::Args)]
#[command(
    after_help = "Next steps:\n  duban import ledgers/      bring in your 问题清单 and 整改台账\n  duban check                check the policy in rules/\n  duban dry-run              see what a run would do"
)]
pub struct Args {
    /// The office folder (default: the current folder).
    #[arg(value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    /// A PostgreSQL database for the office, by its URL
    /// (postgresql://USER@HOST:PORT/DATABASE, no password: the config's
    /// database_password_env names the variable holding it).
    #[arg(long, value_name = "URL")]
    database: Option<String>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let dir = args.dir;
    let config = dir.join(DEFAULT_FILE);
    let rules = dir.join("rules");
    let calendar = dir.join("calendar.toml");
    let at = match &args.database {
        Some(url) if crate::store::location::is_url(url) => {
            Location::parse(url, &dir, None, "--database")?
        }
        Some(other) => {
            return Err(Error::usage(format!(
                "--database takes a PostgreSQL URL (postgresql://USER@HOST:PORT/DATABASE), not \"{other}\"; without it the office keeps duban.db in its folder"
            )));
        }
        None => Location::file(dir.join("duban.db")),
    };
    let mut existing: Vec<String> = [&config, &rules, &calendar]
        .iter()
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if let Some(db) = at.path().filter(|p| p.exists()) {
        existing.push(db.display().to_string());
    }
    if !existing.is_empty() {
        return Err(Error::invalid(format!(
            "{} already exist{}; duban init does not overwrite anything",
            existing.join(", "),
            if existing.len() == 1 { "s" } else { "" }
        )));
    }
    // The database first: a server that refuses leaves no files behind.
    drop(crate::store::create(&at)?);
    crate::private::create_dir_all(&dir).context(|| format!("creating {}", dir.display()))?;
    let text = crate::config::template(args.database.as_deref());
    crate::private::write(&config, text.as_bytes())
        .context(|| format!("writing {}", config.display()))?;
    crate::example::write_policy(&rules).context(|| format!("writing {}", rules.display()))?;
    let known = crate::calendar::Calendar::builtin();
    super::calendar::write(&calendar, &known)?;
    println!("created {}", config.display());
    println!(
        "created {} (the example policy: edit it to your office's rules)",
        rules.display()
    );
    match &at {
        Location::File(db) => println!("created {} (empty)", db.display()),
        Location::Server(_) => println!("created duban's tables in {at} (empty)"),
    }
    let years: Vec<String> = known.years().map(|(y, _)| y.to_string()).collect();
    println!(
        "created {} (working days of {}; add next year when its holiday notice is out)",
        calendar.display(),
        years.join(", ")
    );
    println!();
    println!(
        "next: `duban import LEDGERS` to bring in your cases, `duban check` and `duban dry-run` before `duban run`"
    );
    Ok(ExitCode::SUCCESS)
}
