//! Every page of the workbench in a real headless Chromium, as a member,
//! an inspection group's leader, the office and an admin, on a desktop
//! and on a 390 px phone: in Chinese no English word outside names, ids
//! and the language switch; in English no Chinese outside names and the
//! ledger's own text; never a page that scrolls sideways. Screenshots of
//! each page go to target/screenshots/sweep-*.png.

mod common;

use common::Office;
use common::browser::Browser;
use common::web::{Workbench, add_user};

const AS_OF: &str = "2026-12-03";
const PASSWORD: &str = "correct horse battery";

/// Run in the page: the words of one language that show in the other,
/// and the page's and the window's widths. Text inside `.code` (a rule's
/// code, the policy's hash), `.lang` (the language switch) and `.data`
/// (names and the ledger's text, as the office wrote them) is the
/// office's own; ids (T000206, U0000028) and email addresses are ids.
const SCAN: &str = r#"
const mode = document.documentElement.lang === 'en' ? 'en' : 'zh';
const foreign = mode === 'zh' ? /[A-Za-z]{2,}/g : /[\u3400-\u9fff]+/g;
const clean = t => t
  .replace(/[\w.+-]+@[\w-]+(\.[\w-]+)+/g, ' ')
  .replace(/\b[A-Z]{1,3}\d{2,}(-\d+)?\b/g, ' ');
const skip = el => el.closest('.code, .lang, .data, style, script, title');
// In English the page's own words: navigation, headings, column heads,
// field labels, buttons, notes (the rest is the office's data).
const own = 'nav, h1, h2, th, dt, label, button, summary, .pager, p.muted, p.ok, p.error';
const found = [];
const look = (text, where) => {
  for (const w of clean(text).match(foreign) || []) found.push(w + ' ← ' + where.trim().slice(0, 90));
};
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  const n = walker.currentNode;
  const p = n.parentElement;
  if (!p || skip(p) || (mode === 'en' && !p.closest(own))) continue;
  look(n.textContent, n.textContent);
}
for (const el of document.querySelectorAll('[data-label], [title], [placeholder], option')) {
  if (skip(el)) continue;
  if (el.tagName === 'OPTION') { look(el.textContent, 'option ' + el.textContent); continue; }
  for (const a of ['data-label', 'title', 'placeholder']) {
    const v = el.getAttribute(a);
    if (v) look(v, a + '=' + v);
  }
}
if (mode === 'zh') look(document.title, 'title: ' + document.title);
return {found, page: document.documentElement.scrollWidth, window: window.innerWidth};
"#;

struct Sweep<'a> {
    b: &'a Browser,
    w: &'a Workbench,
    problems: Vec<String>,
}

impl Sweep<'_> {
    /// Visits `path` and notes what is wrong with it; a screenshot as `name`.
    fn visit(&mut self, path: &str, name: &str) {
        self.b.goto(&self.w.url(path));
        let v = self.b.script(SCAN);
        let found: Vec<String> = v["found"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        for f in found {
            self.problems.push(format!("{path} ({name}): {f}"));
        }
        let (page, window) = (v["page"].as_i64(), v["window"].as_i64());
        if page > window {
            self.problems.push(format!(
                "{path} ({name}): the page is {page:?} px wide in a {window:?} px window"
            ));
        }
        self.b.screenshot(&format!("sweep-{name}"));
    }

    /// `pages` on a desktop, then on a phone; `role` names the screenshots.
    fn both(&mut self, role: &str, pages: &[(&str, &str)]) {
        self.b.resize(1280, 900);
        for (path, name) in pages {
            self.visit(path, &format!("{role}-{name}"));
        }
        self.b.resize(390, 844);
        for (path, name) in pages {
            self.visit(path, &format!("{role}-{name}-phone"));
        }
        self.b.resize(1280, 900);
    }
}

fn sign_in(b: &Browser, w: &Workbench, who: &str) {
    b.forget_cookies();
    b.goto(&w.url("/sign-in"));
    b.type_into("#who", who);
    b.type_into("#password", PASSWORD);
    b.click("#sign-in-button");
    b.wait_for_url(|u| !u.contains("/sign-in"));
}

fn one(o: &Office, sql: &str) -> String {
    o.db()
        .query_row(sql, [], |r| r.get::<_, String>(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[test]
fn every_page_reads_in_one_language_and_fits_a_phone() {
    let o = Office::demo(1, AS_OF);
    o.cmd().args(["run", "--as-of", AS_OF]).assert().success();
    // The demo office's people with an account each: the busiest assignee
    // (member), the leader asked to approve a request, the office's staff
    // member and its director.
    let member = one(
        &o,
        "SELECT assignee_id FROM tasks WHERE status = 'open' GROUP BY assignee_id ORDER BY count(*) DESC, assignee_id LIMIT 1",
    );
    let approval = one(
        &o,
        "SELECT id FROM approvals WHERE status = 'pending' ORDER BY id LIMIT 1",
    );
    let leader = one(
        &o,
        &format!("SELECT approver_id FROM approvals WHERE id = '{approval}'"),
    );
    let staff = one(&o, "SELECT id FROM persons WHERE title = '巡察办副主任'");
    let director = one(&o, "SELECT id FROM persons WHERE title = '巡察办主任'");
    add_user(&o, &member, "member", PASSWORD);
    add_user(&o, &leader, "member", PASSWORD);
    add_user(&o, &staff, "office", PASSWORD);
    add_user(&o, &director, "admin", PASSWORD);
    let my_task = one(
        &o,
        &format!(
            "SELECT id FROM tasks WHERE assignee_id = '{member}' AND status = 'open' ORDER BY due LIMIT 1"
        ),
    );
    let org = one(
        &o,
        "SELECT organization_id FROM inspections ORDER BY id LIMIT 1",
    );
    let inspection = one(
        &o,
        &format!("SELECT id FROM inspections WHERE organization_id = '{org}' ORDER BY id LIMIT 1"),
    );
    let problem = one(
        &o,
        "SELECT p.id FROM problems p JOIN tasks t ON t.subject_id = p.id WHERE t.rule = 'overdue_reminder' ORDER BY p.id LIMIT 1",
    );

    let w = Workbench::start(&o, "2026-12-03T10:00:00+08:00");
    let b = Browser::start();
    let mut s = Sweep {
        b: &b,
        w: &w,
        problems: Vec::new(),
    };

    b.forget_cookies();
    s.both(
        "visitor",
        &[("/sign-in", "sign-in"), ("/no-such-page", "not-found")],
    );

    sign_in(&b, &w, &member);
    let task = format!("/tasks/{my_task}");
    s.both(
        "member",
        &[
            ("/my", "my"),
            (&task, "task"),
            ("/approvals?all=1", "approvals"),
        ],
    );

    // 我的任务 opens with the counts; a phone shows four tasks or more.
    b.resize(390, 844);
    b.goto(&w.url("/my"));
    for id in ["#count-open", "#count-overdue", "#count-week"] {
        assert_eq!(b.count(id), 1, "{id}");
    }
    let open: i64 = o.count(&format!(
        "SELECT count(*) FROM tasks WHERE assignee_id = '{member}' AND status = 'open'"
    ));
    assert!(open >= 4, "the member has {open} open tasks");
    assert!(
        b.text("#count-open").starts_with(&open.to_string()),
        "{}",
        b.text("#count-open")
    );
    let fit = b.script(
        "const rows = [...document.querySelectorAll('table.tasks tbody tr')].slice(0, 8);
         return {tallest: Math.max(...rows.map(r => r.getBoundingClientRect().height)), screen: window.innerHeight};",
    );
    let (tallest, screen) = (
        fit["tallest"].as_f64().unwrap_or(f64::MAX),
        fit["screen"].as_f64().unwrap_or(0.0),
    );
    assert!(
        tallest * 4.0 <= screen,
        "a task is {tallest} px tall on a {screen} px screen"
    );
    b.screenshot("sweep-member-my-four-phone");
    b.resize(1280, 900);

    sign_in(&b, &w, &leader);
    let request = format!("/approvals/{approval}");
    s.both(
        "leader",
        &[
            ("/my", "my"),
            ("/approvals", "approvals"),
            (&request, "approval"),
        ],
    );

    sign_in(&b, &w, &staff);
    let org_page = format!("/orgs/{org}");
    let inspection_page = format!("/inspections/{inspection}");
    let explained = format!("/rules?rule=overdue_reminder&subject={problem}");
    let office: Vec<(&str, &str)> = vec![
        ("/orgs", "orgs"),
        (&org_page, "org"),
        (&inspection_page, "inspection"),
        ("/tasks", "tasks"),
        ("/tasks?overdue=1", "tasks-overdue"),
        (&task, "task"),
        ("/notices", "notices"),
        ("/rules", "rules"),
        (&explained, "explain"),
        ("/status", "status"),
        ("/report", "report"),
        ("/approvals?all=1", "approvals"),
        (&request, "approval"),
    ];
    s.both("office", &office);

    sign_in(&b, &w, &director);
    s.both("admin", &[("/accounts", "accounts")]);

    // The same pages in English, on a desktop.
    b.goto(&w.url("/lang/en"));
    for (path, name) in office.iter().chain([("/accounts", "accounts")].iter()) {
        s.visit(path, &format!("admin-{name}-en"));
    }
    sign_in(&b, &w, &member);
    b.goto(&w.url("/lang/en"));
    for (path, name) in [("/my", "my"), (task.as_str(), "task")] {
        s.visit(path, &format!("member-{name}-en"));
    }
    sign_in(&b, &w, &leader);
    b.goto(&w.url("/lang/en"));
    s.visit(&request, "leader-approval-en");

    assert!(
        s.problems.is_empty(),
        "{} problems:\n{}",
        s.problems.len(),
        s.problems.join("\n")
    );
}
