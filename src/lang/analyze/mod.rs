//! The policy analyser (SPEC §14): which rules can never hold (W001),
//! which two rules can hold for one subject and then give the same person
//! the same kind of task or notify the same person (W010), which rule adds
//! nothing to another (W011), which step waits on a task kind no rule
//! creates (W012).
//!
//! Pure: conditions are normalised ([`normal`]) to disjunctions of
//! conjunctions of atoms and each conjunction decided ([`solve`]). What the
//! fragment cannot decide is an unknown that never yields a finding: a
//! claim that something never happens is made only when every conjunction
//! is contradictory on the decided atoms alone, and a claim that something
//! happens only with a witness — records built from a model ([`build`])
//! that an [`Oracle`] (the reference interpreter, above this floor)
//! confirms. Nothing here reads a file, a database or the clock.

pub mod build;
pub mod normal;
pub mod silence;
pub mod solve;

use super::ast::Span;
use super::diagnostics::{Code, Diagnostic, SourceMap};
use super::ir::*;
use crate::schema::Entity;
use crate::value::Value;
use chrono::NaiveDate;
use normal::{Atom, MAX_CONJUNCTIONS, Normalizer, Space, day_number, dnf};

/// One subject and the records around it, for which a finding happens.
#[derive(Debug, Clone, PartialEq)]
pub struct Witness {
    pub today: NaiveDate,
    pub entity: Entity,
    pub subject: String,
    pub records: Vec<Record>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub entity: Entity,
    pub id: String,
    pub values: Vec<(FieldId, Value)>,
}

/// Evaluates rules on a witness: the reference interpreter.
pub trait Oracle {
    fn holds(&self, policy: &Policy, rule: &Rule, w: &Witness) -> bool;
    fn value(&self, policy: &Policy, rule: &Rule, e: &Expr, w: &Witness) -> Value;
}

/// What two overlapping rules both do to one person.
#[derive(Debug, Clone, PartialEq)]
pub enum Shared {
    /// Both give the person at this path a task of this kind.
    Task { kind: String, target: String },
    /// Both notify this person (a path or an address).
    Notice { to: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum What {
    NeverHolds,
    Overlap(Vec<Shared>),
    /// `rules[0]` adds nothing to `rules[1]`.
    Shadowed,
    /// `rules[0]` waits on a task of this kind that nothing creates.
    Unreachable {
        kind: String,
        file: usize,
        span: Span,
    },
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub what: What,
    /// Indices into `policy.rules`.
    pub rules: Vec<usize>,
    pub witness: Option<Witness>,
    /// The facts of the rules on the witness, `label = value`.
    pub facts: Vec<(String, String)>,
}

impl Finding {
    pub fn code(&self) -> Code {
        match self.what {
            What::NeverHolds => Code::NeverFires,
            What::Overlap(_) => Code::Overlap,
            What::Shadowed => Code::Shadowed,
            What::Unreachable { .. } => Code::UnreachableStep,
        }
    }
}

/// A question the analysis could not decide.
#[derive(Debug, Clone)]
pub struct Undecided {
    pub rules: Vec<usize>,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Analysis {
    pub findings: Vec<Finding>,
    pub undecided: Vec<Undecided>,
    /// Findings an `# allow` comment accepts.
    pub silenced: Vec<Finding>,
}

/// How many candidate witnesses a pair of rules gets; one when the models
/// need what a witness cannot be built for (an undecided part, a `sum` …).
const ATTEMPTS: usize = 6;

struct Prepared {
    pos: Option<Vec<Vec<Atom>>>,
    neg: Option<Vec<Vec<Atom>>>,
}

/// The findings of W001, W010, W011 and W012 for a checked policy, with
/// witnesses near `today`.
pub fn analyze(policy: &Policy, today: NaiveDate, oracle: &dyn Oracle) -> Analysis {
    let mut space = Space::default();
    let prepared: Vec<Prepared> = policy
        .rules
        .iter()
        .map(|r| {
            let mut n = Normalizer {
                policy,
                space: &mut space,
                base: 0,
            };
            let p = n.cond(&r.when, &[], true);
            let q = n.cond(&r.when, &[], false);
            Prepared {
                pos: dnf(&p, MAX_CONJUNCTIONS),
                neg: dnf(&q, MAX_CONJUNCTIONS),
            }
        })
        .collect();
    let day = day_number(today);
    let mut out = Analysis::default();
    let mut never = vec![false; policy.rules.len()];
    for (i, p) in prepared.iter().enumerate() {
        match &p.pos {
            None => out.undecided.push(Undecided {
                rules: vec![i],
                reason: format!("the condition has more than {MAX_CONJUNCTIONS} alternatives"),
            }),
            Some(conjs) => {
                if conjs
                    .iter()
                    .all(|c| solve::solve(&space, &c.iter().collect::<Vec<_>>(), day).is_none())
                {
                    never[i] = true;
                    out.findings.push(Finding {
                        what: What::NeverHolds,
                        rules: vec![i],
                        witness: None,
                        facts: Vec::new(),
                    });
                }
            }
        }
    }
    let cx = Cx {
        policy,
        space: &space,
        day,
        oracle,
    };
    for a in 0..policy.rules.len() {
        for b in a + 1..policy.rules.len() {
            let (ra, rb) = (&policy.rules[a], &policy.rules[b]);
            if ra.entity != rb.entity || never[a] || never[b] {
                continue;
            }
            cx.pair(a, b, &prepared, &mut out);
        }
    }
    unreachable_steps(policy, &mut out);
    let allows = silence::allows(policy);
    let (silenced, kept): (Vec<_>, Vec<_>) = out
        .findings
        .into_iter()
        .partition(|f| silence::is_silenced(policy, &allows, f));
    out.findings = kept;
    out.silenced = silenced;
    out
}

struct Cx<'a> {
    policy: &'a Policy,
    space: &'a Space,
    day: i64,
    oracle: &'a dyn Oracle,
}

impl Cx<'_> {
    fn pair(&self, a: usize, b: usize, prepared: &[Prepared], out: &mut Analysis) {
        let (ra, rb) = (&self.policy.rules[a], &self.policy.rules[b]);
        let shared = shared_actions(ra, rb);
        if shared.is_empty() {
            return;
        }
        // W002 (the same condition and actions) is the checker's.
        if ra.when == rb.when && ra.actions == rb.actions {
            return;
        }
        let (Some(pa), Some(pb)) = (&prepared[a].pos, &prepared[b].pos) else {
            out.undecided.push(Undecided {
                rules: vec![a, b],
                reason: "a condition too large to expand".into(),
            });
            return;
        };
        // Shadowing: one implies the other and the other does all it does.
        for (x, y) in [(b, a), (a, b)] {
            if covers(&self.policy.rules[y], &self.policy.rules[x])
                && self.implies(x, y, prepared) == Some(true)
            {
                let witness = self.witness(x, y, prepared);
                if let Some((w, facts)) = witness {
                    out.findings.push(Finding {
                        what: What::Shadowed,
                        rules: vec![x, y],
                        witness: Some(w),
                        facts,
                    });
                    return;
                }
            }
        }
        let _ = (pa, pb);
        match self.overlap(a, b, prepared) {
            Overlap::Disjoint => {}
            Overlap::Found(w, facts) => out.findings.push(Finding {
                what: What::Overlap(shared),
                rules: vec![a, b],
                witness: Some(w),
                facts,
            }),
            Overlap::Unknown(why) => out.undecided.push(Undecided {
                rules: vec![a, b],
                reason: why,
            }),
        }
    }

    /// Whether `x` holds only where `y` holds: `x and not y` has no model.
    fn implies(&self, x: usize, y: usize, prepared: &[Prepared]) -> Option<bool> {
        let (Some(px), Some(ny)) = (&prepared[x].pos, &prepared[y].neg) else {
            return None;
        };
        for c in px {
            for d in ny {
                let atoms: Vec<&Atom> = c.iter().chain(d.iter()).collect();
                if solve::solve(self.space, &atoms, self.day).is_some() {
                    return Some(false);
                }
            }
        }
        Some(true)
    }

    fn witness(
        &self,
        a: usize,
        b: usize,
        prepared: &[Prepared],
    ) -> Option<(Witness, Vec<(String, String)>)> {
        match self.overlap(a, b, prepared) {
            Overlap::Found(w, f) => Some((w, f)),
            _ => None,
        }
    }

    fn overlap(&self, a: usize, b: usize, prepared: &[Prepared]) -> Overlap {
        let (Some(pa), Some(pb)) = (&prepared[a].pos, &prepared[b].pos) else {
            return Overlap::Unknown("a condition too large to expand".into());
        };
        let (ra, rb) = (&self.policy.rules[a], &self.policy.rules[b]);
        let mut attempts = 0;
        let mut candidates = false;
        for c in pa {
            for d in pb {
                let atoms: Vec<&Atom> = c.iter().chain(d.iter()).collect();
                let Some(model) = solve::solve(self.space, &atoms, self.day) else {
                    continue;
                };
                candidates = true;
                attempts += 1;
                let limit = if build::buildable(self.space, &model) {
                    ATTEMPTS
                } else {
                    1
                };
                if attempts > limit {
                    return Overlap::Unknown(
                        "both may hold, but no subject could be built that shows it (a part of a condition is outside what is decided)"
                            .into(),
                    );
                }
                let w = build::witness(self.policy, self.space, ra.entity, &model);
                if self.oracle.holds(self.policy, ra, &w) && self.oracle.holds(self.policy, rb, &w)
                {
                    let facts = self.facts(&[ra, rb], &w);
                    return Overlap::Found(w, facts);
                }
            }
        }
        if candidates {
            Overlap::Unknown(
                "both may hold, but no subject could be built that shows it (a part of a condition is outside what is decided)"
                    .into(),
            )
        } else {
            Overlap::Disjoint
        }
    }

    fn facts(&self, rules: &[&Rule], w: &Witness) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for r in rules {
            for f in &r.facts {
                if out.iter().any(|(l, _)| *l == f.label) {
                    continue;
                }
                let v = self.oracle.value(self.policy, r, &f.expr, w);
                out.push((f.label.clone(), show(self.policy, &f.expr, &v)));
            }
        }
        out
    }
}

enum Overlap {
    Disjoint,
    Found(Witness, Vec<(String, String)>),
    Unknown(String),
}

/// A value as an engineer reads it in a witness.
pub fn show(policy: &Policy, e: &Expr, v: &Value) -> String {
    match v {
        Value::Missing => "missing".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if policy.is_share(e) => format!("{}%", trim(n * 100.0)),
        Value::Number(n) => trim(*n),
        Value::Text(t) => t.clone(),
        Value::Date(d) => d.to_string(),
    }
}

fn trim(n: f64) -> String {
    let s = format!("{n:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The actions both rules give the same person.
pub fn shared_actions(a: &Rule, b: &Rule) -> Vec<Shared> {
    let mut out = Vec::new();
    for x in &a.actions {
        for y in &b.actions {
            match (x, y) {
                (
                    Action::Task {
                        kind: k1,
                        target: t1,
                        ..
                    },
                    Action::Task {
                        kind: k2,
                        target: t2,
                        ..
                    },
                ) if k1 == k2 && t1.refs == t2.refs => {
                    let s = Shared::Task {
                        kind: k1.clone(),
                        target: t1.text.clone(),
                    };
                    if !out.contains(&s) {
                        out.push(s);
                    }
                }
                (Action::Notify { to: t1, .. }, Action::Notify { to: t2, .. }) => {
                    for r in t1 {
                        if t2.iter().any(|s| same_recipient(r, s)) {
                            let s = Shared::Notice {
                                to: recipient_text(r),
                            };
                            if !out.contains(&s) {
                                out.push(s);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

fn same_recipient(a: &Recipient, b: &Recipient) -> bool {
    match (a, b) {
        (Recipient::Person(x), Recipient::Person(y)) => x.refs == y.refs,
        (Recipient::Email(x), Recipient::Email(y)) => x.eq_ignore_ascii_case(y),
        _ => false,
    }
}

pub fn recipient_text(r: &Recipient) -> String {
    match r {
        Recipient::Person(p) => p.text.clone(),
        Recipient::Email(e) => e.clone(),
    }
}

/// Whether `big` does everything `small` does: each task of `small` (kind
/// and person) is one of `big`'s, each person it notifies `big` notifies.
fn covers(big: &Rule, small: &Rule) -> bool {
    small.actions.iter().all(|x| match x {
        Action::Task { kind, target, .. } => big.actions.iter().any(|y| {
            matches!(y, Action::Task { kind: k, target: t, .. } if k == kind && t.refs == target.refs)
        }),
        Action::Notify { to, .. } => to.iter().all(|r| {
            big.actions.iter().any(|y| {
                matches!(y, Action::Notify { to: t, .. } if t.iter().any(|s| same_recipient(r, s)))
            })
        }),
    })
}

/// W012: a rule that waits on (`exists(tasks where kind = K …)`) a task
/// kind no rule creates.
fn unreachable_steps(policy: &Policy, out: &mut Analysis) {
    let created: Vec<&str> = policy
        .rules
        .iter()
        .flat_map(|r| r.actions.iter())
        .filter_map(|a| match a {
            Action::Task { kind, .. } => Some(kind.as_str()),
            _ => None,
        })
        .collect();
    for (i, r) in policy.rules.iter().enumerate() {
        let mut waits = Vec::new();
        waited_kinds(&r.when, true, &mut waits);
        for (kind, e) in waits {
            if !created.contains(&kind.as_str()) {
                out.findings.push(Finding {
                    what: What::Unreachable {
                        kind,
                        file: e.file,
                        span: e.span.clone(),
                    },
                    rules: vec![i],
                    witness: None,
                    facts: Vec::new(),
                });
            }
        }
    }
}

/// The task kinds a condition needs a task of (in a positive place).
fn waited_kinds<'e>(e: &'e Expr, pos: bool, out: &mut Vec<(String, &'e Expr)>) {
    match &e.kind {
        ExprKind::Not(x) => waited_kinds(x, !pos, out),
        ExprKind::And(a, b) | ExprKind::Or(a, b) => {
            waited_kinds(a, pos, out);
            waited_kinds(b, pos, out);
        }
        ExprKind::Aggregate {
            func: AggFunc::Exists,
            coll,
            filter: Some(f),
            ..
        } if pos && coll.element() == Entity::Task => {
            for c in f.conjuncts() {
                if let Some(k) = kind_equals(c, coll.scope + 1) {
                    out.push((k, e));
                }
            }
        }
        ExprKind::Compare(op, l, r) if pos => {
            if let (
                ExprKind::Aggregate {
                    func: AggFunc::Count,
                    coll,
                    filter: Some(f),
                    ..
                },
                ExprKind::Literal(Literal::Number(n)),
            ) = (&l.kind, &r.kind)
                && coll.element() == Entity::Task
                && ((*op == CmpOp::Ge && *n >= 1.0) || (*op == CmpOp::Gt && *n >= 0.0))
            {
                for c in f.conjuncts() {
                    if let Some(k) = kind_equals(c, coll.scope + 1) {
                        out.push((k, l));
                    }
                }
            }
        }
        _ => {}
    }
}

fn kind_equals(e: &Expr, scope: usize) -> Option<String> {
    let ExprKind::Compare(CmpOp::Eq, l, r) = &e.kind else {
        return None;
    };
    let (p, lit) = match (&l.kind, &r.kind) {
        (ExprKind::Field(p), ExprKind::Literal(Literal::Text(s)))
        | (ExprKind::Literal(Literal::Text(s)), ExprKind::Field(p)) => (p, s),
        _ => return None,
    };
    let is_kind = p.scope == scope
        && p.refs.is_empty()
        && matches!(p.end, PathEnd::Field(f) if f.entity == Entity::Task && f.def().name == "kind");
    is_kind.then(|| lit.clone())
}

/// Whether the rule `r` never holds, decided as [`analyze`] decides it
/// (for the checker's W001).
pub fn never_holds(policy: &Policy, r: &Rule) -> bool {
    let mut space = Space::default();
    let mut n = Normalizer {
        policy,
        space: &mut space,
        base: 0,
    };
    let c = n.cond(&r.when, &[], true);
    match dnf(&c, MAX_CONJUNCTIONS) {
        Some(conjs) => conjs
            .iter()
            .all(|c| solve::solve(&space, &c.iter().collect::<Vec<_>>(), 0).is_none()),
        None => false,
    }
}

/// Where a finding points: the diagnostic on its last rule, with the other
/// rule's name as a second caret.
pub fn diagnostic(policy: &Policy, f: &Finding) -> Diagnostic {
    let rule = |i: usize| &policy.rules[i];
    let first = rule(f.rules[0]);
    let example = f.witness.as_ref().map(|w| {
        let facts: Vec<String> = f.facts.iter().map(|(l, v)| format!("{l} = {v}")).collect();
        format!("for example {} (as of {})", facts.join(", "), w.today)
    });
    match &f.what {
        What::NeverHolds => Diagnostic::new(
            Code::NeverFires,
            first.file,
            first.when.span.clone(),
            format!("rule `{}` can never fire", first.name),
        )
        .label("no subject satisfies this condition")
        .help("check the bounds: no value satisfies all of them at once"),
        What::Unreachable { kind, file, span } => Diagnostic::new(
            Code::UnreachableStep,
            *file,
            span.clone(),
            format!(
                "rule `{}` waits on a `{kind}` task, which no rule creates",
                first.name
            ),
        )
        .label("no rule creates this kind of task")
        .help(format!(
            "add a rule with `then task {kind} …`, or correct the kind"
        )),
        What::Overlap(shared) => {
            let second = rule(f.rules[1]);
            let what: Vec<String> = shared.iter().map(shared_text).collect();
            Diagnostic::new(
                Code::Overlap,
                second.file,
                second.span.clone(),
                format!(
                    "rules `{}` and `{}` can hold for the same {} and both {}",
                    first.name,
                    second.name,
                    first.entity,
                    what.join(" and ")
                ),
            )
            .label("overlaps")
            .related(
                first.file,
                first.span.clone(),
                format!("rule `{}`, the other of the two", first.name),
            )
            .help_opt(example)
        }
        What::Shadowed => {
            let other = rule(f.rules[1]);
            Diagnostic::new(
                Code::Shadowed,
                first.file,
                first.span.clone(),
                format!(
                    "rule `{}` adds nothing: wherever it holds, `{}` holds and gives the same tasks and notices",
                    first.name, other.name
                ),
            )
            .label("shadowed")
            .related(
                other.file,
                other.span.clone(),
                format!("rule `{}`, which does all `{}` does", other.name, first.name),
            )
            .help_opt(example)
        }
    }
}

fn shared_text(s: &Shared) -> String {
    match s {
        Shared::Task { kind, target } => format!("give {target} a `{kind}` task"),
        Shared::Notice { to } => format!("notify {to}"),
    }
}

/// `file:line:column` of a rule's name.
pub fn location(sources: &SourceMap, r: &Rule) -> (String, usize, usize) {
    let (line, column) = sources.line_col(r.file, r.span.start);
    let name = sources
        .files
        .get(r.file)
        .map(|f| f.name.clone())
        .unwrap_or_default();
    (name, line, column)
}
