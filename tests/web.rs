//! The workbench over HTTP (SPEC §11): every security rule, and the same
//! operations as the command line.

mod common;

use common::Office;
use common::web::{Workbench, add_user};
use predicates::prelude::PredicateBooleanExt;

/// The ladder office (T000001: a reminder talk about p1, assigned to u2),
/// one more task assigned to u4, and accounts: u2 and u4 members, u1 office.
fn office() -> Office {
    let o = Office::ladder();
    o.db()
        .execute(
            "INSERT INTO tasks (id, subject_type, subject_id, kind, status, target_id, assignee_id, due, created_on)
             VALUES ('X1', 'problem', 'p5', 'reminder_talk', 'open', 'u4', 'u4', '2026-06-20', '2026-06-01')",
            [],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    o.db()
        .execute(
            "UPDATE problems SET description = '<script>alert(1)</script>账目不清' WHERE id = 'p1'",
            [],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    add_user(&o, "u2", "member", "correct horse 2");
    add_user(&o, "u4", "member", "correct horse 4");
    add_user(&o, "u1", "office", "correct horse 1");
    o
}

const NOW: &str = "2026-06-02T10:00:00+08:00";

#[test]
fn without_a_session_every_page_and_form_leads_to_sign_in() {
    let o = office();
    let w = Workbench::start(&o, NOW);
    for path in ["/", "/my", "/tasks", "/tasks/T000001", "/orgs", "/rules"] {
        for cookie in ["", "duban_session=forged-token"] {
            let a = w.get(path, cookie);
            assert_eq!(a.status, 303, "{path}");
            assert!(
                a.header("location")
                    .is_some_and(|l| l.starts_with("/sign-in")),
                "{path}"
            );
        }
    }
    let a = w.post(
        "/tasks/T000001/done",
        "duban_session=forged-token",
        &[("outcome", "谈过了"), ("csrf", "x")],
    );
    assert_eq!(a.status, 303);
    assert_eq!(
        o.count("SELECT count(*) FROM tasks WHERE status = 'done'"),
        0
    );
}

#[test]
fn session_cookies_are_http_only_and_same_site() {
    let o = office();
    let w = Workbench::start(&o, NOW);
    let a = w.try_sign_in("lisi@example.org", "correct horse 2");
    assert_eq!(a.status, 303);
    let set = a
        .headers
        .iter()
        .find(|(k, v)| k == "set-cookie" && v.starts_with("duban_session="))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    // Served over plain http here: not Secure.
    assert!(!set.contains("Secure"), "{set}");
    // The database keeps a hash of the token, not the token.
    let token = set
        .split(';')
        .next()
        .unwrap_or("")
        .trim_start_matches("duban_session=");
    assert_eq!(
        o.count(&format!(
            "SELECT count(*) FROM sessions WHERE token_hash = '{token}'"
        )),
        0
    );
    assert_eq!(
        o.count("SELECT count(*) FROM sessions WHERE person_id = 'u2'"),
        1
    );
}

#[test]
fn a_form_without_its_csrf_token_is_refused() {
    let o = office();
    let w = Workbench::start(&o, NOW);
    let s = w.sign_in("u2", "correct horse 2");
    for csrf in ["", "not-the-token"] {
        let a = w.post(
            "/tasks/T000001/done",
            &s,
            &[("outcome", "已谈话"), ("on", "2026-06-02"), ("csrf", csrf)],
        );
        assert_eq!(a.status, 403, "{}", a.body);
    }
    assert_eq!(
        o.count("SELECT count(*) FROM tasks WHERE status = 'done'"),
        0
    );
    // The sign-in form too.
    let a = w.post(
        "/sign-in",
        "",
        &[("who", "u2"), ("password", "correct horse 2")],
    );
    assert_eq!(a.status, 403);
}

#[test]
fn a_member_marks_their_task_done_as_tasks_done_would() {
    let o = office();
    let w = Workbench::start(&o, NOW);
    let s = w.sign_in("u2", "correct horse 2");
    let page = w.get("/tasks/T000001", &s);
    assert_eq!(page.status, 200);
    let a = w.post(
        "/tasks/T000001/done",
        &s,
        &[
            ("outcome", "已谈话，承诺月底整改"),
            ("on", "2026-06-02"),
            ("csrf", &page.csrf()),
        ],
    );
    assert_eq!(a.status, 303, "{}", a.body);
    let (status, outcome, on, by): (String, String, String, String) = o
        .db()
        .query_row(
            "SELECT status, outcome, done_on, closed_by FROM tasks WHERE id = 'T000001'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (status.as_str(), outcome.as_str(), on.as_str()),
        ("done", "已谈话，承诺月底整改", "2026-06-02")
    );
    assert!(by.starts_with("u2 ") && by.contains("workbench"), "{by}");
    // The same rules as the command line: a second time is refused, shown
    // on the page.
    let again = w.post(
        "/tasks/T000001/done",
        &s,
        &[("outcome", "再来一次"), ("csrf", &page.csrf())],
    );
    assert_eq!(again.status, 422);
    assert!(
        again.body.contains("此任务已是“已完成”状态"),
        "{}",
        again.body
    );
    // A date in the future is refused too.
    let t = w.get("/tasks/X1", &w.sign_in("u4", "correct horse 4"));
    assert_eq!(t.status, 200);
}

#[test]
fn a_member_cannot_see_or_close_another_persons_task() {
    let o = office();
    let w = Workbench::start(&o, NOW);
    let s = w.sign_in("u2", "correct horse 2");
    let csrf = w.get("/my", &s).csrf();
    assert_eq!(w.get("/tasks/X1", &s).status, 404);
    assert_eq!(w.get("/tasks/NOPE", &s).status, 404);
    let a = w.post("/tasks/X1/done", &s, &[("outcome", "x"), ("csrf", &csrf)]);
    assert_eq!(a.status, 404);
    assert_eq!(
        o.count("SELECT count(*) FROM tasks WHERE id = 'X1' AND status = 'open'"),
        1
    );
    // Nor the office's pages.
    for path in [
        "/tasks",
        "/notices",
        "/orgs",
        "/rules",
        "/status",
        "/report",
        "/accounts",
    ] {
        assert_eq!(w.get(path, &s).status, 404, "{path}");
    }
    // The office sees both tasks.
    let office = w.sign_in("u1", "correct horse 1");
    assert_eq!(w.get("/tasks/X1", &office).status, 200);
    assert_eq!(
        w.get("/accounts", &office).status,
        404,
        "accounts are for admins"
    );
}

#[test]
fn ledger_text_is_escaped() {
    let o = office();
    let w = Workbench::start(&o, NOW);
    let s = w.sign_in("u2", "correct horse 2");
    for path in ["/my", "/tasks/T000001"] {
        let page = w.get(path, &s);
        assert!(
            !page.body.contains("<script>alert(1)"),
            "{path}: {}",
            page.body
        );
        assert!(
            page.body.contains("&lt;script&gt;alert(1)") && page.body.contains("账目不清"),
            "{path}"
        );
    }
    let office = w.sign_in("u1", "correct horse 1");
    let page = w.get("/inspections/i1", &office);
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("<script>alert(1)"));
}

#[test]
fn repeated_wrong_passwords_slow_sign_in_down() {
    let o = office();
    let w = Workbench::start(&o, NOW);
    let mut refused_early = 0;
    for _ in 0..20 {
        match w.try_sign_in("u2", "wrong password").status {
            401 => {}
            429 => refused_early += 1,
            s => panic!("answer {s}"),
        }
    }
    // After five failures every try waits (the clock stands still here).
    assert_eq!(refused_early, 15);
    let a = w.try_sign_in("u2", "correct horse 2");
    assert_eq!(a.status, 429, "the right password waits too");
    assert!(
        a.header("retry-after")
            .is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n > 0))
    );
    // Another account from the same address does not.
    assert_eq!(w.try_sign_in("u4", "correct horse 4").status, 303);
    // Twenty failures from one address over any accounts: everyone there
    // waits (the five on u2 count).
    for n in 0..15 {
        let who = format!("nobody{n}");
        assert_eq!(w.try_sign_in(&who, "wrong password").status, 401, "{who}");
    }
    assert_eq!(w.try_sign_in("u4", "correct horse 4").status, 429);
}

#[test]
fn removing_a_user_ends_their_sessions() {
    let o = office();
    let w = Workbench::start(&o, NOW);
    let s = w.sign_in("u2", "correct horse 2");
    assert_eq!(w.get("/my", &s).status, 200);
    o.cmd().args(["users", "remove", "u2"]).assert().success();
    let a = w.get("/my", &s);
    assert_eq!(a.status, 303);
    assert_eq!(w.try_sign_in("u2", "correct horse 2").status, 401);
}

#[test]
fn users_add_checks_the_person_and_the_password() {
    let o = office();
    o.cmd()
        .args(["users", "add", "nobody", "--role", "member"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("no person nobody"));
    o.cmd()
        .args(["users", "add", "u3", "--role", "member", "--password-stdin"])
        .write_stdin("short\n")
        .assert()
        .code(1)
        .stderr(predicates::str::contains("shorter than 8"));
    o.cmd()
        .args(["users", "list"])
        .assert()
        .success()
        .stdout(predicates::str::contains("u2 李四").and(predicates::str::contains("3 accounts")));
}

/// Asks for a sign-in link for `who`; the link from the email delivered
/// to the file outbox (by the workbench itself) as a path.
fn emailed_link(o: &Office, w: &Workbench, who: &str) -> String {
    link_email(o, w, who, "").2
}

/// Asks for a sign-in link for `who` on the sign-in page (with `cookie`
/// besides the form's, e.g. the language) and waits for its email: the
/// subject, the body and the link's path.
fn link_email(o: &Office, w: &Workbench, who: &str, cookie: &str) -> (String, String, String) {
    let page = w.get("/sign-in", cookie);
    let form = page.cookie("duban_form").unwrap_or_default();
    let a = w.post(
        "/sign-in/link",
        &format!("{form}; {cookie}"),
        &[("csrf", &page.csrf()), ("who", who)],
    );
    assert_eq!(a.status, 200);
    let start = std::time::Instant::now();
    let (subject, body, link) = loop {
        let found = std::fs::read_dir(o.path("outbox"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .find_map(|m| {
                let mail = mailparse::parse_mail(m.as_bytes()).ok()?;
                let body = mail.get_body().ok()?;
                let link = body
                    .split_whitespace()
                    .find(|w| w.contains("/sign-in/link/"))?
                    .to_string();
                let subject =
                    mailparse::MailHeaderMap::get_first_value(mail.headers.as_slice(), "Subject");
                Some((subject.unwrap_or_default(), body, link))
            });
        if let Some(l) = found {
            break l;
        }
        assert!(start.elapsed().as_secs() < 20, "no sign-in email");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    (
        subject,
        body,
        link.trim_start_matches(&w.url("")).to_string(),
    )
}

#[test]
fn a_sign_in_link_is_emailed_in_the_language_of_the_page() {
    let o = office();
    let w = Workbench::start(&o, NOW);
    let (subject, body, path) = link_email(&o, &w, "lisi@example.org", "duban_lang=en");
    assert_eq!(subject, "[duban] Your sign-in link");
    assert!(body.starts_with("Dear 李四,"), "{body}");
    assert!(body.contains("within 15 minutes"), "{body}");
    assert!(
        !body.contains("登录"),
        "no Chinese words in an English email: {body}"
    );
    // The link works as a Chinese one does.
    assert_eq!(w.use_link(&path).status, 303);
}

#[test]
fn a_sign_in_link_is_emailed_and_works_once() {
    let o = office();
    let w = Workbench::start(&o, NOW);
    let path = emailed_link(&o, &w, "lisi@example.org");
    let path = path.as_str();
    // Following the link shows whose it is and a button; only pressing it
    // signs in.
    let page = w.get(path, "");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("李四"), "{}", page.body);
    let used = w.use_link(path);
    assert_eq!(used.status, 303);
    assert!(used.cookie("duban_session").is_some());
    let again = w.use_link(path);
    assert_eq!(again.status, 410, "a link works once");
    // Said in the error box.
    assert!(again.body.contains("class=\"error\""), "{}", again.body);
    // The notices page does not show sign-in links.
    let office = w.sign_in("u1", "correct horse 1");
    let notices = w.get("/notices", &office);
    assert!(!notices.body.contains("/sign-in/link/") && !notices.body.contains("登录链接"));
}

#[test]
fn task_notices_link_to_the_task_on_the_workbench() {
    let o = Office::fixture();
    o.policy(common::LADDER);
    o.db()
        .execute("DELETE FROM tasks", [])
        .unwrap_or_else(|e| panic!("{e}"));
    let mut cfg = std::fs::read_to_string(o.path("duban.toml")).unwrap_or_default();
    cfg.push_str("\n[web]\npublic_url = \"https://duban.example.gov.cn/\"\n");
    o.write("duban.toml", &cfg);
    o.cmd()
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success();
    let bodies: Vec<String> = std::fs::read_dir(o.path("outbox"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read(e.path()).ok())
        .filter_map(|m| {
            let mail = mailparse::parse_mail(&m).ok()?;
            let mut texts = vec![mail.get_body().unwrap_or_default()];
            texts.extend(mail.subparts.iter().filter_map(|p| p.get_body().ok()));
            Some(texts.join("\n"))
        })
        .collect();
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("https://duban.example.gov.cn/tasks/T000001")),
        "{bodies:?}"
    );
}

#[test]
fn serve_runs_the_workbench_beside_the_scheduler() {
    let o = office();
    let runs = o.count("SELECT count(*) FROM runs");
    let w = Workbench::start_with(&o, NOW, "serve");
    let s = w.sign_in("u2", "correct horse 2");
    assert_eq!(w.get("/my", &s).status, 200);
    // The scheduler works too: the policy's rules are run at start.
    let start = std::time::Instant::now();
    while o.count("SELECT count(*) FROM runs") == runs {
        assert!(start.elapsed().as_secs() < 30, "serve ran no rule");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn the_office_retries_a_notice_and_reads_the_report() {
    let o = office();
    let id = o.count("SELECT max(id) FROM outbox");
    o.db()
        .execute(
            "UPDATE outbox SET status = 'failed', attempts = 8, last_error = 'refused' WHERE id = ?1",
            [id],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let w = Workbench::start(&o, NOW);
    let s = w.sign_in("u1", "correct horse 1");
    let page = w.get("/notices?status=failed", &s);
    assert!(page.body.contains("refused"), "{}", page.body);
    // A member may not retry.
    let member = w.sign_in("u2", "correct horse 2");
    let csrf = w.get("/my", &member).csrf();
    let a = w.post(&format!("/notices/{id}/retry"), &member, &[("csrf", &csrf)]);
    assert_eq!(a.status, 404);
    let a = w.post(
        &format!("/notices/{id}/retry"),
        &s,
        &[("csrf", &page.csrf())],
    );
    assert_eq!(a.status, 303, "{}", a.body);
    // Queued afresh and delivered by the workbench (file transport).
    let start = std::time::Instant::now();
    while o.count(&format!(
        "SELECT count(*) FROM outbox WHERE id = {id} AND status = 'sent'"
    )) == 0
    {
        assert!(
            start.elapsed().as_secs() < 20,
            "the retried notice was not sent"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let report = w.get("/report", &s);
    assert_eq!(report.status, 200);
    assert!(report.body.contains("整改进展通报") && report.body.contains("<svg"));
}

#[test]
fn a_sign_in_link_expires_after_15_minutes() {
    let o = office();
    let path = emailed_link(&o, &Workbench::start(&o, NOW), "u2");
    let later = Workbench::start(&o, "2026-06-02T10:16:00+08:00");
    assert_eq!(later.use_link(&path).status, 410);
    let soon = Workbench::start(&o, "2026-06-02T10:14:00+08:00");
    let used = soon.use_link(&path);
    assert_eq!(used.status, 303);
    assert!(used.cookie("duban_session").is_some());
}

/// The approver decides on 待审批 exactly as `duban approvals approve`
/// would; another member gets 404; a form without its token is refused;
/// the office sees the request but does not decide it.
#[test]
fn the_approver_approves_on_the_workbench_as_the_command_line_would() {
    let o = Office::fixture();
    o.policy(common::APPROVAL);
    let cfg = std::fs::read_to_string(o.path("duban.toml")).unwrap_or_default();
    o.write(
        "duban.toml",
        &format!("{cfg}\n[web]\npublic_url = \"https://duban.example.gov.cn\"\n"),
    );
    o.cmd()
        .env("DUBAN_NOW", "2026-06-01T09:00:00+08:00")
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success();
    add_user(&o, "u4", "member", "correct horse 4");
    add_user(&o, "u2", "member", "correct horse 2");
    add_user(&o, "u1", "office", "correct horse 1");
    let w = Workbench::start(&o, "2026-06-03T10:00:00+08:00");
    // The request's email links to its page.
    assert_eq!(
        o.count("SELECT count(*) FROM outbox WHERE body LIKE '%https://duban.example.gov.cn/approvals/A000001%'"),
        1
    );
    let approver = w.sign_in("u4", "correct horse 4");
    let list = w.get("/approvals", &approver);
    assert_eq!(list.status, 200);
    assert!(list.body.contains("A000001"), "{}", list.body);
    let page = w.get("/approvals/A000001", &approver);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("approve-form"), "{}", page.body);
    assert!(
        page.body.contains("（自批准之日起计）"),
        "the held task notice, its due to come"
    );
    // Another member: 404 for the page and the form.
    let other = w.sign_in("u2", "correct horse 2");
    assert_eq!(w.get("/approvals/A000001", &other).status, 404);
    assert!(!w.get("/approvals", &other).body.contains("A000001"));
    let csrf_other = w.get("/my", &other).csrf();
    assert_eq!(
        w.post(
            "/approvals/A000001/approve",
            &other,
            &[("csrf", &csrf_other)]
        )
        .status,
        404
    );
    // The office sees it, without the forms.
    let office = w.sign_in("u1", "correct horse 1");
    let seen = w.get("/approvals/A000001", &office);
    assert_eq!(seen.status, 200);
    assert!(!seen.body.contains("approve-form"));
    // No token: refused.
    assert_eq!(
        w.post("/approvals/A000001/approve", &approver, &[("note", "同意")])
            .status,
        403
    );
    assert_eq!(
        o.count("SELECT count(*) FROM approvals WHERE status = 'pending'"),
        1
    );
    // A rejection needs its reason.
    let r = w.post(
        "/approvals/A000001/reject",
        &approver,
        &[("csrf", &page.csrf()), ("reason", " ")],
    );
    assert_eq!(r.status, 422);
    // 问责 is a harsh step: the first press asks again, the second decides.
    let ask = w.post(
        "/approvals/A000001/approve",
        &approver,
        &[("csrf", &page.csrf()), ("note", "同意，按程序办理")],
    );
    assert_eq!(ask.status, 200, "{}", ask.body);
    assert!(ask.body.contains("id=\"confirm-form\""), "{}", ask.body);
    let a = w.post(
        "/approvals/A000001/approve",
        &approver,
        &[
            ("csrf", &page.csrf()),
            ("note", "同意，按程序办理"),
            ("confirmed", "1"),
        ],
    );
    assert_eq!(a.status, 303, "{}", a.body);
    let (status, via, by, note): (String, String, String, String) = o
        .db()
        .query_row(
            "SELECT status, via, decided_by, note FROM approvals WHERE id = 'A000001'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (status.as_str(), via.as_str(), by.as_str(), note.as_str()),
        ("approved", "workbench", "u4", "同意，按程序办理")
    );
    // The same result as the command line: the task open, due 10 days
    // from 06-03 (Saturday 06-13 → Monday 06-15), the two notices queued.
    assert_eq!(
        o.count("SELECT count(*) FROM tasks WHERE rule = 'accountability' AND status = 'open' AND due = '2026-06-15'"),
        1
    );
    assert_eq!(o.count("SELECT count(*) FROM held_notices"), 0);
    assert_eq!(o.count("SELECT count(*) FROM outbox"), 3);
    // Twice: refused on the page.
    let again = w.post(
        "/approvals/A000001/approve",
        &approver,
        &[("csrf", &page.csrf())],
    );
    assert_eq!(again.status, 422);
    assert!(again.body.contains("approved already"), "{}", again.body);
}

#[test]
fn recently_done_lists_the_latest_closed_first_and_a_task_just_closed() {
    let o = office();
    // Eleven tasks u2 closed in March, due long before T000001: by due date
    // they would fill the list.
    for n in 1..=11 {
        o.db()
            .execute(
                "INSERT INTO tasks (id, subject_type, subject_id, kind, status, target_id, assignee_id,
                                    due, created_on, done_on, outcome, closed_by, closed_at)
                 VALUES (?1, 'problem', 'p5', 'reminder_talk', 'done', 'u4', 'u2', ?2, '2026-01-01',
                         ?3, '已谈话', 'cli', ?4)",
                duban::params![
                    format!("D{n:02}"),
                    format!("2026-02-{n:02}"),
                    format!("2026-03-{n:02}"),
                    format!("2026-03-{n:02}T02:00:00Z")
                ],
            )
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let w = Workbench::start(&o, NOW);
    let s = w.sign_in("u2", "correct horse 2");
    let page = w.get("/tasks/T000001", &s);
    let a = w.post(
        "/tasks/T000001/done",
        &s,
        &[("outcome", "已谈话"), ("csrf", &page.csrf())],
    );
    assert_eq!(a.status, 303, "{}", a.body);
    let my = w.get("/my", &s);
    assert_eq!(my.status, 200, "{}", my.body);
    let done = my
        .body
        .split("最近办结")
        .nth(1)
        .unwrap_or_else(|| panic!("no recently done in {}", my.body));
    // A row links its id and its kind to the task.
    let mut shown: Vec<&str> = done
        .split("<a href=\"/tasks/")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    shown.dedup();
    let expected: Vec<String> = std::iter::once("T000001".to_string())
        .chain((3..=11).rev().map(|n| format!("D{n:02}")))
        .collect();
    assert_eq!(shown, expected, "{done}");
}

/// An approval about an inspection labels the inspection's own fields: its
/// round (轮次) and its report deadline (报告期限), not a problem's.
#[test]
fn an_inspections_approval_page_labels_the_inspections_fields() {
    let o = Office::fixture();
    o.policy(
        r#"
rule late_report "报告逾期 → 问责（须审批）"
  for inspection
  when days_since(report_due) >= 1
  then task accountability with organization.secretary by leader due 10 days
  approval by leader within 3 days
"#,
    );
    o.cmd()
        .args(["run", "--as-of", "2026-06-10"])
        .assert()
        .success();
    assert_eq!(
        o.count(
            "SELECT count(*) FROM approvals WHERE subject_type = 'inspection' AND subject_id = 'i1'"
        ),
        1
    );
    add_user(&o, "u4", "member", "correct horse 4");
    let w = Workbench::start(&o, "2026-06-10T10:00:00+08:00");
    let s = w.sign_in("u4", "correct horse 4");
    let page = w.get("/approvals/A000001", &s);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("<dt>轮次</dt><dd id=\"description\" class=\"data\">2025年第六轮巡察</dd>"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<dt>报告期限</dt><dd>2026-06-05</dd>"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("问题描述"), "{}", page.body);
    assert!(!page.body.contains("整改期限"), "{}", page.body);
}

/// 规则's 当前命中 is what holds now — dry-run's "holds for" — not the
/// episodes the last run left open.
#[test]
fn the_rules_page_counts_what_holds_now_as_dry_run_does() {
    let o = office();
    // p1 rectified since the run: its episode stays open until the next
    // run, but the rule no longer holds for it.
    o.db()
        .execute(
            "UPDATE problems SET status = 'rectified', rectified_on = '2026-06-02' WHERE id = 'p1'",
            [],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let dry = o.dry_run(&["--as-of", "2026-06-02"]);
    let w = Workbench::start(&o, NOW);
    let s = w.sign_in("u1", "correct horse 1");
    let page = w.get("/rules", &s);
    assert_eq!(page.status, 200, "{}", page.body);
    let rules = dry["rules"].as_array().cloned().unwrap_or_default();
    assert!(!rules.is_empty(), "{dry}");
    for r in rules {
        let name = r["rule"].as_str().unwrap_or_default();
        let cell = format!("id=\"holds-{name}\">");
        let at = page
            .body
            .find(&cell)
            .unwrap_or_else(|| panic!("no {cell} in {}", page.body));
        let shown: String = page.body[at + cell.len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        assert_eq!(shown, r["holds"].to_string(), "{name}: {dry}");
    }
    // The open episode is still there: the page did not count it.
    assert_eq!(
        o.count("SELECT count(*) FROM episodes WHERE rule = 'overdue_reminder' AND subject_id = 'p1' AND ended_at IS NULL"),
        1
    );
}

/// On PostgreSQL a page can wait on a lock another transaction holds
/// (here the organizations, locked whole); pages waiting so in every place
/// the workbench gives to pages do not hold up a member marking a task
/// done, nor the sign-in check before it: writes and session lookups have
/// lanes of their own.
#[test]
fn a_task_marked_done_does_not_queue_behind_pages_waiting_on_the_database() {
    if !common::on_postgres() {
        eprintln!(
            "skipped: pages wait on a lock only on PostgreSQL (DUBAN_TEST_DATABASE=postgres)"
        );
        return;
    }
    let o = office();
    let w = Workbench::start(&o, NOW);
    let office_s = w.sign_in("u1", "correct horse 1");
    let s = w.sign_in("u2", "correct horse 2");
    let csrf = w.get("/tasks/T000001", &s).csrf();
    let waiting = "SELECT count(*) FROM pg_locks
                   WHERE NOT granted AND relation = 'organizations'::regclass";
    let mut locker = o.db();
    let lock = locker.transaction().unwrap_or_else(|e| panic!("{e}"));
    lock.execute_batch("LOCK TABLE organizations IN ACCESS EXCLUSIVE MODE")
        .unwrap_or_else(|e| panic!("{e}"));
    std::thread::scope(|scope| {
        let pages: Vec<_> = (0..12)
            .map(|_| scope.spawn(|| w.get("/orgs/o1", &office_s).status))
            .collect();
        // Every place for pages taken by a page waiting on the lock.
        let start = std::time::Instant::now();
        while o.count(waiting) < 8 {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(60),
                "the pages did not reach the lock"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let (sent, answered) = std::sync::mpsc::channel();
        let (w, s, csrf) = (&w, &s, &csrf);
        scope.spawn(move || {
            let a = w.post(
                "/tasks/T000001/done",
                s,
                &[("outcome", "已谈话"), ("on", "2026-06-02"), ("csrf", csrf)],
            );
            let _ = sent.send(a.status);
        });
        let done = answered.recv_timeout(std::time::Duration::from_secs(60));
        // The pages were still waiting while the task was closed.
        let still = o.count(waiting);
        lock.rollback().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(done, Ok(303), "the mark-done waited behind the pages");
        assert!(still >= 8, "{still} pages waiting");
        for p in pages {
            assert_eq!(p.join().unwrap_or(0), 200);
        }
    });
    assert_eq!(
        o.count("SELECT count(*) FROM tasks WHERE id = 'T000001' AND status = 'done'"),
        1
    );
}
