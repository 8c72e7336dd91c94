//! The engine through the binary: every expression form and missing-value
//! case on a small office whose answers are worked out by hand, episodes
//! across evaluation times, `repeat every`, diff, and rule edits.

mod common;
use common::{Office, set, subjects_of};

/// (rule name, entity, condition, subjects it must hold for) on the office
/// of `tests/fixtures/office`, as of 2026-06-01. Derived values there:
/// overdue_days p1 61, p2 12, others 0; open_days 151 (p1 p2 p3 p6), 31
/// (p5), missing (p4); t1 (p1's reminder talk) done 42 days ago.
pub const CASES: &[(&str, &str, &str, &[&str])] = &[
    (
        "ne_status",
        "problem",
        r#"status != "rectified""#,
        &["p1", "p2", "p4", "p5"],
    ),
    ("eq_label", "problem", r#"status = "已整改""#, &["p3", "p6"]),
    (
        "ne_missing_is_false",
        "problem",
        r#"severity != "minor""#,
        &["p2", "p3", "p6"],
    ),
    (
        "not_of_false",
        "problem",
        r#"not (severity = "minor")"#,
        &["p2", "p3", "p4", "p6"],
    ),
    ("missing_fn", "problem", "missing(severity)", &["p4"]),
    (
        "present_ref",
        "problem",
        "present(responsible)",
        &["p1", "p2", "p3", "p5", "p6"],
    ),
    ("overdue_gt", "problem", "overdue_days > 0", &["p1", "p2"]),
    ("overdue_ge", "problem", "overdue_days >= 61", &["p1"]),
    (
        "open_days",
        "problem",
        "open_days > 100",
        &["p1", "p2", "p3", "p6"],
    ),
    (
        "open_days_missing",
        "problem",
        "open_days < 1000",
        &["p1", "p2", "p3", "p5", "p6"],
    ),
    ("days_until", "problem", "days_until(deadline) > 0", &["p5"]),
    (
        "date_literal",
        "problem",
        "deadline < 2026-04-15",
        &["p1", "p3"],
    ),
    (
        "date_plus_days",
        "problem",
        "deadline + 30 days < today",
        &["p1", "p3", "p6"],
    ),
    (
        "date_minus_date",
        "problem",
        "today - deadline > 60",
        &["p1", "p3"],
    ),
    (
        "weeks",
        "problem",
        "deadline + 2 weeks <= today - 1 week",
        &["p1", "p3", "p6"],
    ),
    (
        "in_list",
        "problem",
        r#"severity in ["major", "严重"]"#,
        &["p2", "p3", "p6"],
    ),
    (
        "path_join",
        "problem",
        r#"inspection.organization.name = "市财政局""#,
        &["p5", "p6"],
    ),
    (
        "path_missing",
        "problem",
        "inspection.feedback_on < 2026-02-01",
        &["p1", "p2", "p3", "p4"],
    ),
    ("count_tasks", "problem", "count(tasks) >= 1", &["p1", "p2"]),
    (
        "exists_done",
        "problem",
        r#"exists(tasks where status = "done")"#,
        &["p1"],
    ),
    (
        "not_exists",
        "problem",
        "not exists(tasks)",
        &["p3", "p4", "p5", "p6"],
    ),
    (
        "kind_label",
        "problem",
        r#"exists(tasks where kind = "提醒谈话" and days_since(done_on) >= 30)"#,
        &["p1"],
    ),
    (
        "arithmetic",
        "problem",
        "overdue_days * 2 + 1 > 100",
        &["p1"],
    ),
    ("divide_by_zero", "problem", "overdue_days / 0 > 1", &[]),
    (
        "not_divide_by_zero",
        "problem",
        "not (overdue_days / 0 > 1)",
        &["p1", "p2", "p3", "p4", "p5", "p6"],
    ),
    (
        "or_missing",
        "problem",
        r#"severity = "minor" or missing(deadline)"#,
        &["p1", "p4", "p5"],
    ),
    (
        "ref_eq_text",
        "problem",
        r#"responsible = "u1""#,
        &["p2", "p3", "p6"],
    ),
    (
        "ref_ne_text",
        "problem",
        r#"responsible != "u1""#,
        &["p1", "p5"],
    ),
    (
        "bool_eq",
        "problem",
        "(overdue_days > 0) = true",
        &["p1", "p2"],
    ),
    (
        "outer_scope",
        "problem",
        "exists(tasks where target = responsible)",
        &["p1", "p2"],
    ),
    ("negation", "problem", "-overdue_days < -50", &["p1"]),
    ("define_bool", "problem", "late", &["p1"]),
    (
        "define_through_ref",
        "problem",
        "inspection.rr < 50%",
        &["p1", "p2", "p3", "p4"],
    ),
    (
        "text_eq",
        "problem",
        r#"category = "党建工作薄弱""#,
        &["p1"],
    ),
    (
        "literal_true",
        "problem",
        "true",
        &["p1", "p2", "p3", "p4", "p5", "p6"],
    ),
    (
        "chinese_keywords",
        "problem",
        r#"状态 != "已整改" 且 非 (逾期天数 = 0)"#,
        &["p1", "p2"],
    ),
    ("overdue_eq", "problem", "overdue_days = 12", &["p2"]),
    (
        "overdue_ne",
        "problem",
        "overdue_days != 12",
        &["p1", "p3", "p4", "p5", "p6"],
    ),
    (
        "overdue_lt",
        "problem",
        "overdue_days < 12",
        &["p3", "p4", "p5", "p6"],
    ),
    (
        "overdue_le",
        "problem",
        "overdue_days <= 12",
        &["p2", "p3", "p4", "p5", "p6"],
    ),
    (
        "overdue_gt_fraction",
        "problem",
        "overdue_days > 11.5",
        &["p1", "p2"],
    ),
    (
        "overdue_ge_zero",
        "problem",
        "overdue_days >= 0",
        &["p1", "p2", "p3", "p4", "p5", "p6"],
    ),
    (
        "overdue_eq_zero",
        "problem",
        "overdue_days = 0",
        &["p3", "p4", "p5", "p6"],
    ),
    (
        "overdue_lt_fraction",
        "problem",
        "overdue_days < 0.5",
        &["p3", "p4", "p5", "p6"],
    ),
    ("overdue_flipped", "problem", "30 <= overdue_days", &["p1"]),
    ("since_eq", "problem", "days_since(deadline) = 61", &["p1"]),
    (
        "since_negative",
        "problem",
        "days_since(deadline) < 0",
        &["p5"],
    ),
    (
        "since_le_negative",
        "problem",
        "days_since(deadline) <= -30",
        &["p5"],
    ),
    (
        "since_gt_fraction",
        "problem",
        "days_since(deadline) > 60.5",
        &["p1", "p3"],
    ),
    ("until_ge", "problem", "days_until(deadline) >= 30", &["p5"]),
    (
        "until_past",
        "problem",
        "days_until(deadline) < 0",
        &["p1", "p2", "p3", "p6"],
    ),
    ("open_days_eq", "problem", "open_days = 31", &["p5"]),
    ("open_days_le", "problem", "open_days <= 31", &["p5"]),
    (
        "open_days_ne_missing",
        "problem",
        "open_days != 31",
        &["p1", "p2", "p3", "p6"],
    ),
    (
        "since_in_where",
        "inspection",
        "count(problems where days_since(found_on) > 150) = 3",
        &["i1"],
    ),
    (
        "rate_lt",
        "inspection",
        r#"rate(problems where status = "rectified") < 50%"#,
        &["i1"],
    ),
    (
        "rate_empty_missing",
        "inspection",
        r#"missing(rate(problems where status = "rectified"))"#,
        &["i3"],
    ),
    ("count_zero", "inspection", "count(problems) = 0", &["i3"]),
    (
        "sum_values",
        "inspection",
        "sum(problems, overdue_days) > 50",
        &["i1"],
    ),
    (
        "avg_values",
        "inspection",
        "avg(problems, overdue_days) > 10",
        &["i1"],
    ),
    (
        "max_date",
        "inspection",
        "max(problems, deadline) > 2026-06-01",
        &["i2"],
    ),
    (
        "min_filtered",
        "inspection",
        r#"min(problems where status != "rectified", deadline) < 2026-05-01"#,
        &["i1"],
    ),
    (
        "inspection_tasks",
        "inspection",
        r#"exists(tasks where kind = "written_self_criticism" and status = "done")"#,
        &["i1"],
    ),
    (
        "days_since_missing",
        "inspection",
        "days_since(feedback_on) >= 90",
        &["i1", "i3"],
    ),
    (
        "avg_empty",
        "inspection",
        "present(avg(problems, overdue_days))",
        &["i1", "i2"],
    ),
    (
        "count_inspections",
        "organization",
        "count(inspections) >= 2",
        &["o1"],
    ),
    (
        "nested_sum",
        "organization",
        "sum(inspections, count(problems)) >= 2",
        &["o1", "o2"],
    ),
    ("children", "organization", "count(children) = 1", &["o1"]),
    (
        "exists_missing",
        "organization",
        "exists(inspections where missing(feedback_on))",
        &["o2"],
    ),
    (
        "parent_path",
        "organization",
        r#"parent.name = "市教育局""#,
        &["o2"],
    ),
    (
        "person_tasks",
        "organization",
        "count(secretary.tasks) >= 1",
        &["o1", "o2"],
    ),
    (
        "ref_missing",
        "organization",
        "missing(discipline_officer)",
        &["o2"],
    ),
    (
        "sum_empty_is_zero",
        "organization",
        "sum(inspections, count(problems)) = 0",
        &["o3"],
    ),
];

/// The policy of [`CASES`], each rule notifying a fixed address.
pub fn cases_policy() -> String {
    let mut p = String::from(
        "define problem.late = overdue_days > 30\ndefine inspection.rr = rate(problems where status = \"rectified\")\n\n",
    );
    for (name, entity, cond, _) in CASES {
        p.push_str(&format!(
            "rule {name}\n  for {entity}\n  when {cond}\n  then notify \"office@example.org\"\n\n"
        ));
    }
    p
}

#[test]
fn every_expression_form_and_missing_value_case() {
    let office = Office::fixture();
    office.policy(&cases_policy());
    let out = office.dry_run(&["--as-of", "2026-06-01", "--fresh"]);
    let mut wrong = Vec::new();
    for (name, _, cond, expected) in CASES {
        let got = subjects_of(&out["actions"], name);
        if got != set(expected) {
            wrong.push(format!(
                "{name} ({cond}): expected {expected:?}, got {got:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn dry_run_json_has_the_spec_shape() {
    let office = Office::fixture();
    office.policy(
        r#"tasktype dues_talk "党费催缴提醒谈话"
rule overdue_reminder
  for problem
  when overdue_days >= 30
  then task 批评教育 with responsible
  then notify responsible, inspection.organization.secretary
"#,
    );
    let out = office.dry_run(&["--as-of", "2026-06-01"]);
    assert_eq!(out["as_of"], "2026-06-01T00:00:00+08:00");
    assert!(out["policy"].as_str().unwrap_or("").starts_with("sha256:"));
    let actions = out["actions"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        actions[0],
        serde_json::json!({"rule": "overdue_reminder", "entity": "problem", "subject": "p1", "type": "task",
            "kind": "criticism_education", "target": "u3", "assignee": "u2", "due": "2026-06-08"})
    );
    // u3 has no email: the notice goes to the secretary u1 only, and says why.
    assert_eq!(
        actions[1],
        serde_json::json!({"rule": "overdue_reminder", "entity": "problem", "subject": "p1", "type": "notify",
            "template": null, "to": ["u1"]})
    );
    let skipped = out["skipped"].as_array().cloned().unwrap_or_default();
    assert!(
        skipped
            .iter()
            .any(|s| s["subject"] == "p1" && s["reason"].as_str().unwrap_or("").contains("王五")),
        "{skipped:?}"
    );
}

#[test]
fn a_missing_person_skips_the_action_but_starts_the_episode() {
    let office = Office::fixture();
    office.policy(
        "rule nobody\n  for problem\n  when missing(responsible)\n  then task reminder_talk with responsible\n",
    );
    let out = office.dry_run(&["--as-of", "2026-06-01"]);
    assert_eq!(out["actions"].as_array().map(|a| a.len()), Some(0));
    assert_eq!(out["skipped"][0]["subject"], "p4");
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success();
    assert_eq!(
        office.count("SELECT count(*) FROM episodes WHERE rule = 'nobody' AND subject_id = 'p4'"),
        1
    );
    assert_eq!(
        office.count("SELECT count(*) FROM tasks WHERE rule = 'nobody'"),
        0
    );
    let skipped: String = office
        .db()
        .query_row("SELECT skipped FROM audit WHERE rule = 'nobody'", [], |r| {
            r.get(0)
        })
        .unwrap_or_default();
    assert!(skipped.contains("responsible"), "{skipped}");
}

const LATE: &str = "rule late\n  for problem\n  when overdue_days > 0\n  then task reminder_talk with responsible\n";

#[test]
fn episodes_fire_once_end_and_start_again() {
    let office = Office::fixture();
    office.policy(LATE);
    let run = |day: &str| {
        office
            .cmd()
            .args(["run", "--as-of", day])
            .assert()
            .success();
    };
    run("2026-06-01");
    assert_eq!(
        office.count("SELECT count(*) FROM tasks WHERE rule = 'late'"),
        2
    );
    // Still holding: no second firing within the episode.
    run("2026-06-02");
    run("2026-06-10");
    assert_eq!(
        office.count("SELECT count(*) FROM tasks WHERE rule = 'late'"),
        2
    );
    // p2 is rectified: its episode ends.
    office.write(
        "fix/problems.csv",
        "id,inspection_id,status,rectified_on\np2,i1,rectified,2026-06-10\n",
    );
    office
        .cmd()
        .args(["import", "fix/problems.csv"])
        .assert()
        .success();
    run("2026-06-11");
    assert_eq!(
        office.count("SELECT count(*) FROM episodes WHERE rule = 'late' AND ended_at IS NOT NULL"),
        1
    );
    // Reopened: a new episode, a new task.
    office.write(
        "fix/problems.csv",
        "id,inspection_id,status,rectified_on\np2,i1,open,\n",
    );
    office
        .cmd()
        .args(["import", "fix/problems.csv"])
        .assert()
        .success();
    run("2026-06-12");
    assert_eq!(
        office.count("SELECT count(*) FROM tasks WHERE rule = 'late' AND subject_id = 'p2'"),
        2
    );
    assert_eq!(
        office.count("SELECT count(*) FROM episodes WHERE rule = 'late' AND subject_id = 'p2'"),
        2
    );
    // Every firing left an audit record with its facts and the policy hash.
    assert_eq!(
        office.count("SELECT count(*) FROM audit WHERE rule = 'late'"),
        3
    );
    assert_eq!(
        office.count("SELECT count(*) FROM audit WHERE rule = 'late' AND facts LIKE '%overdue_days%' AND policy_hash LIKE 'sha256:%'"),
        3
    );
}

#[test]
fn repeat_every_fires_again_on_time() {
    let office = Office::fixture();
    office.policy(&format!("{LATE}  repeat every 7 days\n"));
    for day in ["2026-06-01", "2026-06-05", "2026-06-07"] {
        office
            .cmd()
            .args(["run", "--as-of", day])
            .assert()
            .success();
    }
    assert_eq!(
        office.count("SELECT count(*) FROM tasks WHERE rule = 'late'"),
        2,
        "not again before 7 days"
    );
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-08"])
        .assert()
        .success();
    assert_eq!(
        office.count("SELECT count(*) FROM tasks WHERE rule = 'late'"),
        4,
        "again after 7 days"
    );
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-14"])
        .assert()
        .success();
    assert_eq!(
        office.count("SELECT count(*) FROM tasks WHERE rule = 'late'"),
        4
    );
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-15T09:00:00+08:00"])
        .assert()
        .success();
    assert_eq!(
        office.count("SELECT count(*) FROM tasks WHERE rule = 'late'"),
        6
    );
    assert_eq!(
        office.count("SELECT max(fired) FROM episodes WHERE rule = 'late'"),
        3
    );
}

#[test]
fn editing_a_rule_keeps_its_episodes() {
    let office = Office::fixture();
    office.policy(LATE);
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success();
    // The body changes, the name stays: no new firing for subjects still
    // holding.
    office.policy("rule late \"逾期即谈话\"\n  for problem\n  when overdue_days >= 1 and status != \"rectified\"\n  then task reminder_talk with responsible due 3 days\n");
    let out = office.dry_run(&["--as-of", "2026-06-02"]);
    assert_eq!(out["actions"].as_array().map(|a| a.len()), Some(0), "{out}");
    // Renamed: a different rule, a fresh start.
    office.policy(&LATE.replace("rule late", "rule late_renamed"));
    let out = office.dry_run(&["--as-of", "2026-06-02"]);
    assert_eq!(
        subjects_of(&out["actions"], "late_renamed"),
        set(&["p1", "p2"])
    );
}

#[test]
fn dry_run_writes_nothing_and_fresh_ignores_episodes() {
    let office = Office::fixture();
    office.policy(LATE);
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success();
    let before = office.dump();
    let out = office.dry_run(&["--as-of", "2026-06-02"]);
    assert_eq!(out["actions"].as_array().map(|a| a.len()), Some(0));
    let out = office.dry_run(&["--as-of", "2026-06-02", "--fresh"]);
    assert_eq!(subjects_of(&out["actions"], "late"), set(&["p1", "p2"]));
    office
        .cmd()
        .args(["dry-run", "--as-of", "2026-06-03"])
        .assert()
        .success();
    assert_eq!(office.dump(), before);
}

#[test]
fn diff_shows_added_and_removed_actions() {
    let office = Office::fixture();
    office.write(
        "old/p.rules",
        "rule late\n  for problem\n  when overdue_days > 30\n  then notify responsible\n",
    );
    office.write(
        "new/p.rules",
        "rule late\n  for problem\n  when overdue_days > 10\n  then notify responsible\nrule serious\n  for problem\n  when severity = \"serious\"\n  then notify \"office@example.org\"\n",
    );
    let out = office
        .cmd()
        .args([
            "diff",
            "old",
            "new",
            "--as-of",
            "2026-06-01",
            "--format",
            "json",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let added = common::firings(&v["added"]);
    assert!(added.contains(&("late".into(), "p2".into())), "{v}");
    assert!(added.contains(&("serious".into(), "p3".into())), "{v}");
    assert_eq!(added.len(), 2, "{v}");
    assert_eq!(v["removed"].as_array().map(|a| a.len()), Some(0));
    // And the other way round.
    let out = office
        .cmd()
        .args([
            "diff",
            "new",
            "old",
            "--as-of",
            "2026-06-01",
            "--format",
            "json",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(common::firings(&v["removed"]).len(), 2, "{v}");
    // The table form says it in a line each.
    office
        .cmd()
        .args(["diff", "old", "new", "--as-of", "2026-06-01"])
        .assert()
        .success()
        .stdout(predicates::str::contains("2 added, 0 removed"));
}

#[test]
fn a_broken_policy_evaluates_nothing() {
    let office = Office::fixture();
    office.policy("rule late\n  for problem\n  when overdue_dayz > 0\n  then notify responsible\n");
    let before = office.dump();
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("overdue_days"));
    assert_eq!(office.dump(), before);
}

#[test]
fn usage_errors_exit_2() {
    let office = Office::fixture();
    office.policy(LATE);
    office
        .cmd()
        .args(["run", "--as-of", "tomorrow"])
        .assert()
        .code(2);
    office
        .cmd()
        .args(["run", "--rule", "lates"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("did you mean `late`"));
    office.cmd().args(["run", "--bogus"]).assert().code(2);
}
