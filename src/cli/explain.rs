//! `duban explain RULE SUBJECT [--as-of T]`: why a rule holds or not for
//! one subject, and what a run would do about it now.

use super::Format;
use super::evaluate::{as_of, load_policy, mail_domain};
use crate::config::Config;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::interpret::explain::Node;
use crate::interpret::{Interpreter, Scope, SqliteData};
use crate::store::episodes;
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
    let engine = Engine::new(&policy, mail_domain(&cfg)).with_calendar(cfg.load_calendar()?);
    let i = engine
        .select(Some(&args.rule))
        .map_err(|e| Error::usage(e.to_string()))?[0];
    let rule = &policy.rules[i];
    let Some(sql_holds) = engine.sql_holds(&conn, i, &at, &args.subject)? else {
        return Err(Error::invalid(format!(
            "there is no {} `{}`",
            rule.entity, args.subject
        )));
    };
    let data = SqliteData::new(&conn);
    let interp = Interpreter {
        policy: &policy,
        data: &data,
        today: at.today,
        calendar: engine.calendar(),
    };
    let scopes = [Scope {
        entity: rule.entity,
        id: Some(args.subject.clone()),
    }];
    let tree = interp.explain(&rule.when, &scopes)?;
    let holds = tree.value == serde_json::Value::Bool(true);
    let episode = episodes::open(&conn, &rule.name, &args.subject)?;
    let mut now_lines = Vec::new();
    let mut now_actions = Vec::new();
    let mut now_skipped = Vec::new();
    engine.evaluate_subject(&conn, i, &at, &args.subject, &mut |p| {
        now_lines.push(super::report::describe_firing(&policy, p));
        now_actions.extend(p.actions_json().map(|a| a.into_owned()));
        now_skipped.extend(p.skipped_json());
        Ok(())
    })?;
    match args.format {
        Format::Json => {
            let v = serde_json::json!({
                "rule": rule.name, "entity": rule.entity.name(), "subject": args.subject,
                "as_of": at.rfc3339(), "holds": holds, "sql_holds": sql_holds,
                "condition": tree, "episode": episode,
                "run_now": {"actions": now_actions, "skipped": now_skipped},
            });
            println!("{v}");
        }
        Format::Table => {
            let title = rule
                .title
                .as_deref()
                .map(|t| format!(" «{t}»"))
                .unwrap_or_default();
            println!(
                "{}{title} for {} {}, as of {}\n",
                rule.name,
                rule.entity,
                args.subject,
                at.rfc3339()
            );
            println!(
                "the rule {}:",
                if holds { "HOLDS" } else { "does not hold" }
            );
            let mut lines = Vec::new();
            flatten(&tree, "", "", &mut lines);
            let width = lines
                .iter()
                .map(|(v, _)| unicode_width::UnicodeWidthStr::width(v.as_str()))
                .max()
                .unwrap_or(0)
                .min(28);
            for (value, text) in lines {
                println!("  {}  {text}", crate::text::pad(&value, width));
            }
            if holds != sql_holds {
                println!(
                    "\nwarning: the compiled SQL says the rule {}; the two disagree — please report this",
                    if sql_holds { "holds" } else { "does not hold" }
                );
            }
            println!();
            match &episode {
                Some(e) => {
                    let repeat = match rule.repeat {
                        Some(d) if d.working => format!("; repeats every {} working days", d.count),
                        Some(d) => format!("; repeats every {} days", d.count),
                        None => "; fires once per episode".into(),
                    };
                    println!(
                        "episode: open since {}, fired {} time{}, last on {}{repeat}",
                        e.started_at,
                        e.fired,
                        if e.fired == 1 { "" } else { "s" },
                        e.last_fired_on
                    );
                }
                None => println!("episode: none open"),
            }
            if now_lines.is_empty() {
                println!("a run now would do nothing for {}", args.subject);
            } else {
                let what = if episode.is_some() {
                    "fire again"
                } else {
                    "start an episode and"
                };
                println!("a run now would {what}:");
                for l in now_lines {
                    println!("{l}");
                }
                for s in now_skipped {
                    println!("    skipped: {}", s.reason);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The tree as (value, text) lines with branches drawn.
fn flatten(n: &Node, prefix: &str, child_prefix: &str, out: &mut Vec<(String, String)>) {
    out.push((n.shown.clone(), format!("{prefix}{}", n.text)));
    if let Some(m) = &n.members {
        let listed: Vec<String> = m
            .shown
            .iter()
            .map(|x| {
                let mark = if x.passes { "✓" } else { "✗" };
                if x.value.is_null() {
                    format!("{} {mark}", x.id)
                } else {
                    format!("{} {mark} {}", x.id, x.value)
                }
            })
            .collect();
        let more = if m.total > m.shown.len() {
            format!(" … and {} more", m.total - m.shown.len())
        } else {
            String::new()
        };
        let summary = if m.total == 0 {
            "no members".to_string()
        } else {
            format!(
                "{} of {} pass: {}{more}",
                m.passing,
                m.total,
                listed.join(", ")
            )
        };
        out.push((String::new(), format!("{child_prefix}   {summary}")));
    }
    let last = n.children.len().saturating_sub(1);
    for (k, c) in n.children.iter().enumerate() {
        let (branch, cont) = if k == last {
            ("└─ ", "   ")
        } else {
            ("├─ ", "│  ")
        };
        flatten(
            c,
            &format!("{child_prefix}{branch}"),
            &format!("{child_prefix}{cont}"),
            out,
        );
    }
}
