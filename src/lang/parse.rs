//! Text → spanned AST. The only module that sees pest: the grammar lives in
//! `grammar/duban.pest`; this module lowers pest's pairs into `ast` types,
//! turns pest's errors into diagnostics in words users understand, and
//! recovers after a syntax error so that every broken item is reported.

use super::ast::*;
use super::diagnostics::{Code, Diagnostic, did_you_mean};
use pest::Parser as _;
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};
use std::sync::LazyLock;

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

// ───────────────────────── syntax errors in words ─────────────────────────

fn syntax_error(file: usize, text: &str, at: usize, err: &pest::error::Error<Rule>) -> Diagnostic {
    let token = token_at(text, at);
    let expected = match &err.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => describe_expected(positives),
        pest::error::ErrorVariant::CustomError { message } => message.clone(),
    };
    let span = at..at + token.len();
    if token.starts_with('"') && !token.ends_with('"') || token == "\"" {
        return Diagnostic::new(Code::Syntax, file, span, "unterminated string")
            .label("this string has no closing `\"` on its line")
            .help("close it with `\"` before the end of the line, or use `\"\"\"` … `\"\"\"` for text over several lines");
    }
    let found = if token.is_empty() {
        "the end of the file".to_string()
    } else {
        format!("`{token}`")
    };
    let mut d = Diagnostic::new(
        Code::Syntax,
        file,
        span,
        format!("expected {expected}, found {found}"),
    )
    .label("not expected here");
    let clause_words: Vec<&str> = spellings(Role::Clause).collect();
    let starts_word = token.chars().next().is_some_and(is_ident_char);
    if let Some(help) = keyword_glued_hint(&token) {
        d = d.help(help);
    } else if expected.contains("a clause")
        && starts_word
        && did_you_mean(&token, clause_words.iter().copied()).is_some()
    {
        d = d.help(did_you_mean(&token, clause_words.iter().copied()).unwrap_or_default());
    } else if expected.contains("`)`") {
        d = d.help("a `(` is not closed: add `)`");
    } else if expected.contains("an operator") && starts_word {
        d = d.help(format!(
            "is an operator missing before `{token}`? e.g. `overdue_days >= 30`, `a and b`"
        ));
    } else if expected.contains("a clause") {
        d = d.help("a rule is `rule NAME \"title\"` then its clauses: `for ENTITY`, `when CONDITION`, `then ACTION`");
    }
    d
}

/// The word or symbol at `at`, for "found `…`".
fn token_at(text: &str, at: usize) -> String {
    let rest = text.get(at..).unwrap_or("");
    let mut chars = rest.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    if first == '"' {
        let line = rest.lines().next().unwrap_or(rest);
        return line.to_string();
    }
    if is_ident_char(first) {
        return rest.chars().take_while(|c| is_ident_char(*c)).collect();
    }
    let two: String = rest.chars().take(2).collect();
    if ["==", "!=", "<=", ">=", "->"].contains(&two.as_str()) {
        return two;
    }
    first.to_string()
}

/// `当状态` → "write `当 状态`".
pub fn keyword_glued_hint(word: &str) -> Option<String> {
    KEYWORDS
        .iter()
        .flat_map(Keyword::spellings)
        .filter(|kw| word.len() > kw.len() && word.starts_with(kw))
        .max_by_key(|kw| kw.len())
        .map(|kw| {
            format!(
                "`{word}` begins with the keyword `{kw}`: a keyword needs a space after it, write `{kw} {}`",
                &word[kw.len()..]
            )
        })
}

fn describe_expected(positives: &[Rule]) -> String {
    use Rule::*;
    let has = |rs: &[Rule]| positives.iter().any(|p| rs.contains(p));
    let mut words: Vec<String> = Vec::new();
    // Where a clause may come, pest also lists every item keyword and the
    // expression that could have gone on: say it in two phrases.
    let at_clause = has(&[kw_for, kw_when, kw_then, kw_repeat]);
    let at_item = has(&[kw_rule, kw_define, kw_template, kw_tasktype, kw_policy, EOI]);
    if at_clause {
        words.push("a clause (`for` 针对, `when` 当, `then` 则, `schedule`, `repeat`)".into());
    }
    if at_item {
        words.push("a new item (`rule` 规则, `define` 定义, `template` 模板 …)".into());
    }
    for r in positives {
        let grouped = matches!(
            r,
            kw_for
                | kw_when
                | kw_then
                | kw_repeat
                | kw_schedule
                | kw_rule
                | kw_define
                | kw_template
                | kw_tasktype
                | kw_policy
                | EOI
        );
        if (at_clause || at_item) && (grouped || describe_rule(*r) == "an expression") {
            continue;
        }
        let w = describe_rule(*r);
        if !words.contains(&w) {
            words.push(w);
        }
    }
    match words.len() {
        0 => "something else".to_string(),
        1 => words.remove(0),
        n => {
            let last = words.remove(n - 1);
            format!("{} or {last}", words.join(", "))
        }
    }
}

fn describe_rule(r: Rule) -> String {
    match r {
        Rule::kw_policy => shown("policy"),
        Rule::kw_timezone => shown("timezone"),
        Rule::kw_schedule => shown("schedule"),
        Rule::kw_tasktype => shown("tasktype"),
        Rule::kw_define => shown("define"),
        Rule::kw_template => shown("template"),
        Rule::kw_subject => shown("subject"),
        Rule::kw_body => shown("body"),
        Rule::kw_rule => shown("rule"),
        Rule::kw_for => shown("for"),
        Rule::kw_when => shown("when"),
        Rule::kw_then => shown("then"),
        Rule::kw_repeat => shown("repeat"),
        Rule::kw_every => shown("every"),
        Rule::kw_task => shown("task"),
        Rule::kw_with => shown("with"),
        Rule::kw_by => shown("by"),
        Rule::kw_due => shown("due"),
        Rule::kw_notify => shown("notify"),
        Rule::kw_using => shown("using"),
        Rule::kw_where => shown("where"),
        Rule::kw_in => shown("in"),
        Rule::unit_days | Rule::unit_weeks => "a unit (`days` 天 or `weeks` 周)".into(),
        Rule::ident | Rule::path => "a name".into(),
        Rule::string | Rule::plain_string | Rule::triple_string => "a string".into(),
        Rule::duration => "a duration such as `7 days`".into(),
        Rule::number | Rule::percent => "a number".into(),
        Rule::EOI => "a new item (`rule`, `define`, `template` …)".into(),
        Rule::close_paren => "`)`".into(),
        Rule::op_eq
        | Rule::op_ne
        | Rule::op_lt
        | Rule::op_le
        | Rule::op_gt
        | Rule::op_ge
        | Rule::op_add
        | Rule::op_sub
        | Rule::op_mul
        | Rule::op_div
        | Rule::op_or
        | Rule::op_and => "an operator".into(),
        _ => "an expression".into(),
    }
}

// ───────────────────────────── lowering ─────────────────────────────

struct Lower<'d> {
    file: usize,
    /// Offset of the parsed stretch in the file.
    base: usize,
    diags: &'d mut Vec<Diagnostic>,
}

/// Where a pair's last real token ends: pest counts the white space and
/// comments it skipped after it as part of the pair.
fn content_end(pair: &Pair<'_, Rule>) -> usize {
    let span = pair.as_span();
    let text = pair.get_input();
    let comments: Vec<(usize, usize)> = pair
        .clone()
        .into_inner()
        .flatten()
        .filter(|p| p.as_rule() == Rule::COMMENT)
        .map(|p| (p.as_span().start(), p.as_span().end()))
        .collect();
    let mut end = span.end();
    loop {
        let trimmed = span.start() + text[span.start()..end].trim_end().len();
        match comments.iter().find(|(_, e)| *e == trimmed) {
            Some((s, _)) => end = *s,
            None => return trimmed,
        }
    }
}

/// The children of a pair, without comments and closing parentheses (a
/// pair only so that errors can name it).
fn children(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner()
        .filter(|p| !matches!(p.as_rule(), Rule::COMMENT | Rule::close_paren))
}

impl Lower<'_> {
    /// A pair's span without the white space and comments pest may have
    /// consumed after its last token.
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        self.base + s.start()..self.base + content_end(pair)
    }

    fn kw(&self, pair: &Pair<'_, Rule>) -> Kw {
        Kw(self.span(pair))
    }

    fn file(mut self, pairs: Pairs<'_, Rule>, out: &mut File) {
        for pair in pairs.clone().flatten() {
            if pair.as_rule() == Rule::COMMENT {
                out.comments.push(Comment {
                    span: self.span(&pair),
                });
            }
        }
        for top in pairs {
            for pair in children(top) {
                let item = match pair.as_rule() {
                    Rule::policy_decl => Item::Policy(self.policy(pair)),
                    Rule::tasktype_decl => Item::TaskType(self.tasktype(pair)),
                    Rule::define_decl => Item::Define(self.define(pair)),
                    Rule::template_decl => Item::Template(self.template(pair)),
                    Rule::rule_decl => Item::Rule(self.rule(pair)),
                    _ => continue,
                };
                out.items.push(item);
            }
        }
    }

    fn ident(&self, pair: &Pair<'_, Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: self.span(pair),
        }
    }

    fn string(&self, pair: Pair<'_, Rule>) -> Str {
        let span = self.span(&pair);
        let raw = pair.as_str();
        let value = if let Some(inner) = raw
            .strip_prefix("\"\"\"")
            .and_then(|r| r.strip_suffix("\"\"\""))
        {
            // A leading newline after `"""` is layout, not text.
            inner.strip_prefix('\n').unwrap_or(inner).to_string()
        } else {
            unescape(raw.get(1..raw.len().saturating_sub(1)).unwrap_or(""))
        };
        Str { value, span }
    }

    fn policy(&mut self, pair: Pair<'_, Rule>) -> PolicyDecl {
        let span = self.span(&pair);
        let mut it = children(pair);
        let kw = it.next().map(|p| self.kw(&p)).unwrap_or(Kw(span.clone()));
        let name = it
            .next()
            .map(|p| self.string(p))
            .unwrap_or_else(|| empty_str(&span));
        let options = it
            .map(|opt| {
                let rule = opt.as_rule();
                let mut parts = children(opt);
                let kw = parts
                    .next()
                    .map(|p| self.kw(&p))
                    .unwrap_or(Kw(span.clone()));
                let value = parts
                    .next()
                    .map(|p| self.string(p))
                    .unwrap_or_else(|| empty_str(&span));
                if rule == Rule::timezone_opt {
                    PolicyOption::Timezone(kw, value)
                } else {
                    PolicyOption::Schedule(kw, value)
                }
            })
            .collect();
        PolicyDecl {
            kw,
            name,
            options,
            span,
        }
    }

    fn tasktype(&mut self, pair: Pair<'_, Rule>) -> TaskTypeDecl {
        let span = self.span(&pair);
        let parts: Vec<_> = children(pair).collect();
        TaskTypeDecl {
            kw: self.kw(&parts[0]),
            name: self.ident(&parts[1]),
            label: self.string(parts[2].clone()),
            span,
        }
    }

    fn define(&mut self, pair: Pair<'_, Rule>) -> DefineDecl {
        let span = self.span(&pair);
        let parts: Vec<_> = children(pair).collect();
        DefineDecl {
            kw: self.kw(&parts[0]),
            entity: self.ident(&parts[1]),
            field: self.ident(&parts[2]),
            expr: self.expr(parts[3].clone()),
            span,
        }
    }

    fn template(&mut self, pair: Pair<'_, Rule>) -> TemplateDecl {
        let span = self.span(&pair);
        let mut it = children(pair);
        let kw = it.next().map(|p| self.kw(&p)).unwrap_or(Kw(span.clone()));
        let name = it
            .next()
            .map(|p| self.ident(&p))
            .unwrap_or_else(|| empty_ident(&span));
        let parts = it
            .map(|part| {
                let rule = part.as_rule();
                let mut inner = children(part);
                let kw = inner
                    .next()
                    .map(|p| self.kw(&p))
                    .unwrap_or(Kw(span.clone()));
                let text = inner
                    .next()
                    .map(|p| self.string(p))
                    .unwrap_or_else(|| empty_str(&span));
                if rule == Rule::subject_part {
                    TemplatePart::Subject(kw, text)
                } else {
                    TemplatePart::Body(kw, text)
                }
            })
            .collect();
        TemplateDecl {
            kw,
            name,
            parts,
            span,
        }
    }

    fn rule(&mut self, pair: Pair<'_, Rule>) -> RuleDecl {
        let span = self.span(&pair);
        let mut it = children(pair).peekable();
        let kw = it.next().map(|p| self.kw(&p)).unwrap_or(Kw(span.clone()));
        let name = it
            .next()
            .map(|p| self.ident(&p))
            .unwrap_or_else(|| empty_ident(&span));
        let title = match it.peek().map(|p| p.as_rule()) {
            Some(Rule::string) => it.next().map(|p| self.string(p)),
            _ => None,
        };
        let clauses = it.map(|c| self.clause(c)).collect();
        RuleDecl {
            kw,
            name,
            title,
            clauses,
            span,
        }
    }

    fn clause(&mut self, pair: Pair<'_, Rule>) -> Clause {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let parts: Vec<_> = children(pair).collect();
        let kw = self.kw(&parts[0]);
        let kind = match rule {
            Rule::schedule_clause => ClauseKind::Schedule(kw, self.string(parts[1].clone())),
            Rule::for_clause => ClauseKind::For(kw, self.ident(&parts[1])),
            Rule::when_clause => ClauseKind::When(kw, self.expr(parts[1].clone())),
            Rule::then_clause => ClauseKind::Then(kw, self.action(parts[1].clone())),
            _ => ClauseKind::Repeat(kw, self.kw(&parts[1]), self.duration(parts[2].clone())),
        };
        Clause { kind, span }
    }

    fn action(&mut self, pair: Pair<'_, Rule>) -> Action {
        let rule = pair.as_rule();
        let mut it = children(pair);
        let Some(first) = it.next() else {
            unreachable_grammar()
        };
        let kw = self.kw(&first);
        if rule == Rule::task_action {
            let parts: Vec<_> = it.collect();
            let mut by = None;
            let mut due = None;
            for part in parts.iter().skip(3) {
                let inner: Vec<_> = children(part.clone()).collect();
                if part.as_rule() == Rule::by_part {
                    by = Some((self.kw(&inner[0]), self.path(&inner[1])));
                } else {
                    due = Some((self.kw(&inner[0]), self.duration(inner[1].clone())));
                }
            }
            Action::Task {
                kw,
                kind: self.ident(&parts[0]),
                with: self.kw(&parts[1]),
                target: self.path(&parts[2]),
                by,
                due,
            }
        } else {
            let mut to = Vec::new();
            let mut using = None;
            for part in it {
                match part.as_rule() {
                    Rule::recipient => {
                        if let Some(inner) = children(part).next() {
                            if inner.as_rule() == Rule::string {
                                to.push(Recipient::Email(self.string(inner)));
                            } else {
                                to.push(Recipient::Person(self.path(&inner)));
                            }
                        }
                    }
                    _ => {
                        let inner: Vec<_> = children(part).collect();
                        using = Some((self.kw(&inner[0]), self.ident(&inner[1])));
                    }
                }
            }
            Action::Notify { kw, to, using }
        }
    }

    fn path(&self, pair: &Pair<'_, Rule>) -> Path {
        Path {
            segments: pair.clone().into_inner().map(|p| self.ident(&p)).collect(),
            span: self.span(pair),
        }
    }

    fn duration(&mut self, pair: Pair<'_, Rule>) -> Duration {
        let span = self.span(&pair);
        let parts: Vec<_> = children(pair).collect();
        let value = self.number(&parts[0]);
        let unit = if parts[1].as_rule() == Rule::unit_weeks {
            Unit::Weeks
        } else {
            Unit::Days
        };
        Duration {
            amount: self.span(&parts[0]),
            value,
            unit,
            unit_kw: self.kw(&parts[1]),
            span,
        }
    }

    fn number(&mut self, pair: &Pair<'_, Rule>) -> f64 {
        let text = pair.as_str().trim_end_matches(['%', '％']);
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            _ => {
                self.diags.push(Diagnostic::new(
                    Code::BadLiteral,
                    self.file,
                    self.span(pair),
                    format!("`{text}` is not a number duban can use"),
                ));
                0.0
            }
        }
    }

    fn expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let pairs = children(pair).collect::<Vec<_>>();
        // The Pratt parser's closures each need the lowering context; they
        // run one at a time, so a RefCell hands it to whichever runs.
        let this = std::cell::RefCell::new(self);
        PRATT
            .map_primary(|p| this.borrow_mut().primary(p))
            .map_prefix(|op, rhs| {
                let l = this.borrow();
                let op_span = l.span(&op);
                let unary = if op.as_rule() == Rule::op_not {
                    UnaryOp::Not
                } else {
                    UnaryOp::Neg
                };
                Expr {
                    span: op_span.start..rhs.span.end,
                    kind: ExprKind::Unary {
                        op: unary,
                        op_span,
                        expr: Box::new(rhs),
                    },
                }
            })
            .map_postfix(|lhs, op| {
                let span_end = this.borrow().span(&op).end;
                let mut parts = children(op);
                let kw = parts
                    .next()
                    .map(|p| this.borrow().kw(&p))
                    .unwrap_or(Kw(lhs.span.clone()));
                let list = parts.map(|p| this.borrow_mut().expr(p)).collect();
                Expr {
                    span: lhs.span.start..span_end,
                    kind: ExprKind::In {
                        expr: Box::new(lhs),
                        kw,
                        list,
                    },
                }
            })
            .map_infix(|lhs, op, rhs| {
                let op_span = this.borrow().span(&op);
                let binary = match op.as_rule() {
                    Rule::op_or => BinaryOp::Or,
                    Rule::op_and => BinaryOp::And,
                    Rule::op_eq => BinaryOp::Eq,
                    Rule::op_ne => BinaryOp::Ne,
                    Rule::op_lt => BinaryOp::Lt,
                    Rule::op_le => BinaryOp::Le,
                    Rule::op_gt => BinaryOp::Gt,
                    Rule::op_ge => BinaryOp::Ge,
                    Rule::op_add => BinaryOp::Add,
                    Rule::op_sub => BinaryOp::Sub,
                    Rule::op_mul => BinaryOp::Mul,
                    _ => BinaryOp::Div,
                };
                Expr {
                    span: lhs.span.start..rhs.span.end,
                    kind: ExprKind::Binary {
                        op: binary,
                        op_span,
                        lhs: Box::new(lhs),
                        rhs: Box::new(rhs),
                    },
                }
            })
            .parse(pairs.into_iter())
    }

    fn primary(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::paren => match children(pair).next() {
                Some(inner) => ExprKind::Paren(Box::new(self.expr(inner))),
                None => unreachable_grammar(),
            },
            Rule::kw_today => ExprKind::Today,
            Rule::kw_true => ExprKind::Bool(true),
            Rule::kw_false => ExprKind::Bool(false),
            Rule::date => self.date(&pair),
            Rule::duration => ExprKind::Duration(self.duration(pair)),
            Rule::percent => ExprKind::Percent(self.number(&pair) / 100.0),
            Rule::number => ExprKind::Number(self.number(&pair)),
            Rule::string => ExprKind::Str(self.string(pair).value),
            Rule::call => {
                let mut it = children(pair);
                let Some(name) = it.next() else {
                    unreachable_grammar()
                };
                let name = self.ident(&name);
                let args = it.map(|a| self.arg(a)).collect();
                ExprKind::Call { name, args }
            }
            _ => ExprKind::Path(self.path(&pair)),
        };
        Expr { kind, span }
    }

    fn arg(&mut self, pair: Pair<'_, Rule>) -> Arg {
        let span = self.span(&pair);
        let parts: Vec<_> = children(pair).collect();
        let expr = self.expr(parts[0].clone());
        let filter = if parts.len() == 3 {
            Some((self.kw(&parts[1]), self.expr(parts[2].clone())))
        } else {
            None
        };
        Arg { expr, filter, span }
    }

    fn date(&mut self, pair: &Pair<'_, Rule>) -> ExprKind {
        match chrono::NaiveDate::parse_from_str(pair.as_str(), "%Y-%m-%d") {
            Ok(d) => ExprKind::Date(d),
            Err(_) => {
                self.diags.push(
                    Diagnostic::new(
                        Code::BadLiteral,
                        self.file,
                        self.span(pair),
                        format!("`{}` is not a date", pair.as_str()),
                    )
                    .label("no such day")
                    .help("write dates as YYYY-MM-DD, e.g. 2026-01-31"),
                );
                ExprKind::Today
            }
        }
    }
}

/// The grammar guarantees the shapes lowered above; a pair missing where
/// it says one must be is a bug in the grammar, not in the user's input.
fn unreachable_grammar() -> ! {
    unreachable!("pest produced a pair shape the grammar does not allow")
}

fn empty_str(span: &Span) -> Str {
    Str {
        value: String::new(),
        span: span.end..span.end,
    }
}

fn empty_ident(span: &Span) -> Ident {
    Ident {
        name: String::new(),
        span: span.end..span.end,
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
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
