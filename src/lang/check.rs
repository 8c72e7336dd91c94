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

/// `sha256:…` of the policy's files (names and texts, in order).
pub fn policy_hash(sources: &SourceMap) -> String {
    let mut h = Sha256::new();
    for f in &sources.files {
        h.update(f.name.as_bytes());
        h.update([0]);
        h.update(f.text.as_bytes());
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
    ("present", "有值", Func::Present),
    ("missing", "缺失", Func::Missing),
];

/// Roots a template may use besides the subject entity.
const TEMPLATE_GLOBALS: &[&str] = &["rule", "rule.name", "rule.title", "today", "facts"];

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

    fn policy(&mut self) -> Policy {
        let (name, timezone, schedule) = self.header();
        self.declare_task_kinds();
        self.declare_defines();
        self.check_templates();
        for i in 0..self.defines.len() {
            self.define_expr(i, None);
        }
        let rules = self.rules();
        self.warn_identical_rules(&rules);
        let defines = self
            .defines
            .iter()
            .map(|d| Define {
                entity: d.entity,
                name: d.name.clone(),
                expr: match &d.state {
                    DefineState::Done(e) => e.clone(),
                    _ => error_expr(d.file, d.decl.span.clone()),
                },
            })
            .collect();
        Policy {
            name,
            timezone,
            schedule,
            task_kinds: std::mem::take(&mut self.task_kinds),
            defines,
            templates: std::mem::take(&mut self.templates),
            rules,
            hash: policy_hash(self.sources),
            sources: SourceMap::default(),
        }
    }

    // ─────────────────────────── declarations ───────────────────────────

    fn header(&mut self) -> (Option<String>, Option<String>, Option<String>) {
        let mut seen: Option<(usize, Span)> = None;
        let mut out = (None, None, None);
        for (file, item) in self.items() {
            let ast::Item::Policy(p) = item else { continue };
            if let Some((f0, s0)) = &seen {
                let first = self.location(*f0, s0);
                self.error(
                    Diagnostic::new(
                        Code::Duplicate,
                        file,
                        p.kw.0.clone(),
                        "a second `policy` header",
                    )
                    .label("the policy already has a header")
                    .help(format!(
                        "a policy has at most one header; the first is at {first}"
                    )),
                );
                continue;
            }
            seen = Some((file, p.kw.0.clone()));
            out.0 = Some(p.name.value.clone());
            for opt in &p.options {
                match opt {
                    ast::PolicyOption::Timezone(_, tz) => {
                        if self.check_timezone(file, tz) {
                            out.1 = Some(tz.value.clone());
                        }
                    }
                    ast::PolicyOption::Schedule(_, s) => {
                        if self.check_cron(file, s) {
                            out.2 = Some(s.value.clone());
                        }
                    }
                }
            }
        }
        out
    }

    fn check_timezone(&mut self, file: usize, tz: &ast::Str) -> bool {
        if tz.value.parse::<chrono_tz::Tz>().is_ok() {
            return true;
        }
        let names = chrono_tz::TZ_VARIANTS.iter().map(|t| t.name());
        let help = did_you_mean(&tz.value, names)
            .unwrap_or_else(|| "use an IANA name such as \"Asia/Shanghai\"".into());
        self.error(
            Diagnostic::new(
                Code::BadTimezone,
                file,
                tz.span.clone(),
                format!("`{}` is not a time zone", tz.value),
            )
            .label("not an IANA time zone name")
            .help(help),
        );
        false
    }

    fn check_cron(&mut self, file: usize, s: &ast::Str) -> bool {
        match crate::schedule::Cron::parse(&s.value) {
            Ok(_) => true,
            Err(why) => {
                self.error(
                    Diagnostic::new(
                        Code::BadCron,
                        file,
                        s.span.clone(),
                        format!("`{}` is not a valid schedule", s.value),
                    )
                    .label(why.lines().last().unwrap_or("").trim().to_string())
                    .help("write cron as \"minute hour day month weekday\", e.g. \"0 9 * * *\" for 09:00 every day, \"0 9 * * 1\" for Mondays"),
                );
                false
            }
        }
    }

    fn declare_task_kinds(&mut self) {
        let mut seen: HashMap<String, (usize, Span)> = HashMap::new();
        for (file, item) in self.items() {
            let ast::Item::TaskType(t) = item else {
                continue;
            };
            let name = &t.name.name;
            if schema::standard_task_kind(name).is_some() {
                self.error(
                    Diagnostic::new(
                        Code::Duplicate,
                        file,
                        t.name.span.clone(),
                        format!("`{name}` is a standard task kind"),
                    )
                    .label("already defined by duban")
                    .help("standard kinds need no `tasktype`; pick another name for a new kind"),
                );
                continue;
            }
            if !self.first_declaration(
                &mut seen,
                name,
                &format!("task kind `{name}`"),
                file,
                &t.name.span,
                "",
            ) {
                continue;
            }
            self.task_kinds.push(TaskKind {
                code: name.clone(),
                label: t.label.value.clone(),
            });
        }
    }

    fn declare_defines(&mut self) {
        let mut seen: HashMap<String, (usize, Span)> = HashMap::new();
        for (file, item) in self.items() {
            let ast::Item::Define(d) = item else { continue };
            let Some(entity) = self.entity(file, &d.entity) else {
                continue;
            };
            let name = &d.field.name;
            if entity.field(name).is_some() || entity.collection(name).is_some() {
                self.error(
                    Diagnostic::new(
                        Code::Duplicate,
                        file,
                        d.field.span.clone(),
                        format!("{entity} already has a field `{name}`"),
                    )
                    .label("a built-in field of this name exists")
                    .help("give the define a name of its own"),
                );
                continue;
            }
            let key = format!("{entity}.{name}");
            if !self.first_declaration(
                &mut seen,
                &key,
                &format!("`{key}`"),
                file,
                &d.field.span,
                "",
            ) {
                continue;
            }
            self.defines.push(DefineSlot {
                entity,
                name: name.clone(),
                decl: d,
                file,
                state: DefineState::Unchecked,
            });
        }
    }

    /// The checked expression of define `i`, checking it on first use.
    /// `used_at` is the span of the use that asked, for cycle errors.
    fn define_expr(&mut self, i: usize, used_at: Option<(usize, Span)>) -> Ty {
        match &self.defines[i].state {
            DefineState::Done(e) => return e.ty,
            DefineState::Failed => return Ty::Error,
            DefineState::InProgress => {
                let (file, span) = used_at.unwrap_or((
                    self.defines[i].file,
                    self.defines[i].decl.field.span.clone(),
                ));
                let name = format!("{}.{}", self.defines[i].entity, self.defines[i].name);
                self.error(
                    Diagnostic::new(Code::BadDefine, file, span, format!("`{name}` is defined in terms of itself"))
                        .label("this use goes round in a circle")
                        .help("a define may use other defines, but not itself, directly or through others"),
                );
                self.defines[i].state = DefineState::Failed;
                return Ty::Error;
            }
            DefineState::Unchecked => {}
        }
        self.defines[i].state = DefineState::InProgress;
        let slot = &self.defines[i];
        let (decl, file, entity) = (slot.decl, slot.file, slot.entity);
        let cx = Cx {
            file,
            scopes: vec![entity],
        };
        let e = self.expr(&decl.expr, &cx);
        if matches!(self.defines[i].state, DefineState::Failed) {
            return Ty::Error;
        }
        let ty = e.ty;
        self.defines[i].state = DefineState::Done(e);
        ty
    }

    fn find_define(&self, entity: Entity, name: &str) -> Option<usize> {
        self.defines
            .iter()
            .position(|d| d.entity == entity && d.name == name)
    }

    fn entity(&mut self, file: usize, id: &ast::Ident) -> Option<Entity> {
        if let Some(e) = Entity::lookup(&id.name) {
            return Some(e);
        }
        let names = schema::ENTITIES.iter().flat_map(|d| [d.name, d.zh]);
        let help = keyword_glued_hint(&id.name)
            .or_else(|| did_you_mean(&id.name, names))
            .unwrap_or_else(|| "the entities are organization 组织, person 人员, round 轮次, inspection 巡察, problem 问题, task 任务".into());
        self.error(
            Diagnostic::new(
                Code::UnknownEntity,
                file,
                id.span.clone(),
                format!("unknown entity `{}`", id.name),
            )
            .label("not an entity of the case schema")
            .help(help),
        );
        None
    }

    // ───────────────────────────── templates ─────────────────────────────

    fn check_templates(&mut self) {
        let mut seen: HashMap<String, (usize, Span)> = HashMap::new();
        for (file, item) in self.items() {
            let ast::Item::Template(t) = item else {
                continue;
            };
            let name = &t.name.name;
            if !self.first_declaration(
                &mut seen,
                name,
                &format!("template `{name}`"),
                file,
                &t.name.span,
                "",
            ) {
                continue;
            }
            match self.template(file, t) {
                Some(template) => self.templates.push(template),
                // Its errors are reported; its uses are not errors too.
                None => {
                    self.broken_templates.insert(name.clone());
                }
            }
        }
    }

    fn template(&mut self, file: usize, t: &ast::TemplateDecl) -> Option<Template> {
        let mut subject: Option<&ast::Str> = None;
        let mut body: Option<&ast::Str> = None;
        for part in &t.parts {
            let (slot, kw, s, what) = match part {
                ast::TemplatePart::Subject(kw, s) => (&mut subject, kw, s, "subject"),
                ast::TemplatePart::Body(kw, s) => (&mut body, kw, s, "body"),
            };
            if slot.is_some() {
                self.error(
                    Diagnostic::new(
                        Code::RepeatedClause,
                        file,
                        kw.0.clone(),
                        format!("template `{}` has two `{what}`s", t.name.name),
                    )
                    .help(format!("a template has one `{what}`")),
                );
            }
            *slot = Some(s);
        }
        let (Some(subject), Some(body)) = (subject, body) else {
            let missing = if subject.is_none() { "subject" } else { "body" };
            self.error(
                Diagnostic::new(
                    Code::MissingClause,
                    file,
                    t.name.span.clone(),
                    format!("template `{}` has no `{missing}`", t.name.name),
                )
                .help("a template is `template NAME subject \"…\" body \"\"\"…\"\"\"`"),
            );
            return None;
        };
        let mut entity: Option<(Entity, String)> = None;
        let mut paths = Vec::new();
        let mut ok = true;
        for s in [subject, body] {
            let env = super::template::environment();
            let vars = match env.template_from_str(&s.value) {
                Ok(tmpl) => tmpl.undeclared_variables(true),
                Err(e) => {
                    let span = e
                        .range()
                        .map(|r| self.span_in_string(file, s, r))
                        .unwrap_or_else(|| s.span.clone());
                    self.error(
                        Diagnostic::new(Code::BadTemplate, file, span, format!("template text does not parse: {}", e.detail().unwrap_or("syntax error")))
                            .help("template text uses `{{ path }}` for values, e.g. {{ problem.deadline }}"),
                    );
                    ok = false;
                    continue;
                }
            };
            let mut vars: Vec<String> = vars.into_iter().collect();
            vars.sort();
            for var in vars {
                match self.template_path(file, s, &var, &mut entity) {
                    Some(Some(p)) => paths.push(p),
                    Some(None) => {}
                    None => ok = false,
                }
            }
        }
        ok.then(|| Template {
            name: t.name.name.clone(),
            subject: subject.value.clone(),
            body: body.value.clone(),
            entity: entity.map(|(e, _)| e),
            paths,
        })
    }

    /// The span in the file of a byte range inside a string's value.
    fn span_in_string(&self, file: usize, s: &ast::Str, range: std::ops::Range<usize>) -> Span {
        let raw = self.sources.text(file, &s.span);
        let needle = s.value.get(range.clone()).unwrap_or("");
        match raw.find(needle).filter(|_| !needle.is_empty()) {
            Some(i) => s.span.start + i..s.span.start + i + needle.len(),
            None => s.span.clone(),
        }
    }

    /// Resolves one `{{ path }}`. `Some(None)`: a global such as `today`;
    /// `None`: an error was reported.
    fn template_path(
        &mut self,
        file: usize,
        s: &ast::Str,
        var: &str,
        entity: &mut Option<(Entity, String)>,
    ) -> Option<Option<TemplatePath>> {
        let span = {
            let raw = self.sources.text(file, &s.span);
            match raw.find(var) {
                Some(i) => s.span.start + i..s.span.start + i + var.len(),
                None => s.span.clone(),
            }
        };
        if TEMPLATE_GLOBALS.contains(&var) {
            return Some(None);
        }
        let mut segs = var.split('.');
        let root = segs.next().unwrap_or("");
        let Some(root_entity) = Entity::lookup(root).filter(|e| e.can_be_subject()) else {
            let mut candidates: Vec<&str> = vec![
                "problem",
                "inspection",
                "organization",
                "rule",
                "today",
                "facts",
            ];
            candidates.extend(["问题", "巡察", "组织"]);
            let help = did_you_mean(root, candidates).unwrap_or_else(|| {
                "a template path starts at the rule's subject (problem, inspection or organization), or is rule.name, rule.title, today or facts".into()
            });
            self.error(
                Diagnostic::new(
                    Code::UnknownTemplatePath,
                    file,
                    span,
                    format!("unknown template path `{var}`"),
                )
                .label(format!("`{root}` is not known here"))
                .help(help),
            );
            return None;
        };
        if let Some((e, first)) = entity.as_ref() {
            if *e != root_entity {
                self.error(
                    Diagnostic::new(Code::UnknownTemplatePath, file, span, format!("template mixes `{first}` and `{root}` paths"))
                        .help("one template serves rules of one subject entity; its paths all start with that entity"),
                );
                return None;
            }
        } else {
            *entity = Some((root_entity, root.to_string()));
        }
        let rest: Vec<&str> = segs.collect();
        if rest.is_empty() {
            let id = FieldId::of(root_entity, "id")?;
            return Some(Some(TemplatePath {
                text: var.to_string(),
                path: FieldPath {
                    scope: 0,
                    refs: vec![],
                    end: PathEnd::Field(id),
                },
            }));
        }
        let idents: Vec<ast::Ident> = rest
            .iter()
            .map(|r| ast::Ident {
                name: r.to_string(),
                span: span.clone(),
            })
            .collect();
        let path = ast::Path {
            segments: idents,
            span: span.clone(),
        };
        let cx = Cx {
            file,
            scopes: vec![root_entity],
        };
        match self.resolve(&path, &cx) {
            Resolved::Value(p, _) => Some(Some(TemplatePath {
                text: var.to_string(),
                path: p,
            })),
            Resolved::Collection(c) => {
                self.error(
                    Diagnostic::new(
                        Code::UnknownTemplatePath,
                        file,
                        span,
                        format!("`{var}` is a collection"),
                    )
                    .label(format!("a list of {}s", c.element()))
                    .help("templates show single values; count it in the rule's condition instead"),
                );
                None
            }
            Resolved::Error => None,
        }
    }

    // ───────────────────────────── rules ─────────────────────────────

    fn rules(&mut self) -> Vec<Rule> {
        let mut seen: HashMap<String, (usize, Span)> = HashMap::new();
        let mut rules = Vec::new();
        for (file, item) in self.items() {
            let ast::Item::Rule(r) = item else { continue };
            let name = &r.name.name;
            let why = "; rule names must be unique, since episodes are kept by rule name";
            if !self.first_declaration(
                &mut seen,
                name,
                &format!("rule `{name}`"),
                file,
                &r.name.span,
                why,
            ) {
                continue;
            }
            if let Some(rule) = self.rule(file, r) {
                rules.push(rule);
            }
        }
        rules
    }

    fn rule(&mut self, file: usize, r: &ast::RuleDecl) -> Option<Rule> {
        let mut for_: Option<&ast::Ident> = None;
        let mut when: Option<&ast::Expr> = None;
        let mut schedule: Option<&ast::Str> = None;
        let mut repeat: Option<&ast::Duration> = None;
        let mut thens: Vec<&ast::Action> = Vec::new();
        for c in &r.clauses {
            let (name, dup) = match &c.kind {
                ast::ClauseKind::For(_, e) => ("for", for_.replace(e).is_some()),
                ast::ClauseKind::When(_, e) => ("when", when.replace(e).is_some()),
                ast::ClauseKind::Schedule(_, s) => ("schedule", schedule.replace(s).is_some()),
                ast::ClauseKind::Repeat(_, _, d) => ("repeat every", repeat.replace(d).is_some()),
                ast::ClauseKind::Then(_, a) => {
                    thens.push(a);
                    ("then", false)
                }
            };
            if dup {
                let help = if name == "when" {
                    "join the conditions with `and` (且) in one `when`"
                } else {
                    "give this clause once"
                };
                self.error(
                    Diagnostic::new(
                        Code::RepeatedClause,
                        file,
                        c.span.clone(),
                        format!("rule `{}` has a second `{name}`", r.name.name),
                    )
                    .label("given again here")
                    .help(help),
                );
            }
        }
        let missing = |what: &str, help: &str| {
            Diagnostic::new(
                Code::MissingClause,
                file,
                r.name.span.clone(),
                format!("rule `{}` has no `{what}` clause", r.name.name),
            )
            .label(format!("`{what}` is required"))
            .help(help.to_string())
        };
        if for_.is_none() {
            self.error(missing(
                "for",
                "add `for problem` (or inspection, organization): the records the rule looks at",
            ));
        }
        if when.is_none() {
            self.error(missing(
                "when",
                "add `when CONDITION`, e.g. `when overdue_days >= 30`",
            ));
        }
        if thens.is_empty() {
            self.error(missing(
                "then",
                "add `then task KIND with PERSON` or `then notify PERSON`",
            ));
        }
        if let Some(s) = schedule {
            self.check_cron(file, s);
        }
        let entity = for_.and_then(|id| self.entity(file, id))?;
        if !entity.can_be_subject() {
            let span = for_.map(|f| f.span.clone()).unwrap_or_default();
            self.error(
                Diagnostic::new(Code::NotASubject, file, span, format!("a rule cannot be `for {entity}`"))
                    .label("tasks and notices concern a problem, an inspection or an organization")
                    .help("write `for problem`, `for inspection` or `for organization`; reach others through them"),
            );
            return None;
        }
        let cx = Cx {
            file,
            scopes: vec![entity],
        };
        let when_ir = when.map(|w| self.condition(w, &cx));
        let actions: Vec<Action> = thens
            .into_iter()
            .filter_map(|a| self.action(a, &cx, &r.name.name))
            .collect();
        let repeat_days = repeat.and_then(|d| self.whole_days(file, d, "repeat every"));
        let when_ir = when_ir?;
        let facts = facts_of(&when_ir, self.sources);
        if let Some(w) = when {
            self.warn_never_fires(file, w, &when_ir, &r.name.name);
        }
        Some(Rule {
            name: r.name.name.clone(),
            title: r.title.as_ref().map(|t| t.value.clone()),
            entity,
            schedule: schedule.map(|s| s.value.clone()),
            when: when_ir,
            actions,
            repeat_days,
            facts,
            file,
            span: r.name.span.clone(),
        })
    }

    fn condition(&mut self, w: &ast::Expr, cx: &Cx) -> Expr {
        let e = self.expr(w, cx);
        if !matches!(e.ty, Ty::Bool | Ty::Error) {
            let text = self.sources.text(cx.file, &w.span).to_string();
            self.error(
                Diagnostic::new(
                    Code::TypeMismatch,
                    cx.file,
                    w.span.clone(),
                    "the condition is not true or false",
                )
                .label(format!("this is {}", e.ty.describe()))
                .help(format!("compare it with something, e.g. `{text} >= 30`")),
            );
        }
        e
    }

    fn whole_days(&mut self, file: usize, d: &ast::Duration, what: &str) -> Option<i64> {
        let days = d.days();
        if days.fract() != 0.0 || days < 1.0 {
            self.error(
                Diagnostic::new(
                    Code::BadLiteral,
                    file,
                    d.span.clone(),
                    format!("`{what}` needs a whole number of days, at least 1"),
                )
                .help("write e.g. `7 days` or `2 weeks`"),
            );
            return None;
        }
        Some(days as i64)
    }

    fn action(&mut self, a: &ast::Action, cx: &Cx, rule: &str) -> Option<Action> {
        match a {
            ast::Action::Task {
                kind,
                target,
                by,
                due,
                ..
            } => {
                let kind_code = self.task_kind(cx.file, &kind.name, &kind.span);
                let target = self.person_path(target, cx);
                let assignee = match by {
                    Some((_, p)) => self.person_path(p, cx),
                    None => Some(default_assignee(cx.scopes[0])),
                };
                let due_days = match due {
                    Some((_, d)) => self.whole_days(cx.file, d, "due"),
                    None => Some(7),
                };
                Some(Action::Task {
                    kind: kind_code?,
                    target: target?,
                    assignee: assignee?,
                    due_days: due_days?,
                })
            }
            ast::Action::Notify { to, using, .. } => {
                let mut recipients = Vec::new();
                let mut ok = true;
                for r in to {
                    match r {
                        ast::Recipient::Person(p) => match self.person_path(p, cx) {
                            Some(pp) => recipients.push(Recipient::Person(pp)),
                            None => ok = false,
                        },
                        ast::Recipient::Email(s) => {
                            if is_email(&s.value) {
                                recipients.push(Recipient::Email(s.value.clone()));
                            } else {
                                ok = false;
                                self.error(
                                    Diagnostic::new(Code::BadEmail, cx.file, s.span.clone(), format!("`{}` is not an email address", s.value))
                                        .help("write an address such as \"office@example.org\", or a path to a person such as `responsible`"),
                                );
                            }
                        }
                    }
                }
                let template = match using {
                    Some((_, t)) => self.template_use(cx, t, rule),
                    None => Some(None),
                };
                (ok).then_some(())?;
                Some(Action::Notify {
                    to: recipients,
                    template: template?,
                })
            }
        }
    }

    /// `Some(Some(name))` when the template exists and fits the rule.
    fn template_use(&mut self, cx: &Cx, t: &ast::Ident, rule: &str) -> Option<Option<String>> {
        if self.broken_templates.contains(&t.name) {
            return None;
        }
        let Some(template) = self.templates.iter().find(|x| x.name == t.name) else {
            let names: Vec<&str> = self.templates.iter().map(|x| x.name.as_str()).collect();
            let help = did_you_mean(&t.name, names.iter().copied()).unwrap_or_else(|| {
                if names.is_empty() {
                    "declare it with `template NAME subject \"…\" body \"…\"`, or leave out `using` for the built-in notice".into()
                } else {
                    format!("the templates are: {}", names.join(", "))
                }
            });
            self.error(
                Diagnostic::new(
                    Code::UnknownTemplate,
                    cx.file,
                    t.span.clone(),
                    format!("unknown template `{}`", t.name),
                )
                .label("no template of this name")
                .help(help),
            );
            return None;
        };
        if let Some(e) = template.entity.filter(|e| *e != cx.scopes[0]) {
            let subject = cx.scopes[0];
            self.error(
                Diagnostic::new(
                    Code::UnknownTemplatePath,
                    cx.file,
                    t.span.clone(),
                    format!(
                        "template `{}` is about {}, rule `{rule}` is for {subject}",
                        t.name,
                        e.a()
                    ),
                )
                .label(format!("its paths start with `{e}`"))
                .help(format!("use a template whose paths start with `{subject}`")),
            );
            return None;
        }
        Some(Some(t.name.clone()))
    }

    fn task_kind(&mut self, file: usize, name: &str, span: &Span) -> Option<String> {
        if let Some((code, _)) = schema::standard_task_kind(name) {
            return Some(code.to_string());
        }
        if let Some(k) = self
            .task_kinds
            .iter()
            .find(|k| k.code == name || k.label == name)
        {
            return Some(k.code.clone());
        }
        if self.broken_kinds.contains(name) {
            return None;
        }
        let mut names: Vec<&str> = schema::STANDARD_TASK_KINDS
            .iter()
            .flat_map(|(c, l)| [*c, *l])
            .collect();
        names.extend(
            self.task_kinds
                .iter()
                .flat_map(|k| [k.code.as_str(), k.label.as_str()]),
        );
        let help = did_you_mean(name, names).unwrap_or_else(|| {
            "declare a new kind with `tasktype NAME \"标签\"`; the standard kinds are reminder_talk 提醒谈话, criticism_education 批评教育, admonishment_talk 诫勉谈话, written_self_criticism 书面检查, criticism_notice 通报批评, interview 约谈, second_rectification 二次整改, accountability 问责, follow_up_visit 回访".into()
        });
        self.error(
            Diagnostic::new(
                Code::UnknownTaskKind,
                file,
                span.clone(),
                format!("unknown task kind `{name}`"),
            )
            .label("not a standard kind nor a `tasktype`")
            .help(help),
        );
        None
    }

    fn person_path(&mut self, p: &ast::Path, cx: &Cx) -> Option<PersonPath> {
        let text = p
            .segments
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(".");
        match self.resolve(p, cx) {
            Resolved::Value(
                FieldPath {
                    refs,
                    end: PathEnd::Field(f),
                    ..
                },
                Ty::Ref(Entity::Person),
            ) => {
                let mut refs = refs;
                refs.push(f);
                Some(PersonPath { text, refs })
            }
            Resolved::Error => None,
            Resolved::Value(_, ty) => {
                let help = match ty {
                    Ty::Ref(e) => {
                        let persons: Vec<String> = e
                            .def()
                            .fields
                            .iter()
                            .filter(|f| matches!(f.ty, FieldType::Ref(Entity::Person)))
                            .map(|f| format!("`{text}.{}`", f.name))
                            .collect();
                        format!("{} is not a person; did you mean {}?", e.a(), persons.join(" or "))
                    }
                    _ => "tasks and notices go to people: name a path to a person, such as `responsible` or `inspection.organization.secretary`".into(),
                };
                self.error(
                    Diagnostic::new(
                        Code::NotAPerson,
                        cx.file,
                        p.span.clone(),
                        format!("`{text}` is not a person"),
                    )
                    .label(format!("this is {}", ty.describe()))
                    .help(help),
                );
                None
            }
            Resolved::Collection(c) => {
                self.error(
                    Diagnostic::new(
                        Code::NotAPerson,
                        cx.file,
                        p.span.clone(),
                        format!("`{text}` is a collection, not a person"),
                    )
                    .label(format!("a list of {}s", c.element()))
                    .help("name one person, such as `responsible` or `organization.secretary`"),
                );
                None
            }
        }
    }

    // ─────────────────────────── expressions ───────────────────────────

    fn expr(&mut self, e: &ast::Expr, cx: &Cx) -> Expr {
        use ast::ExprKind as A;
        let mk = |kind: ExprKind, ty: Ty| Expr {
            kind,
            ty,
            file: cx.file,
            span: e.span.clone(),
        };
        match &e.kind {
            A::Number(n) => mk(ExprKind::Literal(Literal::Number(*n)), Ty::Number),
            A::Percent(n) => mk(ExprKind::Literal(Literal::Number(*n)), Ty::Number),
            A::Str(s) => mk(ExprKind::Literal(Literal::Text(s.clone())), Ty::Text),
            A::Bool(b) => mk(ExprKind::Literal(Literal::Bool(*b)), Ty::Bool),
            A::Date(d) => mk(ExprKind::Literal(Literal::Date(*d)), Ty::Date),
            A::Duration(d) => mk(ExprKind::Literal(Literal::Number(d.days())), Ty::Duration),
            A::Today => mk(ExprKind::Today, Ty::Date),
            A::Paren(inner) => {
                let mut x = self.expr(inner, cx);
                x.span = e.span.clone();
                x
            }
            A::Path(p) => match self.resolve(p, cx) {
                Resolved::Value(fp, ty) => mk(ExprKind::Field(fp), ty),
                Resolved::Collection(c) => {
                    let name = self.sources.text(cx.file, &p.span).to_string();
                    self.error(
                        Diagnostic::new(Code::TypeMismatch, cx.file, p.span.clone(), format!("`{name}` is a collection, not a value"))
                            .label(format!("a list of {}s", c.element()))
                            .help(format!("use it in a function: `count({name})`, `exists({name} where …)`, `rate({name} where …)`")),
                    );
                    error_expr(cx.file, e.span.clone())
                }
                Resolved::Error => error_expr(cx.file, e.span.clone()),
            },
            A::Unary { op, expr, .. } => {
                let x = self.expr(expr, cx);
                match op {
                    ast::UnaryOp::Not => {
                        self.expect_bool(&x, expr, cx, "`not` applies to a condition");
                        mk(ExprKind::Not(Box::new(x)), Ty::Bool)
                    }
                    ast::UnaryOp::Neg => {
                        if !x.ty.is_numeric() {
                            self.mismatch(cx, expr, &x, "a minus sign needs a number");
                        }
                        let ty = x.ty;
                        mk(ExprKind::Neg(Box::new(x)), ty)
                    }
                }
            }
            A::Binary {
                op,
                op_span,
                lhs,
                rhs,
            } => self.binary(e, *op, op_span, lhs, rhs, cx),
            A::In { expr, list, .. } => {
                let x = self.expr(expr, cx);
                let items: Vec<Expr> = list
                    .iter()
                    .map(|item| {
                        let y = self.expr(item, cx);
                        self.comparable(ast::BinaryOp::Eq, x.clone(), y, expr, item, cx)
                            .1
                    })
                    .collect();
                mk(ExprKind::In(Box::new(x), items), Ty::Bool)
            }
            A::Call { name, args } => self.call(e, name, args, cx),
        }
    }

    fn expect_bool(&mut self, x: &Expr, at: &ast::Expr, cx: &Cx, what: &str) {
        if !matches!(x.ty, Ty::Bool | Ty::Error) {
            self.mismatch(cx, at, x, what);
        }
    }

    fn mismatch(&mut self, cx: &Cx, at: &ast::Expr, x: &Expr, what: &str) {
        self.error(
            Diagnostic::new(
                Code::TypeMismatch,
                cx.file,
                at.span.clone(),
                what.to_string(),
            )
            .label(format!("this is {}", x.ty.describe())),
        );
    }

    fn binary(
        &mut self,
        e: &ast::Expr,
        op: ast::BinaryOp,
        op_span: &Span,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        cx: &Cx,
    ) -> Expr {
        use ast::BinaryOp as B;
        let l = self.expr(lhs, cx);
        let r = self.expr(rhs, cx);
        let mk = |kind: ExprKind, ty: Ty| Expr {
            kind,
            ty,
            file: cx.file,
            span: e.span.clone(),
        };
        match op {
            B::And | B::Or => {
                let word = if op == B::And { "and" } else { "or" };
                self.expect_bool(&l, lhs, cx, &format!("`{word}` joins conditions"));
                self.expect_bool(&r, rhs, cx, &format!("`{word}` joins conditions"));
                let kind = if op == B::And {
                    ExprKind::And(Box::new(l), Box::new(r))
                } else {
                    ExprKind::Or(Box::new(l), Box::new(r))
                };
                mk(kind, Ty::Bool)
            }
            B::Eq | B::Ne | B::Lt | B::Le | B::Gt | B::Ge => {
                let (l, r) = self.comparable(op, l, r, lhs, rhs, cx);
                self.warn_rate_as_number(cx, &l, &r, op_span);
                let cmp = match op {
                    B::Eq => CmpOp::Eq,
                    B::Ne => CmpOp::Ne,
                    B::Lt => CmpOp::Lt,
                    B::Le => CmpOp::Le,
                    B::Gt => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                mk(ExprKind::Compare(cmp, Box::new(l), Box::new(r)), Ty::Bool)
            }
            B::Add | B::Sub | B::Mul | B::Div => {
                let arith = match op {
                    B::Add => ArithOp::Add,
                    B::Sub => ArithOp::Sub,
                    B::Mul => ArithOp::Mul,
                    _ => ArithOp::Div,
                };
                let ty = self.arith_type(arith, &l, &r, e, op_span, cx);
                mk(ExprKind::Arith(arith, Box::new(l), Box::new(r)), ty)
            }
        }
    }

    fn arith_type(
        &mut self,
        op: ArithOp,
        l: &Expr,
        r: &Expr,
        e: &ast::Expr,
        op_span: &Span,
        cx: &Cx,
    ) -> Ty {
        use Ty::*;
        match (op, l.ty, r.ty) {
            (_, Error, _) | (_, _, Error) => Error,
            (ArithOp::Add, Date, Duration)
            | (ArithOp::Add, Duration, Date)
            | (ArithOp::Sub, Date, Duration) => Date,
            (ArithOp::Sub, Date, Date) => Number,
            (_, a, b) if a.is_numeric() && b.is_numeric() => {
                if a == Duration && b == Duration && matches!(op, ArithOp::Add | ArithOp::Sub) {
                    Duration
                } else {
                    Number
                }
            }
            (_, a, b) => {
                let help = if a == Date || b == Date {
                    "dates take durations: `deadline + 30 days`, `today - 2 weeks`; `date - date` is a number of days"
                } else {
                    "arithmetic works on numbers"
                };
                self.error(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        cx.file,
                        e.span.clone(),
                        format!(
                            "cannot {} {} and {}",
                            arith_word(op),
                            a.describe(),
                            b.describe()
                        ),
                    )
                    .label(format!(
                        "`{}` does not apply here",
                        self.sources.text(cx.file, op_span)
                    ))
                    .help(help),
                );
                Error
            }
        }
    }

    /// Checks that two sides can be compared with `op`; turns enum and task
    /// kind labels into codes.
    fn comparable(
        &mut self,
        op: ast::BinaryOp,
        l: Expr,
        r: Expr,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        cx: &Cx,
    ) -> (Expr, Expr) {
        use Ty::*;
        let ordering = !matches!(op, ast::BinaryOp::Eq | ast::BinaryOp::Ne);
        let l2 = self.coerce_literal(r.ty, l, lhs, cx);
        let r2 = self.coerce_literal(l2.ty, r, rhs, cx);
        let ok = match (l2.ty, r2.ty) {
            (Error, _) | (_, Error) => true,
            (a, b) if a.is_numeric() && b.is_numeric() => true,
            (Date, Date) | (Text, Text) => true,
            (Enum(a), Enum(b)) => a == b && !ordering,
            (TaskKind, TaskKind) | (TaskKind, Text) | (Text, TaskKind) => !ordering,
            (Ref(a), Ref(b)) => a == b && !ordering,
            (Ref(_), Text) | (Text, Ref(_)) => !ordering,
            (Bool, Bool) => !ordering,
            _ => false,
        };
        if !ok {
            let (a, b) = (l2.ty, r2.ty);
            let help = if matches!(a, Enum(_)) && matches!(b, Enum(_) | Text) && ordering {
                "enum values have no order; use `in [\"major\", \"serious\"]`".to_string()
            } else if (a == Date && b == Text) || (a == Text && b == Date) {
                "write dates without quotes: `deadline < 2026-01-31`".to_string()
            } else if (a == Date && b.is_numeric()) || (a.is_numeric() && b == Date) {
                "to compare a date with a number of days, use `days_since(date)` or `days_until(date)`".to_string()
            } else if ordering && a == b {
                format!("{} can only be compared with = and !=", a.describe())
            } else {
                "both sides of a comparison must be of the same type".to_string()
            };
            let message = match (a, b) {
                (Enum(e), Enum(_)) if ordering => format!("a {} has no order", e.name),
                _ if ordering && a == b => format!("{} has no order", a.describe()),
                _ => format!("cannot compare {} with {}", a.describe(), b.describe()),
            };
            self.error(
                Diagnostic::new(
                    Code::TypeMismatch,
                    cx.file,
                    lhs.span.start..rhs.span.end,
                    message,
                )
                .label("these do not compare")
                .help(help),
            );
        }
        (l2, r2)
    }

    /// A text literal compared with an enum or a task kind becomes its code;
    /// an unknown value is an error with the closest suggestion.
    fn coerce_literal(&mut self, target: Ty, e: Expr, at: &ast::Expr, cx: &Cx) -> Expr {
        let ExprKind::Literal(Literal::Text(s)) = &e.kind else {
            return e;
        };
        match target {
            Ty::Enum(def) => match def.code_of(s) {
                Some(code) => Expr {
                    kind: ExprKind::Literal(Literal::Text(code.to_string())),
                    ty: Ty::Enum(def),
                    ..e
                },
                None => {
                    let help = did_you_mean(s, def.spellings()).unwrap_or_else(|| {
                        format!(
                            "the values are {}",
                            def.values
                                .iter()
                                .map(|(c, l)| format!("\"{c}\" ({l})"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    });
                    self.error(
                        Diagnostic::new(
                            Code::UnknownEnumValue,
                            cx.file,
                            at.span.clone(),
                            format!("`{s}` is not a {}", def.name),
                        )
                        .label(format!("not one of the {} values", def.name))
                        .help(help),
                    );
                    error_expr(cx.file, at.span.clone())
                }
            },
            Ty::TaskKind => match self.task_kind(cx.file, s, &at.span) {
                Some(code) => Expr {
                    kind: ExprKind::Literal(Literal::Text(code)),
                    ty: Ty::TaskKind,
                    ..e
                },
                None => error_expr(cx.file, at.span.clone()),
            },
            _ => e,
        }
    }

    fn warn_rate_as_number(&mut self, cx: &Cx, l: &Expr, r: &Expr, op_span: &Span) {
        let big = |e: &Expr| matches!(e.kind, ExprKind::Literal(Literal::Number(n)) if n > 1.0);
        let (share, num) = if self.is_share(l) && big(r) {
            (l, r)
        } else if self.is_share(r) && big(l) {
            (r, l)
        } else {
            return;
        };
        let n = match num.kind {
            ExprKind::Literal(Literal::Number(n)) => n,
            _ => 0.0,
        };
        let _ = share;
        self.error(
            Diagnostic::new(
                Code::RateAsNumber,
                cx.file,
                num.span.clone(),
                format!("a share between 0 and 1 compared with {n}"),
            )
            .label(format!(
                "this comparison (`{}`) can never hold as meant",
                self.sources.text(cx.file, op_span)
            ))
            .help(format!(
                "rate(…) is a share from 0 to 1: did you mean `{n}%`?"
            )),
        );
    }

    fn is_share(&self, e: &Expr) -> bool {
        match &e.kind {
            ExprKind::Aggregate {
                func: AggFunc::Rate,
                ..
            } => true,
            ExprKind::Field(FieldPath {
                end: PathEnd::Define(i),
                ..
            }) => match self.defines.get(*i).map(|d| &d.state) {
                Some(DefineState::Done(x)) => self.is_share(x),
                _ => false,
            },
            _ => false,
        }
    }

    fn call(&mut self, e: &ast::Expr, name: &ast::Ident, args: &[ast::Arg], cx: &Cx) -> Expr {
        let Some(&(en, _, func)) = FUNCTIONS
            .iter()
            .find(|(en, zh, _)| *en == name.name || *zh == name.name)
        else {
            let names = FUNCTIONS.iter().flat_map(|(en, zh, _)| [*en, *zh]);
            let help = did_you_mean(&name.name, names).unwrap_or_else(|| {
                "the functions are count, exists, rate, sum, avg, min, max, days_since, days_until, present, missing".into()
            });
            self.error(
                Diagnostic::new(
                    Code::UnknownFunction,
                    cx.file,
                    name.span.clone(),
                    format!("unknown function `{}`", name.name),
                )
                .label("no function of this name")
                .help(help),
            );
            // Its arguments are not checked: what they should be is unknown.
            return error_expr(cx.file, e.span.clone());
        };
        let mk = |kind: ExprKind, ty: Ty| Expr {
            kind,
            ty,
            file: cx.file,
            span: e.span.clone(),
        };
        let arity_error = |this: &mut Self, want: &str| {
            this.error(
                Diagnostic::new(
                    Code::BadArguments,
                    cx.file,
                    e.span.clone(),
                    format!("`{}` takes {want}", name.name),
                )
                .label(format!(
                    "given {} argument{}",
                    args.len(),
                    if args.len() == 1 { "" } else { "s" }
                ))
                .help(usage(en)),
            );
            error_expr(cx.file, e.span.clone())
        };
        match func {
            Func::DaysSince | Func::DaysUntil | Func::Present | Func::Missing => {
                if args.len() != 1 {
                    return arity_error(self, "one argument");
                }
                if let Some((kw, _)) = &args[0].filter {
                    self.error(
                        Diagnostic::new(
                            Code::BadArguments,
                            cx.file,
                            kw.0.clone(),
                            format!(
                                "`{}` takes a value, not a collection with `where`",
                                name.name
                            ),
                        )
                        .help(usage(en)),
                    );
                }
                let x = self.expr(&args[0].expr, cx);
                match func {
                    Func::Present => mk(ExprKind::Present(Box::new(x)), Ty::Bool),
                    Func::Missing => mk(ExprKind::Missing(Box::new(x)), Ty::Bool),
                    _ => {
                        if !matches!(x.ty, Ty::Date | Ty::Error) {
                            self.error(
                                Diagnostic::new(
                                    Code::TypeMismatch,
                                    cx.file,
                                    args[0].expr.span.clone(),
                                    format!("`{}` needs a date", name.name),
                                )
                                .label(format!("this is {}", x.ty.describe()))
                                .help(usage(en)),
                            );
                        }
                        if func == Func::DaysSince {
                            mk(ExprKind::DaysSince(Box::new(x)), Ty::Number)
                        } else {
                            mk(ExprKind::DaysUntil(Box::new(x)), Ty::Number)
                        }
                    }
                }
            }
            Func::Agg(agg) => {
                let with_value = matches!(
                    agg,
                    AggFunc::Sum | AggFunc::Avg | AggFunc::Min | AggFunc::Max
                );
                let want = if with_value { 2 } else { 1 };
                if args.len() != want {
                    return arity_error(
                        self,
                        if with_value {
                            "a collection and a value: sum(inspections, count(problems))"
                        } else {
                            "one collection"
                        },
                    );
                }
                let Some(coll) = self.collection_arg(&args[0], cx, en) else {
                    return error_expr(cx.file, e.span.clone());
                };
                let mut inner = cx.clone();
                inner.scopes.push(coll.element());
                let filter = args[0].filter.as_ref().map(|(_, f)| {
                    let x = self.expr(f, &inner);
                    self.expect_bool(&x, f, &inner, "`where` takes a condition");
                    Box::new(x)
                });
                if agg == AggFunc::Rate && filter.is_none() {
                    self.error(
                        Diagnostic::new(Code::BadArguments, cx.file, args[0].span.clone(), "`rate` needs a condition: the share of the collection for which it holds")
                            .help("write e.g. `rate(problems where status = \"rectified\")`"),
                    );
                }
                let mut ty = match agg {
                    AggFunc::Exists => Ty::Bool,
                    _ => Ty::Number,
                };
                let value = if with_value {
                    if let Some((kw, _)) = &args[1].filter {
                        self.error(
                            Diagnostic::new(
                                Code::BadArguments,
                                cx.file,
                                kw.0.clone(),
                                "`where` belongs to the collection, the first argument",
                            )
                            .help(usage(en)),
                        );
                    }
                    let v = self.expr(&args[1].expr, &inner);
                    let fits = match agg {
                        AggFunc::Min | AggFunc::Max => v.ty.is_numeric() || v.ty == Ty::Date,
                        _ => v.ty.is_numeric(),
                    };
                    if !fits {
                        self.error(
                            Diagnostic::new(
                                Code::TypeMismatch,
                                cx.file,
                                args[1].expr.span.clone(),
                                format!(
                                    "`{}` needs a number{}",
                                    name.name,
                                    if matches!(agg, AggFunc::Min | AggFunc::Max) {
                                        " or a date"
                                    } else {
                                        ""
                                    }
                                ),
                            )
                            .label(format!("this is {}", v.ty.describe()))
                            .help(usage(en)),
                        );
                    }
                    if v.ty == Ty::Date && matches!(agg, AggFunc::Min | AggFunc::Max) {
                        ty = Ty::Date;
                    }
                    Some(Box::new(v))
                } else {
                    None
                };
                mk(
                    ExprKind::Aggregate {
                        func: agg,
                        coll,
                        filter,
                        value,
                    },
                    ty,
                )
            }
        }
    }

    fn collection_arg(&mut self, arg: &ast::Arg, cx: &Cx, func: &str) -> Option<CollPath> {
        let ast::ExprKind::Path(p) = &arg.expr.kind else {
            let x = self.expr(&arg.expr, cx);
            if x.ty != Ty::Error {
                self.not_a_collection(cx, &arg.expr.span, &x.ty.describe(), func);
            }
            return None;
        };
        match self.resolve(p, cx) {
            Resolved::Collection(c) => Some(c),
            Resolved::Value(_, ty) => {
                self.not_a_collection(cx, &p.span, &ty.describe(), func);
                None
            }
            Resolved::Error => None,
        }
    }

    fn not_a_collection(&mut self, cx: &Cx, span: &Span, what: &str, func: &str) {
        let entity = cx.scopes[cx.scopes.len() - 1];
        let colls: Vec<&str> = entity.def().collections.iter().map(|c| c.name).collect();
        let help = if colls.is_empty() {
            format!("{func} takes a collection, and {} has none", entity.a())
        } else {
            format!(
                "{func} takes a collection; {} has {}",
                entity.a(),
                colls.join(", ")
            )
        };
        self.error(
            Diagnostic::new(
                Code::NotACollection,
                cx.file,
                span.clone(),
                format!("`{}` is not a collection", self.sources.text(cx.file, span)),
            )
            .label(format!("this is {what}"))
            .help(help),
        );
    }

    // ───────────────────────────── paths ─────────────────────────────

    fn resolve(&mut self, p: &ast::Path, cx: &Cx) -> Resolved {
        let Some(first) = p.segments.first() else {
            return Resolved::Error;
        };
        // The innermost scope that knows the first name.
        let found = (0..cx.scopes.len())
            .rev()
            .find(|&s| self.knows(cx.scopes[s], &first.name));
        let Some(scope) = found else {
            self.unknown_member(cx, cx.scopes[cx.scopes.len() - 1], first, true);
            return Resolved::Error;
        };
        let mut entity = cx.scopes[scope];
        let mut refs: Vec<FieldId> = Vec::new();
        let last = p.segments.len() - 1;
        for (i, seg) in p.segments.iter().enumerate() {
            if let Some(f) = FieldId::of(entity, &seg.name) {
                let ty = field_ty(f);
                if i == last {
                    return Resolved::Value(
                        FieldPath {
                            scope,
                            refs,
                            end: PathEnd::Field(f),
                        },
                        ty,
                    );
                }
                match f.def().ty {
                    FieldType::Ref(next) => {
                        refs.push(f);
                        entity = next;
                    }
                    _ => {
                        let next = &p.segments[i + 1];
                        self.error(
                            Diagnostic::new(Code::UnknownField, cx.file, next.span.clone(), format!("`{}` is {}, it has no field `{}`", seg.name, ty.describe(), next.name))
                                .label("nothing to look into here")
                                .help(format!("only references (such as `inspection` or `responsible`) lead on to other records; `{}` ends the path", seg.name)),
                        );
                        return Resolved::Error;
                    }
                }
            } else if let Some(c) = CollId::of(entity, &seg.name) {
                if i == last {
                    return Resolved::Collection(CollPath {
                        scope,
                        refs,
                        coll: c,
                    });
                }
                let next = &p.segments[i + 1];
                self.error(
                    Diagnostic::new(
                        Code::UnknownField,
                        cx.file,
                        next.span.clone(),
                        format!(
                            "`{}` is a collection of {}s, it has no field `{}`",
                            seg.name,
                            c.def().element,
                            next.name
                        ),
                    )
                    .label("a collection holds many records")
                    .help(format!(
                        "look into its members with a function: `exists({} where {} …)`",
                        seg.name, next.name
                    )),
                );
                return Resolved::Error;
            } else if let Some(d) = self.find_define(entity, &seg.name) {
                let ty = self.define_expr(d, Some((cx.file, seg.span.clone())));
                if i == last {
                    return Resolved::Value(
                        FieldPath {
                            scope,
                            refs,
                            end: PathEnd::Define(d),
                        },
                        ty,
                    );
                }
                let next = &p.segments[i + 1];
                self.error(
                    Diagnostic::new(
                        Code::UnknownField,
                        cx.file,
                        next.span.clone(),
                        format!(
                            "`{}` is {}, it has no field `{}`",
                            seg.name,
                            ty.describe(),
                            next.name
                        ),
                    )
                    .help(format!("`{}` ends the path", seg.name)),
                );
                return Resolved::Error;
            } else if self
                .broken_defines
                .contains(&format!("{}.{}", entity.name(), seg.name))
            {
                return Resolved::Error;
            } else {
                self.unknown_member(cx, entity, seg, i == 0);
                return Resolved::Error;
            }
        }
        Resolved::Error
    }

    fn knows(&self, entity: Entity, name: &str) -> bool {
        entity.field(name).is_some()
            || entity.collection(name).is_some()
            || self.find_define(entity, name).is_some()
            || self
                .broken_defines
                .contains(&format!("{}.{name}", entity.name()))
    }

    fn unknown_member(&mut self, cx: &Cx, entity: Entity, seg: &ast::Ident, first: bool) {
        let mut names: Vec<String> = entity.member_names().map(String::from).collect();
        names.extend(
            self.defines
                .iter()
                .filter(|d| d.entity == entity)
                .map(|d| d.name.clone()),
        );
        if first {
            // Outer scopes are in reach too.
            for &outer in &cx.scopes[..cx.scopes.len() - 1] {
                names.extend(outer.member_names().map(String::from));
            }
        }
        let subject = cx.scopes[0].def();
        let subject_prefix = first && (seg.name == subject.name || seg.name == subject.zh);
        let help = if subject_prefix {
            Some(format!(
                "names in a rule for {0} are the {0}'s own fields: leave out `{1}.`",
                cx.scopes[0], seg.name
            ))
        } else {
            keyword_glued_hint(&seg.name)
                .or_else(|| did_you_mean(&seg.name, names.iter().map(String::as_str)))
        };
        let help = help.unwrap_or_else(|| {
            let d = entity.def();
            let fields: Vec<&str> = d
                .fields
                .iter()
                .map(|f| f.name)
                .chain(d.collections.iter().map(|c| c.name))
                .collect();
            format!("{} has: {}", entity.a(), fields.join(", "))
        });
        let scope_note = if first && cx.scopes.len() > 1 {
            format!(
                "unknown field `{}` on {entity} (nor on the records around it)",
                seg.name
            )
        } else {
            format!("unknown field `{}` on {entity}", seg.name)
        };
        self.error(
            Diagnostic::new(Code::UnknownField, cx.file, seg.span.clone(), scope_note)
                .label(format!("not a field of {entity}"))
                .help(help),
        );
    }

    // ───────────────────────────── warnings ─────────────────────────────

    fn warn_never_fires(&mut self, file: usize, w: &ast::Expr, e: &Expr, rule: &str) {
        if let Some(why) = contradiction(e) {
            self.error(
                Diagnostic::new(
                    Code::NeverFires,
                    file,
                    w.span.clone(),
                    format!("rule `{rule}` can never fire"),
                )
                .label(why.lines().last().unwrap_or("").trim().to_string())
                .help("check the bounds: no value satisfies all of them at once"),
            );
        }
    }

    fn warn_identical_rules(&mut self, rules: &[Rule]) {
        let mut groups: HashMap<(Entity, String), Vec<usize>> = HashMap::new();
        for (i, r) in rules.iter().enumerate() {
            groups
                .entry((r.entity, format!("{:?}", r.actions)))
                .or_default()
                .push(i);
        }
        let mut found = Vec::new();
        for idxs in groups.values() {
            for (n, &a) in idxs.iter().enumerate() {
                for &b in &idxs[n + 1..] {
                    if rules[a].when == rules[b].when {
                        let (first, second) = if (rules[a].file, rules[a].span.start)
                            < (rules[b].file, rules[b].span.start)
                        {
                            (a, b)
                        } else {
                            (b, a)
                        };
                        found.push((first, second));
                    }
                }
            }
        }
        found.sort();
        for (a, b) in found {
            let first = self.location(rules[a].file, &rules[a].span);
            self.error(
                Diagnostic::new(
                    Code::SameAsOtherRule,
                    rules[b].file,
                    rules[b].span.clone(),
                    format!(
                        "rule `{}` does the same as rule `{}`",
                        rules[b].name, rules[a].name
                    ),
                )
                .label("same subject, condition and actions")
                .help(format!(
                    "`{}` is at {first}; both would create the same tasks and notices",
                    rules[a].name
                )),
            );
        }
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
    match f.def().ty {
        FieldType::Text => Ty::Text,
        FieldType::Number => Ty::Number,
        FieldType::Date => Ty::Date,
        FieldType::Enum(e) => Ty::Enum(e),
        FieldType::Ref(e) => Ty::Ref(e),
        FieldType::TaskKind => Ty::TaskKind,
    }
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

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ',' || c == '<' || c == '>')
        && !domain.contains('@')
}

/// The facts a condition reads: the subject's fields and each collection
/// function or day count, outermost, labelled with their text.
pub fn facts_of(e: &Expr, sources: &SourceMap) -> Vec<Fact> {
    let mut out: Vec<Fact> = Vec::new();
    collect_facts(e, sources, &mut out);
    out
}

fn collect_facts(e: &Expr, sources: &SourceMap, out: &mut Vec<Fact>) {
    let mut push = |e: &Expr| {
        let label = fold_ws(sources.text(e.file, &e.span));
        if !out.iter().any(|f| f.label == label) {
            out.push(Fact {
                label,
                expr: e.clone(),
            });
        }
    };
    match &e.kind {
        ExprKind::Field(_)
        | ExprKind::Aggregate { .. }
        | ExprKind::DaysSince(_)
        | ExprKind::DaysUntil(_) => push(e),
        ExprKind::Literal(_) | ExprKind::Today => {}
        ExprKind::Not(x) | ExprKind::Neg(x) | ExprKind::Present(x) | ExprKind::Missing(x) => {
            collect_facts(x, sources, out)
        }
        ExprKind::And(a, b)
        | ExprKind::Or(a, b)
        | ExprKind::Compare(_, a, b)
        | ExprKind::Arith(_, a, b) => {
            collect_facts(a, sources, out);
            collect_facts(b, sources, out);
        }
        ExprKind::In(x, items) => {
            collect_facts(x, sources, out);
            for i in items {
                collect_facts(i, sources, out);
            }
        }
    }
}

/// Why a condition can never hold, if a plain reading of its `and`-ed
/// comparisons of one value with constants shows it.
fn contradiction(e: &Expr) -> Option<String> {
    let conjuncts = e.conjuncts();
    if conjuncts
        .iter()
        .any(|c| matches!(c.kind, ExprKind::Literal(Literal::Bool(false))))
    {
        return Some("the condition contains `false`".into());
    }
    // Numeric bounds per field: (low, low inclusive, high, high inclusive).
    let mut bounds: Vec<(&FieldPath, f64, bool, f64, bool)> = Vec::new();
    let mut equals: Vec<(&FieldPath, &str)> = Vec::new();
    for c in conjuncts {
        let ExprKind::Compare(op, l, r) = &c.kind else {
            continue;
        };
        let (path, op, lit) = match (&l.kind, &r.kind) {
            (ExprKind::Field(p), ExprKind::Literal(lit)) => (p, *op, lit),
            (ExprKind::Literal(lit), ExprKind::Field(p)) => (p, op.flipped(), lit),
            _ => continue,
        };
        match lit {
            Literal::Number(n) => {
                let n = *n;
                let entry = match bounds.iter_mut().find(|b| b.0 == path) {
                    Some(b) => b,
                    None => {
                        bounds.push((path, f64::NEG_INFINITY, false, f64::INFINITY, false));
                        let last = bounds.len() - 1;
                        &mut bounds[last]
                    }
                };
                let (lo, hi) = match op {
                    CmpOp::Gt => (Some((n, false)), None),
                    CmpOp::Ge => (Some((n, true)), None),
                    CmpOp::Lt => (None, Some((n, false))),
                    CmpOp::Le => (None, Some((n, true))),
                    CmpOp::Eq => (Some((n, true)), Some((n, true))),
                    CmpOp::Ne => (None, None),
                };
                if let Some((v, inc)) = lo
                    && (v > entry.1 || (v == entry.1 && !inc))
                {
                    entry.1 = v;
                    entry.2 = inc;
                }
                if let Some((v, inc)) = hi
                    && (v < entry.3 || (v == entry.3 && !inc))
                {
                    entry.3 = v;
                    entry.4 = inc;
                }
                if entry.1 > entry.3 || (entry.1 == entry.3 && !(entry.2 && entry.4)) {
                    return Some("no number satisfies these bounds together".into());
                }
            }
            Literal::Text(s) if op == CmpOp::Eq => {
                if let Some((_, other)) = equals.iter().find(|(p, _)| *p == path)
                    && *other != s
                {
                    return Some(format!("one value cannot be both \"{other}\" and \"{s}\""));
                }
                equals.push((path, s));
            }
            _ => {}
        }
    }
    None
}
