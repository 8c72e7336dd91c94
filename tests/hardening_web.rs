//! The workbench against a hostile visitor, over HTTP and raw TCP: slow
//! headers, open redirects, control characters, sign-in link floods,
//! throttling behind a proxy, bursts of tries, login CSRF, caching, a
//! policy too deep or long to check.

mod common;

use common::Office;
use common::web::{Answer, Workbench, add_user};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const NOW: &str = "2026-06-02T10:00:00+08:00";

/// The ladder office with accounts: u2 and u4 members (u2 李四 has an
/// email), u1 office.
fn office() -> Office {
    let o = Office::ladder();
    add_user(&o, "u2", "member", "correct horse 2");
    add_user(&o, "u4", "member", "correct horse 4");
    add_user(&o, "u1", "office", "correct horse 1");
    o
}

/// A connection that sends the start of a request and never ends its
/// headers.
fn slow_headers(w: &Workbench) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", w.port)).unwrap_or_else(|e| panic!("{e}"));
    s.write_all(b"GET /sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n")
        .unwrap_or_else(|e| panic!("{e}"));
    s
}

/// Whether the server closed `s` (reads to the end) before `limit`.
fn closed_by_server(s: &mut TcpStream, limit: Duration) -> bool {
    s.set_read_timeout(Some(limit))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn slow_headers_are_cut_off_and_do_not_crowd_out_real_requests() {
    let o = office();
    let w = Workbench::start_configured(&o, NOW, "web", "timeout_s = 2\nmax_connections = 20");
    // Three times the cap of connections that never finish their headers.
    let mut slow: Vec<TcpStream> = (0..60).map(|_| slow_headers(&w)).collect();
    // Real requests are answered all the same.
    for _ in 0..5 {
        assert_eq!(w.get("/sign-in", "").status, 200);
    }
    assert_eq!(w.try_sign_in("u2", "correct horse 2").status, 303);
    // Every slow connection is closed by the server: pushed out by newer
    // ones, or at the header timeout.
    for (i, s) in slow.iter_mut().enumerate() {
        assert!(
            closed_by_server(s, Duration::from_secs(30)),
            "slow connection {i} still open"
        );
    }
    // A kept-alive connection with nothing more to ask is closed too.
    let mut idle = TcpStream::connect(("127.0.0.1", w.port)).unwrap_or_else(|e| panic!("{e}"));
    idle.write_all(b"GET /sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(closed_by_server(&mut idle, Duration::from_secs(30)));
    assert_eq!(w.get("/sign-in", "").status, 200);
}

#[test]
fn return_addresses_lead_only_to_this_workbench() {
    let o = office();
    let w = Workbench::start(&o, NOW);
    for (back, to) in [
        ("/%5Cevil.example", "/"),
        ("//evil.example", "/"),
        ("/%2F/evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/tasks", "/tasks"),
    ] {
        let a = w.get(&format!("/lang/en?back={back}"), "");
        assert_eq!(a.status, 303, "{back}");
        assert_eq!(a.header("location"), Some(to), "{back}");
    }
    // A tab (browsers drop it: `//evil.example`) is a control character.
    assert_eq!(w.get("/lang/en?back=/%09/evil.example", "").status, 400);
    // After signing in: the same.
    let page = w.get("/sign-in", "");
    let form = page.cookie("duban_form").unwrap_or_default();
    let sign_in = |next: &str| {
        w.post(
            "/sign-in",
            &form,
            &[
                ("csrf", &page.csrf()),
                ("who", "u2"),
                ("password", "correct horse 2"),
                ("next", next),
            ],
        )
    };
    let host = format!("127.0.0.1:{}", w.port);
    let a = sign_in(&format!("/\t/{host}/my"));
    assert_eq!(a.status, 400);
    assert!(a.cookie("duban_session").is_none());
    assert_eq!(o.count("SELECT count(*) FROM sessions"), 0);
    let a = sign_in("/\\evil.example/");
    assert_eq!((a.status, a.header("location")), (303, Some("/")));
    let a = sign_in("/my");
    assert_eq!((a.status, a.header("location")), (303, Some("/my")));
}

#[test]
fn control_characters_are_a_400_and_logged() {
    let o = office();
    let w = Workbench::start(&o, NOW);
    for path in [
        "/lang/en?back=/%0A",
        "/sign-in?next=/%0D%0ASet-Cookie:%20x=1",
        "/tasks/T%00",
        "/sign-in?x=%7F",
    ] {
        let a = w.get(path, "");
        assert_eq!(a.status, 400, "{path}");
        assert!(a.header("set-cookie").is_none(), "{path}");
    }
    let a = w.get("/sign-in?next=/%0A", "");
    assert!(a.body.contains("控制字符"), "{}", a.body);
    // Logged, escaped.
    let log = w.log();
    assert!(
        log.contains("control character") && log.contains("/lang/en?back=/%0A"),
        "{log}"
    );
    // The workbench still answers.
    assert_eq!(w.get("/sign-in", "").status, 200);
}

/// The sign-in emails the workbench wrote to the file outbox.
fn sign_in_mails(o: &Office) -> usize {
    std::fs::read_dir(o.path("outbox"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".sign-in.eml"))
        .count()
}

#[test]
fn sign_in_links_cannot_be_flooded() {
    let o = office();
    let w = Workbench::start(&o, NOW);
    let page = w.get("/sign-in", "");
    let form = page.cookie("duban_form").unwrap_or_default();
    let ask = |who: &str| {
        w.post(
            "/sign-in/link",
            &form,
            &[("csrf", &page.csrf()), ("who", who)],
        )
    };
    let first = ask("u2");
    assert_eq!(first.status, 200);
    for _ in 0..49 {
        let a = ask("u2");
        assert_eq!((a.status, &a.body), (200, &first.body));
    }
    // Someone who has no account gets the same answer.
    let a = ask("nobody@example.org");
    assert_eq!((a.status, &a.body), (200, &first.body));
    assert_eq!(
        o.count("SELECT count(*) FROM outbox WHERE rule = '(sign-in)'"),
        3
    );
    let start = std::time::Instant::now();
    while o.count("SELECT count(*) FROM outbox WHERE rule = '(sign-in)' AND status = 'sent'") < 3 {
        assert!(start.elapsed().as_secs() < 30, "the links were not sent");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(sign_in_mails(&o), 3);
    // Fifteen minutes on, one more.
    let later = Workbench::start(&o, "2026-06-02T10:15:01+08:00");
    let page = later.get("/sign-in", "");
    let form = page.cookie("duban_form").unwrap_or_default();
    later.post(
        "/sign-in/link",
        &form,
        &[("csrf", &page.csrf()), ("who", "u2")],
    );
    later.post(
        "/sign-in/link",
        &form,
        &[("csrf", &page.csrf()), ("who", "u2")],
    );
    assert_eq!(
        o.count("SELECT count(*) FROM outbox WHERE rule = '(sign-in)'"),
        5
    );
}

/// Ten wrong passwords for `who` from `from` (through the proxy): the
/// answers' statuses.
fn attack(w: &Workbench, who: &str, from: Option<&str>) -> Vec<u16> {
    (0..10)
        .map(|_| w.try_sign_in_from(who, "wrong password", from).status)
        .collect()
}

#[test]
fn behind_a_trusted_proxy_an_attacker_locks_only_themselves_out() {
    let o = office();
    let w = Workbench::start_configured(&o, NOW, "web", "trusted_proxies = [\"127.0.0.0/8\"]");
    let statuses = attack(&w, "u2", Some("203.0.113.7"));
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 5);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 5);
    // The attacker waits, even with the right password...
    assert_eq!(
        w.try_sign_in_from("u2", "correct horse 2", Some("203.0.113.7"))
            .status,
        429
    );
    // ... and cannot pass for someone else by writing their address first.
    assert_eq!(
        w.try_sign_in_from("u2", "correct horse 2", Some("198.51.100.2, 203.0.113.7"))
            .status,
        429
    );
    // The account's owner, elsewhere, signs in; so does everyone else.
    assert_eq!(
        w.try_sign_in_from("u2", "correct horse 2", Some("198.51.100.2"))
            .status,
        303
    );
    assert_eq!(
        w.try_sign_in_from("u4", "correct horse 4", Some("198.51.100.3"))
            .status,
        303
    );
}

#[test]
fn without_a_trusted_proxy_forwarded_for_is_ignored() {
    let o = office();
    let w = Workbench::start(&o, NOW);
    let statuses = attack(&w, "u2", Some("203.0.113.7"));
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 5);
    // Claiming another address changes nothing: the connection's counts.
    assert_eq!(
        w.try_sign_in_from("u2", "correct horse 2", Some("198.51.100.2"))
            .status,
        429
    );
}

#[test]
fn a_burst_of_tries_checks_no_more_passwords_than_allowed() {
    let o = office();
    let w = Workbench::start(&o, NOW);
    let page = w.get("/sign-in", "");
    let form = page.cookie("duban_form").unwrap_or_default();
    let csrf = page.csrf();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let tries: Vec<_> = (0..40)
            .map(|_| {
                scope.spawn(|| {
                    w.post(
                        "/sign-in",
                        &form,
                        &[
                            ("csrf", &csrf),
                            ("who", "u2"),
                            ("password", "wrong password"),
                        ],
                    )
                    .status
                })
            })
            .collect();
        tries
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|_| panic!("a try panicked")))
            .collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        35,
        "{statuses:?}"
    );
    assert_eq!(
        o.count("SELECT count(*) FROM sign_in_failures WHERE key LIKE 'account:u2 %'"),
        5
    );
}

/// Asks for a sign-in link for u2; the link's path, from the email.
fn link_for_u2(o: &Office, w: &Workbench) -> String {
    let page = w.get("/sign-in", "");
    let form = page.cookie("duban_form").unwrap_or_default();
    w.post(
        "/sign-in/link",
        &form,
        &[("csrf", &page.csrf()), ("who", "u2")],
    );
    let start = std::time::Instant::now();
    loop {
        let found = std::fs::read_dir(o.path("outbox"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read(e.path()).ok())
            .filter_map(|m| mailparse::parse_mail(&m).ok()?.get_body().ok())
            .find_map(|b| {
                b.split_whitespace()
                    .find(|w| w.contains("/sign-in/link/"))
                    .map(str::to_string)
            });
        if let Some(l) = found {
            return l.trim_start_matches(&w.url("")).to_string();
        }
        assert!(start.elapsed().as_secs() < 20, "no sign-in email");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn following_a_sign_in_link_does_not_sign_in() {
    let o = office();
    let w = Workbench::start(&o, NOW);
    let path = link_for_u2(&o, &w);
    // A mail scanner fetches the link, twice.
    for _ in 0..2 {
        let a: Answer = w.get(&path, "");
        assert_eq!(a.status, 200);
        assert!(a.cookie("duban_session").is_none());
    }
    assert_eq!(o.count("SELECT count(*) FROM sessions"), 0);
    assert_eq!(
        o.count("SELECT count(*) FROM sign_in_links WHERE used_at IS NOT NULL"),
        0
    );
    // Another site posting to the link (no form token) does not either.
    assert_eq!(w.post(&path, "", &[]).status, 403);
    assert_eq!(w.post(&path, "", &[("csrf", "forged")]).status, 403);
    assert_eq!(o.count("SELECT count(*) FROM sessions"), 0);
    // The button does.
    let a = w.use_link(&path);
    assert_eq!(a.status, 303);
    assert!(a.cookie("duban_session").is_some());
    assert_eq!(o.count("SELECT count(*) FROM sessions"), 1);
}

#[test]
fn a_wrong_password_is_an_error_and_keeps_the_id() {
    let o = office();
    let w = Workbench::start(&o, NOW);
    let a = w.try_sign_in("u2", "wrong password");
    assert_eq!(a.status, 401);
    assert!(a.body.contains("class=\"error\""), "{}", a.body);
    assert!(!a.body.contains("class=\"ok\""), "{}", a.body);
    assert!(a.body.contains("value=\"u2\""), "{}", a.body);
}

#[test]
fn signed_in_pages_are_not_kept_in_caches() {
    let o = office();
    let w = Workbench::start(&o, NOW);
    let signed_in = w.try_sign_in("u2", "correct horse 2");
    assert_eq!(signed_in.header("cache-control"), Some("no-store"));
    let s = signed_in
        .cookie("duban_session")
        .unwrap_or_else(|| panic!("no session"));
    for path in ["/my", "/tasks/T000001", "/approvals", "/nothing-here"] {
        assert_eq!(
            w.get(path, &s).header("cache-control"),
            Some("no-store"),
            "{path}"
        );
    }
    let office = w.sign_in("u1", "correct horse 1");
    for path in ["/orgs", "/tasks", "/notices", "/report", "/status"] {
        assert_eq!(
            w.get(path, &office).header("cache-control"),
            Some("no-store"),
            "{path}"
        );
    }
    // The style sheet may be kept.
    assert_eq!(
        w.get("/assets/duban.css", "").header("cache-control"),
        Some("max-age=3600")
    );
}

#[test]
fn a_deep_or_long_policy_does_not_take_the_workbench_down() {
    let o = office();
    let w = Workbench::start(&o, NOW);
    let s = w.sign_in("u1", "correct horse 1");
    let deep = [
        vec!["overdue_days > 1"; 2_000].join(" and "),
        format!(
            "{}overdue_days > 1{}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        ),
        format!("overdue_days{} > 1", " + 1".repeat(10_000)),
    ];
    for when in &deep {
        o.policy(&format!(
            "rule deep\n  for problem\n  when {when}\n  then notify responsible\n"
        ));
        // The pages answer (the rules page that the policy cannot be
        // used, 422), and the workbench stays up.
        for path in ["/status", "/rules", "/tasks"] {
            let a = w.get(path, &s);
            assert!(matches!(a.status, 200 | 422), "{path}: {}", a.status);
            assert!(
                !a.body.contains("overdue_days > 1 and"),
                "{path}: policy text echoed"
            );
        }
        assert_eq!(w.get("/status", &s).status, 200);
    }
    // Started on such a policy, it starts and answers too.
    drop(w);
    let w = Workbench::start(&o, NOW);
    let s = w.sign_in("u1", "correct horse 1");
    assert_eq!(w.get("/status", &s).status, 200);
    assert_eq!(w.get("/tasks", &s).status, 200);
}
