//! `duban tasks list|show|done|cancel`: the task ledger.

use super::Format;
use crate::clock::utc_text;
use crate::clock::{AsOf, Clock};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::store::tasks::{self, Filter, Task};
use crate::text::pad;
use chrono::NaiveDate;
use std::path::PathBuf;
use std::process::ExitCode;

/// The task ledger: interviews and other tasks, open and closed.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// List tasks, soonest due first.
    List {
        /// Only open tasks.
        #[arg(long)]
        open: bool,
        /// Only tasks of this assignee (person id).
        #[arg(long, value_name = "ID")]
        assignee: Option<String>,
        /// Only this kind (code or label: reminder_talk, 提醒谈话 …).
        #[arg(long, value_name = "K")]
        kind: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// At most this many.
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
    },
    /// One task with the rule, the facts and the policy that produced it.
    Show { id: String },
    /// Close a task with what came of it.
    #[command(
        after_help = "Example:\n  duban tasks done T000012 --outcome \"已谈话，责任人承诺月底前整改到位\" --on 2026-12-03"
    )]
    Done {
        id: String,
        /// What came of it (recorded, and visible to rules).
        #[arg(long)]
        outcome: String,
        /// The day it was done (default: today).
        #[arg(long, value_name = "DATE")]
        on: Option<String>,
        /// Who records it (default: the login name).
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
    /// Cancel an open task.
    Cancel {
        id: String,
        #[arg(long)]
        reason: String,
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
}

/// Who is recording: `--by`, else the login name.
fn who(by: Option<String>) -> String {
    by.or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("USERNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

pub fn run(config: &Option<PathBuf>, args: Args) -> Result<ExitCode> {
    let cfg = Config::load(config.as_deref())?;
    let conn = crate::store::open(&cfg.database)?;
    let clock = super::clock();
    let today = AsOf::new(clock.now(), super::evaluate::office_timezone(&cfg)).today;
    match args.command {
        Command::List {
            open,
            assignee,
            kind,
            format,
            limit,
        } => {
            let kind = kind.map(|k| {
                crate::schema::standard_task_kind(&k)
                    .map(|(c, _)| c.to_string())
                    .unwrap_or(k)
            });
            let filter = Filter {
                open_only: open,
                assignee,
                kind,
                limit,
            };
            let mut n = 0;
            if format == Format::Table {
                println!(
                    "{:<9} {:<9} {:<10} {:<24} {:<18} {:<18} subject",
                    "id", "status", "due", "kind", "target", "assignee"
                );
            }
            tasks::list(&conn, &filter, &mut |t| {
                n += 1;
                match format {
                    Format::Json => {
                        let shown = Listed {
                            overdue: is_overdue(&t, today),
                            task: &t,
                        };
                        println!("{}", serde_json::to_string(&shown).unwrap_or_default())
                    }
                    Format::Table => println!("{}", line(&t, today)),
                }
                Ok(())
            })?;
            if format == Format::Table {
                println!("{}", super::counted(n, "task"));
            }
        }
        Command::Show { id } => {
            let t = tasks::get(&conn, &id)?;
            show(&t);
            if let Some(a) = &t.approval {
                let a = crate::store::approvals::get(&conn, a)?;
                let decided = match (&a.decided_by, &a.decided_at) {
                    (Some(by), Some(at)) => format!(
                        ", {} by {by} ({}) at {at}{}",
                        a.status,
                        a.via.as_deref().unwrap_or("?"),
                        a.note
                            .as_deref()
                            .map(|n| format!(": {n}"))
                            .unwrap_or_default()
                    ),
                    _ => format!(
                        ", awaiting {} {}",
                        a.approver_name.as_deref().unwrap_or(""),
                        a.approver
                    ),
                };
                println!("  approval    {} ({}{decided})", a.id, a.status);
            }
            for (nid, status, subject) in crate::store::outbox::of_task(&conn, &id)? {
                println!("notice #{nid} ({status}): {subject}");
            }
        }
        Command::Done {
            id,
            outcome,
            on,
            by,
        } => {
            let on = match on {
                Some(d) => crate::text::parse_date(&d).ok_or_else(|| {
                    Error::usage(format!("--on: `{d}` is not a date (write 2026-12-03)"))
                })?,
                None => today,
            };
            let t = tasks::done(
                &conn,
                &id,
                &outcome,
                on,
                today,
                &who(by),
                &utc_text(clock.now()),
            )?;
            println!(
                "{} done on {}: {}",
                t.id,
                t.done_on.unwrap_or_default(),
                t.outcome.unwrap_or_default()
            );
        }
        Command::Cancel { id, reason, by } => {
            let t = tasks::cancel(&conn, &id, &reason, &who(by), &utc_text(clock.now()))?;
            println!(
                "{} cancelled: {}",
                t.id,
                t.cancel_reason.unwrap_or_default()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn kind_label(kind: &str) -> String {
    match crate::schema::standard_task_kind(kind) {
        Some((code, label)) => format!("{code} {label}"),
        None => kind.to_string(),
    }
}

fn person(id: &Option<String>, name: &Option<String>) -> String {
    match (id, name) {
        (Some(i), Some(n)) => format!("{n} {i}"),
        (Some(i), None) => i.clone(),
        _ => "—".into(),
    }
}

/// A task as `tasks list --format json` prints it: whether it is overdue
/// beside its fields.
#[derive(serde::Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    task: &'a Task,
    overdue: bool,
}

/// Open and past its due date at `today`.
fn is_overdue(t: &Task, today: NaiveDate) -> bool {
    t.overdue_days(today).is_some()
}

fn line(t: &Task, today: NaiveDate) -> String {
    let overdue = is_overdue(t, today);
    let due = format!(
        "{}{}",
        t.due.as_deref().unwrap_or("—"),
        if overdue { "!" } else { "" }
    );
    format!(
        "{} {} {} {} {} {} {} {}",
        pad(&t.id, 9),
        pad(&t.status, 9),
        pad(&due, 10),
        pad(&kind_label(&t.kind), 24),
        pad(&person(&t.target, &t.target_name), 18),
        pad(&person(&t.assignee, &t.assignee_name), 18),
        t.subject_type,
        t.subject_id
    )
}

fn show(t: &Task) {
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "—".into());
    println!("task {}  {}  ({})", t.id, kind_label(&t.kind), t.status);
    println!("  subject     {} {}", t.subject_type, t.subject_id);
    println!("  target      {}", person(&t.target, &t.target_name));
    println!("  assignee    {}", person(&t.assignee, &t.assignee_name));
    println!("  due         {}", opt(&t.due));
    println!("  created on  {}", opt(&t.created_on));
    if t.status == "done" {
        println!("  done on     {}", opt(&t.done_on));
        println!("  outcome     {}", opt(&t.outcome));
    }
    if t.status == "cancelled" {
        println!("  cancelled   {}", opt(&t.cancel_reason));
    }
    if t.closed_by.is_some() {
        println!(
            "  closed by   {} at {}",
            opt(&t.closed_by),
            opt(&t.closed_at)
        );
    }
    match &t.rule {
        Some(rule) if t.policy_hash.is_some() => {
            println!(
                "  rule        {rule} (episode {})",
                t.episode_id.map(|e| e.to_string()).unwrap_or_default()
            );
            println!("  policy      {}", opt(&t.policy_hash));
            println!("  evaluated   {}", opt(&t.created_at));
            if let Some(serde_json::Value::Object(facts)) = &t.facts {
                println!("  facts:");
                for (k, v) in facts {
                    println!("    {k} = {v}");
                }
            }
        }
        _ => println!("  source      imported ledger"),
    }
}
