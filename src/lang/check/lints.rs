//! Warnings that need the checked IR: two rules
//! with the same subject, condition and actions; and the facts a condition
//! reads (shown by the audit and `explain`).

use super::*;

impl Checker<'_> {
    pub(super) fn warn_identical_rules(&mut self, rules: &[Rule]) {
        let mut order: Vec<usize> = (0..rules.len()).collect();
        order.sort_by_key(|&i| (rules[i].file, rules[i].span.start));
        let mut groups: HashMap<(Entity, String, u64), Vec<usize>> = HashMap::new();
        let mut found = Vec::new();
        for i in order {
            let r = &rules[i];
            let mut h = std::collections::hash_map::DefaultHasher::new();
            fingerprint(&r.when, &mut h);
            let key = (
                r.entity,
                format!("{:?}", r.actions),
                std::hash::Hasher::finish(&h),
            );
            let firsts = groups.entry(key).or_default();
            match firsts.iter().find(|&&a| rules[a].when == r.when) {
                Some(&a) => found.push((a, i)),
                None => firsts.push(i),
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

/// Feeds what a condition computes (not where it is written) to `h`: equal
/// conditions give equal fingerprints.
fn fingerprint(e: &Expr, h: &mut impl std::hash::Hasher) {
    use std::hash::Hash;
    std::mem::discriminant(&e.kind).hash(h);
    match &e.kind {
        ExprKind::Literal(l) => match l {
            // 0 and -0 are equal numbers.
            Literal::Number(n) => (if *n == 0.0 { 0 } else { n.to_bits() }).hash(h),
            Literal::Text(t) => t.hash(h),
            Literal::Bool(b) => b.hash(h),
            Literal::Date(d) => d.hash(h),
        },
        ExprKind::Field(p) => format!("{p:?}").hash(h),
        ExprKind::Compare(op, ..) => format!("{op:?}").hash(h),
        ExprKind::Arith(op, ..) => format!("{op:?}").hash(h),
        ExprKind::Aggregate {
            func,
            coll,
            filter,
            value,
        } => format!("{func:?} {coll:?} {} {}", filter.is_some(), value.is_some()).hash(h),
        _ => {}
    }
    let children = e.children();
    children.len().hash(h);
    for c in children {
        fingerprint(c, h);
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
