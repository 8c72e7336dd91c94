//! What officials read (SPEC §15): every notice the demo's run writes —
//! email subjects and bodies, the .ics entries — in an official's words,
//! and each task notice's link opening that task's page on the demo's
//! workbench.

mod common;

use common::Office;
use common::web::Workbench;

/// A notice of the outbox: its subject, its body and its calendar entry.
struct Notice {
    file: String,
    to: String,
    subject: String,
    body: String,
    ics: Option<String>,
}

fn notices(o: &Office) -> Vec<Notice> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(o.path("outbox")).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
        let mail = mailparse::parse_mail(&raw).unwrap_or_else(|e| panic!("{e}"));
        let header = |name: &str| {
            mail.headers
                .iter()
                .find(|h| h.get_key().eq_ignore_ascii_case(name))
                .map(|h| h.get_value())
                .unwrap_or_default()
        };
        let (mut body, mut ics) = (String::new(), None);
        let parts = if mail.subparts.is_empty() {
            vec![&mail]
        } else {
            mail.subparts.iter().collect()
        };
        for p in parts {
            let text = p.get_body().unwrap_or_else(|e| panic!("{e}"));
            if p.ctype.mimetype == "text/calendar" {
                ics = Some(text);
            } else {
                body.push_str(&text);
            }
        }
        out.push(Notice {
            file: path.display().to_string(),
            to: header("To"),
            subject: header("Subject"),
            body,
            ics,
        });
    }
    out.sort_by(|a, b| a.file.cmp(&b.file));
    out
}

/// What must never reach an official, with why; `english`: the office
/// writes its notices in English, where the workbench is a word.
fn engineer_text(text: &str, english: bool) -> Option<String> {
    const FRAGMENTS: &[&str] = &[
        "duban ",
        "exists(",
        "rate(",
        "count(",
        "sum(",
        "days_since",
        "days_until",
        " where ",
        "status =",
        "kind =",
        "rectification_rate",
        "rectification_supervision",
        "reminder_talk",
        "overdue_days",
        "written_self_criticism",
        "workbench",
        "queued",
        "\u{E000}",
        "（截止 （",
        "批准之日起计",
        "rule HOLDS",
    ];
    if let Some(f) = FRAGMENTS
        .iter()
        .filter(|f| !(english && **f == "workbench"))
        .find(|f| text.contains(*f))
    {
        return Some(format!("`{f}`"));
    }
    // A record id (a person U0000028, a problem P00000379, an inspection
    // I0000016, an organization O000001 — outside a link and a calendar
    // entry's UID) or a share with more than one decimal (0.5938).
    let read: String = text
        .lines()
        .filter(|l| !l.starts_with("UID:"))
        .collect::<Vec<_>>()
        .join("\n");
    let text = read.as_str();
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        let digits_after = |from: usize| {
            chars[from..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count()
        };
        if c.is_ascii_uppercase()
            && digits_after(i + 1) >= 5
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '/'))
        {
            let id: String = chars[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            return Some(format!("a record id ({id})"));
        }
        if *c == '.'
            && i > 0
            && chars[i - 1].is_ascii_digit()
            && digits_after(i + 1) >= 2
            && !text[..text.char_indices().nth(i).map(|(b, _)| b).unwrap_or(0)].ends_with("127.0.0")
            && !is_in_address(&chars, i)
        {
            return Some("a number with more than one decimal".into());
        }
    }
    // A greeting without a name.
    if text.lines().any(|l| {
        let l = l.trim();
        l.starts_with("同志") && (l.ends_with('：') || l.ends_with(':'))
    }) {
        return Some("a greeting without a name".into());
    }
    None
}

/// Whether the character at `i` stands in a web address (`127.0.0.1`).
fn is_in_address(chars: &[char], i: usize) -> bool {
    let start = chars[..i]
        .iter()
        .rposition(|c| c.is_whitespace())
        .map(|p| p + 1)
        .unwrap_or(0);
    let word: String = chars[start..=i].iter().collect();
    word.starts_with("http")
}

#[test]
fn every_notice_of_the_demo_reads_as_words_and_links_to_its_task() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let port = common::smtp::free_port();
    let listen = format!("127.0.0.1:{port}");
    let out = common::duban()
        .args([
            "demo",
            "--seed",
            "7",
            "--as-of",
            "2026-12-01",
            "--listen",
            &listen,
            "--dir",
        ])
        .arg(dir.path())
        .assert()
        .success();
    let printed = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let o = Office { dir, server: None };
    let all = notices(&o);
    assert!(all.len() > 50, "the demo's run wrote {} notices", all.len());

    let base = format!("http://{listen}");
    let mut task_links = Vec::new();
    let mut greeted_by_name = 0;
    for n in &all {
        for (what, text) in [
            ("subject", n.subject.as_str()),
            ("body", n.body.as_str()),
            ("ics", n.ics.as_deref().unwrap_or("")),
        ] {
            if let Some(why) = engineer_text(text, false) {
                panic!("{} ({what}) has {why}:\n{}\n{text}", n.file, n.subject);
            }
        }
        // One person: greeted by their name (from the To header).
        let first_line = n.body.lines().next().unwrap_or("").trim().to_string();
        if !n.to.contains(',')
            && let Some(name) = n.to.split(" <").next().filter(|s| !s.contains('@'))
        {
            assert!(
                first_line.starts_with(name.trim_matches('"')),
                "{}: to {} greets `{first_line}`",
                n.file,
                n.to
            );
            greeted_by_name += 1;
        }
        // Several: greeted together, by no one's name.
        if n.to.contains(',') {
            assert_eq!(first_line, "各位同志：", "{}: to {}", n.file, n.to);
        }
        if let Some(ics) = &n.ics {
            let start = ics
                .lines()
                .find_map(|l| l.strip_prefix("DTSTART;VALUE=DATE:"))
                .unwrap_or_else(|| panic!("{ics}"));
            let end = ics
                .lines()
                .find_map(|l| l.strip_prefix("DTEND;VALUE=DATE:"))
                .unwrap_or_else(|| panic!("{ics}"));
            let day = |s: &str| {
                chrono::NaiveDate::parse_from_str(s.trim(), "%Y%m%d")
                    .unwrap_or_else(|e| panic!("{s}: {e}"))
            };
            assert_eq!(day(end), day(start) + chrono::Days::new(1), "{ics}");
            let link = n
                .body
                .lines()
                .find(|l| l.starts_with(&format!("{base}/tasks/")))
                .unwrap_or_else(|| panic!("{}: a task notice without a link:\n{}", n.file, n.body));
            // What the task is about, as the notice says it.
            let about = n
                .body
                .lines()
                .find_map(|l| l.trim().strip_prefix("事由："))
                .unwrap_or_else(|| panic!("{}: a task notice without 事由:\n{}", n.file, n.body));
            task_links.push((link.trim().to_string(), about.to_string()));
        }
        if n.subject.contains("待审批") {
            assert!(
                n.body.contains(&format!("{base}/approvals/A")),
                "{}",
                n.body
            );
        }
    }
    assert!(greeted_by_name > 20, "{greeted_by_name} greeted by name");
    assert!(task_links.len() > 20, "{} task links", task_links.len());
    // The example policy's overdue notice goes to the responsible person
    // and the secretary: one notice each, each greeted by name.
    let overdue: Vec<&Notice> = all
        .iter()
        .filter(|n| n.subject.contains("问题整改已逾期"))
        .collect();
    assert!(!overdue.is_empty());
    assert!(overdue.iter().all(|n| !n.to.contains(',')));
    // A fact with its threshold, written from the rule.
    assert!(
        all.iter()
            .any(|n| n.body.contains("（规则：低于 70%）") && n.body.contains("整改率 ")),
        "no 整改率 with its threshold"
    );
    assert!(all.iter().any(|n| n.body.contains("（规则：满 30 天）")));

    // Each task link, signed in, opens that task's page.
    let admin = printed
        .split("sign in as ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("{printed}"))
        .to_string();
    let w = Workbench::start_as_configured(&o, "2026-12-01T10:00:00+08:00", port);
    let session = w.sign_in(&admin, "duban-demo");
    // Every third link, and the first about each kind of subject (the
    // notice's words come from the firing's query, the page's from the
    // case tables: the two must agree).
    let mut kinds_seen = Vec::new();
    for (k, (link, said)) in task_links.iter().enumerate() {
        let kind = ["问题“", "的巡察", ""]
            .into_iter()
            .find(|w| said.contains(w))
            .unwrap_or("");
        if k % 3 != 0 && kinds_seen.contains(&kind) {
            continue;
        }
        if !kinds_seen.contains(&kind) {
            kinds_seen.push(kind);
        }
        let path = link.strip_prefix(&base).unwrap_or(link);
        let id = path.rsplit('/').next().unwrap_or("");
        let page = w.get(path, &session);
        assert_eq!(page.status, 200, "{link}");
        assert!(page.body.contains(id), "{link}: {}", page.body);
        assert!(
            page.body.contains("<form"),
            "{link}: no form to record the result"
        );
        // What the task is about, in words, not by its record id.
        let about = page
            .body
            .split("对象事项</dt>")
            .nth(1)
            .and_then(|s| s.split("</dd>").next())
            .unwrap_or_else(|| panic!("{link}: no subject on the page"));
        assert_eq!(engineer_text(about, false), None, "{link}: {about}");
        let shown = about
            .rsplit('>')
            .next()
            .unwrap_or(about)
            .trim()
            .replace("&amp;", "&")
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&#x2f;", "/")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
        assert_eq!(
            shown, *said,
            "{link}: the notice and the page name its subject apart"
        );
    }
    // Problems, inspections and organizations: each named in its words.
    assert_eq!(
        kinds_seen.len(),
        3,
        "task notices about {kinds_seen:?} only"
    );
}

/// An office that writes its notices in English (`language = "en"`), with
/// the example policy's English templates (examples/templates-en.rules)
/// and its rules named in English: every notice of the demo's run has no
/// Chinese but the ledger's own words (names, descriptions, rounds), no
/// code and no command, and task notices still link to their task.
#[test]
fn every_notice_of_the_demo_in_english_mode_reads_as_english_words() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let listen = format!("127.0.0.1:{}", common::smtp::free_port());
    common::duban()
        .args(["demo", "--seed", "7", "--as-of", "2026-12-01", "--no-run"])
        .args(["--listen", &listen, "--dir"])
        .arg(dir.path())
        .assert()
        .success();
    let o = Office { dir, server: None };
    let cfg = std::fs::read_to_string(o.path("duban.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(cfg.contains("\nlanguage = \"zh\"\n"), "{cfg}");
    o.write(
        "duban.toml",
        &cfg.replace("\nlanguage = \"zh\"\n", "\nlanguage = \"en\"\n"),
    );
    let policy =
        std::fs::read_to_string(o.path("rules/00-policy.rules")).unwrap_or_else(|e| panic!("{e}"));
    let english = std::fs::read_to_string(common::fixture("../../examples/templates-en.rules"))
        .unwrap_or_else(|e| panic!("{e}"));
    let (rules, _) = policy
        .split_once("\ntemplate ")
        .unwrap_or_else(|| panic!("no templates in {policy}"));
    o.write("rules/00-policy.rules", &format!("{rules}\n{english}"));
    std::fs::remove_file(o.path("rules/40-chinese.rules")).unwrap_or_else(|e| panic!("{e}"));
    o.cmd()
        .args(["run", "--as-of", "2026-12-01"])
        .assert()
        .success();

    // The ledger's own words, longest first.
    let mut ledger: Vec<String> = Vec::new();
    for sql in [
        "SELECT name FROM persons",
        "SELECT name FROM organizations",
        "SELECT name FROM rounds",
        "SELECT description FROM problems WHERE description IS NOT NULL",
    ] {
        let db = o.db();
        let mut stmt = db.prepare(sql).unwrap_or_else(|e| panic!("{e}"));
        let words: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .and_then(|r| r.collect())
            .unwrap_or_else(|e| panic!("{e}"));
        ledger.extend(words);
    }
    ledger.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
    let all = notices(&o);
    assert!(all.len() > 50, "the run wrote {} notices", all.len());
    let mut linked = 0;
    for n in &all {
        let ics = n.ics.as_deref().unwrap_or("").replace("\r\n ", "");
        for (what, text) in [
            ("subject", n.subject.as_str()),
            ("body", n.body.as_str()),
            ("ics", ics.as_str()),
        ] {
            if let Some(why) = engineer_text(text, true) {
                panic!("{} ({what}) has {why}:\n{text}", n.file);
            }
            let mut rest = text.replace("\\,", ",").replace("\\;", ";");
            for w in &ledger {
                rest = rest.replace(w.as_str(), "");
            }
            let han: String = rest
                .chars()
                .filter(|c| {
                    ('\u{3400}'..='\u{9FFF}').contains(c) || "：，。（）【】、".contains(*c)
                })
                .collect();
            assert!(han.is_empty(), "{} ({what}) has `{han}`:\n{text}", n.file);
        }
        if n.ics.is_some() {
            assert!(
                n.body.contains(&format!("http://{listen}/tasks/T")),
                "{}",
                n.body
            );
            linked += 1;
        }
    }
    assert!(linked > 20, "{linked} task notices");
    assert!(all.iter().any(|n| n.body.starts_with("Dear ")));
    assert!(all.iter().any(|n| n.body.contains("rectification rate")));
}
