//! `duban init [DIR]`: a new office — config, example policy, empty database.

use crate::config::{DEFAULT_FILE, TEMPLATE};
use crate::error::{Context, Error, Result};
use std::path::PathBuf;
use std::process::ExitCode;

/// Set up a new office: config, example policy, empty database.
///
/// Writes duban.toml, the example policy (and its tests) in rules/, and an
/// empty case database.
///
/// Refuses to overwrite anything that is already there.
#[derive(clap::Args)]
#[command(
    after_help = "Next steps:\n  duban import ledgers/      bring in your 问题清单 and 整改台账\n  duban check                check the policy in rules/\n  duban dry-run              see what a run would do"
)]
pub struct Args {
    /// The office folder (default: the current folder).
    #[arg(value_name = "DIR", default_value = ".")]
    dir: PathBuf,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let dir = args.dir;
    let config = dir.join(DEFAULT_FILE);
    let rules = dir.join("rules");
    let db = dir.join("duban.db");
    let calendar = dir.join("calendar.toml");
    let existing: Vec<String> = [&config, &rules, &db, &calendar]
        .iter()
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !existing.is_empty() {
        return Err(Error::invalid(format!(
            "{} already exist{}; duban init does not overwrite anything",
            existing.join(", "),
            if existing.len() == 1 { "s" } else { "" }
        )));
    }
    crate::private::create_dir_all(&dir).context(|| format!("creating {}", dir.display()))?;
    crate::store::create(&db)?;
    crate::private::write(&config, TEMPLATE.as_bytes())
        .context(|| format!("writing {}", config.display()))?;
    crate::example::write_policy(&rules).context(|| format!("writing {}", rules.display()))?;
    let known = crate::calendar::Calendar::builtin();
    super::calendar::write(&calendar, &known)?;
    println!("created {}", config.display());
    println!(
        "created {} (the example policy: edit it to your office's rules)",
        rules.display()
    );
    println!("created {} (empty)", db.display());
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
