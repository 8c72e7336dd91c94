//! `duban approvals list|show|approve|reject` (SPEC §9): the requests of
//! rules with `approval by`, and deciding them.

use super::Format;
use crate::clock::{AsOf, Clock};
use crate::config::Config;
use crate::engine::approval::{self, Decider, Verdict};
use crate::error::Result;
use crate::store::approvals::{self, Approval};
use crate::store::tasks;
use crate::text::pad;
use std::path::PathBuf;
use std::process::ExitCode;

/// Approval requests (审批): the actions of rules with `approval by` wait
/// here until the approver decides.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  duban approvals list --pending
  duban approvals show A000003
  duban approvals approve A000003 --note \"同意，按程序办理\"
  duban approvals reject A000003 --reason \"已于上周整改到位，不再问责\"

Approving opens the request's tasks (due dates counted from today) and sends
its held notices; rejecting cancels the tasks with the reason and drops the
notices. A request is decided once; a person who is the target of one of its
tasks cannot decide it.")]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// List requests, newest first.
    List {
        /// Only those awaiting a decision.
        #[arg(long)]
        pending: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// One request: the subject's facts, the tasks and the notices that
    /// wait for it, and the decision.
    Show {
        id: String,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Approve: the tasks open and the held notices go out.
    Approve {
        id: String,
        /// A note recorded with the decision.
        #[arg(long)]
        note: Option<String>,
        /// Who decided (person id; default: the request's approver).
        #[arg(long = "as", value_name = "PERSON_ID")]
        as_: Option<String>,
    },
    /// Reject, with the reason: the tasks are cancelled, the notices dropped.
    Reject {
        id: String,
        /// Why (required; recorded, and the tasks are cancelled with it).
        #[arg(long)]
        reason: String,
        /// Who decided (person id; default: the request's approver).
        #[arg(long = "as", value_name = "PERSON_ID")]
        as_: Option<String>,
    },
}

pub fn run(config: &Option<PathBuf>, args: Args) -> Result<ExitCode> {
    let cfg = Config::load(config.as_deref())?;
    let mut conn = crate::store::open(&cfg.database)?;
    let clock = super::clock();
    let at = AsOf::new(clock.now(), super::evaluate::office_timezone(&cfg));
    match args.command {
        Command::List { pending, format } => {
            let list = approvals::list(&conn, pending, None)?;
            match format {
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&list).unwrap_or_default()
                ),
                Format::Table => {
                    println!(
                        "{} {} {} {} {} subject",
                        pad("id", 8),
                        pad("status", 9),
                        pad("asked on", 11),
                        pad("decide by", 11),
                        pad("approver", 18)
                    );
                    for a in &list {
                        println!("{}", line(a, &at));
                    }
                    println!("{}", super::counted(list.len(), "request"));
                }
            }
        }
        Command::Show { id, format } => {
            let a = approvals::get(&conn, &id)?;
            let tasks = tasks::of_approval(&conn, &id)?;
            let held = approvals::held(&conn, &id)?;
            match format {
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "approval": a, "tasks": tasks, "held_notices": held
                    }))
                    .unwrap_or_default()
                ),
                Format::Table => show(&a, &tasks, &held, &at),
            }
        }
        Command::Approve { id, note, as_ } => {
            let d = decide(&cfg, &mut conn, &id, Verdict::Approve { note }, as_, &at)?;
            println!(
                "{id} approved: {} opened, {} queued",
                super::counted(d.tasks, "task"),
                super::counted(d.notices, "notice")
            );
            let stats =
                crate::deliver::outbox::deliver_configured(&cfg, &conn, &clock as &dyn Clock)?;
            if let Some(e) = stats.last_error {
                eprintln!("delivery: {e}; the notices stay in the outbox and are retried");
            }
        }
        Command::Reject { id, reason, as_ } => {
            let d = decide(&cfg, &mut conn, &id, Verdict::Reject { reason }, as_, &at)?;
            println!(
                "{id} rejected: {} cancelled, its notices dropped",
                super::counted(d.tasks, "task")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Decides `id` from the command line, as `as_` or else the approver.
fn decide(
    cfg: &Config,
    conn: &mut crate::store::Db,
    id: &str,
    verdict: Verdict,
    as_: Option<String>,
    at: &AsOf,
) -> Result<approval::Decided> {
    let person = match as_ {
        Some(p) => p,
        None => approvals::get(conn, id)?.approver,
    };
    let who = Decider {
        person: &person,
        via: "command line",
    };
    approval::decide_configured(cfg, conn, id, &verdict, &who, at)
}

fn approver(a: &Approval) -> String {
    match &a.approver_name {
        Some(n) => format!("{n} {}", a.approver),
        None => a.approver.clone(),
    }
}

fn line(a: &Approval, at: &AsOf) -> String {
    let status = if a.is_overdue(at.today) {
        "overdue".to_string()
    } else {
        a.status.clone()
    };
    format!(
        "{} {} {} {} {} {} {} · {}",
        pad(&a.id, 8),
        pad(&status, 9),
        pad(&a.created_on, 11),
        pad(a.decide_by.as_deref().unwrap_or("—"), 11),
        pad(&approver(a), 18),
        a.subject_type,
        a.subject_id,
        a.title
    )
}

fn show(a: &Approval, tasks: &[tasks::Task], held: &[approvals::Held], at: &AsOf) {
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "—".into());
    let overdue = if a.is_overdue(at.today) {
        " — overdue"
    } else {
        ""
    };
    println!("approval {}  ({}{overdue})", a.id, a.status);
    println!("  rule        {} — {}", a.rule, a.title);
    println!("  subject     {} {}", a.subject_type, a.subject_id);
    println!("  approver    {}", approver(a));
    println!("  asked       {} (episode {})", a.created_at, a.episode_id);
    println!("  decide by   {}", opt(&a.decide_by));
    if a.reminded_at.is_some() {
        println!("  reminded    {}", opt(&a.reminded_at));
    }
    if !a.is_pending() {
        println!(
            "  decided     {} by {} ({}) at {}",
            a.status,
            opt(&a.decided_by),
            opt(&a.via),
            opt(&a.decided_at)
        );
        if let Some(n) = &a.note {
            println!(
                "  {}  {n}",
                if a.status == approvals::REJECTED {
                    "reason    "
                } else {
                    "note      "
                }
            );
        }
    }
    println!("  facts:");
    for (label, value) in &a.facts {
        println!("    {label}：{value}");
    }
    println!("  tasks:");
    for t in tasks {
        let due = match t.status.as_str() {
            "pending" => "due counted from the approval day".to_string(),
            _ => format!("due {}", opt(&t.due)),
        };
        println!(
            "    {} {} → {} ({}, {due})",
            t.id,
            t.kind,
            t.target_name
                .clone()
                .or(t.target.clone())
                .unwrap_or_default(),
            t.status
        );
    }
    if !held.is_empty() {
        println!("  notices held until the decision:");
        for h in held {
            let subject =
                crate::deliver::notice::held_notice(&h.subject, &h.body, h.task_id.is_some(), None)
                    .subject;
            println!(
                "    {} → {}",
                subject,
                recipients(&h.recipients, h.channel.as_deref())
            );
        }
    }
}

/// Who a held notice goes to, in words.
fn recipients(json: &str, channel: Option<&str>) -> String {
    let people: Vec<String> = serde_json::from_str::<Vec<serde_json::Value>>(json)
        .unwrap_or_default()
        .iter()
        .map(|p| {
            p["name"]
                .as_str()
                .or(p["email"].as_str())
                .unwrap_or("?")
                .to_string()
        })
        .collect();
    match channel {
        Some(c) => format!("channel {c} {}", people.join(", ")),
        None => people.join(", "),
    }
}
