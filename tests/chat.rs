//! Chat channels (SPEC §12) through the binary, against a stand-in robot on
//! 127.0.0.1 that checks what WeCom and DingTalk check (the signature, the
//! body shapes, the size limits, 20 messages a minute) and answers as they
//! do: every message arrives once across an outage, an errcode is retried
//! and ends failed, a busy channel keeps to its rate in simulated time, a
//! long message arrives split and whole, ledger text cannot mention anyone.

mod common;
use common::Office;
use common::robot::Robot;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;

const SECRET: &str = "SECtest0123456789";

fn config(robot: &Robot) -> String {
    format!(
        r#"
[mail]
transport = "file"

[delivery]
max_attempts = 3
backoff_s = 1

[[channel]]
name = "office"
type = "wecom"
url = "{wecom}"

[[channel]]
name = "领导群"
type = "dingtalk"
url = "{ding}?access_token=abc"
secret_env = "DUBAN_TEST_DING_SECRET"

[[channel]]
name = "casebook"
type = "webhook"
url = "{hook}"
"#,
        wecom = robot.url("/wecom"),
        ding = robot.url("/dingtalk"),
        hook = robot.url("/hook"),
    )
}

const POLICY: &str = r#"
rule overdue_post "整改逾期30天 → 群内提醒"
  for problem
  when status != "rectified" and overdue_days >= 30
  then notify channel office mentioning responsible
  then 通知 群 "领导群" 提及 responsible, inspection.organization.secretary
  then notify channel casebook
"#;

/// The fixture office with mobile numbers for 王五 (u3, responsible for
/// p1) and 张三 (u1, secretary of o1), under `policy`, robots configured.
fn office(robot: &Robot, policy: &str) -> Office {
    let office = Office::fixture();
    office.write(
        "more/persons.csv",
        "id,name,mobile\nu3,王五,138 0000 0003\nu1,张三,139-0000-0001\n",
    );
    office.cmd().args(["import", "more"]).assert().success();
    office.write("duban.toml", &config(robot));
    office.policy(policy);
    office
}

fn cmd(office: &Office) -> assert_cmd::Command {
    let mut c = office.cmd();
    c.env("DUBAN_TEST_DING_SECRET", SECRET);
    c
}

#[test]
fn messages_arrive_once_across_an_outage_in_the_robots_shapes() {
    let mut robot = Robot::start(SECRET);
    let office = office(&robot, POLICY);
    // dry-run counts the channel messages.
    cmd(&office)
        .args(["dry-run", "--as-of", "2026-06-01"])
        .assert()
        .success()
        .stdout(contains("3 chat messages"));
    let json = office.json(&["dry-run", "--as-of", "2026-06-01"]);
    let channels: Vec<&str> = json["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["type"] == "channel")
        .filter_map(|a| a["channel"].as_str())
        .collect();
    assert_eq!(channels, ["office", "领导群", "casebook"], "{json}");
    // simulate counts them too: one firing, three messages, on the first day.
    let sim = office.json(&["simulate", "--days", "3", "--as-of", "2026-06-01"]);
    let messages: u64 = sim["per_day"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["messages"].as_u64())
        .sum();
    assert_eq!(messages, 3, "{sim}");

    // The robots are down: the run records everything, the messages wait.
    robot.down();
    cmd(&office)
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success();
    assert_eq!(
        office.count("SELECT count(*) FROM outbox WHERE channel IS NOT NULL AND status = 'queued'"),
        3
    );
    // The robot's address and the signature stay out of what is recorded.
    assert!(office.count("SELECT count(*) FROM outbox WHERE last_error IS NOT NULL") >= 1);
    assert_eq!(
        office.count("SELECT count(*) FROM outbox WHERE last_error LIKE '%sign=%' OR last_error LIKE '%access_token%' OR last_error LIKE '%SECtest%'"),
        0
    );
    // Back up: each arrives once, however often delivery runs.
    robot.up();
    cmd(&office)
        .args(["notices", "retry"])
        .assert()
        .success()
        .stdout(contains("delivered 3 notices"));
    cmd(&office).args(["notices", "retry"]).assert().success();
    cmd(&office)
        .args(["run", "--as-of", "2026-06-02"])
        .assert()
        .success();
    let (wecom, ding, hook) = (
        robot.accepted("/wecom"),
        robot.accepted("/dingtalk"),
        robot.accepted("/hook"),
    );
    assert_eq!(
        (wecom.len(), ding.len(), hook.len()),
        (1, 1, 1),
        "{:#?}",
        robot.requests()
    );
    // WeCom mentions by mobile only in a text message.
    let w = &wecom[0]["body"];
    assert_eq!(w["msgtype"], "text");
    assert_eq!(
        w["text"]["mentioned_mobile_list"],
        serde_json::json!(["13800000003"])
    );
    assert!(
        w["text"]["content"]
            .as_str()
            .is_some_and(|t| t.contains("问题“三会一课落实不严格”（")),
        "{w}"
    );
    // DingTalk: signed (the robot checked), both mentioned, in the text too.
    let d = &ding[0]["body"];
    assert_eq!(d["msgtype"], "markdown");
    assert_eq!(
        d["at"]["atMobiles"],
        serde_json::json!(["13800000003", "13900000001"])
    );
    let text = d["markdown"]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("@13800000003") && text.contains("@13900000001"),
        "{text}"
    );
    assert!(
        ding[0]["query"]["sign"][0]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    // The webhook gets the notice whole, with the facts.
    let h = &hook[0]["body"];
    assert_eq!(h["rule"], "overdue_post");
    assert_eq!(h["subject_id"], "p1");
    assert!(h["facts"].as_object().is_some_and(|f| !f.is_empty()), "{h}");
    assert!(
        h["body"]
            .as_str()
            .is_some_and(|b| b.contains("对问题“三会一课落实不严格”（")),
        "{h}"
    );
    assert_eq!(
        h["subject"],
        "【督办】整改逾期30天 → 群内提醒：问题“三会一课落实不严格”（市教育局）"
    );
    assert_eq!(
        office.count("SELECT count(*) FROM outbox WHERE channel IS NOT NULL AND status = 'sent'"),
        3
    );
}

#[test]
fn a_refusing_robot_is_retried_then_failed_then_retried_on_demand() {
    let robot = Robot::start(SECRET);
    let office = office(
        &robot,
        "rule r for problem when status != \"rectified\" and overdue_days >= 30 then notify channel office\n",
    );
    robot.answer_with(300_005);
    cmd(&office)
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success();
    cmd(&office).args(["notices", "retry"]).assert().success();
    cmd(&office)
        .args(["notices", "retry"])
        .assert()
        .code(3)
        .stderr(contains("failed for good"));
    assert_eq!(
        office.count("SELECT count(*) FROM outbox WHERE status = 'failed' AND attempts = 3 AND last_error LIKE '%errcode 300005%'"),
        1
    );
    assert_eq!(robot.accepted("/wecom").len(), 0);
    robot.answer_with(0);
    cmd(&office)
        .args(["notices", "retry", "--failed"])
        .assert()
        .success()
        .stdout(contains("delivered 1 notice"));
    assert_eq!(robot.accepted("/wecom").len(), 1);
}

#[test]
fn a_robot_that_says_too_fast_is_waited_for_not_failed() {
    let robot = Robot::start(SECRET);
    let office = office(
        &robot,
        "rule r for problem when status != \"rectified\" and overdue_days >= 30 then notify channel office\n",
    );
    let start = chrono::DateTime::parse_from_rfc3339("2026-06-01T09:00:00+08:00")
        .unwrap_or_else(|e| panic!("{e}"));
    let at = |s: i64| (start + chrono::Duration::seconds(s)).to_rfc3339();
    // WeCom's own "too fast" (45009), then an HTTP 429: many more answers
    // than max_attempts (3), and the message is still waiting, not failed.
    robot.answer_with(45_009);
    cmd(&office)
        .env("DUBAN_NOW", at(0))
        .args(["run"])
        .assert()
        .success();
    robot.answer_with_status(429, 45_009);
    for k in 1..=4 {
        // Before its minute is up, the message is not even tried.
        cmd(&office)
            .env("DUBAN_NOW", at(62 * k - 30))
            .args(["notices", "retry"])
            .assert()
            .success();
        cmd(&office)
            .env("DUBAN_NOW", at(62 * k))
            .args(["notices", "retry"])
            .assert()
            .success();
    }
    let asked = robot.requests();
    assert_eq!(asked.len(), 5, "{asked:#?}");
    assert_eq!(
        office.count("SELECT count(*) FROM outbox WHERE status = 'queued' AND attempts = 0"),
        1
    );
    // The robot takes messages again: the next round after the wait
    // delivers it, once.
    robot.answer_with(0);
    cmd(&office)
        .env("DUBAN_NOW", at(62 * 5))
        .args(["notices", "retry"])
        .assert()
        .success()
        .stdout(contains("delivered 1 notice"));
    cmd(&office)
        .env("DUBAN_NOW", at(62 * 6))
        .args(["notices", "retry"])
        .assert()
        .success();
    assert_eq!(robot.accepted("/wecom").len(), 1);
    assert_eq!(
        office.count("SELECT count(*) FROM outbox WHERE status = 'sent'"),
        1
    );
}

#[test]
fn a_busy_channel_keeps_to_twenty_a_minute_in_simulated_time() {
    let robot = Robot::start(SECRET);
    let office = office(
        &robot,
        "rule r for problem when status != \"rectified\" and overdue_days >= 30 then notify channel 领导群\n",
    );
    let rows: String = (1..=60)
        .map(|i| format!("q{i:02},i1,2026-01-01,u1\n"))
        .collect();
    office.write(
        "busy/problems.csv",
        &format!("id,inspection_id,deadline,responsible_id\n{rows}"),
    );
    office.cmd().args(["import", "busy"]).assert().success();
    // 61 problems overdue (the 60 and p1). Delivery runs every 5 simulated
    // seconds for five minutes.
    let start = chrono::DateTime::parse_from_rfc3339("2026-06-01T09:00:00+08:00")
        .unwrap_or_else(|e| panic!("{e}"));
    cmd(&office)
        .env("DUBAN_NOW", start.to_rfc3339())
        .args(["run"])
        .assert()
        .success();
    for k in 1..=60 {
        let now = start + chrono::Duration::seconds(5 * k);
        cmd(&office)
            .env("DUBAN_NOW", now.to_rfc3339())
            .args(["notices", "retry"])
            .assert()
            .success();
    }
    let all = robot.requests();
    assert!(
        all.iter().all(|r| r["answer"] != 130_101),
        "the robot said too fast"
    );
    let ding = robot.accepted("/dingtalk");
    assert_eq!(ding.len(), 61);
    let stamps: Vec<i64> = ding
        .iter()
        .filter_map(|r| r["query"]["timestamp"][0].as_str()?.parse().ok())
        .collect();
    let span = stamps.iter().max().unwrap_or(&0) - stamps.iter().min().unwrap_or(&0);
    // 20 at once, 20 a minute later, 20 more, and the last: three minutes.
    assert!((180_000..=200_000).contains(&span), "took {span} ms");
    assert_eq!(
        office.count("SELECT count(*) FROM outbox WHERE status = 'sent'"),
        61
    );
}

#[test]
fn a_long_message_arrives_split_and_whole_and_ledger_text_mentions_nobody() {
    let robot = Robot::start(SECRET);
    let office = office(
        &robot,
        r#"
template long
  subject "【督办】{{ problem.id }}"
  body "{{ problem.description }}"
rule r for problem when id = "p9" then notify channel office using long
"#,
    );
    let long: String = (0..1500).map(|i| format!("第{i:04}段整改")).collect();
    let sly = "@13800000000 [点此](http://evil.example) <@all> **加急**";
    office.write(
        "long/problems.csv",
        &format!("id,inspection_id,deadline,description\np9,i1,2026-01-01,{long}{sly}\n"),
    );
    office.cmd().args(["import", "long"]).assert().success();
    assert!(long.chars().count() >= 10_000);
    cmd(&office)
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success();
    let parts = robot.accepted("/wecom");
    assert!(parts.len() >= 6, "{} parts", parts.len());
    let mut joined = String::new();
    for (i, p) in parts.iter().enumerate() {
        let content = p["body"]["markdown"]["content"]
            .as_str()
            .unwrap_or_default();
        assert!(content.len() <= 4096);
        let (head, rest) = content.split_once('\n').unwrap_or_default();
        assert_eq!(head, format!("【{}/{}】", i + 1, parts.len()));
        joined.push_str(rest);
    }
    assert!(
        joined.starts_with("**【督办】p9**\n\n"),
        "{}",
        &joined[..40]
    );
    assert!(joined.contains(&long), "the text came back broken");
    let tail = joined.split("第1499段整改").nth(1).unwrap_or_default();
    for bad in ["@1380", "](", "<@", "**加急", "http://"] {
        assert!(!tail.contains(bad), "`{bad}` reached the robot: {tail}");
    }
    assert!(
        tail.contains("＠13800000000") && tail.contains("［点此］"),
        "{tail}"
    );
}

#[test]
fn an_unknown_channel_is_a_check_error_with_a_suggestion() {
    let robot = Robot::start(SECRET);
    let office = office(
        &robot,
        "rule r for problem when overdue_days >= 30 then notify channel ofice\n",
    );
    office
        .cmd()
        .args(["check"])
        .assert()
        .code(1)
        .stdout(contains("E107").and(contains("did you mean `office`?")));
}

#[test]
fn a_mentioned_person_without_a_mobile_is_skipped_like_a_missing_email() {
    let robot = Robot::start(SECRET);
    let office = office(
        &robot,
        "rule r for problem when status != \"rectified\" and overdue_days >= 30 then notify channel office mentioning inspection.leader\n",
    );
    cmd(&office)
        .args(["dry-run", "--as-of", "2026-06-01"])
        .assert()
        .success()
        .stdout(contains(
            "has no mobile number; the message goes without mentioning them",
        ));
}
