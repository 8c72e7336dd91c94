//! Checked IR → one SQL query per rule, bound parameters only.
//!
//! Paths become `LEFT JOIN`s (one per distinct path prefix), collections
//! become correlated subqueries over the indexed reference columns, derived
//! fields and defines become SQL expressions, and `today` is parameter ?1.
//! Every condition yields 0 or 1, never NULL: a comparison with a missing
//! value is false (also `!=`), as SPEC §3 says, so `not` and `or` behave.
//!
//! The query selects the subject's id, then the rule's facts, then the
//! person ids its actions need, then the values its templates read — see
//! [`CompiledRule`] for the column layout. Pure: builds text, runs nothing.

mod window;

pub use window::{WindowRule, window};

use crate::lang::ir::*;
use crate::schema::{Derived, Entity, FieldType, Link, ProblemStatus};
use crate::store::{Dialect, Value};

/// One rule, ready to run.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    pub rule: String,
    /// The database the SQL is written for.
    pub dialect: Dialect,
    pub entity: Entity,
    /// `SELECT subject, facts…, persons…, template values… FROM … WHERE …`,
    /// the columns named c0, c1 …
    pub sql: String,
    /// The parts of the query for one subject at a time (`… FROM table s
    /// {joins} WHERE s.id = …`): the column list, the joins after `FROM
    /// table s`, and the condition (0 or 1).
    pub select: String,
    pub joins: String,
    pub condition: String,
    /// The same query over the whole table, as `sql` is: `FROM {scan_from}
    /// s{joins} WHERE {scan_condition}`, selecting `scan_select`. The same
    /// as the above, unless an aggregate is both a fact and part of the
    /// condition: then `scan_from` is a subquery computing it once per
    /// subject (only for those that pass the condition's other parts), and
    /// the condition and the columns read its column.
    pub scan_from: String,
    pub scan_select: String,
    pub scan_condition: String,
    /// Parameters ?2, ?3 …; ?1 is today (`YYYY-MM-DD`).
    pub params: Vec<Value>,
    /// The column of each fact (an expression computed once, even if
    /// several facts or template values need it).
    fact_cols: Vec<usize>,
    /// The person paths whose id and name the query returns, and their
    /// email or mobile number where an action reaches them by it.
    pub persons: Vec<String>,
    person_cols: Vec<PersonCols>,
    /// The template paths the rule's notices read, with their types.
    pub template_values: Vec<(String, Ty)>,
    /// The rule's templates rendered once per recipient (they greet by
    /// `recipient.name`).
    pub per_recipient: Vec<String>,
    template_cols: Vec<usize>,
    /// The subject's title and its organization's name, for its words
    /// ([`Entity::in_words`]).
    about_cols: Option<(usize, usize)>,
    width: usize,
}

impl CompiledRule {
    pub fn fact_column(&self, i: usize) -> usize {
        self.fact_cols.get(i).copied().unwrap_or(0)
    }

    /// The columns of the person at `path`.
    pub fn person_columns(&self, path: &str) -> Option<PersonCols> {
        let i = self.persons.iter().position(|p| p == path)?;
        self.person_cols.get(i).copied()
    }

    pub fn template_column(&self, i: usize) -> usize {
        self.template_cols.get(i).copied().unwrap_or(0)
    }

    /// The columns of the subject's title and its organization's name
    /// (read by a run, for its notices' words about the subject).
    pub fn about_columns(&self) -> Option<(usize, usize)> {
        self.about_cols
    }

    pub fn column_count(&self) -> usize {
        self.width
    }

    /// The columns of the subject and of the persons the actions reach —
    /// their ids and addresses, and their names when `names` — without the
    /// facts and template values: what is left of a firing that makes no
    /// notice (a report shows who would get what; a simulation counts it).
    pub fn person_columns_only(&self, names: bool) -> Vec<usize> {
        let mut columns = vec![0];
        for p in &self.person_cols {
            columns.push(p.id);
            if names {
                columns.push(p.name);
            }
            columns.extend(p.email);
            columns.extend(p.mobile);
        }
        columns
    }
}

/// Where a person's id, name, email and mobile number are in a rule's
/// row; the email and mobile number only when an action reaches them so.
#[derive(Debug, Clone, Copy)]
pub struct PersonCols {
    pub id: usize,
    pub name: usize,
    pub email: Option<usize>,
    pub mobile: Option<usize>,
}

/// How an action reaches a person: by email, by mobile number (a chat
/// mention), or neither (a task's target: its id and name).
#[derive(Debug, Clone, Copy)]
struct Reach {
    email: bool,
    mobile: bool,
}

impl Reach {
    const NAME: Reach = Reach {
        email: false,
        mobile: false,
    };
    const EMAIL: Reach = Reach {
        email: true,
        mobile: false,
    };
    const MOBILE: Reach = Reach {
        email: false,
        mobile: true,
    };
}

/// Adds a person path, or what `how` adds to one already there.
fn add_person<'r>(persons: &mut Vec<(&'r PersonPath, Reach)>, p: &'r PersonPath, how: Reach) {
    match persons.iter_mut().find(|(q, _)| q.text == p.text) {
        Some((_, r)) => {
            r.email |= how.email;
            r.mobile |= how.mobile;
        }
        None => persons.push((p, how)),
    }
}

/// Compiles every rule of a policy.
pub fn compile_policy(policy: &Policy, dialect: Dialect) -> Vec<CompiledRule> {
    policy
        .rules
        .iter()
        .map(|r| compile_rule(policy, r, dialect))
        .collect()
}

pub fn compile_rule(policy: &Policy, rule: &Rule, dialect: Dialect) -> CompiledRule {
    let mut c = Compiler::new(policy, dialect);
    let root = Root::subject(rule.entity);
    let roots = vec![root.clone()];
    // For one subject, the condition is a value (0 or 1); over the whole
    // table, a filter (see `Compiler::filter`).
    let cond = c.expr(&rule.when, &roots);
    let filter = c.filter(&rule.when, &roots);
    let mut columns = vec![format!("{}.id", root.alias)];
    // A true-or-false fact that is one of the condition's `and`-ed parts is
    // true on every row the query returns; one whose negation is, false
    // (`not exists …` holds, so the `exists` is false, not NULL: the
    // condition counts NULL as not holding).
    let conjuncts = rule.when.conjuncts();
    let (yes, no) = (dialect.truth_value(true), dialect.truth_value(false));
    let known = |e: &Expr| -> Option<&'static str> {
        if e.ty != Ty::Bool {
            return None;
        }
        conjuncts.iter().find_map(|part| match &part.kind {
            _ if *part == e => Some(yes),
            ExprKind::Not(x) if **x == *e => Some(no),
            _ => None,
        })
    };
    let fact_cols: Vec<usize> = rule
        .facts
        .iter()
        .map(|f| {
            let sql = match known(&f.expr) {
                Some(value) => value.to_string(),
                None => c.expr(&f.expr, &roots),
            };
            column(&mut columns, sql)
        })
        .collect();
    // The persons the actions reach, and how: a task's target by id and
    // name; a notice's recipient, a task's assignee and the approver by
    // email too; a chat message's mentions by mobile number.
    let mut persons: Vec<(&PersonPath, Reach)> = Vec::new();
    for a in &rule.actions {
        let paths: Vec<(&PersonPath, Reach)> = match a {
            Action::Task {
                target, assignee, ..
            } => vec![(target, Reach::NAME), (assignee, Reach::EMAIL)],
            Action::Notify { to, channel, .. } => {
                let how = match channel {
                    Some(_) => Reach::MOBILE,
                    None => Reach::EMAIL,
                };
                to.iter()
                    .filter_map(|r| match r {
                        Recipient::Person(p) => Some((p, how)),
                        Recipient::Email(_) => None,
                    })
                    .collect()
            }
        };
        for (p, how) in paths {
            add_person(&mut persons, p, how);
        }
    }
    // The approver, when a path names them.
    if let Some(crate::lang::ir::Approval {
        approver: crate::lang::ir::Approver::Path(p),
        ..
    }) = &rule.approval
    {
        add_person(&mut persons, p, Reach::EMAIL);
    }
    let mut person_cols = Vec::new();
    for (p, how) in &persons {
        let alias = c.join(&root, &p.refs);
        let mut at = |field: &str| column(&mut columns, format!("{alias}.{field}"));
        person_cols.push(PersonCols {
            id: at("id"),
            name: at("name"),
            email: how.email.then(|| at("email")),
            mobile: how.mobile.then(|| at("mobile")),
        });
    }
    let mut template_values = Vec::new();
    let mut template_cols = Vec::new();
    let mut per_recipient = Vec::new();
    for a in &rule.actions {
        let Action::Notify {
            template: Some(name),
            ..
        } = a
        else {
            continue;
        };
        let Some(t) = policy.template(name) else {
            continue;
        };
        if t.per_recipient && !per_recipient.contains(name) {
            per_recipient.push(name.clone());
        }
        for tp in &t.paths {
            if template_values.iter().any(|(text, _)| *text == tp.text) {
                continue;
            }
            let sql = c.field(&tp.path, &roots);
            template_cols.push(column(&mut columns, sql));
            template_values.push((tp.text.clone(), path_type(policy, &tp.path)));
        }
    }
    let about_cols = rule.entity.in_words().and_then(|(title, org)| {
        Some((
            path_column(&c, &root, title, &mut columns)?,
            path_column(&c, &root, org, &mut columns)?,
        ))
    });
    let scan = lift_aggregates(&mut c, rule, &filter, &columns, &roots);
    let select = select_list(&columns);
    let joins = std::mem::take(&mut c.levels[0].sql);
    let table = rule.entity.table();
    let (scan_from, scan_select, scan_condition) = match scan {
        Some(lifted) => (
            lifted.from(table, &joins, dialect),
            select_list(&lifted.columns),
            lifted.condition,
        ),
        None => (table.to_string(), select.clone(), filter),
    };
    let sql = format!("SELECT {scan_select} FROM {scan_from} s{joins} WHERE {scan_condition}");
    CompiledRule {
        rule: rule.name.clone(),
        dialect,
        entity: rule.entity,
        sql,
        select,
        joins,
        condition: cond,
        scan_from,
        scan_select,
        scan_condition,
        params: c.params,
        fact_cols,
        persons: persons.iter().map(|(p, _)| p.text.clone()).collect(),
        person_cols,
        template_values,
        per_recipient,
        template_cols,
        about_cols,
        width: columns.len(),
    }
}

/// The column of the stored field at `path` from the subject (reference
/// fields by name, then the field): where the query joins the records on
/// the way already (a template reads them), from the joined record; else
/// a subquery of its own rather than joins of the rule's, so that a query
/// not reading the column (a report's) does not look the records up either.
fn path_column(
    c: &Compiler<'_>,
    root: &Root,
    path: &[&str],
    columns: &mut Vec<String>,
) -> Option<usize> {
    let (last, refs) = path.split_last()?;
    let mut entity = root.entity;
    // Each reference, with the table it reaches and its column.
    let mut through = Vec::new();
    for name in refs {
        let f = FieldId::of(entity, name)?;
        let (FieldType::Ref(target), Some(col)) = (f.def().ty, f.def().column()) else {
            return None;
        };
        through.push((f, target.table(), col));
        entity = target;
    }
    let field = FieldId::of(entity, last)?.def().column()?;
    let ids: Vec<FieldId> = through.iter().map(|(f, _, _)| *f).collect();
    if let Some(alias) = c.joined(root, &ids) {
        return Some(column(columns, format!("{alias}.{field}")));
    }
    // A subquery from the subject's first reference, joining the rest.
    let mut at = String::new();
    let mut from = Vec::new();
    for (k, (_, table, col)) in through.iter().enumerate() {
        let alias = format!("a{}", k + 1);
        from.push(match k {
            0 => format!("{table} {alias}"),
            _ => format!("JOIN {table} {alias} ON {alias}.id = {at}.{col}"),
        });
        at = alias;
    }
    let (_, _, key) = through.first()?;
    let sql = format!(
        "(SELECT {at}.{field} FROM {} WHERE a1.id = {}.{key})",
        from.join(" "),
        root.alias
    );
    Some(column(columns, sql))
}

/// `c0 AS c0, …`.
fn select_list(columns: &[String]) -> String {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} AS c{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A rule's query over the whole table with its shared aggregates computed
/// once: the subquery's columns, the outer condition and columns.
struct Lifted {
    /// The aggregates, `agg1`, `agg2` … in the subquery; their grouped
    /// forms joined as `g1`, `g2` … where every subject is counted.
    aggregates: Vec<TopAggregate>,
    /// The condition's parts that read the subject's own row only (no
    /// subquery, no join): the subquery keeps the subjects where they
    /// hold, so the aggregates are computed for those only.
    pre: Vec<String>,
    /// The parts that read the subject's own collections (an `exists`)
    /// but no joined record: checked in the subquery only, before the
    /// aggregates are computed, as one would write it by hand.
    inner: Vec<String>,
    /// The outer condition (the subject's own parts again, then those
    /// reading the aggregates or joined records) and columns, reading
    /// `s.agg1` …
    condition: String,
    columns: Vec<String>,
}

impl Lifted {
    /// `(SELECT s.id, s.…, (aggregate) AS agg1 … FROM table s WHERE pre
    /// LIMIT -1)`: the subject's columns the outer query reads, and the
    /// aggregates, for the subjects the condition's own parts keep.
    fn from(&self, table: &str, joins: &str, d: Dialect) -> String {
        let mut outer = self.columns.join(" ");
        outer.push(' ');
        outer.push_str(joins);
        outer.push(' ');
        outer.push_str(&self.condition);
        let mut cols: Vec<String> = vec!["s.id".into()];
        for name in subject_columns(&outer) {
            let col = format!("s.{name}");
            if !name.starts_with("agg") && !cols.contains(&col) {
                cols.push(col);
            }
        }
        // Grouped for every subject at once only where every subject is
        // counted: with parts of the condition that keep a few, counting
        // those few is less work.
        let every = self.pre.is_empty() && self.inner.is_empty();
        let mut grouped = String::new();
        for (k, a) in self.aggregates.iter().enumerate() {
            cols.push(match a.grouped.as_ref().filter(|_| every) {
                Some(g) => {
                    let n = format!("coalesce(g{}.n, 0)", k + 1);
                    grouped.push_str(&format!(
                        " {} ({}) g{k1} ON g{k1}.k = s.id",
                        if a.counted_only { "JOIN" } else { "LEFT JOIN" },
                        g.select,
                        k1 = k + 1
                    ));
                    let n = if g.real { d.real(&n) } else { n };
                    format!("{n} AS agg{}", k + 1)
                }
                None => format!("{} AS agg{}", a.sql, k + 1),
            });
        }
        // The subjects the outer condition keeps anyway: the aggregates
        // are computed for these only, and an index on the subject's own
        // columns (a date's range) can find them.
        let keep: Vec<&str> = self
            .pre
            .iter()
            .chain(&self.inner)
            .map(String::as_str)
            .collect();
        let pre = if keep.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", keep.join(" AND "))
        };
        format!(
            "(SELECT {} FROM {table} s{grouped}{pre}{})",
            cols.join(", "),
            d.computed_once()
        )
    }
}

/// The names `x` of the subject's columns `s.x` that SQL text reads.
fn subject_columns(sql: &str) -> Vec<&str> {
    let bytes = sql.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(at) = sql[i..].find("s.") {
        let k = i + at;
        i = k + 2;
        if k > 0 && (word(bytes[k - 1]) || bytes[k - 1] == b'.') {
            continue;
        }
        let end = sql[i..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(sql.len(), |e| i + e);
        if end > i && !out.contains(&&sql[i..end]) {
            out.push(&sql[i..end]);
        }
    }
    out
}

/// Whether a part of a condition is a count (or a sum of counts) compared
/// with a number that the count of nothing, 0, fails (`count(…) >= 3` or
/// `0 < sum(…)`), by the interpreter's meaning of the comparison.
fn fails_counting_nothing(part: &Expr) -> bool {
    let ExprKind::Compare(op, a, b) = &part.kind else {
        return false;
    };
    let counts = |e: &Expr| {
        matches!(
            e.kind,
            ExprKind::Aggregate {
                func: AggFunc::Count | AggFunc::Sum,
                ..
            }
        )
    };
    let zero = crate::value::Value::Number(0.0);
    match (&a.kind, &b.kind) {
        (_, ExprKind::Literal(Literal::Number(n))) if counts(a) => {
            !crate::interpret::compare(*op, &zero, &crate::value::Value::Number(*n))
        }
        (ExprKind::Literal(Literal::Number(n)), _) if counts(b) => {
            !crate::interpret::compare(*op, &crate::value::Value::Number(*n), &zero)
        }
        _ => false,
    }
}

/// Whether SQL text reads a record joined to the main query (`j1.…`,
/// `w1.…`): aliases of nested subqueries carry their level (`j2_1`).
fn reads_joined(sql: &str) -> bool {
    let b = sql.as_bytes();
    (0..b.len()).any(|k| {
        (b[k] == b'j' || b[k] == b'w')
            && (k == 0 || !(b[k - 1].is_ascii_alphanumeric() || b[k - 1] == b'_'))
            && {
                let digits = b[k + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
                digits > 0 && b.get(k + 1 + digits) == Some(&b'.')
            }
    })
}

/// When an aggregate over a collection of the subject (a correlated
/// subquery) is both a column and part of the condition, the whole-table
/// query computes it once per subject, in a subquery, instead of once in
/// the condition and again for the column. None when there is no such
/// aggregate.
fn lift_aggregates(
    c: &mut Compiler<'_>,
    rule: &Rule,
    cond: &str,
    columns: &[String],
    roots: &[Root],
) -> Option<Lifted> {
    let mut shared: Vec<TopAggregate> = Vec::new();
    for a in std::mem::take(&mut c.top_aggregates) {
        let sql = a.sql.as_str();
        // Over a collection of the subject itself: one of a joined record
        // (`inspection.rectification_rate` of a problem) stays where it is.
        if !shared.iter().any(|b| b.sql == sql)
            && !reads_joined(sql)
            && cond.contains(sql)
            && columns.iter().any(|col| col.contains(sql))
        {
            shared.push(a);
        }
    }
    if shared.is_empty() {
        return None;
    }
    // Longest first: one may hold another (a collection of the subject
    // filtered by another one).
    shared.sort_by_key(|a| std::cmp::Reverse(a.sql.len()));
    let parts: Vec<(&Expr, String)> = rule
        .when
        .conjuncts()
        .into_iter()
        .map(|part| (part, c.filter(part, roots)))
        .collect();
    for (part, sql) in &parts {
        if fails_counting_nothing(part) {
            // The part is the aggregate compared with a number: the
            // longest aggregate it holds is that one.
            if let Some(a) = shared.iter_mut().find(|a| sql.contains(a.sql.as_str())) {
                a.counted_only = true;
            }
        }
    }
    let read = |sql: &str| -> String {
        let mut out = sql.to_string();
        for (k, a) in shared.iter().enumerate() {
            out = out.replace(a.sql.as_str(), &format!("s.agg{}", k + 1));
        }
        out
    };
    let (mut pre, mut inner, mut rest) = (Vec::new(), Vec::new(), Vec::new());
    for (_, sql) in parts {
        if shared.iter().any(|a| sql.contains(a.sql.as_str())) {
            rest.push(read(&sql));
        } else if reads_joined(&sql) {
            rest.push(sql);
        } else if sql.contains("SELECT") {
            inner.push(sql);
        } else {
            pre.push(sql);
        }
    }
    let condition = pre
        .iter()
        .chain(rest.iter())
        .cloned()
        .collect::<Vec<_>>()
        .join(" AND ");
    let columns = columns.iter().map(|col| read(col)).collect();
    Some(Lifted {
        aggregates: shared,
        pre,
        inner,
        condition: format!("({condition})"),
        columns,
    })
}

/// How a collection's elements name their owner (see
/// [`Compiler::subquery`]): `key = owner.id`, after what else the link
/// asks of an element (a task's kind of subject).
struct ElementLink {
    /// The element's column naming its owner (`e1.inspection_id`).
    key: String,
    /// What else the link asks of the element (`e3.subject_type =
    /// 'problem'`).
    scope: Option<String>,
    /// The owner's alias.
    owner: String,
}

impl ElementLink {
    fn new(coll: &CollPath, alias: &str, owner: String) -> ElementLink {
        let (key, scope) = match coll.coll.def().link {
            Link::Backref(field) => {
                let col = coll
                    .element()
                    .field(field)
                    .and_then(|f| f.column())
                    .unwrap_or_default();
                (format!("{alias}.{col}"), None)
            }
            Link::TaskSubject => (
                format!("{alias}.subject_id"),
                Some(format!(
                    "{alias}.subject_type = '{}'",
                    coll.coll.entity.name()
                )),
            ),
            Link::TaskTarget => (format!("{alias}.target_id"), None),
        };
        ElementLink { key, scope, owner }
    }

    /// The condition on one owner's elements.
    fn to_owner(&self) -> String {
        let ElementLink { key, owner, .. } = self;
        match &self.scope {
            Some(scope) => format!("{scope} AND {key} = {owner}.id"),
            None => format!("{key} = {owner}.id"),
        }
    }

    /// The conditions on the elements of any owner, for a list or a
    /// grouping by `key` made once for every owner: no NULL key (which
    /// `NOT IN` would read as unknown), then what else the link asks.
    fn any_owner(&self) -> Vec<String> {
        std::iter::once(format!("{} IS NOT NULL", self.key))
            .chain(self.scope.clone())
            .collect()
    }

    /// The owners that have an element in `from` passing `condition`
    /// (without one: any element), listed once: `{owner}.id IN (SELECT
    /// {key} FROM {from} WHERE …)`.
    fn owners_having(&self, from: &str, condition: Option<&str>) -> String {
        let mut listed = self.any_owner();
        listed.extend(condition.map(str::to_string));
        format!(
            "{}.id IN (SELECT {} FROM {from} WHERE {})",
            self.owner,
            self.key,
            listed.join(" AND ")
        )
    }
}

/// Whether `e` reads nothing from the scopes around scope `at` (the
/// subject's, the outer collections' elements): fields and collections of
/// scope `at` or deeper only.
fn within(e: &Expr, at: usize) -> bool {
    let own = match &e.kind {
        ExprKind::Field(p) => p.scope >= at,
        ExprKind::Aggregate { coll, .. } => coll.scope >= at,
        _ => true,
    };
    own && e.children().into_iter().all(|c| within(c, at))
}

/// The type of a path's value.
/// The SQL of a derived field that needs no calendar, on the problem row
/// `alias`, with `today` bound to `?1`; `None` for one that needs the
/// calendar (`overdue_workdays`).
pub fn day_count_sql(how: Derived, alias: &str, d: Dialect) -> Option<String> {
    let today = d.day("?1");
    match how {
        Derived::OverdueDays => Some(format!(
            "(CASE WHEN {alias}.status <> '{rectified}' AND {alias}.deadline < {today} \
             THEN {} ELSE 0 END)",
            d.whole_days_between(&today, &format!("{alias}.deadline")),
            rectified = ProblemStatus::Rectified.code()
        )),
        Derived::OpenDays => Some(d.whole_days_between(&today, &format!("{alias}.found_on"))),
        Derived::OverdueWorkdays => None,
    }
}

pub fn path_type(policy: &Policy, p: &FieldPath) -> Ty {
    match p.end {
        PathEnd::Field(f) => Ty::of_field(f.def().ty),
        PathEnd::Define(i) => policy
            .defines
            .get(i)
            .map(|d| d.expr.ty)
            .unwrap_or(Ty::Error),
    }
}

/// A record in scope: the alias it has in the SQL and where its joins go.
#[derive(Debug, Clone)]
struct Root {
    alias: String,
    entity: Entity,
    /// Which FROM clause (0 the main query, then each subquery) it lives in.
    level: usize,
}

/// A FROM clause being built: the joins of paths from its records.
#[derive(Debug, Default)]
struct Level {
    /// (from alias, reference field) → alias of the joined record.
    joins: Vec<(String, FieldId, String)>,
    /// (a day, as SQL) → alias of its row of the calendar table.
    workday_rows: Vec<(String, String)>,
    sql: String,
}

impl Level {
    /// The alias of the record joined from `from` by reference `field`, if
    /// this clause joins it.
    fn joined(&self, from: &str, field: &FieldId) -> Option<&str> {
        self.joins
            .iter()
            .find(|(f, r, _)| f == from && r == field)
            .map(|(_, _, alias)| alias.as_str())
    }
}

struct Compiler<'p> {
    policy: &'p Policy,
    d: Dialect,
    /// `today`, as the dialect reads parameter ?1.
    today: String,
    params: Vec<Value>,
    levels: Vec<Level>,
    /// The aggregates compiled in the main query (not inside a subquery):
    /// see [`lift_aggregates`].
    top_aggregates: Vec<TopAggregate>,
    /// Compiling a grouped count (see [`Grouped`]): an `exists` whose
    /// condition reads only its own records becomes `id IN (…)`, a list
    /// made once, which the database can start from.
    semi_join: bool,
}

/// An aggregate of the main query: its SQL for one subject (a correlated
/// subquery), and the same for every subject at once where it can be.
struct TopAggregate {
    sql: String,
    grouped: Option<Grouped>,
    /// A part of the condition fails where it counts nothing (as
    /// `count(…) >= 3` does): only the subjects with something counted can
    /// fire, so the grouped count is joined, not left-joined, and the
    /// database starts from the few counted rather than from every subject.
    counted_only: bool,
}

/// A count over the subject's collection — or a sum of counts over a
/// collection of it (`sum(inspections, count(problems where …))`) — for
/// every subject at once: `SELECT key AS k, count(*) AS n FROM … GROUP BY
/// key`, joined to the subjects, as one would write it by hand. What it
/// counts is found once, from the rarest side the database sees (the
/// year's admonishment talks rather than every problem's tasks), where the
/// correlated form walks each subject's records.
struct Grouped {
    select: String,
    /// A sum: its value is a real number, as the correlated form's.
    real: bool,
}

impl Root {
    /// The rule's subject, `s` in the main query.
    fn subject(entity: Entity) -> Root {
        Root {
            alias: "s".into(),
            entity,
            level: 0,
        }
    }
}

impl<'p> Compiler<'p> {
    fn new(policy: &'p Policy, d: Dialect) -> Self {
        Compiler {
            policy,
            d,
            today: d.day("?1"),
            params: Vec::new(),
            levels: vec![Level::default()],
            top_aggregates: Vec::new(),
            semi_join: false,
        }
    }

    /// The `n`th alias with `prefix` at `level`. Names depend only on the
    /// level and their place in it, so an expression compiled twice in the
    /// same scope is the same SQL (and computed once, see [`column`]);
    /// sibling subqueries reuse names, each in its own scope, and a nested
    /// one never shadows an alias of the levels around it.
    fn alias(prefix: &str, level: usize, n: usize) -> String {
        match level {
            0 => format!("{prefix}{n}"),
            _ => format!("{prefix}{level}_{n}"),
        }
    }

    /// The FROM level a stored field's value lives in, for joins on it.
    fn field_level(&self, x: &Expr, roots: &[Root]) -> Option<usize> {
        match &x.kind {
            ExprKind::Field(p) if matches!(p.end, PathEnd::Field(f) if f.def().derived.is_none()) => {
                roots.get(p.scope).map(|r| r.level)
            }
            _ => None,
        }
    }

    /// The alias of `day`'s row of the calendar table, joined at `level`.
    fn workday_row(&mut self, level: usize, day: &str) -> String {
        if let Some((_, alias)) = self.levels[level]
            .workday_rows
            .iter()
            .find(|(d, _)| d == day)
        {
            return alias.clone();
        }
        let alias = Self::alias("w", level, self.levels[level].workday_rows.len() + 1);
        let l = &mut self.levels[level];
        l.sql.push_str(&format!(
            " LEFT JOIN {} {alias} ON {alias}.day = {day}",
            crate::store::workdays::table(self.d)
        ));
        l.workday_rows.push((day.to_string(), alias.clone()));
        alias
    }

    /// Working days d with `from` < d ≤ `to`, both days joined as rows of
    /// the calendar table at `level` (a join costs less than a subquery
    /// per row): NULL unless both are in one run of covered years.
    fn joined_workdays(&mut self, level: usize, from: &str, to: &str) -> String {
        let (a, b) = (self.workday_row(level, from), self.workday_row(level, to));
        format!("(CASE WHEN {a}.run_first = {b}.run_first THEN {b}.ordinal - {a}.ordinal END)")
    }

    /// A literal as a parameter (?2 …; ?1 is today). An equal literal
    /// reuses its parameter, so that an expression compiled twice (a fact
    /// that is also a template value) is the same SQL, computed once.
    fn param(&mut self, v: Value) -> String {
        let at = match self.params.iter().position(|p| *p == v) {
            Some(i) => i,
            None => {
                self.params.push(v);
                self.params.len() - 1
            }
        };
        let p = format!("?{}", at + 2);
        match &self.params[at] {
            Value::Integer(_) => self.d.integer_param(&p),
            Value::Real(_) => self.d.number_param(&p),
            _ => self.d.text_param(&p),
        }
    }

    /// A day as a parameter.
    fn date_param(&mut self, day: String) -> String {
        let p = self.param(Value::Text(day));
        self.d.day(&p)
    }

    /// `date` moved by `k` days, `k` a parameter.
    fn shift(&mut self, date: &str, k: i64) -> String {
        let offset = self.param(self.d.day_offset(k));
        self.d.add_days_param(date, &offset)
    }

    /// The alias `refs` from `root` are joined as, if the query joins
    /// them already (see [`Self::join`]).
    fn joined(&self, root: &Root, refs: &[FieldId]) -> Option<String> {
        let level = &self.levels[root.level];
        let mut at = root.alias.clone();
        for f in refs {
            at = level.joined(&at, f)?.to_string();
        }
        Some(at)
    }

    /// The alias of the record reached from `root` through `refs`, joining
    /// what is not joined yet.
    fn join(&mut self, root: &Root, refs: &[FieldId]) -> String {
        let mut at = root.alias.clone();
        for f in refs {
            let level = &self.levels[root.level];
            if let Some(alias) = level.joined(&at, f) {
                at = alias.to_string();
                continue;
            }
            let FieldType::Ref(target) = f.def().ty else {
                continue;
            };
            let alias = Self::alias("j", root.level, level.joins.len() + 1);
            let col = f.def().column().unwrap_or_default();
            let level = &mut self.levels[root.level];
            level.sql.push_str(&format!(
                " LEFT JOIN {} {alias} ON {alias}.id = {at}.{col}",
                target.table()
            ));
            level.joins.push((at.clone(), *f, alias.clone()));
            at = alias;
        }
        at
    }

    fn field(&mut self, p: &FieldPath, roots: &[Root]) -> String {
        let Some(root) = roots.get(p.scope).cloned() else {
            return "NULL".into();
        };
        let alias = self.join(&root, &p.refs);
        match p.end {
            PathEnd::Field(f) => {
                let def = f.def();
                match (def.derived, def.column()) {
                    (Some(how @ (Derived::OverdueDays | Derived::OpenDays)), _) => {
                        day_count_sql(how, &alias, self.d).unwrap_or_else(|| "NULL".into())
                    }
                    (Some(Derived::OverdueWorkdays), _) => {
                        let level = root.level;
                        let today = self.today.clone();
                        let since =
                            self.joined_workdays(level, &format!("{alias}.deadline"), &today);
                        format!(
                            "(CASE WHEN {alias}.status <> '{rectified}' AND {alias}.deadline < {today} \
                             THEN {since} ELSE 0 END)",
                            rectified = ProblemStatus::Rectified.code()
                        )
                    }
                    (None, Some(col)) => format!("{alias}.{col}"),
                    (None, None) => "NULL".into(),
                }
            }
            PathEnd::Define(i) => {
                let Some(d) = self.policy.defines.get(i) else {
                    return "NULL".into();
                };
                let target = match p.refs.last().map(|f| f.def().ty) {
                    Some(FieldType::Ref(e)) => e,
                    _ => root.entity,
                };
                let define_root = vec![Root {
                    alias,
                    entity: target,
                    level: root.level,
                }];
                let expr = d.expr.clone();
                self.expr(&expr, &define_root)
            }
        }
    }

    /// A condition where only true lets a row through (a `WHERE`, a `CASE
    /// WHEN`): missing and false alike reject it, so a comparison is
    /// written bare (`s.deadline <= date(?1, ?2)`, which the planner can
    /// read) instead of coalesced to false. Under `not` the parts keep the
    /// two-valued form of [`Self::expr`].
    fn filter(&mut self, e: &Expr, roots: &[Root]) -> String {
        match &e.kind {
            ExprKind::And(a, b) => {
                format!("({} AND {})", self.filter(a, roots), self.filter(b, roots))
            }
            ExprKind::Or(a, b) => {
                format!("({} OR {})", self.filter(a, roots), self.filter(b, roots))
            }
            ExprKind::Compare(..) | ExprKind::In(..) => self.test(e, roots, Guard::Bare),
            _ => self.expr(e, roots),
        }
    }

    /// A comparison or `in`: NULL when a value is missing, unless `guard`
    /// coalesces it to false.
    fn test(&mut self, e: &Expr, roots: &[Root], guard: Guard) -> String {
        let sql = match &e.kind {
            ExprKind::Compare(op, a, b) => {
                if let Some(sql) = self.day_comparison(*op, a, b, roots, guard) {
                    return sql;
                }
                let op = match op {
                    CmpOp::Eq => "=",
                    CmpOp::Ne => "<>",
                    CmpOp::Lt => "<",
                    CmpOp::Le => "<=",
                    CmpOp::Gt => ">",
                    CmpOp::Ge => ">=",
                };
                format!("{} {op} {}", self.expr(a, roots), self.expr(b, roots))
            }
            ExprKind::In(x, items) => {
                let x = self.expr(x, roots);
                let items: Vec<String> = items.iter().map(|i| self.expr(i, roots)).collect();
                format!("{x} IN ({})", items.join(", "))
            }
            _ => return self.expr(e, roots),
        };
        self.guarded(sql, guard)
    }

    /// `sql`, coalesced to false unless `guard` is bare.
    fn guarded(&self, sql: String, guard: Guard) -> String {
        match guard {
            Guard::Coalesce => format!("coalesce({sql}, {})", self.d.truth_value(false)),
            Guard::Bare => format!("({sql})"),
        }
    }

    fn expr(&mut self, e: &Expr, roots: &[Root]) -> String {
        match &e.kind {
            ExprKind::Literal(l) => match l {
                Literal::Number(n) => self.param(Value::Real(*n)),
                Literal::Text(s) => self.param(Value::Text(s.clone())),
                Literal::Bool(b) => self.d.truth_value(*b).into(),
                Literal::Date(d) => self.date_param(d.to_string()),
            },
            ExprKind::Today => self.today.clone(),
            ExprKind::Field(p) => self.field(p, roots),
            ExprKind::Not(x) => format!("(NOT {})", self.expr(x, roots)),
            ExprKind::Neg(x) => format!("(-{})", self.expr(x, roots)),
            ExprKind::And(a, b) => format!("({} AND {})", self.expr(a, roots), self.expr(b, roots)),
            ExprKind::Or(a, b) => format!("({} OR {})", self.expr(a, roots), self.expr(b, roots)),
            ExprKind::Compare(..) | ExprKind::In(..) => self.test(e, roots, Guard::Coalesce),
            ExprKind::Arith(op, a, b) => self.arith(*op, a, b, roots),
            ExprKind::Present(x) => format!("({} IS NOT NULL)", self.expr(x, roots)),
            ExprKind::Missing(x) => format!("({} IS NULL)", self.expr(x, roots)),
            ExprKind::DaysSince(x) => {
                let x = self.expr(x, roots);
                self.d.days_between(&self.today, &x)
            }
            ExprKind::DaysUntil(x) => {
                let x = self.expr(x, roots);
                self.d.days_between(&x, &self.today)
            }
            ExprKind::WorkdaysSince(x) => {
                let today = self.today.clone();
                match self.field_level(x, roots) {
                    Some(level) => {
                        let x = self.expr(x, roots);
                        self.joined_workdays(level, &x, &today)
                    }
                    None => {
                        let x = self.expr(x, roots);
                        self.workdays_between(&x, &today)
                    }
                }
            }
            ExprKind::WorkdaysUntil(x) => {
                let today = self.today.clone();
                match self.field_level(x, roots) {
                    Some(level) => {
                        let x = self.expr(x, roots);
                        self.joined_workdays(level, &today, &x)
                    }
                    None => {
                        let x = self.expr(x, roots);
                        self.workdays_between(&today, &x)
                    }
                }
            }
            ExprKind::Aggregate {
                func,
                coll,
                filter,
                value,
            } => {
                let top = self.levels.len() == 1;
                let sql = self.aggregate(*func, coll, filter.as_deref(), value.as_deref(), roots);
                if top {
                    // Compiled again, grouped: kept only if it needs no
                    // parameter the correlated form does not (a parameter
                    // bound but not read is an error on both databases).
                    let before = self.params.len();
                    let grouped = self
                        .grouped(e, roots)
                        .filter(|_| self.params.len() == before);
                    self.params.truncate(before);
                    self.top_aggregates.push(TopAggregate {
                        sql: sql.clone(),
                        grouped,
                        counted_only: false,
                    });
                }
                sql
            }
        }
    }

    /// A count of days compared with a number, as a comparison of the date
    /// itself with a date computed once per query:
    /// `days_since(feedback_on) >= 90` becomes
    /// `feedback_on <= date(today, '-90 days')`, as one would write it by
    /// hand, instead of day arithmetic on every row.
    /// Counts of days are whole numbers, so a bound `N` rounds to the whole
    /// days that satisfy it. The result means exactly what the general form
    /// means, missing values included.
    fn day_comparison(
        &mut self,
        op: CmpOp,
        a: &Expr,
        b: &Expr,
        roots: &[Root],
        guard: Guard,
    ) -> Option<String> {
        let (count, lo, hi) = day_count(op, a, b)?;
        let today = self.today.clone();
        let shifted = |this: &mut Self, k: i64| this.shift(&today, k);
        match count {
            Count::Since(_) | Count::Until(_) | Count::OpenDays(_) => {
                let (date, forward) = match count {
                    Count::Since(x) => (self.expr(x, roots), false),
                    Count::Until(x) => (self.expr(x, roots), true),
                    Count::OpenDays(p) => {
                        let alias =
                            self.join(&roots[p.scope.min(roots.len() - 1)].clone(), &p.refs);
                        (format!("{alias}.found_on"), false)
                    }
                    _ => return None,
                };
                // since: d = today - date, so d >= k ⇔ date <= today - k;
                // until: d = date - today, so d >= k ⇔ date >= today + k.
                let mut terms = Vec::new();
                if let Some(k) = lo {
                    terms.push(if forward {
                        format!("{date} >= {}", shifted(self, k))
                    } else {
                        format!("{date} <= {}", shifted(self, -k))
                    });
                }
                if let Some(k) = hi {
                    terms.push(if forward {
                        format!("{date} <= {}", shifted(self, k))
                    } else {
                        format!("{date} >= {}", shifted(self, -k))
                    });
                }
                Some(self.guarded(terms.join(" AND "), guard))
            }
            // since: n = O(today) − O(x), so n ≥ k ⇔ O(x) ≤ O(today) − k;
            // until: n = O(x) − O(today), so n ≥ k ⇔ O(x) ≥ O(today) + k.
            Count::WorkSince(x) | Count::WorkUntil(x) => {
                let forward = matches!(count, Count::WorkUntil(_));
                let x = self.expr(x, roots);
                let mut terms = vec![self.in_todays_run(&x)];
                if let Some(k) = lo {
                    terms.push(if forward {
                        self.ordinal_at_least(&x, k)
                    } else {
                        self.ordinal_at_most(&x, -k)
                    });
                }
                if let Some(k) = hi {
                    terms.push(if forward {
                        self.ordinal_at_most(&x, k)
                    } else {
                        self.ordinal_at_least(&x, -k)
                    });
                }
                Some(self.guarded(terms.join(" AND "), guard))
            }
            // overdue_workdays ≥ k (k ≥ 1): not rectified, past the
            // deadline, and k working days since it. Other bounds take the
            // general form (it is missing for an uncovered deadline).
            Count::OverdueWorkdays(p) => {
                let (Some(k), None) = (lo, hi) else {
                    return None;
                };
                if k < 1 {
                    return None;
                }
                let alias = self.join(&roots[p.scope.min(roots.len() - 1)].clone(), &p.refs);
                let deadline = format!("{alias}.deadline");
                let sql = format!(
                    "{alias}.status <> '{}' AND {deadline} < {today} AND {} AND {}",
                    ProblemStatus::Rectified.code(),
                    self.in_todays_run(&deadline),
                    self.ordinal_at_most(&deadline, -k)
                );
                Some(self.guarded(sql, guard))
            }
            Count::OverdueDays(p) => {
                // overdue_days is 0 unless the problem is unrectified and
                // past its deadline, then today - deadline; never missing.
                let alias = self.join(&roots[p.scope.min(roots.len() - 1)].clone(), &p.refs);
                let at_least = |this: &mut Self, k: i64, guard: Guard| -> String {
                    if k <= 0 {
                        this.d.truth_value(true).into()
                    } else {
                        let sql = format!(
                            "{alias}.status <> '{rectified}' AND {alias}.deadline <= {}",
                            shifted(this, -k),
                            rectified = ProblemStatus::Rectified.code()
                        );
                        this.guarded(sql, guard)
                    }
                };
                let strict = Guard::Coalesce;
                Some(match (lo, hi) {
                    (Some(k), None) => at_least(self, k, guard),
                    (None, Some(k)) => format!("(NOT {})", at_least(self, k + 1, strict)),
                    (Some(k), Some(_)) => format!(
                        "({} AND NOT {})",
                        at_least(self, k, guard),
                        at_least(self, k + 1, strict)
                    ),
                    (None, None) => return None,
                })
            }
        }
    }

    fn arith(&mut self, op: ArithOp, a: &Expr, b: &Expr, roots: &[Root]) -> String {
        let (x, y) = (self.expr(a, roots), self.expr(b, roots));
        match (op, a.ty, b.ty) {
            (ArithOp::Add, Ty::Date, _) => self.d.add_days_expr(&x, &y),
            (ArithOp::Add, _, Ty::Date) => self.d.add_days_expr(&y, &x),
            (ArithOp::Sub, Ty::Date, Ty::Date) => self.d.days_between(&x, &y),
            (ArithOp::Sub, Ty::Date, _) => self.d.add_days_expr(&x, &format!("-({y})")),
            (ArithOp::Add, _, _) => format!("({x} + {y})"),
            (ArithOp::Sub, _, _) => format!("({x} - {y})"),
            (ArithOp::Mul, _, _) => format!("({x} * {y})"),
            // Real division; a zero divisor gives NULL (missing).
            (ArithOp::Div, _, _) => self.d.divide(&x, &y),
        }
    }

    /// A collection as a correlated subquery: its FROM clause (the element
    /// table and the joins `body` needs), how elements link to their owner,
    /// and what `body` compiled in the element's scope.
    fn subquery<T>(
        &mut self,
        coll: &CollPath,
        roots: &[Root],
        body: impl FnOnce(&mut Self, &[Root]) -> T,
    ) -> Option<(String, ElementLink, T)> {
        let owner_root = roots.get(coll.scope).cloned()?;
        let owner = self.join(&owner_root, &coll.refs);
        let element = coll.element();
        self.levels.push(Level::default());
        let level = self.levels.len() - 1;
        let alias = format!("e{level}");
        let mut inner = roots.to_vec();
        inner.push(Root {
            alias: alias.clone(),
            entity: element,
            level,
        });
        let link = ElementLink::new(coll, &alias, owner);
        let compiled = body(self, &inner);
        let level_sql = self.levels.pop().map(|l| l.sql).unwrap_or_default();
        let from = format!("{} {alias}{level_sql}", element.table());
        Some((from, link, compiled))
    }

    /// The aggregate for every subject at once, where it is a count over
    /// the subject's own collection or a sum of counts over one of its
    /// collections, and reads nothing outside the records it counts: see
    /// [`Grouped`].
    fn grouped(&mut self, aggregate: &Expr, roots: &[Root]) -> Option<Grouped> {
        let ExprKind::Aggregate {
            func,
            coll,
            filter,
            value,
        } = &aggregate.kind
        else {
            return None;
        };
        let (func, filter) = (*func, filter.as_deref());
        let owned = coll.scope == 0
            && coll.refs.is_empty()
            && matches!(coll.coll.def().link, Link::Backref(_))
            && filter.is_none_or(|f| within(f, 1));
        // The counted collection, under the summed one (`problems` of each
        // inspection), with its filter.
        let nested = match (func, value.as_deref().map(|v| &v.kind)) {
            (AggFunc::Count, None) => None,
            (
                AggFunc::Sum,
                Some(ExprKind::Aggregate {
                    func: AggFunc::Count,
                    coll: inner,
                    filter: inner_filter,
                    value: None,
                }),
            ) if inner.scope == 1
                && inner.refs.is_empty()
                && matches!(inner.coll.def().link, Link::Backref(_))
                && inner_filter.as_deref().is_none_or(|f| within(f, 1)) =>
            {
                Some((inner, inner_filter.as_deref()))
            }
            _ => return None,
        };
        if !owned {
            return None;
        }
        self.semi_join = true;
        let sub = self.subquery(coll, roots, |c, inner| {
            let own = filter.map(|f| c.filter(f, inner));
            let counted = nested.and_then(|(coll, filter)| {
                c.subquery(coll, inner, |c, inner| filter.map(|f| c.filter(f, inner)))
            });
            (own, counted)
        });
        self.semi_join = false;
        let (mut from, link, (own, counted)) = sub?;
        let key = &link.key;
        let mut conditions = link.any_owner();
        conditions.extend(own);
        if let Some((counted_from, counted_link, counted_filter)) = counted {
            from = format!("{from}, {counted_from}");
            conditions.push(counted_link.to_owner());
            conditions.extend(counted_filter);
        } else if nested.is_some() {
            return None;
        }
        Some(Grouped {
            select: format!(
                "SELECT {key} AS k, count(*) AS n FROM {from} WHERE {} GROUP BY {key}",
                conditions.join(" AND ")
            ),
            real: func == AggFunc::Sum,
        })
    }

    fn aggregate(
        &mut self,
        func: AggFunc,
        coll: &CollPath,
        filter: Option<&Expr>,
        value: Option<&Expr>,
        roots: &[Root],
    ) -> String {
        // A collection's filter stays in the two-valued form: its
        // comparisons written bare would let SQLite's planner pick an index
        // on them (the tasks' `(status, kind, due)`) and read every matching
        // task for each subject, instead of the subject's own few by its
        // link (`escalate` on 101,517 problems: 1.6 s → 400 s). PostgreSQL
        // plans from statistics: there it is bare. In a grouped count an
        // `exists` reading only its own records is a list made once (see
        // `semi_join`): there too.
        let listed = self.semi_join
            && func == AggFunc::Exists
            && filter.is_none_or(|f| within(f, roots.len()));
        let bare = listed || self.d.bare_collection_filters();
        let Some((from, link, (filter_sql, value_sql))) = self.subquery(coll, roots, |c, inner| {
            (
                filter.map(|f| match bare {
                    true => c.filter(f, inner),
                    false => c.expr(f, inner),
                }),
                value.map(|v| c.expr(v, inner)),
            )
        }) else {
            return "NULL".into();
        };
        if listed {
            return link.owners_having(&from, filter_sql.as_deref());
        }
        let link = link.to_owner();
        let filtered = match &filter_sql {
            Some(f) => format!("{link} AND {f}"),
            None => link.clone(),
        };
        match func {
            AggFunc::Count => format!("(SELECT count(*) FROM {from} WHERE {filtered})"),
            AggFunc::Exists => format!("EXISTS (SELECT 1 FROM {from} WHERE {filtered})"),
            AggFunc::Rate => format!(
                "(SELECT {} FROM {from} WHERE {link})",
                self.d.real(&format!(
                    "avg(CASE WHEN {} THEN 1.0 ELSE 0.0 END)",
                    filter_sql.unwrap_or_else(|| self.d.truth_value(true).into())
                ))
            ),
            AggFunc::Sum => format!(
                "(SELECT {} FROM {from} WHERE {filtered})",
                self.d.real(&format!(
                    "coalesce(sum({}), 0)",
                    value_sql.unwrap_or_else(|| "NULL".into())
                ))
            ),
            AggFunc::Avg | AggFunc::Min | AggFunc::Max => {
                let f = match func {
                    AggFunc::Avg => "avg",
                    AggFunc::Min => "min",
                    _ => "max",
                };
                let v = format!("{f}({})", value_sql.unwrap_or_else(|| "NULL".into()));
                let v = if func == AggFunc::Avg {
                    self.d.real(&v)
                } else {
                    v
                };
                format!("(SELECT {v} FROM {from} WHERE {filtered})")
            }
        }
    }
}

impl Compiler<'_> {
    /// The working days d with `from` < d ≤ `to` (SQL dates), from the
    /// calendar table: NULL unless both days are in one run of covered years.
    fn workdays_between(&self, from: &str, to: &str) -> String {
        let w = crate::store::workdays::table(self.d);
        // One side is usually `today` (?1): its row is then a lookup the
        // database makes once per query, and each row costs one more.
        let (row, other, sign) = if from == self.today {
            (to, from, "-")
        } else {
            (from, to, "")
        };
        format!(
            "(SELECT {sign}((SELECT ordinal FROM {w} WHERE day = {other}) - a.ordinal) FROM {w} a \
             WHERE a.day = {row} AND a.run_first = (SELECT run_first FROM {w} WHERE day = {other}))"
        )
    }

    /// Whether the day `x` is in today's run of covered years (NULL when
    /// today is not covered): working days between the two can be counted.
    fn in_todays_run(&self, x: &str) -> String {
        let (w, t) = (crate::store::workdays::table(self.d), &self.today);
        format!(
            "{x} >= (SELECT run_first FROM {w} WHERE day = {t}) AND {x} <= (SELECT run_last FROM {w} WHERE day = {t})"
        )
    }

    /// `O(x) ≤ O(today) + shift`, O the working days up to a day: `x` before
    /// the first day past that count — a date compared with a date computed
    /// once per query.
    fn ordinal_at_most(&self, x: &str, shift: i64) -> String {
        let (w, t) = (crate::store::workdays::table(self.d), &self.today);
        format!(
            "{x} < coalesce((SELECT min(day) FROM {w} WHERE ordinal > (SELECT ordinal FROM {w} WHERE day = {t}) + ({shift})), {})",
            self.d.last_day()
        )
    }

    /// `O(x) ≥ O(today) + shift`.
    fn ordinal_at_least(&self, x: &str, shift: i64) -> String {
        let (w, t) = (crate::store::workdays::table(self.d), &self.today);
        format!(
            "{x} >= (SELECT min(day) FROM {w} WHERE ordinal >= (SELECT ordinal FROM {w} WHERE day = {t}) + ({shift}))"
        )
    }
}

/// How a test that may be NULL (a missing value) is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guard {
    /// Coalesced to false: 0 or 1, as `not` and a value need.
    Coalesce,
    /// As it is, where only true passes (see [`Compiler::filter`]).
    Bare,
}

/// A count of days: the counted date, and whether the count runs forward
/// from it (days since) or towards it (days until).
enum Count<'e> {
    Since(&'e Expr),
    Until(&'e Expr),
    OpenDays(&'e FieldPath),
    OverdueDays(&'e FieldPath),
    /// Working days, by the calendar table.
    WorkSince(&'e Expr),
    WorkUntil(&'e Expr),
    OverdueWorkdays(&'e FieldPath),
}

/// A count of days compared with a number, as the count and the whole
/// days it must be at least (`lo`) and at most (`hi`). Counts of days are
/// whole numbers, so a bound `N` rounds to the whole days that satisfy it.
fn day_count<'e>(
    op: CmpOp,
    a: &'e Expr,
    b: &'e Expr,
) -> Option<(Count<'e>, Option<i64>, Option<i64>)> {
    let (days, lo, hi) = whole_bounds(op, a, b)?;
    let count = match &days.kind {
        ExprKind::DaysSince(x) => Count::Since(x),
        ExprKind::DaysUntil(x) => Count::Until(x),
        ExprKind::WorkdaysSince(x) => Count::WorkSince(x),
        ExprKind::WorkdaysUntil(x) => Count::WorkUntil(x),
        ExprKind::Field(p) => match p.end {
            PathEnd::Field(f) if f.def().derived == Some(Derived::OverdueWorkdays) => {
                Count::OverdueWorkdays(p)
            }
            PathEnd::Field(f) if f.def().derived == Some(Derived::OpenDays) => Count::OpenDays(p),
            PathEnd::Field(f) if f.def().derived == Some(Derived::OverdueDays) => {
                Count::OverdueDays(p)
            }
            _ => return None,
        },
        _ => return None,
    };
    Some((count, lo, hi))
}

/// A whole-number value compared with a number literal (on either side):
/// the value, and the whole numbers it must be at least (`lo`) and at most
/// (`hi`) — a bound `N` rounds to the whole numbers that satisfy it.
fn whole_bounds<'e>(
    op: CmpOp,
    a: &'e Expr,
    b: &'e Expr,
) -> Option<(&'e Expr, Option<i64>, Option<i64>)> {
    let (x, op, n) = match (&a.kind, &b.kind) {
        (_, ExprKind::Literal(Literal::Number(n))) => (a, op, *n),
        (ExprKind::Literal(Literal::Number(n)), _) => (b, op.flipped(), *n),
        _ => return None,
    };
    let (lo, hi) = match op {
        CmpOp::Ge => (Some(n.ceil() as i64), None),
        CmpOp::Gt => (Some(n.floor() as i64 + 1), None),
        CmpOp::Le => (None, Some(n.floor() as i64)),
        CmpOp::Lt => (None, Some(n.ceil() as i64 - 1)),
        CmpOp::Eq if n.fract() == 0.0 => (Some(n as i64), Some(n as i64)),
        _ => return None,
    };
    Some((x, lo, hi))
}

/// The index of a column computing `sql`, adding it if no column does.
fn column(columns: &mut Vec<String>, sql: String) -> usize {
    match columns.iter().position(|c| *c == sql) {
        Some(i) => i,
        None => {
            columns.push(sql);
            columns.len() - 1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::check::check;
    use crate::lang::diagnostics::SourceMap;

    fn compile(src: &str) -> CompiledRule {
        let mut sources = SourceMap::default();
        sources.add("t.rules", src);
        let checked = check(sources);
        let policy = checked
            .policy
            .unwrap_or_else(|| panic!("{:?}", checked.diagnostics));
        compile_rule(&policy, &policy.rules[0], Dialect::Sqlite)
    }

    #[test]
    fn paths_share_joins_and_literals_are_parameters() {
        let c = compile(
            "rule r for problem when inspection.organization.name = \"x\" and inspection.organization.region = \"y\" then notify responsible",
        );
        assert_eq!(
            c.sql.matches("LEFT JOIN organizations").count(),
            1,
            "{}",
            c.sql
        );
        assert!(!c.sql.contains("'x'"), "{}", c.sql);
        assert_eq!(c.params.len(), 2);
    }

    #[test]
    fn a_fact_that_is_also_a_template_value_is_one_column() {
        let c = compile(
            r#"
define inspection.rectification_rate = rate(problems where status = "rectified")
template t
  subject "{{ inspection.rectification_rate }}"
  body "{{ inspection.id }}"
rule r for inspection
  when days_since(feedback_on) >= 90 and rectification_rate < 70%
  then notify leader using t
"#,
        );
        // The rate: once for the condition, the fact and the template
        // value, in the subquery the whole-table query reads, for the
        // inspections fed back 90 days ago or more only; in the query
        // for one subject, once in the condition and once for the column.
        assert_eq!(c.sql.matches("avg(").count(), 1, "{}", c.sql);
        assert!(
            c.scan_from
                .contains("FROM inspections s WHERE (s.feedback_on <= date(?1"),
            "{}",
            c.sql
        );
        assert_eq!(c.select.matches("avg(").count(), 1, "{}", c.select);
        assert_eq!(c.condition.matches("avg(").count(), 1, "{}", c.condition);
        let rate = c
            .template_values
            .iter()
            .position(|(text, _)| text == "inspection.rectification_rate")
            .unwrap_or_else(|| panic!("{:?}", c.template_values));
        assert_eq!(c.fact_column(1), c.template_column(rate), "{}", c.sql);
    }

    #[test]
    fn a_filter_compares_bare_and_a_value_or_a_negation_coalesced() {
        let c = compile(
            "rule r for problem when status != \"rectified\" and days_until(deadline) <= 7 and not (severity = \"minor\") then notify responsible",
        );
        // The whole-table filter: the deadline as the planner can read it;
        // under `not`, missing stays false, so the negation holds.
        assert!(
            c.scan_condition.contains("(s.deadline <= date(?1, ?"),
            "{}",
            c.scan_condition
        );
        assert!(
            c.scan_condition.contains("(NOT coalesce(s.severity = ?"),
            "{}",
            c.scan_condition
        );
        assert_eq!(
            c.scan_condition.matches("coalesce(").count(),
            1,
            "{}",
            c.sql
        );
        // For one subject, the condition is a value: never NULL.
        assert_eq!(
            c.condition.matches("coalesce(").count(),
            3,
            "{}",
            c.condition
        );
    }

    #[test]
    fn persons_are_read_as_the_actions_reach_them() {
        let c = compile(
            "rule r for problem when status = \"open\" then task interview with responsible by inspection.leader",
        );
        let target = c.person_columns("responsible");
        let assignee = c.person_columns("inspection.leader");
        assert!(
            target.is_some_and(|t| t.email.is_none() && t.mobile.is_none()),
            "{}",
            c.sql
        );
        assert!(
            assignee.is_some_and(|a| a.email.is_some() && a.mobile.is_none()),
            "{}",
            c.sql
        );
        assert!(!c.sql.contains(".mobile"), "{}", c.sql);
    }

    #[test]
    fn collections_are_correlated_subqueries_or_counted_for_every_subject_at_once() {
        // Every organization counted: one grouped count, the tasks' list
        // made once.
        let every = compile(
            "rule r for organization when sum(inspections, count(problems where exists(tasks where kind = \"admonishment_talk\"))) >= 5 then notify secretary",
        );
        // `>= 5` fails where nothing is counted: only the organizations
        // counted are read (joined, not left-joined).
        let counted = "JOIN (SELECT e1.organization_id AS k, count(*) AS n FROM inspections e1, problems e2 WHERE";
        assert!(
            every.sql.contains(&format!(" s {counted}"))
                && every
                    .sql
                    .contains("e2.id IN (SELECT e3.subject_id FROM tasks e3 WHERE")
                && !every.sql.contains("EXISTS"),
            "{}",
            every.sql
        );
        // `< 5` holds where nothing is counted: every organization is
        // read, its count 0 where it has none.
        let fewer = compile(
            "rule r for organization when sum(inspections, count(problems where exists(tasks where kind = \"admonishment_talk\"))) < 5 then notify secretary",
        );
        assert!(
            fewer.sql.contains(&format!(" s LEFT {counted}")),
            "{}",
            fewer.sql
        );
        // A part of the condition on the organization's own row keeps a
        // few: those few are counted, each by its own records.
        let few = compile(
            "rule r for organization when name = \"市教育局\" and sum(inspections, count(problems where overdue_days > 0)) >= 5 then notify secretary",
        );
        assert!(
            few.sql
                .contains("(SELECT coalesce(sum((SELECT count(*) FROM problems")
                && !few.sql.contains("GROUP BY"),
            "{}",
            few.sql
        );
    }
}
