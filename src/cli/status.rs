//! `duban status`: last runs, open and overdue tasks, queued and failed
//! notices.

use crate::config::Config;
use crate::error::Result;
use std::path::PathBuf;
use std::process::ExitCode;

/// What the office's duban has done and has waiting.
#[derive(clap::Args)]
pub struct Args {
    /// How many recent runs to show.
    #[arg(long, default_value_t = 5)]
    runs: u64,
}

pub fn run(config: &Option<PathBuf>, args: Args) -> Result<ExitCode> {
    let cfg = Config::load(config.as_deref())?;
    let conn = crate::store::open(&cfg.database)?;
    let mut lines = Vec::new();
    let tz = super::evaluate::office_timezone(&cfg);
    crate::status::write(&mut lines, &cfg, &conn, tz, &super::clock(), args.runs)?;
    for l in lines {
        println!("{l}");
    }
    Ok(ExitCode::SUCCESS)
}
