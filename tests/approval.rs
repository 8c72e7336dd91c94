//! Approval before an action goes out (SPEC §9), through the binary: a
//! held firing sends nothing to its targets (file outbox and a real SMTP
//! server); approve releases the held notices exactly once, also when two
//! processes approve at once; reject cancels, and the episode fires no
//! more; a new episode asks again; a target cannot decide; a SIGKILL during
//! approve leaves the request undecided or wholly decided.

mod common;
use common::smtp::{SmtpServer, smtp_config};
use common::{Office, duban};
use predicates::str::contains;
use std::collections::BTreeSet;

fn office() -> Office {
    let o = Office::fixture();
    o.policy(common::APPROVAL);
    o
}

/// The recipients of the `.eml` files in the file outbox, one entry per
/// file.
fn outbox_recipients(o: &Office) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(o.path("outbox"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .map(|e| {
                    let raw = std::fs::read(e.path()).unwrap_or_default();
                    let m = mailparse::parse_mail(&raw).unwrap_or_else(|e| panic!("{e}"));
                    use mailparse::MailHeaderMap;
                    m.headers.get_first_value("To").unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn eml_bodies(o: &Office) -> String {
    let mut all = String::new();
    for e in std::fs::read_dir(o.path("outbox"))
        .into_iter()
        .flatten()
        .flatten()
    {
        if e.path().extension().is_some_and(|x| x == "eml") {
            let raw = std::fs::read(e.path()).unwrap_or_default();
            let m = mailparse::parse_mail(&raw).unwrap_or_else(|e| panic!("{e}"));
            for part in std::iter::once(&m).chain(m.subparts.iter()) {
                all.push_str(&part.get_body().unwrap_or_default());
            }
        }
    }
    all
}

fn at(o: &Office, now: &str) -> assert_cmd::Command {
    let mut c = o.cmd();
    c.env("DUBAN_NOW", now);
    c
}

/// `duban run` as of `day`, at 09:00 that day.
fn run_on(o: &Office, day: &str) {
    at(o, &format!("{day}T09:00:00+08:00"))
        .args(["run", "--as-of", day])
        .assert()
        .success();
}

fn task_status(o: &Office) -> String {
    o.db()
        .query_row(
            "SELECT status || ' ' || coalesce(CAST(due AS text), '') FROM tasks WHERE rule = 'accountability'",
            [],
            |r| r.get(0),
        )
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_held_firing_sends_nothing_until_approved_then_exactly_once() {
    let o = office();
    // Dry-run says who approves, in JSON and in words.
    let dry = o.dry_run(&["--as-of", "2026-06-01"]);
    let actions = dry["actions"].as_array().cloned().unwrap_or_default();
    assert_eq!(actions.len(), 2, "{dry}");
    assert!(actions.iter().all(|a| a["approval"] == "u4"), "{dry}");
    o.cmd()
        .args(["dry-run", "--as-of", "2026-06-01"])
        .assert()
        .success()
        .stdout(contains("awaits approval by 赵六 u4"));

    let counted = dry["rules"][0]["notices"].as_i64();

    run_on(&o, "2026-06-01");
    // Only the approver hears of it.
    assert_eq!(outbox_recipients(&o), vec!["赵六 <zhaoliu@example.org>"]);
    // The dry-run counted the notices the run queued: the request to the
    // approver and those held for the decision.
    assert_eq!(
        counted,
        Some(o.count("SELECT count(*) FROM outbox") + o.count("SELECT count(*) FROM held_notices")),
        "{dry}"
    );
    assert!(eml_bodies(&o).contains("A000001"));
    assert!(
        task_status(&o).starts_with("pending"),
        "{}",
        task_status(&o)
    );
    o.cmd()
        .args(["tasks", "list"])
        .assert()
        .success()
        .stdout(contains("pending"));
    let list = o.json(&["approvals", "list", "--pending"]);
    assert_eq!(list[0]["id"], "A000001");
    assert_eq!(list[0]["approver"], "u4");
    assert_eq!(list[0]["decide_by"], "2026-06-04");
    at(&o, "2026-06-01T10:00:00+08:00")
        .arg("status")
        .assert()
        .success()
        .stdout(contains("approvals: 1 pending (0 overdue)"));
    // A pending task cannot be closed.
    o.cmd()
        .args(["tasks", "done", "T000001", "--outcome", "x"])
        .assert()
        .code(1)
        .stderr(contains("awaits approval"));
    // The next day's run neither fires again nor asks again.
    run_on(&o, "2026-06-02");
    assert_eq!(o.count("SELECT count(*) FROM approvals"), 1);
    assert_eq!(outbox_recipients(&o).len(), 1);

    at(&o, "2026-06-03T10:00:00+08:00")
        .args(["approvals", "approve", "A000001", "--note", "同意"])
        .assert()
        .success()
        .stdout(contains("1 task opened, 2 notices queued"));
    // 10 days from 2026-06-03 is Saturday 06-13: due the next working day.
    assert_eq!(task_status(&o), "open 2026-06-15");
    let to = outbox_recipients(&o);
    assert_eq!(to.len(), 3, "{to:?}");
    assert!(to.iter().any(|t| t.contains("lisi@example.org")), "{to:?}");
    assert!(
        to.iter().any(|t| t.contains("zhangsan@example.org")),
        "{to:?}"
    );
    let bodies = eml_bodies(&o);
    assert!(
        bodies.contains("2026年6月15日"),
        "the task notice names the due date"
    );
    assert!(
        !bodies.contains('\u{E000}'),
        "no placeholder left in a notice"
    );
    assert!(
        bodies.contains("DTSTART;VALUE=DATE:20260615"),
        "the .ics is on the due date"
    );

    // Twice: refused, nothing sent again.
    at(&o, "2026-06-03T10:05:00+08:00")
        .args(["approvals", "approve", "A000001"])
        .assert()
        .code(1)
        .stderr(contains("approved already"));
    assert_eq!(outbox_recipients(&o).len(), 3);
    o.cmd()
        .args(["tasks", "show", "T000001"])
        .assert()
        .success()
        .stdout(contains("approval    A000001 (approved"))
        .stdout(contains("command line"));
    let shown = o.json(&["approvals", "show", "A000001"]);
    assert_eq!(shown["approval"]["decided_by"], "u4");
    assert_eq!(shown["approval"]["note"], "同意");
    assert_eq!(shown["approval"]["via"], "command line");

    // `repeat every 30 days` counts from the approval (06-03), not the
    // firing (06-01): nothing for p1 on 07-02, a new request on 07-03 (p2,
    // overdue by then, has its own).
    run_on(&o, "2026-07-02");
    assert_eq!(
        o.count("SELECT count(*) FROM approvals WHERE subject_id = 'p1'"),
        1
    );
    run_on(&o, "2026-07-03");
    assert_eq!(
        o.count("SELECT count(*) FROM approvals WHERE subject_id = 'p1' AND status = 'pending'"),
        1
    );
}

#[test]
fn reject_cancels_and_the_episode_fires_no_more_but_a_new_one_asks_again() {
    let o = office();
    run_on(&o, "2026-06-01");
    let before = o.dump();
    // A reason is required.
    at(&o, "2026-06-02T09:00:00+08:00")
        .args(["approvals", "reject", "A000001"])
        .assert()
        .code(2);
    at(&o, "2026-06-02T09:00:00+08:00")
        .args(["approvals", "reject", "A000001", "--reason", " "])
        .assert()
        .code(1)
        .stderr(contains("reason"));
    assert_eq!(o.dump(), before, "a refused decision changes nothing");
    at(&o, "2026-06-02T09:00:00+08:00")
        .args([
            "approvals",
            "reject",
            "A000001",
            "--reason",
            "已约谈，暂缓问责",
        ])
        .assert()
        .success()
        .stdout(contains("1 task cancelled"));
    assert_eq!(
        o.count("SELECT count(*) FROM tasks WHERE status = 'cancelled' AND cancel_reason = '已约谈，暂缓问责'"),
        1
    );
    assert_eq!(o.count("SELECT count(*) FROM held_notices"), 0);
    // Past the repeat: the rejected episode fires no more (p2, overdue by
    // then, gets its own request).
    run_on(&o, "2026-07-15");
    assert_eq!(
        o.count("SELECT count(*) FROM approvals WHERE subject_id = 'p1'"),
        1
    );
    assert_eq!(
        o.count("SELECT count(*) FROM outbox WHERE subject_id = 'p1'"),
        1,
        "only the request was sent"
    );
    // The problem is rectified (the episode ends), then reopened: a new
    // episode asks again.
    o.db()
        .execute(
            "UPDATE problems SET status = 'rectified', rectified_on = '2026-07-16' WHERE id = 'p1'",
            [],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    run_on(&o, "2026-07-16");
    o.db()
        .execute(
            "UPDATE problems SET status = 'open', rectified_on = NULL WHERE id = 'p1'",
            [],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    run_on(&o, "2026-07-17");
    let list = o.json(&["approvals", "list"]);
    let p1: Vec<(String, String)> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["subject_id"] == "p1")
        .map(|a| {
            (
                a["id"].as_str().unwrap_or("").to_string(),
                a["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(p1.len(), 2, "{list}");
    assert_eq!(p1[0].1, "pending", "the new episode asks again: {list}");
    assert_eq!(p1[1], ("A000001".to_string(), "rejected".to_string()));
}

#[test]
fn a_target_cannot_decide_their_own_request() {
    let o = office();
    run_on(&o, "2026-06-01");
    let before = o.dump();
    at(&o, "2026-06-02T09:00:00+08:00")
        .args(["approvals", "approve", "A000001", "--as", "u1"])
        .assert()
        .code(1)
        .stderr(contains("target"));
    at(&o, "2026-06-02T09:00:00+08:00")
        .args([
            "approvals",
            "reject",
            "A000001",
            "--as",
            "u1",
            "--reason",
            "不同意",
        ])
        .assert()
        .code(1);
    assert_eq!(o.dump(), before);
    // Another leader may.
    at(&o, "2026-06-02T09:00:00+08:00")
        .args(["approvals", "approve", "A000001", "--as", "u2"])
        .assert()
        .success();
}

#[test]
fn an_overdue_request_reminds_the_approver_once() {
    let o = office();
    run_on(&o, "2026-06-01");
    // within 3 days: decide by 06-04; on 06-05 it is overdue.
    for day in ["2026-06-04", "2026-06-05", "2026-06-06"] {
        run_on(&o, day);
    }
    let to = outbox_recipients(&o);
    assert_eq!(to.len(), 2, "the request and one reminder: {to:?}");
    assert!(eml_bodies(&o).contains("至今未审批"));
    at(&o, "2026-06-06T10:00:00+08:00")
        .arg("status")
        .assert()
        .success()
        .stdout(contains("approvals: 1 pending (1 overdue)"));
    at(&o, "2026-06-06T10:00:00+08:00")
        .args(["approvals", "list"])
        .assert()
        .success()
        .stdout(contains("overdue"));
}

#[test]
fn approve_from_two_processes_at_once_releases_once_over_smtp() {
    let server = SmtpServer::start();
    let o = office();
    o.write("duban.toml", &smtp_config(server.port, 3, 1));
    run_on(&o, "2026-06-01");
    assert_eq!(
        server.messages().len(),
        1,
        "only the request to the approver"
    );
    let spawn = || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("duban"))
            .args(["approvals", "approve", "A000001"])
            .current_dir(o.dir.path())
            .env("DUBAN_NOW", "2026-06-02T09:00:00+08:00")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let (a, b) = (spawn(), spawn());
    let codes: Vec<i32> = [a, b]
        .into_iter()
        .map(|c| {
            c.wait_with_output()
                .map(|o| o.status.code().unwrap_or(-1))
                .unwrap_or(-1)
        })
        .collect();
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec![0, 1],
        "one approves, the other is told: {codes:?}"
    );
    let messages = server.messages();
    let ids: BTreeSet<String> = messages
        .iter()
        .map(|m| {
            let p = mailparse::parse_mail(m).unwrap_or_else(|e| panic!("{e}"));
            use mailparse::MailHeaderMap;
            p.headers.get_first_value("Message-ID").unwrap_or_default()
        })
        .collect();
    assert_eq!(
        messages.len(),
        3,
        "the request and the two released notices"
    );
    assert_eq!(ids.len(), 3, "no notice twice");
    assert_eq!(
        o.count("SELECT count(*) FROM outbox WHERE status = 'sent'"),
        3
    );
}

#[test]
fn a_kill_during_approve_leaves_the_request_undecided_or_wholly_decided() {
    // Each attempt starts from a copy of the office's SQLite file.
    if common::on_postgres() {
        eprintln!("skipped with offices on PostgreSQL: the attempts copy a SQLite file");
        return;
    }
    let base = office();
    run_on(&base, "2026-06-01");
    let mut seen = BTreeSet::new();
    for delay_ms in [0u64, 2, 4, 6, 8, 10, 13, 16, 20, 25, 30, 40, 60, 100] {
        let o = Office::empty();
        std::fs::copy(base.path("duban.db"), o.path("duban.db")).unwrap_or_else(|e| panic!("{e}"));
        o.policy(common::APPROVAL);
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("duban"))
            .args(["approvals", "approve", "A000001"])
            .current_dir(o.dir.path())
            .env("DUBAN_NOW", "2026-06-02T09:00:00+08:00")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let state = (
            o.count("SELECT count(*) FROM approvals WHERE status = 'approved'"),
            o.count("SELECT count(*) FROM tasks WHERE status = 'open' AND rule = 'accountability'"),
            o.count("SELECT count(*) FROM held_notices"),
            o.count("SELECT count(*) FROM outbox"),
        );
        match state {
            (0, 0, 2, 1) => {
                seen.insert("undecided");
            }
            (1, 1, 0, 3) => {
                seen.insert("decided");
            }
            other => panic!("killed after {delay_ms} ms: half a decision: {other:?}"),
        }
        // Whatever happened, approving now completes it once.
        let again = duban()
            .args(["approvals", "approve", "A000001"])
            .current_dir(o.dir.path())
            .env("DUBAN_NOW", "2026-06-02T09:10:00+08:00")
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(again.status.code() == Some(0) || again.status.code() == Some(1));
        assert_eq!(o.count("SELECT count(*) FROM outbox"), 3);
    }
    assert!(
        seen.contains("decided"),
        "some kill came after the commit: {seen:?}"
    );
}

/// A policy test passes through approval: `[[approve]]` sets the day
/// `repeat every` counts from, `[[reject]]` ends the ladder, and
/// `approval = "u4"` expects who decides.
#[test]
fn policy_tests_go_through_approval() {
    let o = office();
    let fixture = |as_of: &str, decision: &str, expect: &str| {
        format!(
            r#"as_of = "{as_of}"
[[person]]
id = "u1"
name = "张三"
email = "zhangsan@example.org"
[[person]]
id = "u2"
name = "李四"
email = "lisi@example.org"
[[person]]
id = "u4"
name = "赵六"
email = "zhaoliu@example.org"
[[organization]]
id = "o1"
name = "市教育局"
secretary = "u1"
discipline_officer = "u2"
[[round]]
id = "r1"
name = "第五轮"
[[inspection]]
id = "i1"
round = "r1"
organization = "o1"
leader = "u4"
[[problem]]
id = "p1"
inspection = "i1"
deadline = "2026-04-01"
status = "open"
[[episode]]
rule = "accountability"
subject = "p1"
started = "2026-06-01"
{decision}
{expect}
"#
        )
    };
    let fires = "[[expect]]\nrule = \"accountability\"\nsubject = \"p1\"\ntask = \"accountability\"\napproval = \"u4\"\n";
    let quiet = "[[expect_not]]\nrule = \"accountability\"\nsubject = \"p1\"\n";
    let approved_late =
        "[[approve]]\nrule = \"accountability\"\nsubject = \"p1\"\non = \"2026-06-10\"\n";
    let rejected = "[[reject]]\nrule = \"accountability\"\nsubject = \"p1\"\nreason = \"暂缓\"\n";
    // 34 days after the firing, approved that day: it repeats.
    o.write("rules/tests/a.test.toml", &fixture("2026-07-05", "", fires));
    // Approved on 06-10: 25 days later, not yet.
    o.write(
        "rules/tests/b.test.toml",
        &fixture("2026-07-05", approved_late, quiet),
    );
    // Rejected: never again in the episode.
    o.write(
        "rules/tests/c.test.toml",
        &fixture("2026-10-01", rejected, quiet),
    );
    o.cmd()
        .arg("test")
        .assert()
        .success()
        .stdout(contains("3 passed, 0 failed"));
    // The same expectation against the rejected episode fails, and says so.
    o.write(
        "rules/tests/c.test.toml",
        &fixture("2026-10-01", rejected, fires),
    );
    o.cmd()
        .arg("test")
        .assert()
        .code(1)
        .stdout(contains("awaiting approval by u4"));
    // A decision needs the episode it decides.
    let orphan = "[[approve]]\nrule = \"accountability\"\nsubject = \"p9\"\n";
    o.write(
        "rules/tests/c.test.toml",
        &fixture("2026-07-05", orphan, quiet),
    );
    o.cmd().arg("test").assert().code(1).stdout(contains(
        "approve: no [[episode]] of rule `accountability` for `p9`",
    ));
}

/// A ledger cannot slip a pending task past its approval: an import that
/// opens it, or that brings a new pending task, is refused whole.
#[test]
fn an_import_does_not_bypass_approval() {
    let o = office();
    run_on(&o, "2026-06-01");
    let out = o.path("out");
    o.cmd()
        .args(["export", "tasks", "--to"])
        .arg(&out)
        .assert()
        .success();
    let csv = std::fs::read_to_string(out.join("tasks.csv")).unwrap_or_else(|e| panic!("{e}"));
    let row = csv
        .lines()
        .find(|l| l.starts_with("T000001,"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(row.contains(",pending,"), "{row}");
    let before = o.dump();
    std::fs::write(
        out.join("tasks.csv"),
        csv.replace(row, &row.replace(",pending,", ",open,")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    at(&o, "2026-06-02T09:00:00+08:00")
        .arg("import")
        .arg(out.join("tasks.csv"))
        .assert()
        .code(1)
        .stderr(contains("awaits approval"));
    let new_pending = format!(
        "{}\n{}\n",
        csv.lines().next().unwrap_or(""),
        row.replace("T000001", "T777777")
    );
    std::fs::write(out.join("tasks.csv"), new_pending).unwrap_or_else(|e| panic!("{e}"));
    at(&o, "2026-06-02T09:00:00+08:00")
        .arg("import")
        .arg(out.join("tasks.csv"))
        .assert()
        .code(1)
        .stderr(contains("approval by"));
    assert_eq!(o.dump(), before);
    // Also into an office without any task yet.
    let fresh = Office::fixture();
    fresh
        .db()
        .execute("DELETE FROM tasks", [])
        .unwrap_or_else(|e| panic!("{e}"));
    fresh
        .cmd()
        .arg("import")
        .arg(out.join("tasks.csv"))
        .assert()
        .code(1)
        .stderr(contains("approval by"));
    assert_eq!(fresh.count("SELECT count(*) FROM tasks"), 0);
}

/// A firing whose every action is skipped asks nobody to approve nothing.
#[test]
fn nothing_to_approve_asks_nobody() {
    let o = Office::fixture();
    // p1's responsible, 王五 (u3), has no email: the notice is skipped.
    o.policy(
        r#"
rule warn "逾期30天 → 通知责任人（须审批）"
  for problem
  when status != "rectified" and overdue_days >= 30
  then notify responsible
  approval by inspection.leader
"#,
    );
    run_on(&o, "2026-06-01");
    assert_eq!(o.count("SELECT count(*) FROM approvals"), 0);
    assert_eq!(o.count("SELECT count(*) FROM outbox"), 0);
    assert_eq!(
        o.count("SELECT count(*) FROM audit WHERE rule = 'warn' AND subject_id = 'p1' AND skipped LIKE '%no email%'"),
        1
    );
}

/// `diff` and `simulate` (SPEC §9): the actions of a rule that asks for
/// approval carry `"approval": PERSON_ID`; simulate assumes approval on the
/// day of firing and says so.
#[test]
fn diff_and_simulate_say_who_approves() {
    let o = office();
    let without = common::APPROVAL.replace("  approval by inspection.leader within 3 days\n", "");
    assert_ne!(without, common::APPROVAL);
    o.write("old/a.rules", &without);
    let diff = o.json(&["diff", "old", "rules", "--as-of", "2026-06-01"]);
    let added = diff["added"].as_array().cloned().unwrap_or_default();
    let removed = diff["removed"].as_array().cloned().unwrap_or_default();
    assert_eq!(added.len(), 2, "{diff}");
    assert!(added.iter().all(|a| a["approval"] == "u4"), "{diff}");
    assert_eq!(removed.len(), 2, "{diff}");
    assert!(
        removed.iter().all(|a| a.get("approval").is_none()),
        "{diff}"
    );
    let sim = o.json(&["simulate", "--days", "3", "--as-of", "2026-06-01"]);
    assert_eq!(
        sim["approval_assumed"],
        serde_json::json!(["accountability"])
    );
    o.cmd()
        .args(["simulate", "--days", "3", "--as-of", "2026-06-01"])
        .assert()
        .success()
        .stdout(contains(
            "assuming every firing of accountability approved on its day",
        ));
}

/// An approver named by id (`approval by "u4"`) is looked up when the rule
/// fires: the request goes to their email; an id that is no person still
/// records the request, to be decided on the command line, and says so.
#[test]
fn an_approver_named_by_id() {
    let o = office();
    o.policy(&common::APPROVAL.replace("inspection.leader", "\"u4\""));
    run_on(&o, "2026-06-01");
    assert_eq!(outbox_recipients(&o), vec!["赵六 <zhaoliu@example.org>"]);
    let list = o.json(&["approvals", "list"]);
    assert_eq!(list[0]["approver"], "u4");
    assert_eq!(list[0]["approver_name"], "赵六");

    let o = office();
    o.policy(&common::APPROVAL.replace("inspection.leader", "\"U9999999\""));
    run_on(&o, "2026-06-01");
    assert_eq!(outbox_recipients(&o).len(), 0);
    assert_eq!(
        o.count("SELECT count(*) FROM approvals WHERE approver_id = 'U9999999'"),
        1
    );
    assert_eq!(
        o.count("SELECT count(*) FROM audit WHERE skipped LIKE '%U9999999 is not a person%'"),
        1
    );
}

/// A held task notice is kept as data and written on approval: ledger text
/// that happens to hold what once stood for the due date (U+E000 due
/// U+E001) stays as it is, and the date is written once, where it belongs.
#[test]
fn ledger_text_like_a_stand_in_survives_approval() {
    let o = office();
    o.db()
        .execute(
            "UPDATE persons SET name = name || '\u{E000}due\u{E001}' WHERE id IN (SELECT secretary_id FROM organizations)",
            [],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    run_on(&o, "2026-06-01");
    at(&o, "2026-06-03T10:00:00+08:00")
        .args(["approvals", "approve", "A000001"])
        .assert()
        .success();
    let bodies = eml_bodies(&o);
    assert!(bodies.contains("\u{E000}due\u{E001}"), "{bodies}");
    assert!(!bodies.contains("2026-06-15due"), "{bodies}");
    // The task notice: due the next working day after 10 days, in words.
    assert!(bodies.contains("请于 2026年6月15日 前"), "{bodies}");
    assert!(bodies.contains("DTEND;VALUE=DATE:20260616"), "{bodies}");
}
