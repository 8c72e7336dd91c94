//! `duban db copy`: an office's SQLite file into an empty PostgreSQL
//! database — every table, the case tables and duban's own, and the
//! schema version — in one transaction on the server, then checked
//! before it commits: each table's rows counted on both sides and read
//! back in primary-key order, value by value, through the type each
//! column has on PostgreSQL (a day of SQLite's text is a `date`, a time a
//! `timestamptz`). A copy that does not check out is rolled back: the
//! target stays empty.
//!
//! The source is read in one read transaction (a snapshot: a service
//! writing beside the copy changes neither side of the check). Rows go
//! over `COPY … FROM STDIN`; the references between tables are added once
//! every table holds its rows, and the identity columns continue after
//! the largest id copied.

use super::dialect::Dialect;
use super::{Db, DbResult, Tx, ValueRef};
use crate::error::{Error, Result};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use std::collections::HashMap;
use std::io::Write;

/// What was copied of one table, and what the check found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableCopy {
    pub table: String,
    /// Rows in the office.
    pub rows: u64,
    /// Rows the server took.
    pub copied: u64,
    /// Rows read back and found equal, value by value.
    pub equal: u64,
}

/// The whole copy.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Copied {
    pub tables: Vec<TableCopy>,
    /// The schema version of both.
    pub version: usize,
}

impl Copied {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

/// Rows fetched from the server at a time while checking.
const FETCH: usize = 5000;

/// Copies the SQLite office `source` into the empty PostgreSQL database
/// `to` and checks the copy; `each` is told of every table as it is done.
/// A target holding any table is refused, nothing written.
pub fn to_postgres(
    source: &mut Db,
    to: &super::Location,
    each: &mut dyn FnMut(&TableCopy),
) -> Result<Copied> {
    let (Dialect::Sqlite, super::Location::Server(server)) = (source.dialect(), to) else {
        return Err(Error::invalid(format!(
            "duban copies an office from a SQLite file into a PostgreSQL database (postgresql://USER@HOST:PORT/DATABASE), not into {to}"
        )));
    };
    let url = server.url();
    let mut target = super::connect_server(server)?;
    let ddl = super::migrations::ddl(Dialect::Postgres)?;
    let (tables_ddl, references): (Vec<&str>, Vec<&str>) = ddl
        .lines()
        .partition(|l| !(l.starts_with("ALTER TABLE ") && l.contains(" ADD FOREIGN KEY ")));
    let version = super::migrations::version();

    let src = source.transaction()?;
    let held: i64 = src.query_row("PRAGMA user_version", (), |r| r.get(0))?;
    if held != version as i64 {
        return Err(Error::invalid(format!(
            "the office's database is of schema version {held}, this duban's of version {version}: open it with this duban first (any command does)"
        )));
    }
    let tables = super::tables(&src)?;

    let tx = target.transaction()?;
    let present = super::tables(&tx)?;
    if !present.is_empty() {
        let shown: Vec<&str> = present.iter().take(5).map(String::as_str).collect();
        return Err(Error::invalid(format!(
            "{url} is not empty: it holds {} table{} ({}{}); duban copies an office only into an empty database",
            present.len(),
            if present.len() == 1 { "" } else { "s" },
            shown.join(", "),
            if present.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        )));
    }
    tx.execute_batch(&tables_ddl.join("\n"))?;
    let types = column_types(&tx)?;

    let mut done = Vec::new();
    for table in &tables {
        let Some(types) = types.get(table) else {
            return Err(Error::invalid(format!(
                "the office holds a table {table}, which is none of duban's: remove it from the file, or copy it by hand after"
            )));
        };
        let columns = src
            .prepare(&format!("SELECT * FROM \"{table}\" LIMIT 0"))?
            .column_names();
        let kinds: Vec<Kind> = columns
            .iter()
            .map(|c| {
                types.get(c).copied().ok_or_else(|| {
                    Error::invalid(format!(
                        "the office's table {table} has a column {c}, which duban's table of that name has not"
                    ))
                })
            })
            .collect::<Result<_>>()?;
        let t = copy_table(&src, &tx, table, &columns, &kinds)?;
        each(&t);
        done.push(t);
    }
    tx.execute_batch(&references.join("\n")).map_err(|e| {
        Error::failed(
            format!("checking the references between the tables copied to {url}"),
            e,
        )
    })?;
    continue_identities(&tx)?;
    tx.commit()?;
    src.rollback()?;
    let names: Vec<&str> = tables.iter().map(String::as_str).collect();
    if let Some(sql) = Dialect::Postgres.after_bulk_load(&names) {
        target.execute_batch(&sql)?;
    }
    Ok(Copied {
        tables: done,
        version,
    })
}

/// What a column is on PostgreSQL, for writing and comparing its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Real,
    Text,
    Day,
    Time,
    Bytes,
}

/// Every column of every table of the target, by its type there.
fn column_types(tx: &Tx<'_>) -> Result<HashMap<String, HashMap<String, Kind>>> {
    let mut out: HashMap<String, HashMap<String, Kind>> = HashMap::new();
    let mut stmt = tx.prepare(
        "SELECT table_name, column_name, data_type FROM information_schema.columns
         WHERE table_schema = current_schema()",
    )?;
    let rows = stmt.query_map((), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    for row in rows {
        let (table, column, ty) = row?;
        let kind = match ty.as_str() {
            "bigint" | "integer" | "smallint" => Kind::Integer,
            "double precision" | "real" | "numeric" => Kind::Real,
            "date" => Kind::Day,
            "timestamp with time zone" | "timestamp without time zone" => Kind::Time,
            "bytea" => Kind::Bytes,
            _ => Kind::Text,
        };
        out.entry(table).or_default().insert(column, kind);
    }
    Ok(out)
}

/// Copies one table and checks it.
fn copy_table(
    src: &Tx<'_>,
    tx: &Tx<'_>,
    table: &str,
    columns: &[String],
    kinds: &[Kind],
) -> Result<TableCopy> {
    let list = columns
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let mut rows = 0u64;
    let copied = {
        let mut read = src.prepare(&format!("SELECT {list} FROM \"{table}\""))?;
        let mut cursor = read.query(())?;
        let mut line = String::new();
        tx.copy_in(
            &format!("COPY \"{table}\" ({list}) FROM STDIN"),
            &mut |out: &mut dyn Write| {
                while let Some(row) = cursor.next()? {
                    line.clear();
                    for i in 0..kinds.len() {
                        if i > 0 {
                            line.push('\t');
                        }
                        copy_text(&mut line, row.get_ref(i)?);
                    }
                    line.push('\n');
                    out.write_all(line.as_bytes()).map_err(|e| {
                        super::DatabaseError::new(super::ErrorKind::Connection, e.to_string())
                    })?;
                    rows += 1;
                }
                Ok(())
            },
        )
        .map_err(|e| Error::failed(format!("copying table {table}"), e))?
    };
    let held: i64 = tx.query_row(&format!("SELECT count(*) FROM \"{table}\""), (), |r| {
        r.get(0)
    })?;
    if held as u64 != rows || copied != rows {
        return Err(mismatch(
            table,
            format!("{rows} rows in the office, {held} in the copy"),
        ));
    }
    let equal = check_table(src, tx, table, columns, kinds)?;
    Ok(TableCopy {
        table: table.to_string(),
        rows,
        copied,
        equal,
    })
}

/// A value in `COPY`'s text format: `\N` for none, text with its
/// backslashes, tabs and line ends escaped.
pub(super) fn copy_text(out: &mut String, v: ValueRef<'_>) {
    match v {
        ValueRef::Null => out.push_str("\\N"),
        ValueRef::Integer(n) => out.push_str(&n.to_string()),
        ValueRef::Real(x) => out.push_str(&real_text(x)),
        ValueRef::Text(t) => {
            for c in t.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c => out.push(c),
                }
            }
        }
        ValueRef::Blob(b) => {
            out.push_str("\\\\x");
            for byte in b {
                out.push_str(&format!("{byte:02x}"));
            }
        }
        ValueRef::Date(d) => out.push_str(&d.format("%Y-%m-%d").to_string()),
        ValueRef::Timestamp(t) => out.push_str(&super::db::timestamp_text(&t)),
    }
}

/// A real number as PostgreSQL reads it back exactly (Rust writes the
/// shortest digits that read back as the same number).
fn real_text(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        format!("{x}")
    }
}

/// A row as it compares (see [`canonical`]).
type Canonical = Vec<Option<String>>;

/// Reads the table on both sides in the same order and compares every
/// value; the rows found equal.
fn check_table(
    src: &Tx<'_>,
    tx: &Tx<'_>,
    table: &str,
    columns: &[String],
    kinds: &[Kind],
) -> Result<u64> {
    let key: Vec<String> = src
        .prepare("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")?
        .query_map([table], |r| r.get(0))?
        .collect::<DbResult<_>>()?;
    let list = columns
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let kind_of = |c: &str| {
        columns
            .iter()
            .position(|x| x == c)
            .map_or(Kind::Text, |i| kinds[i])
    };
    // Text sorts by its bytes on both sides: SQLite's BINARY collation,
    // PostgreSQL's "C".
    let order = |pg: bool| {
        key.iter()
            .map(|c| match (pg, kind_of(c)) {
                (true, Kind::Text) => format!("\"{c}\" COLLATE \"C\""),
                _ => format!("\"{c}\""),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (mine, theirs) = if key.is_empty() {
        (
            format!("SELECT {list} FROM \"{table}\""),
            format!("SELECT {list} FROM \"{table}\""),
        )
    } else {
        (
            format!("SELECT {list} FROM \"{table}\" ORDER BY {}", order(false)),
            format!("SELECT {list} FROM \"{table}\" ORDER BY {}", order(true)),
        )
    };
    let mut read = src.prepare(&mine)?;
    let mut office = read.query(())?;
    tx.execute_batch(&format!(
        "DECLARE duban_check NO SCROLL CURSOR FOR {theirs}"
    ))?;
    let mut fetch = tx.prepare(&format!("FETCH FORWARD {FETCH} FROM duban_check"))?;
    let canon_row = |row: &super::Row<'_>| -> DbResult<Canonical> {
        (0..kinds.len())
            .map(|i| Ok(canonical(row.get_ref(i)?, kinds[i])))
            .collect()
    };
    let mut equal = 0u64;
    let mut unordered: (Vec<Canonical>, Vec<Canonical>) = Default::default();
    loop {
        let mut batch = Vec::with_capacity(FETCH);
        {
            let mut rows = fetch.query(())?;
            while let Some(row) = rows.next()? {
                batch.push(canon_row(&row)?);
            }
        }
        let last = batch.len() < FETCH;
        for copy in batch {
            let Some(row) = office.next()? else {
                return Err(mismatch(table, "the copy holds more rows than the office"));
            };
            let original = canon_row(&row)?;
            if key.is_empty() {
                unordered.0.push(original);
                unordered.1.push(copy);
                continue;
            }
            if let Some(i) = (0..kinds.len()).find(|&i| original[i] != copy[i]) {
                let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "NULL".into());
                let at: Vec<String> = key
                    .iter()
                    .filter_map(|k| columns.iter().position(|c| c == k))
                    .map(|k| shown(&original[k]))
                    .collect();
                return Err(mismatch(
                    table,
                    format!(
                        "the row {} holds {} in {} in the office and {} in the copy",
                        at.join(", "),
                        shown(&original[i]),
                        columns[i],
                        shown(&copy[i])
                    ),
                ));
            }
            equal += 1;
        }
        if last {
            break;
        }
    }
    drop(fetch);
    tx.execute_batch("CLOSE duban_check")?;
    if office.next()?.is_some() {
        return Err(mismatch(table, "the office holds more rows than the copy"));
    }
    if key.is_empty() {
        let (mut a, mut b) = unordered;
        a.sort();
        b.sort();
        if a != b {
            return Err(mismatch(
                table,
                "its rows differ between the office and the copy",
            ));
        }
        equal = a.len() as u64;
    }
    Ok(equal)
}

fn mismatch(table: &str, what: impl Into<String>) -> Error {
    Error::failed(
        format!("checking table {table} of the copy (nothing was copied)"),
        what.into(),
    )
}

/// A value as it compares, whichever side it was read from: days as
/// `YYYY-MM-DD`, times in UTC to the microsecond (PostgreSQL's
/// precision), numbers by their value.
fn canonical(v: ValueRef<'_>, kind: Kind) -> Option<String> {
    Some(match (v, kind) {
        (ValueRef::Null, _) => return None,
        (ValueRef::Text(t), Kind::Day) => match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            Ok(d) => d.format("%Y-%m-%d").to_string(),
            Err(_) => t.to_string(),
        },
        (ValueRef::Text(t), Kind::Time) => match parse_time(t) {
            Some(x) => time_text(x),
            None => t.to_string(),
        },
        (ValueRef::Timestamp(t), _) => time_text(t),
        (ValueRef::Date(d), _) => d.format("%Y-%m-%d").to_string(),
        (ValueRef::Integer(n), Kind::Real) => real_text(n as f64),
        (ValueRef::Real(x), Kind::Integer) if x.fract() == 0.0 => format!("{}", x as i64),
        (ValueRef::Integer(n), _) => n.to_string(),
        (ValueRef::Real(x), _) => real_text(x),
        (ValueRef::Text(t), _) => t.to_string(),
        (ValueRef::Blob(b), _) => b.iter().map(|x| format!("{x:02x}")).collect(),
    })
}

fn time_text(t: DateTime<Utc>) -> String {
    use chrono::SubsecRound;
    t.round_subsecs(6)
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// A time as SQLite keeps it (RFC 3339, or `YYYY-MM-DD HH:MM:SS`, or a day).
fn parse_time(t: &str) -> Option<DateTime<Utc>> {
    if let Ok(x) = DateTime::parse_from_rfc3339(t) {
        return Some(x.with_timezone(&Utc));
    }
    if let Ok(x) = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f") {
        return Some(x.and_utc());
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|x| x.and_utc())
}

/// Makes each identity column continue after the largest id copied.
fn continue_identities(tx: &Tx<'_>) -> Result<()> {
    let identities: Vec<(String, String)> = tx
        .prepare(
            "SELECT table_name, column_name FROM information_schema.columns
             WHERE table_schema = current_schema() AND is_identity = 'YES'",
        )?
        .query_map((), |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<DbResult<_>>()?;
    for (table, column) in identities {
        tx.execute_batch(&format!(
            "SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'),
                           coalesce((SELECT max(\"{column}\") FROM \"{table}\"), 0) + 1, false)"
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_what_copy_reads_specially() {
        let mut s = String::new();
        copy_text(&mut s, ValueRef::Text("a\\b\tc\nd\re"));
        assert_eq!(s, "a\\\\b\\tc\\nd\\re");
        s.clear();
        copy_text(&mut s, ValueRef::Null);
        assert_eq!(s, "\\N");
    }

    #[test]
    fn values_compare_through_the_column_type() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default();
        assert_eq!(
            canonical(ValueRef::Text("2026-11-22"), Kind::Day),
            canonical(ValueRef::Date(day), Kind::Day)
        );
        let t = parse_time("2026-11-22T09:00:00+08:00").unwrap_or_default();
        assert_eq!(
            canonical(ValueRef::Text("2026-11-22T09:00:00+08:00"), Kind::Time),
            canonical(ValueRef::Timestamp(t), Kind::Time)
        );
        assert_eq!(
            canonical(ValueRef::Real(3.0), Kind::Integer),
            canonical(ValueRef::Integer(3), Kind::Integer)
        );
        assert_ne!(
            canonical(ValueRef::Text("2026-11-22"), Kind::Day),
            canonical(ValueRef::Text("2026-11-23"), Kind::Day)
        );
    }
}
