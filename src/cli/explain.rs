//! `duban explain RULE SUBJECT [--as-of T]`: why a rule holds or not for
//! one subject, and what a run would do about it now.

use super::Format;
use super::evaluate::{as_of, load_policy};
use crate::clock::AsOf;
use crate::config::Config;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::interpret::explain::Node;
use crate::lang::ir::Rule;
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
    let engine = Engine::for_office(&policy, &cfg)?;
    let e = explain(&engine, &conn, &args.rule, &args.subject, &at)?;
    match args.format {
        Format::Json => println!("{}", e.json()),
        Format::Table => {
            let mut text = String::new();
            e.write_table(&mut text)
                .map_err(|_| Error::invalid("cannot format the explanation"))?;
            print!("{text}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Why one rule holds or not for one subject, and what a run would do now.
pub(crate) struct Explained<'p> {
    rule: &'p Rule,
    subject: String,
    at: AsOf,
    tree: Node,
    holds: bool,
    sql_holds: bool,
    episode: Option<episodes::OpenEpisode>,
    now_lines: Vec<String>,
    now_actions: Vec<crate::engine::plan::ActionJson<'static>>,
    now_skipped: Vec<crate::engine::plan::SkippedJson>,
}

/// Explains rule `rule` for `subject` as of `at` (`duban explain`; the
/// workbench's rules page).
pub(crate) fn explain<'p>(
    engine: &Engine<'p>,
    conn: &crate::store::Db,
    rule: &str,
    subject: &str,
    at: &AsOf,
) -> Result<Explained<'p>> {
    let policy = engine.policy;
    let i = engine
        .select(Some(rule))
        .map_err(|e| Error::usage(e.to_string()))?[0];
    let rule = &policy.rules[i];
    let Some((tree, sql_holds)) = engine.explain_tree(conn, i, at, subject)? else {
        return Err(Error::invalid(format!(
            "there is no {} `{subject}`",
            rule.entity
        )));
    };
    let holds = tree.value == serde_json::Value::Bool(true);
    // Times at the offset of `at`, however the database gives them back
    // (PostgreSQL's are in UTC).
    let local = |t: &mut String| {
        if let Ok(x) = chrono::DateTime::parse_from_rfc3339(t) {
            *t = x
                .with_timezone(at.at.offset())
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false);
        }
    };
    let episode = episodes::open(conn, &rule.name, subject)?.map(|mut e| {
        local(&mut e.started_at);
        local(&mut e.last_fired_at);
        e
    });
    let mut now_lines = Vec::new();
    let mut now_actions = Vec::new();
    let mut now_skipped = Vec::new();
    engine.evaluate_subject(conn, i, at, subject, &mut |p| {
        now_lines.push(super::report::describe_firing(policy, p));
        now_actions.extend(p.actions_json().map(|a| a.into_owned()));
        now_skipped.extend(p.skipped_json());
        Ok(())
    })?;
    Ok(Explained {
        rule,
        subject: subject.to_string(),
        at: *at,
        tree,
        holds,
        sql_holds,
        episode,
        now_lines,
        now_actions,
        now_skipped,
    })
}

impl Explained<'_> {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "rule": self.rule.name, "entity": self.rule.entity.name(), "subject": self.subject,
            "as_of": self.at.rfc3339(), "holds": self.holds, "sql_holds": self.sql_holds,
            "condition": self.tree, "episode": self.episode,
            "run_now": {"actions": self.now_actions, "skipped": self.now_skipped},
        })
    }

    /// The explanation as `duban explain` prints it.
    pub(crate) fn write_table(&self, out: &mut dyn std::fmt::Write) -> std::fmt::Result {
        let rule = self.rule;
        let title = rule
            .title
            .as_deref()
            .map(|t| format!(" «{t}»"))
            .unwrap_or_default();
        writeln!(
            out,
            "{}{title} for {} {}, as of {}\n",
            rule.name,
            rule.entity,
            self.subject,
            self.at.rfc3339()
        )?;
        writeln!(
            out,
            "the rule {}:",
            if self.holds { "HOLDS" } else { "does not hold" }
        )?;
        let mut lines = Vec::new();
        flatten(&self.tree, "", "", &mut lines);
        let width = lines
            .iter()
            .map(|(v, _)| unicode_width::UnicodeWidthStr::width(v.as_str()))
            .max()
            .unwrap_or(0)
            .min(28);
        for (value, text) in lines {
            writeln!(out, "  {}  {text}", crate::text::pad(&value, width))?;
        }
        if self.holds != self.sql_holds {
            writeln!(
                out,
                "\nwarning: the compiled SQL says the rule {}; the two disagree — please report this",
                if self.sql_holds {
                    "holds"
                } else {
                    "does not hold"
                }
            )?;
        }
        writeln!(out)?;
        match &self.episode {
            Some(e) => {
                let repeat = match rule.repeat {
                    Some(d) if d.working => format!("; repeats every {} working days", d.count),
                    Some(d) => format!("; repeats every {} days", d.count),
                    None => "; fires once per episode".into(),
                };
                let last = if e.last_fired_on == crate::store::episodes::AWAITING_DECISION {
                    "its firing awaits approval, or was rejected".to_string()
                } else {
                    format!("last on {}", e.last_fired_on)
                };
                writeln!(
                    out,
                    "episode: open since {}, fired {}, {last}{repeat}",
                    e.started_at,
                    super::counted(e.fired, "time"),
                )?;
            }
            None => writeln!(out, "episode: none open")?,
        }
        if let Some(a) = &rule.approval {
            let who = match &a.approver {
                crate::lang::ir::Approver::Path(p) => p.text.clone(),
                crate::lang::ir::Approver::Id(id) => format!("\"{id}\""),
            };
            let within = a
                .within
                .map(|d| format!(", to decide within {}", d.text()))
                .unwrap_or_default();
            writeln!(
                out,
                "approval: its actions wait for a decision by {who}{within}"
            )?;
        }
        if self.now_lines.is_empty() {
            writeln!(out, "a run now would do nothing for {}", self.subject)?;
        } else {
            let what = if self.episode.is_some() {
                "fire again"
            } else {
                "start an episode and"
            };
            writeln!(out, "a run now would {what}:")?;
            for l in &self.now_lines {
                writeln!(out, "{l}")?;
            }
            for s in &self.now_skipped {
                writeln!(out, "    skipped: {}", s.reason)?;
            }
        }
        Ok(())
    }
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
