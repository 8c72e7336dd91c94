//! The case tables read back out in the import format (SPEC §10): each
//! table's stored columns, as `duban import` takes them, then read-only
//! columns duban computes — the day counts derived as of `today` and the
//! names of the persons a row refers to — whose headers carry a mark so
//! that an import passes over them.
//!
//! Rows are streamed in id order; nothing holds a table in memory.

use super::Db;
use super::Value;
use crate::error::Result;
use crate::schema::{Entity, FieldType};

/// The mark after a read-only column's header, English and Chinese.
pub const READ_ONLY_MARKS: [&str; 2] = [" (read-only)", "（只读）"];

/// Whether a header names a read-only column of an export.
pub fn is_read_only_header(header: &str) -> bool {
    let h = header.trim_end();
    READ_ONLY_MARKS.iter().any(|m| h.ends_with(m.trim_start()))
}

/// One exported column.
#[derive(Debug, Clone)]
pub struct Column {
    /// The import column (`inspection_id`), or the name of a read-only one.
    pub name: String,
    /// The Chinese label (`巡察`, `逾期天数`).
    pub zh: String,
    pub ty: FieldType,
    /// Computed by duban; an import ignores it.
    pub read_only: bool,
    sql: String,
}

impl Column {
    /// The header cell: `name` or, with labels, the Chinese label; a
    /// read-only column carries its mark.
    pub fn header(&self, labels: bool) -> String {
        let (text, mark) = if labels {
            (&self.zh, READ_ONLY_MARKS[1])
        } else {
            (&self.name, READ_ONLY_MARKS[0])
        };
        if self.read_only {
            format!("{text}{mark}")
        } else {
            text.clone()
        }
    }
}

/// The columns of a table's export, stored ones first.
pub fn columns(entity: Entity) -> Vec<Column> {
    columns_in(entity, super::Dialect::Sqlite)
}

/// The columns, their SQL in `dialect`'s spelling.
fn columns_in(entity: Entity, dialect: super::Dialect) -> Vec<Column> {
    let def = entity.def();
    let stored = def.fields.iter().filter_map(|f| {
        f.column().map(|col| Column {
            sql: format!("t.{col}"),
            name: col,
            zh: f.zh.to_string(),
            ty: f.ty,
            read_only: false,
        })
    });
    let derived = def.fields.iter().filter_map(|f| {
        let sql = crate::compile::day_count_sql(f.derived?, "t", dialect)?;
        Some(Column {
            name: f.name.to_string(),
            zh: f.zh.to_string(),
            ty: f.ty,
            read_only: true,
            sql,
        })
    });
    let names = def.fields.iter().filter_map(|f| {
        let (FieldType::Ref(Entity::Person), Some(col)) = (f.ty, f.column()) else {
            return None;
        };
        Some(Column {
            name: format!("{}_name", f.name),
            zh: format!("{}姓名", f.zh),
            ty: FieldType::Text,
            read_only: true,
            sql: format!(
                "(SELECT p.name FROM {persons} p WHERE p.id = t.{col})",
                persons = Entity::Person.table()
            ),
        })
    });
    stored.chain(derived).chain(names).collect()
}

/// Calls `each` with every row of the table, in id order, as the values
/// of `columns(entity)`; day counts as of `today`. Returns the row count.
/// The rows stream ([`Db::prepare_stream`]): on PostgreSQL, inside a
/// transaction.
pub fn rows(
    conn: &Db,
    entity: Entity,
    today: chrono::NaiveDate,
    each: &mut dyn FnMut(&[Value]) -> Result<()>,
) -> Result<u64> {
    let cols = columns_in(entity, conn.dialect());
    let sql = format!(
        "SELECT {} FROM {} t ORDER BY t.id",
        cols.iter()
            .map(|c| c.sql.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        entity.table()
    );
    let mut stmt = conn.prepare_stream(&sql)?;
    // Only the day counts read `?1`; a table without them has no parameter.
    let today = today.to_string();
    let mut rows = if stmt.parameter_count() == 0 {
        stmt.query([])?
    } else {
        stmt.query([&today])?
    };
    let mut values: Vec<Value> = Vec::with_capacity(cols.len());
    let mut n = 0;
    while let Some(r) = rows.next()? {
        values.clear();
        for i in 0..cols.len() {
            values.push(r.get::<_, Value>(i)?);
        }
        each(&values)?;
        n += 1;
    }
    Ok(n)
}

/// How many rows a table has.
pub fn count(conn: &Db, entity: Entity) -> Result<u64> {
    Ok(conn.query_row(
        &format!("SELECT count(*) FROM {}", entity.table()),
        [],
        |r| r.get::<_, i64>(0),
    )? as u64)
}
