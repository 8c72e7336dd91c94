//! One time zone, decided once: the policy's (else the config's), used by
//! `run`, `status` and `tasks list` alike.

mod common;
use common::*;

/// The policy in Pacific/Pago_Pago (UTC−11), the config in
/// Pacific/Kiritimati (UTC+14): the two zones are always on different
/// days. Tasks a run makes due tomorrow are not overdue in `status` or
/// `tasks list`, and every command says the same "today".
///
/// Every command runs at one moment, a Tuesday in Pago Pago (Wednesday in
/// Kiritimati): a due date that falls on a rest day moves to the next
/// working day, so on a Friday there "due 1 day" is Monday, not tomorrow.
#[test]
fn status_tasks_and_run_agree_on_today() {
    const NOW: &str = "2026-06-02T12:00:00Z";
    let o = Office::fixture();
    let cmd = || {
        let mut c = o.cmd();
        c.env("DUBAN_NOW", NOW);
        c
    };
    let config = std::fs::read_to_string(o.path("duban.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(config.contains("timezone = \"Asia/Shanghai\""), "{config}");
    o.write(
        "duban.toml",
        &config.replace(
            "timezone = \"Asia/Shanghai\"",
            "timezone = \"Pacific/Kiritimati\"",
        ),
    );
    o.policy(
        r#"
policy "时区"
  timezone "Pacific/Pago_Pago"

rule every_open "每个未整改问题 → 提醒谈话"
  for problem
  when status != "rectified"
  then task reminder_talk with responsible due 1 day
"#,
    );
    cmd().arg("run").assert().success();
    let made = o.count("SELECT count(*) FROM tasks WHERE rule = 'every_open'");
    assert!(made > 0, "the run made no task");
    let run_day: String = o
        .db()
        .query_row("SELECT substr(as_of, 1, 10) FROM runs", [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{e}"));
    let due: String = o
        .db()
        .query_row(
            "SELECT max(due) FROM tasks WHERE rule = 'every_open'",
            [],
            |r| r.get(0),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let tomorrow = chrono::NaiveDate::parse_from_str(&run_day, "%Y-%m-%d")
        .unwrap_or_else(|e| panic!("{e}"))
        .succ_opt()
        .unwrap_or_else(|| panic!("no tomorrow"));
    assert_eq!(
        due,
        tomorrow.to_string(),
        "due one day after the run's today"
    );

    let status = cmd()
        .arg("status")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let status = String::from_utf8_lossy(&status.stdout).to_string();
    assert!(
        status.contains(&format!("today {run_day} (Pacific/Pago_Pago")),
        "status and run disagree on today:\n{status}"
    );
    let overdue_on_run_day = o.count(&format!(
        "SELECT count(*) FROM tasks WHERE status = 'open' AND due < '{run_day}'"
    ));
    assert!(
        status.contains(&format!("({overdue_on_run_day} overdue)")),
        "status counts overdue tasks on another day than the run:\n{status}"
    );

    let listed = cmd()
        .args(["tasks", "list", "--open", "--format", "json"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let listed = String::from_utf8_lossy(&listed.stdout).to_string();
    let tasks: Vec<serde_json::Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(tasks.len() as i64 >= made, "{listed}");
    assert!(
        tasks
            .iter()
            .filter(|t| t["rule"] == "every_open")
            .all(|t| t["overdue"] == false),
        "tasks a run made due tomorrow show as overdue:\n{listed}"
    );
}
