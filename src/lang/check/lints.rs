//! Warnings that need the checked IR: two rules
//! with the same subject, condition and actions; and the facts a condition
//! reads (shown by the audit and `explain`).

use super::*;

impl Checker<'_> {
    pub(super) fn warn_identical_rules(&mut self, rules: &[Rule]) {
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
        | ExprKind::DaysUntil(_)
        | ExprKind::WorkdaysSince(_)
        | ExprKind::WorkdaysUntil(_) => push(e),
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
