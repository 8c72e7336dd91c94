//! `duban notices list|retry`: the outbox and its delivery state.

use super::Format;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::store::outbox::{self, NoticeStatus, RetryWhich, retry};
use std::path::PathBuf;
use std::process::ExitCode;

/// The outbox: notices queued, sent and failed.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// List notices, newest first.
    List {
        /// queued, sending, sent or failed.
        #[arg(long, value_name = "S", value_parser = ["queued", "sending", "sent", "failed"])]
        status: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        #[arg(long, value_name = "N", default_value_t = 50)]
        limit: u64,
    },
    /// Deliver now: one notice, every failed one, or (without arguments)
    /// every queued one without waiting for its backoff.
    #[command(
        after_help = "Examples:\n  duban notices retry            queued notices, now\n  duban notices retry --failed   failed notices, with fresh attempts\n  duban notices retry 42"
    )]
    Retry {
        id: Option<i64>,
        #[arg(long, conflicts_with = "id")]
        failed: bool,
    },
}

pub fn run(config: &Option<PathBuf>, args: Args) -> Result<ExitCode> {
    let cfg = Config::load(config.as_deref())?;
    let conn = crate::store::open(&cfg.database)?;
    match args.command {
        Command::List {
            status,
            format,
            limit,
        } => list(&conn, status, format, limit)?,
        Command::Retry { id, failed } => {
            let which = match (id, failed) {
                (Some(id), _) => RetryWhich::One(id),
                (None, true) => RetryWhich::Failed,
                (None, false) => RetryWhich::Queued,
            };
            let n = retry(&conn, which)?;
            if let Some(id) = id
                && n == 0
            {
                return Err(Error::invalid(format!("no queued or failed notice #{id}")));
            }
            println!("{} due now", super::counted(n, "notice"));
            return super::deliver::deliver_and_report(
                &cfg,
                &conn,
                &super::clock(),
                super::Format::Table,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn list(conn: &crate::store::Db, status: Option<String>, format: Format, limit: u64) -> Result<()> {
    let status = status.as_deref().and_then(NoticeStatus::parse);
    let mut n = 0;
    outbox::list(conn, status, limit, &mut |r| {
        n += 1;
        let recipients: serde_json::Value = serde_json::from_str(&r.recipients).unwrap_or_default();
        match format {
            Format::Json => {
                let v = serde_json::json!({
                    "id": r.id, "status": r.status, "attempts": r.attempts,
                    "created_at": r.created_at, "rule": r.rule,
                    "entity": r.entity, "subject": r.subject_id,
                    "to": recipients, "title": r.subject,
                    "last_error": r.last_error.as_deref().unwrap_or(""),
                    "sent_at": r.sent_at.as_deref().unwrap_or(""), "message_id": r.message_id,
                    "task": r.task_id,
                });
                println!("{v}");
            }
            Format::Table => {
                let to: Vec<&str> = recipients
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|x| x["name"].as_str().or(x["email"].as_str()).unwrap_or(""))
                            .collect()
                    })
                    .unwrap_or_default();
                println!(
                    "#{:<5} {:<8} {}  {} → {}  {}{}",
                    r.id,
                    r.status,
                    super::counted(r.attempts, "attempt"),
                    r.subject_id,
                    to.join(", "),
                    r.subject,
                    match r.last_error.as_deref() {
                        Some(e) if !e.is_empty() => format!("\n        last error: {e}"),
                        _ => String::new(),
                    }
                );
            }
        }
        Ok(())
    })?;
    if format == Format::Table {
        println!("{} shown", super::counted(n, "notice"));
    }
    Ok(())
}
