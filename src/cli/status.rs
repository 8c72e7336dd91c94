//! `duban status`: last runs, open and overdue tasks, queued and failed
//! notices.

use crate::clock::{AsOf, Clock, SystemClock};
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
    let today = AsOf::new(SystemClock.now(), cfg.timezone).today.to_string();
    println!("database {}", cfg.database.display());
    println!("\nlast runs:");
    let mut stmt = conn.prepare(
        "SELECT id, kind, as_of, rules, fired, tasks, notices, skipped, coalesce(finished_at, ''), substr(policy_hash, 1, 19)
         FROM runs ORDER BY id DESC LIMIT ?1",
    )?;
    let mut rows = stmt.query([args.runs as i64])?;
    let mut any = false;
    while let Some(r) = rows.next()? {
        any = true;
        let finished: String = r.get(8)?;
        println!(
            "  #{:<4} {:<9} as of {} · {} rule{} · {} fired · {} tasks · {} notices · {} skipped · {}",
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            if r.get::<_, i64>(3)? == 1 { "" } else { "s" },
            r.get::<_, i64>(4)?,
            r.get::<_, i64>(5)?,
            r.get::<_, i64>(6)?,
            r.get::<_, i64>(7)?,
            if finished.is_empty() {
                "interrupted or running".to_string()
            } else {
                format!("finished {finished}")
            },
        );
    }
    if !any {
        println!("  none yet: `duban run` evaluates the policy");
    }
    let (open, overdue, done, cancelled): (i64, i64, i64, i64) = conn.query_row(
        "SELECT count(*) FILTER (WHERE status = 'open'), count(*) FILTER (WHERE status = 'open' AND due < ?1),
                count(*) FILTER (WHERE status = 'done'), count(*) FILTER (WHERE status = 'cancelled') FROM tasks",
        [&today],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    println!("\ntasks: {open} open ({overdue} overdue) · {done} done · {cancelled} cancelled");
    let mut stmt = conn.prepare(
        "SELECT kind, count(*), count(*) FILTER (WHERE due < ?1) FROM tasks WHERE status = 'open' GROUP BY kind ORDER BY 2 DESC",
    )?;
    let mut rows = stmt.query([&today])?;
    while let Some(r) = rows.next()? {
        let kind: String = r.get(0)?;
        let label = crate::schema::standard_task_kind(&kind)
            .map(|(_, l)| l)
            .unwrap_or("");
        println!(
            "  {:<26} {:>6} open  {:>6} overdue",
            format!("{kind} {label}"),
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?
        );
    }
    let (queued, sending, sent, failed): (i64, i64, i64, i64) = conn.query_row(
        "SELECT count(*) FILTER (WHERE status = 'queued'), count(*) FILTER (WHERE status = 'sending'),
                count(*) FILTER (WHERE status = 'sent'), count(*) FILTER (WHERE status = 'failed') FROM outbox",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    println!("\nnotices: {queued} queued · {sending} sending · {sent} sent · {failed} failed");
    let last_error: Option<String> = conn
        .query_row(
            "SELECT last_error FROM outbox WHERE last_error IS NOT NULL AND status IN ('queued', 'failed') ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .ok();
    if let Some(e) = last_error {
        println!("  last error: {e}");
    }
    if failed > 0 {
        println!(
            "  `duban notices list --status failed` shows them; `duban notices retry --failed` tries again"
        );
    }
    Ok(ExitCode::SUCCESS)
}
