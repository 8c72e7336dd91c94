//! A closed pipe ends every command quietly (`duban status | head -3`): no
//! panic, no error, the command's own exit code.

mod common;
use common::{APPROVAL, Office};
use std::process::{Command, Stdio};

/// Runs `duban ARGS` in the office with its standard output a pipe whose
/// reading end is closed before the command writes: every write meets a
/// closed pipe.
fn with_closed_pipe(office: &Office, args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("duban"))
        .args(args)
        .current_dir(office.dir.path())
        .env("NO_COLOR", "1")
        .env("DUBAN_NOW", "2026-06-02T10:00:00+08:00")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn every_command_ends_quietly_on_a_closed_pipe() {
    let office = Office::ladder();
    office.write("rules/20-approval.rules", APPROVAL);
    for args in [
        &["status"][..],
        &["tasks", "list"],
        &["tasks", "show", "T000001"],
        &["tasks", "list", "--format", "json"],
        &["notices", "list"],
        &["check"],
        &["check", "--format", "json"],
        &["schema"],
        &["dry-run", "--as-of", "2026-07-15"],
        &["dry-run", "--as-of", "2026-07-15", "--format", "json"],
        &["diff", "rules", "rules", "--as-of", "2026-07-15"],
        &["explain", "overdue_reminder", "p1", "--as-of", "2026-06-01"],
        &["simulate", "--days", "10", "--as-of", "2026-06-02"],
        &["approvals", "list"],
        &["calendar", "show"],
        &["--help"],
    ] {
        let (code, stderr) = with_closed_pipe(&office, args);
        assert!(
            !stderr.contains("panicked")
                && !stderr.contains("Broken pipe")
                && !stderr.contains("error"),
            "duban {args:?}: {stderr}"
        );
        assert!(
            matches!(code, Some(0) | Some(1)),
            "duban {args:?} exited {code:?}: {stderr}"
        );
    }
    // A run on a closed pipe still does its work.
    let (code, stderr) = with_closed_pipe(&office, &["run", "--as-of", "2026-07-15"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.is_empty() || !stderr.contains("panicked"),
        "{stderr}"
    );
    assert!(
        office.count(
            "SELECT count(*) FROM runs WHERE as_of LIKE '2026-07-15%' AND finished_at IS NOT NULL"
        ) >= 1
    );
}
