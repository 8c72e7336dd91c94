//! The command line: argument parsing (clap), one file per command, and the
//! mapping of errors to exit codes (SPEC §5). Commands read the wall clock
//! and the environment; nothing below them does.

// `print!` and `println!` of every command: standard output that ends
// quietly on a closed pipe (see out.rs), in place of std's, which panic.
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::cli::out::print(format_args!($($arg)*))
    };
}
macro_rules! println {
    () => {
        $crate::cli::out::print(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::out::print(format_args!("{}\n", format_args!($($arg)*)))
    };
}

mod approvals;
mod calendar;
mod check;
mod db;
mod deliver;
mod demo;
pub(crate) mod evaluate;
pub(crate) mod explain;
mod export;
mod fmt;
mod import;
mod init;
mod notices;
mod out;
mod progress;
mod report;
pub mod schema;
mod serve;
mod simulate;
pub(crate) mod status;
mod tasks;
mod test;
mod users;
mod web;

use crate::error::{Error, Result};
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "duban",
    version,
    about = "督办 — an accountability rule engine for inspection-rectification offices",
    long_about = "督办 (duban, \"supervise until done\") evaluates the office's accountability \
policy — rules such as \"a problem overdue by 30 days → reminder talk with the person \
responsible\" — against the case database, creates interview tasks and sends notices, \
never twice and never lost.\n\n\
Start with `duban demo` for an office on disk, or `duban init` for an empty one.",
    after_help = "Exit codes: 0 success, 1 invalid input (policy, data, config), 2 usage, 3 operational failure.\n\
Every command takes --config FILE (default ./duban.toml)."
)]
pub struct Cli {
    /// The configuration file.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Init(init::Args),
    Demo(demo::Args),
    Check(check::Args),
    Fmt(fmt::Args),
    Import(import::Args),
    Export(export::Args),
    Run(evaluate::RunArgs),
    DryRun(evaluate::DryRunArgs),
    Diff(evaluate::DiffArgs),
    Explain(explain::Args),
    Test(test::Args),
    Simulate(simulate::Args),
    Serve(serve::Args),
    Web(web::Args),
    Users(users::Args),
    Approvals(approvals::Args),
    Schema(schema::Args),
    Tasks(tasks::Args),
    Notices(notices::Args),
    Status(status::Args),
    Report(progress::Args),
    Calendar(calendar::Args),
    Db(db::Args),
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Init(args) => init::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Import(args) => import::run(&cli.config, args),
        Command::Export(args) => export::run(&cli.config, args),
        Command::Check(args) => check::run(&cli.config, args),
        Command::Run(args) => evaluate::run(&cli.config, args),
        Command::DryRun(args) => evaluate::dry_run(&cli.config, args),
        Command::Diff(args) => evaluate::diff(&cli.config, args),
        Command::Explain(args) => explain::run(&cli.config, args),
        Command::Test(args) => test::run(&cli.config, args),
        Command::Simulate(args) => simulate::run(&cli.config, args),
        Command::Serve(args) => serve::run(&cli.config, args),
        Command::Web(args) => web::run(&cli.config, args),
        Command::Users(args) => users::run(&cli.config, args),
        Command::Approvals(args) => approvals::run(&cli.config, args),
        Command::Schema(args) => schema::run(args),
        Command::Tasks(args) => tasks::run(&cli.config, args),
        Command::Notices(args) => notices::run(&cli.config, args),
        Command::Status(args) => status::run(&cli.config, args),
        Command::Report(args) => progress::run(&cli.config, args),
        Command::Fmt(args) => fmt::run(&cli.config, args),
        Command::Calendar(args) => calendar::run(&cli.config, args, &clock()),
        Command::Db(args) => db::run(&cli.config, args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let prefix = if color_stderr() {
                "\x1b[1;31merror\x1b[0m"
            } else {
                "error"
            };
            eprintln!("{prefix}: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Whether to colour what goes to stderr.
pub(crate) fn color_stderr() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// The wall clock the commands read: the system's, or the time in
/// `DUBAN_NOW` (RFC 3339) — for rehearsing a date, as the tests do.
pub(crate) fn clock() -> crate::clock::FixedOrSystem {
    crate::clock::FixedOrSystem::from_env("DUBAN_NOW")
}

/// `1 rule`, `2 rules`: a count and its noun, singular for one.
pub(crate) fn counted<N: TryInto<u64>>(n: N, noun: &str) -> String {
    let n: u64 = n.try_into().unwrap_or(0);
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// Whether to colour what goes to stdout.
pub(crate) fn color_stdout() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

/// The policy paths of a command: those given, or the config's rules
/// folder (no config file needed).
pub(crate) fn policy_paths(config: &Option<PathBuf>, given: &[PathBuf]) -> Result<Vec<PathBuf>> {
    if !given.is_empty() {
        return Ok(given.to_vec());
    }
    let cfg = crate::config::Config::load(config.as_deref())?;
    if !cfg.rules.exists() {
        return Err(Error::invalid(format!(
            "no policy given and the rules folder {} does not exist; name a .rules file or folder",
            cfg.rules.display()
        )));
    }
    Ok(vec![cfg.rules])
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// For people.
    Table,
    /// For tools.
    Json,
}
