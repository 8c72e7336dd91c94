//! pest's syntax errors in words users understand: what was expected, in
//! both spellings, what was found, and a hint where one is likely.

use super::*;
pub(super) fn syntax_error(
    file: usize,
    text: &str,
    at: usize,
    err: &pest::error::Error<Rule>,
) -> Diagnostic {
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
pub(super) fn token_at(text: &str, at: usize) -> String {
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

pub(super) fn describe_expected(positives: &[Rule]) -> String {
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

pub(super) fn describe_rule(r: Rule) -> String {
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
        Rule::unit_days | Rule::unit_weeks | Rule::unit_workdays => {
            "a unit (`days` 天, `weeks` 周 or `workdays` 工作日)".into()
        }
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
