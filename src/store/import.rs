//! Importing ledgers into the case database: all or nothing.
//!
//! Tables are taken in dependency order; each row is checked against the
//! schema module (dates in the office's forms, enums by code or Chinese
//! label, required values) and upserted by id — only the columns the file
//! has are written, and a row that changes nothing is not touched. After
//! the last table every reference is checked, also references to records
//! that arrive in the same import. Any error rejects the whole import (the
//! transaction is rolled back) and every error is listed as
//! `problems.csv:17: deadline: "2026-13-01" is not a date`.
//!
//! On PostgreSQL the checked rows of a table are staged by `COPY … FROM
//! STDIN` into a temporary table and written from there by one statement;
//! the checks and their messages are the same on both databases. On both,
//! a table that was empty is indexed after its rows are in; on PostgreSQL
//! its references are added again after the import's own checks, not
//! checked by the database row by row at COMMIT.

use super::Value;
use super::sources::{Cell, TableInput};
use super::tasks;
use super::{Behavior, Db, OptionalExtension};
use crate::error::Result;
use crate::params;
use crate::schema::{self, Entity, FieldDef, FieldType, TaskStatus};
use chrono::NaiveDate;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};

/// At most this many errors are listed; the rest are counted.
pub const MAX_LISTED_ERRORS: usize = 200;

/// Told how far the import has come (for a progress bar).
pub trait Observer {
    fn table_started(&self, _table: &TableInput<'_>) {}
    /// `rows`: rows of this table read so far.
    fn advance(&self, _table: &TableInput<'_>, _rows: u64) {}
    fn table_finished(&self, _table: &TableInput<'_>) {}
}

/// When the import happens: a task the ledger marks done is closed as of
/// `today`, recorded at `at` (UTC text).
pub struct Stamp {
    pub today: NaiveDate,
    pub at: String,
}

/// An observer that shows nothing.
pub struct Quiet;
impl Observer for Quiet {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSummary {
    pub entity: Entity,
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

#[derive(Debug, Default)]
pub struct Outcome {
    /// Per table, in import order (committed only when `errors` is empty).
    pub tables: Vec<TableSummary>,
    pub warnings: Vec<String>,
    /// Listed errors, in file and line order.
    pub errors: Vec<RowProblem>,
    /// Errors beyond those listed.
    pub more_errors: usize,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }

    fn error(&mut self, origin: &str, line: usize, message: String) {
        if self.errors.len() < MAX_LISTED_ERRORS {
            self.errors.push(RowProblem {
                origin: origin.to_string(),
                line,
                message,
            });
        } else {
            self.more_errors += 1;
        }
    }
}

/// One bad row or cell: `problems.csv:17: deadline: "2026-13-01" is not a date`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RowProblem {
    pub origin: String,
    pub line: usize,
    /// `field: what is wrong`, or what is wrong with the whole row.
    pub message: String,
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.origin, self.line, self.message)
    }
}

/// Imports the tables in one transaction; commits only when every row of
/// every table is valid.
pub fn import(
    conn: &mut Db,
    mut tables: Vec<TableInput<'_>>,
    stamp: &Stamp,
    observer: &dyn Observer,
) -> Result<Outcome> {
    tables.sort_by_key(|t| Entity::IMPORT_ORDER.iter().position(|e| *e == t.entity));
    // The import's own bookkeeping (which rows came from which line) lives
    // in temporary tables; a larger cache for them keeps most of their
    // pages off the temporary file without holding them all in memory.
    super::sqlite::temp_cache(conn)?;
    // Every reference is checked below, with file:line messages; SQLite's
    // own deferred check would repeat it at a cost per row. The pragma
    // only takes effect outside a transaction.
    super::sqlite::foreign_keys(conn, false)?;
    let outcome = import_tables(conn, &mut tables, stamp, observer);
    super::sqlite::foreign_keys(conn, true)?;
    outcome
}

fn import_tables(
    conn: &mut Db,
    tables: &mut [TableInput<'_>],
    stamp: &Stamp,
    observer: &dyn Observer,
) -> Result<Outcome> {
    let tx = conn.transaction_with_behavior(Behavior::Immediate)?;
    let d = tx.dialect();
    tx.execute_batch(&d.new_temp_table(
        "import_rows",
        "CREATE TEMP TABLE import_rows (
           tbl TEXT NOT NULL, id TEXT NOT NULL, file INTEGER NOT NULL, line INTEGER NOT NULL,
           PRIMARY KEY (tbl, id)) WITHOUT ROWID",
    ))?;
    let mut out = Outcome::default();
    let mut prov = Provenance {
        import_rows: d.temp("import_rows"),
        ..Provenance::default()
    };
    let inputs: Vec<Entity> = tables.iter().map(|t| t.entity).collect();
    let mut deferred = Deferred::default();
    for table in tables.iter_mut() {
        observer.table_started(table);
        let sole = inputs.iter().filter(|e| **e == table.entity).count() == 1;
        let summary = import_table(
            &tx,
            table,
            sole,
            stamp,
            observer,
            &mut prov,
            &mut deferred,
            &mut out,
        )?;
        observer.table_finished(table);
        match out.tables.iter_mut().find(|s| s.entity == summary.entity) {
            Some(s) => {
                s.rows += summary.rows;
                s.inserted += summary.inserted;
                s.updated += summary.updated;
                s.unchanged += summary.unchanged;
            }
            None => out.tables.push(summary),
        }
    }
    // Statistics of what was written (kept when the import commits), so
    // that the checks below are planned as joins of whole tables.
    let mut names: Vec<&str> = tables.iter().map(|t| t.entity.table()).collect();
    names.dedup();
    names.push(&prov.import_rows);
    if let Some(sql) = d.after_bulk_load(&names) {
        tx.execute_batch(&sql)?;
    }
    check_references(&tx, &prov, &mut out)?;
    check_ancestry(&tx, &prov, &mut out)?;
    out.errors.sort();
    if out.ok() {
        // Checked above with file:line messages; the database checks each
        // again in one scan of its table.
        for sql in &deferred.references {
            tx.execute_batch(sql)?;
        }
        tx.commit()?;
    } else {
        tx.rollback()?;
    }
    Ok(out)
}

/// How a header cell maps to a field: by column (`inspection_id`), field
/// name (`inspection`) or Chinese label (`巡察`).
fn field_for_column<'s>(entity: Entity, column: &str) -> Option<&'s FieldDef> {
    let c = column.trim();
    entity.def().fields.iter().find(|f| {
        f.column().is_some_and(|col| col.eq_ignore_ascii_case(c))
            || f.name.eq_ignore_ascii_case(c)
            || f.zh == c
    })
}

/// Where each row of this import came from, for `file:line` messages.
#[derive(Default)]
struct Provenance {
    /// The temporary table of the rows written: `(tbl, id, file, line)`.
    import_rows: String,
    /// Origins by file number (`file` in `import_rows`).
    files: Vec<String>,
    /// Tables that were empty and are filled from one file: the line of
    /// each row kept by rowid here rather than a row each in
    /// `import_rows`.
    filled: HashMap<&'static str, Filled>,
    /// The ids of a staged import, by table, as hashes: an id hashed as
    /// one seen before is looked up in `import_rows`, where its first
    /// line is (a hash of eight bytes an id instead of the id itself and
    /// its place).
    ids: HashSet<u64>,
    hasher: RandomState,
}

/// What an import set aside while it filled empty tables.
#[derive(Default)]
struct Deferred {
    /// References dropped while their tables were filled, added again once
    /// every row is in and checked.
    references: Vec<String>,
    /// Whether rows written so far wait for a deferred check of a
    /// reference (PostgreSQL then alters and indexes no table).
    unchecked: bool,
}

/// The rows of one table on their way to PostgreSQL: written in COPY's
/// text format to a staging table, then into the table by one statement
/// (see [`write_sql`]).
struct Staged {
    /// The staging table.
    table: String,
    /// Rows not yet sent.
    rows: String,
    /// `import_rows` lines not yet sent.
    seen: String,
    /// Tasks the ledger closes, with the line that closes them.
    closes: Vec<(String, usize)>,
}

impl Staged {
    /// Sent once this much is waiting: a large ledger goes in several
    /// COPYs rather than held whole.
    const BATCH: usize = 4 << 20;

    fn new(tx: &Db, def: &schema::EntityDef, cols: &[String]) -> Result<Staged> {
        let d = tx.dialect();
        let table = d.temp("import_stage");
        tx.execute_batch(&format!(
            "{} CREATE TEMP TABLE import_stage AS SELECT {} FROM {} WHERE {}",
            d.drop_temp_table("import_stage"),
            cols.join(", "),
            def.table,
            d.truth_value(false)
        ))?;
        Ok(Staged {
            table,
            rows: String::new(),
            seen: String::new(),
            closes: Vec::new(),
        })
    }

    /// One line of COPY's text format.
    fn line<'v>(out: &mut String, values: impl Iterator<Item = super::ValueRef<'v>>) {
        for (i, v) in values.enumerate() {
            if i > 0 {
                out.push('\t');
            }
            super::copy::copy_text(out, v);
        }
        out.push('\n');
    }

    fn row(&mut self, values: &[Value]) {
        Self::line(&mut self.rows, values.iter().map(Value::as_ref));
    }

    fn seen(&mut self, table: &str, id: &str, file: usize, line: usize) {
        let (file, line) = (file as i64, line as i64);
        Self::line(
            &mut self.seen,
            [
                super::ValueRef::Text(table),
                super::ValueRef::Text(id),
                super::ValueRef::Integer(file),
                super::ValueRef::Integer(line),
            ]
            .into_iter(),
        );
    }

    fn full(&self) -> bool {
        self.rows.len() + self.seen.len() >= Self::BATCH
    }

    /// Sends what is waiting.
    fn send(&mut self, tx: &Db, import_rows: &str) -> Result<()> {
        for (text, into) in [
            (&mut self.rows, self.table.as_str()),
            (&mut self.seen, import_rows),
        ] {
            if text.is_empty() {
                continue;
            }
            tx.copy_in(&format!("COPY {into} FROM STDIN"), &mut |out| {
                out.write_all(text.as_bytes()).map_err(|e| {
                    super::DatabaseError::new(super::ErrorKind::Connection, e.to_string())
                })
            })?;
            text.clear();
        }
        Ok(())
    }
}

struct Filled {
    file: usize,
    /// The rowid of the first row written; rows follow in file order.
    first_rowid: Option<i64>,
    lines: Vec<u32>,
}

impl Filled {
    fn line(&self, rowid: i64) -> usize {
        let at = rowid - self.first_rowid.unwrap_or(rowid);
        usize::try_from(at)
            .ok()
            .and_then(|i| self.lines.get(i))
            .map_or(0, |l| *l as usize)
    }
}

impl Provenance {
    fn add_file(&mut self, origin: &str) -> usize {
        self.files.push(origin.to_string());
        self.files.len() - 1
    }

    fn origin(&self, file: usize) -> String {
        self.files.get(file).cloned().unwrap_or_default()
    }

    /// The rows this import wrote to `table`, as a FROM clause naming the
    /// table `t`, and the two columns `locate` takes.
    fn written(&self, table: &str) -> (String, &'static str, &'static str) {
        if self.filled.contains_key(table) {
            (format!("{table} t"), "NULL", "t.rowid")
        } else {
            (
                format!(
                    "{} r JOIN {table} t ON r.tbl = '{table}' AND t.id = r.id",
                    self.import_rows
                ),
                "r.file",
                "r.line",
            )
        }
    }

    /// `(origin, line)` of a row from `written`'s two columns.
    fn locate(&self, table: &str, file: Option<i64>, pos: i64) -> (String, usize) {
        match self.filled.get(table) {
            Some(f) => (self.origin(f.file), f.line(pos)),
            None => (
                self.origin(file.and_then(|f| usize::try_from(f).ok()).unwrap_or(0)),
                usize::try_from(pos).unwrap_or(0),
            ),
        }
    }
}

/// Whether an INSERT failed on the primary key (an id seen before).
fn is_duplicate_id(e: &super::DatabaseError) -> bool {
    e.kind == super::ErrorKind::Duplicate
}

#[allow(clippy::too_many_arguments)]
fn import_table(
    tx: &Db,
    table: &mut TableInput<'_>,
    sole: bool,
    stamp: &Stamp,
    observer: &dyn Observer,
    prov: &mut Provenance,
    deferred: &mut Deferred,
    out: &mut Outcome,
) -> Result<TableSummary> {
    let entity = table.entity;
    let def = entity.def();
    let origin = table.origin.clone();
    let mut summary = TableSummary {
        entity,
        rows: 0,
        inserted: 0,
        updated: 0,
        unchanged: 0,
    };
    if table.header.len() > super::sources::MAX_COLUMNS {
        out.error(
            &origin,
            1,
            format!(
                "the header has {} columns; no table has more than {}: is this the right file?",
                table.header.len(),
                super::sources::MAX_COLUMNS
            ),
        );
        return Ok(summary);
    }
    // Columns → fields.
    let mut mapped: Vec<Option<&'static FieldDef>> = Vec::new();
    for col in &table.header {
        if super::export::is_read_only_header(col) {
            mapped.push(None);
            continue;
        }
        let f = field_for_column(entity, col);
        match f {
            Some(f) if !f.is_stored() => {
                out.warnings.push(format!(
                    "{origin}: column `{col}` is computed by duban ({}); its values are ignored",
                    f.name
                ));
                mapped.push(None);
            }
            Some(f) if mapped.iter().flatten().any(|m| std::ptr::eq(*m, f)) => {
                out.error(
                    &origin,
                    1,
                    format!("{col}: a second column for `{}`", f.name),
                );
                mapped.push(None);
            }
            Some(f) => mapped.push(Some(f)),
            None if col.is_empty() => mapped.push(None),
            None => {
                out.warnings.push(format!(
                    "{origin}: column `{col}` is not a field of {}; ignored (the columns are: {})",
                    entity,
                    columns_of(entity)
                ));
                mapped.push(None);
            }
        }
    }
    let has = |f: &FieldDef| mapped.iter().flatten().any(|m| std::ptr::eq(*m, f));
    if !def.fields.iter().any(|f| f.name == "id" && has(f)) {
        out.error(
            &origin,
            1,
            "missing required column `id` (the header is the first line)".into(),
        );
        return Ok(summary);
    }
    // Columns a new record needs that the file leaves out: fine for rows
    // that update a record, an error for a row that would add one.
    let absent: Vec<String> = def
        .fields
        .iter()
        .filter(|f| f.needed && f.default.is_none() && f.is_stored() && !has(f))
        .filter_map(|f| f.column())
        .collect();
    let mut exists = tx.prepare(&format!("SELECT 1 FROM {} WHERE id = ?1", def.table))?;
    let id_pos = mapped
        .iter()
        .position(|m| m.is_some_and(|f| f.name == "id"));
    let cols: Vec<(usize, &'static FieldDef)> = mapped
        .iter()
        .enumerate()
        .filter_map(|(i, m)| m.map(|f| (i, f)))
        .collect();
    let col_names: Vec<String> = cols.iter().filter_map(|(_, f)| f.column()).collect();
    let before = super::export::count(tx, entity)?;
    // An empty table filled from one file: indexed afterwards (faster than
    // keeping every index in step row by row) and its references checked
    // once it is full (see `Dialect::own_references`). On SQLite its rows'
    // lines are kept in memory (they follow the rowids) and a repeated id
    // is found by the primary key.
    let fills_empty = sole && before == 0 && absent.is_empty();
    let into_empty = fills_empty && tx.dialect().keeps_rowids();
    // Not while rows written before wait for a deferred check of a
    // reference: PostgreSQL alters and indexes no table then.
    let defers = fills_empty && !deferred.unchecked;
    let reindex = if defers {
        if let Some(list) = tx.dialect().own_references() {
            deferred.references.extend(set_aside(
                tx,
                list,
                def.table,
                |name| format!("ALTER TABLE {} DROP CONSTRAINT {name}", def.table),
                |name, definition| {
                    format!(
                        "ALTER TABLE {} ADD CONSTRAINT {name} {definition}",
                        def.table
                    )
                },
            )?);
        }
        set_aside(
            tx,
            tx.dialect().own_indexes(),
            def.table,
            |name| format!("DROP INDEX {name}"),
            |_, statement| statement,
        )?
    } else {
        Vec::new()
    };
    // A table written with its references in place leaves their checks
    // waiting for COMMIT (SQLite's are off for the import).
    deferred.unchecked |= !defers
        && tx.dialect().own_references().is_some()
        && def.fields.iter().any(|f| matches!(f.ty, FieldType::Ref(_)));
    // On PostgreSQL the rows are staged by COPY and written at the end.
    let mut staged = match tx.dialect().copies_in() {
        true => Some(Staged::new(tx, def, &col_names)?),
        false => None,
    };
    let upsert = write_sql(
        tx.dialect(),
        def.table,
        &col_names,
        !absent.is_empty(),
        fills_empty,
        staged.as_ref().map(|s| s.table.as_str()),
    );
    let file = prov.add_file(&origin);
    let mut filled = into_empty.then(|| Filled {
        file,
        first_rowid: None,
        lines: Vec::new(),
    });
    let mut upsert = tx.prepare(&upsert)?;
    let mut seen = tx.prepare(&format!(
        "INSERT INTO {} (tbl, id, file, line) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        prov.import_rows
    ))?;
    // Only a task already in the database can be closed by the ledger.
    let mut closing = match entity {
        Entity::Task => TaskClosing::new(tx, &cols, before == 0)?,
        _ => None,
    };
    let mut first_seen = tx.prepare(&format!(
        "SELECT file, line FROM {} WHERE tbl = ?1 AND id = ?2",
        prov.import_rows
    ))?;
    let mut rowid_of = match into_empty {
        true => Some(tx.prepare(&format!("SELECT rowid FROM {} WHERE id = ?1", def.table))?),
        false => None,
    };
    let mut changes = 0u64;
    // Lines of task rows older than the database's task (closed or
    // decided since the ledger was exported): left as they are.
    let mut stale: Vec<usize> = Vec::new();
    let mut values: Vec<Value> = Vec::with_capacity(cols.len());
    let mut n = 0u64;
    while let Some(row) = table.rows.next() {
        n += 1;
        if n.is_multiple_of(4096) {
            observer.advance(table, n);
        }
        let mut row = match row {
            Ok(r) => r,
            Err(e) => {
                out.error(&origin, e.line, e.message);
                continue;
            }
        };
        summary.rows += 1;
        let line = row.line;
        if let Some(message) = unterminated_quote(&row.cells, table.header.len()) {
            out.error(&origin, line, message);
            continue;
        }
        if row.cells.len() < table.header.len() {
            out.error(
                &origin,
                line,
                format!(
                    "{} cells but the header has {} columns; a row must have every column (an empty cell is fine)",
                    row.cells.len(),
                    table.header.len()
                ),
            );
            continue;
        }
        if row.cells.len() > table.header.len()
            && row.cells[table.header.len()..]
                .iter()
                .any(|c| *c != Cell::Empty)
        {
            out.error(
                &origin,
                line,
                format!(
                    "{} cells but the header has {} columns",
                    row.cells.len(),
                    table.header.len()
                ),
            );
            continue;
        }
        let id = id_pos
            .and_then(|i| row.cells.get(i))
            .map(Cell::display)
            .unwrap_or_default();
        if id.is_empty() {
            out.error(&origin, line, "id: missing (every row needs an id)".into());
            continue;
        }
        if let Some(st) = staged.as_mut() {
            if !prov
                .ids
                .insert(prov.hasher.hash_one((def.table, id.as_str())))
            {
                // Seen, or a hash shared with another id.
                st.send(tx, &prov.import_rows)?;
                let first: Option<(i64, i64)> = first_seen
                    .query_row(params![def.table, id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                if let Some((f, l)) = first {
                    let o = prov.origin(usize::try_from(f).unwrap_or(0));
                    out.error(
                        &origin,
                        line,
                        format!("id: \"{id}\" appears twice (first at {o}:{l})"),
                    );
                    continue;
                }
            }
            st.seen(def.table, &id, file, line);
        } else if filled.is_none()
            && seen.execute(params![def.table, id, file as i64, line as i64])? == 0
        {
            let (f, l): (i64, i64) =
                first_seen.query_row(params![def.table, id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let o = prov.origin(usize::try_from(f).unwrap_or(0));
            out.error(
                &origin,
                line,
                format!("id: \"{id}\" appears twice (first at {o}:{l})"),
            );
            continue;
        }
        // A row of a filled table that is refused is still "in this
        // import" for the reference checks.
        let mut refused = |out: &mut Outcome, message: Option<String>| {
            if let Some(m) = message {
                out.error(&origin, line, m);
            }
            if filled.is_some() {
                seen.execute(params![def.table, id, file as i64, line as i64])?;
            }
            Ok::<(), super::DatabaseError>(())
        };
        let mut row_ok = true;
        // Whether the row updates a record, asked once and only when it
        // matters.
        let mut updates: Option<bool> = None;
        if !absent.is_empty() && !*updates.get_or_insert(exists.exists(params![id])?) {
            row_ok = false;
            for col in &absent {
                out.error(
                    &origin,
                    line,
                    format!(
                        "{col}: missing (a new {entity} needs one; only a row that updates a record may leave the column out)"
                    ),
                );
            }
        }
        values.clear();
        for (i, f) in &cols {
            let cell = row
                .cells
                .get_mut(*i)
                .map(std::mem::take)
                .unwrap_or_default();
            match convert(entity, f, cell) {
                Ok(v) => values.push(v),
                // A record from before a value was needed may stay without.
                Err(CellError::Missing(_))
                    if !f.required && *updates.get_or_insert(exists.exists(params![id])?) =>
                {
                    values.push(Value::Null)
                }
                Err(msg) => {
                    row_ok = false;
                    out.error(
                        &origin,
                        line,
                        format!("{}: {msg}", f.column().unwrap_or_default()),
                    );
                }
            }
        }
        if !row_ok {
            refused(out, None)?;
            continue;
        }
        let closing = match closing.as_mut() {
            Some(c) => match c.check(&id, &values, stamp.today)? {
                Ok(TaskRow::Writes) => false,
                Ok(TaskRow::Closes) => true,
                Ok(TaskRow::Stale) => {
                    stale.push(line);
                    continue;
                }
                Err(message) => {
                    refused(out, Some(message))?;
                    continue;
                }
            },
            None => false,
        };
        if let Some(st) = staged.as_mut() {
            st.row(&values);
            if closing {
                st.closes.push((id, line));
            }
            if st.full() {
                st.send(tx, &prov.import_rows)?;
            }
            continue;
        }
        match upsert.execute(super::params_from_iter(values.iter())) {
            Ok(n) => changes += n as u64,
            Err(e) if is_duplicate_id(&e) && rowid_of.is_some() => {
                let first: i64 = match rowid_of.as_mut() {
                    Some(stmt) => stmt.query_row(params![id], |r| r.get(0))?,
                    None => 0,
                };
                let l = filled.as_ref().map_or(0, |f| f.line(first));
                out.error(
                    &origin,
                    line,
                    format!("id: \"{id}\" appears twice (first at {origin}:{l})"),
                );
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        if let Some(f) = filled.as_mut() {
            if f.first_rowid.is_none() {
                f.first_rowid = Some(tx.last_insert_rowid()?);
            }
            f.lines.push(u32::try_from(line).unwrap_or(u32::MAX));
        }
        if closing {
            tasks::closed_by(tx, &id, &format!("import {origin}:{line}"), &stamp.at)?;
        }
    }
    observer.advance(table, n);
    if let Some(mut st) = staged {
        st.send(tx, &prov.import_rows)?;
        changes = upsert.execute([])? as u64;
        for (id, line) in &st.closes {
            tasks::closed_by(tx, id, &format!("import {origin}:{line}"), &stamp.at)?;
        }
        tx.execute_batch(&tx.dialect().drop_temp_table("import_stage"))?;
    }
    if !stale.is_empty() {
        out.warnings.push(stale_warning(&origin, &stale));
    }
    if let Some(f) = filled {
        prov.filled.insert(def.table, f);
    }
    for sql in &reindex {
        tx.execute_batch(sql)?;
    }
    let after = super::export::count(tx, entity)?;
    summary.inserted = after - before;
    summary.updated = changes.saturating_sub(summary.inserted);
    summary.unchanged = summary.rows.saturating_sub(changes);
    Ok(summary)
}

/// Sets aside what `list` names of `table` — `(name, definition)` rows: a
/// table's own indexes, not the primary key's (`Dialect::own_indexes`), or
/// its references where the database would check them row by row
/// (`Dialect::own_references`) — dropping each by `drop`, and returns the
/// statements `again` makes to put them back.
fn set_aside(
    tx: &Db,
    list: &str,
    table: &str,
    drop: impl Fn(&str) -> String,
    again: impl Fn(String, String) -> String,
) -> Result<Vec<String>> {
    let mut stmt = tx.prepare(list)?;
    let listed: Vec<(String, String)> = stmt
        .query_map(params![table], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<super::DbResult<_>>()?;
    for (name, _) in &listed {
        tx.execute_batch(&drop(name))?;
    }
    Ok(listed
        .into_iter()
        .map(|(name, definition)| again(name, definition))
        .collect())
}

/// The statement that writes one row, its values bound as `?1…` in the
/// order of `cols` (or every row of the table `staged`, whose columns are
/// `cols`): a plain INSERT into a table that was empty; an UPDATE
/// when the file leaves out a column a new record needs (such a file can
/// only update records — rows that would add one are refused — and an
/// upsert's INSERT would fail on the missing NOT NULL value first);
/// otherwise an upsert that leaves unchanged rows untouched.
fn write_sql(
    d: super::Dialect,
    table: &str,
    cols: &[String],
    only_updates: bool,
    into_empty: bool,
    staged: Option<&str>,
) -> String {
    let updates: Vec<&String> = cols.iter().filter(|c| c.as_str() != "id").collect();
    let param = |c: &str| match staged {
        Some(_) => format!("s.{c}"),
        None => format!(
            "?{}",
            cols.iter().position(|n| n == c).map(|i| i + 1).unwrap_or(0)
        ),
    };
    let rows = match staged {
        Some(s) => format!("SELECT {} FROM {s}", cols.join(", ")),
        None => format!("VALUES ({})", super::placeholders(cols.len())),
    };
    let changed = |value: &dyn Fn(&str) -> String| {
        updates
            .iter()
            .map(|c| d.is_distinct(&format!("{table}.{c}"), &value(c)))
            .collect::<Vec<_>>()
            .join(" OR ")
    };
    if into_empty {
        format!("INSERT INTO {table} ({}) {rows}", cols.join(", "))
    } else if only_updates && updates.is_empty() {
        // Only ids: nothing to write.
        let id = match staged {
            Some(_) => String::new(),
            None => " AND id = ?1".into(),
        };
        format!(
            "UPDATE {table} SET id = id WHERE {}{id}",
            d.truth_value(false)
        )
    } else if only_updates {
        format!(
            "UPDATE {table} SET {sets}{from} WHERE {table}.id = {id} AND ({changed})",
            id = param("id"),
            from = staged.map(|s| format!(" FROM {s} s")).unwrap_or_default(),
            sets = updates
                .iter()
                .map(|c| format!("{c} = {}", param(c)))
                .collect::<Vec<_>>()
                .join(", "),
            changed = changed(&|c| param(c)),
        )
    } else if updates.is_empty() {
        format!("INSERT INTO {table} (id) {rows} ON CONFLICT(id) DO NOTHING")
    } else {
        format!(
            "INSERT INTO {table} ({cols}) {rows} ON CONFLICT(id) DO UPDATE SET {sets} WHERE {changed}",
            cols = cols.join(", "),
            sets = updates
                .iter()
                .map(|c| format!("{c} = excluded.{c}"))
                .collect::<Vec<_>>()
                .join(", "),
            changed = changed(&|c| format!("excluded.{c}")),
        )
    }
}

fn columns_of(entity: Entity) -> String {
    entity
        .def()
        .fields
        .iter()
        .filter_map(|f| f.column())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a cell is not a value of its field.
#[derive(Debug, thiserror::Error)]
enum CellError {
    #[error("missing (every {0} needs one)")]
    Missing(Entity),
    #[error("\"{0}\" is not a number")]
    NotANumber(String),
    #[error("\"{0}\" is not a date (write 2026-01-05, 2026/1/5 or 2026年1月5日)")]
    NotADate(String),
    #[error(
        "a control character (U+{0:04X}) in the text; remove it (it often comes from a copy and paste)"
    )]
    Control(u32),
    #[error("\"{0}\" is not an email address (write name@example.org)")]
    NotAnEmail(String),
    #[error("\"{0}\" is not a mobile number (write 13800000000 or +86 138 0000 0000)")]
    NotAMobile(String),
    #[error("\"{text}\" is not a {what}; use {choices}")]
    NotAnEnumValue {
        text: String,
        what: &'static str,
        choices: String,
    },
}

/// A quote (`"`) opened in a cell and never closed makes the CSV reader
/// take the lines after it into that cell: a cell that runs over a line
/// break into what reads as whole rows of the file.
fn unterminated_quote(cells: &[Cell], columns: usize) -> Option<String> {
    cells.iter().find_map(|c| {
        let Cell::Text(t) = c else { return None };
        let swallowed = t
            .lines()
            .skip(1)
            .filter(|l| columns > 1 && l.matches(',').count() + 1 >= columns)
            .count();
        (swallowed > 0).then(|| {
            format!(
                "a quote (\") opened in this row is never closed: the {swallowed} line{} after it became part of one cell; close the quote (write \"\" for a quote inside a cell)",
                if swallowed == 1 { "" } else { "s" }
            )
        })
    })
}

/// One cell as the value stored for a field.
fn convert(entity: Entity, f: &FieldDef, cell: Cell) -> std::result::Result<Value, CellError> {
    let date = |d: NaiveDate| Value::Text(d.to_string());
    match (f.ty, &cell) {
        (_, Cell::Empty) => {
            return match (f.default, f.needed) {
                (Some(d), _) => Ok(Value::Text(d.to_string())),
                (None, true) => Err(CellError::Missing(entity)),
                (None, false) => Ok(Value::Null),
            };
        }
        (FieldType::Number, Cell::Number(n)) => return Ok(Value::Real(*n)),
        (FieldType::Date, Cell::Date(d)) => return Ok(date(*d)),
        // An Excel date serial in a cell not formatted as a date.
        (FieldType::Date, Cell::Number(n))
            if (1.0..=2_958_465.0).contains(n) && n.fract() == 0.0 =>
        {
            if let Some(d) = NaiveDate::from_ymd_opt(1899, 12, 30)
                .and_then(|epoch| epoch.checked_add_days(chrono::Days::new(*n as u64)))
            {
                return Ok(date(d));
            }
        }
        _ => {}
    }
    let text = cell.into_text();
    if let Some(c) = crate::text::control_char(&text) {
        return Err(CellError::Control(c as u32));
    }
    match f.ty {
        FieldType::Text if f.name == "email" && !crate::text::is_email(&text) => {
            Err(CellError::NotAnEmail(text))
        }
        FieldType::Text if f.name == "mobile" => crate::text::mobile_number(&text)
            .map(Value::Text)
            .ok_or(CellError::NotAMobile(text)),
        FieldType::Text | FieldType::Ref(_) => Ok(Value::Text(text)),
        FieldType::Number => text
            .parse::<f64>()
            .map(Value::Real)
            .map_err(|_| CellError::NotANumber(text)),
        FieldType::Date => match crate::text::parse_date(&text) {
            // Written as stored: kept, not written out again.
            Some(_) if crate::text::is_stored_date_form(&text) => Ok(Value::Text(text)),
            Some(d) => Ok(date(d)),
            None => Err(CellError::NotADate(text)),
        },
        FieldType::Enum(e) => e
            .code_of(&text)
            .map(|c| Value::Text(c.to_string()))
            .ok_or_else(|| CellError::NotAnEnumValue {
                what: e.name,
                choices: e
                    .values
                    .iter()
                    .map(|(c, l)| format!("{c} ({l})"))
                    .collect::<Vec<_>>()
                    .join(", "),
                text,
            }),
        FieldType::TaskKind => Ok(Value::Text(
            schema::standard_task_kind(&text)
                .map(|(c, _)| c.to_string())
                .unwrap_or(text),
        )),
    }
}

/// A tasks sheet in which a clerk set an open task done (已完成) closes it
/// as `duban tasks done` does: with an outcome, on a day neither in the
/// future nor before the task was created. A closed task stays closed.
struct TaskClosing<'c> {
    before: super::Statement<'c>,
    /// The table was empty: no row has a task before it.
    was_empty: bool,
    status: usize,
    done_on: Option<usize>,
    outcome: Option<usize>,
}

impl<'c> TaskClosing<'c> {
    /// For a tasks file with a `status` column (positions are into the
    /// row's values, which follow `cols`).
    fn new(
        tx: &'c Db,
        cols: &[(usize, &'static FieldDef)],
        was_empty: bool,
    ) -> Result<Option<Self>> {
        let at = |name: &str| cols.iter().position(|(_, f)| f.name == name);
        let Some(status) = at("status") else {
            return Ok(None);
        };
        Ok(Some(TaskClosing {
            before: tx
                .prepare("SELECT status, created_on, done_on, outcome FROM tasks WHERE id = ?1")?,
            was_empty,
            status,
            done_on: at("done_on"),
            outcome: at("outcome"),
        }))
    }

    /// What this row does to its task, or why it may not be imported.
    fn check(
        &mut self,
        id: &str,
        values: &[Value],
        today: NaiveDate,
    ) -> Result<std::result::Result<TaskRow, String>> {
        type Before = (String, Option<String>, Option<String>, Option<String>);
        let before: Option<Before> = if self.was_empty {
            None
        } else {
            self.before
                .query_row(params![id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()?
        };
        let text = |i: Option<usize>, old: Option<String>| match i.map(|i| &values[i]) {
            Some(Value::Text(t)) => Some(t.clone()),
            Some(_) => None,
            None => old,
        };
        let now = text(Some(self.status), None).unwrap_or_default();
        let pending = TaskStatus::Pending.code();
        let Some((was, created_on, done_on, outcome)) = before else {
            if now == pending {
                return Ok(Err(format!(
                    "status: {pending} is for the tasks of a rule with `approval by`, set when it fires; import a new task as open"
                )));
            }
            return Ok(Ok(TaskRow::Writes));
        };
        match status_change(id, &was, &now) {
            StatusChange::Same => return Ok(Ok(TaskRow::Writes)),
            StatusChange::Stale => return Ok(Ok(TaskRow::Stale)),
            StatusChange::Refused(why) => return Ok(Err(why)),
            StatusChange::Closes => {}
        }
        let Some(on) = text(self.done_on, done_on).and_then(|d| crate::text::parse_date(&d)) else {
            return Ok(Err(
                "done_on: missing (a task marked done needs the day it was done)".into(),
            ));
        };
        let outcome = text(self.outcome, outcome).unwrap_or_default();
        Ok(
            tasks::check_done(created_on.as_deref(), &outcome, on, today)
                .map(|()| TaskRow::Closes)
                .map_err(|e| e.to_string()),
        )
    }
}

/// What a tasks row does to the task it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TaskRow {
    /// Written as any row: its status is the database's.
    Writes,
    /// Marks an open task done.
    Closes,
    /// Older than the database's task: left as it is.
    Stale,
}

/// What a ledger row saying status `now` does to a task the database has
/// as `was`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusChange {
    /// The same status.
    Same,
    /// The row is older than the task: it was exported before the task was
    /// closed or its approval decided (`pending` → `open` → `done` or
    /// `cancelled`; a task never goes back). Not an edit: the row is left
    /// out and the task stays as it is.
    Stale,
    /// An open task marked done: closed as `duban tasks done` would.
    Closes,
    /// A change an import may not make, and why.
    Refused(String),
}

/// How far along its life a task status is; `None` for an unknown code.
fn stage(status: &str) -> Option<u8> {
    match TaskStatus::parse(status)? {
        TaskStatus::Pending => Some(0),
        TaskStatus::Open => Some(1),
        TaskStatus::Done | TaskStatus::Cancelled => Some(2),
    }
}

/// The one rule for a task's status in an import (whatever the database):
/// a ledger may close an open task; a row from before the task was closed
/// or decided is stale, not an edit; nothing else changes a status.
pub fn status_change(id: &str, was: &str, now: &str) -> StatusChange {
    if now == was {
        return StatusChange::Same;
    }
    if let (Some(w), Some(n)) = (stage(was), stage(now))
        && n < w
    {
        return StatusChange::Stale;
    }
    let (pending, open, done) = (
        TaskStatus::Pending.code(),
        TaskStatus::Open.code(),
        TaskStatus::Done.code(),
    );
    if was == pending {
        return StatusChange::Refused(format!(
            "status: task {id} awaits approval; an import does not change it (decide the request with `duban approvals approve|reject`)"
        ));
    }
    if was != open {
        return StatusChange::Refused(format!(
            "status: task {id} is already {was}; an import does not change a closed task"
        ));
    }
    if now != done {
        return StatusChange::Refused(format!(
            "status: an import can mark a task done, not {now}; cancel it with `duban tasks cancel {id} --reason …`"
        ));
    }
    StatusChange::Closes
}

/// The warning for task rows older than the database: `tasks.xlsx[tasks]:
/// 2 rows (lines 3, 7) show tasks as they were before …`.
fn stale_warning(origin: &str, lines: &[usize]) -> String {
    const SHOWN: usize = 10;
    let mut listed: Vec<String> = lines.iter().take(SHOWN).map(|l| l.to_string()).collect();
    if lines.len() > SHOWN {
        listed.push("…".into());
    }
    let (n, rows, were) = match lines.len() {
        1 => (String::new(), "a row", "line"),
        n => (format!("{n} "), "rows", "lines"),
    };
    let rows = if n.is_empty() {
        rows.to_string()
    } else {
        format!("{n}{rows}")
    };
    format!(
        "{origin}: {rows} ({were} {}) show tasks as they were before they were closed or their approval decided; kept as the database has them",
        listed.join(", ")
    )
}

/// An organization must not be its own ancestor through `parent_id`.
fn check_ancestry(tx: &Db, prov: &Provenance, out: &mut Outcome) -> Result<()> {
    let (from, file, pos) = prov.written("organizations");
    let mut stmt = tx.prepare(&format!(
        "WITH RECURSIVE up(start, file, pos, id) AS (
           SELECT t.id, {file}, {pos}, t.parent_id FROM {from} WHERE t.parent_id IS NOT NULL
           UNION
           SELECT up.start, up.file, up.pos, o.parent_id FROM up JOIN organizations o ON o.id = up.id
            WHERE o.parent_id IS NOT NULL AND up.id <> up.start)
         SELECT DISTINCT file, pos, start FROM up WHERE id = start"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let (origin, line) = prov.locate("organizations", r.get(0)?, r.get(1)?);
        let id: String = r.get(2)?;
        out.error(
            &origin,
            line,
            format!("parent_id: organization \"{id}\" would be its own ancestor (its parent_id chain comes back to it)"),
        );
    }
    Ok(())
}

/// Every reference written by this import must name a record that exists,
/// in the database or in the import (a refused row of the import counts:
/// its own error is enough).
fn check_references(tx: &Db, prov: &Provenance, out: &mut Outcome) -> Result<()> {
    let mut missing =
        |table: &str, col: &str, target: &str, filter: &str, what: Entity| -> Result<()> {
            let (from, file, pos) = prov.written(table);
            let sql = format!(
                "SELECT {file}, {pos}, t.{col} FROM {from}
             WHERE t.{col} IS NOT NULL {filter}
               AND NOT EXISTS (SELECT 1 FROM {target} x WHERE x.id = t.{col})
               AND NOT EXISTS (SELECT 1 FROM {rows} y WHERE y.tbl = '{target}' AND y.id = t.{col})",
                rows = prov.import_rows
            );
            let mut stmt = tx.prepare(&sql)?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let (origin, line) = prov.locate(table, r.get(0)?, r.get(1)?);
                let value: String = r.get(2)?;
                out.error(
                    &origin,
                    line,
                    format!(
                        "{col}: no {what} \"{value}\" (neither in the database nor in this import)"
                    ),
                );
            }
            Ok(())
        };
    for d in schema::ENTITIES {
        for f in d.fields {
            if let (FieldType::Ref(target), Some(col)) = (f.ty, f.column()) {
                missing(d.table, &col, target.table(), "", target)?;
            }
        }
    }
    // A task names its subject by type and id.
    for subject in [Entity::Problem, Entity::Inspection, Entity::Organization] {
        let filter = format!("AND t.subject_type = '{}'", subject.name());
        missing("tasks", "subject_id", subject.table(), &filter, subject)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_never_goes_back() {
        use StatusChange::*;
        assert_eq!(status_change("T1", "open", "open"), Same);
        assert_eq!(status_change("T1", "done", "open"), Stale);
        assert_eq!(status_change("T1", "cancelled", "pending"), Stale);
        assert_eq!(status_change("T1", "open", "pending"), Stale);
        assert_eq!(status_change("T1", "open", "done"), Closes);
        assert!(matches!(
            status_change("T1", "done", "cancelled"),
            Refused(_)
        ));
        assert!(matches!(status_change("T1", "pending", "open"), Refused(_)));
        assert!(
            matches!(status_change("T1", "open", "cancelled"), Refused(m) if m.contains("tasks cancel"))
        );
    }
}
