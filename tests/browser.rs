//! The workbench in a real headless Chromium: a member signs in and closes
//! their task, and the escalation ladder sees it; the office filters
//! overdue tasks and sees the dashboard. Screenshots of the main pages go
//! to target/screenshots/.

mod common;

use common::Office;
use common::browser::Browser;
use common::web::{Workbench, add_user};

fn sign_in(b: &Browser, w: &Workbench, who: &str, password: &str) {
    b.forget_cookies();
    b.goto(&w.url("/sign-in"));
    b.type_into("#who", who);
    b.type_into("#password", password);
    b.click("#sign-in-button");
    // The sign-in posts, waits for the password hash and redirects: go on
    // only once the browser has left the sign-in page (with its session).
    b.wait_for_url(|u| !u.contains("/sign-in"));
}

#[test]
fn a_member_closes_a_task_and_the_office_watches() {
    let o = Office::ladder();
    o.db()
        .execute_batch(
            "UPDATE problems SET description = '<script>document.title=\"pwned\"</script>小金库未清理' WHERE id = 'p1';
             INSERT INTO tasks (id, subject_type, subject_id, kind, status, target_id, assignee_id, due, created_on)
             VALUES ('X1', 'problem', 'p5', 'reminder_talk', 'open', 'u4', 'u4', '2026-05-20', '2026-05-01');",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    add_user(&o, "u2", "member", "correct horse 2");
    add_user(&o, "u1", "admin", "correct horse 1");
    let w = Workbench::start(&o, "2026-06-02T10:00:00+08:00");
    let b = Browser::start();

    // Before the talk is recorded, the ladder would not escalate.
    let before = o.dry_run(&["--as-of", "2026-07-03", "--rule", "escalate"]);
    assert_eq!(before["actions"].as_array().map(|a| a.len()), Some(0));

    // The member signs in and lands on 我的任务.
    sign_in(&b, &w, "lisi@example.org", "correct horse 2");
    assert!(b.url().ends_with("/my"), "{}", b.url());
    assert_eq!(b.text("h1"), "我的任务");
    assert!(b.text("table.list").contains("提醒谈话"));
    b.screenshot("my-tasks");

    // The task page shows the ledger's text as text.
    b.follow("a[href='/tasks/T000001']");
    assert!(
        b.text("#description")
            .contains("<script>document.title=\"pwned\"</script>小金库未清理")
    );
    assert_eq!(b.count("main script"), 0);
    b.screenshot("task");
    b.type_into("#outcome-input", "已开展提醒谈话，责任人承诺月底前整改到位");
    b.follow("#done-button");
    assert!(b.text("#message").contains("任务已办结"));
    assert!(b.text("#outcome").contains("承诺月底前整改到位"));

    // Another person's task is not there for them.
    b.goto(&w.url("/tasks/X1"));
    assert!(b.text("main").contains("未找到此页面"));

    // Now the ladder escalates 30 days after the talk.
    o.cmd()
        .args(["run", "--as-of", "2026-07-03"])
        .assert()
        .success();
    assert_eq!(
        o.count("SELECT count(*) FROM tasks WHERE rule = 'escalate' AND subject_id = 'p1' AND kind = 'admonishment_talk'"),
        1
    );

    // The office: overdue tasks only, the dashboard and its chart, English.
    sign_in(&b, &w, "u1", "correct horse 1");
    b.goto(&w.url("/tasks"));
    b.click("#overdue-only");
    b.follow("#filter-button");
    b.wait_for_url(|u| u.contains("overdue=1"));
    let rows = b.text("table.list tbody");
    assert!(rows.contains("X1") && !rows.contains("T000001"), "{rows}");
    assert_eq!(b.text("#total"), "1");
    b.screenshot("tasks-overdue");
    b.goto(&w.url("/orgs"));
    assert_eq!(b.count("#chart svg"), 1);
    assert!(b.text("#chart").contains("各组织整改率"));
    b.screenshot("organizations");
    b.goto(&w.url("/rules?rule=overdue_reminder&subject=p1"));
    // Explained in words: each part, its value, whether it held.
    let explained = b.text("#explained");
    assert!(
        explained.contains("逾期") && explained.contains("成立"),
        "{explained}"
    );
    assert!(
        !explained.contains("overdue_days") && !explained.contains("HOLDS"),
        "{explained}"
    );
    b.screenshot("rules");
    b.goto(&w.url("/status"));
    // A page in words, not the command line's text.
    assert!(b.text("#waits").contains("待办任务"));
    assert!(!b.text("main").contains("duban "), "{}", b.text("main"));
    b.screenshot("status");
    b.goto(&w.url("/report"));
    assert!(b.text("h1").contains("整改进展通报"), "{}", b.text("h1"));
    assert_eq!(b.count("figure svg"), 1);
    b.screenshot("report-workbench");
    b.goto(&w.url("/lang/en"));
    b.goto(&w.url("/my"));
    assert_eq!(b.text("h1"), "My tasks");

    // On a phone, the list is still readable.
    b.goto(&w.url("/lang/zh"));
    b.resize(390, 844);
    b.goto(&w.url("/tasks"));
    b.screenshot("tasks-phone");
}

/// The approver opens 待审批 on a phone, reads the request — the facts, the
/// task and the notice that would go out — and approves it; the task opens
/// and the held notices are sent.
#[test]
fn the_approver_decides_on_a_phone() {
    let o = Office::fixture();
    o.policy(
        r#"
rule accountability "逾期30天 → 问责（须审批）"
  for problem
  when status != "rectified" and overdue_days >= 30
  then task accountability with inspection.organization.secretary by inspection.organization.discipline_officer due 10 days
  then notify inspection.organization.secretary
  审批 由 巡察.组长 期限 3 天
"#,
    );
    o.cmd()
        .env("DUBAN_NOW", "2026-06-01T09:00:00+08:00")
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success();
    add_user(&o, "u4", "member", "correct horse 4");
    let w = Workbench::start(&o, "2026-06-03T10:00:00+08:00");
    let b = Browser::start();
    b.resize(390, 844);
    sign_in(&b, &w, "zhaoliu@example.org", "correct horse 4");
    b.goto(&w.url("/approvals"));
    assert_eq!(b.text("h1"), "待审批");
    assert!(b.text("#approvals").contains("A000001"));
    b.screenshot("approvals-phone");
    b.follow("a[href='/approvals/A000001']");
    assert!(b.text("#approval-tasks").contains("问责"));
    assert!(b.text("#description").contains("三会一课落实不严格"));
    assert!(b.text("main").contains("（自批准之日起计）"));
    b.screenshot("approval-phone");
    b.type_into("#note-input", "同意，按程序办理");
    b.follow("#approve-button");
    // 问责 is a harsh step: the page asks once more, nothing decided yet.
    assert_eq!(b.text("h1"), "请再次确认");
    assert!(b.text("#confirm-tasks").contains("问责"));
    assert_eq!(
        o.count("SELECT count(*) FROM approvals WHERE status = 'pending'"),
        1
    );
    b.screenshot("approval-confirm-phone");
    b.follow("#confirm-button");
    assert!(b.text("#message").contains("已作出决定"));
    assert!(b.text("#status").contains("已批准"));
    assert!(b.text("#note").contains("同意，按程序办理"));
    assert_eq!(
        o.count("SELECT count(*) FROM tasks WHERE rule = 'accountability' AND status = 'open'"),
        1
    );
    assert_eq!(o.count("SELECT count(*) FROM outbox"), 3);
}

/// The monthly report (SPEC §10) as the page an office sends round: opened
/// from the file in the browser, its table lowest rate first with totals,
/// its chart drawn; on a phone the table scrolls inside the page.
#[test]
fn the_report_page_renders() {
    let o = Office::fixture();
    o.cmd()
        .args(["report", "--as-of", "2026-06-01", "--to", "2026-06.html"])
        .assert()
        .success();
    let b = Browser::start();
    b.goto(&format!("file://{}", o.path("2026-06.html").display()));
    assert_eq!(b.text("h1"), "整改进展通报（截至 2026-06-01）");
    let heads = b.text("table thead");
    for h in ["组织", "问题数", "整改率", "上期整改率", "逾期", "提醒谈话"] {
        assert!(heads.contains(h), "{h} not in {heads}");
    }
    // 市教育局 (25.0%) before 市财政局 (50.0%), then the totals.
    assert_eq!(b.count("table tbody tr"), 2);
    let first = b.text("table tbody tr:nth-child(1)");
    let second = b.text("table tbody tr:nth-child(2)");
    assert!(
        first.starts_with("市教育局") && first.contains("25.0%"),
        "{first}"
    );
    assert!(
        second.starts_with("市财政局") && second.contains("50.0%"),
        "{second}"
    );
    assert!(b.text("table tfoot").starts_with("合计"));
    // The chart: one SVG, its title and a bar per organization.
    assert_eq!(b.count("figure svg"), 1);
    let chart = b.text("figure");
    assert!(
        chart.contains("各单位整改率") && chart.contains("市教育局") && chart.contains("市财政局"),
        "{chart}"
    );
    b.screenshot("report");
    b.resize(390, 844);
    b.goto(&format!("file://{}", o.path("2026-06.html").display()));
    assert_eq!(b.count("div.scroll table"), 1);
    b.screenshot("report-phone");
}

/// Signing in in a browser as an attacker would have it go: a wrong
/// password is an error with the id kept; a return address to another
/// host leads home; the emailed link shows whose it is and signs in only
/// by its button.
#[test]
fn sign_in_stays_on_the_workbench_and_links_need_their_button() {
    let o = Office::ladder();
    add_user(&o, "u2", "member", "correct horse 2");
    let w = Workbench::start(&o, "2026-06-02T10:00:00+08:00");
    let b = Browser::start();
    b.goto(&w.url("/sign-in"));
    b.type_into("#who", "u2");
    b.type_into("#password", "not the password");
    b.follow("#sign-in-button");
    assert!(b.text("#error").contains("不正确"));
    assert_eq!(b.count("#message"), 0);
    assert_eq!(b.count("#who[value='u2']"), 1);

    // `next` pointing elsewhere (`/\evil.example`): the browser stays.
    b.goto(&w.url("/sign-in?next=%2F%5Cevil.example%2F"));
    b.type_into("#who", "u2");
    b.type_into("#password", "correct horse 2");
    b.click("#sign-in-button");
    b.wait_for_url(|u| !u.contains("/sign-in"));
    assert!(b.url().starts_with(&w.url("/")), "{}", b.url());

    // The link by email.
    b.forget_cookies();
    b.goto(&w.url("/sign-in"));
    b.click("details summary");
    b.type_into("details input[name='who']", "lisi@example.org");
    b.follow("details button");
    assert!(b.text("#message").contains("登录链接"));
    let start = std::time::Instant::now();
    let link = loop {
        let found = std::fs::read_dir(o.path("outbox"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read(e.path()).ok())
            .filter_map(|m| mailparse::parse_mail(&m).ok()?.get_body().ok())
            .find_map(|body| {
                body.split_whitespace()
                    .find(|w| w.contains("/sign-in/link/"))
                    .map(str::to_string)
            });
        if let Some(l) = found {
            break l;
        }
        assert!(start.elapsed().as_secs() < 20, "no sign-in email");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    b.goto(&link);
    assert_eq!(b.text("#link-name"), "李四");
    assert_eq!(
        o.count("SELECT count(*) FROM sessions WHERE person_id = 'u2'"),
        1
    );
    b.screenshot("sign-in-link");
    b.follow("#use-link");
    b.wait_for_url(|u| !u.contains("/sign-in"));
    assert_eq!(b.text("h1"), "我的任务");
    assert_eq!(
        o.count("SELECT count(*) FROM sessions WHERE person_id = 'u2'"),
        2
    );
}
