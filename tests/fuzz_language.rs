//! Properties of the language core on generated input: nothing panics,
//! every diagnostic points at a line and column inside the text, and
//! whatever parses formats to text that parses again, the same way twice.

use duban::lang::check::check;
use duban::lang::diagnostics::{SourceMap, line_col};
use duban::lang::format::format;
use duban::lang::parse::parse;
use proptest::prelude::*;

fn examine(text: &str) {
    let mut sources = SourceMap::default();
    sources.add("p.rules", text);
    let checked = check(sources);
    for d in &checked.diagnostics {
        assert!(
            d.span.start <= d.span.end && d.span.end <= text.len(),
            "{d:?} outside the text"
        );
        let (line, col) = line_col(text, d.span.start);
        assert!(line >= 1 && col >= 1);
        assert!(line <= text.lines().count().max(1) + 1, "{d:?}");
        // Rendering never panics either.
        let _ = checked.sources.render(d, false);
    }
    let (ast, diags) = parse(0, text);
    if diags.is_empty() {
        let once = format(text, &ast);
        let (again, diags) = parse(0, &once);
        assert!(
            diags.is_empty(),
            "formatting broke the syntax:\n{text}\n---\n{once}\n{diags:?}"
        );
        assert_eq!(format(&once, &again), once, "not idempotent:\n{text}");
    }
}

const TOKENS: &[&str] = &[
    "rule",
    "规则",
    "for",
    "针对",
    "when",
    "当",
    "then",
    "则",
    "->",
    "→",
    "task",
    "交办",
    "with",
    "与",
    "by",
    "由",
    "due",
    "期限",
    "notify",
    "通知",
    "using",
    "使用",
    "repeat",
    "重复",
    "every",
    "每",
    "schedule",
    "\"0 9 * * *\"",
    "policy",
    "规则集",
    "timezone",
    "\"Asia/Shanghai\"",
    "tasktype",
    "define",
    "定义",
    "template",
    "模板",
    "subject",
    "body",
    "where",
    "其中",
    "and",
    "且",
    "or",
    "或",
    "not",
    "非",
    "in",
    "属于",
    "today",
    "今天",
    "true",
    "false",
    "problem",
    "问题",
    "inspection",
    "organization",
    "status",
    "状态",
    "overdue_days",
    "逾期天数",
    "deadline",
    "responsible",
    "责任人",
    "tasks",
    "problems",
    "kind",
    "reminder_talk",
    "提醒谈话",
    "count",
    "exists",
    "rate",
    "sum",
    "days_since",
    "present",
    "missing",
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "30",
    "70%",
    "2026-01-31",
    "7 days",
    "2 weeks",
    "天",
    "\"rectified\"",
    "\"已整改\"",
    "\"\"\"\n正文 {{ problem.description }}\n\"\"\"",
    "\"{{ problem.overdue_days }}\"",
    "# 注释\n",
    "\n",
    "\"",
    "r1",
    "inspection.organization.secretary",
    "当状态",
    "{{",
    "}}",
];

fn tokens() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(TOKENS),
            prop::sample::select(&[" ", "\n", "  ", ""][..]),
        ),
        0..60,
    )
    .prop_map(|v| v.into_iter().map(|(t, sep)| format!("{t}{sep}")).collect())
}

/// The example policy with a few bytes' worth of edits.
fn mutated() -> impl Strategy<Value = String> {
    let base = include_str!("../rules/10-problems.rules");
    let chars: Vec<char> = base.chars().collect();
    let n = chars.len();
    prop::collection::vec(
        (
            0..n,
            prop::sample::select(&["", "\"", "(", ")", " ", "\n", "且", "x", "#", "=", "9"][..]),
        ),
        1..6,
    )
    .prop_map(move |edits| {
        let mut c = chars.clone();
        for (at, insert) in edits {
            let at = at.min(c.len().saturating_sub(1));
            if insert.is_empty() {
                if !c.is_empty() {
                    c.remove(at);
                }
            } else {
                for (k, ch) in insert.chars().enumerate() {
                    c.insert(at + k, ch);
                }
            }
        }
        c.into_iter().collect()
    })
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(400)
}

proptest! {
    // PROPTEST_CASES=100000 for a longer search.
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text(text in "\\PC{0,120}") {
        examine(&text);
    }

    #[test]
    fn grammar_shaped_text(text in tokens()) {
        examine(&text);
    }

    #[test]
    fn edited_policies(text in mutated()) {
        examine(&text);
    }

    /// Deep and wide conditions: brackets, `and` chains, `not` and `-`
    /// runs, lists and calls far past the limits. Nothing aborts (the test
    /// threads have small stacks), and what goes past a limit is an E003.
    #[test]
    fn deep_and_wide_conditions(
        parens in 0usize..3000,
        terms in 1usize..1500,
        nots in 0usize..200,
        lists in 0usize..100,
        calls in 0usize..100,
        plus in 0usize..1500,
    ) {
        let chain = vec!["overdue_days > 1"; terms].join(" and ");
        let sum = format!("overdue_days{} > 1", " + 1".repeat(plus));
        let when = format!(
            "{}{}({chain}) or {sum} or overdue_days in [{}1{}] or {}1{} > 1{}",
            "not ".repeat(nots),
            "(".repeat(parens),
            "[".repeat(lists),
            "]".repeat(lists),
            "count(".repeat(calls),
            ")".repeat(calls),
            ")".repeat(parens),
        );
        let text = format!("rule r\n  for problem\n  when {when}\n  then notify responsible\n");
        examine(&text);
        let mut sources = SourceMap::default();
        sources.add("p.rules", text.as_str());
        let checked = check(sources);
        // Brackets: the outer ones, the chain's, a list's and the calls'.
        // Terms: operands of one chain (`a > 1 and b > 1` has four).
        // A nested list (`[[1]]`) is a syntax error, found before the
        // terms are counted: only the brackets' limit applies then.
        let over = parens + 1 > 32
            || parens + 1 + lists > 32
            || parens + calls > 32
            || (lists == 0 && (nots > 32 || 2 * terms > 256 || plus + 6 > 256));
        if over {
            prop_assert!(
                checked.diagnostics.iter().any(|d| d.code.id() == "E003"),
                "past a limit without E003: parens {parens}, terms {terms}, nots {nots}, lists {lists}, calls {calls}, plus {plus}"
            );
        }
    }
}
