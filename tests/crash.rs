//! Crash safety: `duban run` killed (SIGKILL) at many points leaves every
//! rule wholly recorded or not at all; the next run completes the work with
//! no task, notice or audit record duplicated or missing, and the file
//! outbox holds each notice exactly once.

mod common;
use common::{Office, duban};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const AS_OF: &str = "2026-11-22";

/// Per rule: (audit records, tasks, outbox rows).
fn per_rule(office: &Office) -> BTreeMap<String, (i64, i64, i64)> {
    let db = office.db();
    let mut out = BTreeMap::new();
    let mut stmt = db
        .prepare(
            "SELECT r.rule,
                    (SELECT count(*) FROM audit a WHERE a.rule = r.rule),
                    (SELECT count(*) FROM tasks t WHERE t.rule = r.rule AND t.seq IS NOT NULL),
                    (SELECT count(*) FROM outbox o WHERE o.rule = r.rule)
             FROM (SELECT DISTINCT rule FROM audit UNION SELECT DISTINCT rule FROM outbox) r",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
        })
        .unwrap_or_else(|e| panic!("{e}"));
    for row in rows {
        let (rule, counts) = row.unwrap_or_else(|e| panic!("{e}"));
        out.insert(rule, counts);
    }
    out
}

/// What the runs produced, as comparable text: one line per task, notice
/// and audit record, without ids or times.
fn produced(office: &Office) -> Vec<String> {
    let db = office.db();
    let mut lines = Vec::new();
    for sql in [
        "SELECT 'task ' || rule || ' ' || subject_id || ' ' || kind || ' ' || coalesce(target_id, '') FROM tasks WHERE seq IS NOT NULL",
        "SELECT 'notice ' || message_id || ' ' || status FROM outbox",
        "SELECT 'audit ' || rule || ' ' || subject_id || ' ' || facts FROM audit",
        "SELECT 'episode ' || rule || ' ' || subject_id || ' ' || fired FROM episodes",
    ] {
        let mut stmt = db.prepare(sql).unwrap_or_else(|e| panic!("{e}"));
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap_or_else(|e| panic!("{e}"));
        lines.extend(rows.map(|r| r.unwrap_or_else(|e| panic!("{e}"))));
    }
    lines.sort();
    lines
}

fn copy_office(from: &Office) -> Office {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for name in ["duban.toml", "duban.db"] {
        std::fs::copy(from.path(name), dir.path().join(name)).unwrap_or_else(|e| panic!("{e}"));
    }
    let office = Office { dir, server: None };
    std::fs::create_dir(office.path("rules")).unwrap_or_else(|e| panic!("{e}"));
    for f in std::fs::read_dir(from.path("rules")).unwrap_or_else(|e| panic!("{e}")) {
        let f = f.unwrap_or_else(|e| panic!("{e}"));
        if !f.path().is_file() {
            continue;
        }
        std::fs::copy(f.path(), office.path("rules").join(f.file_name()))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    office
}

fn outbox_files(office: &Office) -> usize {
    std::fs::read_dir(office.path("outbox"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn killed_runs_leave_whole_rules_and_the_rerun_completes_them() {
    let pristine = Office::demo(3, AS_OF);

    // The reference: one run, uninterrupted.
    let reference = copy_office(&pristine);
    let started = Instant::now();
    reference
        .cmd()
        .args(["run", "--as-of", AS_OF])
        .assert()
        .success();
    let took = started.elapsed();
    let expected_rules = per_rule(&reference);
    let expected = produced(&reference);
    assert!(
        expected_rules.len() >= 5,
        "the demo policy should fire several rules: {expected_rules:?}"
    );
    assert_eq!(
        outbox_files(&reference),
        reference.count("SELECT count(*) FROM outbox") as usize
    );

    // Kill at points spread over the run's length (and a little beyond the
    // evaluation, into delivery). A loaded machine makes runs slower or
    // faster than the reference: when a run finished before its kill, the
    // spread is shortened, and trials go on until enough kills landed
    // mid-run (or a generous cap is reached).
    let points = 10;
    let wanted = points / 2;
    let mut took = took;
    let mut interrupted = 0;
    for k in 0..points * 3 {
        if k >= points && interrupted >= wanted {
            break;
        }
        let office = copy_office(&pristine);
        let delay = took.mul_f64((k % points) as f64 / (points - 2) as f64);
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("duban"))
            .args(["run", "--as-of", AS_OF])
            .current_dir(office.dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        std::thread::sleep(delay.max(Duration::from_millis(5)));
        let finished = child.try_wait().ok().flatten().is_some();
        let _ = child.kill();
        let _ = child.wait();
        if finished {
            took = took.mul_f64(0.75);
        } else {
            interrupted += 1;
        }

        // Every rule is all there or not there at all.
        let now = per_rule(&office);
        for (rule, counts) in &now {
            let full = expected_rules.get(rule).copied().unwrap_or_default();
            assert!(
                *counts == (0, 0, 0) || *counts == full,
                "kill #{k} after {delay:?}: rule {rule} is half recorded: {counts:?} of {full:?}"
            );
        }

        // A run the kill cut short is shown as interrupted, not running.
        if office.count("SELECT count(*) FROM runs WHERE finished_at IS NULL") > 0 {
            office
                .cmd()
                .arg("status")
                .assert()
                .success()
                .stdout(predicates::str::contains(
                    "interrupted (its process is gone)",
                ));
        }

        // The rerun finishes the work: nothing missing, nothing twice.
        duban()
            .current_dir(office.dir.path())
            .args(["run", "--as-of", AS_OF])
            .assert()
            .success();
        // A notice the killed process had taken for delivery is taken back
        // at once by the rerun (its claim names a process that is gone).
        assert_eq!(
            office.count("SELECT count(*) FROM outbox WHERE status = 'sending'"),
            0
        );
        common::same_lines(
            &produced(&office),
            &expected,
            &format!("kill #{k} after {delay:?}: "),
        );
        assert_eq!(
            outbox_files(&office),
            office.count("SELECT count(*) FROM outbox WHERE status = 'sent'") as usize,
            "kill #{k}: each notice is in the outbox folder exactly once"
        );
        assert_eq!(
            office.count("SELECT count(*) FROM outbox WHERE status != 'sent'"),
            0
        );
    }
    assert!(
        interrupted >= wanted,
        "at least {wanted} kills should land mid-run (got {interrupted})"
    );
}
