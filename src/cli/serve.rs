//! `duban serve`: the daemon.

use crate::config::Config;
use crate::error::Result;
use std::path::PathBuf;
use std::process::ExitCode;

/// Run as a service: scheduled runs, delivery, reload on edits.
///
/// Evaluates each rule at its scheduled times, delivers notices
/// continuously, reloads the policy when its files change.
///
/// After downtime, a rule whose scheduled time passed runs once. A policy
/// edit that fails `check` is refused and logged; the running policy stays.
/// SIGTERM or Ctrl-C finishes the rule in flight and exits. Several
/// services may share one database: one leads (schedules the rules,
/// delivers the notices), the others stand by and take over within 30 s
/// when it ends or dies; `duban status` says which leads. Logs go to
/// stderr; RUST_LOG sets the level (default info).
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  duban serve\n  duban serve --log-format json\n  duban serve --once          from cron or a systemd timer: run what is due, deliver, exit\n  duban serve --no-web        a second service on this machine, standing by, without the workbench\n\nSee examples/duban.service for a systemd unit."
)]
pub struct Args {
    /// Run the rules that are due, deliver, and exit.
    #[arg(long)]
    once: bool,
    #[arg(long, value_enum, default_value = "human")]
    log_format: LogFormat,
    /// Leave the workbench to another process (`duban web`, or another
    /// service on this machine with the same `[web] listen`).
    #[arg(long)]
    no_web: bool,
    /// Seconds between looks at the outbox.
    #[arg(long, default_value_t = 10, value_name = "S")]
    delivery_poll: u64,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(super) enum LogFormat {
    Human,
    Json,
}

pub fn run(config: &Option<PathBuf>, args: Args) -> Result<ExitCode> {
    let cfg = Config::load(config.as_deref())?;
    init_logging(args.log_format);
    crate::daemon::serve(
        cfg,
        crate::daemon::Options {
            once: args.once,
            web: !args.no_web,
            delivery_poll: std::time::Duration::from_secs(args.delivery_poll.max(1)),
            clock: std::sync::Arc::new(super::clock()),
            transport: std::sync::Arc::new(crate::deliver::transport::from_config),
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Logs to stderr; RUST_LOG sets the level (default info).
pub(super) fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder.with_ansi(super::color_stderr()).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
