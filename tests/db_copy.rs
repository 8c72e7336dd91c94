//! `duban db copy --to URL` through the binary against a real PostgreSQL
//! server: the demo office, after a run (episodes, audit, outbox,
//! approvals, accounts …), goes over whole — every table's rows equal,
//! read back here by this test's own SQL on both sides, `dry-run --format
//! json` the same on the copy as on the office, in the same order — and a second copy
//! into the same database, or a copy into a database holding any table,
//! is refused with exit 1 and nothing written.

mod common;
use common::Office;
use common::ServerDb;

const AS_OF: &str = "2026-11-22";

/// The demo office after one run, its problems stored in the reverse of
/// their ids' order (as a ledger may list them): SQLite reads them in the
/// order they are stored, PostgreSQL in whatever order its plan gives.
fn office() -> Office {
    let o = Office::demo(2, AS_OF);
    o.db()
        .execute_batch(
            "PRAGMA foreign_keys = OFF;
             BEGIN;
             CREATE TEMP TABLE stored AS SELECT * FROM problems ORDER BY id DESC;
             DELETE FROM problems;
             INSERT INTO problems SELECT * FROM stored;
             COMMIT;",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    o.cmd().args(["run", "--as-of", AS_OF]).assert().success();
    o
}

/// The tables of the office's SQLite file.
fn tables(o: &Office) -> Vec<String> {
    common::texts(
        &o.db(),
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
}

/// Every row of `table` as text, sorted, read with SQL of this test's
/// own on each side: days as `YYYY-MM-DD`, times as seconds since 1970,
/// everything else as its text.
fn rows(o: &Office, pg: &ServerDb, table: &str) -> (Vec<String>, Vec<String>) {
    let types: Vec<(String, String)> = {
        let db = pg.connect();
        let mut s = db
            .prepare(
                "SELECT column_name, data_type FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = ?1 ORDER BY ordinal_position",
            )
            .unwrap_or_else(|e| panic!("{e}"));
        s.query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
            .collect()
    };
    assert!(!types.is_empty(), "{table} is missing from the copy");
    let (mut mine, mut theirs) = (Vec::new(), Vec::new());
    for (col, ty) in &types {
        let (m, t) = match ty.as_str() {
            "date" => (
                format!("coalesce({col}, '-')"),
                format!("coalesce(to_char({col}, 'YYYY-MM-DD'), '-')"),
            ),
            "timestamp with time zone" => (
                format!("coalesce(CAST(strftime('%s', {col}) AS TEXT), '-')"),
                format!("coalesce(CAST(floor(extract(epoch FROM {col})) AS bigint)::text, '-')"),
            ),
            _ => (
                format!("coalesce(CAST({col} AS TEXT), '-')"),
                format!("coalesce(CAST({col} AS text), '-')"),
            ),
        };
        mine.push(m);
        theirs.push(t);
    }
    let mut a: Vec<String> = {
        let db = o.db();
        let sql = format!("SELECT {} FROM {table}", mine.join(" || '|' || "));
        let mut s = db.prepare(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        s.query_map([], |r| r.get(0))
            .and_then(|r| r.collect())
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    let mut b = pg.texts(&format!(
        "SELECT {} FROM {table}",
        theirs.join(" || '|' || ")
    ));
    a.sort();
    b.sort();
    (a, b)
}

#[test]
fn the_demo_office_goes_over_whole_and_is_not_copied_twice() {
    let o = office();
    let Some(pg) = ServerDb::on_test_server("copy") else {
        return;
    };
    let out = o
        .cmd()
        .args(["db", "copy", "--to", &pg.url])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tables = tables(&o);
    for t in [
        "episodes",
        "outbox",
        "audit",
        "approvals",
        "accounts",
        "sessions",
        "runs",
        "problems",
        "tasks",
    ] {
        assert!(tables.iter().any(|x| x == t), "the office has no table {t}");
    }
    for t in &tables {
        let n = o.count(&format!("SELECT count(*) FROM {t}"));
        let line = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(t.as_str()))
            .unwrap_or_else(|| panic!("no line for {t}:\n{stdout}"));
        assert_eq!(
            line.split_whitespace().collect::<Vec<_>>()[1..],
            [n.to_string().as_str(), n.to_string().as_str(), "equal"],
            "{line}"
        );
        assert_eq!(pg.count(&format!("SELECT count(*) FROM {t}")), n, "{t}");
        let (mine, theirs) = rows(&o, &pg, t);
        assert_eq!(mine, theirs, "{t}: the rows differ");
    }
    assert!(
        o.count("SELECT count(*) FROM outbox") > 0 && o.count("SELECT count(*) FROM episodes") > 0
    );
    assert_eq!(
        pg.count("SELECT version FROM schema_version"),
        o.count("PRAGMA user_version")
    );
    // The calendar table holds the office's calendar, as after a run (its
    // dry-run below reads the rules side by side).
    assert_eq!(pg.count("SELECT count(*) FROM workdays_source"), 1);
    assert!(pg.count("SELECT count(*) FROM workdays WHERE work = 0") > 100);
    // New rows continue after the ids copied.
    assert_eq!(
        pg.count("SELECT nextval(pg_get_serial_sequence('runs', 'id'))"),
        o.count("SELECT max(id) FROM runs") + 1
    );

    // The copy gives the same actions as the office.
    let on_copy = o
        .cmd()
        .env("DUBAN_DATABASE", &pg.url)
        .args(["dry-run", "--as-of", AS_OF, "--fresh", "--format", "json"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        on_copy.status.success(),
        "{}",
        String::from_utf8_lossy(&on_copy.stderr)
    );
    let on_copy: serde_json::Value =
        serde_json::from_slice(&on_copy.stdout).unwrap_or_else(|e| panic!("{e}"));
    let on_office = o.dry_run(&["--as-of", AS_OF, "--fresh"]);
    assert!(
        on_office["actions"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "{on_office}"
    );
    // The same actions and skips, in the same order: each rule's subjects
    // by their ids.
    assert_eq!(on_copy, on_office);
    let subjects: Vec<(&str, &str)> = on_office["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| Some((a["rule"].as_str()?, a["subject"].as_str()?)))
        .collect();
    assert!(
        subjects
            .windows(2)
            .all(|w| w[0].0 != w[1].0 || w[0].1 <= w[1].1),
        "{subjects:?}"
    );

    // Again into the same database: refused, nothing written.
    o.cmd()
        .args(["db", "copy", "--to", &pg.url])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("is not empty"));
    assert_eq!(
        pg.count("SELECT count(*) FROM problems"),
        o.count("SELECT count(*) FROM problems")
    );
}

#[test]
fn a_database_holding_any_table_is_refused_untouched() {
    let o = Office::demo(1, AS_OF);
    let Some(pg) = ServerDb::on_test_server("copy_taken") else {
        return;
    };
    pg.connect()
        .execute_batch("CREATE TABLE notes (line text); INSERT INTO notes VALUES ('kept')")
        .unwrap_or_else(|e| panic!("{e}"));
    o.cmd()
        .args(["db", "copy", "--to", &pg.url])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("is not empty"))
        .stderr(predicates::str::contains("notes"));
    assert_eq!(
        pg.texts("SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()"),
        ["notes"]
    );
    assert_eq!(pg.texts("SELECT line FROM notes"), ["kept"]);
}
