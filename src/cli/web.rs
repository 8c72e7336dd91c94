//! `duban web`: the workbench alone, without the scheduler.

use super::serve::{LogFormat, init_logging};
use crate::config::Config;
use crate::error::{Error, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Serve the web workbench alone (`duban serve` serves it beside the
/// scheduler when duban.toml has a [web] section).
///
/// Clerks and leaders sign in with a browser: members see and close their
/// tasks; the office sees organizations, tasks, notices, rules and status.
/// Listens on [web] listen (default 127.0.0.1:8080, loopback only). Accounts
/// come from `duban users add`. SIGTERM or Ctrl-C stops it.
#[derive(clap::Args)]
#[command(
    after_help = "Example duban.toml:\n  [web]\n  listen = \"127.0.0.1:8080\"\n  public_url = \"https://duban.example.gov.cn\"   links in notices and sign-in emails\n\nThen:\n  duban users add U0000003 --role office --password-stdin\n  duban web"
)]
pub struct Args {
    #[arg(long, value_enum, default_value = "human")]
    log_format: LogFormat,
}

pub fn run(config: &Option<PathBuf>, args: Args) -> Result<ExitCode> {
    let cfg = Config::load(config.as_deref())?;
    init_logging(args.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::failed("starting the workbench", e))?;
    let app = Arc::new(crate::web::App::new(cfg, Arc::new(super::clock()))?);
    runtime.block_on(async move {
        let listener = crate::web::bind(&app).await?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            crate::daemon::wait_for_signal().await;
            tracing::info!("signal received: stopping");
            let _ = stop.send(true);
        });
        crate::web::serve(listener, app, stopped).await
    })?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}
