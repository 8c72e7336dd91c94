//! The SQL path and the reference interpreter must agree on every (rule,
//! subject): on the example policy over a demo office, on every case of
//! the engine tests, and on generated policies — expressions covering every
//! operator, call, path and missing-value case — over generated data in
//! which a fifth of all values are missing.
//!
//! They agree on values too: for every firing, the facts the audit records
//! and the values the rule's templates render, SQL against the interpreter.
//!
//! A disagreement prints the policy and the seed; its case then belongs in
//! `REGRESSIONS` below.

use duban::calendar::{Calendar, Year};
use duban::clock::AsOf;
use duban::engine::{Engine, Reading};
use duban::interpret::{Interpreter, Scope, SqliteData};
use duban::lang::check::check;
use duban::lang::diagnostics::SourceMap;
use duban::lang::ir::{Action, Expr, ExprKind, Policy, Rule, Ty};
use duban::store::Db;
use proptest::prelude::*;
use std::collections::BTreeMap;

mod common;

const TODAY: &str = "2026-06-01";

fn policy(text: &str) -> Policy {
    let mut sources = SourceMap::default();
    sources.add("generated.rules", text);
    let checked = check(sources);
    match checked.policy {
        Some(p) => p,
        None => {
            let msgs: Vec<String> = checked
                .diagnostics
                .iter()
                .map(|d| checked.sources.render(d, false))
                .collect();
            panic!(
                "generated policy does not check:\n{text}\n{}",
                msgs.join("\n")
            )
        }
    }
}

/// What the SQL path recorded of one firing: its audit facts and its
/// template values, as JSON by label.
type Recorded = (serde_json::Value, BTreeMap<String, serde_json::Value>);

/// Every (rule, subject) on which the two paths disagree, on whether the
/// rule holds or on a value it records.
fn disagreements(conn: &mut Db, p: &Policy) -> Vec<String> {
    disagreements_with(conn, p, &Calendar::builtin())
}

/// As [`disagreements`], with working days by `calendar`.
fn disagreements_with(conn: &mut Db, p: &Policy, calendar: &Calendar) -> Vec<String> {
    let tz: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap_or(chrono_tz::Tz::UTC);
    let as_of = AsOf::parse(TODAY, tz).unwrap_or_else(|e| panic!("{e}"));
    let engine = Engine::new(p, "example.org").with_calendar(calendar.clone());
    let mut by_sql: BTreeMap<(String, String), Recorded> = BTreeMap::new();
    let rules: Vec<usize> = (0..p.rules.len()).collect();
    let every_value = Reading {
        fresh: true,
        values: true,
        ordered: true,
        sink_writes: false,
    };
    engine
        .dry_run(conn, &rules, &as_of, every_value, &mut |plan| {
            let values = plan
                .template_values()
                .into_iter()
                .map(|(path, v, _)| (path, v.to_json()))
                .collect();
            by_sql.insert(
                (plan.rule.name.clone(), plan.subject.to_string()),
                (plan.facts_json(), values),
            );
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let data = SqliteData::new(conn);
    let interp = Interpreter {
        policy: p,
        data: &data,
        today: as_of.today,
        calendar,
    };
    let mut wrong = Vec::new();
    for rule in &p.rules {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT id FROM {} ORDER BY id",
                rule.entity.table()
            ))
            .unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .and_then(|r| r.collect())
            .unwrap_or_else(|e| panic!("{e}"));
        for id in ids {
            let recorded = by_sql.get(&(rule.name.clone(), id.clone()));
            let sql = recorded.is_some();
            let holds = interp.holds(rule, &id).unwrap_or_else(|e| panic!("{e}"));
            if sql != holds {
                wrong.push(format!(
                    "rule {} on {id}: SQL says {sql}, interpreter says {holds}; when {}",
                    rule.name,
                    p.text_of(&rule.when)
                ));
            } else if let Some((facts, values)) = recorded {
                wrong.extend(value_disagreements(&interp, p, rule, &id, facts, values));
            }
        }
    }
    wrong
}

/// The facts and template values of one firing, as the interpreter
/// computes them, against what the SQL path recorded.
fn value_disagreements(
    interp: &Interpreter<'_>,
    p: &Policy,
    rule: &Rule,
    id: &str,
    facts: &serde_json::Value,
    values: &BTreeMap<String, serde_json::Value>,
) -> Vec<String> {
    let scopes = [Scope {
        entity: rule.entity,
        id: Some(id.to_string()),
    }];
    let eval = |e: &Expr| {
        interp
            .eval(e, &scopes)
            .unwrap_or_else(|err| panic!("{err}"))
            .to_json()
    };
    let mut wrong = Vec::new();
    for f in &rule.facts {
        let mine = eval(&f.expr);
        if !same(&facts[&f.label], &mine) {
            wrong.push(format!(
                "rule {} on {id}: fact `{}` is {} in SQL, {mine} in the interpreter",
                rule.name, f.label, facts[&f.label]
            ));
        }
    }
    let used = rule.actions.iter().filter_map(|a| match a {
        Action::Notify {
            template: Some(t), ..
        } => p.template(t),
        _ => None,
    });
    for tp in used.flat_map(|t| &t.paths) {
        let mine = eval(&Expr {
            kind: ExprKind::Field(tp.path.clone()),
            ty: Ty::Error,
            file: 0,
            span: 0..0,
        });
        let theirs = values.get(&tp.text).cloned().unwrap_or_default();
        if !same(&theirs, &mine) {
            wrong.push(format!(
                "rule {} on {id}: template value `{}` is {theirs} in SQL, {mine} in the interpreter",
                rule.name, tp.text
            ));
        }
    }
    wrong
}

/// Equal JSON values, numbers within rounding.
fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
        _ => a == b,
    }
}

/// A run of every rule of the engine's policy at `at` (RFC 3339, the
/// clock there too), recording its episodes: each rule's outcome.
fn run_all(
    conn: &mut Db,
    engine: &Engine<'_>,
    at: &str,
    tz: chrono_tz::Tz,
) -> Vec<duban::engine::RuleOutcome> {
    let at = AsOf::parse(at, tz).unwrap_or_else(|e| panic!("{e}"));
    let rules: Vec<usize> = (0..engine.policy.rules.len()).collect();
    let clock = duban::clock::FixedClock(at.utc());
    engine
        .run(
            conn,
            &rules,
            &at,
            &duban::engine::RunOptions::new("run", &clock),
            &mut |_| Ok(()),
        )
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Where `simulate`'s windowed replay and its day-by-day replay first
/// differ, after a run ten days before has left episodes running.
fn simulations_disagree(conn: &mut Db, p: &Policy) -> Option<String> {
    use duban::engine::simulate::{Replay, simulate};
    let tz: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap_or(chrono_tz::Tz::UTC);
    let engine = Engine::new(p, "example.org");
    run_all(conn, &engine, "2026-05-22T09:00:00+08:00", tz);
    let from = AsOf::parse(TODAY, tz).unwrap_or_else(|e| panic!("{e}"));
    let days = 45;
    let oracle = simulate(conn, &engine, &from, days, tz, Replay::DayByDay)
        .unwrap_or_else(|e| panic!("{e}"));
    let fast = simulate(conn, &engine, &from, days, tz, Replay::Windowed)
        .unwrap_or_else(|e| panic!("{e}"));
    if oracle.is_empty() || oracle.len() != fast.len() {
        return Some(format!("{} days against {}", oracle.len(), fast.len()));
    }
    oracle.iter().zip(&fast).find_map(|(a, b)| {
        (a != b).then(|| {
            format!(
                "on {:?}:\nday by day {:?}\nwindowed   {:?}",
                a.date, a.rules, b.rules
            )
        })
    })
}

/// A policy of rules in the shapes the windowed replay takes: today-free
/// parts and thresholds on day counts, in every direction, one or several,
/// inside `exists` too, with and without `repeat every`.
const WINDOWED: &str = r#"
rule overdue for problem
  when status != "rectified" and overdue_days >= 12 and not exists(tasks where kind = "reminder_talk")
  then task reminder_talk with responsible
rule soon for problem
  when days_until(deadline) >= 0 and days_until(deadline) <= 9
  then notify responsible
rule exactly for problem
  when days_since(found_on) = 40 and severity != "minor"
  then notify responsible
rule both for problem
  when open_days >= 20 and days_since(deadline) < 15 and severity != "minor"
  then notify responsible
  repeat every 4 days
rule after_talk for problem
  when exists(tasks where status = "done" and days_since(done_on) >= 7)
  then task admonishment_talk with responsible
rule recent_talk for problem
  when exists(tasks where days_since(created_on) <= 10 and kind = "reminder_talk")
  then notify responsible
  repeat every 3 days
rule late_talk for problem
  when exists(tasks where status = "done" and done_on > deadline and days_since(done_on) >= 5)
  then notify responsible
rule feedback for inspection
  when days_since(feedback_on) > 30 and count(problems where status = "open") >= 1
  then notify leader
define organization.overdue = sum(inspections, count(problems where overdue_days > 0))
rule many_overdue for organization
  when overdue >= 3 and overdue <= 6
  then notify secretary
  repeat every 5 days
rule lagging for inspection
  when count(problems where days_until(deadline) < 0 and status != "rectified") > 1
  then notify leader
rule recent_talks for organization
  when sum(inspections, count(problems where exists(tasks where days_since(created_on) <= 20))) >= 2
  then notify secretary
rule few_recent for inspection
  when count(problems where exists(tasks where days_since(created_on) <= 15)) < 2 and present(feedback_on)
  then notify leader
rule calm for inspection
  when count(problems where overdue_days >= 1) <= 1
  then notify leader
rule never_overdue for problem
  when overdue_days >= 0 and status = "open"
  then notify responsible
"#;

/// [`WINDOWED`] with actions that write nothing a condition reads (notices
/// only), and a rule that is not windowed: a run each morning then records
/// what `simulate` replays.
fn notifying() -> String {
    WINDOWED
        .replace(
            "then task reminder_talk with responsible",
            "then notify responsible",
        )
        .replace(
            "then task admonishment_talk with responsible",
            "then notify responsible",
        )
        + r#"
rule either for problem
  when overdue_days >= 20 or days_until(deadline) = 3
  then notify responsible
  repeat every 6 days
"#
}

/// Where `simulate`'s replays (windowed and day by day) first differ from
/// the runs they stand for — one each morning at nine, the data held
/// still, the episodes each run records read by the next — after a run ten
/// days before has left episodes running.
fn simulation_and_runs_disagree(conn: &mut Db, p: &Policy) -> Option<String> {
    use duban::engine::simulate::{Replay, simulate};
    let tz: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap_or(chrono_tz::Tz::UTC);
    let engine = Engine::new(p, "example.org");
    let run = |conn: &mut Db, at: &str| run_all(conn, &engine, at, tz);
    run(conn, "2026-05-22T09:00:00+08:00");
    let from = AsOf::parse(TODAY, tz).unwrap_or_else(|e| panic!("{e}"));
    let days = 20;
    let windowed = simulate(conn, &engine, &from, days, tz, Replay::Windowed)
        .unwrap_or_else(|e| panic!("{e}"));
    let day_by_day = simulate(conn, &engine, &from, days, tz, Replay::DayByDay)
        .unwrap_or_else(|e| panic!("{e}"));
    if windowed.len() != days as usize || day_by_day.len() != days as usize {
        return Some(format!(
            "{} and {} days simulated",
            windowed.len(),
            day_by_day.len()
        ));
    }
    for (w, d) in windowed.iter().zip(&day_by_day) {
        let day = w.date.unwrap_or_default();
        let ran = run(conn, &format!("{day}T09:00:00+08:00"));
        if w.rules != ran || d.rules != ran {
            return Some(format!(
                "on {day}:
runs       {ran:?}
windowed   {:?}
day by day {:?}",
                w.rules, d.rules
            ));
        }
    }
    None
}

fn load(conn: &mut Db, dir: &std::path::Path) {
    use duban::store::sources::{InputFile, csv_table, discover};
    let tables = discover(&[dir.to_path_buf()])
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|f| match f {
            InputFile::Csv(p, e) => csv_table(&p, e).unwrap_or_else(|e| panic!("{e}")),
            InputFile::Xlsx(_) => panic!("no workbooks here"),
        })
        .collect();
    let stamp = duban::store::import::Stamp {
        today: chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap_or_default(),
        at: "2026-06-01T00:00:00Z".into(),
    };
    let out = duban::store::import::import(conn, tables, &stamp, &duban::store::import::Quiet)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.ok(), "{:?}", out.errors);
}

#[test]
fn agree_on_every_engine_case() {
    let mut conn = duban::store::in_memory().unwrap_or_else(|e| panic!("{e}"));
    load(
        &mut conn,
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/office"),
    );
    let p = policy(&common::cases::cases_policy());
    let wrong = disagreements(&mut conn, &p);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn agree_on_the_example_policy_over_a_demo_office() {
    let mut conn = duban::store::in_memory().unwrap_or_else(|e| panic!("{e}"));
    common::demo_office(&mut conn, TODAY);
    let text: String = duban::example::POLICY
        .iter()
        .map(|(_, t)| *t)
        .collect::<Vec<_>>()
        .join("\n");
    let p = policy(&text);
    let wrong = disagreements(&mut conn, &p);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    if let Some(d) = simulations_disagree(&mut conn, &p) {
        panic!("simulate: {d}");
    }
}

/// Rules with an aggregate that is both a fact and part of the condition:
/// the whole-table query computes it once, in a subquery, after the
/// condition's other parts on the subject's own row (see `compile`).
const SHARED_AGGREGATES: &str = r#"
define inspection.rate_done = rate(problems where status = "rectified")
define organization.open_count = sum(inspections, count(problems where status = "open"))

template rate_notice
  subject "{{ inspection.rate_done }}"
  body "{{ inspection.organization.name }} {{ inspection.feedback_on }}"

rule after_feedback for inspection
  when days_since(feedback_on) >= 30 and rate_done < 70%
  then notify leader using rate_notice
rule not_low for inspection
  when not (rate_done < 50%) and organization.name != "x"
  then notify leader
rule two_counts for inspection
  when count(problems) >= 1 and count(problems where status = "open") >= 1 and days_until(report_due) <= 30
  then notify leader
rule many_open for organization
  when open_count >= 2
  then notify secretary
rule reminded for problem
  when status != "rectified" and count(tasks where kind = "reminder_talk") >= 1
  then notify responsible
rule few_open for organization
  when open_count < 2
  then notify secretary
rule some_open for organization
  when 0 < open_count and open_count != 3
  then notify secretary
rule none_open_counted for inspection
  when count(problems where status = "open") >= 0 and days_until(report_due) <= 30
  then notify leader
rule missing_rate for inspection
  when missing(rate_done) or rate_done < 40%
  then notify leader
"#;

#[test]
fn agree_on_shared_aggregates() {
    let p = policy(SHARED_AGGREGATES);
    for r in &p.rules {
        let c = duban::compile::compile_rule(&p, r, duban::store::Dialect::Sqlite);
        if r.name != "missing_rate" {
            assert!(
                c.scan_from.starts_with("(SELECT"),
                "rule {} computes its aggregate twice: {}",
                r.name,
                c.sql
            );
        }
    }
    agree_on_eight_offices(&p);
}

/// The two paths agree on `p` over eight generated offices, and so do
/// the windowed and day-by-day simulations.
fn agree_on_eight_offices(p: &Policy) {
    for seed in 0..8 {
        let mut conn = generated_office(seed);
        let wrong = disagreements(&mut conn, p);
        assert!(wrong.is_empty(), "seed {seed}:\n{}", wrong.join("\n"));
        if let Some(d) = simulations_disagree(&mut conn, p) {
            panic!("seed {seed}: simulate: {d}");
        }
    }
}

/// The shapes the whole-table query writes without `coalesce` (a filter,
/// where missing and false both reject the subject) beside those that must
/// keep it (under `not`, in a value): comparisons, `in` and day counts on
/// values that are missing, under `not`, in `or`, inside a collection's
/// filter, and people reached by id, email or both.
const FILTERS: &str = r#"
define problem.late = overdue_days >= 10
rule ranges for problem
  when days_until(deadline) >= -20 and days_until(deadline) <= 30 and status != "rectified"
  then task interview with responsible by inspection.leader
rule negated for problem
  when not (severity = "serious") and not (days_since(found_on) >= 40)
  then notify responsible, inspection.organization.secretary
rule either for problem
  when severity in ["serious", "minor"] or deadline <= 2026-05-01 or overdue_days >= 5
  then notify responsible
rule neither for problem
  when not (severity in ["serious"] or days_until(deadline) <= 3) and not late
  then task reminder_talk with inspection.leader
rule overdue_range for problem
  when overdue_days >= 3 and overdue_days <= 40 and not (overdue_days = 7)
  then notify responsible
rule counted for inspection
  when count(problems where not (severity = "minor") and deadline < 2026-05-15) >= 1
    or rate(problems where severity = "serious" or status = "open") < 50%
  then notify leader, organization.secretary
rule none_open for organization
  when not exists(inspections where feedback_on >= 2026-03-01 or not (report_due <= 2026-07-01))
  then task criticism_education with secretary by discipline_officer
"#;

#[test]
fn agree_on_filters_and_their_negations() {
    let p = policy(FILTERS);
    for r in &p.rules {
        let c = duban::compile::compile_rule(&p, r, duban::store::Dialect::Sqlite);
        // A comparison of the whole-table query not under `not` is bare;
        // the condition for one subject, a value, keeps them all.
        let (filter, value) = (
            c.scan_condition.matches("coalesce(").count(),
            c.condition.matches("coalesce(").count(),
        );
        let negated = ["negated", "neither", "none_open"].contains(&r.name.as_str());
        assert!(
            if negated {
                filter == value
            } else {
                filter < value
            },
            "rule {}: {}",
            r.name,
            c.sql
        );
    }
    agree_on_eight_offices(&p);
}

/// Every rule of `WINDOWED` is windowed (else the test below tests less
/// than it says).
#[test]
fn the_windowed_shapes_are_windowed() {
    let p = policy(WINDOWED);
    for r in &p.rules {
        assert!(
            duban::compile::window(&p, r, duban::store::Dialect::Sqlite).is_some(),
            "rule {} is not windowed",
            r.name
        );
    }
}

/// A windowed rule's day among the subject's own members is read for all
/// subjects at once (a grouped join) when the members' filter reads only
/// them, and per subject when it reads the subject too (`late_talk`'s
/// `done_on > deadline`, the problem's deadline): both forms are in
/// `WINDOWED`, so the replay tests below compare both with the runs.
#[test]
fn the_windowed_members_days_take_both_forms() {
    let p = policy(WINDOWED);
    let joins = |name: &str| {
        let r = p.rule(name).unwrap_or_else(|| panic!("no rule {name}"));
        let w = duban::compile::window(&p, r, duban::store::Dialect::Sqlite)
            .unwrap_or_else(|| panic!("rule {name} is not windowed"));
        (w.joins.contains("GROUP BY"), w.from.unwrap_or_default())
    };
    let (grouped, _) = joins("after_talk");
    assert!(grouped, "after_talk's day is not read grouped");
    let (grouped, from) = joins("late_talk");
    assert!(
        !grouped && from.contains("(SELECT min("),
        "late_talk's day is not read per subject: {from}"
    );
}

// ───────────────────────── generated data ─────────────────────────

/// A small office with a fifth of optional values missing.
fn generated_office(seed: u64) -> Db {
    let mut rng = fastrand::Rng::with_seed(seed);
    let conn = duban::store::in_memory().unwrap_or_else(|e| panic!("{e}"));
    let day = |rng: &mut fastrand::Rng| -> Option<String> {
        (rng.u8(..5) != 0).then(|| {
            let base = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap_or_default();
            (base + chrono::Duration::days(rng.i64(-200..=120))).to_string()
        })
    };
    let pick = |rng: &mut fastrand::Rng, items: &[&str]| -> Option<String> {
        (rng.u8(..5) != 0).then(|| items[rng.usize(..items.len())].to_string())
    };
    // References are checked at commit (persons and organizations name
    // each other).
    conn.execute_batch("BEGIN")
        .unwrap_or_else(|e| panic!("{e}"));
    let exec = |sql: &str, params: Vec<Option<String>>| {
        conn.execute(sql, duban::store::params_from_iter(params))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    };
    let persons = 6;
    for i in 0..persons {
        let email = (rng.u8(..4) != 0).then(|| format!("p{i}@example.org"));
        exec(
            "INSERT INTO persons (id, name, email, organization_id) VALUES (?1, ?2, ?3, ?4)",
            vec![
                Some(format!("u{i}")),
                Some(format!("人{i}")),
                email,
                Some(format!("o{}", i % 3)),
            ],
        );
    }
    let person =
        |rng: &mut fastrand::Rng| (rng.u8(..5) != 0).then(|| format!("u{}", rng.usize(..persons)));
    for o in 0..3 {
        let parent = (o > 0).then(|| "o0".to_string());
        let name = pick(&mut rng, &["市教育局", "市财政局", "东山区委"])
            .unwrap_or_else(|| "某单位".into());
        exec(
            "INSERT INTO organizations (id, name, parent_id, kind, secretary_id, discipline_officer_id, region) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            vec![
                Some(format!("o{o}")),
                Some(name),
                parent,
                pick(&mut rng, &["部门", "乡镇"]),
                person(&mut rng),
                person(&mut rng),
                pick(&mut rng, &["湛江", "茂名"]),
            ],
        );
    }
    exec(
        "INSERT INTO rounds (id, name) VALUES ('r1', '第一轮')",
        vec![],
    );
    let inspections = 4;
    for i in 0..inspections {
        exec(
            "INSERT INTO inspections (id, round_id, organization_id, feedback_on, report_due, leader_id) VALUES (?1, 'r1', ?2, ?3, ?4, ?5)",
            vec![
                Some(format!("i{i}")),
                Some(format!("o{}", i % 3)),
                day(&mut rng),
                day(&mut rng),
                person(&mut rng),
            ],
        );
    }
    for p in 0..12 {
        let status = ["open", "rectifying", "rectified"][rng.usize(..3)].to_string();
        exec(
            "INSERT INTO problems (id, inspection_id, category, severity, description, found_on, deadline, status, rectified_on, responsible_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            vec![
                Some(format!("p{p:02}")),
                // The last inspection has no problems: empty collections.
                Some(format!("i{}", rng.usize(..inspections - 1))),
                pick(&mut rng, &["党建", "财务"]),
                pick(&mut rng, &["minor", "major", "serious"]),
                pick(&mut rng, &["问题甲", "问题乙"]),
                day(&mut rng),
                day(&mut rng),
                Some(status),
                day(&mut rng),
                person(&mut rng),
            ],
        );
    }
    for t in 0..10 {
        let (stype, sid) = match rng.u8(..3) {
            0 => ("problem".to_string(), format!("p{:02}", rng.usize(..12))),
            1 => (
                "inspection".to_string(),
                format!("i{}", rng.usize(..inspections)),
            ),
            _ => ("organization".to_string(), format!("o{}", rng.usize(..3))),
        };
        exec(
            "INSERT INTO tasks (id, subject_type, subject_id, kind, status, target_id, assignee_id, due, created_on, done_on, outcome)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            vec![
                Some(format!("t{t}")),
                Some(stype),
                Some(sid),
                Some(["reminder_talk", "admonishment_talk", "interview"][rng.usize(..3)].to_string()),
                Some(["open", "done", "cancelled"][rng.usize(..3)].to_string()),
                person(&mut rng),
                person(&mut rng),
                day(&mut rng),
                day(&mut rng),
                day(&mut rng),
                pick(&mut rng, &["已谈话"]),
            ],
        );
    }
    conn.execute_batch("COMMIT")
        .unwrap_or_else(|e| panic!("{e}"));
    conn
}

// ───────────────────────── generated policies ─────────────────────────

/// Builds random, well-typed conditions as policy text.
struct Gen {
    rng: fastrand::Rng,
}

/// What the generator knows of an entity: typed paths and collections.
struct Shape {
    numbers: &'static [&'static str],
    dates: &'static [&'static str],
    texts: &'static [&'static str],
    enums: &'static [(&'static str, &'static [&'static str])],
    refs: &'static [&'static str],
    /// (collection, element entity)
    colls: &'static [(&'static str, &'static str)],
}

fn shape(entity: &str) -> Shape {
    match entity {
        "problem" => Shape {
            numbers: &[
                "overdue_days",
                "open_days",
                "逾期天数",
                "overdue_workdays",
                "逾期工作日数",
            ],
            dates: &[
                "deadline",
                "found_on",
                "rectified_on",
                "inspection.feedback_on",
                "inspection.report_due",
            ],
            texts: &[
                "category",
                "description",
                "inspection.organization.name",
                "responsible.email",
            ],
            enums: &[
                ("status", &["open", "rectifying", "rectified", "已整改"]),
                ("severity", &["minor", "major", "serious", "严重"]),
            ],
            refs: &[
                "responsible",
                "inspection.leader",
                "inspection.organization.secretary",
            ],
            colls: &[("tasks", "task"), ("inspection.problems", "problem")],
        },
        "inspection" => Shape {
            numbers: &[],
            dates: &["feedback_on", "report_due"],
            texts: &["organization.name", "organization.region", "leader.name"],
            enums: &[],
            refs: &["leader", "organization.secretary"],
            colls: &[
                ("problems", "problem"),
                ("tasks", "task"),
                ("organization.inspections", "inspection"),
            ],
        },
        "organization" => Shape {
            numbers: &[],
            dates: &[],
            texts: &["name", "kind", "region", "parent.name"],
            enums: &[],
            refs: &["secretary", "discipline_officer", "parent.secretary"],
            colls: &[
                ("inspections", "inspection"),
                ("children", "organization"),
                ("tasks", "task"),
                ("secretary.tasks", "task"),
            ],
        },
        _ => Shape {
            numbers: &[],
            dates: &["due", "created_on", "done_on"],
            texts: &["outcome", "target.name"],
            enums: &[
                ("status", &["open", "done", "cancelled", "已完成"]),
                ("kind", &["reminder_talk", "interview", "诫勉谈话"]),
            ],
            refs: &["target", "assignee"],
            colls: &[],
        },
    }
}

impl Gen {
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.rng.usize(..items.len())]
    }

    fn cmp_op(&mut self) -> &'static str {
        self.pick(&["=", "!=", "<", "<=", ">", ">="])
    }

    fn number_literal(&mut self) -> String {
        match self.rng.u8(..4) {
            0 => format!("{}", self.rng.i64(-5..200)),
            1 => format!("{}.5", self.rng.u8(..60)),
            2 => format!("{}%", self.rng.u8(..=100)),
            _ => format!("{}", self.rng.u8(..40)),
        }
    }

    fn date_literal(&mut self) -> String {
        let base = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap_or_default();
        (base + chrono::Duration::days(self.rng.i64(-200..=120))).to_string()
    }

    fn duration(&mut self) -> String {
        format!(
            "{} {}",
            self.rng.u8(..40),
            self.pick(&["days", "day", "weeks", "天"])
        )
    }

    fn number(&mut self, entity: &str, depth: u32) -> String {
        let s = shape(entity);
        let choice = if depth == 0 {
            self.rng.u8(..3)
        } else {
            self.rng.u8(..10)
        };
        match choice {
            0 if !s.numbers.is_empty() => self.pick(s.numbers).to_string(),
            1 if !s.dates.is_empty() => format!(
                "{}({})",
                self.pick(&[
                    "days_since",
                    "days_until",
                    "距今天数",
                    "workdays_since",
                    "workdays_until",
                    "距今工作日数"
                ]),
                self.date(entity, 0)
            ),
            0..=2 => self.number_literal(),
            3 if !s.colls.is_empty() => {
                let (c, el) = s.colls[self.rng.usize(..s.colls.len())];
                if self.rng.bool() {
                    format!("count({c})")
                } else {
                    format!(
                        "count({c} where {})",
                        self.boolean(el, depth.saturating_sub(1))
                    )
                }
            }
            4 if !s.colls.is_empty() => {
                let (c, el) = s.colls[self.rng.usize(..s.colls.len())];
                format!(
                    "rate({c} where {})",
                    self.boolean(el, depth.saturating_sub(1))
                )
            }
            5 if !s.colls.is_empty() => {
                let (c, el) = s.colls[self.rng.usize(..s.colls.len())];
                let f = self.pick(&["sum", "avg", "min", "max", "求和"]);
                format!("{f}({c}, {})", self.number(el, depth.saturating_sub(1)))
            }
            6 => format!(
                "({} {} {})",
                self.number(entity, depth.saturating_sub(1)),
                self.pick(&["+", "-", "*", "/"]),
                self.number(entity, depth.saturating_sub(1))
            ),
            7 => format!("-({})", self.number(entity, depth.saturating_sub(1))),
            8 if !s.dates.is_empty() => format!(
                "({} - {})",
                self.date(entity, depth.saturating_sub(1)),
                self.date(entity, depth.saturating_sub(1))
            ),
            _ => format!("({})", self.number(entity, depth.saturating_sub(1))),
        }
    }

    fn date(&mut self, entity: &str, depth: u32) -> String {
        let s = shape(entity);
        let choice = if depth == 0 {
            self.rng.u8(..3)
        } else {
            self.rng.u8(..6)
        };
        match choice {
            0 if !s.dates.is_empty() => self.pick(s.dates).to_string(),
            1 => "today".into(),
            0..=2 => self.date_literal(),
            3 => format!(
                "({} + {})",
                self.date(entity, depth.saturating_sub(1)),
                self.duration()
            ),
            4 => format!(
                "({} - {})",
                self.date(entity, depth.saturating_sub(1)),
                self.duration()
            ),
            _ => {
                let el_colls: Vec<(&str, &str)> = s
                    .colls
                    .iter()
                    .copied()
                    .filter(|(_, el)| !shape(el).dates.is_empty())
                    .collect();
                if el_colls.is_empty() {
                    "today".into()
                } else {
                    let (c, el) = el_colls[self.rng.usize(..el_colls.len())];
                    format!("{}({c}, {})", self.pick(&["min", "max"]), self.date(el, 0))
                }
            }
        }
    }

    fn boolean(&mut self, entity: &str, depth: u32) -> String {
        let s = shape(entity);
        let choice = if depth == 0 {
            self.rng.u8(..6)
        } else {
            self.rng.u8(..13)
        };
        match choice {
            0 => format!(
                "{} {} {}",
                self.number(entity, 0),
                self.cmp_op(),
                self.number_literal()
            ),
            1 if !s.dates.is_empty() => format!(
                "{} {} {}",
                self.date(entity, 0),
                self.cmp_op(),
                self.date_literal()
            ),
            2 if !s.enums.is_empty() => {
                let (f, values) = s.enums[self.rng.usize(..s.enums.len())];
                format!("{f} {} \"{}\"", self.pick(&["=", "!="]), self.pick(values))
            }
            3 if !s.texts.is_empty() => {
                let f = self.pick(s.texts);
                format!(
                    "{f} {} \"{}\"",
                    self.cmp_op(),
                    self.pick(&["市教育局", "湛江", "问题甲", "人1", "p1@example.org", "m"])
                )
            }
            4 => {
                let what = match self.rng.u8(..3) {
                    0 if !s.refs.is_empty() => self.pick(s.refs).to_string(),
                    1 if !s.dates.is_empty() => self.pick(s.dates).to_string(),
                    _ if !s.texts.is_empty() => self.pick(s.texts).to_string(),
                    _ => self.number(entity, 0),
                };
                format!(
                    "{}({what})",
                    self.pick(&["present", "missing", "有值", "缺失"])
                )
            }
            5 => self.pick(&["true", "false"]).to_string(),
            6 => format!("not ({})", self.boolean(entity, depth.saturating_sub(1))),
            7 | 8 => format!(
                "({} {} {})",
                self.boolean(entity, depth.saturating_sub(1)),
                self.pick(&["and", "or", "且", "或"]),
                self.boolean(entity, depth.saturating_sub(1))
            ),
            9 if !s.colls.is_empty() => {
                let (c, el) = s.colls[self.rng.usize(..s.colls.len())];
                if self.rng.bool() {
                    format!("exists({c})")
                } else {
                    format!(
                        "exists({c} where {})",
                        self.boolean(el, depth.saturating_sub(1))
                    )
                }
            }
            10 if !s.enums.is_empty() => {
                let (f, values) = s.enums[self.rng.usize(..s.enums.len())];
                format!(
                    "{f} in [\"{}\", \"{}\"]",
                    self.pick(values),
                    self.pick(values)
                )
            }
            11 if !s.refs.is_empty() => {
                let (a, b) = (self.pick(s.refs), self.pick(s.refs));
                format!("{a} {} {b}", self.pick(&["=", "!="]))
            }
            _ => format!(
                "{} {} {}",
                self.number(entity, depth.saturating_sub(1)),
                self.cmp_op(),
                self.number(entity, depth.saturating_sub(1))
            ),
        }
    }

    fn policy(&mut self, rules: usize) -> String {
        let mut p = String::new();
        for i in 0..rules {
            let entity = self.pick(&["problem", "problem", "inspection", "organization"]);
            let cond = self.boolean(entity, 3);
            p.push_str(&format!(
                "rule g{i}\n  for {entity}\n  when {cond}\n  then notify \"office@example.org\"\n\n"
            ));
        }
        p
    }
}

/// Cases where the two paths once disagreed; they stay.
const REGRESSIONS: &[(u64, &str)] = &[];

#[test]
fn agree_on_regressions() {
    for (seed, text) in REGRESSIONS {
        let mut conn = generated_office(*seed);
        let wrong = disagreements(&mut conn, &policy(text));
        assert!(wrong.is_empty(), "seed {seed}:\n{}", wrong.join("\n"));
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(300)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn agree_on_generated_policies_and_data(data_seed in any::<u64>(), policy_seed in any::<u64>()) {
        let mut g = Gen { rng: fastrand::Rng::with_seed(policy_seed) };
        let text = g.policy(6);
        let p = policy(&text);
        let mut conn = generated_office(data_seed);
        let calendar = generated_calendar(data_seed);
        let wrong = disagreements_with(&mut conn, &p, &calendar);
        prop_assert!(wrong.is_empty(), "data seed {data_seed}, policy:\n{text}\n{}", wrong.join("\n"));
    }
}

/// A calendar of random holidays and worked weekends, covering 2026 and
/// 2025, or 2026 alone, or 2024 and 2026 with 2025 missing between them
/// (working days across a missing year count as missing).
fn generated_calendar(seed: u64) -> Calendar {
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x5eed);
    let mut c = Calendar::default();
    let years: &[i32] = match rng.u8(..3) {
        0 => &[2025, 2026],
        1 => &[2026],
        _ => &[2024, 2026],
    };
    for &year in years {
        let mut y = Year::default();
        let first = chrono::NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or_default();
        for day in first
            .iter_days()
            .take_while(|d| chrono::Datelike::year(d) == year)
        {
            let weekend = chrono::Datelike::weekday(&day).number_from_monday() >= 6;
            if rng.u8(..12) == 0 {
                if weekend {
                    y.work.insert(day);
                } else {
                    y.off.insert(day);
                }
            }
        }
        c.set(year, y);
    }
    c
}

proptest! {
    // Each case simulates twice over 45 days: a tenth as many cases.
    #![proptest_config(ProptestConfig { cases: cases() / 10, ..ProptestConfig::default() })]

    /// Generated policies: `simulate` replays them windowed where it can,
    /// and the result equals the day-by-day replay.
    #[test]
    fn simulate_agrees_on_generated_policies(data_seed in any::<u64>(), policy_seed in any::<u64>()) {
        let mut g = Gen { rng: fastrand::Rng::with_seed(policy_seed) };
        let text = g.policy(6);
        let p = policy(&text);
        let mut conn = generated_office(data_seed);
        let sim = simulations_disagree(&mut conn, &p);
        prop_assert!(sim.is_none(), "data seed {data_seed}, policy:\n{text}\nsimulate: {}", sim.unwrap_or_default());
    }

    /// The windowed replay of `simulate` equals the day-by-day one.
    #[test]
    fn simulate_windowed_equals_day_by_day(data_seed in any::<u64>()) {
        let p = policy(WINDOWED);
        let mut conn = generated_office(data_seed);
        let sim = simulations_disagree(&mut conn, &p);
        prop_assert!(sim.is_none(), "data seed {data_seed}: {}", sim.unwrap_or_default());
    }
}

proptest! {
    // Each case simulates twice and runs 20 days: a tenth as many cases.
    #![proptest_config(ProptestConfig { cases: cases() / 10, ..ProptestConfig::default() })]

    /// Both replays of `simulate` equal the runs they stand for, episode
    /// by episode as each run records them one firing at a time.
    #[test]
    fn simulate_equals_the_runs_it_replays(data_seed in any::<u64>()) {
        let p = policy(&notifying());
        let mut conn = generated_office(data_seed);
        let wrong = simulation_and_runs_disagree(&mut conn, &p);
        prop_assert!(wrong.is_none(), "data seed {data_seed}: {}", wrong.unwrap_or_default());
    }
}

/// The windowed replay at the span's ends: an office whose problems were
/// found, and are due, on every day from well before the simulated span to
/// past its end, so that for each threshold some subject starts or stops
/// holding on the span's first and on its last day.
#[test]
fn simulate_windowed_equals_day_by_day_at_the_span_ends() {
    let p = policy(WINDOWED);
    let mut conn = generated_office(7);
    let ids = common::texts(&conn, "SELECT id FROM problems ORDER BY id");
    assert!(!ids.is_empty());
    // 150 more problems, each like one of the office's, found and due on
    // days from 60 days before the span's first day to after its last.
    let first = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap_or_default();
    for n in 0..150i64 {
        let found = first + chrono::Duration::days(n % 110 - 60);
        let due = first + chrono::Duration::days((n * 7) % 90 - 20);
        conn.execute(
            "INSERT INTO problems (id, inspection_id, category, severity, description, found_on,
                                   deadline, status, responsible_id)
             SELECT ?1, inspection_id, category, severity, description, ?2, ?3, 'open', responsible_id
             FROM problems WHERE id = ?4",
            duban::params![
                format!("Q{n:03}"),
                found.to_string(),
                due.to_string(),
                ids[n as usize % ids.len()]
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let sim = simulations_disagree(&mut conn, &p);
    assert!(sim.is_none(), "{}", sim.unwrap_or_default());
}
