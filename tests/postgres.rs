//! PostgreSQL beside SQLite, at the store: duban's tables made on a real
//! server from the one schema, and the example policy's compiled SQL run
//! on both databases over the same demo office, giving the same rows.
//!
//! The server is `DUBAN_TEST_POSTGRES` (a URL whose user may create
//! databases); each test makes its own database and drops it. Without the
//! variable the PostgreSQL half is skipped with one line saying so; in CI
//! (`CI` set) it is never skipped.

use duban::calendar::Calendar;
use duban::compile::compile_policy;
use duban::lang::check::check;
use duban::lang::diagnostics::SourceMap;
use duban::lang::ir::Policy;
use duban::store::workdays::Workdays;
use duban::store::{Db, Dialect, Value};

mod common;

const TODAY: &str = "2026-06-01";

fn example_policy() -> Policy {
    let mut sources = SourceMap::default();
    for (name, text) in duban::example::POLICY {
        sources.add(*name, *text);
    }
    let checked = check(sources);
    checked
        .policy
        .unwrap_or_else(|| panic!("{:?}", checked.diagnostics))
}

/// A value as both databases must give it: numbers to nine places, days
/// and text as text, truth values as 0 or 1.
fn cell(v: Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Integer(n) => format!("{:.9}", n as f64),
        Value::Real(x) => format!("{x:.9}"),
        Value::Text(t) => t,
        Value::Date(d) => d.to_string(),
        Value::Timestamp(t) => t.to_rfc3339(),
        Value::Blob(b) => format!("{b:?}"),
    }
}

/// Every rule's rows (sorted) on `db`, its SQL compiled for its dialect.
fn rows_of_every_rule(db: &Db, policy: &Policy) -> Vec<(String, Vec<Vec<String>>)> {
    duban::store::workdays::ensure(db, &Workdays::new(&Calendar::builtin()))
        .unwrap_or_else(|e| panic!("{e}"));
    compile_policy(policy, db.dialect())
        .into_iter()
        .map(|c| {
            let mut params = vec![Value::Text(TODAY.into())];
            params.extend(c.params.iter().cloned());
            let mut stmt = db
                .prepare(&c.sql)
                .unwrap_or_else(|e| panic!("{}: {e}\n{}", c.rule, c.sql));
            let width = stmt.column_count();
            let mut rows: Vec<Vec<String>> = stmt
                .query_map(&params, |r| {
                    (0..width).map(|i| r.get::<_, Value>(i).map(cell)).collect()
                })
                .and_then(|rows| rows.collect())
                .unwrap_or_else(|e| panic!("{}: {e}\n{}", c.rule, c.sql));
            rows.sort();
            (c.rule, rows)
        })
        .collect()
}

/// The compiled SQL of the example policy, for each database, as a
/// reviewer reads it: rule, SQL, parameters.
#[test]
fn the_example_policy_compiles_for_both_databases() {
    let policy = example_policy();
    for d in [Dialect::Sqlite, Dialect::Postgres] {
        let text: String = compile_policy(&policy, d)
            .iter()
            .map(|c| {
                format!(
                    "-- {}\n{};\n-- parameters ?2…: {:?}\n\n",
                    c.rule, c.sql, c.params
                )
            })
            .collect();
        insta::assert_snapshot!(format!("compiled-{}", d.name().to_lowercase()), text);
    }
}

#[test]
fn the_schema_is_made_on_postgresql_and_not_twice() {
    let Some(pg) = common::ServerDb::on_test_server("schema") else {
        return;
    };
    let db = duban::store::create_postgres(&pg.url).unwrap_or_else(|e| panic!("{e}"));
    let tables: Vec<String> = db
        .prepare(
            "SELECT table_name FROM information_schema.tables
             WHERE table_schema = current_schema() ORDER BY table_name",
        )
        .and_then(|mut s| s.query_map((), |r| r.get(0))?.collect())
        .unwrap_or_else(|e| panic!("{e}"));
    // Every table the SQLite migrations make is there, and the calendar.
    let sqlite = duban::store::migrations::ddl(Dialect::Sqlite).unwrap_or_else(|e| panic!("{e}"));
    for line in sqlite.lines().filter(|l| l.starts_with("CREATE TABLE")) {
        let name = line["CREATE TABLE".len()..]
            .split(['(', ' '])
            .find(|w| !w.is_empty())
            .unwrap_or_default()
            .trim_matches('"');
        assert!(
            tables.iter().any(|t| t == name),
            "{name} missing from {tables:?}"
        );
    }
    assert!(tables.iter().any(|t| t == "workdays"), "{tables:?}");
    // Dates are dates, times timestamptz, and the enums' CHECKs hold.
    let types: Vec<(String, String)> = db
        .prepare(
            "SELECT column_name, data_type FROM information_schema.columns
             WHERE table_name = 'problems' AND column_name IN ('deadline', 'status')
             ORDER BY column_name",
        )
        .and_then(|mut s| s.query_map((), |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        types,
        [
            ("deadline".to_string(), "date".to_string()),
            ("status".to_string(), "text".to_string())
        ]
    );
    let bad = db.execute(
        "INSERT INTO outbox (message_id, rule, subject_type, subject_id, recipients, subject, body, status, created_at)
         VALUES ('m', 'r', 'problem', 'p', 'a@b', 's', 'b', 'lost', '2026-06-01T08:00:00Z')",
        (),
    );
    let err = bad
        .err()
        .unwrap_or_else(|| panic!("a status outside the enum was taken"));
    assert_eq!(err.kind, duban::store::ErrorKind::Constraint, "{err}");
    // A second time is refused, nothing written.
    let again = duban::store::create_postgres(&pg.url);
    let err = again
        .err()
        .unwrap_or_else(|| panic!("made the tables twice"));
    assert_eq!(err.exit_code(), 1, "{err}");
}

#[test]
fn the_example_policy_gives_the_same_rows_on_both_databases() {
    let Some(pg) = common::ServerDb::on_test_server("rows") else {
        return;
    };
    let policy = example_policy();
    let mut lite = duban::store::in_memory().unwrap_or_else(|e| panic!("{e}"));
    common::demo_office(&mut lite, TODAY);
    let mut post = duban::store::create_postgres(&pg.url).unwrap_or_else(|e| panic!("{e}"));
    common::demo_office(&mut post, TODAY);
    let a = rows_of_every_rule(&lite, &policy);
    let b = rows_of_every_rule(&post, &policy);
    assert_eq!(a.len(), policy.rules.len());
    // The office is one where rules hold: the comparison compares something.
    assert!(
        a.iter().filter(|(_, rows)| !rows.is_empty()).count() >= 3,
        "{a:?}"
    );
    for ((rule, x), (_, y)) in a.iter().zip(&b) {
        assert_eq!(x, y, "rule {rule}: SQLite and PostgreSQL differ");
    }
}

/// Every rule of the example policy compiled for PostgreSQL is accepted
/// by the server's planner (EXPLAIN), as the snapshot shows it.
#[test]
fn the_example_policy_compiled_for_postgresql_plans() {
    let Some(pg) = common::ServerDb::on_test_server("explain") else {
        return;
    };
    let db = duban::store::create_postgres(&pg.url).unwrap_or_else(|e| panic!("{e}"));
    for c in compile_policy(&example_policy(), Dialect::Postgres) {
        let mut params = vec![Value::Text(TODAY.into())];
        params.extend(c.params.iter().cloned());
        db.prepare(&format!("EXPLAIN {}", c.sql))
            .and_then(|mut s| {
                s.query_map(&params, |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", c.rule, c.sql));
    }
}

/// The store's own functions say the same on both databases: a run
/// recorded, counted and finished reads back alike (ids from PostgreSQL's
/// identity columns, times from `timestamptz`); a transaction dropped
/// uncommitted leaves nothing; a second row with the same key is a
/// duplicate on both.
#[test]
fn a_run_recorded_reads_back_alike_on_both_databases() {
    let Some(pg) = common::ServerDb::on_test_server("runs") else {
        return;
    };
    let record = |db: &mut Db| -> serde_json::Value {
        use duban::store::runs;
        let id = runs::start(db, "run", TODAY, "abc", "2026-06-01T08:00:00Z", "test")
            .unwrap_or_else(|e| panic!("{e}"));
        let counts = runs::RuleCounts {
            fired: 3,
            tasks: 2,
            notices: 1,
            skipped: 0,
        };
        runs::add_rule(db, id, counts).unwrap_or_else(|e| panic!("{e}"));
        runs::finish(db, id, "2026-06-01T08:00:05Z", None).unwrap_or_else(|e| panic!("{e}"));
        {
            let tx = db.transaction().unwrap_or_else(|e| panic!("{e}"));
            runs::start(&tx, "dry-run", TODAY, "abc", "2026-06-01T09:00:00Z", "test")
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let dup = db.execute(
            "INSERT INTO runs (id, kind, as_of, policy_hash, started_at) VALUES (?1, 'run', ?2, 'x', ?3)",
            duban::params![id, TODAY, "2026-06-01T10:00:00Z"],
        );
        let kind = dup.err().map(|e| e.kind);
        assert_eq!(
            kind,
            Some(duban::store::ErrorKind::Duplicate),
            "{}",
            db.dialect().name()
        );
        serde_json::json!(runs::recent(db, 10).unwrap_or_else(|e| panic!("{e}")))
    };
    let mut lite = duban::store::in_memory().unwrap_or_else(|e| panic!("{e}"));
    let mut post = duban::store::create_postgres(&pg.url).unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (record(&mut lite), record(&mut post));
    assert_eq!(a.as_array().map(Vec::len), Some(1), "{a}");
    assert_eq!(a, b);
}

/// `duban init DIR --database URL` writes the URL into duban.toml and makes
/// duban's tables there; a second office on the same database is refused
/// (exit 1) and nothing of it written; a URL that is no URL is refused in
/// words, a server that does not answer is an operational failure.
#[test]
fn init_makes_an_office_on_postgresql_once() {
    let Some(pg) = common::ServerDb::on_test_server("init") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let first = dir.path().join("first");
    common::duban()
        .arg("init")
        .arg(&first)
        .args(["--database", &pg.url])
        .assert()
        .success();
    let config =
        std::fs::read_to_string(first.join("duban.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        config.contains(&format!("database = \"{}\"", pg.url)),
        "{config}"
    );
    assert!(!first.join("duban.db").exists());
    common::duban()
        .current_dir(&first)
        .args(["check"])
        .assert()
        .success();
    let second = dir.path().join("second");
    let out = common::duban()
        .arg("init")
        .arg(&second)
        .args(["--database", &pg.url])
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("already holds a table"), "{err}");
    assert!(!second.exists(), "a refused init wrote files");
    let bad = common::duban()
        .arg("init")
        .arg(&second)
        .args(["--database", "postgresql://duban@127.0.0.1:port/duban"])
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&bad.get_output().stderr).to_string();
    assert!(err.contains("is not a PostgreSQL URL"), "{err}");
    let gone = common::duban()
        .arg("init")
        .arg(&second)
        .args(["--database", "postgresql://duban@127.0.0.1:1/duban"])
        .assert()
        .code(3);
    let err = String::from_utf8_lossy(&gone.get_output().stderr).to_string();
    assert!(err.contains("cannot reach the PostgreSQL server"), "{err}");
    assert!(!second.exists());
}

/// `DUBAN_DATABASE` overrides `database` of duban.toml: the office's file
/// stays untouched while a command works on the server's database.
#[test]
fn the_environment_names_the_database() {
    let Some(pg) = common::ServerDb::on_test_server("env") else {
        return;
    };
    drop(duban::store::create_postgres(&pg.url).unwrap_or_else(|e| panic!("{e}")));
    // The office's own file knows u1; the server's database does not.
    let office = common::Office::fixture();
    let out = office
        .cmd()
        .env("DUBAN_DATABASE", &pg.url)
        .args(["users", "add", "u1", "--role", "admin"])
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("u1"), "{err}");
    office
        .cmd()
        .env("DUBAN_DATABASE", &pg.url)
        .args(["users", "list"])
        .assert()
        .success();
    let out = office
        .cmd()
        .env("DUBAN_DATABASE", "mysql://root@127.0.0.1/duban")
        .args(["status"])
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("DUBAN_DATABASE"), "{err}");
}

/// duban's sessions run without JIT compilation (its statements are too
/// short for it to pay), unless the URL's own options turn it on.
#[test]
fn sessions_run_without_jit_unless_the_url_asks() {
    let Some(pg) = common::ServerDb::on_test_server("jit") else {
        return;
    };
    let jit = |url: &str| -> String {
        duban::store::connect_postgres(url)
            .unwrap_or_else(|e| panic!("{e}"))
            .query_row("SHOW jit", (), |r| r.get(0))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(jit(&pg.url), "off");
    let sep = if pg.url.contains('?') { '&' } else { '?' };
    assert_eq!(jit(&format!("{}{sep}options=-c%20jit%3Don", pg.url)), "on");
}

/// `check --show-sql` prints the SQL the office's database runs: SQLite's
/// for a file, PostgreSQL's for a server (named, not reached: `check`
/// connects to nothing).
#[test]
fn check_shows_the_sql_of_the_offices_database() {
    // A new office on a file, with the example policy (whichever database
    // the other tests' offices are on).
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    common::duban()
        .arg("init")
        .arg(dir.path())
        .assert()
        .success();
    let shown = |database: Option<&str>| {
        let mut cmd = common::duban();
        cmd.env_remove("DUBAN_DATABASE").current_dir(dir.path());
        if let Some(url) = database {
            cmd.env("DUBAN_DATABASE", url);
        }
        let out = cmd.args(["check", "--show-sql"]).assert().success();
        String::from_utf8_lossy(&out.get_output().stdout).to_string()
    };
    let sqlite = shown(None);
    assert!(
        sqlite.contains("date(?1") && !sqlite.contains("CAST(?1 AS date)"),
        "{sqlite}"
    );
    let postgres = shown(Some("postgresql://duban@127.0.0.1:9/never_reached"));
    assert!(
        postgres.contains("CAST(?1 AS date)") && !postgres.contains("date(?1"),
        "{postgres}"
    );
}

/// Every column of a database's tables with its place, type, default and
/// whether it may be empty, every index and every constraint: equal lists,
/// equal schemas.
fn schema(pg: &common::ServerDb) -> Vec<String> {
    let mut all = pg.texts(
        "SELECT table_name || '.' || column_name || ' ' || ordinal_position || ' ' || data_type
                || ' ' || is_nullable || ' ' || coalesce(column_default, '') || ' ' || is_identity
         FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY 1",
    );
    all.extend(
        pg.texts("SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1"),
    );
    all.extend(pg.texts(
        "SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
         FROM pg_constraint WHERE connamespace = current_schema()::regnamespace ORDER BY 1",
    ));
    all
}

/// An office on `pg` whose tables are put back to schema version
/// `version`, holding one person of its own.
fn office_at_version(pg: &common::ServerDb, version: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    common::duban()
        .arg("init")
        .arg(dir.path())
        .args(["--database", &pg.url])
        .assert()
        .success();
    pg.connect()
        .execute_batch(&format!(
            "DROP SCHEMA public CASCADE; CREATE SCHEMA public;\n{}
             INSERT INTO persons (id, name) VALUES ('u-old', '王五');",
            duban::store::migrations::postgres_ddl(version)
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        pg.count("SELECT version FROM schema_version"),
        version as i64
    );
    dir
}

/// A database made by an older duban is brought to this one's schema when
/// a command opens it — from every older version, its rows kept — and
/// then works: the same tables as a database made now, an import and a
/// run.
#[test]
fn an_older_database_is_migrated_when_opened() {
    let Some(server) = common::test_server("migrations") else {
        return;
    };
    let latest = duban::store::migrations::version();
    let fresh = common::ServerDb::new(&server, "fresh");
    duban::store::create_postgres(&fresh.url).unwrap_or_else(|e| panic!("{e}"));
    let made_now = schema(&fresh);
    for version in 1..latest {
        let pg = common::ServerDb::new(&server, "older");
        let dir = office_at_version(&pg, version);
        common::duban()
            .current_dir(dir.path())
            .arg("status")
            .assert()
            .success();
        assert_eq!(
            pg.count("SELECT version FROM schema_version"),
            latest as i64
        );
        assert_eq!(schema(&pg), made_now, "migrated from version {version}");
        assert_eq!(
            pg.texts("SELECT name FROM persons WHERE id = 'u-old'"),
            ["王五"]
        );
        common::duban()
            .current_dir(dir.path())
            .arg("import")
            .arg(common::fixture("office"))
            .assert()
            .success();
        common::duban()
            .current_dir(dir.path())
            .args(["run", "--as-of", TODAY])
            .assert()
            .success();
        assert_eq!(pg.count("SELECT count(*) FROM runs WHERE error IS NULL"), 1);
        assert!(pg.count("SELECT count(*) FROM tasks WHERE rule IS NOT NULL") > 0);
    }
}

/// Two processes opening a database of the version before at once: one
/// migrates it, the other waits and finds it done — both succeed (a
/// second migration would fail on the tables the first made).
#[test]
fn two_processes_at_once_migrate_once() {
    let Some(pg) = common::ServerDb::on_test_server("migrate_once") else {
        return;
    };
    let latest = duban::store::migrations::version();
    let dir = office_at_version(&pg, latest - 1);
    for round in 0..3 {
        if round > 0 {
            pg.connect()
                .execute_batch(&format!(
                    "DROP TABLE leases; UPDATE schema_version SET version = {};",
                    latest - 1
                ))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let bin = assert_cmd::cargo::cargo_bin("duban");
        let children: Vec<std::process::Child> = (0..2)
            .map(|_| {
                std::process::Command::new(&bin)
                    .current_dir(dir.path())
                    .env("NO_COLOR", "1")
                    .arg("status")
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap_or_else(|e| panic!("{e}"))
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert_eq!(
            pg.count("SELECT version FROM schema_version"),
            latest as i64
        );
        assert_eq!(pg.count("SELECT count(*) FROM leases"), 0);
    }
}

/// A streamed query on PostgreSQL reads its rows in batches through a
/// cursor inside a transaction: every row, in order, as they were when it
/// ran, while the same connection writes the table between them; outside
/// a transaction it reads them at once, the same rows.
#[test]
fn a_streamed_query_reads_every_row_while_its_transaction_writes() {
    let Some(pg) = common::ServerDb::on_test_server("stream") else {
        return;
    };
    let mut db = pg.connect();
    db.execute_batch(
        "CREATE TABLE numbers (n bigint PRIMARY KEY, half text);
         INSERT INTO numbers SELECT n, CAST(n / 2 AS text) FROM generate_series(1, 2500) n;",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let read = |db: &Db, write: bool| -> Vec<i64> {
        let mut stmt = db
            .prepare_stream("SELECT n, half FROM numbers WHERE n > ?1 ORDER BY n")
            .unwrap_or_else(|e| panic!("{e}"));
        let mut rows = stmt.query([0i64]).unwrap_or_else(|e| panic!("{e}"));
        let mut seen = Vec::new();
        while let Some(row) = rows.next().unwrap_or_else(|e| panic!("{e}")) {
            let n: i64 = row.get(0).unwrap_or_else(|e| panic!("{e}"));
            let half: String = row.get(1).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(half, (n / 2).to_string());
            if write {
                db.execute("INSERT INTO numbers VALUES (?1, 'later')", [n + 10_000])
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            seen.push(n);
        }
        seen
    };
    let want: Vec<i64> = (1..=2500).collect();
    let tx = db.transaction().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read(&tx, true), want);
    assert_eq!(
        tx.query_row("SELECT count(*) FROM numbers", (), |r| r.get::<_, i64>(0))
            .unwrap_or_else(|e| panic!("{e}")),
        5000
    );
    tx.rollback().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read(&db, false), want);
}

/// A run fills the shared working-day table before its rules' transactions,
/// not inside them: while a rule's transaction is open (its first firing),
/// another connection counting a rule reads the table without waiting for
/// that transaction's commit (a workbench page during the scheduler's
/// first run). Inside the rule's transaction the other connection's upsert
/// of the same days waits for its locks, and `lock_timeout` ends the wait
/// with an error.
#[test]
fn a_count_does_not_wait_for_a_rule_transaction_to_fill_the_working_days() {
    let Some(pg) = common::ServerDb::on_test_server("workdays") else {
        return;
    };
    let policy = example_policy();
    let mut db = duban::store::create_postgres(&pg.url).unwrap_or_else(|e| panic!("{e}"));
    common::demo_office(&mut db, TODAY);
    let engine = duban::engine::Engine::new(&policy, "example.org").with_dialect(Dialect::Postgres);
    let at: chrono::DateTime<chrono::Utc> = "2026-06-01T08:00:00Z"
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    let as_of = duban::clock::AsOf::new(at, policy.tz);
    let clock = duban::clock::FixedClock(at);
    let other = pg.connect();
    other
        .execute_batch("SET lock_timeout = '5s'")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut counted = Vec::new();
    let rules: Vec<usize> = (0..policy.rules.len()).collect();
    engine
        .run(
            &mut db,
            &rules,
            &as_of,
            &duban::engine::RunOptions::new("run", &clock),
            &mut |_| {
                if counted.is_empty() {
                    counted.push(engine.holds_count(&other, 0, &as_of));
                }
                Ok(())
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    // The office is one where rules fire: the count happened during a run.
    assert_eq!(counted.len(), 1);
    let n = counted
        .remove(0)
        .unwrap_or_else(|e| panic!("the count waited on the run's transaction: {e}"));
    let direct = engine
        .holds_count(&other, 0, &as_of)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, direct);
}

/// `simulate` of the example policy over the same demo office: the same
/// days on both databases, each replayed windowed and day by day.
#[test]
fn the_example_policy_simulates_alike_on_both_databases() {
    use duban::engine::Engine;
    use duban::engine::simulate::{Replay, simulate};
    let Some(pg) = common::ServerDb::on_test_server("simulate") else {
        return;
    };
    let policy = example_policy();
    let tz: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap_or(chrono_tz::Tz::UTC);
    let from = duban::clock::AsOf::parse(TODAY, tz).unwrap_or_else(|e| panic!("{e}"));
    let mut lite = duban::store::in_memory().unwrap_or_else(|e| panic!("{e}"));
    common::demo_office(&mut lite, TODAY);
    let mut post = duban::store::create_postgres(&pg.url).unwrap_or_else(|e| panic!("{e}"));
    common::demo_office(&mut post, TODAY);
    // Twice: before the policy ever ran (no episode open: on PostgreSQL
    // the first day reads every rule's subjects as a whole), then after a
    // run ten days before has left episodes running.
    for ran in [false, true] {
        let mut days = Vec::new();
        for (conn, dialect) in [(&mut lite, Dialect::Sqlite), (&mut post, Dialect::Postgres)] {
            let engine = Engine::new(&policy, "example.org").with_dialect(dialect);
            if ran {
                let before = duban::clock::AsOf::parse("2026-05-22T09:00:00+08:00", tz)
                    .unwrap_or_else(|e| panic!("{e}"));
                let clock = duban::clock::FixedClock(before.utc());
                let rules: Vec<usize> = (0..policy.rules.len()).collect();
                let options = duban::engine::RunOptions::new("run", &clock);
                engine
                    .run(conn, &rules, &before, &options, &mut |_| Ok(()))
                    .unwrap_or_else(|e| panic!("{e}"));
                let open: i64 = conn
                    .query_row(
                        "SELECT count(*) FROM episodes WHERE ended_at IS NULL",
                        [],
                        |r| r.get(0),
                    )
                    .unwrap_or_else(|e| panic!("{e}"));
                assert!(open > 0, "the run left no episode open");
            }
            for replay in [Replay::Windowed, Replay::DayByDay] {
                let d = simulate(conn, &engine, &from, 40, tz, replay)
                    .unwrap_or_else(|e| panic!("{e}"));
                days.push((dialect, replay, d));
            }
        }
        let (_, _, first) = &days[0];
        // The office is one where rules fire on more than the first day.
        let firing_days = first
            .iter()
            .filter(|d| d.rules.iter().any(|r| r.firings() > 0))
            .count();
        assert!(firing_days >= 2, "{first:?}");
        for (dialect, replay, d) in &days[1..] {
            assert_eq!(
                d, first,
                "{dialect:?} {replay:?} differs from SQLite windowed (after a run: {ran})"
            );
        }
    }
}
