//! Versioned migrations, applied on open (`PRAGMA user_version`).
//!
//! Migration 1 creates the six case tables from the schema module — every
//! stored field a column, every reference an indexed `_id` column — and the
//! engine's own tables: episodes, runs, audit, outbox, schedule state.
//! A later change to the schema module needs a new migration here (a new
//! column: an entry in `ADDED_LATER`); the test at the bottom fails until
//! the database and the schema agree.

use super::dialect::TextKind;
use super::{Db, Dialect};
use crate::error::{Error, Result};
use crate::schema::{ENTITIES, Entity, FieldType};
use rusqlite_migration::{M, Migrations};

/// The columns of a case table that the engine adds beyond the schema's
/// fields (tasks only): provenance of the tasks duban creates.
pub const TASK_ENGINE_COLUMNS: &[(&str, &str)] = &[
    ("seq", "INTEGER"),
    ("episode_id", "INTEGER"),
    ("policy_hash", "TEXT"),
    ("facts", "TEXT"),
    ("created_at", "TEXT"),
    ("closed_by", "TEXT"),
    ("closed_at", "TEXT"),
    ("cancel_reason", "TEXT"),
];

/// Case columns added after migration 1, with the migration that adds
/// them: migration 1 is generated from the schema module without them.
const ADDED_LATER: &[(&str, &str, usize)] = &[("persons", "mobile", 2)];

fn added_later(table: &str, col: &str) -> Option<usize> {
    ADDED_LATER
        .iter()
        .find(|(t, c, _)| *t == table && *c == col)
        .map(|(_, _, v)| *v)
}

/// A case column's definition, and its index when it is a reference.
fn column_def(table: &str, f: &crate::schema::FieldDef) -> Option<(String, Option<String>)> {
    let col = f.column()?;
    let ty = if matches!(f.ty, FieldType::Number) {
        "REAL"
    } else {
        "TEXT"
    };
    let mut def = format!("{col} {ty}");
    if f.name == "id" {
        def.push_str(" PRIMARY KEY NOT NULL");
    } else if f.required {
        def.push_str(" NOT NULL");
    }
    if let Some(default) = f.default {
        def.push_str(&format!(" DEFAULT '{default}'"));
    }
    let mut index = None;
    match f.ty {
        FieldType::Enum(e) => {
            let codes: Vec<&str> = e.values.iter().map(|(c, _)| *c).collect();
            def.push_str(&format!(" CHECK ({})", one_of(&col, &codes)));
        }
        FieldType::Ref(target) => {
            def.push_str(&format!(
                " REFERENCES {}(id) DEFERRABLE INITIALLY DEFERRED",
                target.table()
            ));
            index = Some(format!("CREATE INDEX {table}_{col} ON {table}({col});"));
        }
        _ => {}
    }
    Some((def, index))
}

/// Columns of the tasks table added by migration 5 (approval).
pub const TASK_APPROVAL_COLUMNS: &[(&str, &str)] = &[
    // the approval request a pending task waits for
    ("approval_id", "TEXT"),
    // a pending task's time limit (`7 days`, `5 workdays`), counted from
    // the day it is approved
    ("due_in", "TEXT"),
];

/// `CREATE TABLE` and `CREATE INDEX` statements for the case tables, as
/// migration 1 made them.
pub fn case_tables_sql() -> String {
    let mut sql = String::new();
    for d in ENTITIES {
        let (table, indexes) = table_sql(d, d.table, false);
        sql.push_str(&table);
        for i in indexes {
            sql.push_str(&i);
            sql.push('\n');
        }
    }
    sql
}

/// The columns of table `d` and its indexes, as migration 1 made them;
/// with `current`, as they are now (columns added later included).
fn columns_sql(d: &crate::schema::EntityDef, current: bool) -> (Vec<String>, Vec<String>) {
    let mut cols = Vec::new();
    let mut indexes = Vec::new();
    for f in d.fields.iter().filter(|f| f.is_stored()) {
        if !current
            && f.column()
                .is_some_and(|c| added_later(d.table, &c).is_some())
        {
            continue;
        }
        let Some((def, index)) = column_def(d.table, f) else {
            continue;
        };
        cols.push(def);
        indexes.extend(index);
    }
    if d.entity == Entity::Task {
        let approval = if current { TASK_APPROVAL_COLUMNS } else { &[] };
        for (col, ty) in TASK_ENGINE_COLUMNS.iter().chain(approval) {
            cols.push(format!("{col} {ty}"));
        }
        indexes.push("CREATE INDEX tasks_subject ON tasks(subject_type, subject_id);".into());
        indexes.push("CREATE UNIQUE INDEX tasks_seq ON tasks(seq) WHERE seq IS NOT NULL;".into());
    }
    (cols, indexes)
}

/// `CREATE TABLE name (…)` for table `d` (see [`columns_sql`]), and its
/// indexes.
fn table_sql(d: &crate::schema::EntityDef, name: &str, current: bool) -> (String, Vec<String>) {
    let (cols, indexes) = columns_sql(d, current);
    (
        format!(
            "CREATE TABLE {name} (\n  {}\n) STRICT;\n",
            cols.join(",\n  ")
        ),
        indexes,
    )
}

/// Migration 5's rebuild of the tasks table: a status CHECK cannot be
/// altered in SQLite, so the table is made anew with `pending` among its
/// statuses and the approval columns, its rows copied, its indexes made
/// again (SQLite's documented procedure; nothing references tasks).
fn tasks_rebuilt_sql() -> String {
    let d = Entity::Task.def();
    let (table, indexes) = table_sql(d, "tasks_rebuilt", true);
    let (before, _) = columns_sql(d, false);
    let copied: Vec<&str> = before
        .iter()
        .filter_map(|c| c.split_whitespace().next())
        .collect();
    let mut sql = table;
    sql.push_str(&format!(
        "INSERT INTO tasks_rebuilt ({c}) SELECT {c} FROM tasks;\nDROP TABLE tasks;\nALTER TABLE tasks_rebuilt RENAME TO tasks;\n",
        c = copied.join(", ")
    ));
    for i in indexes {
        sql.push_str(&i);
        sql.push('\n');
    }
    sql.push_str("CREATE INDEX tasks_status_due ON tasks(status, due);\n");
    sql.push_str(&approval_indexes());
    sql
}

/// The indexes of the tasks table migration 5 adds.
fn approval_indexes() -> String {
    let mut sql = String::new();
    // `status` counts open tasks by kind, and the list filters by status
    // and kind, from an index. (duban's compiled rules never look tasks up
    // by status or kind — their conditions are wrapped in coalesce() — so
    // a rule's `exists(tasks where …)` keeps using tasks_subject; SQL
    // written by hand against this table may need `+t.status` to do the
    // same, as benches/handwritten.sql does.)
    sql.push_str("CREATE INDEX tasks_status_kind ON tasks(status, kind, due);\n");
    // The workbench's task list in its order (open first, soonest due):
    // a page is read from the index, not sorted from the whole table.
    sql.push_str(&format!(
        "CREATE INDEX tasks_list ON tasks({});\n",
        super::tasks::LIST_ORDER.replace("t.", "")
    ));
    sql.push_str(
        "CREATE INDEX tasks_approval ON tasks(approval_id) WHERE approval_id IS NOT NULL;\n",
    );
    sql
}

/// Migration 5's change of the tasks table, `pending` among its statuses
/// and the approval columns: where a CHECK is altered in place
/// (PostgreSQL), the columns are added and the enums' CHECKs replaced;
/// else the table is made anew ([`tasks_rebuilt_sql`]).
fn tasks_with_approval(d: Dialect) -> String {
    let task = Entity::Task.def();
    let mut sql = String::new();
    for f in task.fields.iter().filter(|f| f.is_stored()) {
        let (Some(col), FieldType::Enum(e)) = (f.column(), &f.ty) else {
            continue;
        };
        let codes: Vec<&str> = e.values.iter().map(|(c, _)| *c).collect();
        match d.alter_check(task.table, &col, &one_of(&col, &codes)) {
            Some(alter) => sql.push_str(&alter),
            None => return tasks_rebuilt_sql(),
        }
    }
    let mut added = String::new();
    for (col, ty) in TASK_APPROVAL_COLUMNS {
        added.push_str(&format!(
            "ALTER TABLE {} ADD COLUMN {col} {ty};\n",
            task.table
        ));
    }
    added.push_str(&approval_indexes());
    format!("{}{sql}", spelled(d, &added))
}

/// The case columns migration `version` adds.
fn added_columns_sql(version: usize) -> String {
    let mut sql = String::new();
    for d in ENTITIES {
        for f in d.fields.iter().filter(|f| f.is_stored()) {
            let Some(col) = f.column() else { continue };
            if added_later(d.table, &col) != Some(version) {
                continue;
            }
            if let Some((def, index)) = column_def(d.table, f) {
                sql.push_str(&format!("ALTER TABLE {} ADD COLUMN {def};\n", d.table));
                sql.extend(index.map(|i| format!("{i}\n")));
            }
        }
    }
    sql
}

/// `col = 'a' OR col = 'b' OR …`: the same check as `col IN ('a', 'b', …)`
/// (NULL passes both), but SQLite builds a list of three or more
/// constants into a temporary b-tree on every execution of an INSERT —
/// for every imported row — and compares this form in place.
fn one_of(col: &str, codes: &[&str]) -> String {
    codes
        .iter()
        .map(|c| format!("{col} = '{c}'"))
        .collect::<Vec<_>>()
        .join(" OR ")
}

const ENGINE_TABLES: &str = r#"
-- One row per (rule, subject) episode: it starts when the rule starts to
-- hold and ends when it stops holding. Keyed by rule name, so it survives
-- restarts and edits of the rule's body.
CREATE TABLE episodes (
  id INTEGER PRIMARY KEY,
  rule TEXT NOT NULL,
  subject_type TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  started_at TEXT NOT NULL,
  last_fired_at TEXT NOT NULL,
  -- the day of the last firing in the policy's time zone: `repeat every`
  -- counts whole days
  last_fired_on TEXT NOT NULL,
  fired INTEGER NOT NULL DEFAULT 1,
  ended_at TEXT
) STRICT;
CREATE UNIQUE INDEX episodes_open ON episodes(rule, subject_id) WHERE ended_at IS NULL;

-- One row per evaluation (run, scheduled run, catch-up).
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  as_of TEXT NOT NULL,
  policy_hash TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  rules INTEGER NOT NULL DEFAULT 0,
  fired INTEGER NOT NULL DEFAULT 0,
  tasks INTEGER NOT NULL DEFAULT 0,
  notices INTEGER NOT NULL DEFAULT 0,
  skipped INTEGER NOT NULL DEFAULT 0,
  error TEXT
) STRICT;

-- One row per firing: the facts the condition read, what was done and
-- skipped, under which policy, at which evaluation time.
CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  run_id INTEGER REFERENCES runs(id),
  rule TEXT NOT NULL,
  subject_type TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  episode_id INTEGER NOT NULL REFERENCES episodes(id),
  as_of TEXT NOT NULL,
  policy_hash TEXT NOT NULL,
  facts TEXT NOT NULL,
  actions TEXT NOT NULL,
  skipped TEXT NOT NULL
) STRICT;
CREATE INDEX audit_subject ON audit(subject_type, subject_id);
CREATE INDEX audit_rule ON audit(rule);

-- Notices waiting for, or done with, delivery.
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  message_id TEXT NOT NULL UNIQUE,
  rule TEXT NOT NULL,
  subject_type TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  task_id TEXT,
  recipients TEXT NOT NULL,
  subject TEXT NOT NULL,
  body TEXT NOT NULL,
  ics TEXT,
  status TEXT NOT NULL DEFAULT 'queued' CHECK (status = 'queued' OR status = 'sending' OR status = 'sent' OR status = 'failed'),
  attempts INTEGER NOT NULL DEFAULT 0,
  -- UTC, `YYYY-MM-DDTHH:MM:SSZ`; NULL: due now
  next_attempt_at TEXT,
  last_error TEXT,
  created_at TEXT NOT NULL,
  sent_at TEXT
) STRICT;
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);

-- The last scheduled time each rule was evaluated for (daemon catch-up).
CREATE TABLE schedule_state (
  rule TEXT PRIMARY KEY NOT NULL,
  last_scheduled_at TEXT NOT NULL
) STRICT;
"#;

/// Migration 2: chat channels (SPEC §12). A person's mobile number (to
/// mention them); an outbox row may be a channel message, sent in parts;
/// each channel's posts of the last minute, kept across restarts.
const CHANNELS: &str = r#"
ALTER TABLE outbox ADD COLUMN channel TEXT;
ALTER TABLE outbox ADD COLUMN facts TEXT;
-- parts of a split channel message already accepted by the robot
ALTER TABLE outbox ADD COLUMN parts_sent INTEGER NOT NULL DEFAULT 0;
-- posts to each channel in the last minute (UTC): its rate limit holds
-- across restarts and between processes
CREATE TABLE channel_posts (
  channel TEXT NOT NULL,
  at TEXT NOT NULL
) STRICT;
CREATE INDEX channel_posts_at ON channel_posts(channel, at);
"#;

/// Migration 3: the web workbench (SPEC §11). Accounts are persons of the
/// case database with a role; sessions, one-time sign-in links and failed
/// sign-ins are kept by the hash of their token, never the token itself.
const WORKBENCH: &str = r#"
CREATE TABLE accounts (
  person_id TEXT PRIMARY KEY NOT NULL REFERENCES persons(id),
  role TEXT NOT NULL CHECK (role = 'admin' OR role = 'office' OR role = 'member'),
  -- Argon2 (PHC string); NULL: signs in by emailed link only
  password_hash TEXT,
  created_at TEXT NOT NULL
) STRICT;
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY NOT NULL,
  person_id TEXT NOT NULL REFERENCES accounts(person_id) ON DELETE CASCADE,
  -- the token every form of this session carries
  csrf TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_person ON sessions(person_id);
CREATE TABLE sign_in_links (
  token_hash TEXT PRIMARY KEY NOT NULL,
  person_id TEXT NOT NULL REFERENCES accounts(person_id) ON DELETE CASCADE,
  expires_at TEXT NOT NULL,
  used_at TEXT
) STRICT;
-- failed sign-ins by account (`account:ID`) and by address (`address:IP`)
CREATE TABLE sign_in_failures (
  key TEXT NOT NULL,
  at TEXT NOT NULL
) STRICT;
CREATE INDEX sign_in_failures_key ON sign_in_failures(key, at);
-- the workbench's task list: open first, soonest due
CREATE INDEX tasks_status_due ON tasks(status, due);
"#;

/// Migration 4: indexes for an office of a million problems, whose outbox
/// and audit hold hundreds of thousands of rows. The deliverer takes the
/// oldest due queued notice by walking the queued ones in id order (it
/// sorted them all for every notice); the notices page counts by rule, and
/// the rules page finds each rule's last firing, from an index alone.
const SCALE_INDEXES: &str = r#"
CREATE INDEX outbox_queue ON outbox(status, id, next_attempt_at);
CREATE INDEX outbox_rule ON outbox(rule, status);
CREATE INDEX outbox_task ON outbox(task_id) WHERE task_id IS NOT NULL;
DROP INDEX audit_rule;
CREATE INDEX audit_rule ON audit(rule, as_of);
"#;

/// Migration 5: approval before an action goes out (SPEC §9). A rule with
/// `approval by` creates a request; its tasks wait `pending`, its notices
/// wait in `held_notices` until the request is decided.
const APPROVALS: &str = r#"
CREATE TABLE approvals (
  id TEXT PRIMARY KEY NOT NULL,
  seq INTEGER NOT NULL UNIQUE,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status = 'pending' OR status = 'approved' OR status = 'rejected'),
  rule TEXT NOT NULL,
  -- the rule's title, or its name, when the request was made
  title TEXT NOT NULL,
  subject_type TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  episode_id INTEGER NOT NULL,
  approver_id TEXT NOT NULL,
  -- what the condition read, as the approver reads it: [[label, value] …]
  facts TEXT NOT NULL,
  policy_hash TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_on TEXT NOT NULL,
  -- `within`: the day by which a decision is due (NULL: no limit)
  decide_by TEXT,
  reminded_at TEXT,
  decided_by TEXT,
  decided_at TEXT,
  decided_on TEXT,
  -- `command line`, or `workbench`
  via TEXT,
  note TEXT
) STRICT;
CREATE INDEX approvals_status ON approvals(status, decide_by);
CREATE INDEX approvals_approver ON approvals(approver_id, status);
CREATE TABLE held_notices (
  approval_id TEXT NOT NULL REFERENCES approvals(id) DEFERRABLE INITIALLY DEFERRED,
  message_id TEXT NOT NULL UNIQUE,
  rule TEXT NOT NULL,
  subject_type TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  task_id TEXT,
  recipients TEXT NOT NULL,
  subject TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at TEXT NOT NULL,
  channel TEXT,
  facts TEXT
) STRICT;
CREATE INDEX held_notices_approval ON held_notices(approval_id);
"#;

/// Who holds a claim and who runs a run ([`crate::owner`]), so that a
/// claim or run whose process is gone is known at once.
const OWNERS: &str = r#"
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE runs ADD COLUMN owner TEXT;
"#;

/// Migration 7: leases (SPEC §13). Several `duban serve` share one
/// database and one of them leads — schedules the rules, delivers the
/// notices — while it holds the lease `serve`: it renews it every few
/// seconds; another takes it when it expires, or at once when its holder
/// is a process this machine knows is gone ([`crate::owner`]).
const LEASES: &str = r#"
CREATE TABLE leases (
  name TEXT PRIMARY KEY NOT NULL,
  -- the process holding it ([`crate::owner`]), its machine's name and boot
  owner TEXT NOT NULL,
  host TEXT NOT NULL,
  boot TEXT NOT NULL,
  taken_at TEXT NOT NULL,
  renewed_at TEXT NOT NULL,
  -- by the database's clock: one clock for every process that shares it
  expires_at TEXT NOT NULL
) STRICT;
"#;

/// The number of migrations: the schema version of a database made now.
const VERSION: usize = 7;

/// Migration `version` (from 1) in `d`'s spelling: SQLite's as written
/// here, PostgreSQL's translated from it ([`Dialect::migration`]) but
/// where the two differ.
fn step(version: usize, d: Dialect) -> String {
    let sqlite = match version {
        1 => format!("{}\n{}", case_tables_sql(), ENGINE_TABLES),
        2 => format!("{}\n{}", added_columns_sql(2), CHANNELS),
        3 => WORKBENCH.into(),
        4 => SCALE_INDEXES.into(),
        5 => return format!("{}{}", spelled(d, APPROVALS), tasks_with_approval(d)),
        6 => OWNERS.into(),
        _ => LEASES.into(),
    };
    spelled(d, &sqlite)
}

/// SQL written as SQLite runs it, in `d`'s spelling.
fn spelled(d: Dialect, sqlite: &str) -> String {
    d.migration(sqlite, &text_kind, ROWID_TABLES)
}

static SQLITE_STEPS: std::sync::LazyLock<Vec<String>> =
    std::sync::LazyLock::new(|| (1..=VERSION).map(|v| step(v, Dialect::Sqlite)).collect());

static POSTGRES_STEPS: std::sync::LazyLock<Vec<String>> =
    std::sync::LazyLock::new(|| (1..=VERSION).map(|v| step(v, Dialect::Postgres)).collect());

/// The number of migrations: the schema version of a database made now.
pub fn version() -> usize {
    VERSION
}

pub fn migrations() -> Migrations<'static> {
    Migrations::new(SQLITE_STEPS.iter().map(|s| M::up(s)).collect())
}

/// Migrations `from + 1` up to the latest in PostgreSQL's spelling.
fn postgres_steps(from: usize, to: usize) -> String {
    POSTGRES_STEPS[from.min(to)..to.min(VERSION)].concat()
}

/// duban's tables on PostgreSQL as migration `version` left them (the
/// latest: as a database is made now), with the calendar table and the
/// table of the schema version.
pub fn postgres_ddl(version: usize) -> String {
    format!(
        "{}CREATE TABLE schema_version (version integer NOT NULL);\n{}INSERT INTO schema_version VALUES ({});\n",
        super::workdays::ddl(Dialect::Postgres),
        postgres_steps(0, version),
        version.min(VERSION)
    )
}

/// Brings the PostgreSQL database `db` (at `url`) to the latest
/// migration, as SQLite files are: the missing steps in one transaction,
/// under a lock that makes a second process starting at once wait and
/// then find the work done. A database of a newer duban is refused, and
/// one without duban's tables.
pub(crate) fn migrate_postgres(db: &mut Db, url: &str) -> Result<()> {
    let held = held_version(db, url)?;
    if held == VERSION {
        return Ok(());
    }
    let failed = |source: crate::store::DatabaseError| Error::Migration {
        what: url.to_string(),
        source: Box::new(source),
    };
    let tx = db.transaction().map_err(failed)?;
    super::lock_named(&tx, "migrations")?;
    let held = held_version(&tx, url)?;
    tx.execute_batch(&postgres_steps(held, VERSION))
        .map_err(failed)?;
    tx.execute("UPDATE schema_version SET version = ?1", [VERSION as i64])
        .map_err(failed)?;
    tx.commit().map_err(failed)
}

/// The schema version a PostgreSQL database holds, if it is this duban's
/// or an older one's.
fn held_version(db: &Db, url: &str) -> Result<usize> {
    let held = match db.query_row("SELECT version FROM schema_version", (), |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(v) => v,
        Err(e) if e.code.as_deref() == Some("42P01") => {
            return Err(Error::invalid(format!(
                "{url} holds no duban tables: `duban init DIR --database {url}` makes them"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    match usize::try_from(held) {
        Ok(v) if v <= VERSION => Ok(v),
        _ => Err(Error::Migration {
            what: url.to_string(),
            source: format!(
                "its tables are of schema version {held}, this duban's are of version {VERSION}; run the duban that made them, or a newer one"
            )
            .into(),
        }),
    }
}

/// What a text column of duban's tables holds: the schema's dates are
/// days; of duban's own columns, `…_at` are times and `…_on` and
/// `decide_by` days.
fn text_kind(table: &str, column: &str) -> TextKind {
    let field = ENTITIES.iter().find(|d| d.table == table).and_then(|d| {
        d.fields
            .iter()
            .find(|f| f.column().as_deref() == Some(column))
    });
    match field {
        Some(f) if matches!(f.ty, FieldType::Date) => TextKind::Day,
        Some(_) => TextKind::Text,
        None if column == "at" || column.ends_with("_at") => TextKind::Time,
        None if column.ends_with("_on") || column == "decide_by" => TextKind::Day,
        None => TextKind::Text,
    }
}

/// Tables whose rows the store names by SQLite's `rowid` (the order they
/// were written in, a row to delete): on PostgreSQL a column of that name
/// numbers them.
const ROWID_TABLES: &[&str] = &["held_notices", "sign_in_failures"];

/// The tables and indexes of the latest migration in `dialect`'s
/// spelling: SQLite's as the migrations made them in a database; on
/// PostgreSQL every migration's statements one after the other, after
/// the calendar table and the table of the schema version, which
/// PostgreSQL keeps as tables.
pub fn ddl(dialect: Dialect) -> Result<String> {
    if dialect == Dialect::Postgres {
        return Ok(postgres_ddl(VERSION));
    }
    let db = super::in_memory()?;
    let mut stmt = db.prepare(
        "SELECT sql FROM sqlite_master
         WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type DESC, rowid",
    )?;
    let rows = stmt.query_map((), |r| r.get::<_, String>(0))?;
    let mut out = String::new();
    for sql in rows {
        out.push_str(&format!("{};\n", sql?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn migrations_are_valid() {
        assert!(migrations().validate().is_ok());
    }

    /// An office created before migration 2 keeps its rows and gains the
    /// columns and table of chat channels.
    #[test]
    fn an_office_from_before_channels_gains_them() {
        let mut conn = Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        Migrations::new(vec![M::up(SQLITE_STEPS[0].as_str())])
            .to_latest(&mut conn)
            .unwrap_or_else(|e| panic!("{e}"));
        conn.execute("INSERT INTO persons (id, name) VALUES ('u1', '张三')", [])
            .unwrap_or_else(|e| panic!("{e}"));
        migrations()
            .to_latest(&mut conn)
            .unwrap_or_else(|e| panic!("{e}"));
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM persons WHERE id = 'u1' AND mobile IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n, 1);
        conn.execute_batch(
            "SELECT channel, facts, parts_sent FROM outbox; SELECT channel, at FROM channel_posts;",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Every stored field of the schema module is a column of its table.
    #[test]
    fn database_matches_the_schema_module() {
        let mut conn = Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        migrations()
            .to_latest(&mut conn)
            .unwrap_or_else(|e| panic!("{e}"));
        for d in ENTITIES {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT name FROM pragma_table_info('{}')",
                    d.table
                ))
                .unwrap_or_else(|e| panic!("{e}"));
            let cols: Vec<String> = stmt
                .query_map([], |r| r.get(0))
                .and_then(|rows| rows.collect())
                .unwrap_or_else(|e| panic!("{e}"));
            for f in d.fields.iter().filter(|f| f.is_stored()) {
                let col = f.column().unwrap_or_default();
                assert!(cols.contains(&col), "{}.{col} missing", d.table);
            }
        }
    }
}
