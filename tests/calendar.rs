//! Working days with 调休 (SPEC §8) through the binary: the calendar file
//! `init` writes, `calendar show` and `import`, due dates on the real 2026
//! arrangement, and a December without next year's notice.

mod common;
use common::*;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;

#[test]
fn init_writes_the_known_years_and_show_marks_holidays_and_worked_weekends() {
    let o = Office::empty();
    let text = std::fs::read_to_string(o.path("calendar.toml")).unwrap_or_else(|e| panic!("{e}"));
    for year in ["[2024]", "[2025]", "[2026]"] {
        assert!(text.contains(year), "{text}");
    }
    assert!(text.contains("\"2026-10-01..2026-10-07\""), "{text}");
    let out = o
        .cmd()
        .args(["calendar", "show", "2026"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success());
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("一   二   三   四   五   六   日"),
        "{shown}"
    );
    assert!(shown.contains("休 day off"), "{shown}");
    // National Day off, Saturday 10-10 worked; no colour codes without a terminal.
    assert!(shown.contains(" 1休"), "{shown}");
    assert!(shown.contains("10班"), "{shown}");
    assert!(!shown.contains('\x1b'), "{shown}");
    o.cmd()
        .args(["calendar", "show", "2027"])
        .assert()
        .code(1)
        .stderr(contains("the calendar does not cover 2027"))
        .stderr(contains("duban calendar import"));
}

#[test]
fn import_adds_a_year_idempotently_and_refuses_an_empty_one() {
    let o = Office::empty();
    // 2027 from an iCalendar file of holidays.
    o.write(
        "holidays-2027.ics",
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270101\r\nDTEND;VALUE=DATE:20270102\r\nSUMMARY:元旦\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20271001\r\nDTEND;VALUE=DATE:20271008\r\nSUMMARY:国庆节\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270925\r\nSUMMARY:国庆节补班\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    );
    o.cmd()
        .args(["calendar", "import", "holidays-2027.ics"])
        .assert()
        .success()
        .stdout(contains("2027: added"));
    o.cmd()
        .args(["calendar", "import", "holidays-2027.ics"])
        .assert()
        .success()
        .stdout(contains("2027: unchanged"));
    o.cmd()
        .args(["calendar", "show", "2027"])
        .assert()
        .success()
        .stdout(contains("25班"));
    // The same 2026 facts as duban knows: unchanged; the empty 2027
    // holiday-cn file (its notice not out yet) is refused.
    o.cmd()
        .arg("calendar")
        .arg("import")
        .arg(fixture("calendar/holiday-cn-2026.json"))
        .assert()
        .success()
        .stdout(contains("2026: unchanged"));
    let before = std::fs::read_to_string(o.path("calendar.toml")).unwrap_or_else(|e| panic!("{e}"));
    o.cmd()
        .arg("calendar")
        .arg("import")
        .arg(fixture("calendar/holiday-cn-2027.json"))
        .assert()
        .code(1)
        .stderr(contains("2027: no days in it"));
    let after = std::fs::read_to_string(o.path("calendar.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(before, after);
}

#[test]
fn a_bad_calendar_file_names_line_and_key() {
    let o = Office::empty();
    o.write(
        "calendar.toml",
        "[2026]\noff = [\"2026-10-01..2026-10-07\"]\nwork = [\"2026-10-10\", \"2026-10-03\"]\n",
    );
    o.cmd()
        .args(["calendar", "show", "2026"])
        .assert()
        .code(1)
        .stderr(contains(
            "calendar.toml:3: 2026.work: 2026-10-03 is both a day off and a working day",
        ));
}

/// `due 7 days` from 2026-09-28 is 10-05, inside National Day: the task is
/// due on the next working day, 10-08; the notice and its .ics say so.
#[test]
fn a_due_date_on_a_holiday_moves_to_the_next_working_day() {
    let o = Office::fixture();
    o.policy(
        "rule r for problem\n  when status != \"rectified\"\n  then task reminder_talk with responsible due 7 days\n",
    );
    o.cmd()
        .args(["run", "--as-of", "2026-09-28"])
        .assert()
        .success();
    let dues = o.count("SELECT count(DISTINCT due) FROM tasks WHERE rule = 'r'");
    assert_eq!(dues, 1);
    let due: String = o
        .db()
        .query_row("SELECT due FROM tasks WHERE rule = 'r' LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(due, "2026-10-08");
    let ics: String = o
        .db()
        .query_row(
            "SELECT ics FROM outbox WHERE ics IS NOT NULL LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(ics.contains("20261008"), "{ics}");
}

/// In December, with next year not covered: `check` and `status` warn; a
/// task due in the uncovered year is skipped with the reason, and nothing
/// crashes.
#[test]
fn december_without_next_year() {
    let o = Office::fixture();
    o.policy(
        "rule r for problem\n  when status != \"rectified\"\n  then task reminder_talk with responsible due 30 days\n",
    );
    let december = "2026-12-01T09:00:00+08:00";
    o.cmd()
        .env("DUBAN_NOW", december)
        .arg("check")
        .assert()
        .success()
        .stderr(contains("the calendar does not cover 2027"));
    o.cmd()
        .env("DUBAN_NOW", december)
        .arg("status")
        .assert()
        .success()
        .stdout(contains("warning: the calendar does not cover 2027"));
    let out = o.dry_run(&["--as-of", "2026-12-15"]);
    let skipped = out["skipped"].to_string();
    assert!(
        skipped.contains("the calendar does not cover 2027"),
        "{out}"
    );
    assert_eq!(out["actions"].as_array().map(Vec::len), Some(0), "{out}");
    o.cmd()
        .args(["run", "--as-of", "2026-12-15"])
        .assert()
        .success();
    assert_eq!(o.count("SELECT count(*) FROM tasks WHERE rule = 'r'"), 0);
    // November: no warning.
    o.cmd()
        .env("DUBAN_NOW", "2026-11-30T09:00:00+08:00")
        .arg("status")
        .assert()
        .success()
        .stdout(contains("does not cover").not());
}
