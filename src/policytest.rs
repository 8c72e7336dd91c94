//! Policy tests (SPEC §6): a `*.test.toml` file holds fixture records by
//! entity, an `as_of`, episodes already running, and what the policy must
//! and must not do. Each file is loaded into an in-memory case database
//! through the same import code as `duban import`, evaluated with the same
//! engine as `duban dry-run`, and its expectations checked.
//!
//! ```toml
//! as_of = "2026-06-01"
//! [[problem]]
//! id = "p1"
//! inspection = "i1"
//! deadline = "2026-04-01"
//! [[episode]]                    # a firing already made
//! rule = "overdue_reminder"
//! subject = "p1"
//! started = "2026-05-01"
//! [[expect]]
//! rule = "escalate"
//! subject = "p1"
//! task = "admonishment_talk"     # and optionally target, assignee, due
//! [[expect_not]]
//! rule = "overdue_reminder"
//! ```

use crate::calendar::Calendar;
use crate::clock::AsOf;
use crate::engine::Engine;
use crate::engine::plan::{ActionBody, ActionJson};
use crate::error::{Error, Result};
use crate::lang::diagnostics::line_col;
use crate::lang::ir::Policy;
use crate::schema::Entity;
use crate::store::sources::{Cell, Row, TableInput, counting_rows};
use serde::Deserialize;
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    /// What the test is about (shown with its result).
    name: Option<String>,
    as_of: Spanned<toml::Value>,
    #[serde(default)]
    person: Vec<Spanned<toml::Table>>,
    #[serde(default)]
    organization: Vec<Spanned<toml::Table>>,
    #[serde(default)]
    round: Vec<Spanned<toml::Table>>,
    #[serde(default)]
    inspection: Vec<Spanned<toml::Table>>,
    #[serde(default)]
    problem: Vec<Spanned<toml::Table>>,
    #[serde(default)]
    task: Vec<Spanned<toml::Table>>,
    #[serde(default)]
    episode: Vec<Spanned<EpisodeFixture>>,
    /// Decisions on the firings of running episodes (rules with
    /// `approval by`).
    #[serde(default)]
    approve: Vec<Spanned<DecisionFixture>>,
    #[serde(default)]
    reject: Vec<Spanned<DecisionFixture>>,
    #[serde(default)]
    expect: Vec<Spanned<Expect>>,
    #[serde(default)]
    expect_not: Vec<Spanned<ExpectNot>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EpisodeFixture {
    rule: String,
    subject: String,
    /// The day the episode started.
    started: toml::Value,
    /// The day it last fired (default: `started`).
    last_fired: Option<toml::Value>,
    /// How many times it fired (default 1).
    fired: Option<i64>,
}

/// `[[approve]]` / `[[reject]]`: the last firing of a running episode
/// (given by `[[episode]]`) was approved on a day — `repeat every` counts
/// from it — or rejected, so the episode fires no more.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionFixture {
    rule: String,
    subject: String,
    /// The day of the approval (approve only; default: the firing's day).
    on: Option<toml::Value>,
    /// Why it was rejected (reject only; for the reader).
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    rule: String,
    subject: Option<String>,
    /// A task of this kind (code or label).
    task: Option<String>,
    target: Option<String>,
    assignee: Option<String>,
    due: Option<toml::Value>,
    /// A notice (with this template, to at least these recipients).
    notify: Option<bool>,
    template: Option<String>,
    /// Recipients; for a channel message, the persons it mentions.
    to: Option<Vec<String>>,
    /// A message to this chat channel.
    channel: Option<String>,
    /// The action awaits approval by this person.
    approval: Option<String>,
}

impl Expect {
    fn wants_notice(&self) -> bool {
        self.notify == Some(true)
            || self.template.is_some()
            || self.to.is_some()
            || self.channel.is_some()
    }

    /// Whether a notice or channel message is the one expected.
    fn notice_matches(
        &self,
        template: Option<&str>,
        to: &[Cow<'_, str>],
        channel: Option<&str>,
    ) -> bool {
        self.channel.as_deref() == channel
            && self
                .template
                .as_deref()
                .is_none_or(|want| template == Some(want))
            && self
                .to
                .as_ref()
                .is_none_or(|want| want.iter().all(|w| to.iter().any(|x| x == w)))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectNot {
    rule: String,
    subject: Option<String>,
    task: Option<String>,
    notify: Option<bool>,
}

/// The outcome of one test file.
#[derive(Debug)]
pub struct Outcome {
    pub file: String,
    pub name: Option<String>,
    pub expectations: usize,
    /// Empty when the test passed.
    pub failures: Vec<String>,
    /// What the test's records made each rule and comparison (with
    /// [`run_covered`]).
    pub coverage: Option<Coverage>,
}

/// Per rule: whether it held for some subject, whether it failed to for
/// some; per comparison of its condition (in [`comparisons`] order):
/// whether it was true for some subject, false for some.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Coverage {
    pub rules: Vec<(bool, bool)>,
    pub comparisons: Vec<Vec<(bool, bool)>>,
}

impl Coverage {
    fn new(policy: &Policy) -> Coverage {
        Coverage {
            rules: vec![(false, false); policy.rules.len()],
            comparisons: policy
                .rules
                .iter()
                .map(|r| vec![(false, false); comparisons(&r.when).len()])
                .collect(),
        }
    }

    /// Adds what another test saw.
    pub fn add(&mut self, o: &Coverage) {
        for (a, b) in self.rules.iter_mut().zip(&o.rules) {
            a.0 |= b.0;
            a.1 |= b.1;
        }
        for (xs, ys) in self.comparisons.iter_mut().zip(&o.comparisons) {
            for (a, b) in xs.iter_mut().zip(ys) {
                a.0 |= b.0;
                a.1 |= b.1;
            }
        }
    }
}

/// The comparisons of a condition, outside collection functions, in text
/// order: each `=`, `<` …, `in`, `present`, `missing`.
pub fn comparisons(e: &crate::lang::ir::Expr) -> Vec<&crate::lang::ir::Expr> {
    use crate::lang::ir::ExprKind as K;
    let mut out = Vec::new();
    fn walk<'e>(e: &'e crate::lang::ir::Expr, out: &mut Vec<&'e crate::lang::ir::Expr>) {
        match &e.kind {
            K::Compare(..) | K::In(..) | K::Present(_) | K::Missing(_) => out.push(e),
            K::Not(x) => walk(x, out),
            K::And(a, b) | K::Or(a, b) => {
                walk(a, out);
                walk(b, out);
            }
            _ => {}
        }
    }
    walk(e, &mut out);
    out
}

/// Runs one test file and records what its records made each rule and
/// comparison.
pub fn run_covered(policy: &Policy, calendar: &Calendar, file: &Path, shown_as: &str) -> Outcome {
    let mut outcome = Outcome {
        file: shown_as.to_string(),
        name: None,
        expectations: 0,
        failures: Vec::new(),
        coverage: Some(Coverage::new(policy)),
    };
    if let Err(e) = run_into(policy, calendar, file, shown_as, &mut outcome) {
        outcome.failures.push(e.to_string());
    }
    outcome
}

/// Every rule on every subject of the fixture, by the interpreter.
fn cover(
    policy: &Policy,
    calendar: &Calendar,
    conn: &crate::store::Db,
    today: chrono::NaiveDate,
    c: &mut Coverage,
) -> Result<()> {
    let data = crate::interpret::SqliteData::new(conn);
    let i = crate::interpret::Interpreter {
        policy,
        data: &data,
        today,
        calendar,
    };
    for (n, rule) in policy.rules.iter().enumerate() {
        let parts = comparisons(&rule.when);
        for id in crate::store::cases::ids(conn, rule.entity)? {
            let holds = i.holds(rule, &id)?;
            let slot = &mut c.rules[n];
            if holds {
                slot.0 = true
            } else {
                slot.1 = true
            }
            let scope = [crate::interpret::Scope {
                entity: rule.entity,
                id: Some(id.clone()),
            }];
            for (k, e) in parts.iter().enumerate() {
                let v = i.eval(e, &scope)?;
                let slot = &mut c.comparisons[n][k];
                if matches!(v, crate::value::Value::Bool(true)) {
                    slot.0 = true;
                } else {
                    slot.1 = true;
                }
            }
        }
    }
    Ok(())
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Every `*.test.toml` under `path` (or `path` itself), in name order.
pub fn find(path: &Path) -> Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut found = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| Error::invalid(format!("{}: {e}", dir.display())))?;
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".test.toml"))
            {
                found.push(p);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Runs one test file against a policy.
pub fn run(policy: &Policy, calendar: &Calendar, file: &Path, shown_as: &str) -> Outcome {
    let mut outcome = Outcome {
        file: shown_as.to_string(),
        name: None,
        expectations: 0,
        failures: Vec::new(),
        coverage: None,
    };
    if let Err(e) = run_into(policy, calendar, file, shown_as, &mut outcome) {
        outcome.failures.push(e.to_string());
    }
    outcome
}

fn run_into(
    policy: &Policy,
    calendar: &Calendar,
    file: &Path,
    shown: &str,
    out: &mut Outcome,
) -> Result<()> {
    let text =
        std::fs::read_to_string(file).map_err(|e| Error::invalid(format!("{shown}: {e}")))?;
    let at_line = |span: std::ops::Range<usize>| line_col(&text, span.start).0;
    let t: TestFile = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| format!(":{}", line_col(&text, s.start).0))
            .unwrap_or_default();
        Error::invalid(format!("{shown}{line}: {}", e.message()))
    })?;
    out.name = t.name.clone();
    out.expectations = t.expect.len() + t.expect_not.len();
    let tz: chrono_tz::Tz = policy
        .timezone
        .as_deref()
        .and_then(|z| z.parse().ok())
        .unwrap_or(
            crate::config::DEFAULT_TIMEZONE
                .parse()
                .unwrap_or(chrono_tz::Tz::UTC),
        );
    let as_of_line = at_line(t.as_of.span());
    let as_of = AsOf::parse(&toml_text(t.as_of.get_ref()), tz)
        .map_err(|e| Error::invalid(format!("{shown}:{as_of_line}: as_of: {e}")))?;

    // The fixtures, through the importer.
    let mut conn = crate::store::in_memory()?;
    let tables: Vec<TableInput<'static>> = [
        (Entity::Person, &t.person),
        (Entity::Organization, &t.organization),
        (Entity::Round, &t.round),
        (Entity::Inspection, &t.inspection),
        (Entity::Problem, &t.problem),
        (Entity::Task, &t.task),
    ]
    .into_iter()
    .filter(|(_, records)| !records.is_empty())
    .map(|(entity, records)| fixture_table(entity, records, shown, &text))
    .collect::<Result<_>>()?;
    let stamp = crate::store::import::Stamp {
        today: as_of.today,
        at: crate::clock::utc_text(as_of.utc()),
    };
    let imported =
        crate::store::import::import(&mut conn, tables, &stamp, &crate::store::import::Quiet)?;
    if !imported.ok() {
        out.failures
            .extend(imported.errors.iter().map(|e| format!("fixture: {e}")));
        return Ok(());
    }
    if let Some(c) = out.coverage.as_mut() {
        cover(policy, calendar, &conn, as_of.today, c)?;
    }

    // Episodes already running.
    for e in &t.episode {
        let line = at_line(e.span());
        let e = e.get_ref();
        let Some(rule) = policy.rule(&e.rule) else {
            out.failures.push(format!(
                "{shown}:{line}: episode: the policy has no rule `{}`",
                e.rule
            ));
            continue;
        };
        let started = fixture_day(&e.started, tz)
            .map_err(|m| Error::invalid(format!("{shown}:{line}: episode: started: {m}")))?;
        let last = match &e.last_fired {
            Some(v) => fixture_day(v, tz)
                .map_err(|m| Error::invalid(format!("{shown}:{line}: episode: last_fired: {m}")))?,
            None => started,
        };
        let decided = |d: &&Spanned<DecisionFixture>| {
            d.get_ref().rule == e.rule && d.get_ref().subject == e.subject
        };
        // `repeat every` counts from the approval day; a rejected firing
        // never repeats.
        let counted_from = if t.reject.iter().any(|d| decided(&d)) {
            crate::store::episodes::AWAITING_DECISION.to_string()
        } else if let Some(d) = t.approve.iter().find(decided) {
            match &d.get_ref().on {
                Some(v) => fixture_day(v, tz)
                    .map_err(|m| {
                        Error::invalid(format!("{shown}:{}: approve: on: {m}", at_line(d.span())))
                    })?
                    .today
                    .to_string(),
                None => last.today.to_string(),
            }
        } else {
            last.today.to_string()
        };
        crate::store::episodes::insert_running(
            &conn,
            &crate::store::episodes::Running {
                rule: &rule.name,
                entity: rule.entity.name(),
                subject: &e.subject,
                started_at: &started.rfc3339(),
                last_fired_at: &last.rfc3339(),
                last_fired_on: &counted_from,
                fired: e.fired.unwrap_or(1),
            },
        )?;
    }

    // A decision names an episode the file gives.
    for (what, list) in [("approve", &t.approve), ("reject", &t.reject)] {
        for d in list {
            let (line, d) = (at_line(d.span()), d.get_ref());
            if !t
                .episode
                .iter()
                .any(|e| e.get_ref().rule == d.rule && e.get_ref().subject == d.subject)
            {
                out.failures.push(format!(
                    "{shown}:{line}: {what}: no [[episode]] of rule `{}` for `{}`: a decision is on a firing the file gives",
                    d.rule, d.subject
                ));
            }
            if what == "approve" && d.reason.is_some() {
                out.failures.push(format!(
                    "{shown}:{line}: approve: `reason` belongs to [[reject]]"
                ));
            }
        }
    }

    // What the policy does.
    let engine = Engine::new(policy, "test.invalid").with_calendar(calendar.clone());
    let rules: Vec<usize> = (0..policy.rules.len()).collect();
    let mut actions: Vec<ActionJson<'static>> = Vec::new();
    // In subject order: a failure lists the first actions a rule took.
    let reading = crate::engine::Reading {
        ordered: true,
        ..Default::default()
    };
    engine.dry_run(&mut conn, &rules, &as_of, reading, &mut |p| {
        actions.extend(p.actions_json().map(|a| a.into_owned()));
        Ok(())
    })?;

    for e in &t.expect {
        let line = at_line(e.span());
        let e = e.get_ref();
        if let Some(f) = unknown_rule(policy, &e.rule, shown, line) {
            out.failures.push(f);
            continue;
        }
        let kind = e.task.as_deref().map(|k| kind_code(policy, k));
        let due = e.due.as_ref().map(toml_text);
        let wants_notice = e.wants_notice();
        let found = actions.iter().any(|a| {
            *a.rule == e.rule
                && e.subject.as_deref().is_none_or(|s| *a.subject == *s)
                && e.approval
                    .as_deref()
                    .is_none_or(|want| a.approval.as_deref() == Some(want))
                && match &a.body {
                    ActionBody::Task {
                        kind: k,
                        target,
                        assignee,
                        due: d,
                    } => {
                        !wants_notice
                            && kind.as_deref().is_none_or(|want| *k == *want)
                            && e.target.as_deref().is_none_or(|want| **target == *want)
                            && e.assignee
                                .as_deref()
                                .is_none_or(|want| assignee.as_deref() == Some(want))
                            && due.as_deref().is_none_or(|want| d == want)
                    }
                    ActionBody::Notify { template, to } => {
                        kind.is_none() && e.notice_matches(template.as_deref(), to, None)
                    }
                    ActionBody::Channel {
                        channel,
                        template,
                        mentioning,
                    } => {
                        kind.is_none()
                            && e.notice_matches(template.as_deref(), mentioning, Some(channel))
                    }
                }
        });
        if !found {
            let what = describe_expect(e, kind.as_deref(), due.as_deref());
            out.failures.push(format!(
                "{shown}:{line}: expected {what}\n{}",
                actual(&actions, &e.rule)
            ));
        }
    }
    for e in &t.expect_not {
        let line = at_line(e.span());
        let e = e.get_ref();
        if let Some(f) = unknown_rule(policy, &e.rule, shown, line) {
            out.failures.push(f);
            continue;
        }
        let kind = e.task.as_deref().map(|k| kind_code(policy, k));
        let matching: Vec<&ActionJson<'static>> = actions
            .iter()
            .filter(|a| {
                *a.rule == e.rule
                    && e.subject.as_deref().is_none_or(|s| *a.subject == *s)
                    && match &a.body {
                        ActionBody::Task { kind: k, .. } => {
                            e.notify != Some(true) && kind.as_deref().is_none_or(|want| *k == *want)
                        }
                        ActionBody::Notify { .. } | ActionBody::Channel { .. } => kind.is_none(),
                    }
            })
            .collect();
        if !matching.is_empty() {
            let subject = e
                .subject
                .as_deref()
                .map(|s| format!(" for {s}"))
                .unwrap_or_default();
            out.failures.push(format!(
                "{shown}:{line}: expected rule `{}` not to act{subject}, but it did:\n{}",
                e.rule,
                matching
                    .iter()
                    .map(|a| format!("      {}", describe_action(a)))
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
    }
    Ok(())
}

/// A fixture table as import input: the keys of its records are the
/// columns, each record a row at its line in the test file.
fn fixture_table(
    entity: Entity,
    records: &[Spanned<toml::Table>],
    shown: &str,
    text: &str,
) -> Result<TableInput<'static>> {
    let mut header: Vec<String> = Vec::new();
    for r in records {
        for k in r.get_ref().keys() {
            if !header.contains(k) {
                header.push(k.clone());
            }
        }
    }
    let mut rows = Vec::new();
    for r in records {
        let line = line_col(text, r.span().start).0;
        let cells = header
            .iter()
            .map(|k| match r.get_ref().get(k) {
                None => Ok(Cell::Empty),
                Some(v) => cell(v).ok_or_else(|| {
                    Error::invalid(format!(
                        "{shown}:{line}: {k}: a fixture value is a string, number, date or boolean"
                    ))
                }),
            })
            .collect::<Result<Vec<Cell>>>()?;
        rows.push(Row { line, cells });
    }
    let progress = Arc::new(AtomicU64::new(0));
    Ok(TableInput {
        entity,
        origin: shown.to_string(),
        header,
        total_bytes: rows.len() as u64,
        rows: Box::new(counting_rows(rows, progress.clone())),
        progress,
    })
}

fn cell(v: &toml::Value) -> Option<Cell> {
    Some(match v {
        toml::Value::String(s) if s.trim().is_empty() => Cell::Empty,
        toml::Value::String(s) => Cell::Text(s.clone()),
        toml::Value::Integer(i) => Cell::Number(*i as f64),
        toml::Value::Float(f) => Cell::Number(*f),
        toml::Value::Boolean(b) => Cell::Bool(*b),
        toml::Value::Datetime(d) => match &d.date {
            Some(date) => chrono::NaiveDate::from_ymd_opt(
                i32::from(date.year),
                u32::from(date.month),
                u32::from(date.day),
            )
            .map(Cell::Date)
            .unwrap_or_else(|| Cell::Text(d.to_string())),
            None => Cell::Text(d.to_string()),
        },
        _ => return None,
    })
}

fn toml_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn fixture_day(
    v: &toml::Value,
    tz: chrono_tz::Tz,
) -> std::result::Result<AsOf, crate::clock::NotATime> {
    AsOf::parse(&toml_text(v), tz)
}

/// A failure for an expectation that names no rule of the policy.
fn unknown_rule(policy: &Policy, rule: &str, shown: &str, line: usize) -> Option<String> {
    policy.rule(rule).is_none().then(|| {
        let names = policy.rules.iter().map(|r| r.name.as_str());
        let hint = crate::lang::diagnostics::did_you_mean(rule, names)
            .map(|h| format!("; {h}"))
            .unwrap_or_default();
        format!("{shown}:{line}: the policy has no rule `{rule}`{hint}")
    })
}

fn kind_code(policy: &Policy, k: &str) -> String {
    crate::schema::standard_task_kind(k)
        .map(|(c, _)| c.to_string())
        .or_else(|| {
            policy
                .task_kinds
                .iter()
                .find(|t| t.code == k || t.label == k)
                .map(|t| t.code.clone())
        })
        .unwrap_or_else(|| k.to_string())
}

fn describe_expect(e: &Expect, kind: Option<&str>, due: Option<&str>) -> String {
    let subject = e
        .subject
        .as_deref()
        .map(|s| format!(" {s}"))
        .unwrap_or_default();
    let mut what = match (kind, e.wants_notice()) {
        (Some(k), _) => {
            let article = if k.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            format!("{article} {k} task")
        }
        (None, true) => match &e.channel {
            Some(c) => format!("a message to channel {c}"),
            None => "a notice".to_string(),
        },
        (None, false) => "an action".to_string(),
    };
    for (label, v) in [
        ("target", e.target.as_deref()),
        ("assignee", e.assignee.as_deref()),
        ("due", due),
        ("template", e.template.as_deref()),
        ("awaiting approval by", e.approval.as_deref()),
    ] {
        if let Some(v) = v {
            what.push_str(&format!(" {label} {v}"));
        }
    }
    if let Some(to) = &e.to {
        what.push_str(&format!(" to {}", to.join(", ")));
    }
    format!("rule `{}` to give{subject} {what}", e.rule)
}

fn describe_action(a: &ActionJson<'_>) -> String {
    format!("{}: {}", a.subject, a.describe())
}

/// What a rule actually did, for a failure message.
fn actual(actions: &[ActionJson<'_>], rule: &str) -> String {
    let mine: Vec<String> = actions
        .iter()
        .filter(|a| a.rule == rule)
        .take(10)
        .map(|a| format!("      {}", describe_action(a)))
        .collect();
    if mine.is_empty() {
        format!("    but rule `{rule}` did nothing")
    } else {
        format!("    rule `{rule}` did:\n{}", mine.join("\n"))
    }
}
