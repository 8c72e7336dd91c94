//! The expression cases of the engine tests, shared with the differential
//! test.

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
