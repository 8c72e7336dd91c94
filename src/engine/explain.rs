//! Why one rule holds or not for one subject, and what a run would do
//! about it now (`duban explain`, the workbench's rules page).

use crate::clock::AsOf;
use crate::engine::Engine;
use crate::engine::plan::{Plan, Planned};
use crate::error::{Error, Result};
use crate::interpret::explain::Node;
use crate::interpret::{Interpreter, Scope, SqliteData};
use crate::lang::ir::{Policy, Rule};
use crate::store::episodes;

/// Why one rule holds or not for one subject, and what a run would do now.
pub struct Explained<'p> {
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
pub fn explain<'p>(
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
    let Some(sql_holds) = engine.sql_holds(conn, i, at, subject)? else {
        return Err(Error::invalid(format!(
            "there is no {} `{subject}`",
            rule.entity
        )));
    };
    let data = SqliteData::new(conn);
    let interp = Interpreter {
        policy,
        data: &data,
        today: at.today,
        calendar: engine.calendar(),
    };
    let scopes = [Scope {
        entity: rule.entity,
        id: Some(subject.to_string()),
    }];
    let tree = interp.explain(&rule.when, &scopes)?;
    let holds = tree.value == serde_json::Value::Bool(true);
    let episode = episodes::open(conn, &rule.name, subject)?;
    let mut now_lines = Vec::new();
    let mut now_actions = Vec::new();
    let mut now_skipped = Vec::new();
    engine.evaluate_subject(conn, i, at, subject, &mut |p| {
        now_lines.push(describe_firing(policy, p));
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
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "rule": self.rule.name, "entity": self.rule.entity.name(), "subject": self.subject,
            "as_of": self.at.rfc3339(), "holds": self.holds, "sql_holds": self.sql_holds,
            "condition": self.tree, "episode": self.episode,
            "run_now": {"actions": self.now_actions, "skipped": self.now_skipped},
        })
    }

    /// The explanation as `duban explain` prints it.
    pub fn write_table(&self, out: &mut dyn std::fmt::Write) -> std::fmt::Result {
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
                    "episode: open since {}, fired {} time{}, {last}{repeat}",
                    e.started_at,
                    e.fired,
                    if e.fired == 1 { "" } else { "s" },
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

/// One firing on a line or two: the subject, then each action.
pub fn describe_firing(policy: &Policy, p: &Plan<'_>) -> String {
    let mut parts = Vec::new();
    for a in &p.actions {
        match a {
            Planned::Task {
                kind,
                target,
                assignee,
                due,
                ..
            } => {
                let label = policy.task_kind_label(kind).unwrap_or_default();
                let by = assignee
                    .as_ref()
                    .map(|a| format!(" · by {} {}", a.name, a.id))
                    .unwrap_or_else(|| " · no assignee".into());
                parts.push(format!(
                    "task {kind} {label} → {} {}{by} · due {due}",
                    target.name, target.id
                ));
            }
            Planned::Notify { template, to } => {
                let names: Vec<String> = to
                    .iter()
                    .map(|r| r.name.unwrap_or(r.email).to_string())
                    .collect();
                parts.push(format!("notify {}{}", names.join(", "), using(*template)));
            }
            Planned::Post {
                channel,
                template,
                mentioning,
            } => {
                let using = using(*template);
                let at: String = mentioning.iter().map(|m| format!(" @{}", m.name)).collect();
                parts.push(format!("post to channel {channel}{at}{using}"));
            }
        }
    }
    if parts.is_empty() {
        parts.push("(every action skipped)".into());
    } else if let Some(a) = &p.approver {
        let who = if a.name == a.id {
            a.id.to_string()
        } else {
            format!("{} {}", a.name, a.id)
        };
        parts.push(format!(
            "awaits approval by {who} (the task is due counted from the approval day)"
        ));
    }
    let head = format!("    {:<12} ", p.subject);
    let pad = " ".repeat(unicode_width::UnicodeWidthStr::width(head.as_str()));
    let mut s = String::new();
    for (i, part) in parts.iter().enumerate() {
        s.push_str(if i == 0 { &head } else { &pad });
        s.push_str(part);
        if i + 1 < parts.len() {
            s.push('\n');
        }
    }
    s
}

fn using(template: Option<&str>) -> String {
    template.map(|t| format!(" ({t})")).unwrap_or_default()
}
