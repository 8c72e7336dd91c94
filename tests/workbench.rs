//! The workbench's ergonomics over HTTP (SPEC §15): the organization
//! filter by name, the task list and the report as workbooks from the
//! page, the report inside the workbench with a period picker, and a harsh
//! approval that asks twice.

mod common;

use calamine::{Data, Reader, Xlsx};
use common::Office;
use common::web::{Workbench, add_user};

const NOW: &str = "2026-06-02T10:00:00+08:00";

/// The ladder office (T000001 about p1 of 市教育局) with X1 about p5 of
/// 市财政局, and the office's account u1.
fn office() -> Office {
    let o = Office::ladder();
    o.db()
        .execute(
            "INSERT INTO tasks (id, subject_type, subject_id, kind, status, target_id, assignee_id, due, created_on)
             VALUES ('X1', 'problem', 'p5', 'reminder_talk', 'open', 'u4', 'u4', '2026-05-20', '2026-05-01')",
            [],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    add_user(&o, "u1", "office", "correct horse 1");
    o
}

/// Every cell of a workbook's first sheet, as text.
fn cells(bytes: Vec<u8>) -> (String, Vec<Vec<String>>) {
    let mut book: Xlsx<_> =
        Xlsx::new(std::io::Cursor::new(bytes)).unwrap_or_else(|e| panic!("{e}"));
    let name = book.sheet_names()[0].clone();
    let range = book
        .worksheet_range(&name)
        .unwrap_or_else(|e| panic!("{e}"));
    let rows = range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::DateTime(d) => d
                        .as_datetime()
                        .map(|t| t.date().to_string())
                        .unwrap_or_default(),
                    c => c.to_string(),
                })
                .collect()
        })
        .collect();
    (name, rows)
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

#[test]
fn the_task_list_filters_by_an_organizations_name_and_downloads_as_a_workbook() {
    let o = office();
    let w = Workbench::start(&o, NOW);
    let s = w.sign_in("u1", "correct horse 1");
    let all = w.get("/tasks", &s);
    assert_eq!(all.status, 200);
    // The names to pick from, in a list the browser offers (no script).
    assert!(all.body.contains("list=\"org-names\""), "{}", all.body);
    assert!(
        all.body.contains("<option value=\"市教育局\">"),
        "{}",
        all.body
    );
    assert!(all.body.contains("<option value=\"市财政局\">"));
    assert!(all.body.contains("/tasks/T000001") && all.body.contains("/tasks/X1"));

    let by_name = w.get("/tasks?org=%E5%B8%82%E8%B4%A2%E6%94%BF%E5%B1%80", &s);
    assert!(by_name.body.contains("/tasks/X1"), "{}", by_name.body);
    assert!(!by_name.body.contains("/tasks/T000001"));
    // The field keeps the name; the id (from the organization's page) shows it too.
    assert!(by_name.body.contains("value=\"市财政局\""));
    let by_id = w.get("/tasks?org=o2", &s);
    assert!(by_id.body.contains("/tasks/X1") && !by_id.body.contains("/tasks/T000001"));
    assert!(by_id.body.contains("value=\"市财政局\""));
    // The download link carries the filters.
    assert!(
        by_name
            .body
            .contains("href=\"/tasks.xlsx?org=%E5%B8%82%E8%B4%A2%E6%94%BF%E5%B1%80\""),
        "{}",
        by_name.body
    );

    let (status, kind, bytes) =
        w.get_bytes("/tasks.xlsx?org=%E5%B8%82%E8%B4%A2%E6%94%BF%E5%B1%80", &s);
    assert_eq!((status, kind.as_str()), (200, XLSX));
    let (sheet, rows) = cells(bytes);
    assert_eq!(sheet, "任务");
    assert!(
        rows[0][0].starts_with("任务清单（截至 2026-06-02）"),
        "{:?}",
        rows[0]
    );
    assert_eq!(
        rows[1][..4],
        ["编号", "类别", "状态", "期限"].map(String::from)
    );
    // One task, in words: its kind and status by label, its due date a date.
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(
        rows[2][..5],
        ["X1", "提醒谈话", "待办", "2026-05-20", "13"].map(String::from)
    );
    assert_eq!(rows[2][5], "市财政局");

    // A member downloads nothing of the office's.
    add_user(&o, "u2", "member", "correct horse 2");
    let member = w.sign_in("u2", "correct horse 2");
    assert_eq!(w.get_bytes("/tasks.xlsx", &member).0, 404);
}

#[test]
fn the_report_is_a_workbench_page_with_a_period_and_a_workbook() {
    let o = office();
    let w = Workbench::start(&o, NOW);
    let s = w.sign_in("u1", "correct horse 1");
    let page = w.get("/report?as_of=2026-06-01&period=quarter", &s);
    assert_eq!(page.status, 200, "{}", page.body);
    // Inside the workbench: its navigation, the report marked as here.
    assert!(
        page.body.contains("<nav>") && page.body.contains("href=\"/report\" class=\"here\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"report-period\""));
    assert!(page.body.contains("<option value=\"quarter\" selected>"));
    // A quarter before 2026-06-01.
    assert!(page.body.contains("2026-03-01"), "{}", page.body);
    assert!(page.body.contains("市教育局") && page.body.contains("<svg"));
    assert!(
        page.body
            .contains("href=\"/report.xlsx?as_of=2026-06-01&amp;period=quarter\""),
        "{}",
        page.body
    );
    // Today and a month by default.
    let today = w.get("/report", &s);
    assert!(
        today.body.contains("value=\"2026-06-02\"") && today.body.contains("2026-05-02"),
        "{}",
        today.body
    );
    let bad = w.get("/report?as_of=June", &s);
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("不是日期"), "{}", bad.body);

    let (status, kind, bytes) = w.get_bytes("/report.xlsx?as_of=2026-06-01&period=quarter", &s);
    assert_eq!((status, kind.as_str()), (200, XLSX));
    let (sheet, rows) = cells(bytes);
    assert_eq!(sheet, "整改进展通报");
    assert_eq!(rows[0][0], "整改进展通报（截至 2026-06-01）");
    let names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert!(
        names.contains(&"市教育局") && names.contains(&"市财政局"),
        "{names:?}"
    );
}

/// The fixture office under `policy`, run on 2026-06-01 (A000001 waits
/// for 赵六, u4), its workbench, and 赵六's session.
fn asked_to_approve(policy: &str) -> (Office, Workbench, String) {
    let o = Office::fixture();
    o.policy(policy);
    o.cmd()
        .env("DUBAN_NOW", "2026-06-01T09:00:00+08:00")
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success();
    add_user(&o, "u4", "member", "correct horse 4");
    let w = Workbench::start(&o, "2026-06-03T10:00:00+08:00");
    let s = w.sign_in("u4", "correct horse 4");
    (o, w, s)
}

/// 问责 asks its approver twice: the first press shows what it gives out,
/// only the second decides. A milder step is decided at once.
#[test]
fn a_harsh_approval_asks_for_a_second_confirmation() {
    let (o, w, s) = asked_to_approve(common::APPROVAL);
    let page = w.get("/approvals/A000001", &s);
    assert_eq!(page.status, 200);
    // Approving and rejecting look apart; the harsh step says so.
    assert!(
        page.body
            .contains("class=\"approve\" id=\"approve-button\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("class=\"reject\" id=\"reject-button\""));
    assert!(page.body.contains("id=\"harsh\""));

    let first = w.post(
        "/approvals/A000001/approve",
        &s,
        &[("csrf", &page.csrf()), ("note", "同意")],
    );
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(
        first.body.contains("请再次确认") && first.body.contains("问责"),
        "{}",
        first.body
    );
    assert!(first.body.contains("name=\"confirmed\" value=\"1\""));
    assert!(first.body.contains("name=\"note\" value=\"同意\""));
    assert_eq!(
        o.count("SELECT count(*) FROM approvals WHERE status = 'pending'"),
        1
    );
    assert_eq!(
        o.count("SELECT count(*) FROM tasks WHERE kind = 'accountability' AND status = 'open'"),
        0
    );

    let second = w.post(
        "/approvals/A000001/approve",
        &s,
        &[
            ("csrf", &first.csrf()),
            ("note", "同意"),
            ("confirmed", "1"),
        ],
    );
    assert_eq!(second.status, 303, "{}", second.body);
    assert_eq!(
        o.count("SELECT count(*) FROM approvals WHERE status = 'approved' AND note = '同意'"),
        1
    );
    assert_eq!(
        o.count("SELECT count(*) FROM tasks WHERE kind = 'accountability' AND status = 'open'"),
        1
    );
}

#[test]
fn a_mild_approval_is_decided_at_once() {
    let (o, w, s) =
        asked_to_approve(&common::APPROVAL.replace("task accountability", "task reminder_talk"));
    let page = w.get("/approvals/A000001", &s);
    assert!(!page.body.contains("id=\"harsh\""), "{}", page.body);
    let a = w.post("/approvals/A000001/approve", &s, &[("csrf", &page.csrf())]);
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(
        o.count("SELECT count(*) FROM approvals WHERE status = 'approved'"),
        1
    );
}

/// A rule marked `harsh` (严厉措施) asks twice whatever its tasks are; the
/// mark survives `duban fmt`, and is given once.
#[test]
fn a_rule_marked_harsh_asks_for_a_second_confirmation() {
    let mild = common::APPROVAL.replace("task accountability", "task reminder_talk");
    let marked = format!("{mild}  严厉措施\n");
    let (o, w, s) = asked_to_approve(&marked);
    let page = w.get("/approvals/A000001", &s);
    assert!(page.body.contains("id=\"harsh\""), "{}", page.body);
    let ask = w.post("/approvals/A000001/approve", &s, &[("csrf", &page.csrf())]);
    assert_eq!(ask.status, 200, "{}", ask.body);
    assert!(ask.body.contains("id=\"confirm-form\""), "{}", ask.body);
    assert_eq!(
        o.count("SELECT count(*) FROM approvals WHERE status = 'pending'"),
        1
    );

    o.cmd().arg("fmt").assert().success();
    let formatted = std::fs::read_to_string(o.path("rules/policy.rules")).unwrap_or_default();
    assert!(formatted.contains("\n  严厉措施\n"), "{formatted}");
    o.policy(&format!("{mild}  harsh\n  harsh\n"));
    o.cmd()
        .arg("check")
        .assert()
        .failure()
        .stdout(predicates::str::contains("has a second `harsh`"));
}
