//! duban at the scale of a whole province: about a million problems.
//!
//!     cargo bench --bench scale                  # scale 1800: ≈1.01M problems
//!     DUBAN_BENCH_SCALE=200 cargo bench --bench scale
//!
//! Needs GNU time (`/usr/bin/time`, Debian package `time`) for peak memory
//! and the `sqlite3` command-line shell (Debian `sqlite3`) for the
//! comparisons. Prints a Markdown table; README.md quotes it.
//!
//! What it measures, each as wall time and peak memory (max RSS):
//! - `duban import` of the demo office's CSV ledgers into an empty office,
//!   beside `sqlite3`'s `.import` of the same files into plain tables plus
//!   the indexes duban's tables have;
//!   and the same import at a tenth of the size, to show memory does not
//!   grow with the file;
//! - `duban dry-run`, table and JSON, of the example policy and of an
//!   eight-rule policy shaped like a province's (`benches/eight`), each
//!   beside its hand-written SQL (`benches/handwritten.sql`,
//!   `benches/eight/handwritten.sql`) through the SQLite duban is built
//!   with, measured back to back — the two must agree on how many subjects
//!   each rule holds for; duban as it runs by default (its rules read side
//!   by side, a connection per core) and on one connection (`--jobs 1`);
//! - per rule (`rules`), the generated query beside the hand-written one,
//!   both through that SQLite, every row read;
//! - (`memory`) the peak memory of `dry-run --format json` at the full
//!   scale and at a tenth of it;
//! - `duban simulate --days 30` of the example policy;
//! - `duban check` of a generated 1,000-rule policy.
//!
//! With `DUBAN_BENCH_POSTGRES=postgresql://USER@HOST:PORT/DB` (a server
//! whose user may create databases; needs `psql`), the same on PostgreSQL
//! (`pg-import`, `pg-dry-run`, `pg-rules`, `pg-simulate`, `pg-memory`):
//! - `duban import` into an empty office on PostgreSQL beside `psql`'s
//!   `\copy` of the same files into plain tables plus the indexes duban's
//!   tables have there, each into a database made afresh;
//! - `duban db copy` of the office to PostgreSQL (once, kept between runs),
//!   then `dry-run` of both policies, table and JSON, each beside its
//!   hand-written SQL in PostgreSQL's spelling run in `psql`, the two
//!   agreeing on how many subjects each rule holds for;
//! - per rule, each generated query beside its hand-written one in
//!   PostgreSQL's spelling, both of both policies, on that copy;
//! - `simulate --days 30` on that copy, and the peak memory of `dry-run
//!   --format json` there and on a copy of the office a tenth its size.
//!
//! Timings are the fastest of several runs (the machine is shared); this is
//! a benchmark, not a test, and asserts nothing about speed.

mod common;
use common::run;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const AS_OF: &str = "2026-11-22";
const RUNS: usize = 5;
/// Imports take longer; fewer runs of them.
const IMPORT_RUNS: usize = 3;

struct Measure {
    seconds: f64,
    peak_kib: u64,
}

/// Runs `sh -c script` under GNU time; the fastest of `runs`.
fn measure(script: &str, dir: &Path, runs: usize) -> Measure {
    let mut best: Option<Measure> = None;
    for _ in 0..runs {
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%e %M", "sh", "-c", script])
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| panic!("/usr/bin/time: {e}"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "`{script}` failed:\n{err}");
        let last = err.lines().last().unwrap_or("");
        let mut it = last.split_whitespace();
        let seconds: f64 = it.next().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN);
        let peak_kib: u64 = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        if best.as_ref().is_none_or(|b| seconds < b.seconds) {
            best = Some(Measure { seconds, peak_kib });
        }
    }
    best.unwrap_or(Measure {
        seconds: f64::NAN,
        peak_kib: 0,
    })
}

/// A row of the table: a workload, what duban took and what the
/// comparison took (each named), and their ratio.
fn versus(workload: String, ours: (&str, &Measure), theirs: (&str, &Measure)) -> Row {
    let cell =
        |(what, m): (&str, &Measure)| format!("{what} {:.2} s, {}", m.seconds, mib(m.peak_kib));
    (
        workload,
        cell(ours),
        cell(theirs),
        format!("{:.2}×", ours.1.seconds / theirs.1.seconds),
    )
}

type Row = (String, String, String, String);

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

fn fresh_dir(p: &Path) {
    let _ = std::fs::remove_dir_all(p);
    std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("{e}"));
}

/// Builds a demo office with CSV ledgers, unless one of this scale exists.
fn office(bin: &str, base: &Path, scale: u64) -> (PathBuf, PathBuf, u64) {
    let dir = base.join(format!("office-{scale}"));
    let ledgers = base.join(format!("ledgers-{scale}"));
    if !dir.join("duban.db").exists() || !ledgers.join("problems.csv").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&ledgers);
        run(Command::new(bin)
            .args([
                "demo",
                "--no-run",
                "--as-of",
                AS_OF,
                "--seed",
                "1",
                "--scale",
                &scale.to_string(),
                "--dir",
            ])
            .arg(&dir)
            .arg("--csv")
            .arg(&ledgers));
    }
    let problems = std::fs::read_to_string(ledgers.join("problems.csv"))
        .map(|t| t.lines().count() as u64 - 1)
        .unwrap_or(0);
    (dir, ledgers, problems)
}

/// `sqlite3 .import` of the ledgers into plain tables (every column text,
/// no constraints), then the indexes duban's tables have: a unique index on
/// each id and every other index of an office's case tables that the plain
/// tables can take. What a bulk load costs SQLite itself.
fn sqlite_import_script(ledgers: &Path, target: &Path, indexes: &[String]) -> String {
    use duban::schema::Entity;
    let mut s = format!(
        "rm -f {t}; sqlite3 {t} <<'EOF'\nPRAGMA journal_mode = WAL;\nBEGIN;\n",
        t = target.display(),
    );
    for e in Entity::IMPORT_ORDER {
        s.push_str(&format!(
            ".import --csv {} {}\n",
            ledgers.join(format!("{}.csv", e.table())).display(),
            e.table()
        ));
    }
    for sql in indexes {
        s.push_str(sql);
        s.push_str(";\n");
    }
    s.push_str("COMMIT;\nEOF\n");
    s
}

/// The indexes an office's case tables have (read from a new office's
/// database), as they can be built on plain tables of the ledgers'
/// columns: the primary keys as unique indexes on `id`, and each other
/// index whose columns the ledgers have (not, say, the tasks' `seq`, which
/// duban numbers itself).
fn case_indexes(bin: &str, base: &Path, ledgers: &Path) -> Vec<String> {
    use duban::schema::Entity;
    let probe = base.join("schema-probe");
    let _ = std::fs::remove_dir_all(&probe);
    run(Command::new(bin).arg("init").arg(&probe));
    let office =
        rusqlite::Connection::open(probe.join("duban.db")).unwrap_or_else(|e| panic!("{e}"));
    let plain = rusqlite::Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    for e in Entity::IMPORT_ORDER {
        let table = e.table();
        let columns = ledger_columns(ledgers, table, "");
        plain
            .execute_batch(&format!("CREATE TABLE {table}({columns})"))
            .unwrap_or_else(|e| panic!("{e}"));
        out.push(format!("CREATE UNIQUE INDEX {table}_id ON {table}(id)"));
        let mut stmt = office
            .prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL ORDER BY name")
            .unwrap_or_else(|e| panic!("{e}"));
        let sqls: Vec<String> = stmt
            .query_map([table], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .unwrap_or_else(|e| panic!("{e}"));
        for sql in sqls {
            if plain.execute_batch(&sql).is_ok() {
                out.push(sql);
            }
        }
    }
    out
}

/// The columns of ledger `table` (its CSV file's header), quoted, each
/// followed by `ty`, for a plain table of them.
fn ledger_columns(ledgers: &Path, table: &str, ty: &str) -> String {
    let csv = ledgers.join(format!("{table}.csv"));
    let text = std::fs::read_to_string(&csv).unwrap_or_else(|e| panic!("{}: {e}", csv.display()));
    let header = text.lines().next().unwrap_or_default();
    header
        .split(',')
        .map(|c| format!("\"{}\"{ty}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The same on PostgreSQL: the indexes of a new office's case tables
/// (`pg_indexes` of a database `duban init --database` made), each kept if
/// plain tables of the ledgers' columns (every column `text`) take it.
fn pg_case_indexes(bin: &str, base: &Path, server: &str, ledgers: &Path) -> Vec<String> {
    use duban::schema::Entity;
    let probe = base.join("schema-probe-pg");
    let _ = std::fs::remove_dir_all(&probe);
    let office = common::pg_fresh(server, "duban_bench_probe", None);
    run(Command::new(bin)
        .arg("init")
        .arg(&probe)
        .args(["--database", &office]));
    let plain = common::pg_fresh(server, "duban_bench_probe_plain", None);
    let mut out = Vec::new();
    for e in Entity::IMPORT_ORDER {
        let table = e.table();
        let columns = ledger_columns(ledgers, table, " text");
        common::psql(&plain, &format!("CREATE TABLE {table}({columns})"));
        let defs = common::psql(
            &office,
            &format!(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = '{table}' ORDER BY indexname"
            ),
        );
        for sql in defs.lines() {
            let taken = Command::new("psql")
                .arg(&plain)
                .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
                .output()
                .is_ok_and(|o| o.status.success());
            if taken {
                out.push(sql.to_string());
            }
        }
    }
    for name in ["duban_bench_probe", "duban_bench_probe_plain"] {
        common::psql(server, &format!("DROP DATABASE {name} WITH (FORCE)"));
    }
    out
}

/// A script that makes database `name` afresh on the server and loads the
/// ledgers with `psql`'s `\copy` into plain tables (every column `text`, no
/// constraints), then builds `indexes`, in one transaction: what a bulk load
/// costs PostgreSQL itself.
fn pg_import_script(server: &str, name: &str, ledgers: &Path, indexes: &[String]) -> String {
    use duban::schema::Entity;
    let url = common::pg_url(server, name);
    let mut s = format!(
        "{} && psql -X -q -v ON_ERROR_STOP=1 '{url}' <<'EOF'\nBEGIN;\n",
        fresh_database_script(server, name)
    );
    for e in Entity::IMPORT_ORDER {
        let table = e.table();
        s.push_str(&format!(
            "CREATE TABLE {table}({});\n\\copy {table} FROM '{}' WITH (FORMAT csv, HEADER true)\n",
            ledger_columns(ledgers, table, " text"),
            ledgers.join(format!("{table}.csv")).display()
        ));
    }
    for sql in indexes {
        s.push_str(sql);
        s.push_str(";\n");
    }
    s.push_str("COMMIT;\nEOF\n");
    s
}

/// A shell command that makes database `name` afresh on the server.
fn fresh_database_script(server: &str, name: &str) -> String {
    format!(
        "psql -X -q -v ON_ERROR_STOP=1 '{server}' -c 'DROP DATABASE IF EXISTS {name} WITH (FORCE)' -c 'CREATE DATABASE {name}'"
    )
}

/// The hand-written SQL in PostgreSQL's spelling, where SQLite's does not
/// run there: `date('D', '-N days')` becomes `(date 'D' - N)`, the average
/// of a comparison averages it as 0 or 1 (`avg((…)::int)`), `+t.status`
/// (SQLite's way to keep a column's index out of a plan) the column itself,
/// and a subquery computed once (`LIMIT -1`) PostgreSQL's `OFFSET 0`.
fn postgres_spelling(sql: &str) -> String {
    let mut out = String::new();
    let mut rest = sql;
    while let Some(at) = rest.find("date('") {
        out.push_str(&rest[..at]);
        let call = &rest[at..];
        let end = call.find(')').unwrap_or(call.len() - 1);
        // date('2026-11-22', '+7 days')
        let args: Vec<&str> = call[5..end]
            .split(',')
            .map(|a| a.trim().trim_matches('\''))
            .collect();
        match args.as_slice() {
            [day, shift] => {
                let days = shift.trim_end_matches(" days");
                let (sign, n) = days.split_at(1);
                out.push_str(&format!("(date '{day}' {sign} {n})"));
            }
            _ => out.push_str(&call[..=end]),
        }
        rest = &call[end + 1..];
    }
    out.push_str(rest);
    let mut sql = String::new();
    let mut rest = out.as_str();
    while let Some(at) = rest.find("avg(") {
        let inner = &rest[at + 4..];
        let end = inner.find(')').unwrap_or(inner.len());
        sql.push_str(&rest[..at]);
        sql.push_str(&format!("avg(({})::int)", &inner[..end]));
        rest = inner.get(end + 1..).unwrap_or("");
    }
    sql.push_str(rest);
    sql.replace("+t.status", "t.status")
        .replace("LIMIT -1", "OFFSET 0")
}

/// The hand-written SQL through the SQLite duban is built with (rusqlite's
/// bundled one), every row stepped and every column read: seconds, the
/// fastest of `runs`. The `sqlite3` shell may be another version.
fn hand_in_bundled(db: &Path, sql: &str, runs: usize) -> f64 {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap_or_else(|e| panic!("{e}"));
    let statements = statements(sql);
    let mut best = f64::INFINITY;
    for _ in 0..runs {
        let started = std::time::Instant::now();
        for text in &statements {
            let mut stmt = conn.prepare(text).unwrap_or_else(|e| panic!("{e}: {text}"));
            let width = stmt.column_count();
            let mut rows = stmt.raw_query();
            while let Some(row) = rows.next().unwrap_or_else(|e| panic!("{e}")) {
                for k in 0..width {
                    std::hint::black_box(row.get_ref(k).unwrap_or_else(|e| panic!("{e}")));
                }
            }
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    best
}

/// Subjects per rule of the hand-written SQL's output.
fn hand_counts(out: &str) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for line in out.lines() {
        let rule = line.split('|').next().unwrap_or("").to_string();
        *m.entry(rule).or_insert(0) += 1;
    }
    m
}

/// Subjects per rule, from `dry-run --format json`.
fn duban_counts(json: &str) -> BTreeMap<String, u64> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"));
    v["rules"]
        .as_array()
        .map(|rules| {
            rules
                .iter()
                .filter(|r| r["holds"].as_u64().unwrap_or(0) > 0)
                .map(|r| {
                    (
                        r["rule"].as_str().unwrap_or("").to_string(),
                        r["holds"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A policy to evaluate, and the hand-written SQL that computes the same.
struct Policy {
    label: &'static str,
    /// A .rules file or folder.
    rules: PathBuf,
    handwritten: PathBuf,
}

/// Where a dry-run reads: the office's duban.db, or a PostgreSQL database
/// (`url`) with the hand-written SQL in PostgreSQL's spelling (a file).
enum Db {
    Sqlite,
    Postgres { url: String, handwritten: PathBuf },
}

/// The office in `dir` copied to a database of its own on the server
/// (once: kept between runs): its URL, and the copy's measure when it was
/// made now.
fn pg_copy(bin: &str, server: &str, dir: &Path, scale: u64) -> (String, Option<Measure>) {
    let name = format!("duban_bench_scale_{scale}");
    let url = common::pg_url(server, &name);
    let copied = dir.join("postgres-copied");
    if copied.exists() && common::pg_exists(server, &name) {
        return (url, None);
    }
    let m = measure(
        &format!(
            "{} && {bin} db copy --to '{url}' > /dev/null",
            fresh_database_script(server, &name)
        ),
        dir,
        1,
    );
    std::fs::write(&copied, &url).unwrap_or_else(|e| panic!("{e}"));
    (url, Some(m))
}

/// Peak memory of `dry-run --format json` of the example policy in two
/// offices (each its folder, and `env` choosing its database), the full
/// scale and a tenth.
fn memory_row(bin: &str, offices: [(&Path, String); 2], problems: [u64; 2], on: &str) -> Row {
    let [big, small] = offices.map(|(dir, env)| {
        measure(
            &format!("{env}{bin} dry-run --as-of {AS_OF} --format json > /dev/null"),
            dir,
            RUNS,
        )
    });
    (
        format!("peak memory of `dry-run --format json` of the example policy{on}"),
        format!("{} problems: {}", problems[0], mib(big.peak_kib)),
        format!("{} problems: {}", problems[1], mib(small.peak_kib)),
        format!("{:.2}×", big.peak_kib as f64 / small.peak_kib.max(1) as f64),
    )
}

/// Simulation of the next 30 days of the example policy (`env` chooses the
/// database): the windowed replay, beside the day-by-day one it is tested
/// against; both must give the same days, on either database.
fn simulate_row(bin: &str, dir: &Path, env: &str, on: &str) -> Row {
    let tag = if on.is_empty() { "" } else { "-postgres" };
    // The windowed replay, fastest of RUNS as the other rows; the
    // day-by-day one (minutes) once.
    let run_to = |how: &str, file: &str, runs: usize| {
        measure(
            &format!("{env}{bin} simulate --days 30 --as-of {AS_OF}{how} --format json > {file}"),
            dir,
            runs,
        )
    };
    let (windowed, day_by_day) = (
        format!("simulate-windowed{tag}.json"),
        format!("simulate-day-by-day{tag}.json"),
    );
    let sim = run_to("", &windowed, RUNS);
    let before = run_to(" --day-by-day", &day_by_day, 1);
    let per_day = |file: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{e}"));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        v["per_day"].clone()
    };
    assert_eq!(
        per_day(&windowed),
        per_day(&day_by_day),
        "the windowed simulation differs from the day-by-day one{on}"
    );
    versus(
        format!("simulate 30 days of the example policy{on}"),
        ("`duban simulate --days 30`", &sim),
        ("`--day-by-day` (before)", &before),
    )
}

/// `dry-run` of `policy`, table and JSON, beside its hand-written SQL in
/// the `sqlite3` shell and through duban's own SQLite — on PostgreSQL, in
/// `psql`; the two must agree on how many subjects each rule holds for.
fn dry_run_rows(bin: &str, dir: &Path, policy: &Policy, db: &Db) -> Vec<Row> {
    let rules = policy.rules.display();
    let (env, hand_script, on) = match db {
        Db::Sqlite => (
            String::new(),
            format!(
                "sqlite3 -readonly duban.db '.read {}'",
                policy.handwritten.display()
            ),
            "",
        ),
        Db::Postgres { url, handwritten } => (
            format!("DUBAN_DATABASE='{url}' "),
            format!("psql -X -At '{url}' -f '{}'", handwritten.display()),
            ", on PostgreSQL",
        ),
    };
    let hand_out = run(Command::new("sh")
        .args(["-c", &hand_script])
        .current_dir(dir));
    let dry_out = run(Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{env}{bin} dry-run {rules} --fresh --as-of {AS_OF} --format json"
        ))
        .current_dir(dir));
    let (h, d) = (hand_counts(&hand_out), duban_counts(&dry_out));
    assert_eq!(
        h, d,
        "duban and the hand-written SQL disagree on {}{on}",
        policy.label
    );
    let firings: u64 = d.values().sum();
    let rule_count = serde_json::from_str::<serde_json::Value>(&dry_out)
        .ok()
        .and_then(|v| v["rules"].as_array().map(|r| r.len()))
        .unwrap_or(0);
    let text = std::fs::read_to_string(&policy.handwritten).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    // Back to back, each format against the hand-written SQL measured
    // right before it: the machine is shared.
    for format in ["table", "json"] {
        let (hand, by) = match db {
            Db::Sqlite => (
                hand_in_bundled(&dir.join("duban.db"), &text, RUNS),
                format!("through duban's SQLite {}", rusqlite::version()),
            ),
            Db::Postgres { .. } => (
                measure(&format!("{hand_script} > /dev/null"), dir, RUNS).seconds,
                "in `psql`".to_string(),
            ),
        };
        // As it runs by default (its rules read side by side, a
        // connection per core), then on one connection.
        for jobs in [None, Some(1)] {
            let flag = jobs.map(|n| format!(" --jobs {n}")).unwrap_or_default();
            let dry = measure(
                &format!(
                    "{env}{bin} dry-run {rules} --fresh --as-of {AS_OF} --format {format}{flag} > /dev/null"
                ),
                dir,
                RUNS,
            );
            out.push((
                format!(
                    "dry-run of {} ({rule_count} rules), `--format {format}{flag}`: {firings} firings{on}",
                    policy.label
                ),
                format!(
                    "`duban dry-run` {:.2} s, {}",
                    dry.seconds,
                    mib(dry.peak_kib)
                ),
                format!("hand-written SQL {by}: {hand:.2} s"),
                format!("{:.2}×", dry.seconds / hand),
            ));
        }
    }
    if matches!(db, Db::Postgres { .. }) {
        return out;
    }
    let hand = measure(
        &format!(
            "sqlite3 -readonly duban.db '.read {}' > /dev/null",
            policy.handwritten.display()
        ),
        dir,
        RUNS,
    );
    let sqlite3 = run(Command::new("sqlite3").arg("--version"));
    out.push((
        format!("the same hand-written SQL for {}", policy.label),
        "—".into(),
        format!(
            "in the `sqlite3` shell (SQLite {}): {:.2} s",
            sqlite3.split_whitespace().next().unwrap_or("?"),
            hand.seconds
        ),
        "—".into(),
    ));
    out
}

/// Each rule's generated query (as `duban dry-run` runs it on a fresh
/// office) beside its hand-written one, both through duban's own SQLite:
/// (rule, generated seconds, hand-written seconds, rows — with the
/// hand-written query's beside them when it gave another number).
fn rules_side_by_side(db: &Path, policy: &Policy) -> Vec<(String, f64, f64, String)> {
    let compiled = compiled_rules(policy, duban::store::Dialect::Sqlite);
    let text = std::fs::read_to_string(&policy.handwritten).unwrap_or_else(|e| panic!("{e}"));
    let hand = by_rule(&text);
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    for c in &compiled {
        let Some(hand_sql) = hand.get(&c.rule) else {
            continue;
        };
        let mut bound = vec![rusqlite::types::Value::Text(AS_OF.to_string())];
        bound.extend(c.params.iter().map(|v| match v {
            duban::store::Value::Integer(i) => rusqlite::types::Value::Integer(*i),
            duban::store::Value::Real(r) => rusqlite::types::Value::Real(*r),
            duban::store::Value::Text(t) => rusqlite::types::Value::Text(t.clone()),
            _ => rusqlite::types::Value::Null,
        }));
        out.push(side_by_side(&c.rule, |which| match which {
            Which::Generated => step_all(&conn, &as_reported(c), &bound),
            Which::Handwritten => step_all(&conn, hand_sql, &[]),
        }));
    }
    out
}

/// A rule's generated query as a dry-run reads it: the subject and the
/// persons (ids, names, addresses), not the facts and template values only
/// a run's notices read (`Engine::dry_run`); without the subject order,
/// which the whole dry-run's figures include.
fn as_reported(c: &duban::compile::CompiledRule) -> String {
    let shown = c.person_columns_only(true);
    let list: Vec<String> = (0..c.column_count())
        .map(|k| match shown.contains(&k) {
            true => format!("f.c{k}"),
            false => "NULL".into(),
        })
        .collect();
    format!("SELECT {} FROM ({}) AS f", list.join(", "), c.sql)
}

/// The same on PostgreSQL: each rule's generated query (its parameters
/// written in as literals) beside its hand-written one in PostgreSQL's
/// spelling, every row sent to the client.
fn pg_rules_side_by_side(
    url: &str,
    policy: &Policy,
    handwritten: &str,
) -> Vec<(String, f64, f64, String)> {
    let compiled = compiled_rules(policy, duban::store::Dialect::Postgres);
    let hand = by_rule(handwritten);
    let mut client =
        postgres::Client::connect(url, postgres::NoTls).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    for c in &compiled {
        let Some(hand_sql) = hand.get(&c.rule) else {
            continue;
        };
        let mut sql = as_reported(c);
        // Highest first: ?12 before ?1.
        for (k, v) in c.params.iter().enumerate().rev() {
            let literal = match v {
                duban::store::Value::Integer(i) => i.to_string(),
                duban::store::Value::Real(r) => r.to_string(),
                duban::store::Value::Text(t) => format!("'{}'", t.replace('\'', "''")),
                _ => "NULL".into(),
            };
            sql = sql.replace(&format!("?{}", k + 2), &literal);
        }
        let sql = sql.replace("?1", &format!("'{AS_OF}'"));
        let mut time = |q: &str| {
            let started = std::time::Instant::now();
            let rows = client
                .simple_query(q)
                .unwrap_or_else(|e| panic!("{e:?}: {q}"))
                .iter()
                .filter(|m| matches!(m, postgres::SimpleQueryMessage::Row(_)))
                .count() as u64;
            (started.elapsed().as_secs_f64(), rows)
        };
        out.push(side_by_side(&c.rule, |which| match which {
            Which::Generated => time(&sql),
            Which::Handwritten => time(hand_sql),
        }));
    }
    out
}

enum Which {
    Generated,
    Handwritten,
}

/// A rule's two queries run back to back [`RUNS`] times: (rule, the
/// generated one's fastest seconds, the hand-written one's, rows — with
/// the hand-written query's beside them when it gave another number).
fn side_by_side(
    rule: &str,
    mut run: impl FnMut(Which) -> (f64, u64),
) -> (String, f64, f64, String) {
    let (mut generated, mut handwritten) = (f64::INFINITY, f64::INFINITY);
    let (mut rows, mut hand_rows) = (0, 0);
    for _ in 0..RUNS {
        let (t, n) = run(Which::Generated);
        generated = generated.min(t);
        rows = n;
        let (t, n) = run(Which::Handwritten);
        handwritten = handwritten.min(t);
        hand_rows = n;
    }
    let rows = if rows == hand_rows {
        rows.to_string()
    } else {
        format!("{rows} (hand-written: {hand_rows}, not the same answer)")
    };
    (rule.to_string(), generated, handwritten, rows)
}

/// A hand-written SQL file's statements by the rule each names first.
fn by_rule(text: &str) -> BTreeMap<String, String> {
    statements(text)
        .into_iter()
        .map(|sql| {
            let name = sql.split('\'').nth(1).unwrap_or("").to_string();
            (name, sql)
        })
        .collect()
}

/// The policy's rules compiled for `dialect`.
fn compiled_rules(
    policy: &Policy,
    dialect: duban::store::Dialect,
) -> Vec<duban::compile::CompiledRule> {
    use duban::lang::diagnostics::SourceMap;
    let mut sources = SourceMap::default();
    let files: Vec<PathBuf> = if policy.rules.is_dir() {
        let mut f: Vec<PathBuf> = std::fs::read_dir(&policy.rules)
            .unwrap_or_else(|e| panic!("{e}"))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "rules"))
            .collect();
        f.sort();
        f
    } else {
        vec![policy.rules.clone()]
    };
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{e}"));
        sources.add(f.display().to_string(), text);
    }
    let checked = duban::lang::check::check(sources);
    let p = checked
        .policy
        .unwrap_or_else(|| panic!("{} does not check", policy.rules.display()));
    duban::compile::compile_policy(&p, dialect)
}

/// Runs one statement, every row stepped and every column read: seconds
/// and rows.
fn step_all(
    conn: &rusqlite::Connection,
    sql: &str,
    bound: &[rusqlite::types::Value],
) -> (f64, u64) {
    let started = std::time::Instant::now();
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{e}: {sql}"));
    for (k, v) in bound.iter().enumerate().take(stmt.parameter_count()) {
        stmt.raw_bind_parameter(k + 1, v)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let width = stmt.column_count();
    let mut rows = stmt.raw_query();
    let mut n = 0;
    while let Some(row) = rows.next().unwrap_or_else(|e| panic!("{e}")) {
        for k in 0..width {
            std::hint::black_box(row.get_ref(k).unwrap_or_else(|e| panic!("{e}")));
        }
        n += 1;
    }
    (started.elapsed().as_secs_f64(), n)
}

/// The statements of an SQL file, comment lines left out.
fn statements(sql: &str) -> Vec<String> {
    sql.split(";\n")
        .map(|chunk| {
            chunk
                .lines()
                .filter(|l| !l.starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|s| !s.trim().is_empty())
        .collect()
}

fn main() {
    // `cargo bench` passes --bench; a filter may follow: only the
    // workloads whose name contains it (import, dry-run, rules, memory,
    // workdays, simulate, check).
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wants = |workload: &str| only.as_deref().is_none_or(|o| workload.contains(o));
    let bin = env!("CARGO_BIN_EXE_duban");
    let scale = common::scale();
    let base = common::base("bench-scale");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut rows: Vec<Row> = Vec::new();

    eprintln!("building the demo office at scale {scale} …");
    let (dir, ledgers, problems) = office(bin, &base, scale);
    let small_scale = (scale / 10).max(1);
    let (_, small_ledgers, small_problems) = office(bin, &base, small_scale);
    eprintln!("{problems} problems (and {small_problems} at scale {small_scale})");

    if wants("import") {
        // Import, beside sqlite3's .import.
        let indexes = case_indexes(bin, &base, &ledgers);
        eprintln!("the plain load builds {} indexes", indexes.len());
        for (label, led, n) in [
            ("import", &ledgers, problems),
            ("import, a tenth", &small_ledgers, small_problems),
        ] {
            let target = base.join(format!("import-{n}"));
            let script = format!(
                "rm -rf {t} && {bin} init {t} >/dev/null && cd {t} && {bin} import {l} >/dev/null",
                t = target.display(),
                l = led.display()
            );
            let m = measure(&script, &base, IMPORT_RUNS);
            let sq = measure(
                &sqlite_import_script(led, &base.join(format!("sqlite-{n}.db")), &indexes),
                &base,
                IMPORT_RUNS,
            );
            rows.push(versus(
                format!("{label}: {n} problems, 6 CSV ledgers"),
                ("`duban import`", &m),
                (
                    "`sqlite3 .import` into plain tables, then the same indexes:",
                    &sq,
                ),
            ));
        }
    }

    let example = Policy {
        label: "the example policy",
        rules: root.join("rules"),
        handwritten: root.join("benches/handwritten.sql"),
    };
    let eight = Policy {
        label: "the eight-rule policy (benches/eight)",
        rules: root.join("benches/eight/policy.rules"),
        handwritten: root.join("benches/eight/handwritten.sql"),
    };
    let mut per_rule: Vec<(String, String, f64, f64, String)> = Vec::new();
    for policy in [&example, &eight] {
        if wants("dry-run") {
            rows.extend(dry_run_rows(bin, &dir, policy, &Db::Sqlite));
        }
        if wants("rules") {
            for (rule, generated, hand, n) in rules_side_by_side(&dir.join("duban.db"), policy) {
                per_rule.push((policy.label.to_string(), rule, generated, hand, n));
            }
        }
    }

    let postgres = common::postgres();
    if let Some(server) = &postgres {
        if wants("pg-import") {
            // Import into an empty office on PostgreSQL, beside psql's
            // \copy into plain tables; each into a database made afresh.
            let indexes = pg_case_indexes(bin, &base, server, &ledgers);
            eprintln!(
                "the plain load on PostgreSQL builds {} indexes",
                indexes.len()
            );
            let (name, plain) = ("duban_bench_import", "duban_bench_plain");
            let script = format!(
                "{} && rm -rf {t} && {bin} init {t} --database '{url}' >/dev/null && cd {t} && {bin} import {l} >/dev/null",
                fresh_database_script(server, name),
                t = base.join("import-pg").display(),
                url = common::pg_url(server, name),
                l = ledgers.display()
            );
            let m = measure(&script, &base, IMPORT_RUNS);
            let pg = measure(
                &pg_import_script(server, plain, &ledgers, &indexes),
                &base,
                IMPORT_RUNS,
            );
            rows.push(versus(
                format!("import on PostgreSQL: {problems} problems, 6 CSV ledgers"),
                ("`duban import`", &m),
                (
                    &format!(
                        "`psql \\copy` into plain tables, then the same {} indexes:",
                        indexes.len()
                    ),
                    &pg,
                ),
            ));
            for db in [name, plain] {
                common::psql(server, &format!("DROP DATABASE {db} WITH (FORCE)"));
            }
        }
        if ["pg-dry-run", "pg-rules", "pg-simulate", "pg-memory"]
            .iter()
            .any(|w| wants(w))
        {
            // The same office copied to PostgreSQL (once), its dry-run
            // beside the hand-written SQL in psql, and each rule's query
            // beside its hand-written one.
            let (url, copy) = pg_copy(bin, server, &dir, scale);
            if let Some(m) = copy {
                rows.push((
                    format!("`db copy` of that office ({problems} problems) to PostgreSQL"),
                    format!("{:.1} s, {}", m.seconds, mib(m.peak_kib)),
                    "—".into(),
                    "—".into(),
                ));
            }
            let spelled = |policy: &Policy| {
                let text =
                    std::fs::read_to_string(&policy.handwritten).unwrap_or_else(|e| panic!("{e}"));
                postgres_spelling(&text)
            };
            if wants("pg-rules") {
                for policy in [&example, &eight] {
                    for (rule, generated, hand, n) in
                        pg_rules_side_by_side(&url, policy, &spelled(policy))
                    {
                        let label = format!("{}, on PostgreSQL", policy.label);
                        per_rule.push((label, rule, generated, hand, n));
                    }
                }
            }
            if wants("pg-dry-run") {
                for (policy, file) in [(&example, "example"), (&eight, "eight")] {
                    let handwritten = base.join(format!("handwritten-postgres-{file}.sql"));
                    std::fs::write(&handwritten, spelled(policy)).unwrap_or_else(|e| panic!("{e}"));
                    let url = url.clone();
                    rows.extend(dry_run_rows(
                        bin,
                        &dir,
                        policy,
                        &Db::Postgres { url, handwritten },
                    ));
                }
            }
            if wants("pg-simulate") {
                rows.push(simulate_row(
                    bin,
                    &dir,
                    &format!("DUBAN_DATABASE='{url}' "),
                    ", on PostgreSQL",
                ));
            }
            if wants("pg-memory") {
                let small_dir = base.join(format!("office-{small_scale}"));
                let (small_url, _) = pg_copy(bin, server, &small_dir, small_scale);
                let env = |url: &str| format!("DUBAN_DATABASE='{url}' ");
                rows.push(memory_row(
                    bin,
                    [(&dir, env(&url)), (&small_dir, env(&small_url))],
                    [problems, small_problems],
                    ", on PostgreSQL",
                ));
            }
        }
    }

    if wants("memory") {
        // Peak memory of the JSON at the full scale and at a tenth of it.
        let small_dir = base.join(format!("office-{small_scale}"));
        rows.push(memory_row(
            bin,
            [(&dir, String::new()), (&small_dir, String::new())],
            [problems, small_problems],
            "",
        ));
    }

    if wants("workdays") {
        // Working days: a rule in working days beside its calendar-day twin.
        let twins = [
            (
                "calendar-days",
                "overdue_days >= 30 and days_since(found_on) >= 60",
            ),
            (
                "working-days",
                "overdue_workdays >= 21 and workdays_since(found_on) >= 42",
            ),
        ];
        let mut twin_times = Vec::new();
        for (name, condition) in twins {
            let policy = base.join(format!("twin-{name}.rules"));
            std::fs::write(
                &policy,
                format!(
                    "rule twin for problem\n  when status != \"rectified\" and {condition}\n  then notify responsible\n"
                ),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            twin_times.push(measure(
                &format!(
                    "{bin} dry-run {} --fresh --as-of {AS_OF} --format json > /dev/null",
                    policy.display()
                ),
                &dir,
                RUNS,
            ));
        }
        rows.push(versus(
            "dry-run of a rule in working days".into(),
            (
                "`overdue_workdays >= 21 and workdays_since(found_on) >= 42`",
                &twin_times[1],
            ),
            (
                "its calendar-day twin `overdue_days >= 30 and days_since(found_on) >= 60`",
                &twin_times[0],
            ),
        ));
    }

    if wants("simulate") {
        rows.push(simulate_row(bin, &dir, "", ""));
    }

    if wants("check") {
        // Checking a large policy.
        let policy_dir = base.join("policy-1000");
        fresh_dir(&policy_dir);
        std::fs::write(policy_dir.join("big.rules"), duban::demo::policy(1000))
            .unwrap_or_else(|e| panic!("{e}"));
        let check = measure(
            &format!("{bin} check {} > /dev/null", policy_dir.display()),
            &base,
            RUNS,
        );
        rows.push((
            "check a generated 1,000-rule policy".into(),
            format!(
                "`duban check` {:.3} s, {}",
                check.seconds,
                mib(check.peak_kib)
            ),
            "—".into(),
            "—".into(),
        ));
    }

    println!("\n| workload | duban | comparison | ratio |\n|---|---|---|---|");
    for (w, a, b, r) in rows {
        println!("| {w} | {a} | {b} | {r} |");
    }
    println!(
        "\nfastest of {RUNS} runs (import: of {IMPORT_RUNS}; `simulate --day-by-day`: one), wall time and peak RSS; `cargo bench --bench scale`, DUBAN_BENCH_SCALE={scale}"
    );
    if let Some(server) = &postgres {
        println!("PostgreSQL {}", common::pg_settings(server));
    }
    if !per_rule.is_empty() {
        println!(
            "\n| policy | rule | subjects | generated SQL | hand-written SQL | ratio |\n|---|---|---|---|---|---|"
        );
        for (policy, rule, generated, hand, n) in per_rule {
            println!(
                "| {policy} | {rule} | {n} | {generated:.3} s | {hand:.3} s | {:.2}× |",
                generated / hand
            );
        }
        println!(
            "\neach rule's query through duban's own SQLite, every row stepped and every column read (on PostgreSQL: through the simple query protocol, every row sent to the client, the generated query's parameters written in), fastest of {RUNS} runs, the two back to back"
        );
    }
}
