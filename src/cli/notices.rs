//! `duban notices list|retry`: the outbox and its delivery state.

use super::Format;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::deliver::outbox::{RetryWhich, retry};
use crate::error::{Error, Result};
use rusqlite::params;
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
            println!("{n} notice{} due now", if n == 1 { "" } else { "s" });
            return super::deliver::deliver_and_report(&cfg, &conn, &SystemClock);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn list(
    conn: &rusqlite::Connection,
    status: Option<String>,
    format: Format,
    limit: u64,
) -> Result<()> {
    let mut stmt = conn.prepare(
        "SELECT id, status, attempts, created_at, rule, subject_type, subject_id, recipients, subject,
                coalesce(last_error, ''), coalesce(sent_at, ''), message_id, task_id
         FROM outbox WHERE ?1 IS NULL OR status = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let mut rows = stmt.query(params![status, limit as i64])?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        n += 1;
        let recipients: serde_json::Value =
            serde_json::from_str(&r.get::<_, String>(7)?).unwrap_or_default();
        let to: Vec<String> = recipients
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| {
                        x["name"]
                            .as_str()
                            .or(x["email"].as_str())
                            .unwrap_or("")
                            .to_string()
                    })
                    .collect()
            })
            .unwrap_or_default();
        match format {
            Format::Json => {
                let v = serde_json::json!({
                    "id": r.get::<_, i64>(0)?, "status": r.get::<_, String>(1)?, "attempts": r.get::<_, i64>(2)?,
                    "created_at": r.get::<_, String>(3)?, "rule": r.get::<_, String>(4)?,
                    "entity": r.get::<_, String>(5)?, "subject": r.get::<_, String>(6)?,
                    "to": recipients, "title": r.get::<_, String>(8)?, "last_error": r.get::<_, String>(9)?,
                    "sent_at": r.get::<_, String>(10)?, "message_id": r.get::<_, String>(11)?,
                    "task": r.get::<_, Option<String>>(12)?,
                });
                println!("{v}");
            }
            Format::Table => {
                let error = r.get::<_, String>(9)?;
                println!(
                    "#{:<5} {:<8} {} attempt{}  {} → {}  {}{}",
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    if r.get::<_, i64>(2)? == 1 { "" } else { "s" },
                    r.get::<_, String>(6)?,
                    to.join(", "),
                    r.get::<_, String>(8)?,
                    if error.is_empty() {
                        String::new()
                    } else {
                        format!("\n        last error: {error}")
                    }
                );
            }
        }
    }
    if format == Format::Table {
        println!("{n} notice{} shown", if n == 1 { "" } else { "s" });
    }
    Ok(())
}
