//! The queries that find a rule's firings: the rule's compiled condition
//! (from `compile`, given here as SQL text) joined with its episodes.
//!
//! Four shapes, chosen by the engine:
//! - no open episode: every subject that holds fires (a new episode);
//! - open episodes, reporting: the condition joined with the open episode
//!   of each subject, keeping those without one and those due again under
//!   `repeat every`;
//! - open episodes, recording: the condition evaluated once into
//!   `temp.holds`, and the firings, ended episodes and count taken from it;
//! - one subject (`explain`, the web's "what would happen").
//!
//! Parameters: `?1` is today, then the rule's literals, then the rule's
//! name (`p_rule`), the last day a firing may have been to be due again
//! (`p_repeat`), and the one subject when there is one.

use super::Value as Sql;
use super::episodes::Episodes;
use super::{Db, Statement};
use crate::error::Result;

/// A rule's compiled condition, as SQL text over its subject table `s`:
/// for a few subjects (`table`, `condition`, `select`), and for a scan of
/// the whole table (`scan_from`, which may be a subquery computing shared
/// aggregates once per subject, and the condition and columns reading it).
/// Both read the same `joins`.
pub struct RuleSql<'a> {
    pub table: &'a str,
    pub joins: &'a str,
    pub condition: &'a str,
    pub select: &'a str,
    pub scan_from: &'a str,
    pub scan_condition: &'a str,
    pub scan_select: &'a str,
}

impl<'a> RuleSql<'a> {
    /// A rule whose scan is its per-subject query (no shared aggregate).
    pub fn plain(table: &'a str, joins: &'a str, condition: &'a str, select: &'a str) -> Self {
        RuleSql {
            table,
            joins,
            condition,
            select,
            scan_from: table,
            scan_condition: condition,
            scan_select: select,
        }
    }
}

/// One evaluation's query: the rule, the episodes it reads, its bound
/// parameters.
pub struct Query<'a> {
    pub rule: RuleSql<'a>,
    pub episodes: Episodes,
    pub bound: Vec<Sql>,
    p_rule: usize,
    p_repeat: usize,
    only: Option<usize>,
    /// The columns read, of how many (the others are NULL): see
    /// [`Query::reading_only`].
    reading: Option<(Vec<usize>, usize)>,
    /// See [`Query::read_alone`].
    alone: bool,
}

/// Which firings query to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// No open episode: every subject that holds starts one.
    Fresh,
    /// The condition joined with the open episodes.
    Joined,
    /// From `temp.holds` (see [`collect_holds`]).
    Held,
}

impl<'a> Query<'a> {
    /// `today` and `literals` are the compiled rule's parameters; `repeat_from`
    /// the last day a firing may have been to be due again (none without
    /// `repeat every`); `subject` restricts to one.
    pub fn new(
        rule: RuleSql<'a>,
        episodes: Episodes,
        mut bound: Vec<Sql>,
        rule_name: &str,
        repeat_from: Option<String>,
        subject: Option<&str>,
    ) -> Self {
        bound.push(Sql::Text(rule_name.to_string()));
        let p_rule = bound.len();
        bound.push(repeat_from.map(Sql::Text).unwrap_or(Sql::Null));
        let p_repeat = bound.len();
        let only = subject.map(|s| {
            bound.push(Sql::Text(s.to_string()));
            bound.len()
        });
        Query {
            rule,
            episodes,
            bound,
            p_rule,
            p_repeat,
            only,
            reading: None,
            alone: false,
        }
    }

    /// Reads only `columns` of the rule's `width` (the others come back
    /// NULL, in their places): a simulation counts what the firings do,
    /// which needs the persons' ids and addresses but no names, facts or
    /// template values; a report shows it (the names too). The query
    /// selects the rule's columns from a subquery, which the database
    /// flattens, leaving out those not read — the subject order, when
    /// asked, put on the outer query.
    pub fn reading_only(mut self, columns: Vec<usize>, width: usize) -> Self {
        self.reading = Some((columns, width));
        self
    }

    /// The reader of [`Query::stream`]'s rows runs no other statement on
    /// the connection until the last, and reads them with
    /// [`Statement::each_row`] ([`Db::prepare_read_alone`]).
    pub fn read_alone(mut self) -> Self {
        self.alone = true;
        self
    }

    fn only(&self) -> String {
        self.only
            .map(|k| format!(" AND s.id = ?{k}"))
            .unwrap_or_default()
    }

    /// The firings: the rule's select columns, then the open episode's id
    /// and firing count (NULL for a new episode); in the subjects' order
    /// when `ordered`.
    fn firings_sql(&self, conn: &Db, shape: Shape, ordered: bool) -> String {
        let RuleSql {
            table,
            joins,
            select,
            scan_from,
            scan_condition,
            scan_select,
            ..
        } = &self.rule;
        let d = conn.dialect();
        let (episodes, p_rule, p_repeat, only) = (
            self.episodes.table(d),
            self.p_rule,
            self.p_repeat,
            self.only(),
        );
        let join_open = format!(
            "LEFT JOIN {episodes} ep ON ep.rule = ?{p_rule} AND ep.subject_id = s.id AND ep.ended_at IS NULL"
        );
        let repeat = d.day(&format!("?{p_repeat}"));
        // No open episode (`fired` counts from 1), or one due again. Not
        // `ep.id IS NULL`: PostgreSQL reads that one's selectivity from the
        // id's statistics (never missing), took the subjects without an
        // open episode for one row, and read `persons` and `inspections`
        // whole for each of them (a run's rule at a tenth of a million
        // problems, its episodes analyzed: 65 ms for 13,185 subjects, and
        // growing with both); of this form it assumes a share, and looks
        // each person up.
        let due = format!(
            "(coalesce(ep.fired, 0) = 0 OR ({repeat} IS NOT NULL AND ep.last_fired_on <= {repeat}))"
        );
        let listed = d.each_listed(&d.temp("holds"), table);
        let order = match ordered {
            true => d.same_order("s.id"),
            false => String::new(),
        };
        match shape {
            Shape::Held => format!(
                "SELECT {select}, ep.id AS ep_id, ep.fired AS ep_fired FROM {listed}{joins}
                 {join_open} WHERE {due}{order}"
            ),
            Shape::Fresh => format!(
                "SELECT {scan_select}, NULL AS ep_id, NULL AS ep_fired FROM {scan_from} s{joins} WHERE {scan_condition}{only}{order}"
            ),
            Shape::Joined => format!(
                "SELECT {scan_select}, ep.id AS ep_id, ep.fired AS ep_fired FROM {scan_from} s{joins}
                 {join_open} WHERE {scan_condition} AND {due}{only}{order}"
            ),
        }
    }

    /// A statement over the firings, to read as it streams (reports), in
    /// bounded memory ([`Db::prepare_stream`]).
    pub fn stream<'c>(&self, conn: &'c Db, shape: Shape) -> Result<Statement<'c>> {
        self.stream_in(conn, shape, true)
    }

    /// As [`Query::stream`], in whatever order the database finds them
    /// (a simulation, which only counts them).
    pub fn stream_unordered<'c>(&self, conn: &'c Db, shape: Shape) -> Result<Statement<'c>> {
        self.stream_in(conn, shape, false)
    }

    fn stream_in<'c>(&self, conn: &'c Db, shape: Shape, ordered: bool) -> Result<Statement<'c>> {
        let sql = match &self.reading {
            Some((columns, width)) => {
                let list: Vec<String> = (0..*width)
                    .map(|k| match columns.contains(&k) {
                        true => format!("f.c{k}"),
                        false => "NULL".into(),
                    })
                    .collect();
                let order = match ordered {
                    true => conn.dialect().same_order("f.c0"),
                    false => String::new(),
                };
                format!(
                    "SELECT {}, f.ep_id, f.ep_fired FROM ({}) AS f{order}",
                    list.join(", "),
                    self.firings_sql(conn, shape, false)
                )
            }
            None => self.firings_sql(conn, shape, ordered),
        };
        let mut stmt = match self.alone {
            true => conn.prepare_read_alone(&sql)?,
            false => conn.prepare_stream(&sql)?,
        };
        bind_values(&mut stmt, &self.bound)?;
        Ok(stmt)
    }

    /// Collects the firings into `temp.firing` (a run writes episodes as it
    /// reads them, which a query joining them cannot see through), and
    /// returns a statement reading them.
    pub fn collect<'c>(&self, conn: &'c Db, shape: Shape) -> Result<Statement<'c>> {
        let d = conn.dialect();
        if d.rows_are_a_snapshot() {
            return self.stream(conn, shape);
        }
        conn.execute_batch(&d.drop_temp_table("firing"))?;
        bind(
            conn,
            &format!(
                "CREATE TEMP TABLE firing AS {}",
                self.firings_sql(conn, shape, true)
            ),
            &self.bound,
        )?
        .raw_execute()?;
        Ok(conn.prepare(&format!("SELECT * FROM {}", d.temp("firing")))?)
    }

    /// Evaluates the condition once into `temp.holds`: the subjects for
    /// which the rule holds.
    pub fn collect_holds(&self, conn: &Db) -> Result<()> {
        new_holds(conn)?;
        let RuleSql {
            joins,
            scan_from,
            scan_condition,
            ..
        } = &self.rule;
        bind(
            conn,
            &format!(
                "INSERT INTO {} SELECT s.id FROM {scan_from} s{joins} WHERE {scan_condition}",
                conn.dialect().temp("holds")
            ),
            &self.bound,
        )?
        .raw_execute()?;
        Ok(())
    }

    /// Open episodes whose subject no longer satisfies the condition (or
    /// is gone).
    pub fn count_ending(&self, conn: &Db) -> Result<u64> {
        let RuleSql {
            table,
            joins,
            condition,
            ..
        } = &self.rule;
        let (episodes, p_rule) = (self.episodes.table(conn.dialect()), self.p_rule);
        count(
            conn,
            &format!(
                "SELECT count(*) FROM {episodes} ep LEFT JOIN {table} s ON s.id = ep.subject_id{joins}
                 WHERE ep.rule = ?{p_rule} AND ep.ended_at IS NULL AND (s.id IS NULL OR NOT ({condition}))"
            ),
            &self.bound,
        )
    }

    /// Subjects that hold but fire nothing now (an episode running, not
    /// due again).
    pub fn count_running(&self, conn: &Db) -> Result<u64> {
        let RuleSql {
            table,
            joins,
            condition,
            ..
        } = &self.rule;
        let d = conn.dialect();
        let (episodes, p_rule) = (self.episodes.table(d), self.p_rule);
        let repeat = d.day(&format!("?{}", self.p_repeat));
        count(
            conn,
            &format!(
                "SELECT count(*) FROM {episodes} ep JOIN {table} s ON s.id = ep.subject_id{joins}
                 WHERE ep.rule = ?{p_rule} AND ep.ended_at IS NULL AND {condition}
                   AND NOT ({repeat} IS NOT NULL AND ep.last_fired_on <= {repeat})"
            ),
            &self.bound,
        )
    }
}

/// An empty `temp.holds`: the set of subjects a rule holds for (or, in a
/// windowed simulation, may fire for). Made once per connection and
/// emptied after each rule (see [`super::Dialect::kept_temp_table`]); a
/// rule that failed midway rolled its transaction back, and so the set,
/// but one left filled is emptied here all the same.
pub fn new_holds(conn: &Db) -> Result<()> {
    let d = conn.dialect();
    conn.execute_batch(
        &d.kept_temp_table("CREATE TEMP TABLE holds (id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID"),
    )?;
    let filled: bool = conn.query_row(
        &format!("SELECT EXISTS (SELECT 1 FROM {})", d.temp("holds")),
        [],
        |r| r.get(0),
    )?;
    if filled {
        empty_holds(conn)?;
    }
    Ok(())
}

/// How many subjects are in `temp.holds`; empties it.
pub fn take_holds_count(conn: &Db) -> Result<u64> {
    let n: i64 = conn.query_row(
        &format!("SELECT count(*) FROM {}", conn.dialect().temp("holds")),
        [],
        |r| r.get(0),
    )?;
    empty_holds(conn)?;
    Ok(n as u64)
}

/// Empties `temp.holds` after its rule: no subject stays listed on the
/// connection (the empty table stays, for the next rule).
pub fn empty_holds(conn: &Db) -> Result<()> {
    conn.execute_batch(&conn.dialect().clear_temp_table("holds"))?;
    Ok(())
}

/// Drops `temp.firing` after it was read.
pub fn drop_collected(conn: &Db) -> Result<()> {
    conn.execute_batch(&conn.dialect().drop_temp_table("firing"))?;
    Ok(())
}

/// Whether the condition holds for one subject: the condition as a value.
/// `None` when there is no such subject.
pub fn holds_for(
    conn: &Db,
    rule: &RuleSql<'_>,
    mut bound: Vec<Sql>,
    subject: &str,
) -> Result<Option<bool>> {
    bound.push(Sql::Text(subject.to_string()));
    let sql = format!(
        "SELECT {} FROM {} s{} WHERE s.id = ?{}",
        rule.condition,
        rule.table,
        rule.joins,
        bound.len()
    );
    let mut stmt = conn.prepare(&sql)?;
    for (k, v) in bound.iter().enumerate() {
        stmt.raw_bind_parameter(k + 1, v)?;
    }
    let mut rows = stmt.raw_query();
    Ok(match rows.next()? {
        Some(r) => Some(r.get::<_, i64>(0)? != 0),
        None => None,
    })
}

/// How many subjects the condition holds for.
pub fn count_holding(conn: &Db, rule: &RuleSql<'_>, bound: &[Sql]) -> Result<u64> {
    count(
        conn,
        &format!(
            "SELECT count(*) FROM {} s{} WHERE {}",
            rule.scan_from, rule.joins, rule.scan_condition
        ),
        bound,
    )
}

fn count(conn: &Db, sql: &str, bound: &[Sql]) -> Result<u64> {
    let mut stmt = bind(conn, sql, bound)?;
    let mut rows = stmt.raw_query();
    Ok(match rows.next()? {
        Some(r) => r.get::<_, i64>(0)? as u64,
        None => 0,
    })
}

/// A statement with the first parameters of `values` bound: as many as
/// the statement uses (a rule that reads neither `today` nor a literal uses
/// none of the first ones; numbering keeps the rest in place).
fn bind<'c>(conn: &'c Db, sql: &str, values: &[Sql]) -> Result<Statement<'c>> {
    let mut stmt = conn.prepare(sql)?;
    bind_values(&mut stmt, values)?;
    Ok(stmt)
}

/// Binds as many of `values` as the statement has parameters.
fn bind_values(stmt: &mut Statement<'_>, values: &[Sql]) -> Result<()> {
    let used = stmt.parameter_count();
    for (k, v) in values.iter().take(used).enumerate() {
        stmt.raw_bind_parameter(k + 1, v)?;
    }
    Ok(())
}

/// The subjects two rules' conditions both hold for: how many, and the
/// first `limit` ids. One query; the second rule's parameters follow the
/// first's (its `?N` renumbered).
pub fn both_hold(
    conn: &Db,
    a: &RuleSql<'_>,
    a_bound: Vec<Sql>,
    b: &RuleSql<'_>,
    b_bound: Vec<Sql>,
    limit: usize,
) -> Result<(u64, Vec<String>)> {
    let shift = a_bound.len();
    let sql = format!(
        "WITH a AS (SELECT s.id AS id FROM {} s{} WHERE {}), \
         b AS (SELECT s.id AS id FROM {} s{} WHERE {}) \
         SELECT id, count(*) OVER () FROM a WHERE id IN (SELECT id FROM b) ORDER BY id LIMIT {limit}",
        a.scan_from,
        a.joins,
        a.scan_condition,
        renumber(b.scan_from, shift),
        renumber(b.joins, shift),
        renumber(b.scan_condition, shift)
    );
    let mut stmt = conn.prepare(&sql)?;
    for (k, v) in a_bound.iter().chain(b_bound.iter()).enumerate() {
        if k < stmt.parameter_count() {
            stmt.raw_bind_parameter(k + 1, v)?;
        }
    }
    let mut rows = stmt.raw_query();
    let (mut n, mut ids) = (0, Vec::new());
    while let Some(r) = rows.next()? {
        ids.push(r.get::<_, String>(0)?);
        n = r.get::<_, i64>(1)? as u64;
    }
    Ok((n, ids))
}

/// `?N` as `?{N + shift}` (the compiled SQL holds no text literals: every
/// literal is a parameter).
fn renumber(sql: &str, shift: usize) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '?' {
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        match digits.parse::<usize>() {
            Ok(n) => out.push_str(&(n + shift).to_string()),
            Err(_) => out.push_str(&digits),
        }
    }
    out
}
