//! Diagnostics as data: a stable code, a severity, a span, a message, a label
//! and a help line. Rendered with the source line and a caret for people
//! (ariadne), or as JSON for tools. No I/O here: rendering returns strings.

use super::ast::Span;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// Every diagnostic duban's checker can give, with its stable code.
/// `docs/LANGUAGE.md` lists them; never renumber one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Syntax,
    BadLiteral,
    TooDeep,
    UnknownEntity,
    UnknownField,
    UnknownFunction,
    UnknownTemplate,
    UnknownTaskKind,
    UnknownEnumValue,
    UnknownTemplatePath,
    UnknownChannel,
    TypeMismatch,
    BadArguments,
    NotAPerson,
    NotACollection,
    NotASubject,
    Duplicate,
    MissingClause,
    RepeatedClause,
    BadCron,
    BadTimezone,
    BadTemplate,
    BadEmail,
    BadDefine,
    NeverFires,
    SameAsOtherRule,
    RateAsNumber,
    Overlap,
    Shadowed,
    UnreachableStep,
}

impl Code {
    pub const ALL: &'static [Code] = &[
        Code::Syntax,
        Code::BadLiteral,
        Code::TooDeep,
        Code::UnknownEntity,
        Code::UnknownField,
        Code::UnknownFunction,
        Code::UnknownTemplate,
        Code::UnknownTaskKind,
        Code::UnknownEnumValue,
        Code::UnknownTemplatePath,
        Code::UnknownChannel,
        Code::TypeMismatch,
        Code::BadArguments,
        Code::NotAPerson,
        Code::NotACollection,
        Code::NotASubject,
        Code::Duplicate,
        Code::MissingClause,
        Code::RepeatedClause,
        Code::BadCron,
        Code::BadTimezone,
        Code::BadTemplate,
        Code::BadEmail,
        Code::BadDefine,
        Code::NeverFires,
        Code::SameAsOtherRule,
        Code::RateAsNumber,
        Code::Overlap,
        Code::Shadowed,
        Code::UnreachableStep,
    ];

    /// The stable identifier users search for.
    pub fn id(self) -> &'static str {
        match self {
            Code::Syntax => "E001",
            Code::BadLiteral => "E002",
            Code::TooDeep => "E003",
            Code::UnknownEntity => "E100",
            Code::UnknownField => "E101",
            Code::UnknownFunction => "E102",
            Code::UnknownTemplate => "E103",
            Code::UnknownTaskKind => "E104",
            Code::UnknownEnumValue => "E105",
            Code::UnknownTemplatePath => "E106",
            Code::UnknownChannel => "E107",
            Code::TypeMismatch => "E200",
            Code::BadArguments => "E201",
            Code::NotAPerson => "E202",
            Code::NotACollection => "E203",
            Code::NotASubject => "E204",
            Code::Duplicate => "E300",
            Code::MissingClause => "E301",
            Code::RepeatedClause => "E302",
            Code::BadCron => "E400",
            Code::BadTimezone => "E401",
            Code::BadTemplate => "E402",
            Code::BadEmail => "E403",
            Code::BadDefine => "E404",
            Code::NeverFires => "W001",
            Code::SameAsOtherRule => "W002",
            Code::RateAsNumber => "W003",
            Code::Overlap => "W010",
            Code::Shadowed => "W011",
            Code::UnreachableStep => "W012",
        }
    }

    pub fn severity(self) -> Severity {
        if self.id().starts_with('W') {
            Severity::Warning
        } else {
            Severity::Error
        }
    }

    /// One line on what the code means, for the docs.
    pub fn summary(self) -> &'static str {
        match self {
            Code::Syntax => "the text does not follow the grammar",
            Code::BadLiteral => "a date or number that does not exist (2026-13-01)",
            Code::TooDeep => {
                "an expression nested or chained beyond duban's limits (32 brackets, 256 terms, 300 levels)"
            }
            Code::UnknownEntity => "`for` or `define` names no entity of the case schema",
            Code::UnknownField => "a name that is no field, collection or define of the record",
            Code::UnknownFunction => "a call of a function duban does not have",
            Code::UnknownTemplate => "`using` names no template",
            Code::UnknownTaskKind => "`task` names no standard task kind and no `tasktype`",
            Code::UnknownEnumValue => "an enum compared with a value it cannot take",
            Code::UnknownTemplatePath => "a `{{ path }}` in a template that does not exist",
            Code::UnknownChannel => "`notify channel` names no `[[channel]]` of duban.toml",
            Code::TypeMismatch => "operands of different types (a date compared with a number …)",
            Code::BadArguments => "a call with the wrong number or kind of arguments",
            Code::NotAPerson => "an action path that does not lead to a person",
            Code::NotACollection => "a collection function applied to something else",
            Code::NotASubject => "a rule `for` an entity that cannot be a task's subject",
            Code::Duplicate => "two rules, defines, templates or task types of one name",
            Code::MissingClause => "a rule without `for`, `when` or `then`",
            Code::RepeatedClause => "a clause that may appear once appears twice",
            Code::BadCron => "a schedule that is not a valid cron expression",
            Code::BadTimezone => "a time zone that is not an IANA name",
            Code::BadTemplate => "template text that is not valid template syntax",
            Code::BadEmail => "a notify address that is not an email address",
            Code::BadDefine => "a define that cannot be computed (a cycle, a collection value)",
            Code::NeverFires => "a rule whose condition can never hold",
            Code::SameAsOtherRule => "two rules with the same subject, condition and actions",
            Code::RateAsNumber => "a share (0..1) compared with a number above 1",
            Code::Overlap => {
                "two rules that can hold for one subject and give one person the same kind of task, or both notify them (`check --analyze`)"
            }
            Code::Shadowed => {
                "a rule that holds only where another holds that does all it does (`check --analyze`)"
            }
            Code::UnreachableStep => {
                "a rule waiting on a kind of task that no rule creates (`check --analyze`)"
            }
        }
    }
}

/// One finding of the parser or checker.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub code: Code,
    /// Index into the [`SourceMap`].
    pub file: usize,
    pub span: Span,
    pub message: String,
    /// A short text under the caret.
    pub label: Option<String>,
    pub help: Option<String>,
    /// Other places the finding names (the second rule of an overlap).
    pub related: Vec<(usize, Span, String)>,
}

impl Diagnostic {
    pub fn new(code: Code, file: usize, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            file,
            span,
            message: message.into(),
            label: None,
            help: None,
            related: Vec::new(),
        }
    }

    pub fn related(mut self, file: usize, span: Span, label: impl Into<String>) -> Self {
        self.related.push((file, span, label.into()));
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn help_opt(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    pub fn severity(&self) -> Severity {
        self.code.severity()
    }

    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }
}

/// The texts diagnostics point into.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    pub files: Vec<SourceFile>,
}

#[derive(Debug, Clone)]
pub struct SourceFile {
    /// As the user should see it (relative where it was given relative).
    pub name: String,
    pub text: String,
    /// Built once, on the first diagnostic rendered or located in the
    /// file: rendering stays linear in the number of diagnostics.
    lines: std::sync::OnceLock<Vec<usize>>,
    rendered: std::sync::OnceLock<ariadne::Source<String>>,
}

impl SourceFile {
    /// Byte offsets where the lines begin.
    fn line_starts(&self) -> &[usize] {
        self.lines.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        })
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let starts = self.line_starts();
        let line = starts.partition_point(|&s| s <= offset).max(1);
        let start = starts[line - 1];
        (line, self.text[start..offset].chars().count() + 1)
    }
}

impl SourceMap {
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> usize {
        self.files.push(SourceFile {
            name: name.into(),
            text: text.into(),
            lines: std::sync::OnceLock::new(),
            rendered: std::sync::OnceLock::new(),
        });
        self.files.len() - 1
    }

    pub fn text(&self, file: usize, span: &Span) -> &str {
        self.files
            .get(file)
            .and_then(|f| f.text.get(span.clone()))
            .unwrap_or("")
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, file: usize, offset: usize) -> (usize, usize) {
        match self.files.get(file) {
            Some(f) => f.line_col(offset),
            None => (1, 1),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = text[line_start..offset].chars().count() + 1;
    (line, column)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The machine-readable form of a diagnostic (`--format json`).
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic<'a> {
    pub code: &'static str,
    pub severity: Severity,
    pub message: &'a str,
    pub file: &'a str,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<JsonPlace<'a>>,
}

/// Another place a diagnostic names.
#[derive(Debug, Serialize)]
pub struct JsonPlace<'a> {
    pub file: &'a str,
    pub line: usize,
    pub column: usize,
    pub label: &'a str,
}

impl SourceMap {
    pub fn to_json<'a>(&'a self, d: &'a Diagnostic) -> JsonDiagnostic<'a> {
        let (line, column) = self.line_col(d.file, d.span.start);
        let (end_line, end_column) = self.line_col(d.file, d.span.end);
        JsonDiagnostic {
            code: d.code.id(),
            severity: d.severity(),
            message: &d.message,
            file: self
                .files
                .get(d.file)
                .map(|f| f.name.as_str())
                .unwrap_or(""),
            line,
            column,
            end_line,
            end_column,
            label: d.label.as_deref(),
            help: d.help.as_deref(),
            related: d
                .related
                .iter()
                .map(|(f, s, l)| {
                    let (line, column) = self.line_col(*f, s.start);
                    JsonPlace {
                        file: self.files.get(*f).map(|f| f.name.as_str()).unwrap_or(""),
                        line,
                        column,
                        label: l,
                    }
                })
                .collect(),
        }
    }

    /// The human form: header with file:line:column, the source line and a
    /// caret under the span, then the help.
    pub fn render(&self, d: &Diagnostic, color: bool) -> String {
        use ariadne::{Config, IndexType, Label, Report, ReportKind, Source};
        let Some(file) = self.files.get(d.file) else {
            return format!("{}[{}]: {}\n", severity_word(d), d.code.id(), d.message);
        };
        let len = file.text.len();
        let start = floor_char_boundary(&file.text, d.span.start.min(len));
        let end = floor_char_boundary(&file.text, d.span.end.clamp(start, len));
        let kind = match d.severity() {
            Severity::Error => ReportKind::Error,
            Severity::Warning => ReportKind::Warning,
        };
        let name = file.name.as_str();
        // Without a message ariadne draws no underline; every diagnostic
        // gets one.
        let label = Label::new((name.to_string(), start..end))
            .with_message(d.label.as_deref().unwrap_or("here"));
        let mut report = Report::build(kind, (name.to_string(), start..end))
            .with_config(
                Config::default()
                    .with_color(color)
                    .with_index_type(IndexType::Byte),
            )
            .with_code(d.code.id())
            .with_message(&d.message)
            .with_label(label);
        if let Some(help) = &d.help {
            report = report.with_help(help);
        }
        let mut out = Vec::new();
        let source = file
            .rendered
            .get_or_init(|| Source::from(file.text.clone()));
        let mut written = report.finish().write((name.to_string(), source), &mut out);
        // Each other place the finding names: its own snippet and caret.
        for (f, span, text) in &d.related {
            let Some(other) = self.files.get(*f) else {
                continue;
            };
            let len = other.text.len();
            let s = floor_char_boundary(&other.text, span.start.min(len));
            let e = floor_char_boundary(&other.text, span.end.clamp(s, len));
            let id = other.name.clone();
            let note = Report::build(
                ReportKind::Custom("Note", ariadne::Color::Cyan),
                (id.clone(), s..e),
            )
            .with_config(
                Config::default()
                    .with_color(color)
                    .with_index_type(IndexType::Byte),
            )
            .with_message(text)
            .with_label(Label::new((id.clone(), s..e)).with_message("here"))
            .finish();
            let mut buf = Vec::new();
            let other_source = other
                .rendered
                .get_or_init(|| Source::from(other.text.clone()));
            written = written.and(note.write((id, other_source), &mut buf));
            let text = String::from_utf8_lossy(&buf);
            // ariadne colours a custom kind's name even without colour.
            let text = if color {
                text.into_owned()
            } else {
                strip_ansi(&text)
            };
            out.extend_from_slice(text.as_bytes());
        }
        match written {
            Ok(()) => String::from_utf8_lossy(&out).into_owned(),
            Err(_) => {
                let (line, col) = file.line_col(start);
                format!(
                    "{}[{}]: {} at {name}:{line}:{col}\n",
                    severity_word(d),
                    d.code.id(),
                    d.message
                )
            }
        }
    }
}

/// Text without its terminal colour codes (`ESC [ … m`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn severity_word(d: &Diagnostic) -> &'static str {
    match d.severity() {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// The closest of `candidates` to `name`, if any is close enough to be
/// worth suggesting.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let name_lower = name.to_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::normalized_damerau_levenshtein(&name_lower, &c.to_lowercase());
        // A name inside the candidate (or the other way round) is a strong hint.
        let contains =
            !name.is_empty() && (c.contains(name) || name.contains(c)) && c.chars().count() > 1;
        let score = if contains { score.max(0.7) } else { score };
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.filter(|(s, _)| *s >= 0.5).map(|(_, c)| c)
}

/// "did you mean `x`?" for the closest candidate.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique() {
        let mut ids: Vec<_> = Code::ALL.iter().map(|c| c.id()).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }

    #[test]
    fn line_col_counts_characters() {
        let text = "规则 a\n  当 状太";
        let at = text.find("状太").unwrap_or(0);
        assert_eq!(line_col(text, at), (2, 5));
    }

    #[test]
    fn closest_prefers_small_edits() {
        assert_eq!(
            closest("rectifed", ["open", "rectified", "rectifying"]),
            Some("rectified")
        );
        assert_eq!(closest("状太", ["状态", "描述"]), Some("状态"));
        assert_eq!(closest("zzzz", ["open", "rectified"]), None);
    }
}
