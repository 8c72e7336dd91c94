//! Notices reaching people, through the binary and a real SMTP server
//! (aiosmtpd): Chinese subjects decoded right, `.ics` entries that parse,
//! the right recipients, nothing lost or doubled across an outage, no
//! header injected from ledger text — and the file outbox.

mod common;
use common::Office;
use common::smtp::{SmtpServer, free_port, smtp_config};
use mailparse::{MailHeaderMap, ParsedMail, parse_mail};
use predicates::str::contains;
use std::collections::BTreeSet;

const POLICY: &str = r#"
template overdue_notice
  subject "【督办】{{ problem.inspection.organization.name }} 问题整改已逾期 {{ problem.overdue_days }} 天"
  body """
{{ problem.responsible.name }} 同志：
您负责整改的问题“{{ problem.description }}”整改期限为 {{ problem.deadline }}，现已逾期。
"""

rule overdue_reminder "整改逾期30天 → 提醒谈话"
  for problem
  when status != "rectified" and overdue_days >= 30
  then task reminder_talk with responsible due 7 days
  then notify responsible, inspection.organization.secretary using overdue_notice
"#;

fn subject(m: &ParsedMail<'_>) -> String {
    m.headers.get_first_value("Subject").unwrap_or_default()
}

fn to_addresses(m: &ParsedMail<'_>) -> BTreeSet<String> {
    let to = m
        .headers
        .get_first_header("To")
        .map(|h| mailparse::addrparse_header(h));
    match to {
        Some(Ok(list)) => list
            .iter()
            .flat_map(|a| match a {
                mailparse::MailAddr::Single(s) => vec![s.addr.clone()],
                mailparse::MailAddr::Group(g) => g.addrs.iter().map(|s| s.addr.clone()).collect(),
            })
            .collect(),
        _ => BTreeSet::new(),
    }
}

fn find_ics(m: &ParsedMail<'_>) -> Option<String> {
    if m.ctype.mimetype == "text/calendar" {
        return m.get_body().ok();
    }
    m.subparts.iter().find_map(find_ics)
}

fn text_body(m: &ParsedMail<'_>) -> String {
    if m.subparts.is_empty() {
        return m.get_body().unwrap_or_default();
    }
    m.subparts
        .iter()
        .find(|p| p.ctype.mimetype == "text/plain")
        .map(text_body)
        .unwrap_or_default()
}

#[test]
fn notices_arrive_with_chinese_subjects_recipients_and_calendar_entries() {
    let server = SmtpServer::start();
    let office = Office::fixture();
    office.write("duban.toml", &smtp_config(server.port, 3, 1));
    office.policy(POLICY);
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success()
        .stdout(contains("delivered 2 notices"));
    let raw = server.messages();
    assert_eq!(
        raw.len(),
        2,
        "p1's notice (its secretary) and its task's notice (the assignee)"
    );
    let parsed: Vec<ParsedMail<'_>> = raw
        .iter()
        .map(|r| parse_mail(r).unwrap_or_else(|e| panic!("{e}")))
        .collect();

    // The rule's notice: subject in Chinese, to the responsible and the secretary.
    let notice = parsed
        .iter()
        .find(|m| subject(m).contains("问题整改已逾期"))
        .unwrap_or_else(|| panic!("no notice"));
    assert_eq!(subject(notice), "【督办】市教育局 问题整改已逾期 61 天");
    // u3 (王五) has no email: the notice reached the secretary only.
    assert_eq!(
        to_addresses(notice),
        BTreeSet::from(["zhangsan@example.org".to_string()])
    );
    assert!(
        text_body(notice)
            .contains("您负责整改的问题“三会一课落实不严格”整改期限为 2026年4月1日，现已逾期。")
    );
    // The raw header is RFC 2047-encoded, not 8-bit.
    let raw_notice = String::from_utf8_lossy(
        &raw[parsed
            .iter()
            .position(|m| subject(m) == subject(notice))
            .unwrap_or(0)],
    )
    .into_owned();
    assert!(raw_notice.contains("Subject: =?utf-8?"), "{raw_notice}");
    let from = notice.headers.get_first_value("From").unwrap_or_default();
    assert!(
        from.contains("巡察办督办") && from.contains("duban@example.org"),
        "{from}"
    );

    // Task notices go to the assignee (the discipline officer) with an .ics.
    let tasks: Vec<&ParsedMail<'_>> = parsed
        .iter()
        .filter(|m| subject(m).contains("请开展提醒谈话"))
        .collect();
    assert_eq!(tasks.len(), 1);
    for t in tasks {
        assert_eq!(
            to_addresses(t),
            BTreeSet::from(["lisi@example.org".to_string()])
        );
        let ics = find_ics(t).unwrap_or_else(|| panic!("no calendar entry"));
        let cal: icalendar::Calendar = ics.parse().unwrap_or_else(|e| panic!("{e}\n{ics}"));
        assert_eq!(cal.components.len(), 1);
        assert!(ics.contains("DTSTART;VALUE=DATE:20260608"), "{ics}");
        assert!(ics.contains("UID:T00000"), "{ics}");
    }
    // Every message carries its own stable Message-ID, as recorded.
    let ids: BTreeSet<String> = parsed
        .iter()
        .filter_map(|m| m.headers.get_first_value("Message-ID"))
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(
        office.count("SELECT count(*) FROM outbox WHERE status = 'sent'"),
        2
    );
}

#[test]
fn an_outage_delays_notices_and_loses_or_doubles_none() {
    let port = free_port();
    let office = Office::fixture();
    office.write("duban.toml", &smtp_config(port, 5, 1));
    office.policy(POLICY);
    // The server is down: the run records everything, the notices wait.
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success()
        .stderr(contains("stay queued and are retried"));
    assert_eq!(
        office.count("SELECT count(*) FROM outbox WHERE status = 'queued'"),
        2
    );
    assert_eq!(
        office.count("SELECT count(*) FROM outbox WHERE last_error IS NOT NULL"),
        1
    );
    assert_eq!(
        office.count("SELECT count(*) FROM tasks WHERE seq IS NOT NULL"),
        1
    );
    office
        .cmd()
        .args(["notices", "retry"])
        .assert()
        .success()
        .stderr(contains("warning"));
    office
        .cmd()
        .args(["status"])
        .assert()
        .success()
        .stdout(contains("notices: 2 queued"))
        .stdout(contains("last error:"));

    // Back up: every notice arrives exactly once.
    let server = SmtpServer::start_on(port);
    office
        .cmd()
        .args(["notices", "retry"])
        .assert()
        .success()
        .stdout(contains("delivered 2 notices"));
    office
        .cmd()
        .args(["notices", "retry"])
        .assert()
        .success()
        .stdout(contains("delivered 0 notices"));
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-02"])
        .assert()
        .success();
    let raw = server.messages();
    assert_eq!(raw.len(), 2, "each notice once at the server");
    let ids: BTreeSet<String> = raw
        .iter()
        .filter_map(|r| {
            parse_mail(r)
                .ok()
                .and_then(|m| m.headers.get_first_value("Message-ID"))
        })
        .collect();
    assert_eq!(ids.len(), 2);
    let recorded: BTreeSet<String> = common::texts(
        &office.db(),
        "SELECT message_id FROM outbox WHERE status = 'sent'",
    )
    .into_iter()
    .collect();
    assert_eq!(ids, recorded);
}

#[test]
fn notices_fail_after_max_attempts_and_retry_on_demand() {
    let port = free_port();
    let office = Office::fixture();
    office.write("duban.toml", &smtp_config(port, 2, 0));
    office.policy(POLICY);
    // Once attempts are used up, the notice fails: an operational failure.
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success();
    office
        .cmd()
        .args(["notices", "retry"])
        .assert()
        .code(3)
        .stderr(contains("failed for good"));
    assert_eq!(office.count("SELECT count(*) FROM outbox WHERE status = 'failed' AND attempts = 2 AND last_error LIKE '%onnection%'"), 1);
    office
        .cmd()
        .args(["notices", "list", "--status", "failed"])
        .assert()
        .success()
        .stdout(contains("failed"))
        .stdout(contains("last error:"));
    let server = SmtpServer::start_on(port);
    office
        .cmd()
        .args(["notices", "retry", "--failed"])
        .assert()
        .success();
    office.cmd().args(["notices", "retry"]).assert().success();
    assert_eq!(server.messages().len(), 2);
    assert_eq!(
        office.count("SELECT count(*) FROM outbox WHERE status = 'sent'"),
        2
    );
}

#[test]
fn ledger_text_cannot_inject_headers() {
    let server = SmtpServer::start();
    let office = Office::fixture();
    office.write("duban.toml", &smtp_config(server.port, 3, 1));
    office.policy(POLICY);
    // A name with a line break and a header after it, as a CSV cell can hold.
    office.write(
        "in/persons.csv",
        "id,name,email\nu1,\"张三\r\nBcc: evil@example.org\",zhangsan@example.org\n",
    );
    office.write(
        "in/organizations.csv",
        "id,name\no1,\"市教育局\nX-Injected: yes\"\n",
    );
    office.cmd().args(["import", "in"]).assert().success();
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success();
    let raw = server.messages();
    assert!(!raw.is_empty());
    for r in raw {
        let text = String::from_utf8_lossy(&r);
        let headers = text.split("\r\n\r\n").next().unwrap_or("");
        for line in headers.lines() {
            assert!(
                !line.starts_with("Bcc:") && !line.starts_with("X-Injected:"),
                "injected header: {line}\n{headers}"
            );
        }
        let m = parse_mail(&r).unwrap_or_else(|e| panic!("{e}"));
        assert!(!to_addresses(&m).contains("evil@example.org"));
        assert!(m.headers.get_first_value("Bcc").is_none());
    }
}

#[test]
fn the_file_outbox_holds_one_eml_per_notice() {
    let office = Office::fixture();
    office.policy(POLICY);
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success()
        .stdout(contains("delivered 2 notices to"));
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(office.path("outbox"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    assert_eq!(files.len(), 2);
    let subjects: BTreeSet<String> = files
        .iter()
        .map(|f| {
            let raw = std::fs::read(f).unwrap_or_default();
            parse_mail(&raw).map(|m| subject(&m)).unwrap_or_default()
        })
        .collect();
    assert!(
        subjects.contains("【督办】市教育局 问题整改已逾期 61 天"),
        "{subjects:?}"
    );
    // Delivering again writes nothing new.
    office
        .cmd()
        .args(["notices", "retry"])
        .assert()
        .success()
        .stdout(contains("delivered 0"));
    assert_eq!(
        std::fs::read_dir(office.path("outbox"))
            .map(|d| d.count())
            .unwrap_or(0),
        2
    );
}

#[test]
fn a_missing_password_variable_is_a_clear_error() {
    let office = Office::fixture();
    let mut config = smtp_config(free_port(), 3, 1);
    config.push_str("");
    let config = config.replace(
        "timeout_s = 5",
        "timeout_s = 5\nusername = \"duban\"\npassword_env = \"DUBAN_TEST_NO_SUCH_VARIABLE\"",
    );
    office.write("duban.toml", &config);
    office.policy(POLICY);
    office
        .cmd()
        .env_remove("DUBAN_TEST_NO_SUCH_VARIABLE")
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .code(1)
        .stderr(contains("DUBAN_TEST_NO_SUCH_VARIABLE"));
    // The run itself was recorded; the notices wait.
    assert_eq!(
        office.count("SELECT count(*) FROM outbox WHERE status = 'queued'"),
        2
    );
}
