//! Several `duban serve` on one database (SPEC §13): one leads, the
//! others stand by; the leader killed (SIGKILL) at points spread over its
//! run, again and again, and each time another takes over within 30 s;
//! at the end the tasks, the notices in the outbox and the messages a
//! real SMTP server received equal those of one uninterrupted service.
//! And two `duban run` started at once give one evaluation's worth.
//!
//! On SQLite (one file) and, with `DUBAN_TEST_POSTGRES`, on PostgreSQL.

mod common;
use common::Office;
use common::serve::Service;
use common::smtp::{SmtpServer, smtp_config};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const AS_OF: &str = "2026-11-22";
/// The services' clock: every run is as of this time, whoever leads.
const NOW: &str = "2026-11-22T10:00:00+08:00";
/// SPEC §13: another service takes over within 30 s.
const TAKE_OVER: Duration = Duration::from_secs(30);
/// A bound on waiting for the work to finish, lest a broken service hang
/// the test; not a figure the test measures.
const FINISH: Duration = Duration::from_secs(600);

/// `duban serve` on the office (on `database`, a URL, when given), every
/// run as of [`NOW`]; `once`: `--once`.
fn service(office: &Office, database: Option<&str>, once: bool) -> Service {
    let mut envs = vec![("DUBAN_NOW", NOW)];
    if let Some(url) = database {
        envs.push(("DUBAN_DATABASE", url));
    }
    Service::start(office, if once { &["--once"] } else { &[] }, &envs)
}

/// Waits (at most the spec's 30 s) until one of the services leads;
/// which one.
fn leader_of(services: &mut [Service]) -> usize {
    let start = Instant::now();
    loop {
        for (i, s) in services.iter_mut().enumerate() {
            if let Ok(Some(status)) = s.child.try_wait() {
                panic!("a service ended ({status}):\n{}", s.log());
            }
            if s.log().contains("leading:") {
                return i;
            }
        }
        assert!(
            start.elapsed() < TAKE_OVER,
            "no service took the lead within {TAKE_OVER:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Where an office keeps its case database: its SQLite file, or a
/// PostgreSQL database the office was copied into.
enum Store {
    File,
    Server(common::ServerDb),
}

impl Store {
    fn url(&self) -> Option<&str> {
        match self {
            Store::File => None,
            Store::Server(db) => Some(&db.url),
        }
    }

    /// The first column of each row, as text.
    fn texts(&self, office: &Office, sql: &str) -> Vec<String> {
        match self {
            Store::Server(db) => db.texts(sql),
            Store::File => {
                let db = office.db();
                let mut stmt = db.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                stmt.query_map([], |r| r.get::<_, String>(0))
                    .and_then(|r| r.collect())
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
        }
    }

    fn count(&self, office: &Office, sql: &str) -> i64 {
        match self {
            Store::Server(db) => db.count(sql),
            Store::File => office.count(sql),
        }
    }
}

/// A copy of the office with its own SMTP server, on SQLite or (copied
/// there by `duban db copy`) on PostgreSQL.
fn trial(pristine: &Office, on_postgres: bool, what: &str) -> Option<(Office, Store, SmtpServer)> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let o = Office { dir, server: None };
    for name in ["duban.db", "calendar.toml"] {
        if pristine.path(name).exists() {
            std::fs::copy(pristine.path(name), o.path(name)).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    for f in std::fs::read_dir(pristine.path("rules")).unwrap_or_else(|e| panic!("{e}")) {
        let f = f.unwrap_or_else(|e| panic!("{e}"));
        if f.path().is_file() {
            o.write(
                &format!("rules/{}", f.file_name().to_string_lossy()),
                &std::fs::read_to_string(f.path()).unwrap_or_else(|e| panic!("{e}")),
            );
        }
    }
    let smtp = SmtpServer::start();
    o.write("duban.toml", &smtp_config(smtp.port, 3, 1));
    let store = if on_postgres {
        let db = common::ServerDb::on_test_server(what)?;
        o.cmd()
            .args(["db", "copy", "--to", &db.url])
            .assert()
            .success();
        Store::Server(db)
    } else {
        Store::File
    };
    Some((o, store, smtp))
}

/// What the services did, as comparable lines: tasks, notices, episodes
/// and audit records, without ids or times.
fn produced(o: &Office, store: &Store) -> Vec<String> {
    let mut lines = Vec::new();
    for sql in [
        "SELECT 'task ' || rule || ' ' || subject_id || ' ' || kind || ' ' || coalesce(target_id, '') || ' ' || status FROM tasks WHERE seq IS NOT NULL",
        // The same Message-IDs too: none is made from an id a database
        // numbers (PostgreSQL's sequences do not give back those of a
        // killed run's transaction).
        "SELECT 'notice ' || message_id || ' ' || rule || ' ' || subject_id || ' ' || recipients || ' ' || subject || ' ' || body || ' ' || status FROM outbox",
        "SELECT 'held ' || message_id || ' ' || rule || ' ' || subject_id || ' ' || recipients || ' ' || subject || ' ' || body FROM held_notices",
        "SELECT 'approval ' || rule || ' ' || subject_id || ' ' || status FROM approvals",
        "SELECT 'episode ' || rule || ' ' || subject_id || ' ' || fired FROM episodes",
        "SELECT 'audit ' || rule || ' ' || subject_id || ' ' || facts FROM audit",
    ] {
        lines.extend(store.texts(o, sql));
    }
    lines.sort();
    lines
}

/// The Message-ID of every message the server received, sorted (a
/// message received twice is there twice).
fn received(smtp: &SmtpServer) -> Vec<String> {
    let mut ids: Vec<String> = smtp
        .messages()
        .iter()
        .filter_map(|m| {
            String::from_utf8_lossy(m)
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
                .map(|l| l["message-id:".len()..].trim().to_string())
        })
        .collect();
    ids.sort();
    ids
}

/// Waits until every rule ran and every notice went out.
fn wait_until_done(o: &Office, store: &Store, rules: i64, notices: i64) {
    let start = Instant::now();
    loop {
        let ran = store.count(o, "SELECT count(*) FROM schedule_state");
        let sent = store.count(o, "SELECT count(*) FROM outbox WHERE status = 'sent'");
        if ran == rules && sent == notices {
            return;
        }
        assert!(
            start.elapsed() < FINISH,
            "the services did not finish: {ran} of {rules} rules ran, {sent} of {notices} notices sent"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn kill_the_leader_again_and_again(on_postgres: bool) {
    let pristine = Office::demo(3, AS_OF);

    // The reference: one service, uninterrupted.
    let Some((reference, store, smtp)) = trial(&pristine, on_postgres, "lead_ref") else {
        return;
    };
    // How long its run takes, from the moment it leads.
    let mut once = service(&reference, store.url(), true);
    once.wait_for("leading:", 1, TAKE_OVER);
    let started = Instant::now();
    once.wait_for(" run as of ", 1, FINISH);
    let took = started.elapsed();
    let status = once.child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "{}", once.log());
    // The server's chatter (NOTICE of each `DROP TABLE IF EXISTS`) is not
    // the service's log.
    assert!(!once.log().contains("NOTICE"), "{}", once.log());
    let rules = store.count(&reference, "SELECT count(*) FROM schedule_state");
    let notices = store.count(
        &reference,
        "SELECT count(*) FROM outbox WHERE status = 'sent'",
    );
    let expected = produced(&reference, &store);
    let expected_mail = received(&smtp);
    assert!(
        rules >= 5 && notices >= 10,
        "{rules} rules, {notices} notices"
    );
    assert_eq!(
        store.count(
            &reference,
            "SELECT count(*) FROM outbox WHERE status != 'sent'"
        ),
        0
    );
    drop((reference, store, smtp));

    // Two services, the leader killed at points spread over a run's
    // length, a new service standing by after each kill.
    let Some((o, store, smtp)) = trial(&pristine, on_postgres, "lead") else {
        return;
    };
    // Three services: one leads, two stand by; after each kill a new one
    // joins, so that one stands by already while the next leader runs.
    let mut services: Vec<Service> = (0..3).map(|_| service(&o, store.url(), false)).collect();
    let mut leader = leader_of(&mut services);
    let kills = 5;
    for k in 0..kills {
        // Once the leader is in a run (its run recorded, not finished) —
        // or, when every rule ran, delivering — and a pause longer each
        // time.
        let pid = services[leader].child.id();
        let start = Instant::now();
        while store.count(
            &o,
            &format!(
                "SELECT count(*) FROM runs WHERE finished_at IS NULL AND owner LIKE '{pid}@%'"
            ),
        ) == 0
            && store.count(&o, "SELECT count(*) FROM schedule_state") < rules
        {
            assert!(start.elapsed() < FINISH, "the leader did not start a run");
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(took.mul_f64(k as f64 / (2 * kills) as f64));
        services.remove(leader).kill();
        services.push(service(&o, store.url(), false));
        // One standing by takes over within the spec's bound.
        leader = leader_of(&mut services);
    }
    wait_until_done(&o, &store, rules, notices);
    // Some kills landed in the middle of a run: runs left unfinished.
    assert!(
        store.count(&o, "SELECT count(*) FROM runs WHERE finished_at IS NULL") >= 1,
        "no kill landed during a run"
    );

    // Who leads, in `status`.
    let mut status = o.cmd();
    if let Some(url) = store.url() {
        status.env("DUBAN_DATABASE", url);
    }
    status
        .arg("status")
        .assert()
        .success()
        .stdout(predicates::str::contains(format!(
            "service: process {} on",
            services[leader].child.id()
        )));
    drop(services);

    common::same_lines(&produced(&o, &store), &expected, "");
    // Every notice reached the server. A second copy can arise only from
    // a kill after the server accepted a message and before duban
    // recorded it (one per kill at most), under the same Message-ID.
    let mail = received(&smtp);
    let mut distinct = mail.clone();
    distinct.dedup();
    assert_eq!(
        distinct, expected_mail,
        "other Message-IDs than those of the uninterrupted run"
    );
    let mut sent = store.texts(&o, "SELECT message_id FROM outbox WHERE status = 'sent'");
    sent.sort();
    assert_eq!(
        distinct, sent,
        "the server received other messages than those sent"
    );
    assert!(
        mail.len() - distinct.len() <= kills,
        "{} messages for {} notices",
        mail.len(),
        distinct.len()
    );
}

#[test]
fn the_leader_killed_again_and_again_on_sqlite_changes_nothing() {
    kill_the_leader_again_and_again(false);
}

#[test]
fn the_leader_killed_again_and_again_on_postgresql_changes_nothing() {
    kill_the_leader_again_and_again(true);
}

fn two_runs_at_once(on_postgres: bool) {
    let pristine = Office::demo(2, AS_OF);
    let Some((reference, store, _smtp)) = trial(&pristine, on_postgres, "runs_ref") else {
        return;
    };
    let run = |o: &Office, store: &Store| {
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("duban"));
        c.args(["run", "--as-of", AS_OF, "--no-deliver"])
            .current_dir(o.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(url) = store.url() {
            c.env("DUBAN_DATABASE", url);
        }
        c.spawn().unwrap_or_else(|e| panic!("{e}"))
    };
    let one = run(&reference, &store)
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    let expected = produced(&reference, &store);
    let runs = store.count(&reference, "SELECT count(*) FROM runs");
    assert!(expected.iter().any(|l| l.starts_with("task ")));
    drop((reference, store));

    let Some((o, store, _smtp)) = trial(&pristine, on_postgres, "runs") else {
        return;
    };
    let (a, b) = (run(&o, &store), run(&o, &store));
    for child in [a, b] {
        let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    common::same_lines(&produced(&o, &store), &expected, "");
    assert_eq!(store.count(&o, "SELECT count(*) FROM runs"), runs + 1);
}

#[test]
fn two_runs_at_once_on_sqlite_do_the_work_once() {
    two_runs_at_once(false);
}

#[test]
fn two_runs_at_once_on_postgresql_do_the_work_once() {
    two_runs_at_once(true);
}
