//! The spanned syntax tree of one policy file, as the user wrote it.
//!
//! It keeps every keyword's span (so the formatter can reproduce the user's
//! spelling, English or Chinese), every literal's text, and the comments.
//! Names are not resolved here; that is the checker's job (`check.rs`).

use std::ops::Range;

/// Byte offsets into one file's text.
pub type Span = Range<usize>;

/// A keyword as written: its span in the source. The formatter copies its
/// text, so `规则` stays `规则` and `→` stays `→`.
#[derive(Debug, Clone, PartialEq)]
pub struct Kw(pub Span);

#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A string literal: its decoded value and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Str {
    pub value: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    pub items: Vec<Item>,
    pub comments: Vec<Comment>,
    /// Items that failed to parse, as far as their keyword and name can be
    /// read: the checker does not report uses of these names as unknown.
    pub broken: Vec<BrokenItem>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BrokenItem {
    /// The item keyword in English (`template`, `define` …).
    pub keyword: &'static str,
    /// The name after it; for a define, `entity.field`.
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Policy(PolicyDecl),
    TaskType(TaskTypeDecl),
    Define(DefineDecl),
    Template(TemplateDecl),
    Rule(RuleDecl),
}

impl Item {
    pub fn span(&self) -> &Span {
        match self {
            Item::Policy(d) => &d.span,
            Item::TaskType(d) => &d.span,
            Item::Define(d) => &d.span,
            Item::Template(d) => &d.span,
            Item::Rule(d) => &d.span,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDecl {
    pub kw: Kw,
    pub name: Str,
    pub options: Vec<PolicyOption>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PolicyOption {
    Timezone(Kw, Str),
    /// The cron text, and `on workdays` when written.
    Schedule(Kw, Str, Option<Kw>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskTypeDecl {
    pub kw: Kw,
    pub name: Ident,
    pub label: Str,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DefineDecl {
    pub kw: Kw,
    pub entity: Ident,
    pub field: Ident,
    /// How people read the value (`"整改率"`), if given.
    pub title: Option<Str>,
    pub expr: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TemplateDecl {
    pub kw: Kw,
    pub name: Ident,
    pub parts: Vec<TemplatePart>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TemplatePart {
    Subject(Kw, Str),
    Body(Kw, Str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RuleDecl {
    pub kw: Kw,
    pub name: Ident,
    pub title: Option<Str>,
    pub clauses: Vec<Clause>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub kind: ClauseKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClauseKind {
    /// The cron text, and `on workdays` when written.
    Schedule(Kw, Str, Option<Kw>),
    For(Kw, Ident),
    When(Kw, Expr),
    Then(Kw, Action),
    Repeat(Kw, Kw, Duration),
    /// `approval by APPROVER [within DURATION]`.
    Approval {
        kw: Kw,
        by: Kw,
        approver: Approver,
        within: Option<(Kw, Duration)>,
    },
    /// `harsh` (严厉措施): a harsh step, decided only when confirmed twice.
    Harsh(Kw),
}

/// Who approves: a person path from the subject, or a person's id.
#[derive(Debug, Clone, PartialEq)]
pub enum Approver {
    Path(Path),
    Id(Str),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Task {
        kw: Kw,
        kind: Ident,
        with: Kw,
        target: Path,
        by: Option<(Kw, Path)>,
        due: Option<(Kw, Duration)>,
    },
    Notify {
        kw: Kw,
        to: Vec<Recipient>,
        /// `channel NAME [mentioning …]` instead of recipients.
        channel: Option<ChannelPart>,
        using: Option<(Kw, Ident)>,
    },
}

/// `channel office mentioning responsible, inspection.organization.secretary`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelPart {
    pub kw: Kw,
    /// The channel's name (from an identifier or a string; the span is the
    /// text as written).
    pub name: Ident,
    pub mentioning: Option<(Kw, Vec<Path>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Recipient {
    Person(Path),
    Email(Str),
}

/// A dotted name: `inspection.organization.name`.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub segments: Vec<Ident>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Days,
    Weeks,
    /// Working days, by the office's calendar.
    Workdays,
}

/// `30 days`, `2 weeks`, `7 天`.
#[derive(Debug, Clone, PartialEq)]
pub struct Duration {
    /// The number as written.
    pub amount: Span,
    pub value: f64,
    pub unit: Unit,
    pub unit_kw: Kw,
    pub span: Span,
}

impl Duration {
    pub fn days(&self) -> f64 {
        match self.unit {
            Unit::Days | Unit::Workdays => self.value,
            Unit::Weeks => self.value * 7.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
}

impl BinaryOp {
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
        )
    }

    pub fn is_arithmetic(self) -> bool {
        matches!(
            self,
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div
        )
    }

    /// The canonical ASCII spelling, for operators that have no keyword.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "=",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A number as written and its value.
    Number(f64),
    /// `70%`: the value is 0.7.
    Percent(f64),
    Str(String),
    Bool(bool),
    Date(chrono::NaiveDate),
    Duration(Duration),
    Today,
    Path(Path),
    Call {
        name: Ident,
        args: Vec<Arg>,
    },
    Unary {
        op: UnaryOp,
        op_span: Span,
        expr: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        op_span: Span,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    In {
        expr: Box<Expr>,
        kw: Kw,
        list: Vec<Expr>,
    },
    Paren(Box<Expr>),
}

/// One argument of a call: `problems where status = "open"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub expr: Expr,
    pub filter: Option<(Kw, Expr)>,
    pub span: Span,
}
