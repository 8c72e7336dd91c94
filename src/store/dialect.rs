//! Everything spelled differently in SQLite and PostgreSQL, in one place:
//! parameters, transactions, day arithmetic, greatest/least, booleans as
//! numbers, DDL. Code that builds SQL asks its [`Dialect`]; nothing else
//! writes either spelling.

use super::db::Behavior;

/// The database a statement is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SQLite",
            Dialect::Postgres => "PostgreSQL",
        }
    }

    /// The statement that starts a transaction.
    pub fn begin(self, behavior: Behavior) -> &'static str {
        match (self, behavior) {
            (Dialect::Sqlite, Behavior::Deferred | Behavior::Snapshot) => "BEGIN DEFERRED",
            (Dialect::Sqlite, Behavior::Immediate) => "BEGIN IMMEDIATE",
            (Dialect::Postgres, Behavior::Snapshot) => {
                "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
            }
            (Dialect::Postgres, _) => "BEGIN",
        }
    }

    /// A day (text `YYYY-MM-DD` in SQLite, `date` in PostgreSQL) as it is
    /// compared and counted: a parameter or column expression.
    pub fn day(self, x: &str) -> String {
        match self {
            Dialect::Sqlite => x.to_string(),
            Dialect::Postgres => format!("CAST({x} AS date)"),
        }
    }

    /// Days from `from` to `to` (`to - from`), as a real number; NULL if
    /// either is NULL. The days are dates already in PostgreSQL (columns
    /// of type `date`, parameters through [`Dialect::day`]), as in the
    /// functions below.
    pub fn days_between(self, to: &str, from: &str) -> String {
        match self {
            Dialect::Sqlite => format!("(julianday({to}) - julianday({from}))"),
            Dialect::Postgres => format!("CAST({to} - {from} AS double precision)"),
        }
    }

    /// Whole days from `from` to `to`, as an integer.
    pub fn whole_days_between(self, to: &str, from: &str) -> String {
        match self {
            Dialect::Sqlite => format!("CAST(julianday({to}) - julianday({from}) AS INTEGER)"),
            Dialect::Postgres => format!("({to} - {from})"),
        }
    }

    /// `date` moved by a number of days given as a parameter (see
    /// [`Dialect::day_offset`]).
    pub fn add_days_param(self, date: &str, offset: &str) -> String {
        match self {
            Dialect::Sqlite => format!("date({date}, {offset})"),
            Dialect::Postgres => format!("({date} + {offset})"),
        }
    }

    /// `date` moved by a whole number of days written in the SQL.
    pub fn add_days(self, date: &str, days: i64) -> String {
        match self {
            Dialect::Sqlite => format!("date({date}, '{days:+} days')"),
            Dialect::Postgres => format!("({date} + {days})"),
        }
    }

    /// `date` moved by a number of days computed in the query (a real
    /// number; whole days are taken).
    pub fn add_days_expr(self, date: &str, days: &str) -> String {
        match self {
            Dialect::Sqlite => format!("date({date}, printf('%+.6f days', {days}))"),
            Dialect::Postgres => format!("({date} + CAST(floor({days}) AS integer))"),
        }
    }

    /// The latest of several values, NULL when one is NULL (SQLite's
    /// scalar `max`; PostgreSQL's `greatest` skips NULLs).
    pub fn greatest(self, args: &[String]) -> String {
        match self {
            Dialect::Sqlite => format!("max({})", args.join(", ")),
            Dialect::Postgres => null_if_any(args, &format!("greatest({})", args.join(", "))),
        }
    }

    /// The earliest of several values, NULL when one is NULL.
    pub fn least(self, args: &[String]) -> String {
        match self {
            Dialect::Sqlite => format!("min({})", args.join(", ")),
            Dialect::Postgres => null_if_any(args, &format!("least({})", args.join(", "))),
        }
    }

    /// True or false as a condition is written: SQLite's conditions are
    /// the numbers 1 and 0, PostgreSQL's booleans.
    pub fn truth_value(self, b: bool) -> &'static str {
        match (self, b) {
            (Dialect::Sqlite, true) => "1",
            (Dialect::Sqlite, false) => "0",
            (Dialect::Postgres, true) => "TRUE",
            (Dialect::Postgres, false) => "FALSE",
        }
    }

    /// A condition as the number 0 or 1, to sum or compare with numbers.
    pub fn bool_number(self, cond: &str) -> String {
        match self {
            Dialect::Sqlite => cond.to_string(),
            Dialect::Postgres => format!("CAST({cond} AS integer)"),
        }
    }

    /// How many rows of a group `cond` holds for (NULL for none): SQLite
    /// sums its truth values, PostgreSQL counts them as integers.
    pub fn count_if(self, cond: &str) -> String {
        match self {
            Dialect::Sqlite => format!("sum({cond})"),
            Dialect::Postgres => format!("sum(CAST({cond} AS integer))"),
        }
    }

    /// Whether a rule's query over its whole table reads every subject it
    /// holds for faster than looking each up in a list of them (see
    /// [`Dialect::each_listed`]). PostgreSQL plans the whole query with
    /// hash joins: `escalate`'s first simulated day at a million problems,
    /// 131,770 subjects, 0.36 s against 1.1 s looked up. SQLite looks each
    /// up in its B-trees within the process, faster than evaluating the
    /// condition again: the same month simulated 5.4 s looked up, 6.9 s
    /// evaluated.
    pub fn evaluates_rather_than_looks_up(self) -> bool {
        self == Dialect::Postgres
    }

    /// The rows of `table` (as `s`) whose ids a temporary table lists (as
    /// `h`, typically far fewer), looked up one by one in that order.
    /// SQLite keeps the order of a `CROSS JOIN`; PostgreSQL's planner
    /// would reorder it and, misjudging how many rows the join gives,
    /// scanned a million problems to probe the list instead: a `LATERAL`
    /// subquery that `OFFSET 0` keeps from being flattened holds it to
    /// the order, one row per id listed.
    pub fn each_listed(self, list: &str, table: &str) -> String {
        match self {
            Dialect::Sqlite => format!("{list} h CROSS JOIN {table} s ON s.id = h.id"),
            Dialect::Postgres => format!(
                "{list} h JOIN LATERAL (SELECT * FROM {table} WHERE {table}.id = h.id OFFSET 0) s ON TRUE"
            ),
        }
    }

    /// A temporary table (of this connection) as statements name it.
    pub fn temp(self, name: &str) -> String {
        match self {
            Dialect::Sqlite => format!("temp.{name}"),
            Dialect::Postgres => format!("pg_temp.{name}"),
        }
    }

    /// Makes a temporary table afresh, dropping one left over: `create`
    /// is SQLite's `CREATE TEMP TABLE name (…)`; PostgreSQL's columns are
    /// typed by their names as duban's own tables are (`…_at` times,
    /// `…_on`, `lo`, `hi` days).
    pub fn new_temp_table(self, name: &str, create: &str) -> String {
        let drop = format!("DROP TABLE IF EXISTS {};\n", self.temp(name));
        match self {
            Dialect::Sqlite => format!("{drop}{create};"),
            Dialect::Postgres => {
                let (table, _) = postgres_table(create, &temp_column_kind);
                format!("{drop}{table}")
            }
        }
    }

    /// Makes a temporary table where the connection has none yet: `create`
    /// as for [`Dialect::new_temp_table`]. For a table used again and again
    /// (the subjects a rule holds for, per rule and simulated day), emptied
    /// after each use: PostgreSQL drops and makes a table at a cost that
    /// grows through a long transaction (a month simulated at a million
    /// problems: 366 times, 1.7 s), and empties one far faster.
    pub fn kept_temp_table(self, create: &str) -> String {
        let create = create.replacen("CREATE TEMP TABLE ", "CREATE TEMP TABLE IF NOT EXISTS ", 1);
        match self {
            Dialect::Sqlite => format!("{create};"),
            Dialect::Postgres => postgres_table(&create, &temp_column_kind).0,
        }
    }

    /// Empties a temporary table (SQLite's `DELETE` of every row takes the
    /// whole table at once, as PostgreSQL's `TRUNCATE` does).
    pub fn clear_temp_table(self, name: &str) -> String {
        match self {
            Dialect::Sqlite => format!("DELETE FROM {};", self.temp(name)),
            Dialect::Postgres => format!("TRUNCATE {};", self.temp(name)),
        }
    }

    /// What gives the planner the statistics of a temporary table's
    /// `columns` after many rows went in (none where the database needs
    /// none). PostgreSQL plans from statistics, which it never gathers by
    /// itself for a temporary table. A sample of 9,000 rows (its default is
    /// 30,000) tells apart up to 30 most common values of a column in a
    /// third of the time. SQLite plans from its indexes.
    pub fn gather_statistics(self, table: &str, columns: &str) -> Option<String> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some(format!(
                "SET LOCAL default_statistics_target = 30; ANALYZE {table} ({columns}); RESET default_statistics_target;"
            )),
        }
    }

    /// Drops a temporary table if it is there.
    pub fn drop_temp_table(self, name: &str) -> String {
        format!("DROP TABLE IF EXISTS {};", self.temp(name))
    }

    /// An index of a temporary table: `create` is SQLite's `CREATE INDEX
    /// temp.name ON table(…)`.
    pub fn temp_index(self, create: &str) -> String {
        match self {
            Dialect::Sqlite => format!("{create};"),
            Dialect::Postgres => postgres_index(create),
        }
    }

    /// An INSERT that skips rows whose key is there already: `insert` is
    /// the statement after `INSERT ` (`INTO t … SELECT …`).
    pub fn insert_ignoring(self, insert: &str) -> String {
        match self {
            Dialect::Sqlite => format!("INSERT OR IGNORE {insert}"),
            Dialect::Postgres => format!("INSERT {insert} ON CONFLICT DO NOTHING"),
        }
    }

    /// An INSERT returning the id it gave its row: `insert` is the whole
    /// statement; the id is read with [`super::Db::last_insert_rowid`] on
    /// SQLite and as the statement's one row on PostgreSQL.
    pub fn insert_returning_id(self, insert: &str) -> String {
        match self {
            Dialect::Sqlite => insert.to_string(),
            Dialect::Postgres => format!("{insert} RETURNING id"),
        }
    }

    /// Text ordered by its bytes, as SQLite orders it (PostgreSQL's order
    /// otherwise follows the database's collation).
    pub fn bytewise(self, x: &str) -> String {
        match self {
            Dialect::Sqlite => x.to_string(),
            Dialect::Postgres => format!("{x} COLLATE \"C\""),
        }
    }

    /// A column the planner is not to choose an index for: SQLite's
    /// unary `+`, which PostgreSQL (whose planner weighs the indexes by
    /// their statistics) does not take on text.
    pub fn unindexed(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => format!("+{column}"),
            Dialect::Postgres => column.to_string(),
        }
    }

    /// Whether a query's rows are those of the moment it ran, whatever
    /// its transaction writes while they are read (PostgreSQL, all at once
    /// or through a cursor), so that writing the tables it read while
    /// going through them needs no copy; SQLite steps through the tables
    /// as rows are read.
    pub fn rows_are_a_snapshot(self) -> bool {
        self == Dialect::Postgres
    }

    /// After rows with their ids were copied into a table whose ids are
    /// generated: the next generated id follows the largest copied.
    pub fn ids_follow(self, table: &str) -> Option<String> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) FROM {table};"
            )),
        }
    }

    /// `a` differs from `b`, NULL being a value like any other.
    pub fn is_distinct(self, a: &str, b: &str) -> String {
        match self {
            Dialect::Sqlite => format!("{a} IS NOT {b}"),
            Dialect::Postgres => format!("{a} IS DISTINCT FROM {b}"),
        }
    }

    /// Whether a table's rows carry a rowid in the order they were
    /// written (SQLite).
    pub fn keeps_rowids(self) -> bool {
        self == Dialect::Sqlite
    }

    /// Whether rows are written fastest through `COPY … FROM STDIN`
    /// (PostgreSQL).
    pub fn copies_in(self) -> bool {
        self == Dialect::Postgres
    }

    /// What to run once many rows were written to `tables` at once:
    /// PostgreSQL plans the rules' correlated subqueries from statistics
    /// that a bulk load leaves empty until autovacuum gathers them (minutes
    /// later on a busy server; meanwhile a plan may scan a whole table per
    /// row); SQLite's plans do without.
    pub fn after_bulk_load(self, tables: &[&str]) -> Option<String> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres if tables.is_empty() => None,
            Dialect::Postgres => Some(format!("ANALYZE {}", tables.join(", "))),
        }
    }

    /// The indexes a bulk load into an empty table may drop and build
    /// again afterwards (faster than keeping each in step row by row): a
    /// table's own indexes, not those of its primary key or of a unique
    /// constraint, as `(name, statement that builds it)`; `?1` is the
    /// table.
    pub fn own_indexes(self) -> &'static str {
        match self {
            Dialect::Sqlite => {
                "SELECT name, sql FROM sqlite_master
                 WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL"
            }
            Dialect::Postgres => {
                "SELECT c.relname, pg_get_indexdef(i.indexrelid)
                 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                 WHERE i.indrelid = to_regclass(?1) AND NOT i.indisunique"
            }
        }
    }

    /// A table's references (foreign keys) a bulk load may drop and add
    /// again afterwards, as `(name, definition)` (`?1` is the table):
    /// PostgreSQL checks a deferred reference row by row at COMMIT, but
    /// one added to a filled table in one scan. SQLite's are switched off
    /// for the import as a whole (none listed).
    pub fn own_references(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
                 WHERE conrelid = to_regclass(?1) AND contype = 'f'",
            ),
        }
    }

    /// The names of the database's own tables, in order of name.
    pub fn tables(self) -> &'static str {
        match self {
            Dialect::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
                 ORDER BY name"
            }
            Dialect::Postgres => {
                "SELECT table_name FROM information_schema.tables
                 WHERE table_schema = current_schema() ORDER BY table_name"
            }
        }
    }

    /// The end of a SELECT of a row to work on that passes over rows other
    /// transactions hold (PostgreSQL; SQLite has one writer anyway).
    pub fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// Real division; a zero divisor gives NULL (SQLite does so itself,
    /// PostgreSQL raises an error).
    pub fn divide(self, x: &str, y: &str) -> String {
        match self {
            Dialect::Sqlite => format!("(CAST({x} AS REAL) / {y})"),
            Dialect::Postgres => format!("(CAST({x} AS double precision) / nullif({y}, 0))"),
        }
    }

    /// The parameter [`Dialect::add_days_param`] takes for `k` days:
    /// SQLite's modifier text `+k days`, PostgreSQL's integer.
    pub fn day_offset(self, k: i64) -> super::Value {
        match self {
            Dialect::Sqlite => super::Value::Text(format!("{k:+} days")),
            Dialect::Postgres => super::Value::Integer(k),
        }
    }

    /// A number read back as a real (PostgreSQL's sums of integers are
    /// `numeric`, its averages too).
    pub fn real(self, x: &str) -> String {
        match self {
            Dialect::Sqlite => x.to_string(),
            Dialect::Postgres => format!("CAST({x} AS double precision)"),
        }
    }

    /// A real number typed as such for a comparison of parameters.
    pub fn number_param(self, p: &str) -> String {
        match self {
            Dialect::Sqlite => p.to_string(),
            Dialect::Postgres => format!("CAST({p} AS double precision)"),
        }
    }

    /// A whole-number parameter typed as such.
    pub fn integer_param(self, p: &str) -> String {
        match self {
            Dialect::Sqlite => p.to_string(),
            Dialect::Postgres => format!("CAST({p} AS integer)"),
        }
    }

    /// A text parameter typed as such.
    pub fn text_param(self, p: &str) -> String {
        match self {
            Dialect::Sqlite => p.to_string(),
            Dialect::Postgres => format!("CAST({p} AS text)"),
        }
    }

    /// The database's clock now, `seconds` ahead, as a time column holds
    /// it: SQLite's text (UTC, to the millisecond, so that text compares
    /// as time does), PostgreSQL's `timestamptz`. Processes on several
    /// machines that share a database read one clock.
    pub fn clock(self, seconds: u32) -> String {
        match self {
            Dialect::Sqlite => {
                format!("strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+{seconds} seconds')")
            }
            Dialect::Postgres => {
                format!("(statement_timestamp() + make_interval(secs => {seconds}))")
            }
        }
    }

    /// The statement that makes a writing transaction wait for another
    /// holding the same key (a 64-bit number, `?1`) until it ends: on
    /// PostgreSQL an advisory transaction lock; SQLite's writing
    /// transactions (`BEGIN IMMEDIATE`) wait for each other already.
    pub fn transaction_lock(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some("SELECT pg_advisory_xact_lock(?1)"),
        }
    }

    /// The latest day there is: an open end of a window.
    pub fn last_day(self) -> String {
        self.day("'9999-12-31'")
    }

    /// What ends a subquery in FROM so that the database computes its
    /// columns once per row and the outer query reads them, rather than
    /// copying their expressions into the outer query (SQLite does not
    /// flatten a subquery with a LIMIT into a join, PostgreSQL does not
    /// pull up one with an OFFSET).
    pub fn computed_once(self) -> &'static str {
        match self {
            Dialect::Sqlite => " LIMIT -1",
            Dialect::Postgres => " OFFSET 0",
        }
    }

    /// Whether a collection's filter may be written bare (`e1.kind = ?4`)
    /// rather than coalesced to false — the same inside the collection's
    /// WHERE. PostgreSQL plans from its statistics and, given the bare
    /// comparisons, finds the few matching tasks by their index; SQLite,
    /// without statistics, would take that index for every subject and
    /// read every matching task each time (see `Compiler::aggregate`).
    pub fn bare_collection_filters(self) -> bool {
        matches!(self, Dialect::Postgres)
    }

    /// Replaces the CHECK of a column by `check` in place (PostgreSQL's
    /// name for a column's CHECK is `table_column_check`); `None` where a
    /// CHECK cannot be altered (SQLite: the table is made anew).
    pub fn alter_check(self, table: &str, column: &str, check: &str) -> Option<String> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some(format!(
                "ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {table}_{column}_check,\n  ADD CONSTRAINT {table}_{column}_check CHECK ({check});\n"
            )),
        }
    }

    /// A migration's SQL, written as SQLite runs it, in this dialect's
    /// spelling (see [`postgres_migration`]).
    pub fn migration(
        self,
        sql: &str,
        kind: &dyn Fn(&str, &str) -> TextKind,
        rowid_tables: &[&str],
    ) -> String {
        match self {
            Dialect::Sqlite => sql.to_string(),
            Dialect::Postgres => postgres_migration(sql, kind, rowid_tables),
        }
    }

    /// What ends a rule's firings query (its subjects `s`) so that its
    /// rows come in the same order every time and on both databases — the
    /// subjects' ids, bytewise — and so the same data gives the same output
    /// and numbers its tasks alike on either: PostgreSQL's plans, and the
    /// order of their rows, change with its statistics; SQLite's follow its
    /// indexes. On SQLite the id is written `+s.id` so that the rule's plan
    /// stays as it is and its firings are sorted after it (ordering by the
    /// id's index instead made the planner read the subject table through
    /// it: 7.3 s → 17.7 s for `overdue` of benches/eight at a million
    /// problems).
    pub fn same_order(self, id: &str) -> String {
        match self {
            Dialect::Sqlite => format!(" ORDER BY +{id}"),
            Dialect::Postgres => format!(" ORDER BY {id} COLLATE \"C\""),
        }
    }

    /// The earliest day there is.
    pub fn first_day(self) -> String {
        match self {
            Dialect::Sqlite => "'0000-01-01'".into(),
            Dialect::Postgres => "CAST('0001-01-01' AS date)".into(),
        }
    }
}

/// What a text column of a temporary table holds, by its name.
fn temp_column_kind(column: &str) -> TextKind {
    match column {
        "lo" | "hi" | "day" => TextKind::Day,
        c if c == "at" || c.ends_with("_at") => TextKind::Time,
        c if c.ends_with("_on") => TextKind::Day,
        _ => TextKind::Text,
    }
}

/// What a column of SQLite's text holds, for PostgreSQL's type of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    Text,
    /// A day, `YYYY-MM-DD`: `date`.
    Day,
    /// A time, RFC 3339: `timestamptz`.
    Time,
}

/// A `CREATE TABLE` of SQLite (as `sqlite_master` keeps it, comments and
/// added columns included) in PostgreSQL's spelling: `INTEGER PRIMARY
/// KEY` an identity column, integers `bigint`, reals `double precision`,
/// text columns `text`, `date` or `timestamptz` by `kind(column)`, no
/// `STRICT` or `WITHOUT ROWID`. Constraints are kept as written, but for
/// references: they come back as `ALTER TABLE … ADD FOREIGN KEY`, to run
/// once every table is made (persons and organizations refer to each
/// other).
pub fn postgres_table(sql: &str, kind: &dyn Fn(&str) -> TextKind) -> (String, Vec<String>) {
    let sql = strip_comments(sql);
    let (Some(open), Some(close)) = (sql.find('('), sql.rfind(')')) else {
        return (sql, Vec::new());
    };
    let head = sql[..open].trim_end();
    let table = head.rsplit(' ').next().unwrap_or_default();
    let mut cols = Vec::new();
    let mut keys = Vec::new();
    for part in split_top(&sql[open + 1..close], ',') {
        let (col, key) = postgres_column(table, &part, kind);
        cols.push(col);
        keys.extend(key);
    }
    (format!("{head} (\n  {}\n);\n", cols.join(",\n  ")), keys)
}

/// A column (or table constraint) of SQLite's `CREATE TABLE` or `ALTER
/// TABLE … ADD COLUMN` in PostgreSQL's spelling (see [`postgres_table`]),
/// and its reference as an `ALTER TABLE … ADD FOREIGN KEY`.
fn postgres_column(
    table: &str,
    part: &str,
    kind: &dyn Fn(&str) -> TextKind,
) -> (String, Option<String>) {
    let part = part.split_whitespace().collect::<Vec<_>>().join(" ");
    let upper = part.to_ascii_uppercase();
    if ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"]
        .iter()
        .any(|k| upper.starts_with(k))
    {
        return (part, None);
    }
    let mut words = part.splitn(3, ' ');
    let name = words.next().unwrap_or_default();
    let ty = words.next().unwrap_or_default().to_ascii_uppercase();
    let mut rest = words.next().unwrap_or_default().to_string();
    let column = name.trim_matches('"');
    let mut key = None;
    if let Some(at) = rest.find("REFERENCES ") {
        key = Some(format!(
            "ALTER TABLE {table} ADD FOREIGN KEY ({name}) {};\n",
            &rest[at..]
        ));
        rest.truncate(at);
    }
    let rest = rest.trim_end();
    let def = match ty.as_str() {
        "INTEGER" if rest.to_ascii_uppercase().starts_with("PRIMARY KEY") => {
            format!("bigint GENERATED BY DEFAULT AS IDENTITY {rest}")
        }
        "INTEGER" => format!("bigint {rest}"),
        "REAL" => format!("double precision {rest}"),
        "BLOB" => format!("bytea {rest}"),
        _ => {
            let ty = match kind(column) {
                TextKind::Text => "text",
                TextKind::Day => "date",
                TextKind::Time => "timestamptz",
            };
            format!("{ty} {rest}")
        }
    };
    (format!("{name} {}", def.trim_end()), key)
}

/// A migration's statements as SQLite runs them, in PostgreSQL's
/// spelling: tables by [`postgres_table`] (with a `rowid` column of
/// their own for `rowid_tables`, the order their rows were written in),
/// indexes by [`postgres_index`], added columns as tables' columns are;
/// the references last, once every table of the step is made. Other
/// statements (`DROP INDEX`, `INSERT … SELECT`) read the same in both.
/// `kind(table, column)` tells what a text column holds.
pub fn postgres_migration(
    sql: &str,
    kind: &dyn Fn(&str, &str) -> TextKind,
    rowid_tables: &[&str],
) -> String {
    let mut out = String::new();
    let mut keys = Vec::new();
    for stmt in split_top(&strip_comments(sql), ';') {
        let words: Vec<&str> = stmt.split_whitespace().collect();
        let upper: Vec<String> = words
            .iter()
            .take(5)
            .map(|w| w.to_ascii_uppercase())
            .collect();
        let upper: Vec<&str> = upper.iter().map(String::as_str).collect();
        match upper.as_slice() {
            ["CREATE", "TABLE", ..] => {
                let table = words
                    .get(2)
                    .map_or("", |t| t.split('(').next().unwrap_or(t));
                let (create, references) = postgres_table(&stmt, &|c| kind(table, c));
                keys.extend(references);
                out.push_str(&match rowid_tables.contains(&table) {
                    true => create.replacen(
                        " (\n",
                        " (\n  rowid bigint GENERATED ALWAYS AS IDENTITY,\n",
                        1,
                    ),
                    false => create,
                });
            }
            ["CREATE", "INDEX" | "UNIQUE", ..] => out.push_str(&postgres_index(&stmt)),
            ["ALTER", "TABLE", _, "ADD", "COLUMN"] => {
                let table = words[2];
                let def = words[5..].join(" ");
                let (col, key) = postgres_column(table, &def, &|c| kind(table, c));
                out.push_str(&format!("ALTER TABLE {table} ADD COLUMN {col};\n"));
                keys.extend(key);
            }
            _ => out.push_str(&format!("{};\n", stmt.trim())),
        }
    }
    out.extend(keys);
    out
}

/// A `CREATE INDEX` of SQLite in PostgreSQL's spelling: expressions among
/// its columns in parentheses, `temp.` dropped.
pub fn postgres_index(sql: &str) -> String {
    let sql = strip_comments(sql);
    let (Some(open), Some(close)) = (sql.find('('), find_close(&sql, sql.find('(').unwrap_or(0)))
    else {
        return format!("{sql};\n");
    };
    let cols: Vec<String> = split_top(&sql[open + 1..close], ',')
        .into_iter()
        .map(|c| {
            let c = c.trim();
            if c.chars().all(|x| x.is_alphanumeric() || x == '_') {
                c.to_string()
            } else {
                format!("({c})")
            }
        })
        .collect();
    format!(
        "{}({}){};\n",
        &sql[..open],
        cols.join(", "),
        &sql[close + 1..]
    )
    .replace("temp.", "")
}

fn strip_comments(sql: &str) -> String {
    sql.lines()
        .map(|l| match l.find("--") {
            Some(i) if l[..i].matches('\'').count() % 2 == 0 => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `)` closing the `(` at `open`.
fn find_close(sql: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quoted = false;
    for (i, c) in sql.char_indices().skip_while(|(i, _)| *i < open) {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `text` split at `sep` (commas, semicolons) outside parentheses and
/// quotes.
fn split_top(text: &str, sep: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let (mut depth, mut quoted) = (0usize, false);
    for c in text.chars() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            c if c == sep && !quoted && depth == 0 => {
                parts.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(p) = parts.last_mut() {
            p.push(c);
        }
    }
    parts.retain(|p| !p.trim().is_empty());
    parts
}

/// `expr`, or NULL when one of `args` is.
fn null_if_any(args: &[String], expr: &str) -> String {
    let nulls: Vec<String> = args.iter().map(|a| format!("{a} IS NULL")).collect();
    format!(
        "(CASE WHEN {} THEN NULL ELSE {expr} END)",
        nulls.join(" OR ")
    )
}

/// SQLite's parameters (`?1`, `?2`, or `?` in order) as PostgreSQL's
/// (`$1`, `$2` …), leaving quoted text and comments alone.
pub fn numbered_params(sql: &str) -> String {
    rewrite_params(sql, &mut |n| format!("${n}"))
}

/// SQLite's parameters as PostgreSQL's, numbered densely: a parameter
/// SQLite's statement has but does not use (`?2` in `… ?1 … ?3`) would
/// leave PostgreSQL unable to tell its type. The SQL, then for each of
/// its parameters `$k` the number of SQLite's it stands for, then how many
/// SQLite's statement has.
pub fn dense_params(sql: &str) -> (String, Vec<usize>, usize) {
    let mut used = Vec::new();
    rewrite_params(sql, &mut |n| {
        used.push(n);
        String::new()
    });
    let count = used.iter().copied().max().unwrap_or(0);
    used.sort_unstable();
    used.dedup();
    let sql = rewrite_params(sql, &mut |n| {
        let k = used.iter().position(|&u| u == n).map_or(n, |i| i + 1);
        format!("${k}")
    });
    (sql, used, count)
}

/// `sql` with each parameter (`?N`, or `?` numbered in order) replaced by
/// `f(N)`, leaving quoted text and comments alone.
fn rewrite_params(sql: &str, f: &mut dyn FnMut(usize) -> String) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let mut next = 1usize;
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == '\n' {
                        break;
                    }
                }
            }
            '?' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                let n = if digits.is_empty() {
                    next
                } else {
                    digits.parse().unwrap_or(next)
                };
                next = n + 1;
                out.push_str(&f(n));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unused_parameters_are_left_out() {
        let (sql, used, count) = dense_params("SELECT ?3, ?2 WHERE x = ?3 AND '?1' = ''");
        assert_eq!(sql, "SELECT $2, $1 WHERE x = $2 AND '?1' = ''");
        assert_eq!(used, [2, 3]);
        assert_eq!(count, 3);
    }

    #[test]
    fn a_table_and_an_index_in_postgresql() {
        let kind = |c: &str| match c {
            "due" => TextKind::Day,
            "at" => TextKind::Time,
            _ => TextKind::Text,
        };
        assert_eq!(
            postgres_table(
                "CREATE TABLE t (\n  id INTEGER PRIMARY KEY, -- the id\n  due TEXT CHECK (due > '2000-01-01, x'),\n  n REAL REFERENCES u(id) DEFERRABLE INITIALLY DEFERRED, at TEXT\n) STRICT",
                &kind
            ),
            (
                "CREATE TABLE t (\n  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n  due date CHECK (due > '2000-01-01, x'),\n  n double precision,\n  at timestamptz\n);\n".to_string(),
                vec!["ALTER TABLE t ADD FOREIGN KEY (n) REFERENCES u(id) DEFERRABLE INITIALLY DEFERRED;\n".to_string()]
            )
        );
        assert_eq!(
            postgres_index(
                "CREATE INDEX l ON t(status <> 'open', due IS NULL, id) WHERE id IS NOT NULL"
            ),
            "CREATE INDEX l ON t((status <> 'open'), (due IS NULL), id) WHERE id IS NOT NULL;\n"
        );
    }

    #[test]
    fn parameters_are_numbered_outside_quotes() {
        assert_eq!(
            numbered_params("SELECT ?1, '?2', ? -- ?9\n, ?3"),
            "SELECT $1, '?2', $2 -- ?9\n, $3"
        );
    }
}
