//! AST → typed IR, against the one schema. Resolves names (a rule's
//! subject fields; inside `where`, the element's first), checks types,
//! turns enum labels and task-kind labels into codes, validates cron,
//! time zones and templates, and reports every error once: an expression
//! that already failed has type `Error`, which is compatible with
//! everything, so no mistake cascades.

use super::ast::{self, Span};
use super::diagnostics::{Code, Diagnostic, SourceMap, did_you_mean};
use super::ir::*;
use super::parse::{keyword_glued_hint, parse};
use crate::schema::{self, Entity, FieldType};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};

mod declarations;
mod expressions;
mod lints;
mod resolve;
mod rules;
mod templates;

pub use lints::facts_of;

/// The outcome of checking a policy: the IR when there is no error, and
/// every diagnostic (errors and warnings).
#[derive(Debug)]
pub struct Checked {
    pub policy: Option<Policy>,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: SourceMap,
    /// The parsed files, in the order of `sources` (for `fmt`).
    pub files: Vec<ast::File>,
}

impl Checked {
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }
}

/// Parses and checks every file of a policy, in the order given.
pub fn check(sources: SourceMap) -> Checked {
    let mut diagnostics = Vec::new();
    let mut files = Vec::new();
    for (i, f) in sources.files.iter().enumerate() {
        let (ast, diags) = parse(i, &f.text);
        diagnostics.extend(diags);
        files.push(ast);
    }
    let mut checker = Checker::new(&sources, &files);
    let policy = checker.policy();
    diagnostics.extend(checker.diags);
    if !diagnostics.iter().any(|d| d.is_error()) {
        // The limits first: the analysis unfolds defines too, and must only
        // meet conditions within them.
        diagnostics.extend(super::limits::unfolded(&policy));
    }
    if !diagnostics.iter().any(|d| d.is_error()) {
        // W001, decided as `check --analyze` decides it.
        let with_sources = Policy {
            sources: sources.clone(),
            ..policy.clone()
        };
        for r in &policy.rules {
            if super::analyze::never_holds(&with_sources, r) {
                let f = super::analyze::Finding {
                    what: super::analyze::What::NeverHolds,
                    rules: vec![
                        policy
                            .rules
                            .iter()
                            .position(|x| x.name == r.name)
                            .unwrap_or(0),
                    ],
                    witness: None,
                    facts: Vec::new(),
                };
                diagnostics.push(super::analyze::diagnostic(&with_sources, &f));
            }
        }
    }
    diagnostics.sort_by_key(|d| (d.file, d.span.start, d.code.id()));
    diagnostics.dedup();
    let has_errors = diagnostics.iter().any(|d| d.is_error());
    let policy = (!has_errors).then(|| Policy {
        sources: sources.clone(),
        ..policy
    });
    Checked {
        policy,
        diagnostics,
        sources,
        files,
    }
}

/// A policy's `notify channel NAME`s against the channels of the office's
/// configuration: every unknown one an error, with a suggestion.
pub fn check_channels(policy: &Policy, known: &[&str]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for rule in &policy.rules {
        for a in &rule.actions {
            let Action::Notify {
                channel: Some(c), ..
            } = a
            else {
                continue;
            };
            if known.contains(&c.name.as_str()) {
                continue;
            }
            let help = match did_you_mean(&c.name, known.iter().copied()) {
                Some(s) => s,
                None if known.is_empty() => "duban.toml has no [[channel]]; add one with this name, its type (wecom, dingtalk or webhook) and url".into(),
                None => format!("the channels of duban.toml are: {}", known.join(", ")),
            };
            out.push(
                Diagnostic::new(
                    Code::UnknownChannel,
                    c.file,
                    c.span.clone(),
                    format!("no channel `{}` in duban.toml", c.name),
                )
                .help(help),
            );
        }
    }
    out
}

/// `sha256:…` of the policy's files: each file's own name (not the folder
/// or path that named it) and text, in name order — so the same files give
/// the same hash whatever the working directory or the path given.
pub fn policy_hash(sources: &SourceMap) -> String {
    let mut files: Vec<(&str, &str)> = sources
        .files
        .iter()
        .map(|f| {
            let name = f.name.rsplit(['/', '\\']).next().unwrap_or(&f.name);
            (name, f.text.as_str())
        })
        .collect();
    files.sort();
    let mut h = Sha256::new();
    for (name, text) in files {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(text.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

// ───────────────────────────── functions ─────────────────────────────

#[derive(Debug, Clone, Copy, PartialEq)]
enum Func {
    Agg(AggFunc),
    DaysSince,
    DaysUntil,
    WorkdaysSince,
    WorkdaysUntil,
    Present,
    Missing,
}

const FUNCTIONS: &[(&str, &str, Func)] = &[
    ("count", "计数", Func::Agg(AggFunc::Count)),
    ("exists", "存在", Func::Agg(AggFunc::Exists)),
    ("rate", "比例", Func::Agg(AggFunc::Rate)),
    ("sum", "求和", Func::Agg(AggFunc::Sum)),
    ("avg", "平均", Func::Agg(AggFunc::Avg)),
    ("min", "最小", Func::Agg(AggFunc::Min)),
    ("max", "最大", Func::Agg(AggFunc::Max)),
    ("days_since", "距今天数", Func::DaysSince),
    ("days_until", "剩余天数", Func::DaysUntil),
    ("workdays_since", "距今工作日数", Func::WorkdaysSince),
    ("workdays_until", "剩余工作日数", Func::WorkdaysUntil),
    ("present", "有值", Func::Present),
    ("missing", "缺失", Func::Missing),
];

/// Roots a template may use besides the subject entity.
/// Paths every template may read besides the subject's: `recipient.name`
/// makes the notice rendered once per recipient, greeting each by name.
const TEMPLATE_GLOBALS: &[&str] = &[
    "rule",
    "rule.name",
    "rule.title",
    "today",
    "facts",
    "recipient",
    "recipient.name",
    "lang",
];

// ───────────────────────────── the checker ─────────────────────────────

enum DefineState {
    Unchecked,
    InProgress,
    Done(Expr),
    Failed,
}

struct DefineSlot<'a> {
    entity: Entity,
    name: String,
    decl: &'a ast::DefineDecl,
    file: usize,
    state: DefineState,
}

/// What a path names.
enum Resolved {
    Value(FieldPath, Ty),
    Collection(CollPath),
    /// Already reported (or a broken item's name).
    Error,
}

struct Checker<'a> {
    sources: &'a SourceMap,
    files: &'a [ast::File],
    diags: Vec<Diagnostic>,
    defines: Vec<DefineSlot<'a>>,
    task_kinds: Vec<TaskKind>,
    templates: Vec<Template>,
    broken_templates: HashSet<String>,
    broken_defines: HashSet<String>,
    broken_kinds: HashSet<String>,
}

/// Where an expression is being checked.
#[derive(Clone)]
struct Cx {
    file: usize,
    /// Scope 0 is the subject; each collection function's element is the
    /// next one. Names resolve innermost first.
    scopes: Vec<Entity>,
}

impl<'a> Checker<'a> {
    fn new(sources: &'a SourceMap, files: &'a [ast::File]) -> Self {
        let mut c = Checker {
            sources,
            files,
            diags: Vec::new(),
            defines: Vec::new(),
            task_kinds: Vec::new(),
            templates: Vec::new(),
            broken_templates: HashSet::new(),
            broken_defines: HashSet::new(),
            broken_kinds: HashSet::new(),
        };
        for f in files {
            for b in &f.broken {
                match b.keyword {
                    "template" => c.broken_templates.insert(b.name.clone()),
                    "define" => c.broken_defines.insert(b.name.clone()),
                    "tasktype" => c.broken_kinds.insert(b.name.clone()),
                    _ => false,
                };
            }
        }
        c
    }

    fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn location(&self, file: usize, span: &Span) -> String {
        let (line, col) = self.sources.line_col(file, span.start);
        let name = self
            .sources
            .files
            .get(file)
            .map(|f| f.name.as_str())
            .unwrap_or("");
        format!("{name}:{line}:{col}")
    }

    /// Remembers where `key` was first declared and returns true; for a
    /// second declaration reports it (pointing at the first) and returns
    /// false.
    fn first_declaration(
        &mut self,
        seen: &mut HashMap<String, (usize, Span)>,
        key: &str,
        what: &str,
        file: usize,
        span: &Span,
        why: &str,
    ) -> bool {
        if let Some((f0, s0)) = seen.get(key) {
            let first = self.location(*f0, s0);
            self.error(
                Diagnostic::new(
                    Code::Duplicate,
                    file,
                    span.clone(),
                    format!("{what} is declared twice"),
                )
                .label("declared again here")
                .help(format!("the first declaration is at {first}{why}")),
            );
            return false;
        }
        seen.insert(key.to_string(), (file, span.clone()));
        true
    }

    /// Items of a kind across all files, with their file index.
    fn items(&self) -> impl Iterator<Item = (usize, &'a ast::Item)> + 'a {
        self.files
            .iter()
            .enumerate()
            .flat_map(|(i, f)| f.items.iter().map(move |item| (i, item)))
    }
}

fn error_expr(file: usize, span: Span) -> Expr {
    Expr {
        kind: ExprKind::Literal(Literal::Bool(false)),
        ty: Ty::Error,
        file,
        span,
    }
}

fn field_ty(f: FieldId) -> Ty {
    Ty::of_field(f.def().ty)
}

fn arith_word(op: ArithOp) -> &'static str {
    match op {
        ArithOp::Add => "add",
        ArithOp::Sub => "subtract",
        ArithOp::Mul => "multiply",
        ArithOp::Div => "divide",
    }
}

fn usage(func: &str) -> String {
    let example = match func {
        "count" => "count(problems) or count(problems where status = \"open\")",
        "exists" => "exists(tasks where kind = \"reminder_talk\" and status = \"done\")",
        "rate" => "rate(problems where status = \"rectified\") < 70%",
        "sum" => "sum(inspections, count(problems where status = \"open\"))",
        "avg" => "avg(problems, overdue_days)",
        "min" => "min(problems where status = \"open\", deadline)",
        "max" => "max(problems, overdue_days)",
        "days_since" => "days_since(feedback_on) >= 90",
        "days_until" => "days_until(report_due) <= 7",
        "workdays_since" => "workdays_since(feedback_on) >= 5",
        "workdays_until" => "workdays_until(deadline) <= 3",
        "present" => "present(responsible)",
        _ => "missing(rectified_on)",
    };
    format!("for example: {example}")
}

/// The default assignee: the subject's organization's discipline officer.
fn default_assignee(entity: Entity) -> PersonPath {
    let mut refs = Vec::new();
    let mut at = entity;
    let mut text = Vec::new();
    for step in entity.organization_path().unwrap_or(&[]) {
        if let Some(f) = FieldId::of(at, step) {
            refs.push(f);
            text.push(*step);
            if let FieldType::Ref(next) = f.def().ty {
                at = next;
            }
        }
    }
    if let Some(f) = FieldId::of(at, "discipline_officer") {
        refs.push(f);
        text.push("discipline_officer");
    }
    PersonPath {
        text: text.join("."),
        refs,
    }
}
