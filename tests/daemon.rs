//! `duban serve` through the binary, with short schedules (a seconds field
//! in cron): rules fire at their times, catch-up runs once after downtime,
//! a broken edit is refused while the old policy keeps firing and a valid
//! one takes effect, SIGTERM leaves no half-written rule, a second service
//! stands by, `--once` runs what is due — and a bounded soak with CLI
//! writers beside the service.

mod common;
use common::serve::Service;
use common::{Office, duban};
use predicates::prelude::PredicateBooleanExt;
use std::time::{Duration, Instant};

const EVERY_2S: &str = "policy \"p\"\n  schedule \"*/2 * * * * *\"\n\nrule late\n  for problem\n  when overdue_days > 0\n  then task reminder_talk with responsible\n";

fn office(policy: &str) -> Office {
    let o = Office::fixture();
    o.policy(policy);
    o
}

#[test]
fn rules_fire_at_their_times_and_sigterm_stops_cleanly() {
    let o = office(EVERY_2S);
    let mut s = Service::start(&o, &[], &[]);
    s.wait_for(
        "rule late has not run before: running it now",
        1,
        Duration::from_secs(20),
    );
    s.wait_for("scheduled run as of", 2, Duration::from_secs(20));
    let (code, log) = s.terminate();
    assert_eq!(code, Some(0), "{log}");
    assert!(
        log.contains("signal received") && log.contains("stopped"),
        "{log}"
    );
    // Scheduled runs are as of their scheduled time: whole even seconds.
    let db = o.db();
    let mut stmt = db
        .prepare("SELECT as_of FROM runs WHERE kind = 'scheduled'")
        .unwrap_or_else(|e| panic!("{e}"));
    let times: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .and_then(|r| r.collect())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(times.len() >= 2);
    for t in times {
        let sec: u32 = t.get(17..19).and_then(|s| s.parse().ok()).unwrap_or(1);
        assert_eq!(sec % 2, 0, "{t}");
    }
    // Fired once per episode (p1, p2 and p5 are overdue now), however many
    // runs.
    assert_eq!(o.count("SELECT count(*) FROM tasks WHERE rule = 'late'"), 3);
    assert_eq!(
        o.count("SELECT count(*) FROM runs WHERE finished_at IS NULL"),
        0
    );
}

#[test]
fn catch_up_runs_once_after_downtime() {
    let o = office(EVERY_2S);
    let mut s = Service::start(&o, &[], &[]);
    s.wait_for("scheduled run as of", 1, Duration::from_secs(20));
    let (code, _) = s.terminate();
    assert_eq!(code, Some(0));
    let runs_before = o.count("SELECT count(*) FROM runs");
    // Down for about three scheduled times.
    std::thread::sleep(Duration::from_millis(6500));
    let mut s = Service::start(&o, &[], &[]);
    let log = s.wait_for("catch-up: rule late missed", 1, Duration::from_secs(20));
    let line = log
        .lines()
        .find(|l| l.contains("catch-up: rule late missed"))
        .unwrap_or("");
    let missed: u32 = line
        .split("missed ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(missed >= 2, "{line}");
    let since = line
        .split(" since ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or("?")
        .to_string();
    let (code, log) = s.terminate();
    assert_eq!(code, Some(0));
    // One catch-up run for all the times missed while down. (A machine busy
    // enough to miss more ticks while running may catch up again later, but
    // from a later time.)
    let covering_downtime = log
        .lines()
        .filter(|l| {
            l.contains("catch-up: rule late missed") && l.contains(&format!(" since {since} "))
        })
        .count();
    assert_eq!(covering_downtime, 1, "{log}");
    assert!(o.count("SELECT count(*) FROM runs WHERE kind = 'catch-up'") >= 1);
    assert!(o.count("SELECT count(*) FROM runs") > runs_before);
}

#[test]
fn a_broken_edit_is_refused_and_a_valid_one_takes_effect() {
    let o = office(EVERY_2S);
    let mut s = Service::start(&o, &[], &[]);
    s.wait_for("scheduled run as of", 1, Duration::from_secs(20));
    let old_hash: String = o
        .db()
        .query_row(
            "SELECT policy_hash FROM runs ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap_or_default();

    o.write(
        "rules/broken.rules",
        "rule broken\n  for problem\n  when overdue_dayz > 0\n  then notify responsible\n",
    );
    let log = s.wait_for("policy change refused", 1, Duration::from_secs(20));
    assert!(log.contains("rules/broken.rules:3:8"), "{log}");
    // The old policy keeps firing.
    let seen = log.matches("scheduled run as of").count();
    s.wait_for("scheduled run as of", seen + 2, Duration::from_secs(20));
    let hash: String = o
        .db()
        .query_row(
            "SELECT policy_hash FROM runs ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap_or_default();
    assert_eq!(hash, old_hash);

    std::fs::remove_file(o.path("rules/broken.rules")).unwrap_or_else(|e| panic!("{e}"));
    o.write("rules/serious.rules", "rule serious\n  for problem\n  when severity = \"serious\"\n  then notify \"office@example.org\"\n");
    s.wait_for("policy reloaded: 2 rules", 1, Duration::from_secs(20));
    s.wait_for("first run as of", 2, Duration::from_secs(20));
    let (code, log) = s.terminate();
    assert_eq!(code, Some(0), "{log}");
    // The new rule fired, under the new policy, and `late` kept its episodes.
    assert_eq!(
        o.count("SELECT count(*) FROM audit WHERE rule = 'serious' AND subject_id = 'p3'"),
        1
    );
    assert_eq!(
        o.count(&format!(
            "SELECT count(*) FROM audit WHERE rule = 'serious' AND policy_hash != '{old_hash}'"
        )),
        1
    );
    assert_eq!(o.count("SELECT count(*) FROM tasks WHERE rule = 'late'"), 3);
}

/// `duban status` names `s` as the service leading.
fn assert_leads(o: &Office, s: &Service) {
    o.cmd()
        .arg("status")
        .assert()
        .success()
        .stdout(predicates::str::contains(format!(
            "service: process {} on",
            s.child.id()
        )));
}

#[test]
fn a_second_service_on_the_same_database_stands_by() {
    let o = office(EVERY_2S);
    let mut s = Service::start(&o, &[], &[]);
    s.wait_for("leading:", 1, Duration::from_secs(20));
    let mut second = Service::start(&o, &[], &[]);
    second.wait_for("standing by: process", 1, Duration::from_secs(20));
    assert_leads(&o, &s);
    // Commands keep working beside them.
    o.cmd().args(["tasks", "list"]).assert().success();
    let (code, _) = second.terminate();
    assert_eq!(code, Some(0));
    let seen = s.log().matches("scheduled run as of").count();
    s.wait_for("scheduled run as of", seen + 1, Duration::from_secs(20));
    let (code, _) = s.terminate();
    assert_eq!(code, Some(0));
}

/// A write lock held longer than the lease lasts (on one SQLite file: the
/// service's own long rule transaction, or an import beside it) does not
/// make the service give up leading: no other service could take the lease
/// while the lock was held, and the renewal after it finds the lease still
/// its own. (Office-wide on PostgreSQL the same lock is a row's.)
#[test]
fn a_lock_held_past_the_lease_does_not_end_the_lead() {
    let o = office(EVERY_2S);
    let mut s = Service::start(&o, &[], &[]);
    s.wait_for("leading:", 1, Duration::from_secs(20));
    {
        let mut db = o.db();
        let tx = db
            .transaction_with_behavior(duban::store::Behavior::Immediate)
            .unwrap_or_else(|e| panic!("{e}"));
        // The lease lasts 20 s after its last renewal.
        std::thread::sleep(Duration::from_secs(30));
        tx.rollback().unwrap_or_else(|e| panic!("{e}"));
    }
    let seen = s.log().matches("scheduled run as of").count();
    s.wait_for("scheduled run as of", seen + 2, Duration::from_secs(60));
    let log = s.log();
    assert!(!log.contains("lease was lost"), "{log}");
    assert!(!log.contains("another service took the lease"), "{log}");
    assert_leads(&o, &s);
    let (code, log) = s.terminate();
    assert_eq!(code, Some(0), "{log}");
}

#[test]
fn a_second_service_on_one_machine_leaves_the_workbench_to_the_first() {
    let o = office(EVERY_2S);
    let port = common::smtp::free_port();
    let mut cfg = std::fs::read_to_string(o.path("duban.toml")).unwrap_or_default();
    cfg.push_str(&format!("\n[web]\nlisten = \"127.0.0.1:{port}\"\n"));
    o.write("duban.toml", &cfg);
    let mut s = Service::start(&o, &[], &[]);
    s.wait_for("workbench listening", 1, Duration::from_secs(20));
    s.wait_for("leading:", 1, Duration::from_secs(20));
    // The same [web] listen: without --no-web it could not bind.
    let mut second = Service::start(&o, &["--no-web"], &[]);
    let log = second.wait_for("standing by: process", 1, Duration::from_secs(20));
    assert!(!log.contains("workbench"), "{log}");
    let page = ureq::get(&format!("http://127.0.0.1:{port}/sign-in"))
        .call()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.status(), 200);
    // The first ends: the second takes over the rules, the workbench goes
    // with the first.
    let (code, _) = s.terminate();
    assert_eq!(code, Some(0));
    second.wait_for("leading:", 1, Duration::from_secs(40));
    let (code, _) = second.terminate();
    assert_eq!(code, Some(0));
}

#[test]
fn once_runs_what_is_due_and_exits() {
    let o = office(
        "rule late\n  for problem\n  when overdue_days > 0\n  then task reminder_talk with responsible\n",
    );
    o.cmd()
        .args(["serve", "--once"])
        .timeout(Duration::from_secs(30))
        .assert()
        .success()
        .stderr(predicates::str::contains("rule late has not run before"))
        .stderr(predicates::str::contains("delivered 2 notices"));
    // Daily at 09:00: nothing is due a moment later.
    o.cmd()
        .args(["serve", "--once"])
        .timeout(Duration::from_secs(30))
        .assert()
        .success()
        .stderr(predicates::str::contains("run as of").not());
    assert_eq!(o.count("SELECT count(*) FROM runs"), 1);
    assert_eq!(
        o.count("SELECT count(*) FROM outbox WHERE status = 'sent'"),
        2
    );
}

/// Checked after a kill: each rule of each run wholly recorded or not.
fn assert_whole_rules(o: &Office) {
    // Every firing has its audit record, and every task and notice its
    // firing: a rule's writes commit together.
    assert_eq!(
        o.count("SELECT count(*) FROM tasks t WHERE t.seq IS NOT NULL AND NOT EXISTS (SELECT 1 FROM audit a WHERE a.episode_id = t.episode_id)"),
        0
    );
    assert_eq!(
        o.count("SELECT count(*) FROM episodes e WHERE NOT EXISTS (SELECT 1 FROM audit a WHERE a.episode_id = e.id)"),
        0
    );
    assert_eq!(
        o.count("SELECT count(*) FROM (SELECT rule, subject_id, episode_id, created_at FROM tasks WHERE seq IS NOT NULL GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) d"),
        0
    );
}

#[test]
fn sigterm_during_a_run_leaves_no_half_written_rule() {
    let o = Office::demo(4, "2026-11-22");
    // The example policy, every two seconds.
    let policy = std::fs::read_to_string(o.path("rules/00-policy.rules")).unwrap_or_default();
    std::fs::write(
        o.path("rules/00-policy.rules"),
        policy.replace("schedule \"0 9 * * *\"", "schedule \"*/2 * * * * *\""),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut s = Service::start(&o, &[], &[]);
    s.wait_for("duban serve starting", 1, Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(150));
    let (code, log) = s.terminate();
    assert_eq!(code, Some(0), "{log}");
    assert_whole_rules(&o);
    // What the stopped run did not do, the next one does.
    let mut s = Service::start(&o, &[], &[]);
    s.wait_for("scheduled run as of", 1, Duration::from_secs(60));
    let (code, _) = s.terminate();
    assert_eq!(code, Some(0));
    assert_whole_rules(&o);
}

#[test]
fn soak_the_service_with_cli_writers_beside_it() {
    let o = Office::demo(2, "2026-11-22");
    let policy = std::fs::read_to_string(o.path("rules/00-policy.rules")).unwrap_or_default();
    std::fs::write(
        o.path("rules/00-policy.rules"),
        policy.replace("schedule \"0 9 * * *\"", "schedule \"* * * * * *\""),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(o.path("updates")).unwrap_or_else(|e| panic!("{e}"));
    let mut s = Service::start(&o, &[], &[]);
    s.wait_for("first run as of", 1, Duration::from_secs(30));
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut failures = Vec::new();
    let mut round = 0;
    while Instant::now() < deadline {
        round += 1;
        // Close an open task.
        let open: Option<String> = o
            .db()
            .query_row("SELECT id FROM tasks WHERE status = 'open' AND seq IS NOT NULL ORDER BY id LIMIT 1", [], |r| r.get(0))
            .ok();
        if let Some(id) = open {
            let out = duban()
                .current_dir(o.dir.path())
                .args(["tasks", "done", &id, "--outcome", "已办结"])
                .output()
                .unwrap_or_else(|e| panic!("{e}"));
            if !out.status.success()
                && !String::from_utf8_lossy(&out.stderr).contains("closed meanwhile")
            {
                failures.push(format!(
                    "tasks done: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        // Rectify a problem and reopen another through an import.
        o.write(
            "updates/problems.csv",
            &format!(
                "id,inspection_id,status\nP{:08},I0000001,{}\n",
                1 + round % 30,
                if round % 2 == 0 { "rectified" } else { "open" }
            ),
        );
        let out = duban()
            .current_dir(o.dir.path())
            .args(["import", "updates/problems.csv"])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        if !out.status.success() {
            failures.push(format!("import: {}", String::from_utf8_lossy(&out.stderr)));
        }
    }
    // Of the next two runs to finish (each logs when done), the second
    // began after the last write: what that write changed is queued then.
    let runs = s.log().matches("scheduled run as of").count();
    s.wait_for("scheduled run as of", runs + 2, Duration::from_secs(60));
    // The service delivers what the runs queued (each notice file synced
    // with its folder: slower on a busy disk); give it the time.
    let start = Instant::now();
    while o.count("SELECT count(*) FROM outbox WHERE status = 'queued'") > 0
        && start.elapsed() < Duration::from_secs(180)
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    let (code, log) = s.terminate();
    assert_eq!(code, Some(0), "{log}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(!log.contains("database is locked"), "{log}");
    assert!(!log.contains("run failed"), "{log}");
    assert!(log.matches("scheduled run as of").count() >= 5, "{log}");
    assert_whole_rules(&o);
    assert_eq!(
        o.count("SELECT count(*) FROM outbox WHERE status = 'queued'"),
        0,
        "everything delivered"
    );
}

#[test]
fn a_deep_or_long_edit_is_refused_and_one_at_the_limits_is_taken() {
    let o = office(EVERY_2S);
    let mut s = Service::start(&o, &[], &[]);
    s.wait_for("scheduled run as of", 1, Duration::from_secs(20));
    let rule = |when: &str| {
        format!("rule deep\n  for problem\n  when {when}\n  then notify \"office@example.org\"\n")
    };
    for (n, when) in [
        vec!["overdue_days > 1"; 2_000].join(" and "),
        format!(
            "{}overdue_days > 1{}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        ),
    ]
    .iter()
    .enumerate()
    {
        o.write("rules/deep.rules", &rule(when));
        let log = s.wait_for("policy change refused", n + 1, Duration::from_secs(30));
        assert!(log.contains("E003"), "{log}");
    }
    // The old policy keeps firing.
    let seen = s.log().matches("scheduled run as of").count();
    s.wait_for("scheduled run as of", seen + 1, Duration::from_secs(20));
    // Just within the limits: defines stacked about 280 levels deep.
    let mut defines = String::new();
    let mut prev = "overdue_days".to_string();
    for i in 0..9 {
        defines.push_str(&format!(
            "define problem.s{i} = {prev}{}\n",
            " + 1".repeat(29)
        ));
        prev = format!("s{i}");
    }
    o.write(
        "rules/deep.rules",
        &format!("{defines}{}", rule(&format!("{prev} > 1"))),
    );
    s.wait_for("policy reloaded: 2 rules", 1, Duration::from_secs(30));
    s.wait_for("1 rule (deep)", 1, Duration::from_secs(60));
    let (code, log) = s.terminate();
    assert_eq!(code, Some(0), "{log}");
    assert!(
        o.count("SELECT count(*) FROM audit WHERE rule = 'deep'") > 0,
        "{log}"
    );
}
