//! Text → spanned AST. The only module that sees pest: the grammar lives in
//! `grammar/duban.pest`; this module lowers pest's pairs into `ast` types,
//! turns pest's errors into diagnostics in words users understand, and
//! recovers after a syntax error so that every broken item is reported.

use super::ast::*;
use super::diagnostics::{Code, Diagnostic, did_you_mean};
use super::limits;
use pest::Parser as _;
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};
use std::sync::LazyLock;

mod errors;
mod lower;

pub use errors::keyword_glued_hint;
use errors::syntax_error;
use lower::Lower;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/duban.pest"]
struct Grammar;

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    use Assoc::Left;
    PrattParser::new()
        .op(Op::infix(Rule::op_or, Left))
        .op(Op::infix(Rule::op_and, Left))
        .op(Op::prefix(Rule::op_not))
        .op(Op::infix(Rule::op_eq, Left)
            | Op::infix(Rule::op_ne, Left)
            | Op::infix(Rule::op_lt, Left)
            | Op::infix(Rule::op_le, Left)
            | Op::infix(Rule::op_gt, Left)
            | Op::infix(Rule::op_ge, Left)
            | Op::postfix(Rule::in_list))
        .op(Op::infix(Rule::op_add, Left) | Op::infix(Rule::op_sub, Left))
        .op(Op::infix(Rule::op_mul, Left) | Op::infix(Rule::op_div, Left))
        .op(Op::prefix(Rule::op_neg))
});

/// Where a keyword stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Begins a top-level item (`rule`, `define` …).
    Item,
    /// Begins a clause of a rule (`for`, `when` …).
    Clause,
    Word,
}

/// A keyword in both spellings.
#[derive(Debug, Clone, Copy)]
pub struct Keyword {
    pub en: &'static str,
    pub zh: &'static str,
    pub role: Role,
}

impl Keyword {
    const fn new(en: &'static str, zh: &'static str, role: Role) -> Keyword {
        Keyword { en, zh, role }
    }

    fn spellings(&self) -> [&'static str; 2] {
        [self.en, self.zh]
    }
}

/// Every keyword, English and Chinese: the one table the item splitter,
/// the syntax messages and the "write `当 状态`" hint read.
pub const KEYWORDS: &[Keyword] = &[
    Keyword::new("policy", "规则集", Role::Item),
    Keyword::new("timezone", "时区", Role::Word),
    Keyword::new("schedule", "执行时间", Role::Clause),
    Keyword::new("tasktype", "任务类别", Role::Item),
    Keyword::new("define", "定义", Role::Item),
    Keyword::new("template", "模板", Role::Item),
    Keyword::new("subject", "标题", Role::Word),
    Keyword::new("body", "正文", Role::Word),
    Keyword::new("rule", "规则", Role::Item),
    Keyword::new("for", "针对", Role::Clause),
    Keyword::new("when", "当", Role::Clause),
    Keyword::new("then", "则", Role::Clause),
    Keyword::new("repeat", "重复", Role::Clause),
    Keyword::new("every", "每", Role::Word),
    Keyword::new("task", "交办", Role::Word),
    Keyword::new("with", "与", Role::Word),
    Keyword::new("by", "由", Role::Word),
    Keyword::new("due", "期限", Role::Word),
    Keyword::new("notify", "通知", Role::Word),
    Keyword::new("using", "使用", Role::Word),
    Keyword::new("where", "其中", Role::Word),
    Keyword::new("and", "且", Role::Word),
    Keyword::new("or", "或", Role::Word),
    Keyword::new("not", "非", Role::Word),
    Keyword::new("in", "属于", Role::Word),
    Keyword::new("days", "天", Role::Word),
    Keyword::new("weeks", "周", Role::Word),
    Keyword::new("today", "今天", Role::Word),
    Keyword::new("true", "是", Role::Word),
    Keyword::new("false", "否", Role::Word),
];

/// The spellings of the keywords in one role.
fn spellings(role: Role) -> impl Iterator<Item = &'static str> {
    KEYWORDS
        .iter()
        .filter(move |k| k.role == role)
        .flat_map(Keyword::spellings)
}

/// A keyword as syntax messages show it: `` `when` (当) ``.
fn shown(en: &str) -> String {
    match KEYWORDS.iter().find(|k| k.en == en) {
        Some(k) => format!("`{}` ({})", k.en, k.zh),
        None => format!("`{en}`"),
    }
}

/// Parses one file. Always returns an AST of the items that parsed; every
/// syntax error is a diagnostic.
///
/// The file is cut into stretches at the lines that begin an item (`rule`,
/// `define` …, outside `"""` strings) and each stretch is parsed on its own:
/// a broken item yields one error and the items around it still parse, so
/// every broken item is reported and none cascades into the next.
pub fn parse(file: usize, text: &str) -> (File, Vec<Diagnostic>) {
    let mut out = File::default();
    let mut diags = Vec::new();
    let starts = item_starts(text);
    let mut bounds: Vec<usize> = std::iter::once(0).chain(starts).collect();
    bounds.push(text.len());
    bounds.dedup();
    for pair in bounds.windows(2) {
        parse_stretch(file, text, pair[0], pair[1], &mut out, &mut diags);
    }
    (out, diags)
}

fn parse_stretch(
    file: usize,
    text: &str,
    start: usize,
    end: usize,
    out: &mut File,
    diags: &mut Vec<Diagnostic>,
) {
    // Brackets nest by recursion in the grammar: bounded before it runs.
    if let Some(d) = limits::nesting(file, &text[start..end], start) {
        diags.push(d);
        out.comments.extend(comments_in(text, start, end));
        out.broken.extend(broken_item(&text[start..end]));
        return;
    }
    match Grammar::parse(Rule::policy_file, &text[start..end]) {
        Ok(pairs) => {
            let lower = Lower {
                file,
                base: start,
                diags,
            };
            lower.file(pairs, out);
        }
        Err(err) => {
            let at = start + error_offset(&err);
            diags.push(syntax_error(file, text, at, &err));
            // The comments of a broken stretch still belong to the file.
            out.comments.extend(comments_in(text, start, end));
            out.broken.extend(broken_item(&text[start..end]));
        }
    }
}

/// Offsets of the lines whose first word is an item keyword, outside
/// `"""` strings.
fn item_starts(text: &str) -> Vec<usize> {
    let mut offsets = Vec::new();
    let mut line_start = 0;
    let mut in_triple = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if !in_triple && spellings(Role::Item).any(|kw| starts_with_word(trimmed, kw)) {
            offsets.push(line_start + indent);
        }
        let code = match comment_start(line) {
            Some(i) if !in_triple => &line[..i],
            _ => line,
        };
        if code.matches("\"\"\"").count() % 2 == 1 {
            in_triple = !in_triple;
        }
        line_start += line.len();
    }
    offsets
}

/// Where a `#` comment starts on a line, outside a plain string.
fn comment_start(line: &str) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            '\\' if in_string => escaped = !escaped,
            '"' if !escaped => in_string = !in_string,
            '#' if !in_string => return Some(i),
            _ => escaped = false,
        }
        if c != '\\' {
            escaped = false;
        }
    }
    None
}

fn error_offset(err: &pest::error::Error<Rule>) -> usize {
    match err.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    }
}

fn starts_with_word(s: &str, word: &str) -> bool {
    s.strip_prefix(word)
        .is_some_and(|rest| rest.chars().next().is_none_or(|c| !is_ident_char(c)))
}

fn is_ident_char(c: char) -> bool {
    c == '_' || unicode_ident_continue(c)
}

fn unicode_ident_continue(c: char) -> bool {
    c.is_alphanumeric()
}

/// The keyword and name a broken stretch begins with.
fn broken_item(stretch: &str) -> Option<BrokenItem> {
    let mut words = stretch
        .split(|c: char| c.is_whitespace() || c == '=')
        .filter(|w| !w.is_empty());
    let first = words.next()?;
    let keyword = KEYWORDS
        .iter()
        .find(|k| k.role == Role::Item && (first == k.en || first == k.zh))?
        .en;
    let name = words.next()?.trim_matches('"').to_string();
    Some(BrokenItem { keyword, name })
}

/// `#` comments in a stretch that failed to parse.
fn comments_in(text: &str, start: usize, end: usize) -> Vec<Comment> {
    let mut found = Vec::new();
    let mut offset = start;
    for line in text[start..end].split_inclusive('\n') {
        if let Some(i) = comment_start(line) {
            let stop = line.trim_end_matches(['\n', '\r']).len();
            found.push(Comment {
                span: offset + i..offset + stop,
            });
        }
        offset += line.len();
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(src: &str) -> File {
        let (file, diags) = parse(0, src);
        assert!(diags.is_empty(), "{diags:?}");
        file
    }

    #[test]
    fn parses_the_spec_rule_in_both_languages() {
        let f = parse_ok(
            r#"rule overdue_reminder "整改逾期30天 → 提醒谈话"
  for problem
  when status != "rectified" and overdue_days >= 30
  then task reminder_talk with responsible by inspection.organization.discipline_officer due 7 days
规则 逾期提醒 "整改逾期30天 → 提醒谈话"
  针对 问题
  当 状态 != "已整改" 且 逾期天数 >= 30
  则 交办 提醒谈话 与 责任人 由 巡察.组织.纪检负责人 期限 7 天
"#,
        );
        assert_eq!(f.items.len(), 2);
        let Item::Rule(r) = &f.items[1] else {
            panic!("expected a rule")
        };
        assert_eq!(r.name.name, "逾期提醒");
        assert_eq!(r.clauses.len(), 3);
    }

    #[test]
    fn precedence_and_over_or() {
        let f = parse_ok("define problem.x = a or b and not c = 1");
        let Item::Define(d) = &f.items[0] else {
            panic!("expected a define")
        };
        let ExprKind::Binary { op, rhs, .. } = &d.expr.kind else {
            panic!("expected a binary expression")
        };
        assert_eq!(*op, BinaryOp::Or);
        assert!(matches!(
            rhs.kind,
            ExprKind::Binary {
                op: BinaryOp::And,
                ..
            }
        ));
    }

    #[test]
    fn keyword_glued_to_a_name_gets_a_hint() {
        let (_, diags) = parse(0, "rule a\n  for problem\n  当状态 = \"open\"\n");
        assert_eq!(diags.len(), 1);
        assert!(
            diags[0].help.as_deref().unwrap_or("").contains("当 状态"),
            "{diags:?}"
        );
    }

    #[test]
    fn recovers_after_a_broken_item() {
        let src = "rule a\n  for problem\n  when x = \"oops\n\nrule b\n  for problem\n  when \nrule c for problem when x = 1 then notify \"a@b.c\"\n";
        let (file, diags) = parse(0, src);
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert_eq!(diags[1].message, "expected an expression, found `rule`");
        assert!(
            file.items
                .iter()
                .any(|i| matches!(i, Item::Rule(r) if r.name.name == "c"))
        );
    }
}
