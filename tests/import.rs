//! Setting up an office and importing its ledgers, through the binary, on
//! real SQLite files: `init`, every table round-tripped, each kind of bad
//! input rejected with file:line:field and the database untouched, GBK and
//! Excel ledgers, and idempotent re-imports.

mod common;
use common::{Office, duban, fixture};
use predicates::str::contains;

fn stderr_of(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn init_sets_up_an_office_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    duban().arg("init").arg(dir.path()).assert().success();
    for f in ["duban.toml", "rules/00-policy.rules", "duban.db"] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("duban.db"))
            .map(|m| m.permissions().mode())
            .unwrap_or(0);
        assert_eq!(
            mode & 0o777,
            0o600,
            "the database is readable by its owner only"
        );
    }
    duban()
        .current_dir(dir.path())
        .arg("check")
        .assert()
        .success();
    std::fs::write(dir.path().join("duban.toml"), "# mine\n").unwrap_or_else(|e| panic!("{e}"));
    duban()
        .arg("init")
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(contains("does not overwrite"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("duban.toml")).unwrap_or_default(),
        "# mine\n"
    );
}

#[test]
fn every_table_round_trips_through_csv() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let demo = dir.path().join("demo");
    let ledgers = dir.path().join("ledgers");
    duban()
        .args([
            "demo",
            "--scale",
            "2",
            "--as-of",
            "2026-11-22",
            "--no-run",
            "--dir",
        ])
        .arg(&demo)
        .arg("--csv")
        .arg(&ledgers)
        .assert()
        .success();
    let office = Office::empty();
    office
        .cmd()
        .arg("import")
        .arg(&ledgers)
        .assert()
        .success()
        .stdout(contains("inserted"));
    let theirs = duban::store::open_file(&demo.join("duban.db")).unwrap_or_else(|e| panic!("{e}"));
    let ours = office.db();
    for table in [
        "persons",
        "organizations",
        "rounds",
        "inspections",
        "problems",
        "tasks",
    ] {
        // The same value reads alike from either database (a day is text
        // in SQLite, a date in PostgreSQL).
        let rows = |db: &duban::store::Db| -> Vec<String> {
            let mut s = db
                .prepare(&format!("SELECT * FROM {table} ORDER BY id"))
                .unwrap_or_else(|e| panic!("{e}"));
            let n = s.column_count();
            s.query_map([], |r| {
                Ok((0..n)
                    .map(|i| {
                        let v = r.get::<_, duban::store::Value>(i).ok();
                        match v.as_ref().map(|v| v.as_ref().text()) {
                            Some(Some(text)) => format!("{text:?}"),
                            _ => format!("{v:?}"),
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .and_then(|r| r.collect())
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let (a, b) = (rows(&theirs), rows(&ours));
        assert!(!a.is_empty(), "{table} is empty in the demo");
        assert_eq!(a, b, "{table} differs after the round trip");
    }
}

#[test]
fn the_same_import_twice_changes_nothing() {
    let office = Office::empty();
    office
        .cmd()
        .arg("import")
        .arg(fixture("office"))
        .assert()
        .success();
    let before = office.dump();
    office
        .cmd()
        .arg("import")
        .arg(fixture("office"))
        .assert()
        .success()
        .stdout(contains("6 rows: 0 inserted, 0 updated, 6 unchanged"));
    assert_eq!(office.dump(), before);
    // A changed cell updates that row only.
    office.write("u/problems.csv", "id,inspection_id,status\np1,i1,整改中\n");
    office
        .cmd()
        .args(["import", "u/problems.csv"])
        .assert()
        .success()
        .stdout(contains("1 rows: 0 inserted, 1 updated"));
    assert_eq!(
        office.count(
            "SELECT count(*) FROM problems WHERE status = 'rectifying' AND deadline = '2026-04-01'"
        ),
        1
    );
}

/// Each bad ledger is rejected whole, says where, and leaves the database
/// as it was.
#[test]
fn bad_ledgers_are_rejected_with_file_line_and_field() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "problems.csv",
            "id,inspection_id,deadline\nq1,i1,2026-01-31\nq2,i1,2026-13-01\n",
            "problems.csv:3: deadline: \"2026-13-01\" is not a date",
        ),
        (
            "problems.csv",
            "id,inspection_id,deadline,status\nq1,i1,2026-09-30,done\n",
            "problems.csv:2: status: \"done\" is not a problem status",
        ),
        (
            "problems.csv",
            "id,inspection_id,deadline,severity\nq1,i1,2026-09-30,很严重\n",
            "problems.csv:2: severity: \"很严重\" is not a severity",
        ),
        (
            "problems.csv",
            "id,inspection_id,deadline\nq1,i9,2026-09-30\n",
            "problems.csv:2: inspection_id: no inspection \"i9\"",
        ),
        (
            "problems.csv",
            "id,inspection_id,deadline\nq1,i1,2026-09-30\nq1,i1,2026-09-30\n",
            "problems.csv:3: id: \"q1\" appears twice (first at problems.csv:2)",
        ),
        (
            "problems.csv",
            "id,deadline\nq1,2026-01-01\n",
            "problems.csv:2: inspection_id: missing (a new problem needs one; only a row that updates a record may leave the column out)",
        ),
        (
            "problems.csv",
            "id,inspection_id\nq1,i1\n",
            "problems.csv:2: deadline: missing (a new problem needs one",
        ),
        (
            "problems.csv",
            "id,inspection_id,deadline\nq1,i1,\n",
            "problems.csv:2: deadline: missing (every problem needs one)",
        ),
        (
            "problems.csv",
            "inspection_id,deadline\ni1,2026-01-01\n",
            "problems.csv:1: missing required column `id`",
        ),
        (
            "inspections.csv",
            "id,round_id\ni9,r1\n",
            "inspections.csv:2: organization_id: missing (a new inspection needs one",
        ),
        (
            "tasks.csv",
            "id,subject_id,kind\nt9,p1,reminder_talk\n",
            "tasks.csv:2: subject_type: missing (a new task needs one",
        ),
        (
            "problems.csv",
            "id,inspection_id,deadline\n,i1,2026-09-30\n",
            "problems.csv:2: id: missing",
        ),
        (
            "problems.csv",
            "id,inspection_id,deadline\nq1,i1,2026-09-30,extra\n",
            "problems.csv:2: 4 cells but the header has 3 columns",
        ),
        (
            "inspections.csv",
            "id,round_id,organization_id\ni9,r1,\n",
            "inspections.csv:2: organization_id: missing",
        ),
        (
            "tasks.csv",
            "id,subject_type,subject_id,kind\nt9,problem,p99,reminder_talk\n",
            "tasks.csv:2: subject_id: no problem \"p99\"",
        ),
        (
            "tasks.csv",
            "id,subject_type,subject_id,kind\nt9,person,u1,reminder_talk\n",
            "tasks.csv:2: subject_type: \"person\" is not a subject type",
        ),
        (
            "persons.csv",
            "id,name,organization_id\nu9,新人,o9\n",
            "persons.csv:2: organization_id: no organization \"o9\"",
        ),
        (
            "ledger.csv",
            "id,name\nx,y\n",
            "cannot tell which table this is",
        ),
    ];
    for (file, text, expected) in cases {
        assert_rejected(file, text, expected);
    }
}

/// What `duban import PATH` did.
fn import(office: &Office, path: &str) -> std::process::Output {
    office
        .cmd()
        .args(["import", path])
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `duban import PATH` exits 1; what it said.
fn rejected(office: &Office, path: &str) -> String {
    let out = import(office, path);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "import {path}:\n{err}");
    err
}

/// Importing `text` as `file` into the fixture office exits 1, says
/// `expected`, and leaves the database as it was.
fn assert_rejected(file: &str, text: &str, expected: &str) {
    let office = Office::fixture();
    let before = office.dump();
    office.write(&format!("in/{file}"), text);
    let err = rejected(&office, &format!("in/{file}"));
    assert!(
        err.contains(expected),
        "{file}: expected `{expected}` in:\n{err}"
    );
    assert_eq!(office.dump(), before, "{file}: the database changed");
}

/// A file that updates records may leave out the columns a new record
/// needs (`inspection_id`, `deadline`); a row in it that would add a record
/// is refused, naming each column.
#[test]
fn an_update_may_leave_out_what_a_new_record_needs() {
    let office = Office::fixture();
    office.write("u/problems.csv", "id,status\np1,整改中\np2,已整改\n");
    office
        .cmd()
        .args(["import", "u/problems.csv"])
        .assert()
        .success()
        .stdout(contains("2 rows: 0 inserted, 2 updated"));
    assert_eq!(
        office.count("SELECT count(*) FROM problems WHERE id IN ('p1', 'p2') AND inspection_id = 'i1' AND deadline IS NOT NULL"),
        2
    );
    // Only ids: nothing changes, nothing fails.
    office.write("v/problems.csv", "id\np1\n");
    office
        .cmd()
        .args(["import", "v/problems.csv"])
        .assert()
        .success()
        .stdout(contains("1 rows: 0 inserted, 0 updated, 1 unchanged"));
    assert_rejected(
        "problems.csv",
        "id,status\np1,已整改\nq7,未整改\n",
        "problems.csv:3: deadline: missing (a new problem needs one",
    );
    assert_rejected(
        "problems.csv",
        "id,status\np1,已整改\nq7,未整改\n",
        "problems.csv:3: inspection_id: missing (a new problem needs one",
    );
}

#[test]
fn one_bad_file_rejects_the_whole_import() {
    let office = Office::fixture();
    let before = office.dump();
    office.write("in/persons.csv", "id,name\nu8,新同志\n");
    office.write(
        "in/problems.csv",
        "id,inspection_id,deadline,found_on\nq1,i1,2026-09-30,昨天\nq2,i1,2026-09-30,2026/2/30\n",
    );
    let err = rejected(&office, "in");
    // Every error is listed, not just the first.
    assert!(
        err.contains("problems.csv:2: found_on") && err.contains("problems.csv:3: found_on"),
        "{err}"
    );
    assert!(err.contains("the database is unchanged"), "{err}");
    assert_eq!(office.dump(), before);
}

#[test]
fn references_may_arrive_in_the_same_import() {
    let office = Office::empty();
    office.write(
        "in/problems.csv",
        "id,inspection_id,deadline\nq1,i1,2026-01-05\n",
    );
    office.write(
        "in/inspections.csv",
        "id,round_id,organization_id,leader_id\ni1,r1,o1,u1\n",
    );
    office.write("in/rounds.csv", "id,name\nr1,第一轮\n");
    // Persons and organizations name each other.
    office.write(
        "in/organizations.csv",
        "id,name,secretary_id\no1,市教育局,u1\n",
    );
    office.write("in/persons.csv", "id,name,organization_id\nu1,张三,o1\n");
    office.cmd().args(["import", "in"]).assert().success();
    assert_eq!(office.count("SELECT count(*) FROM problems"), 1);
}

/// An empty table is filled without the per-row bookkeeping of an update
/// (its lines are kept by row number, a repeated id is caught by the
/// primary key): the same errors, on the same lines, as in a full office.
#[test]
fn an_empty_office_gets_the_same_errors_on_the_same_lines() {
    let office = Office::empty();
    let before = office.dump();
    office.write(
        "in/organizations.csv",
        "id,name,parent_id\no1,甲,\no2,乙,o3\no3,丙,o2\n",
    );
    office.write("in/rounds.csv", "id,name\nr1,第一轮\n");
    office.write(
        "in/inspections.csv",
        "id,round_id,organization_id\ni1,r1,o1\n",
    );
    office.write(
        "in/problems.csv",
        "id,inspection_id,deadline\nq1,i1,2026-01-05\nq2,i1,2026-13-01\n\"q3\",i9,2026-01-05\nq1,i1,2026-01-06\nq4,i1,2026-01-07\nq5,i8,2026-01-05\n",
    );
    // q2 was refused for its date: naming it is not a second error.
    office.write(
        "in/tasks.csv",
        "id,subject_type,subject_id,kind\nt1,problem,q2,reminder_talk\nt2,problem,q9,reminder_talk\nt3,problem,q4,reminder_talk\n",
    );
    let err = rejected(&office, "in");
    let listed: Vec<&str> = err.lines().filter(|l| l.contains(".csv:")).collect();
    let expected = [
        "organizations.csv:3: parent_id: organization \"o2\" would be its own ancestor (its parent_id chain comes back to it)",
        "organizations.csv:4: parent_id: organization \"o3\" would be its own ancestor (its parent_id chain comes back to it)",
        "problems.csv:3: deadline: \"2026-13-01\" is not a date (write 2026-01-05, 2026/1/5 or 2026年1月5日)",
        "problems.csv:4: inspection_id: no inspection \"i9\" (neither in the database nor in this import)",
        "problems.csv:5: id: \"q1\" appears twice (first at problems.csv:2)",
        "problems.csv:7: inspection_id: no inspection \"i8\" (neither in the database nor in this import)",
        "tasks.csv:3: subject_id: no problem \"q9\" (neither in the database nor in this import)",
    ];
    assert_eq!(listed, expected, "{err}");
    assert_eq!(office.dump(), before, "the database changed");
}

/// An id repeated in a second file of the same table, or in the same file
/// after many others, is found with the line where it was first seen; the
/// rows in between are not taken for repeats.
#[test]
fn a_repeated_id_names_its_first_line_across_files() {
    let office = Office::fixture();
    let before = office.dump();
    let mut many = String::from("id,inspection_id,deadline\n");
    for i in 0..3000 {
        many.push_str(&format!("n{i},i1,2026-01-05\n"));
    }
    many.push_str("n17,i1,2026-01-06\n");
    office.write("a/problems.csv", &many);
    office.write(
        "b/problem.csv",
        "id,inspection_id,deadline\nm1,i1,2026-01-05\nn2999,i1,2026-01-05\nm1,i1,2026-01-05\n",
    );
    let err = rejected(&office, "a/problems.csv");
    let listed: Vec<&str> = err.lines().filter(|l| l.contains(".csv:")).collect();
    assert_eq!(
        listed,
        ["problems.csv:3002: id: \"n17\" appears twice (first at problems.csv:19)"],
        "{err}"
    );
    let out = office
        .cmd()
        .args(["import", "a/problems.csv", "b/problem.csv"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let listed: Vec<&str> = err.lines().filter(|l| l.contains(".csv:")).collect();
    assert_eq!(
        listed,
        [
            "problem.csv:3: id: \"n2999\" appears twice (first at problems.csv:3001)",
            "problem.csv:4: id: \"m1\" appears twice (first at problem.csv:2)",
            "problems.csv:3002: id: \"n17\" appears twice (first at problems.csv:19)",
        ],
        "{err}"
    );
    assert_eq!(office.dump(), before, "the database changed");
}

/// `duban import PATH` succeeds; what it printed.
fn imported(office: &Office, path: &str) -> String {
    let out = import(office, path);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "import {path}:\n{}", stderr_of(&out));
    said
}

/// The indexes and references of an empty office's tables, as the
/// database lists them.
fn schema_of(office: &Office) -> Vec<String> {
    let db = office.db();
    let sql = match db.dialect() {
        duban::store::Dialect::Sqlite => {
            "SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master ORDER BY name"
        }
        duban::store::Dialect::Postgres => {
            "SELECT indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = current_schema()
             UNION ALL
             SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
               FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
             ORDER BY 1"
        }
    };
    let mut stmt = db.prepare(sql).unwrap_or_else(|e| panic!("{e}"));
    stmt.query_map([], |r| r.get(0))
        .and_then(|r| r.collect())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Tables filled from empty are indexed and their references checked after
/// their rows are in: the office keeps every index and reference it had,
/// whether the import commits or is refused, and a record named by
/// another stays undeletable.
#[test]
fn an_import_into_an_empty_office_keeps_its_indexes_and_references() {
    let office = Office::empty();
    let schema = schema_of(&office);
    assert!(schema.len() > 10, "{schema:?}");
    office.write("bad/rounds.csv", "id,name\nr1,第一轮\n");
    office.write(
        "bad/inspections.csv",
        "id,round_id,organization_id\ni1,r1,o9\n",
    );
    let err = rejected(&office, "bad");
    assert!(
        err.contains("inspections.csv:2: organization_id: no organization \"o9\""),
        "{err}"
    );
    assert_eq!(schema_of(&office), schema);
    office.write(
        "in/problems.csv",
        "id,inspection_id,deadline,responsible_id\nq1,i1,2026-01-05,u1\n",
    );
    office.write(
        "in/inspections.csv",
        "id,round_id,organization_id,leader_id\ni1,r1,o1,u1\n",
    );
    office.write("in/rounds.csv", "id,name\nr1,第一轮\n");
    office.write("in/organizations.csv", "id,name\no1,市教育局\n");
    office.write("in/persons.csv", "id,name,organization_id\nu1,张三,o1\n");
    office.cmd().args(["import", "in"]).assert().success();
    assert_eq!(schema_of(&office), schema);
    let db = office.db();
    assert!(
        db.execute_batch("DELETE FROM inspections").is_err(),
        "an inspection with problems was deleted"
    );
    assert_eq!(office.count("SELECT count(*) FROM inspections"), 1);
}

/// One import into tables that hold rows and tables that are empty, in
/// either order (PostgreSQL checks the references of the first at COMMIT
/// and adds those of the second after their rows): both commit, the
/// office keeps its indexes and references.
#[test]
fn an_import_into_some_empty_tables_and_some_full_ones() {
    let office = Office::empty();
    let schema = schema_of(&office);
    office.write("a/organizations.csv", "id,name\no1,市教育局\n");
    office.cmd().args(["import", "a"]).assert().success();
    // Persons are filled from empty, then organizations updated.
    office.write("b/persons.csv", "id,name,organization_id\nu1,张三,o1\n");
    office.write(
        "b/organizations.csv",
        "id,name,secretary_id\no1,市教育局,u1\no2,市卫健委,u1\n",
    );
    let said = imported(&office, "b");
    assert!(
        said.contains("2 rows: 1 inserted, 1 updated, 0 unchanged"),
        "{said}"
    );
    // Persons updated, then inspections and problems filled from empty.
    office.write("c/persons.csv", "id,name,organization_id\nu1,张三,o2\n");
    office.write("c/rounds.csv", "id,name\nr1,第一轮\n");
    office.write(
        "c/inspections.csv",
        "id,round_id,organization_id,leader_id\ni1,r1,o1,u1\n",
    );
    office.write(
        "c/problems.csv",
        "id,inspection_id,deadline,responsible_id\nq1,i1,2026-01-05,u1\n",
    );
    let said = imported(&office, "c");
    assert!(
        said.contains("1 rows: 0 inserted, 1 updated, 0 unchanged"),
        "{said}"
    );
    assert_eq!(schema_of(&office), schema);
    assert_eq!(
        office.count("SELECT count(*) FROM problems p JOIN persons u ON u.id = p.responsible_id WHERE u.organization_id = 'o2'"),
        1
    );
}

#[test]
fn office_date_forms_chinese_labels_and_unknown_columns() {
    let office = Office::fixture();
    office.write(
        "in/problems.csv",
        "编号,巡察,严重程度,整改期限,状态,备注\nq1,i1,严重,2026年1月5日,整改中,hello\nq2,i1,minor,2026/1/6,rectified,\n",
    );
    let out = office
        .cmd()
        .args(["import", "in/problems.csv"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("column `备注` is not a field of problem"));
    assert_eq!(office.count("SELECT count(*) FROM problems WHERE id = 'q1' AND severity = 'serious' AND deadline = '2026-01-05' AND status = 'rectifying'"), 1);
    assert_eq!(
        office.count("SELECT count(*) FROM problems WHERE id = 'q2' AND deadline = '2026-01-06'"),
        1
    );
}

#[test]
fn gbk_ledgers_import_with_correct_chinese() {
    let office = Office::fixture();
    let text = "id,name,email,title\nu7,欧阳修远,ouyang@example.org,纪检组长\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(text);
    assert!(std::str::from_utf8(&gbk).is_err(), "the file really is GBK");
    office.write("in/persons.csv", "");
    std::fs::write(office.path("in/persons.csv"), &gbk).unwrap_or_else(|e| panic!("{e}"));
    office
        .cmd()
        .args(["import", "in/persons.csv"])
        .assert()
        .success();
    let name: String = office
        .db()
        .query_row(
            "SELECT name || '/' || title FROM persons WHERE id = 'u7'",
            [],
            |r| r.get(0),
        )
        .unwrap_or_default();
    assert_eq!(name, "欧阳修远/纪检组长");
    // With a byte-order mark, UTF-8 works the same.
    office.write("in/persons.csv", "\u{feff}id,name\nu6,司马光\n");
    office
        .cmd()
        .args(["import", "in/persons.csv"])
        .assert()
        .success();
    assert_eq!(
        office.count("SELECT count(*) FROM persons WHERE name = '司马光'"),
        1
    );
}

#[test]
fn bytes_that_are_no_text_are_an_error_with_a_line() {
    let office = Office::fixture();
    let before = office.dump();
    // Valid UTF-8 for the first 64 KiB, then a stray byte.
    let mut bytes = b"id,name\n".to_vec();
    for i in 0..8000 {
        bytes.extend(format!("x{i},张三{i}\n").as_bytes());
    }
    bytes.extend(b"bad,\xff\xfe\n");
    std::fs::create_dir_all(office.path("in")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(office.path("in/persons.csv"), &bytes).unwrap_or_else(|e| panic!("{e}"));
    let out = office
        .cmd()
        .args(["import", "in/persons.csv"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("persons.csv:8002: not valid UTF-8"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(office.dump(), before);
}

#[test]
fn excel_workbooks_import_a_sheet_per_table() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let office = Office::fixture();
    let mut wb = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let sheet = wb
        .add_worksheet()
        .set_name("问题")
        .unwrap_or_else(|e| panic!("{e}"));
    for (c, h) in ["编号", "巡察", "整改期限", "状态", "责任人"]
        .iter()
        .enumerate()
    {
        sheet
            .write_string(0, c as u16, *h)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    sheet
        .write_number(1, 0, 1001.0)
        .unwrap_or_else(|e| panic!("{e}"));
    sheet
        .write_string(1, 1, "i1")
        .unwrap_or_else(|e| panic!("{e}"));
    let d = ExcelDateTime::from_ymd(2026, 3, 15).unwrap_or_else(|e| panic!("{e}"));
    sheet
        .write_datetime_with_format(1, 2, &d, &date)
        .unwrap_or_else(|e| panic!("{e}"));
    sheet
        .write_string(1, 3, "未整改")
        .unwrap_or_else(|e| panic!("{e}"));
    sheet
        .write_string(1, 4, "u1")
        .unwrap_or_else(|e| panic!("{e}"));
    sheet
        .write_number(2, 0, 1002.0)
        .unwrap_or_else(|e| panic!("{e}"));
    sheet
        .write_string(2, 1, "i1")
        .unwrap_or_else(|e| panic!("{e}"));
    sheet
        .write_string(2, 2, "2026年4月1日")
        .unwrap_or_else(|e| panic!("{e}"));
    sheet
        .write_string(2, 3, "不存在")
        .unwrap_or_else(|e| panic!("{e}"));
    let notes = wb
        .add_worksheet()
        .set_name("说明")
        .unwrap_or_else(|e| panic!("{e}"));
    notes
        .write_string(0, 0, "本台账由巡察办整理")
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(office.path("in")).unwrap_or_else(|e| panic!("{e}"));
    wb.save(office.path("in/整改台账.xlsx"))
        .unwrap_or_else(|e| panic!("{e}"));

    // Row 3 has a bad status: rejected, with the sheet named.
    let before = office.dump();
    let out = office
        .cmd()
        .args(["import", "in/整改台账.xlsx"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("整改台账.xlsx[问题]:3: status: \"不存在\""),
        "{}",
        stderr_of(&out)
    );
    assert!(
        stderr_of(&out).contains("[说明]: sheet not named after a table; skipped"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(office.dump(), before);

    // Fixed, it imports: Excel dates and numeric ids come through as text.
    let mut wb = Workbook::new();
    let sheet = wb
        .add_worksheet()
        .set_name("problems")
        .unwrap_or_else(|e| panic!("{e}"));
    for (c, h) in ["id", "inspection_id", "deadline"].iter().enumerate() {
        sheet
            .write_string(0, c as u16, *h)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    sheet
        .write_number(1, 0, 1001.0)
        .unwrap_or_else(|e| panic!("{e}"));
    sheet
        .write_string(1, 1, "i1")
        .unwrap_or_else(|e| panic!("{e}"));
    sheet
        .write_datetime_with_format(1, 2, &d, &date)
        .unwrap_or_else(|e| panic!("{e}"));
    wb.save(office.path("in/整改台账.xlsx"))
        .unwrap_or_else(|e| panic!("{e}"));
    office
        .cmd()
        .args(["import", "in/整改台账.xlsx"])
        .assert()
        .success();
    assert_eq!(
        office.count("SELECT count(*) FROM problems WHERE id = '1001' AND deadline = '2026-03-15'"),
        1
    );
}

#[test]
fn no_progress_bar_when_not_a_terminal() {
    let office = Office::empty();
    let out = office
        .cmd()
        .arg("import")
        .arg(fixture("office"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success());
    assert_eq!(stderr_of(&out), "", "nothing but the summary, on stdout");
    assert!(String::from_utf8_lossy(&out.stdout).contains("4 rows: 4 inserted"));
}

#[test]
fn config_mistakes_name_the_key() {
    let office = Office::empty();
    office.write("duban.toml", "databse = \"x.db\"\n");
    office
        .cmd()
        .args(["status"])
        .assert()
        .code(1)
        .stderr(contains("databse"));
    office.write("duban.toml", "[mail]\ntransport = \"pigeon\"\n");
    office
        .cmd()
        .args(["status"])
        .assert()
        .code(1)
        .stderr(contains("transport"));
    office.write("duban.toml", "[delivery]\nmax_attempts = \"many\"\n");
    office
        .cmd()
        .args(["status"])
        .assert()
        .code(1)
        .stderr(contains("max_attempts"));
    // Paths are relative to the config file, wherever duban runs.
    office.write("duban.toml", "database = \"data/case.db\"\n");
    duban()
        .arg("--config")
        .arg(office.path("duban.toml"))
        .arg("status")
        .assert()
        .code(1)
        .stderr(contains("data/case.db"));
}

/// Malformed ledgers that used to get in: each is rejected whole, with
/// file:line: field: message, and the database is unchanged.
#[test]
fn malformed_ledgers_are_rejected_whole() {
    let ten = "id,inspection_id,category,severity,description,found_on,deadline,status,rectified_on,responsible_id";
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "problems.csv",
            format!("{ten}\np10,i1,x,minor\n"),
            "problems.csv:2: 4 cells but the header has 10 columns",
        ),
        (
            "persons.csv",
            "id,name,email\nu8,\"王五,w@example.org\nu9,赵六,z@example.org\nu10,钱七,q@example.org\n".into(),
            "persons.csv:2: a quote (\") opened in this row is never closed",
        ),
        (
            "persons.csv",
            "id,name,email\nu8,王五,wangwu.example.org\n".into(),
            "persons.csv:2: email: \"wangwu.example.org\" is not an email address",
        ),
        (
            "persons.csv",
            "id,name\nu8,王\u{0}五\n".into(),
            "persons.csv:2: name: a control character (U+0000)",
        ),
        (
            "persons.csv",
            "id,name\nu8,王\u{7}五\n".into(),
            "persons.csv:2: name: a control character (U+0007)",
        ),
        (
            "persons.csv",
            "id,name,mobile\nu8,王五,1380abc\n".into(),
            "persons.csv:2: mobile: \"1380abc\" is not a mobile number",
        ),
        (
            "organizations.csv",
            "id,name,parent_id\noa,甲,ob\nob,乙,oa\n".into(),
            "organizations.csv:2: parent_id: organization \"oa\" would be its own ancestor",
        ),
        (
            "organizations.csv",
            "id,name,parent_id\noc,丙,oc\n".into(),
            "organizations.csv:2: parent_id: organization \"oc\" would be its own ancestor",
        ),
        (
            "problms.csv",
            "id,inspection_id\nq1,i1\n".into(),
            "did you mean `problems`?",
        ),
    ];
    for (file, text, expected) in &cases {
        assert_rejected(file, text, expected);
    }
}

/// Text with a tab, a line break, backslashes, quotes and `\N` (COPY's
/// own spelling of "no value") comes back exactly as the ledger has it,
/// on either database, in a new record and in an updated one.
#[test]
fn awkward_text_comes_back_exactly() {
    let office = Office::fixture();
    let description = "三会一课\t落实不严格\n第二行：\"引号\" 'single' C:\\temp\\N 末尾\\";
    let name = "王\t五 \\N";
    let quoted = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    office.write(
        "u/persons.csv",
        &format!(
            "id,name,email,title,organization_id\nu9,{},wangwu@example.org,\\N,o1\n",
            quoted(name)
        ),
    );
    office.write(
        "u/problems.csv",
        &format!(
            "id,inspection_id,description\np1,i1,{}\n",
            quoted(description)
        ),
    );
    office
        .cmd()
        .args(["import", "u"])
        .assert()
        .success()
        .stdout(contains("1 rows: 1 inserted"))
        .stdout(contains("1 rows: 0 inserted, 1 updated"));
    let text = |sql: &str| -> Option<String> {
        office
            .db()
            .query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    assert_eq!(
        text("SELECT description FROM problems WHERE id = 'p1'").as_deref(),
        Some(description)
    );
    assert_eq!(
        text("SELECT name FROM persons WHERE id = 'u9'").as_deref(),
        Some(name)
    );
    assert_eq!(
        text("SELECT title FROM persons WHERE id = 'u9'").as_deref(),
        Some("\\N")
    );
    // Imported again: nothing changes.
    office
        .cmd()
        .args(["import", "u"])
        .assert()
        .success()
        .stdout(contains("1 rows: 0 inserted, 0 updated, 1 unchanged"));
}
