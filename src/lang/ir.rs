//! The checked, typed policy: every name resolved against the schema, every
//! enum and task kind turned into its code, every type known. The SQL
//! compiler and the reference interpreter both consume exactly this.

use super::ast::Span;
use super::diagnostics::SourceMap;
use crate::schema::{CollectionDef, Entity, EnumDef, FieldDef};

/// A field of an entity, by position in the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldId {
    pub entity: Entity,
    pub index: u8,
}

/// Whether `e` is a share in 0..1: a `rate`, or a define of one, whose
/// expression `define` gives (the checker's as it checks, the policy's
/// once checked).
pub fn is_share<'d>(e: &Expr, define: &dyn Fn(usize) -> Option<&'d Expr>) -> bool {
    match &e.kind {
        ExprKind::Aggregate {
            func: AggFunc::Rate,
            ..
        } => true,
        ExprKind::Field(FieldPath {
            end: PathEnd::Define(i),
            ..
        }) => define(*i).is_some_and(|x| is_share(x, define)),
        _ => false,
    }
}

impl Ty {
    /// The type of a schema field's value: the one mapping from the
    /// schema's field types to the language's.
    pub fn of_field(t: crate::schema::FieldType) -> Ty {
        use crate::schema::FieldType;
        match t {
            FieldType::Text => Ty::Text,
            FieldType::Number => Ty::Number,
            FieldType::Date => Ty::Date,
            FieldType::Enum(e) => Ty::Enum(e),
            FieldType::Ref(e) => Ty::Ref(e),
            FieldType::TaskKind => Ty::TaskKind,
        }
    }
}

impl FieldId {
    pub fn def(self) -> &'static FieldDef {
        &self.entity.def().fields[self.index as usize]
    }

    pub fn of(entity: Entity, name: &str) -> Option<FieldId> {
        let pos = entity
            .def()
            .fields
            .iter()
            .position(|f| f.name == name || f.zh == name)?;
        Some(FieldId {
            entity,
            index: u8::try_from(pos).ok()?,
        })
    }
}

/// A collection of an entity, by position in the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CollId {
    pub entity: Entity,
    pub index: u8,
}

impl CollId {
    pub fn def(self) -> &'static CollectionDef {
        &self.entity.def().collections[self.index as usize]
    }

    pub fn of(entity: Entity, name: &str) -> Option<CollId> {
        let pos = entity
            .def()
            .collections
            .iter()
            .position(|c| c.name == name || c.zh == name)?;
        Some(CollId {
            entity,
            index: u8::try_from(pos).ok()?,
        })
    }
}

/// The type of an expression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ty {
    Bool,
    Number,
    /// A duration literal: a number of days.
    Duration,
    Text,
    Date,
    Enum(&'static EnumDef),
    TaskKind,
    Ref(Entity),
    /// The type of an expression that already has an error: compatible with
    /// everything, so one mistake gives one diagnostic.
    Error,
}

impl Ty {
    pub fn describe(self) -> String {
        match self {
            Ty::Bool => "a condition (true/false)".into(),
            Ty::Number => "a number".into(),
            Ty::Duration => "a duration".into(),
            Ty::Text => "text".into(),
            Ty::Date => "a date".into(),
            Ty::Enum(e) => format!("a {} ({})", e.name, list_codes(e)),
            Ty::TaskKind => "a task kind".into(),
            Ty::Ref(e) => format!("a reference to {}", e.a()),
            Ty::Error => "unknown".into(),
        }
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, Ty::Number | Ty::Duration | Ty::Error)
    }
}

fn list_codes(e: &EnumDef) -> String {
    e.values
        .iter()
        .map(|(c, l)| format!("{c} {l}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl PartialEq for &'static EnumDef {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(*self, *other)
    }
}

/// A checked policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: Option<String>,
    /// IANA time zone, if the policy names one.
    pub timezone: Option<String>,
    /// The zone of `today`: the policy's own, else the configuration's
    /// (see [`Policy::resolve_timezone`]; UTC until resolved).
    pub tz: chrono_tz::Tz,
    /// Default cron schedule (6 fields, seconds first).
    pub schedule: Option<Schedule>,
    /// Task kinds declared with `tasktype` (the standard ones live in the
    /// schema).
    pub task_kinds: Vec<TaskKind>,
    pub defines: Vec<Define>,
    pub templates: Vec<Template>,
    pub rules: Vec<Rule>,
    /// `sha256:…` of every file's name and text, in order.
    pub hash: String,
    pub sources: SourceMap,
}

impl Policy {
    /// Decides the zone of `today` once: the policy's `timezone`, else
    /// `config`'s. Every command reads [`Policy::tz`] afterwards, so `run`,
    /// `status` and `tasks list` agree on what day it is.
    pub fn resolve_timezone(&mut self, config: chrono_tz::Tz) {
        self.tz = self
            .timezone
            .as_deref()
            .and_then(|t| t.parse().ok())
            .unwrap_or(config);
    }

    /// Whether the value of `e` can change with `today` alone, the data
    /// held still: it reads `today`, a day count or a derived field
    /// counted in days, here or in a define or collection it uses.
    pub fn depends_on_today(&self, e: &Expr) -> bool {
        match &e.kind {
            ExprKind::Literal(_) => false,
            ExprKind::Today
            | ExprKind::DaysSince(_)
            | ExprKind::DaysUntil(_)
            | ExprKind::WorkdaysSince(_)
            | ExprKind::WorkdaysUntil(_) => true,
            ExprKind::Field(p) => match p.end {
                PathEnd::Field(f) => f.def().derived.is_some(),
                PathEnd::Define(i) => self
                    .defines
                    .get(i)
                    .is_some_and(|d| self.depends_on_today(&d.expr)),
            },
            ExprKind::Not(x) | ExprKind::Neg(x) | ExprKind::Present(x) | ExprKind::Missing(x) => {
                self.depends_on_today(x)
            }
            ExprKind::And(a, b)
            | ExprKind::Or(a, b)
            | ExprKind::Compare(_, a, b)
            | ExprKind::Arith(_, a, b) => self.depends_on_today(a) || self.depends_on_today(b),
            ExprKind::In(x, items) => {
                self.depends_on_today(x) || items.iter().any(|i| self.depends_on_today(i))
            }
            ExprKind::Aggregate { filter, value, .. } => {
                filter.as_deref().is_some_and(|f| self.depends_on_today(f))
                    || value.as_deref().is_some_and(|v| self.depends_on_today(v))
            }
        }
    }

    /// Whether `e` is a share in 0..1 (a `rate`, or a define of one),
    /// shown as a percentage.
    pub fn is_share(&self, e: &Expr) -> bool {
        is_share(e, &|i| self.defines.get(i).map(|d| &d.expr))
    }

    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    pub fn template(&self, name: &str) -> Option<&Template> {
        self.templates.iter().find(|t| t.name == name)
    }

    /// The label of a task kind code (standard or declared).
    pub fn task_kind_label(&self, code: &str) -> Option<String> {
        crate::schema::standard_task_kind(code)
            .map(|(_, l)| l.to_string())
            .or_else(|| {
                self.task_kinds
                    .iter()
                    .find(|k| k.code == code)
                    .map(|k| k.label.clone())
            })
    }

    /// The source text of an expression, whitespace folded.
    pub fn text_of(&self, e: &Expr) -> String {
        fold_ws(self.sources.text(e.file, &e.span))
    }
}

pub fn fold_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskKind {
    pub code: String,
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct Define {
    pub entity: Entity,
    pub name: String,
    /// How people read the value (`整改率`), if the define gives it.
    pub title: Option<String>,
    pub expr: Expr,
}

/// A notice template; `{{ paths }}` are rooted at the entity name.
#[derive(Debug, Clone)]
pub struct Template {
    pub name: String,
    pub subject: String,
    pub body: String,
    /// The entity its paths are rooted at, if it uses any.
    pub entity: Option<Entity>,
    /// Every record path it reads, resolved.
    pub paths: Vec<TemplatePath>,
    /// It reads `recipient.name`: rendered once per recipient, each
    /// notice to one person.
    pub per_recipient: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TemplatePath {
    /// As written, rooted at the entity (`problem.inspection.organization.name`).
    pub text: String,
    pub path: FieldPath,
}

/// When a rule is evaluated: cron, and whether days off are skipped
/// (`on workdays`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub cron: String,
    pub workdays: bool,
}

/// A span of days in `due` and `repeat every`: calendar days, or working
/// days by the office's calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Days {
    pub count: i64,
    pub working: bool,
}

impl Days {
    /// `7 days`, `5 workdays`: as stored with a pending task.
    pub fn text(self) -> String {
        format!(
            "{} {}",
            self.count,
            if self.working { "workdays" } else { "days" }
        )
    }

    /// The span [`Days::text`] wrote.
    pub fn parse(text: &str) -> Option<Days> {
        let (n, unit) = text.trim().split_once(' ')?;
        Some(Days {
            count: n.parse().ok()?,
            working: match unit {
                "days" => false,
                "workdays" => true,
                _ => return None,
            },
        })
    }
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub title: Option<String>,
    pub entity: Entity,
    /// Cron (6 fields, seconds first), if the rule gives its own.
    pub schedule: Option<Schedule>,
    pub when: Expr,
    pub actions: Vec<Action>,
    pub repeat: Option<Days>,
    /// `approval by …`: the firing's tasks and notices wait for a decision.
    pub approval: Option<Approval>,
    /// `harsh` (严厉措施): approving its requests asks for a second
    /// confirmation on the workbench.
    pub harsh: bool,
    /// What the condition reads, recorded in the audit of each firing.
    pub facts: Vec<Fact>,
    pub file: usize,
    pub span: Span,
}

/// `approval by APPROVER [within DAYS]` (SPEC §9).
#[derive(Debug, Clone, PartialEq)]
pub struct Approval {
    pub approver: Approver,
    /// After this the approver is reminded once and `status` shows the
    /// request overdue.
    pub within: Option<Days>,
}

/// Who approves a rule's firings.
#[derive(Debug, Clone, PartialEq)]
pub enum Approver {
    /// A person path from the subject (`inspection.organization.secretary`).
    Path(PersonPath),
    /// A person's id, the same for every firing.
    Id(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    pub label: String,
    pub expr: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Task {
        kind: String,
        target: PersonPath,
        /// Given with `by`, or the subject's organization's discipline officer.
        assignee: PersonPath,
        due: Days,
    },
    /// An email to `to`; or, with `channel`, a message to a chat group
    /// mentioning the persons in `to`.
    Notify {
        to: Vec<Recipient>,
        template: Option<String>,
        channel: Option<ChannelRef>,
    },
}

/// A chat channel a rule posts to, by its name in `duban.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelRef {
    pub name: String,
    pub file: usize,
    pub span: Span,
}

/// A path from the subject to a person.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonPath {
    pub text: String,
    pub refs: Vec<FieldId>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Recipient {
    Person(PersonPath),
    Email(String),
}

#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Ty,
    pub file: usize,
    pub span: Span,
}

impl Expr {
    /// The expressions directly under this one (a define's own expression
    /// is not under a reference to it).
    pub fn children(&self) -> Vec<&Expr> {
        match &self.kind {
            ExprKind::Literal(_) | ExprKind::Today | ExprKind::Field(_) => Vec::new(),
            ExprKind::Not(x)
            | ExprKind::Neg(x)
            | ExprKind::Present(x)
            | ExprKind::Missing(x)
            | ExprKind::DaysSince(x)
            | ExprKind::DaysUntil(x)
            | ExprKind::WorkdaysSince(x)
            | ExprKind::WorkdaysUntil(x) => vec![x],
            ExprKind::And(a, b)
            | ExprKind::Or(a, b)
            | ExprKind::Compare(_, a, b)
            | ExprKind::Arith(_, a, b) => vec![a, b],
            ExprKind::In(x, items) => std::iter::once(&**x).chain(items).collect(),
            ExprKind::Aggregate { filter, value, .. } => {
                filter.iter().chain(value.iter()).map(|b| &**b).collect()
            }
        }
    }

    /// The parts joined by `and` at the top of a condition.
    pub fn conjuncts(&self) -> Vec<&Expr> {
        match &self.kind {
            ExprKind::And(a, b) => {
                let mut v = a.conjuncts();
                v.extend(b.conjuncts());
                v
            }
            _ => vec![self],
        }
    }
}

/// Two expressions are equal when they compute the same thing, wherever
/// they stand.
impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// The operator with its operands swapped: `a < b` is `b > a`.
    pub fn flipped(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            other => other,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    Count,
    Exists,
    Rate,
    Sum,
    Avg,
    Min,
    Max,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Number(f64),
    Text(String),
    Bool(bool),
    Date(chrono::NaiveDate),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Literal(Literal),
    Today,
    Field(FieldPath),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    /// False when either side is missing (also `!=`).
    Compare(CmpOp, Box<Expr>, Box<Expr>),
    /// Missing when either side is missing; `date ± days`, `date - date`.
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    /// False when the value is missing.
    In(Box<Expr>, Vec<Expr>),
    Present(Box<Expr>),
    Missing(Box<Expr>),
    DaysSince(Box<Expr>),
    DaysUntil(Box<Expr>),
    /// Working days d with DATE < d ≤ today (by the office's calendar).
    WorkdaysSince(Box<Expr>),
    /// Working days d with today < d ≤ DATE.
    WorkdaysUntil(Box<Expr>),
    Aggregate {
        func: AggFunc,
        coll: CollPath,
        filter: Option<Box<Expr>>,
        value: Option<Box<Expr>>,
    },
}

/// A value reached from a record in scope: through zero or more references
/// to a field or a define.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldPath {
    /// 0 is the rule's subject (or the define's record); each collection
    /// function's element opens the next scope.
    pub scope: usize,
    pub refs: Vec<FieldId>,
    pub end: PathEnd,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PathEnd {
    Field(FieldId),
    /// Index into `Policy::defines`.
    Define(usize),
}

/// A collection reached from a record in scope.
#[derive(Debug, Clone, PartialEq)]
pub struct CollPath {
    pub scope: usize,
    pub refs: Vec<FieldId>,
    pub coll: CollId,
}

impl CollPath {
    pub fn element(&self) -> Entity {
        self.coll.def().element
    }
}
