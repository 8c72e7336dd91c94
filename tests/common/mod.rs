//! Helpers for tests that drive the `duban` binary the way a user does: an
//! office folder with its config, policy and database.
//!
//! The database is a SQLite file in the folder, or — with
//! `DUBAN_TEST_DATABASE=postgres` — a fresh PostgreSQL database of its own
//! on the server `DUBAN_TEST_POSTGRES` names, its URL written into the
//! office's duban.toml and dropped with the office: the same tests run
//! once on each database.
#![allow(dead_code)]

pub mod browser;
pub mod cases;
pub mod robot;
pub mod serve;
pub mod smtp;
pub mod web;

use assert_cmd::Command;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The escalation ladder: a reminder talk when 30 days overdue, an
/// admonishment talk 30 days after a reminder talk was held.
pub const LADDER: &str = r#"
rule overdue_reminder "逾期30天 → 提醒谈话"
  for problem
  when status != "rectified" and overdue_days >= 30 and not exists(tasks where kind = "reminder_talk")
  then task reminder_talk with responsible

rule escalate "提醒谈话后30天仍未整改 → 诫勉谈话"
  for problem
  when status != "rectified"
    and exists(tasks where kind = "reminder_talk" and status = "done" and days_since(done_on) >= 30)
  then task admonishment_talk with responsible by inspection.organization.discipline_officer due 10 days
"#;

/// A rule whose actions wait for approval: on the fixture office, p1 (61
/// days overdue on 2026-06-01) gets an accountability task for its
/// organization's secretary 张三 (u1), assigned to the discipline officer
/// 李四 (u2), and a notice to 张三 — once the inspection's leader 赵六 (u4)
/// approves.
pub const APPROVAL: &str = r#"
rule accountability "逾期30天 → 问责（须审批）"
  for problem
  when status != "rectified" and overdue_days >= 30
  then task accountability with inspection.organization.secretary by inspection.organization.discipline_officer due 10 days
  then notify inspection.organization.secretary
  approval by inspection.leader within 3 days
  repeat every 30 days
"#;

/// The binary, without colours.
pub fn duban() -> Command {
    let mut c = Command::cargo_bin("duban").unwrap_or_else(|e| panic!("{e}"));
    c.env("NO_COLOR", "1").env_remove("RUST_LOG");
    c
}

pub fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

/// The PostgreSQL server tests make their databases on, if there is one.
/// Without it the PostgreSQL half is skipped with one line saying so; in CI
/// (`CI` set) it is never skipped.
pub fn test_server(what: &str) -> Option<String> {
    match std::env::var("DUBAN_TEST_POSTGRES") {
        Ok(server) if !server.is_empty() => Some(server),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI runs the PostgreSQL half: set DUBAN_TEST_POSTGRES"
            );
            eprintln!("PostgreSQL half skipped ({what}): DUBAN_TEST_POSTGRES is not set");
            None
        }
    }
}

/// Whether test offices keep their cases in PostgreSQL
/// (`DUBAN_TEST_DATABASE=postgres`).
pub fn on_postgres() -> bool {
    std::env::var("DUBAN_TEST_DATABASE").is_ok_and(|v| v == "postgres")
}

/// A database of its own on the test server, dropped at the end.
pub struct ServerDb {
    server: String,
    pub name: String,
    pub url: String,
}

impl ServerDb {
    /// A new, empty database on `server`.
    pub fn new(server: &str, what: &str) -> ServerDb {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let name = format!(
            "duban_test_{}_{n}_{}_{nanos}",
            std::process::id(),
            what.to_lowercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        );
        let admin = duban::store::connect_postgres(server).unwrap_or_else(|e| panic!("{e}"));
        admin
            .execute_batch(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("{e}"));
        let url = match server.rfind('/') {
            Some(i) if server[..i].ends_with('/') => format!("{server}/{name}"),
            Some(i) => format!("{}/{name}", &server[..i]),
            None => format!("{server}/{name}"),
        };
        ServerDb {
            server: server.to_string(),
            name,
            url,
        }
    }

    /// A new, empty database on the test server, if there is one (see
    /// [`test_server`]).
    pub fn on_test_server(what: &str) -> Option<ServerDb> {
        test_server(what).map(|server| ServerDb::new(&server, what))
    }

    pub fn connect(&self) -> duban::store::Db {
        duban::store::connect_postgres(&self.url).unwrap_or_else(|e| panic!("{e}"))
    }

    /// One number a query gives.
    pub fn count(&self, sql: &str) -> i64 {
        self.connect()
            .query_row(sql, (), |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The first column of every row a query gives, as text.
    pub fn texts(&self, sql: &str) -> Vec<String> {
        texts(&self.connect(), sql)
    }

    /// A database for a test office, when offices are on PostgreSQL.
    fn for_office() -> Option<ServerDb> {
        if !on_postgres() {
            return None;
        }
        let server = std::env::var("DUBAN_TEST_POSTGRES").unwrap_or_else(|_| {
            panic!("DUBAN_TEST_DATABASE=postgres needs DUBAN_TEST_POSTGRES, the server")
        });
        Some(ServerDb::new(&server, "office"))
    }
}

impl Drop for ServerDb {
    fn drop(&mut self) {
        if let Ok(admin) = duban::store::connect_postgres(&self.server) {
            let _ = admin.execute_batch(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// An office folder in a temporary directory, and its database.
pub struct Office {
    pub dir: tempfile::TempDir,
    /// Its PostgreSQL database, when offices are on PostgreSQL.
    pub server: Option<ServerDb>,
}

impl Office {
    /// `duban init` in a fresh folder, with an empty policy folder.
    pub fn empty() -> Office {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let server = ServerDb::for_office();
        let mut init = duban();
        init.arg("init").arg(dir.path());
        if let Some(s) = &server {
            init.args(["--database", &s.url]);
        }
        init.assert().success();
        let office = Office { dir, server };
        std::fs::remove_dir_all(office.path("rules")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir(office.path("rules")).unwrap_or_else(|e| panic!("{e}"));
        office
    }

    /// The office's database as duban.toml names it: the file or the URL.
    pub fn location(&self) -> duban::store::Location {
        match &self.server {
            Some(s) => duban::store::Location::parse(&s.url, self.dir.path(), None, "test")
                .unwrap_or_else(|e| panic!("{e}")),
            None => duban::store::Location::file(self.path("duban.db")),
        }
    }

    /// The small office of `tests/fixtures/office`, imported. Its problem
    /// p4 then loses its deadline: a record from before an import required
    /// one, which the missing-value cases need.
    pub fn fixture() -> Office {
        let o = Office::empty();
        o.cmd()
            .arg("import")
            .arg(fixture("office"))
            .assert()
            .success();
        o.db()
            .execute("UPDATE problems SET deadline = NULL WHERE id = 'p4'", [])
            .unwrap_or_else(|e| panic!("{e}"));
        o
    }

    /// The fixture office under the escalation ladder, run on 2026-06-01:
    /// one open reminder talk, T000001, for p1 (61 days overdue). The
    /// fixture's own tasks are dropped so that the ladder starts from the
    /// bottom.
    pub fn ladder() -> Office {
        let o = Office::fixture();
        o.policy(LADDER);
        o.db()
            .execute("DELETE FROM tasks", [])
            .unwrap_or_else(|e| panic!("{e}"));
        o.cmd()
            .args(["run", "--as-of", "2026-06-01"])
            .assert()
            .success();
        o
    }

    /// A generated demo office.
    pub fn demo(scale: u64, as_of: &str) -> Office {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let office_dir = dir.path().join("office");
        let server = ServerDb::for_office();
        let mut demo = duban();
        demo.arg("demo");
        if let Some(s) = &server {
            demo.args(["--database", &s.url]);
        }
        demo.args([
            "--scale",
            &scale.to_string(),
            "--seed",
            "7",
            "--as-of",
            as_of,
            "--no-run",
            "--dir",
        ])
        .arg(&office_dir)
        .assert()
        .success();
        // Keep the office as the temp dir's content.
        let office = Office { dir, server };
        for entry in std::fs::read_dir(&office_dir).unwrap_or_else(|e| panic!("{e}")) {
            let entry = entry.unwrap_or_else(|e| panic!("{e}"));
            std::fs::rename(
                entry.path(),
                office.path(&entry.file_name().to_string_lossy()),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        }
        // The demo serves its workbench on 127.0.0.1:8080; tests run offices
        // side by side, so the workbench is left to `common::web`.
        let cfg = office.path("duban.toml");
        let text = std::fs::read_to_string(&cfg).unwrap_or_else(|e| panic!("{e}"));
        let without_web = text.split("\n[web]\n").next().unwrap_or(&text).to_string();
        assert_ne!(without_web, text, "the demo configures [web]");
        std::fs::write(&cfg, without_web).unwrap_or_else(|e| panic!("{e}"));
        office
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The binary, run in the office folder.
    pub fn cmd(&self) -> Command {
        let mut c = duban();
        c.current_dir(self.dir.path());
        c
    }

    /// Writes a file of the office. A duban.toml written on an office
    /// kept in PostgreSQL names its database.
    pub fn write(&self, rel: &str, text: &str) {
        let text = match (&self.server, rel) {
            (Some(s), "duban.toml") => with_database(text, &s.url),
            _ => text.to_string(),
        };
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(p, text).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Replaces the office's policy with one file.
    pub fn policy(&self, text: &str) {
        let _ = std::fs::remove_dir_all(self.path("rules"));
        self.write("rules/policy.rules", text);
    }

    /// The office's database, through the store (either database).
    pub fn db(&self) -> duban::store::Db {
        duban::store::open(&self.location()).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.db()
            .query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Every row of every table, in a stable order: equal dumps mean equal
    /// content.
    pub fn dump(&self) -> String {
        let db = self.db();
        let list = match db.dialect() {
            duban::store::Dialect::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            }
            duban::store::Dialect::Postgres => {
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1"
            }
        };
        let mut tables: Vec<String> = {
            let mut s = db.prepare(list).unwrap_or_else(|e| panic!("{e}"));
            s.query_map([], |r| r.get(0))
                .and_then(|r| r.collect())
                .unwrap_or_else(|e| panic!("{e}"))
        };
        tables.sort();
        let mut out = String::new();
        for t in tables {
            let mut s = db
                .prepare(&format!("SELECT * FROM {t} ORDER BY 1"))
                .unwrap_or_else(|e| panic!("{e}"));
            let n = s.column_count();
            let rows: Vec<String> = s
                .query_map([], |r| {
                    let cells: Vec<String> = (0..n)
                        .map(|i| format!("{:?}", r.get::<_, duban::store::Value>(i).ok()))
                        .collect();
                    Ok(cells.join("|"))
                })
                .and_then(|r| r.collect())
                .unwrap_or_else(|e| panic!("{e}"));
            out.push_str(&format!("== {t}\n{}\n", rows.join("\n")));
        }
        out
    }

    /// `dry-run --format json` parsed.
    pub fn dry_run(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["dry-run"];
        all.extend_from_slice(args);
        self.json(&all)
    }

    /// A command run with `--format json`, which must succeed, its output
    /// parsed.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self
            .cmd()
            .args(args)
            .args(["--format", "json"])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
    }
}

/// `text` (a duban.toml) with `database` set to `url`.
pub fn with_database(text: &str, url: &str) -> String {
    let line = format!("database = \"{url}\"");
    let mut found = false;
    let mut out: Vec<String> = text
        .lines()
        .map(|l| {
            // The default file, written or not, is the office's database.
            let l_ = l.trim_start().replace(' ', "");
            if !found && l_ == "database=\"duban.db\"" {
                found = true;
                line.clone()
            } else {
                l.to_string()
            }
        })
        .collect();
    if !found && !text.lines().any(|l| l.trim_start().starts_with("database")) {
        out.insert(0, line);
    }
    out.join("\n") + "\n"
}

/// (rule, subject) of every action of a dry-run or diff list.
/// `got` is `expected`; else a panic naming `what` and a few of the lines
/// missing and extra.
pub fn same_lines(got: &[String], expected: &[String], what: &str) {
    if got != expected {
        let (g, e): (BTreeSet<_>, BTreeSet<_>) = (got.iter().collect(), expected.iter().collect());
        let missing: Vec<_> = e.difference(&g).take(5).collect();
        let extra: Vec<_> = g.difference(&e).take(5).collect();
        panic!(
            "{what}{} lines, expected {}; missing {missing:?}; extra {extra:?}",
            got.len(),
            expected.len()
        );
    }
}

pub fn firings(actions: &serde_json::Value) -> BTreeSet<(String, String)> {
    actions
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    (
                        x["rule"].as_str().unwrap_or("").to_string(),
                        x["subject"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The subjects a rule fired for.
pub fn subjects_of(actions: &serde_json::Value, rule: &str) -> BTreeSet<String> {
    firings(actions)
        .into_iter()
        .filter(|(r, _)| r == rule)
        .map(|(_, s)| s)
        .collect()
}

pub fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The demo office (scale 2, seed 11, around `today`) generated into `db`
/// in one transaction.
pub fn demo_office(db: &mut duban::store::Db, today: &str) {
    let opts = duban::demo::Options {
        scale: 2,
        seed: 11,
        today: chrono::NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap_or_default(),
    };
    let tx = db.transaction().unwrap_or_else(|e| panic!("{e}"));
    duban::demo::generate(&opts, &mut duban::demo::DbSink::new(&tx))
        .unwrap_or_else(|e| panic!("{e}"));
    tx.commit().unwrap_or_else(|e| panic!("{e}"));
}

/// The first column of every row a query on `db` gives, as text.
pub fn texts(db: &duban::store::Db, sql: &str) -> Vec<String> {
    let mut stmt = db.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    stmt.query_map((), |r| r.get::<_, String>(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .map(|r| r.unwrap_or_else(|e| panic!("{sql}: {e}")))
        .collect()
}
