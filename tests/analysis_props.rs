//! The analyser against random conditions (SPEC §14): for two random rules
//! that notify the same person, every claimed overlap's witness satisfies
//! both; a rule claimed never to hold holds for none of many random
//! subjects; a rule claimed to add nothing holds for none of them without
//! the other; a pair claimed not to overlap (neither found nor undecided)
//! holds together for none of them. Anything else must be said as
//! undecided, never as a false finding.

use chrono::NaiveDate;
use duban::calendar::Calendar;
use duban::interpret::witness::Judge;
use duban::lang::analyze::{Oracle, Record, What, Witness, analyze};
use duban::lang::diagnostics::SourceMap;
use duban::lang::ir::{FieldId, Policy};
use duban::schema::Entity;
use duban::value::Value;
use proptest::prelude::*;

const TODAY: (i32, u32, u32) = (2026, 6, 1);

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(TODAY.0, TODAY.1, TODAY.2).unwrap_or_default()
}

/// One comparison of a problem's fields, in or outside the fragment.
fn atom() -> impl Strategy<Value = String> {
    let n = -40i32..80;
    prop_oneof![
        prop::sample::select(vec!["minor", "major", "serious"])
            .prop_map(|v| format!("severity = \"{v}\"")),
        prop::sample::select(vec!["open", "rectifying", "rectified"])
            .prop_map(|v| format!("status != \"{v}\"")),
        Just("severity in [\"major\", \"serious\"]".to_string()),
        (
            prop::sample::select(vec![">=", "<", "=", ">", "<=", "!="]),
            0i32..60
        )
            .prop_map(|(op, k)| format!("overdue_days {op} {k}")),
        (prop::sample::select(vec![">=", "<", "<="]), n.clone())
            .prop_map(|(op, k)| format!("days_until(deadline) {op} {k}")),
        (prop::sample::select(vec![">=", "<"]), n.clone())
            .prop_map(|(op, k)| format!("open_days {op} {k}")),
        (prop::sample::select(vec![">=", "<"]), n)
            .prop_map(|(op, k)| format!("deadline {op} today - {k}")),
        Just("present(responsible)".to_string()),
        Just("missing(deadline)".to_string()),
        Just("category = \"财务\"".to_string()),
        Just("deadline < found_on".to_string()),
        // Outside the fragment: arithmetic on two fields.
        Just("days_since(found_on) * 2 > overdue_days + 10".to_string()),
        Just("count(tasks) >= 1".to_string()),
    ]
}

fn condition() -> impl Strategy<Value = String> {
    atom().prop_recursive(3, 8, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
}

fn policy(a: &str, b: &str) -> Option<Policy> {
    let text = format!(
        "rule a\n  for problem\n  when {a}\n  then notify responsible\n\nrule b\n  for problem\n  when {b}\n  then notify responsible\n"
    );
    let mut sources = SourceMap::default();
    sources.add("p.rules", text);
    let checked = duban::lang::check::check(sources);
    // Two identical rules are the checker's W002, not the analyser's.
    let identical = checked.diagnostics.iter().any(|d| d.code.id() == "W002");
    checked.policy.filter(|_| !identical)
}

/// A random problem with its inspection and responsible person.
fn subject() -> impl Strategy<Value = Witness> {
    (
        prop::option::of(prop::sample::select(vec!["minor", "major", "serious"])),
        prop::option::of(prop::sample::select(vec![
            "open",
            "rectifying",
            "rectified",
        ])),
        prop::option::of(-90i64..90),
        prop::option::of(-200i64..10),
        prop::option::of(prop::sample::select(vec!["财务", "作风"])),
        any::<bool>(),
    )
        .prop_map(
            |(severity, status, deadline, found, category, responsible)| {
                let f = |name: &str| FieldId::of(Entity::Problem, name);
                let day = |d: i64| Value::Date(today() + chrono::Duration::days(d));
                let mut values = Vec::new();
                let mut put = |name: &str, v: Value| {
                    if let Some(id) = f(name) {
                        values.push((id, v));
                    }
                };
                put("inspection", Value::Text("i1".into()));
                if let Some(s) = severity {
                    put("severity", Value::Text(s.into()));
                }
                if let Some(s) = status {
                    put("status", Value::Text(s.into()));
                }
                if let Some(d) = deadline {
                    put("deadline", day(d));
                }
                if let Some(d) = found {
                    put("found_on", day(d));
                }
                if let Some(c) = category {
                    put("category", Value::Text(c.into()));
                }
                if responsible {
                    put("responsible", Value::Text("u1".into()));
                }
                Witness {
                    today: today(),
                    entity: Entity::Problem,
                    subject: "p1".into(),
                    records: vec![
                        Record {
                            entity: Entity::Problem,
                            id: "p1".into(),
                            values,
                        },
                        Record {
                            entity: Entity::Person,
                            id: "u1".into(),
                            values: Vec::new(),
                        },
                    ],
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn findings_are_true_and_the_rest_is_undecided(
        a in condition(),
        b in condition(),
        subjects in prop::collection::vec(subject(), 60),
    ) {
        let Some(p) = policy(&a, &b) else { return Ok(()) };
        let calendar = Calendar::builtin();
        let judge = Judge { calendar: &calendar };
        let result = analyze(&p, today(), &judge);
        let (ra, rb) = (&p.rules[0], &p.rules[1]);
        let holds = |r, w: &Witness| judge.holds(&p, r, w);
        let mut overlap_found = false;
        for f in &result.findings {
            match &f.what {
                What::Overlap(_) | What::Shadowed => {
                    let w = f.witness.as_ref();
                    prop_assert!(w.is_some_and(|w| holds(ra, w) && holds(rb, w)), "{a} / {b}: {f:?}");
                    overlap_found = true;
                    if f.what == What::Shadowed {
                        let (x, y) = (&p.rules[f.rules[0]], &p.rules[f.rules[1]]);
                        for s in &subjects {
                            prop_assert!(!holds(x, s) || holds(y, s), "{a} / {b}: shadowed, yet {s:?}");
                        }
                    }
                }
                What::NeverHolds => {
                    let r = &p.rules[f.rules[0]];
                    for s in &subjects {
                        prop_assert!(!holds(r, s), "{}: never holds, yet {s:?}", r.name);
                    }
                }
                What::Unreachable { .. } => {}
            }
        }
        let never = result.findings.iter().any(|f| f.what == What::NeverHolds);
        if !overlap_found && !never && result.undecided.is_empty() {
            // Claimed disjoint: no subject may satisfy both.
            for s in &subjects {
                prop_assert!(!(holds(ra, s) && holds(rb, s)), "{a} / {b}: disjoint, yet {s:?}");
            }
        }
    }
}
