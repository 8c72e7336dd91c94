//! The working-day calendar as a table the compiled rules join
//! (`temp.workdays`): every covered day, whether it is worked, and its
//! ordinal — the working days up to and including it — so that
//! `workdays_since(deadline)` is a difference of two ordinals, computed in
//! //! SQLite — when both days are in one run of consecutive covered years
//! (`run_first`, `run_last`); else it is missing, as the interpreter says.
//! A temporary table of each connection, filled from the office's
//! calendar before a rule is evaluated: nothing is written to the file.

use super::{Db, OptionalExtension};
use crate::calendar::{Calendar, Day};
use crate::error::Result;
use crate::params;
use sha2::{Digest, Sha256};

/// The table as compiled SQL names it: a temporary table of each SQLite
/// connection, a table of duban's own on PostgreSQL.
pub fn table(d: super::Dialect) -> &'static str {
    match d {
        super::Dialect::Sqlite => "temp.workdays",
        super::Dialect::Postgres => "workdays",
    }
}

fn source(d: super::Dialect) -> &'static str {
    match d {
        super::Dialect::Sqlite => "temp.workdays_source",
        super::Dialect::Postgres => "workdays_source",
    }
}

/// The calendar table and the fingerprint of the calendar it holds: each
/// SQLite connection's temporary tables, made when first needed;
/// PostgreSQL's tables, made with the others.
pub fn ddl(d: super::Dialect) -> String {
    match d {
        super::Dialect::Sqlite => "CREATE TEMP TABLE IF NOT EXISTS workdays (
           day TEXT PRIMARY KEY NOT NULL, work INTEGER NOT NULL, ordinal INTEGER NOT NULL,
           run_first TEXT NOT NULL, run_last TEXT NOT NULL) WITHOUT ROWID;
         CREATE INDEX IF NOT EXISTS temp.workdays_ordinal ON workdays(ordinal, day);
         CREATE TEMP TABLE IF NOT EXISTS workdays_source (fingerprint TEXT NOT NULL);"
            .into(),
        super::Dialect::Postgres => "CREATE TABLE workdays (
           day date PRIMARY KEY NOT NULL, work integer NOT NULL, ordinal bigint NOT NULL,
           run_first date NOT NULL, run_last date NOT NULL);
         CREATE INDEX workdays_ordinal ON workdays(ordinal, day);
         CREATE TABLE workdays_source (fingerprint text NOT NULL);\n"
            .into(),
    }
}

/// A calendar's rows of the table, built once, and a fingerprint of them
/// by which a connection's table is known to hold this calendar.
#[derive(Debug, Clone)]
pub struct Workdays {
    days: Vec<Day>,
    fingerprint: String,
}

impl Workdays {
    pub fn new(calendar: &Calendar) -> Workdays {
        let digest = Sha256::digest(calendar.to_toml().as_bytes());
        Workdays {
            days: calendar.days(),
            fingerprint: digest.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }
}

/// Makes the table hold `w` in a short transaction of its own, committed
/// (on PostgreSQL, where the table is shared: for the connections that
/// come after).
pub fn fill(conn: &mut Db, w: &Workdays) -> Result<()> {
    let tx = conn.transaction_with_behavior(super::Behavior::Deferred)?;
    ensure(&tx, w)?;
    tx.commit()?;
    Ok(())
}

/// Whether a read-only transaction ([`super::Behavior::Snapshot`]) on
/// this connection has the calendar `w` or can fill it: each SQLite
/// connection fills a temporary table of its own; PostgreSQL's is shared
/// and must hold it already.
pub fn ready_read_only(conn: &Db, w: &Workdays) -> Result<bool> {
    let d = conn.dialect();
    if d == super::Dialect::Sqlite {
        return Ok(true);
    }
    held(conn, w)
}

/// Whether the connection's table holds `w`.
fn held(conn: &Db, w: &Workdays) -> Result<bool> {
    let held: Option<String> = conn
        .query_row(
            &format!("SELECT fingerprint FROM {} LIMIT 1", source(conn.dialect())),
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(held.as_deref() == Some(w.fingerprint.as_str()))
}

/// Makes `temp.workdays` hold `w` on this connection (filled only when it
/// holds another calendar, or none yet). On PostgreSQL the table is shared:
/// several connections may find it empty at once (the workbench's requests
/// beside the scheduler's first run) and fill it side by side, each row
/// written over by the same row rather than failing on its key.
pub fn ensure(conn: &Db, w: &Workdays) -> Result<()> {
    let d = conn.dialect();
    if d == super::Dialect::Sqlite {
        conn.execute_batch(&ddl(d))?;
    }
    if held(conn, w)? {
        return Ok(());
    }
    let (table, source) = (table(d), source(d));
    conn.execute_batch(&format!("DELETE FROM {table}; DELETE FROM {source};"))?;
    let mut insert = conn.prepare_cached(&format!(
        "INSERT INTO {table} (day, work, ordinal, run_first, run_last) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (day) DO UPDATE SET work = excluded.work, ordinal = excluded.ordinal, \
         run_first = excluded.run_first, run_last = excluded.run_last"
    ))?;
    for d in &w.days {
        insert.execute(params![
            d.day.to_string(),
            d.work,
            d.ordinal,
            d.run_first.to_string(),
            d.run_last.to_string()
        ])?;
    }
    conn.execute(
        &format!("INSERT INTO {source} (fingerprint) VALUES (?1)"),
        [&w.fingerprint],
    )?;
    Ok(())
}
