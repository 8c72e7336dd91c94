//! The task ledger through the binary: listing, showing where a task came
//! from, closing it with an outcome (validated), cancelling — and the
//! outcome feeding a later rule. And `status`.

mod common;
use common::{LADDER, Office};
use predicates::str::contains;

#[test]
fn tasks_list_and_show_where_they_came_from() {
    let o = Office::ladder();
    o.cmd()
        .args(["tasks", "list", "--open"])
        .assert()
        .success()
        .stdout(contains("T000001"))
        .stdout(contains("reminder_talk 提醒谈话"))
        .stdout(contains("王五 u3"))
        .stdout(contains("1 task"));
    o.cmd()
        .args(["tasks", "list", "--kind", "诫勉谈话"])
        .assert()
        .success()
        .stdout(contains("0 tasks"));
    o.cmd()
        .args(["tasks", "list", "--assignee", "u2"])
        .assert()
        .success()
        .stdout(contains("1 task"));
    let out = o
        .cmd()
        .args(["tasks", "list", "--format", "json"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let line = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["id"], "T000001");
    assert_eq!(v["rule"], "overdue_reminder");
    assert_eq!(v["facts"]["overdue_days"], 61);
    o.cmd()
        .args(["tasks", "show", "T000001"])
        .assert()
        .success()
        .stdout(contains("rule        overdue_reminder"))
        .stdout(contains("policy      sha256:"))
        .stdout(contains("overdue_days = 61"))
        .stdout(contains("notice #"));
}

#[test]
fn closing_a_task_is_validated_and_feeds_later_rules() {
    let o = Office::ladder();
    // Not before it was created, not in the future, not without an outcome.
    o.cmd()
        .args([
            "tasks",
            "done",
            "T000001",
            "--outcome",
            "已谈话",
            "--on",
            "2026-05-01",
        ])
        .assert()
        .code(1)
        .stderr(contains("before the task was created"));
    o.cmd()
        .args([
            "tasks",
            "done",
            "T000001",
            "--outcome",
            "已谈话",
            "--on",
            "2099-01-01",
        ])
        .assert()
        .code(1)
        .stderr(contains("in the future"));
    o.cmd()
        .args(["tasks", "done", "T000001", "--outcome", "  "])
        .assert()
        .code(1)
        .stderr(contains("outcome: empty"));
    o.cmd()
        .args(["tasks", "done", "T999999", "--outcome", "x"])
        .assert()
        .code(1)
        .stderr(contains("no task T999999"));
    o.cmd()
        .args([
            "tasks",
            "done",
            "T000001",
            "--outcome",
            "已谈话，承诺月底整改",
            "--on",
            "2026-06-03",
            "--by",
            "纪检组",
        ])
        .assert()
        .success()
        .stdout(contains("T000001 done on 2026-06-03"));
    o.cmd()
        .args(["tasks", "done", "T000001", "--outcome", "again"])
        .assert()
        .code(1)
        .stderr(contains("already done"));
    o.cmd()
        .args(["tasks", "cancel", "T000001", "--reason", "x"])
        .assert()
        .code(1)
        .stderr(contains("already done"));
    assert_eq!(o.count("SELECT count(*) FROM tasks WHERE id = 'T000001' AND closed_by = '纪检组' AND closed_at IS NOT NULL"), 1);

    // Thirty days after the talk, the problem still open: escalation.
    o.cmd()
        .args(["run", "--as-of", "2026-07-02"])
        .assert()
        .success();
    assert_eq!(
        o.count(
            "SELECT count(*) FROM tasks WHERE kind = 'admonishment_talk' AND subject_id = 'p1'"
        ),
        0
    );
    o.cmd()
        .args(["run", "--as-of", "2026-07-03"])
        .assert()
        .success();
    assert_eq!(
        o.count(
            "SELECT count(*) FROM tasks WHERE kind = 'admonishment_talk' AND subject_id = 'p1'"
        ),
        1
    );
}

#[test]
fn task_ids_from_a_ledger_are_never_reused() {
    let o = Office::fixture();
    o.policy(LADDER);
    o.write(
        "in/tasks.csv",
        "id,subject_type,subject_id,kind,status\nT000001,problem,p2,interview,done\nT000002,problem,p2,interview,done\n",
    );
    o.cmd().args(["import", "in/tasks.csv"]).assert().success();
    o.cmd()
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success();
    // p1's reminder talk (t1) was held 42 days ago: escalate creates a task,
    // numbered past the two ids the ledger already uses.
    assert_eq!(o.count("SELECT count(*) FROM tasks WHERE id = 'T000003' AND rule = 'escalate' AND subject_id = 'p1'"), 1);
    assert_eq!(o.count("SELECT count(*) FROM tasks WHERE kind = 'interview' AND status = 'done' AND id IN ('T000001', 'T000002')"), 2);
}

#[test]
fn cancelling_records_the_reason() {
    let o = Office::ladder();
    o.cmd()
        .args(["tasks", "cancel", "T000001", "--reason", ""])
        .assert()
        .code(1);
    o.cmd()
        .args(["tasks", "cancel", "T000001", "--reason", "责任人已调离"])
        .assert()
        .success()
        .stdout(contains("cancelled: 责任人已调离"));
    o.cmd()
        .args(["tasks", "show", "T000001"])
        .assert()
        .success()
        .stdout(contains("cancelled   责任人已调离"));
    o.cmd()
        .args(["tasks", "done", "T000001", "--outcome", "x"])
        .assert()
        .code(1)
        .stderr(contains("was cancelled"));
}

#[test]
fn status_shows_runs_tasks_and_notices() {
    let o = Office::ladder();
    o.cmd()
        .args(["status"])
        .assert()
        .success()
        .stdout(contains(
            "as of 2026-06-01T00:00:00+08:00 · 2 rules · 1 fired · 1 task",
        ))
        .stdout(contains("tasks: 1 open"))
        .stdout(contains("reminder_talk 提醒谈话"))
        .stdout(contains(
            "notices: 0 queued · 0 sending · 1 sent · 0 failed",
        ));
}

/// Counts read as English ("1 rule", never "1 rules"); `status` gives every
/// time in the office's zone; the notices a run created but held for an
/// approval are said in the run and in `status`; `run --format json`
/// prints JSON alone.
#[test]
fn counts_times_and_held_notices_read_consistently() {
    let o = Office::fixture();
    o.policy(common::APPROVAL);
    let run = o
        .cmd()
        .env("DUBAN_NOW", "2026-06-01T09:00:00+08:00")
        .args(["run", "--as-of", "2026-06-01", "--format", "json"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(run.status.success());
    let text = String::from_utf8_lossy(&run.stdout).to_string();
    let v: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: only JSON on stdout, got {text}"));
    let held = v["rules"][0]["held"].as_u64().unwrap_or(0);
    assert!(held > 0, "{v}");
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("delivered"),
        "the delivery is said on stderr"
    );
    let dry = o
        .cmd()
        .env("DUBAN_NOW", "2026-06-01T09:00:00+08:00")
        .args(["dry-run", "--as-of", "2026-06-01", "--fresh"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let dry = String::from_utf8_lossy(&dry.stdout).to_string();
    assert!(dry.contains("· 1 rule\n"), "{dry}");
    assert!(dry.contains("total: 1 rule · "), "{dry}");
    assert!(
        dry.contains(&format!("({held} held until approved)")),
        "{dry}"
    );
    let status = o
        .cmd()
        .env("DUBAN_NOW", "2026-06-01T09:30:00+08:00")
        .arg("status")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let status = String::from_utf8_lossy(&status.stdout).to_string();
    assert!(
        status.contains(&format!(" · {held} held until approved")),
        "{status}"
    );
    assert!(status.contains("· 1 rule ·"), "{status}");
    let run_line = status
        .lines()
        .find(|l| l.contains("as of"))
        .unwrap_or_else(|| panic!("{status}"));
    assert!(
        run_line.contains("finished 2026-06-01T09:00:00+08:00"),
        "{run_line}"
    );
    for text in [&dry, &status] {
        assert!(!text.contains("Z "), "a UTC time: {text}");
        assert!(!text.trim_end().ends_with('Z'), "a UTC time: {text}");
        for word in ["rules", "firings", "tasks", "notices", "episodes"] {
            assert!(!text.contains(&format!(" 1 {word}")), "1 {word}: {text}");
        }
    }
}
