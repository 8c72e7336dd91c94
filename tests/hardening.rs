//! Hardening (issue 22), through the binary: files with people's data are
//! the office user's alone whatever the umask; deep and long policies are
//! refused with a diagnostic instead of taking duban down, and whatever
//! `check` accepts runs; a bad sender address fails `check` and `status`;
//! a notice whose deliverer was killed is delivered by the next process
//! at once, and counts as sent only once its file and folder are synced
//! (watched with strace); chat robot addresses may come from the
//! environment.

mod common;
use common::Office;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// `duban ARGS` with umask 000, in `dir`.
fn with_open_umask(dir: &Path, args: &str) -> std::process::Output {
    let bin = assert_cmd::cargo::cargo_bin("duban");
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("umask 000; exec '{}' {args}", bin.display()))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn files_with_personal_data_are_private_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = with_open_umask(dir.path(), "init office");
    assert!(out.status.success(), "{out:?}");
    let office = dir.path().join("office");
    assert_eq!(mode(&office), 0o700);
    for f in ["duban.toml", "duban.db", "calendar.toml"] {
        assert_eq!(mode(&office.join(f)), 0o600, "{f}");
    }
    let out = with_open_umask(
        &office,
        &format!("import '{}'", common::fixture("office").display()),
    );
    assert!(out.status.success(), "{out:?}");
    std::fs::write(
        office.join("rules/policy.rules"),
        "rule r \"逾期\"\n  for problem\n  when overdue_days >= 30\n  then notify inspection.organization.secretary\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = with_open_umask(&office, "run --as-of 2026-06-01");
    assert!(out.status.success(), "{out:?}");
    let outbox = office.join("outbox");
    assert_eq!(mode(&outbox), 0o700);
    let emls: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(!emls.is_empty());
    for e in &emls {
        assert_eq!(mode(e), 0o600, "{}", e.display());
    }
    for (args, made) in [
        ("export --to ledgers.xlsx", "ledgers.xlsx"),
        ("export --to csv", "csv"),
        ("report --as-of 2026-06-01 --to report.html", "report.html"),
        ("report --as-of 2026-06-01 --to report.xlsx", "report.xlsx"),
    ] {
        let out = with_open_umask(&office, args);
        assert!(out.status.success(), "{args}: {out:?}");
        let path = office.join(made);
        if path.is_dir() {
            assert_eq!(mode(&path), 0o700, "{made}");
            for f in std::fs::read_dir(&path)
                .unwrap_or_else(|e| panic!("{e}"))
                .flatten()
            {
                assert_eq!(mode(&f.path()), 0o600, "{}", f.path().display());
            }
        } else {
            assert_eq!(mode(&path), 0o600, "{made}");
        }
    }
}

#[test]
fn status_warns_when_others_can_read_the_database_or_the_outbox() {
    let office = Office::fixture();
    office.policy(
        "rule r \"逾期\"\n  for problem\n  when overdue_days >= 30\n  then notify inspection.organization.secretary\n",
    );
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success();
    office
        .cmd()
        .arg("status")
        .assert()
        .success()
        .stdout(contains("other users").not());
    // On PostgreSQL there is no database file to read: the outbox alone.
    let on_file = !common::on_postgres();
    let opened: &[&str] = if on_file {
        &["duban.db", "outbox"]
    } else {
        &["outbox"]
    };
    for p in opened {
        std::fs::set_permissions(office.path(p), std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    for f in std::fs::read_dir(office.path("outbox"))
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(0o644))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let status = office
        .cmd()
        .arg("status")
        .assert()
        .success()
        .stdout(contains("other users of this machine can read the notices"));
    if on_file {
        status.stdout(contains(
            "other users of this machine can read the database",
        ));
    }
}

fn rule(when: &str) -> String {
    format!(
        "rule deep \"深\"\n  for problem\n  when {when}\n  then notify inspection.organization.secretary\n"
    )
}

/// `duban check` of `policy` in the office: its exit code and what it
/// printed.
fn check(office: &Office, policy: &str) -> (Option<i32>, String) {
    office.policy(policy);
    let out = office
        .cmd()
        .arg("check")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn deep_and_long_policies_are_refused_with_a_diagnostic_not_a_crash() {
    let office = Office::fixture();
    let cases = [
        format!(
            "{}overdue_days > 1{}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        ),
        vec!["overdue_days > 1"; 5_000].join(" and "),
        vec!["overdue_days > 1"; 2_000].join(" and "),
        format!("overdue_days{} > 1", " + 1".repeat(10_000)),
        format!("{}overdue_days > 1", "not ".repeat(10_000)),
        format!(
            "overdue_days in [{}1{}]",
            "[".repeat(5_000),
            "]".repeat(5_000)
        ),
        format!("{}1{} > 1", "count(".repeat(3_000), ")".repeat(3_000)),
    ];
    for when in &cases {
        let (code, text) = check(&office, &rule(when));
        assert_eq!(code, Some(1), "{}: {text}", &when[..40]);
        assert!(text.contains("E003"), "{}: {text}", &when[..40]);
        // run refuses the same way, before touching anything.
        office
            .cmd()
            .args(["run", "--as-of", "2026-06-01"])
            .assert()
            .code(1)
            .stderr(contains("E003"));
    }
    // Defines that double at each step: small to write, huge written out.
    let mut defines = String::from("define problem.d0 = overdue_days\n");
    for i in 1..40 {
        defines.push_str(&format!("define problem.d{i} = d{} + d{}\n", i - 1, i - 1));
    }
    office.policy(&format!("{defines}{}", rule("d39 > 1")));
    office
        .cmd()
        .arg("check")
        .assert()
        .code(1)
        .stdout(contains("E003"))
        .stdout(contains("written out"));
}

#[test]
fn what_check_accepts_at_the_limits_runs() {
    let office = Office::fixture();
    let chain = vec!["overdue_days > 1"; 256].join(" and ");
    let nested = format!("{}overdue_days > 1{}", "(".repeat(32), ")".repeat(32));
    let sum = format!("overdue_days{} > 1", " + 1".repeat(255));
    // Defines stacked up to just under the depth limit, few parts.
    let mut defines = String::new();
    let mut prev = "overdue_days".to_string();
    for i in 0..9 {
        let terms = format!("{prev}{}", " + 1".repeat(29));
        defines.push_str(&format!("define problem.s{i} = {terms}\n"));
        prev = format!("s{i}");
    }
    for when in [chain, nested, sum, format!("{prev} > 1")] {
        let (code, text) = check(&office, &format!("{defines}{}", rule(&when)));
        if code == Some(1) {
            // Refused: it must say so with the limit's code.
            assert!(text.contains("E003"), "{text}");
            continue;
        }
        assert_eq!(code, Some(0), "{text}");
        office
            .cmd()
            .args(["dry-run", "--as-of", "2026-06-01"])
            .assert()
            .success();
    }
}

#[test]
fn a_bad_sender_address_fails_check_and_status() {
    let office = Office::fixture();
    let cfg = std::fs::read_to_string(office.path("duban.toml")).unwrap_or_else(|e| panic!("{e}"));
    let bad = cfg.replace(
        "from = \"巡察办督办 <duban@example.org>\"",
        "from = \"not an address\"",
    );
    assert_ne!(bad, cfg);
    office.write("duban.toml", &bad);
    for cmd in ["check", "status"] {
        office
            .cmd()
            .arg(cmd)
            .assert()
            .code(1)
            .stderr(contains("mail.from").and(contains("not an email address")));
    }
}

#[test]
fn a_notice_whose_deliverer_was_killed_is_delivered_by_the_next_process_at_once() {
    // A mail server that takes connections and never answers: the deliverer
    // claims a notice, then waits for the greeting.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("{e}"))
        .port();
    let _held = std::thread::spawn(move || {
        let mut open = Vec::new();
        for s in listener.incoming() {
            open.push(s);
        }
    });
    let office = Office::fixture();
    office.policy(
        "rule r \"逾期\"\n  for problem\n  when overdue_days >= 30\n  then notify inspection.organization.secretary\n",
    );
    let file_cfg =
        std::fs::read_to_string(office.path("duban.toml")).unwrap_or_else(|e| panic!("{e}"));
    office.write(
        "duban.toml",
        &format!(
            "[mail]\ntransport = \"smtp\"\nfrom = \"督办 <duban@example.org>\"\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\ntimeout_s = 600\n"
        ),
    );
    let bin = assert_cmd::cargo::cargo_bin("duban");
    let mut child = std::process::Command::new(bin)
        .args(["run", "--as-of", "2026-06-01"])
        .current_dir(office.dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // Wait until a notice is claimed (the run then waits on the server).
    let claimed = loop {
        let n = office
            .db()
            .query_row(
                "SELECT count(*) FROM outbox WHERE status = 'sending'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap_or(0);
        if n > 0 {
            break n;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the run ended before claiming a notice: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(claimed, 1);
    child.kill().unwrap_or_else(|e| panic!("{e}"));
    let _ = child.wait();
    let queued = office.count("SELECT count(*) FROM outbox");
    // The next process, with the file transport, delivers every notice now,
    // the orphaned one included — not after the claim's time ran out.
    office.write("duban.toml", &file_cfg);
    office.cmd().args(["notices", "retry"]).assert().success();
    assert_eq!(
        office.count("SELECT count(*) FROM outbox WHERE status = 'sent'"),
        queued
    );
    let files = std::fs::read_dir(office.path("outbox"))
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .count() as i64;
    assert_eq!(files, queued);
}

#[test]
fn a_chat_robot_address_may_come_from_the_environment() {
    let robot = common::robot::Robot::start("SECunused");
    let office = Office::fixture();
    office.write(
        "duban.toml",
        "[[channel]]\nname = \"office\"\ntype = \"wecom\"\nurl_env = \"DUBAN_TEST_ROBOT_URL\"\n",
    );
    office.policy(
        "rule r \"逾期\"\n  for problem\n  when overdue_days >= 30\n  then notify channel office\n",
    );
    office
        .cmd()
        .env("DUBAN_TEST_ROBOT_URL", robot.url("/wecom"))
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success();
    assert!(!robot.accepted("/wecom").is_empty());
    assert_eq!(
        office.count("SELECT count(*) FROM outbox WHERE status = 'sent'"),
        office.count("SELECT count(*) FROM outbox")
    );
    // Not both, and not neither.
    office.write(
        "duban.toml",
        "[[channel]]\nname = \"office\"\ntype = \"wecom\"\nurl = \"http://127.0.0.1:9/x\"\nurl_env = \"X\"\n",
    );
    office
        .cmd()
        .arg("status")
        .assert()
        .code(1)
        .stderr(contains("not both"));
    office.write(
        "duban.toml",
        "[[channel]]\nname = \"office\"\ntype = \"wecom\"\n",
    );
    office
        .cmd()
        .arg("status")
        .assert()
        .code(1)
        .stderr(contains("url_env"));
}

/// A sheet 问题 with a header and one row, saved; `extra` adds to it.
fn workbook(path: &Path, extra: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheet = wb
        .add_worksheet()
        .set_name("问题")
        .unwrap_or_else(|e| panic!("{e}"));
    for (c, h) in ["id", "status"].iter().enumerate() {
        sheet
            .write_string(0, c as u16, *h)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    sheet
        .write_string(1, 0, "p1")
        .unwrap_or_else(|e| panic!("{e}"));
    sheet
        .write_string(1, 1, "open")
        .unwrap_or_else(|e| panic!("{e}"));
    extra(sheet);
    wb.save(path).unwrap_or_else(|e| panic!("{e}"));
}

/// The import fails whole with a message naming the file, exits 1 (not an
/// abort) and changes nothing.
fn refused(office: &Office, file: &str, said: &str) {
    let before = office.dump();
    let out = office
        .cmd()
        .args(["import", file])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{file}: {out:?}");
    assert!(err.contains(said), "{file}: {err}");
    assert!(err.len() < 10_000, "{file}: {} bytes on stderr", err.len());
    assert_eq!(office.dump(), before, "{file}");
}

#[test]
fn workbooks_beyond_a_ledger_are_refused_before_they_take_memory() {
    let office = Office::fixture();
    std::fs::create_dir_all(office.path("in")).unwrap_or_else(|e| panic!("{e}"));
    // One cell at the sheet's last row and column.
    workbook(&office.path("in/corner.xlsx"), |s| {
        s.write_string(1_048_575, 16_383, "x")
            .map(|_| ())
            .unwrap_or_else(|e| panic!("{e}"));
    });
    refused(
        &office,
        "in/corner.xlsx",
        "corner.xlsx[问题]:1048576: a value in column 16384",
    );
    // A far row within the columns: the table would span a million rows.
    workbook(&office.path("in/far.xlsx"), |s| {
        for c in 0..10 {
            s.write_string(1_048_575, c, "x")
                .map(|_| ())
                .unwrap_or_else(|e| panic!("{e}"));
        }
    });
    refused(
        &office,
        "in/far.xlsx",
        "far.xlsx[问题]: the sheet spans rows 1 to 1048576",
    );
    // A small file whose text unpacks to 150 MB.
    workbook(&office.path("in/small.xlsx"), |_| {});
    let packed = std::fs::read(office.path("in/small.xlsx")).unwrap_or_else(|e| panic!("{e}"));
    let mut from =
        zip::ZipArchive::new(std::io::Cursor::new(packed)).unwrap_or_else(|e| panic!("{e}"));
    let out = std::fs::File::create(office.path("in/bomb.xlsx")).unwrap_or_else(|e| panic!("{e}"));
    let mut to = zip::ZipWriter::new(out);
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for i in 0..from.len() {
        let part = from.by_index(i).unwrap_or_else(|e| panic!("{e}"));
        let name = part
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        drop(part);
        if name == "xl/sharedStrings.xml" {
            use std::io::Write;
            to.start_file(name.as_str(), deflated)
                .unwrap_or_else(|e| panic!("{e}"));
            to.write_all(b"<?xml version=\"1.0\"?><sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" count=\"2\" uniqueCount=\"2\"><si><t>")
                .unwrap_or_else(|e| panic!("{e}"));
            let chunk = vec![b'a'; 1 << 20];
            for _ in 0..150 {
                to.write_all(&chunk).unwrap_or_else(|e| panic!("{e}"));
            }
            to.write_all(b"</t></si><si><t>open</t></si></sst>")
                .unwrap_or_else(|e| panic!("{e}"));
        } else {
            let part = from.by_index(i).unwrap_or_else(|e| panic!("{e}"));
            to.raw_copy_file(part).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    to.finish().unwrap_or_else(|e| panic!("{e}"));
    refused(
        &office,
        "in/bomb.xlsx",
        "bomb.xlsx: its text cells hold 150 MB unpacked",
    );
    // An Excel 97–2003 file is named for what it is.
    std::fs::write(
        office.path("in/old.xls"),
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    refused(&office, "in/old.xls", "save it as .xlsx");
    // A header of a million columns, in CSV: one error, not a million warnings.
    let header: Vec<String> = std::iter::once("id".to_string())
        .chain((0..1_000_000).map(|i| format!("c{i}")))
        .collect();
    office.write("wide/problems.csv", &format!("{}\np1\n", header.join(",")));
    refused(&office, "wide", "the header has 1000001 columns");
}

/// One system call of an `strace -f -y` log: its name and its text.
struct Call {
    name: String,
    text: String,
}

/// The calls of `strace -f -y -o LOG`, in order; a call split around
/// another thread's (`<unfinished ...>`) counts where it began.
fn calls(log: &str) -> Vec<Call> {
    log.lines()
        .filter_map(|line| {
            // "PID name(args) = result", or "PID <... name resumed> …".
            let rest = line.split_once(' ').map(|(_, r)| r.trim_start())?;
            if rest.starts_with("<...") || rest.starts_with("+++") || rest.starts_with("---") {
                return None;
            }
            let name = rest.split('(').next()?.to_string();
            Some(Call {
                name,
                text: rest.to_string(),
            })
        })
        .collect()
}

#[test]
fn a_notice_counts_as_sent_only_once_its_file_and_folder_are_synced() {
    // strace is part of what the tests need (.ci/run installs it).
    let office = Office::fixture();
    office.policy(
        "rule r \"逾期\"\n  for problem\n  when overdue_days >= 30\n  then notify inspection.organization.secretary\n",
    );
    let log = office.path("strace.log");
    let bin = assert_cmd::cargo::cargo_bin("duban");
    let out = std::process::Command::new("strace")
        .args(["-f", "-y", "-qq", "-s", "300", "-o"])
        .arg(&log)
        .args([
            "-e",
            "trace=openat,fsync,fdatasync,rename,renameat,renameat2",
        ])
        .arg(&bin)
        .args(["run", "--as-of", "2026-06-01"])
        .current_dir(office.dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("strace (Debian package strace) is needed: {e}"));
    assert!(out.status.success(), "{out:?}");
    let sent = office.count("SELECT count(*) FROM outbox WHERE status = 'sent'");
    assert!(sent > 0, "nothing was sent");
    let canonical = |p: &Path| {
        p.canonicalize()
            .unwrap_or_else(|e| panic!("{e}"))
            .display()
            .to_string()
    };
    let office_dir = canonical(office.dir.path());
    let outbox = canonical(&office.path("outbox"));
    let calls = calls(&std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{e}")));
    let is_sync = |c: &Call| c.name == "fsync" || c.name == "fdatasync";
    // A commit: the write-ahead log synced.
    let commit = |c: &Call| is_sync(c) && c.text.contains("duban.db-wal>");
    let mut files = 0;
    for (at, c) in calls.iter().enumerate() {
        // Each notice's file: written under a temporary name…
        if !(c.name == "openat" && c.text.contains(".eml.tmp\"")) {
            continue;
        }
        files += 1;
        // As the program named it (perhaps relative), and its file name.
        let named = c.text.split('"').nth(1).unwrap_or_default();
        let temp = match named.starts_with('/') {
            true => named.to_string(),
            false => format!("{}/{named}", office_dir),
        };
        let name = named.rsplit('/').next().unwrap_or_default().to_string();
        let after = |from: usize, what: &dyn Fn(&Call) -> bool| {
            calls[from..]
                .iter()
                .position(what)
                .map(|k| from + k)
                .unwrap_or_else(|| panic!("after {temp}: not found"))
        };
        // …synced, renamed into place, the folder synced…
        let synced = after(at, &|c| is_sync(c) && c.text.contains(&format!("{temp}>")));
        let renamed = after(synced, &|c| {
            c.name.starts_with("rename") && c.text.contains(&name)
        });
        let folder = after(renamed, &|c| {
            is_sync(c) && c.text.contains(&format!("<{outbox}>"))
        });
        // …and only then the commit that counts it sent; none in between
        // (a commit seen as the SQLite file's log synced: PostgreSQL
        // commits in its server, out of sight here).
        if !common::on_postgres() {
            assert!(
                !calls[at..folder].iter().any(commit),
                "a commit between writing {temp} and syncing its folder"
            );
            after(folder, &commit);
        }
    }
    assert_eq!(files, sent, "one file written per notice sent");
}

/// A condition of generated depth and width, near the language's limits
/// on either side: brackets, a chain of `and`/`or`, a sum, `not`s, a long
/// list, and defines stacked on each other.
#[derive(Debug, Clone)]
struct Shape {
    parens: usize,
    terms: usize,
    plus: usize,
    nots: usize,
    list: usize,
    stacked: usize,
    width: usize,
}

impl Shape {
    fn policy(&self) -> String {
        let mut defines = String::new();
        let mut prev = "overdue_days".to_string();
        for i in 0..self.stacked {
            defines.push_str(&format!(
                "define problem.s{i} = {prev}{}\n",
                " + 1".repeat(self.width)
            ));
            prev = format!("s{i}");
        }
        let chain: Vec<String> = (0..self.terms).map(|i| format!("{prev} > {i}")).collect();
        let list: Vec<String> = (0..self.list).map(|i| i.to_string()).collect();
        let when = format!(
            "{}{}({}) or overdue_days{} > 1 or overdue_days in [{}]{}",
            "not ".repeat(self.nots),
            "(".repeat(self.parens),
            chain.join(if self.terms.is_multiple_of(2) {
                " and "
            } else {
                " or "
            }),
            " + 1".repeat(self.plus),
            if list.is_empty() {
                "1".to_string()
            } else {
                list.join(", ")
            },
            ")".repeat(self.parens),
        );
        format!("{defines}{}", rule(&when))
    }
}

/// What a shape must get from `check`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Accepted,
    Refused,
    Either,
}

#[test]
fn whatever_check_accepts_dry_run_runs() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let office = Office::fixture();
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(24);
    type Ranges = (
        std::ops::Range<usize>,
        std::ops::Range<usize>,
        std::ops::Range<usize>,
        std::ops::Range<usize>,
        std::ops::Range<usize>,
        std::ops::Range<usize>,
        std::ops::Range<usize>,
    );
    let shapes = |(parens, terms, plus, nots, list, stacked, width): Ranges| {
        ((parens, terms, plus), (nots, list, stacked, width)).prop_map(
            |((parens, terms, plus), (nots, list, stacked, width))| Shape {
                parens,
                terms,
                plus,
                nots,
                list,
                stacked,
                width,
            },
        )
    };
    // Three regions, so that both sides of the limits are tried whatever
    // the random seed: well within every limit (at most 31 brackets deep
    // with the list's, 16 terms, a sum of 101, 15 `not`s, defines of at
    // most 4 × 8 parts: never 300 levels nor 4096 parts) — check must
    // accept; brackets nested 33 deep or more — check must refuse; and
    // anywhere around the limits, where either answer is fine as long as
    // an accepted policy runs.
    let regions = [
        (
            Expect::Accepted,
            (0..30, 1..16, 0..100, 0..16, 0..400, 0..4, 1..8),
        ),
        (
            Expect::Refused,
            (32..40, 1..160, 0..280, 0..40, 0..400, 0..12, 1..40),
        ),
        (
            Expect::Either,
            (0..40, 1..160, 0..280, 0..40, 0..400, 0..12, 1..40),
        ),
    ];
    for (expect, ranges) in regions {
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&shapes(ranges), |shape| {
            let (code, text) = check(&office, &shape.policy());
            match code {
                Some(0) => {
                    prop_assert!(
                        expect != Expect::Refused,
                        "check accepted {shape:?}, beyond the limits"
                    );
                    let run = office
                        .cmd()
                        .args(["dry-run", "--as-of", "2026-06-01"])
                        .output()
                        .unwrap_or_else(|e| panic!("{e}"));
                    prop_assert!(
                        run.status.success(),
                        "check accepted {shape:?} but dry-run failed: {}",
                        String::from_utf8_lossy(&run.stderr)
                    );
                }
                Some(1) => {
                    prop_assert!(
                        expect != Expect::Accepted,
                        "check refused {shape:?}, within the limits: {text}"
                    );
                    // Refused with a diagnostic at a line and column.
                    prop_assert!(text.contains("E003"), "{shape:?}: {text}");
                    prop_assert!(text.contains("policy.rules:"), "{shape:?}: {text}");
                }
                other => prop_assert!(false, "{shape:?}: check ended with {other:?}: {text}"),
            }
            Ok(())
        });
        result.unwrap_or_else(|e| panic!("{expect:?}: {e}"));
    }
}
