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

/// `due 5 workdays` from 2026-09-30 counts 10-08, 10-09, 10-10 (a worked
/// Saturday), 10-12 and 10-13; `5 个工作日` is the same duration.
#[test]
fn due_in_working_days_counts_the_calendar() {
    let o = Office::fixture();
    o.policy(
        "规则 r\n  针对 问题\n  当 状态 != \"已整改\"\n  则 交办 提醒谈话 与 责任人 期限 5 个工作日\n",
    );
    o.cmd().args(["check"]).assert().success();
    o.cmd().args(["fmt", "--check"]).assert().success();
    let out = o.dry_run(&["--as-of", "2026-09-30"]);
    let dues: Vec<&str> = out["actions"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["due"].as_str()).collect())
        .unwrap_or_default();
    assert!(!dues.is_empty(), "{out}");
    assert!(dues.iter().all(|d| *d == "2026-10-13"), "{out}");
}

/// workdays_since across Spring Festival 2026: from Friday 02-13 to
/// Tuesday 02-24 there are two working days (Saturday 02-14 and 02-24).
#[test]
fn workdays_since_across_spring_festival() {
    let o = Office::fixture();
    o.write(
        "updates/problems.csv",
        "id,inspection_id,deadline,status,responsible_id\nw1,i1,2026-02-13,open,u1\n",
    );
    o.cmd()
        .args(["import", "updates/problems.csv"])
        .assert()
        .success();
    o.policy(
        "rule two for problem\n  when id = \"w1\" and workdays_since(deadline) = 2 and overdue_workdays = 2\n  then notify responsible\n\nrule three for problem\n  when id = \"w1\" and workdays_since(deadline) >= 3\n  then notify responsible\n",
    );
    let out = o.dry_run(&["--as-of", "2026-02-24", "--fresh"]);
    assert_eq!(subjects_of(&out["actions"], "two"), set(&["w1"]), "{out}");
    assert!(subjects_of(&out["actions"], "three").is_empty(), "{out}");
    let out = o.dry_run(&["--as-of", "2026-02-25", "--fresh"]);
    assert_eq!(subjects_of(&out["actions"], "three"), set(&["w1"]), "{out}");
    let explained = o
        .cmd()
        .args(["explain", "two", "w1", "--as-of", "2026-02-24"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&explained.stdout);
    assert!(text.contains("the rule HOLDS"), "{text}");
    assert!(text.contains("workdays_since(deadline)"), "{text}");
}

#[test]
fn working_days_in_a_condition_are_an_error_with_a_caret() {
    let o = Office::empty();
    o.policy(
        "rule r for problem\n  when deadline + 5 workdays < today\n  then notify responsible\n",
    );
    o.cmd()
        .arg("check")
        .assert()
        .code(1)
        .stdout(contains("policy.rules:2:19"))
        .stdout(contains("working days here"))
        .stdout(contains("workdays_since"));
}

/// `schedule "…" on workdays` (仅工作日): the rule does not run on
/// 2026-10-01 (National Day) and does run on Saturday 2026-10-10 (worked);
/// `simulate` shows the days it rests.
#[test]
fn a_rule_on_workdays_rests_on_days_off_and_works_on_worked_saturdays() {
    let o = Office::fixture();
    o.policy(
        "rule daily\n  schedule \"0 9 * * *\" on workdays\n  for problem\n  when status != \"rectified\"\n  then notify responsible\n  repeat every 1 day\n\n规则 每日\n  执行时间 \"0 9 * * *\" 仅工作日\n  针对 问题\n  当 状态 != \"已整改\"\n  则 通知 责任人\n  重复 每 1 天\n",
    );
    o.cmd().arg("check").assert().success();
    o.cmd().args(["fmt", "--check"]).assert().success();
    let out = o.json(&[
        "simulate",
        "--days",
        "12",
        "--as-of",
        "2026-09-30T08:00:00+08:00",
    ]);
    let days = out["per_day"].as_array().cloned().unwrap_or_default();
    let day = |date: &str| {
        days.iter()
            .find(|d| d["date"] == date)
            .cloned()
            .unwrap_or_else(|| panic!("no {date} in {out}"))
    };
    for off in ["2026-10-01", "2026-10-04", "2026-10-07", "2026-10-11"] {
        let d = day(off);
        assert_eq!(d["firings"], 0, "{d}");
        assert_eq!(d["rested"], serde_json::json!(["daily", "每日"]), "{d}");
    }
    for worked in ["2026-09-30", "2026-10-08", "2026-10-10"] {
        let d = day(worked);
        assert!(d["firings"].as_u64().unwrap_or(0) > 0, "{d}");
        assert_eq!(d["rested"], serde_json::json!([]), "{d}");
    }
    let table = o
        .cmd()
        .args([
            "simulate",
            "--days",
            "3",
            "--as-of",
            "2026-09-30T08:00:00+08:00",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.contains("day off: daily, 每日 rest"), "{table}");
}

/// The service skips days off, catch-up included: started on National Day
/// (`serve --once`), a rule `on workdays` that never ran waits; it first
/// runs on 10-08, and on Saturday 2026-10-10 (worked) it catches up once.
#[test]
fn the_service_runs_on_workdays_only_catch_up_included() {
    let o = Office::fixture();
    o.policy(
        "policy \"仅工作日\"\n  schedule \"0 9 * * *\" on workdays\n\nrule daily for problem\n  when status != \"rectified\"\n  then notify responsible\n",
    );
    for now in [
        "2026-10-01T10:00:00+08:00",
        "2026-10-04T10:00:00+08:00",
        "2026-10-08T10:00:00+08:00",
        "2026-10-10T10:00:00+08:00",
        "2026-10-11T10:00:00+08:00",
    ] {
        o.cmd()
            .env("DUBAN_NOW", now)
            .args(["serve", "--once"])
            .assert()
            .success();
    }
    let runs: Vec<String> = o
        .db()
        .prepare("SELECT as_of FROM runs ORDER BY id")
        .unwrap_or_else(|e| panic!("{e}"))
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect::<Result<Vec<String>, _>>())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        runs,
        ["2026-10-08T10:00:00+08:00", "2026-10-10T10:00:00+08:00"],
        "runs on working days only"
    );
}

/// Every spelling SPEC §8 gives, through the binary: `1 workday`, `2 工作日`
/// in `repeat every`, `workdays_until` and `剩余工作日数`, `距今工作日数`.
/// A problem due Friday 2026-10-09: on 09-30 two working days are left
/// (10-08, 10-09); on 09-24 five (09-25 to 09-27 are off).
#[test]
fn every_spelling_of_working_days_works_as_written() {
    let o = Office::fixture();
    o.write(
        "updates/problems.csv",
        "id,inspection_id,found_on,deadline,status,responsible_id\nw1,i1,2026-09-01,2026-10-09,open,u1\n",
    );
    o.cmd()
        .args(["import", "updates/problems.csv"])
        .assert()
        .success();
    o.policy(
        "rule soon\n  for problem\n  when id = \"w1\" and workdays_until(deadline) <= 3\n  then task reminder_talk with responsible due 1 workday\n\n\
         规则 将至\n  针对 问题\n  当 编号 = \"w1\" 且 剩余工作日数(整改期限) <= 3 且 距今工作日数(发现日期) >= 1\n  则 通知 责任人\n  重复 每 2 工作日\n",
    );
    o.cmd().arg("check").assert().success();
    o.cmd().args(["fmt", "--check"]).assert().success();

    let out = o.dry_run(&["--as-of", "2026-09-30", "--fresh"]);
    assert_eq!(subjects_of(&out["actions"], "soon"), set(&["w1"]), "{out}");
    assert_eq!(subjects_of(&out["actions"], "将至"), set(&["w1"]), "{out}");
    let due: Vec<&str> = out["actions"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["due"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(due, ["2026-10-08"], "{out}");
    let out = o.dry_run(&["--as-of", "2026-09-24", "--fresh"]);
    assert_eq!(out["actions"].as_array().map(Vec::len), Some(0), "{out}");

    // `repeat every 2 工作日` from 09-30: again once two working days have
    // passed — 10-09 (10-08, 10-09), then 10-12 (10-10 worked, 10-12).
    for replay in [&[][..], &["--day-by-day"][..]] {
        let mut args = vec![
            "simulate",
            "--days",
            "13",
            "--as-of",
            "2026-09-30T08:00:00+08:00",
        ];
        args.extend_from_slice(replay);
        let sim = o.json(&args);
        let fired: Vec<&str> = sim["per_day"]
            .as_array()
            .map(|days| {
                days.iter()
                    .filter(|d| {
                        d["rules"]
                            .as_array()
                            .is_some_and(|r| r.iter().any(|x| x["rule"] == "将至"))
                    })
                    .filter_map(|d| d["date"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            fired,
            ["2026-09-30", "2026-10-09", "2026-10-12"],
            "{replay:?}: {sim}"
        );
    }
}

/// `simulate` counts a firing whose task would fall due in a year the
/// calendar lacks as skipped, as dry-run does — in the table and in JSON.
#[test]
fn simulate_counts_firings_due_in_an_uncovered_year_as_skipped() {
    let o = Office::fixture();
    o.policy(
        "rule r for problem\n  when status != \"rectified\"\n  then task reminder_talk with responsible due 30 days\n",
    );
    let dry = o.dry_run(&["--as-of", "2026-12-15"]);
    let skipped_now = dry["skipped"].as_array().map(Vec::len).unwrap_or(0) as u64;
    assert!(skipped_now > 0, "{dry}");
    let sim = o.json(&[
        "simulate",
        "--as-of",
        "2026-12-15T08:00:00+08:00",
        "--days",
        "1",
    ]);
    let first = &sim["per_day"][0];
    assert_eq!(first["date"], "2026-12-15", "{sim}");
    assert_eq!(first["tasks"], 0, "{sim}");
    assert_eq!(first["skipped"].as_u64(), Some(skipped_now), "{sim}");
    assert_eq!(
        sim["per_rule"][0]["skipped"].as_u64(),
        Some(skipped_now),
        "{sim}"
    );
    o.cmd()
        .args([
            "simulate",
            "--as-of",
            "2026-12-15T08:00:00+08:00",
            "--days",
            "1",
        ])
        .assert()
        .success()
        .stdout(contains("skipped"))
        .stdout(contains(format!("{skipped_now} skipped")));
}
