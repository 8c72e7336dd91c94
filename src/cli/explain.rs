//! `duban explain RULE SUBJECT [--as-of T]`: why a rule holds or not for
//! one subject, and what a run would do about it now.

use super::Format;
use super::evaluate::{as_of, load_policy};
use crate::config::Config;
use crate::engine::Engine;
use crate::engine::explain::explain;
use crate::error::{Error, Result};
use std::path::PathBuf;
use std::process::ExitCode;

/// Show why a rule holds or not for one subject.
///
/// The condition as a tree, every part with its value (and the members
/// behind each count or rate), the episode, and what a run would do now.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  duban explain overdue_reminder P00000012\n  duban explain low_rate I0000007 --as-of 2026-12-01 --format json"
)]
pub struct Args {
    /// The rule's name.
    rule: String,
    /// The subject's id (a problem, inspection or organization, as the rule is for).
    subject: String,
    #[arg(long, value_name = "T")]
    as_of: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

pub fn run(config: &Option<PathBuf>, args: Args) -> Result<ExitCode> {
    let cfg = Config::load(config.as_deref())?;
    let policy = load_policy(std::slice::from_ref(&cfg.rules), &cfg)?;
    let conn = crate::store::open(&cfg.database)?;
    let at = as_of(args.as_of.as_deref(), policy.tz, &super::clock())?;
    let engine = Engine::for_office(&policy, &cfg)?;
    let e = explain(&engine, &conn, &args.rule, &args.subject, &at)?;
    match args.format {
        Format::Json => println!("{}", e.json()),
        Format::Table => {
            let mut text = String::new();
            e.write_table(&mut text)
                .map_err(|_| Error::invalid("cannot format the explanation"))?;
            print!("{text}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
