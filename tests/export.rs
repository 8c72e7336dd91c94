//! Ledgers out and back in (SPEC §10), through the binary: the demo office
//! exported to a workbook and to CSV files imports into an empty database
//! as the same rows; dates are date cells and ids text cells; a clerk who
//! marks a task 已完成 in the workbook closes it, and the ladder sees it.

mod common;
use calamine::{Data, Reader, Xlsx, open_workbook};
use common::Office;
use predicates::prelude::*;
use predicates::str::contains;
use std::path::Path;

/// The stored columns of every case table, in id order: what an export
/// must carry and an import must restore.
fn case_rows(o: &Office) -> String {
    let db = o.db();
    let mut out = String::new();
    for d in duban::schema::ENTITIES {
        let cols: Vec<String> = d.fields.iter().filter_map(|f| f.column()).collect();
        let sql = format!("SELECT {} FROM {} ORDER BY id", cols.join(", "), d.table);
        let mut stmt = db.prepare(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let rows: Vec<String> = stmt
            .query_map([], |r| {
                Ok((0..cols.len())
                    .map(|i| format!("{:?}", r.get::<_, duban::store::Value>(i).ok()))
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .and_then(|r| r.collect())
            .unwrap_or_else(|e| panic!("{e}"));
        out.push_str(&format!(
            "== {} ({} rows)\n{}\n",
            d.table,
            rows.len(),
            rows.join("\n")
        ));
    }
    out
}

/// The demo office after a run, so that tasks duban created are in it,
/// with its approval requests decided: a task pending approval belongs to
/// its request, which a ledger does not carry, so no import brings one in.
fn demo() -> Office {
    let o = Office::demo(1, "2026-06-01");
    o.cmd()
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success();
    let pending = o.json(&["approvals", "list", "--pending"]);
    let ids: Vec<&str> = pending
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert!(!ids.is_empty(), "the demo's run asks for approval");
    for id in ids {
        o.cmd()
            .env("DUBAN_NOW", "2026-06-01T10:00:00+08:00")
            .args(["approvals", "approve", id])
            .assert()
            .success();
    }
    o
}

fn round_trip(to: &str, labels: bool) {
    let o = demo();
    let mut export = o.cmd();
    export.args(["export", "--to", to]);
    if labels {
        export.arg("--labels");
    }
    export
        .assert()
        .success()
        .stdout(contains("problems"))
        .stdout(contains("tasks"));
    let fresh = Office::empty();
    fresh
        .cmd()
        .arg("import")
        .arg(o.path(to))
        .assert()
        .success()
        .stdout(contains("0 updated"));
    let (want, got) = (case_rows(&o), case_rows(&fresh));
    assert!(want.contains("== tasks (") && !want.contains("== tasks (0 rows)"));
    assert_eq!(want, got);
    // Importing the export again changes nothing.
    o.cmd()
        .arg("import")
        .arg(o.path(to))
        .assert()
        .success()
        .stdout(contains("0 inserted, 0 updated"));
}

#[test]
fn a_workbook_round_trip_restores_every_row() {
    round_trip("台账.xlsx", false);
}

#[test]
fn a_csv_round_trip_with_chinese_labels_restores_every_row() {
    round_trip("导出", true);
}

#[test]
fn a_workbook_has_date_cells_text_ids_and_marked_read_only_columns() {
    let o = Office::fixture();
    // An id with leading zeros stays text.
    o.write(
        "more/persons.csv",
        "id,name,email\n007,赵六,zhaoliu@example.org\n",
    );
    o.cmd().args(["import", "more"]).assert().success();
    o.cmd()
        .env("DUBAN_NOW", "2026-06-01T09:00:00+08:00")
        .args(["export", "problems", "persons", "--to", "out.xlsx"])
        .assert()
        .success();
    let mut book: Xlsx<_> = open_workbook(o.path("out.xlsx")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(book.sheet_names(), vec!["persons", "problems"]);
    let persons = book
        .worksheet_range("persons")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        persons
            .rows()
            .any(|r| r.first() == Some(&Data::String("007".into()))),
        "{persons:?}"
    );
    let problems = book
        .worksheet_range("problems")
        .unwrap_or_else(|e| panic!("{e}"));
    let header: Vec<String> = problems
        .rows()
        .next()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .unwrap_or_default();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
    };
    let p1 = problems
        .rows()
        .find(|r| r.first() == Some(&Data::String("p1".into())))
        .unwrap_or_else(|| panic!("no p1"));
    match &p1[col("deadline")] {
        Data::DateTime(d) => assert_eq!(
            d.as_datetime().map(|t| t.date().to_string()),
            Some("2026-04-01".into())
        ),
        other => panic!("deadline is not a date cell: {other:?}"),
    }
    // p1 is 61 days overdue on 2026-06-01; the column is marked read-only.
    assert_eq!(p1[col("overdue_days (read-only)")], Data::Float(61.0));
    assert_eq!(
        p1[col("responsible_name (read-only)")],
        Data::String("王五".into())
    );
    // The read-only columns change nothing when the sheet comes back.
    let before = o.dump();
    o.cmd()
        .args(["import", "out.xlsx"])
        .assert()
        .success()
        .stderr(contains("read-only").not());
    assert_eq!(before, o.dump());
}

#[test]
fn export_names_what_it_cannot_do() {
    let o = Office::fixture();
    o.cmd()
        .args(["export", "problem", "tsaks", "--to", "x.xlsx"])
        .assert()
        .code(2)
        .stderr(contains("no table `tsaks` (did you mean `tasks`?)"));
    o.cmd()
        .args(["export", "--to", "x.pdf"])
        .assert()
        .code(2)
        .stderr(contains("not to .pdf"));
}

/// Writes the tasks sheet of `from` to a new workbook `to` as a
/// spreadsheet program would, with the cells `changes` (by column header)
/// set in the row of task `id`.
fn rewrite_tasks(from: &Path, sheet: &str, to: &Path, id: &str, changes: &[(&str, Data)]) {
    let mut book: Xlsx<_> = open_workbook(from).unwrap_or_else(|e| panic!("{e}"));
    let range = book
        .worksheet_range(sheet)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut rows = range.rows();
    let header: Vec<String> = rows
        .next()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .unwrap_or_default();
    let mut out = rust_xlsxwriter::Workbook::new();
    let name = sheet;
    let sheet = out.add_worksheet();
    sheet.set_name(name).unwrap_or_else(|e| panic!("{e}"));
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy/m/d");
    for (c, h) in header.iter().enumerate() {
        sheet
            .write_string(0, c as u16, h)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    for (i, r) in rows.enumerate() {
        let mut cells = r.to_vec();
        if cells.first() == Some(&Data::String(id.into())) {
            for (column, value) in changes {
                let at = header
                    .iter()
                    .position(|h| h == column)
                    .unwrap_or_else(|| panic!("no column {column}"));
                cells[at] = value.clone();
            }
        }
        for (c, cell) in cells.iter().enumerate() {
            let (row, col) = (i as u32 + 1, c as u16);
            let written = match cell {
                Data::String(s) => sheet.write_string(row, col, s),
                Data::Float(f) => sheet.write_number(row, col, *f),
                Data::DateTime(d) => sheet.write_number_with_format(row, col, d.as_f64(), &date),
                Data::Empty => continue,
                other => panic!("unexpected cell {other:?}"),
            };
            written.unwrap_or_else(|e| panic!("{e}"));
        }
    }
    out.save(to).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_task_marked_done_in_the_workbook_is_closed_and_escalates() {
    let o = Office::ladder();
    o.cmd()
        .env("DUBAN_NOW", "2026-06-08T09:00:00+08:00")
        .args(["export", "tasks", "--to", "tasks.xlsx", "--labels"])
        .assert()
        .success();
    let done_on = calamine::ExcelDateTime::new(
        46178.0, // 2026-06-05
        calamine::ExcelDateTimeType::DateTime,
        false,
    );
    rewrite_tasks(
        &o.path("tasks.xlsx"),
        "任务",
        &o.path("edited.xlsx"),
        "T000001",
        &[
            ("状态", Data::String("已完成".into())),
            ("完成日期", Data::DateTime(done_on)),
            ("结果", Data::String("已谈话，责任人承诺月底整改".into())),
        ],
    );
    // Before the import the ladder holds nothing for p1's second step.
    let escalations = |as_of: &str| {
        let out = o.dry_run(&["--as-of", as_of]);
        common::subjects_of(&out["actions"], "escalate")
    };
    assert!(escalations("2026-07-10").is_empty());
    o.cmd()
        .env("DUBAN_NOW", "2026-06-08T09:00:00+08:00")
        .args(["import", "edited.xlsx"])
        .assert()
        .success()
        .stdout(contains("1 updated"));
    let (status, done_on, outcome, closed_by): (String, String, String, String) = o
        .db()
        .query_row(
            "SELECT status, done_on, outcome, closed_by FROM tasks WHERE id = 'T000001'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (status.as_str(), done_on.as_str(), outcome.as_str()),
        ("done", "2026-06-05", "已谈话，责任人承诺月底整改")
    );
    assert_eq!(closed_by, "import edited.xlsx[任务]:2");
    o.cmd()
        .args(["tasks", "show", "T000001"])
        .assert()
        .success()
        .stdout(contains("import edited.xlsx[任务]:2"));
    // 30 days after the talk the ladder climbs; not before.
    assert!(escalations("2026-07-04").is_empty());
    assert_eq!(escalations("2026-07-05"), common::set(&["p1"]));
}

#[test]
fn a_workbook_may_not_close_a_task_against_the_rules_of_tasks_done() {
    let o = Office::ladder();
    o.cmd()
        .args(["export", "tasks", "--to", "tasks.xlsx"])
        .assert()
        .success();
    let set = |status: &str, done_on: Option<f64>, outcome: &str| {
        rewrite_tasks(
            &o.path("tasks.xlsx"),
            "tasks",
            &o.path("edited.xlsx"),
            "T000001",
            &[
                ("status", Data::String(status.into())),
                ("done_on", done_on.map(Data::Float).unwrap_or(Data::Empty)),
                ("outcome", Data::String(outcome.into())),
            ],
        );
    };
    let before = o.dump();
    let rejected = |why: &str| {
        o.cmd()
            .env("DUBAN_NOW", "2026-06-08T09:00:00+08:00")
            .args(["import", "edited.xlsx"])
            .assert()
            .code(1)
            .stderr(contains(why));
        assert_eq!(before, o.dump());
    };
    set("done", Some(46178.0), "");
    rejected("edited.xlsx[tasks]:2: outcome: empty; say what came of the task");
    set("done", None, "已谈话");
    rejected("edited.xlsx[tasks]:2: done_on: missing");
    set("done", Some(46200.0), "已谈话");
    rejected("done_on: 2026-06-27 is in the future (today is 2026-06-08)");
    set("done", Some(46100.0), "已谈话");
    rejected("is before the task was created (2026-06-01)");
    set("cancelled", None, "");
    rejected("an import can mark a task done, not cancelled");
}

/// A workbook exported before a task was closed on the workbench and an
/// approval decided there, imported again afterwards: its rows are older
/// than the database, not edits — accepted, nothing reopened or changed.
#[test]
fn an_old_workbook_imported_after_work_on_the_workbench_changes_nothing() {
    use common::web::{Workbench, add_user};
    let o = Office::fixture();
    o.policy(common::APPROVAL);
    o.cmd()
        .env("DUBAN_NOW", "2026-06-01T09:00:00+08:00")
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success();
    let statuses = || {
        ["t2", "T000001"].map(|id| {
            o.db()
                .query_row("SELECT status FROM tasks WHERE id = ?1", [id], |r| {
                    r.get::<_, String>(0)
                })
                .unwrap_or_else(|e| panic!("{id}: {e}"))
        })
    };
    // t2 open (李四's), T000001 pending on 赵六's decision.
    assert_eq!(statuses(), ["open", "pending"]);
    o.cmd()
        .args(["export", "--to", "台账.xlsx"])
        .assert()
        .success();
    add_user(&o, "u2", "member", "correct horse 2");
    add_user(&o, "u4", "member", "correct horse 4");
    {
        let w = Workbench::start(&o, "2026-06-03T10:00:00+08:00");
        // Signed in as `who`, the form `action` of `page`, sent.
        let act = |who: &str, page: &str, action: &str, form: &[(&str, &str)]| {
            let session = w.sign_in(who, &format!("correct horse {}", &who[1..]));
            let shown = w.get(page, &session);
            assert_eq!(shown.status, 200, "{page}");
            let csrf = shown.csrf();
            let mut form = form.to_vec();
            form.push(("csrf", &csrf));
            let a = w.post(&format!("{page}/{action}"), &session, &form);
            assert_eq!(a.status, 303, "{}", a.body);
        };
        let closed = [("outcome", "已谈话，承诺月底整改"), ("on", "2026-06-02")];
        act("u2", "/tasks/t2", "done", &closed);
        // 问责 is a harsh step: approved with its second confirmation.
        let approve = [("note", "同意"), ("confirmed", "1")];
        act("u4", "/approvals/A000001", "approve", &approve);
    }
    assert_eq!(statuses(), ["done", "open"]);
    let before = o.dump();
    o.cmd()
        .env("DUBAN_NOW", "2026-06-03T11:00:00+08:00")
        .args(["import", "台账.xlsx"])
        .assert()
        .success()
        .stdout(contains("0 inserted, 0 updated"))
        .stderr(contains("2 rows"))
        .stderr(contains("tasks").and(contains("kept as the database has them")));
    assert_eq!(before, o.dump());
}
