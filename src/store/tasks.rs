//! The task ledger: listing tasks, closing them with an outcome, cancelling
//! them. A task's outcome feeds later rules (`exists(tasks where kind =
//! "reminder_talk" and status = "done" …)`), so closing is validated and
//! records who closed it and when.

use super::{Db, OptionalExtension, Row};
use crate::error::{Error, Result};
use crate::params;
use crate::schema::TaskStatus;
use chrono::NaiveDate;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Task {
    pub id: String,
    pub status: String,
    pub kind: String,
    pub subject_type: String,
    pub subject_id: String,
    pub target: Option<String>,
    pub target_name: Option<String>,
    pub assignee: Option<String>,
    pub assignee_name: Option<String>,
    pub due: Option<String>,
    pub created_on: Option<String>,
    pub done_on: Option<String>,
    pub outcome: Option<String>,
    pub rule: Option<String>,
    pub policy_hash: Option<String>,
    pub facts: Option<serde_json::Value>,
    pub created_at: Option<String>,
    pub closed_by: Option<String>,
    pub closed_at: Option<String>,
    pub cancel_reason: Option<String>,
    pub episode_id: Option<i64>,
    /// The approval request the task waited or waits for.
    pub approval: Option<String>,
}

impl Task {
    /// Days an open task is past its due date at `today`.
    pub fn overdue_days(&self, today: NaiveDate) -> Option<i64> {
        let due = NaiveDate::parse_from_str(self.due.as_deref()?, "%Y-%m-%d").ok()?;
        (self.status == TaskStatus::Open.code() && due < today).then(|| (today - due).num_days())
    }
}

const SELECT: &str = "SELECT t.id, t.status, t.kind, t.subject_type, t.subject_id, t.target_id, pt.name,
        t.assignee_id, pa.name, t.due, t.created_on, t.done_on, t.outcome, t.rule, t.policy_hash, t.facts,
        t.created_at, t.closed_by, t.closed_at, t.cancel_reason, t.episode_id, t.approval_id
    FROM tasks t LEFT JOIN persons pt ON pt.id = t.target_id LEFT JOIN persons pa ON pa.id = t.assignee_id";

fn from_row(r: &Row<'_>) -> super::DbResult<Task> {
    Ok(Task {
        id: r.get(0)?,
        status: r.get(1)?,
        kind: r.get(2)?,
        subject_type: r.get(3)?,
        subject_id: r.get(4)?,
        target: r.get(5)?,
        target_name: r.get(6)?,
        assignee: r.get(7)?,
        assignee_name: r.get(8)?,
        due: r.get(9)?,
        created_on: r.get(10)?,
        done_on: r.get(11)?,
        outcome: r.get(12)?,
        rule: r.get(13)?,
        policy_hash: r.get(14)?,
        facts: r
            .get::<_, Option<String>>(15)?
            .and_then(|f| serde_json::from_str(&f).ok()),
        created_at: r.get(16)?,
        closed_by: r.get(17)?,
        closed_at: r.get(18)?,
        cancel_reason: r.get(19)?,
        episode_id: r.get(20)?,
        approval: r.get(21)?,
    })
}

/// Filters of `tasks list`.
#[derive(Debug, Default)]
pub struct Filter {
    pub open_only: bool,
    pub assignee: Option<String>,
    /// A task kind code.
    pub kind: Option<String>,
    pub limit: Option<u64>,
}

pub fn list(conn: &Db, f: &Filter, each: &mut dyn FnMut(Task) -> Result<()>) -> Result<()> {
    // Only the filters given, so that SQLite can use an index for them.
    let mut w = super::Where::default();
    if f.open_only {
        w.and("t.status = ?N", TaskStatus::Open.code().to_string());
    }
    if let Some(a) = &f.assignee {
        w.and("t.assignee_id = ?N", a.clone());
    }
    if let Some(k) = &f.kind {
        w.and("t.kind = ?N", k.clone());
    }
    let mut stmt = conn.prepare(&format!(
        "{SELECT} WHERE {} ORDER BY t.due IS NULL, t.due, t.id LIMIT ?{}",
        w.sql(),
        w.next()
    ))?;
    let limit = f.limit.map(|l| l as i64).unwrap_or(i64::MAX);
    let mut rows = stmt.query(super::params_from_iter(w.params(&[limit])))?;
    while let Some(r) = rows.next()? {
        each(from_row(&r)?)?;
    }
    Ok(())
}

/// The workbench's task list: filters, and a page of the result.
#[derive(Debug, Default, Clone)]
pub struct Query {
    /// Only tasks assigned to this person (a member's own).
    pub assignee: Option<String>,
    pub status: Option<TaskStatus>,
    /// Open and past due at `today`.
    pub overdue: bool,
    /// A task kind code.
    pub kind: Option<String>,
    /// The organization of the task's subject (a problem's inspection's,
    /// an inspection's, or the organization itself).
    pub organization: Option<String>,
    pub due_from: Option<NaiveDate>,
    pub due_to: Option<NaiveDate>,
    /// Tasks on problems of this inspection.
    pub inspection: Option<String>,
    pub today: Option<NaiveDate>,
    pub offset: u64,
    pub limit: u64,
}

/// The order of the workbench's task list — open first, soonest due,
/// undated last — as written in the query and in the index `tasks_list`
/// (an index on expressions serves an ORDER BY written the same way).
pub const LIST_ORDER: &str = "t.status <> 'open', t.due IS NULL, t.due, t.id";

/// A page of tasks matching `q`, open ones first, soonest due first, and
/// how many match. The WHERE clause names only the filters given, so that
/// SQLite can pick an index for them.
pub fn page(conn: &Db, q: &Query) -> Result<(Vec<Task>, u64)> {
    let mut w = super::Where::default();
    // A person's, an organization's or an inspection's tasks are few: their
    // index leads, and status, kind and due are checked on those rows (a
    // unary `+` keeps SQLite from choosing an index on them instead).
    let few = q.assignee.is_some() || q.organization.is_some() || q.inspection.is_some();
    let col = |c: &str| {
        if few {
            conn.dialect().unindexed(&format!("t.{c}"))
        } else {
            format!("t.{c}")
        }
    };
    if let Some(a) = &q.assignee {
        w.and("t.assignee_id = ?N", a.clone());
    }
    if let Some(s) = q.status {
        w.and(&format!("{} = ?N", col("status")), s.code().to_string());
    }
    if q.overdue {
        w.and(
            &format!("{} = ?N", col("status")),
            TaskStatus::Open.code().to_string(),
        );
        w.and(
            &format!("{} < ?N", col("due")),
            q.today.map(|d| d.to_string()),
        );
    }
    if let Some(k) = &q.kind {
        w.and(&format!("{} = ?N", col("kind")), k.clone());
    }
    if let Some(o) = &q.organization {
        w.and(
            "(t.subject_type = 'organization' AND t.subject_id = ?N)
              OR (t.subject_type = 'inspection' AND t.subject_id IN
                   (SELECT id FROM inspections WHERE organization_id = ?N))
              OR (t.subject_type = 'problem' AND t.subject_id IN
                   (SELECT p.id FROM inspections i JOIN problems p ON p.inspection_id = i.id
                    WHERE i.organization_id = ?N))",
            o.clone(),
        );
    }
    if let Some(d) = q.due_from {
        w.and(&format!("{} >= ?N", col("due")), d.to_string());
    }
    if let Some(d) = q.due_to {
        w.and(&format!("{} <= ?N", col("due")), d.to_string());
    }
    if let Some(i) = &q.inspection {
        w.and(
            "t.subject_type = 'problem' AND t.subject_id IN (SELECT id FROM problems WHERE inspection_id = ?N)",
            i.clone(),
        );
    }
    let filter = w.sql();
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM tasks t WHERE {filter}"))?
        .query_row(super::params_from_iter(w.params(&[])), |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE {filter} ORDER BY {LIST_ORDER} LIMIT ?{} OFFSET ?{}",
        w.next(),
        w.next() + 1,
    ))?;
    let args = w.params(&[q.limit as i64, q.offset as i64]);
    let rows = stmt.query_map(super::params_from_iter(args), from_row)?;
    Ok((rows.collect::<super::DbResult<_>>()?, total.max(0) as u64))
}

/// A person's latest `limit` tasks closed as done, the most recently
/// closed first (by when they were closed, then the day they were done).
pub fn recently_done(conn: &Db, assignee: &str, limit: u64) -> Result<Vec<Task>> {
    let status = conn.dialect().unindexed("t.status");
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE t.assignee_id = ?1 AND {status} = ?2
         ORDER BY t.closed_at IS NULL, t.closed_at DESC, t.done_on DESC, t.id DESC LIMIT ?3"
    ))?;
    let rows = stmt.query_map(
        params![assignee, TaskStatus::Done.code(), limit as i64],
        from_row,
    )?;
    Ok(rows.collect::<super::DbResult<_>>()?)
}

pub fn get(conn: &Db, id: &str) -> Result<Task> {
    conn.query_row(&format!("{SELECT} WHERE t.id = ?1"), params![id], from_row)
        .optional()?
        .ok_or_else(|| Error::invalid(format!("no task {id}; `duban tasks list` shows them")))
}

/// Why a task cannot be closed as done with that outcome on that day.
#[derive(Debug, thiserror::Error)]
pub enum Unfit {
    #[error("outcome: empty; say what came of the task")]
    NoOutcome,
    #[error("done_on: {on} is in the future (today is {today})")]
    Future { on: NaiveDate, today: NaiveDate },
    #[error("done_on: {on} is before the task was created ({created})")]
    BeforeCreated { on: NaiveDate, created: NaiveDate },
}

/// Whether the open task `t` may be closed as done with this outcome on
/// day `on`: the rules of `tasks done`, also applied to a ledger import
/// that marks a task done.
pub fn check_done(
    created_on: Option<&str>,
    outcome: &str,
    on: NaiveDate,
    today: NaiveDate,
) -> std::result::Result<(), Unfit> {
    if outcome.trim().is_empty() {
        return Err(Unfit::NoOutcome);
    }
    if on > today {
        return Err(Unfit::Future { on, today });
    }
    match created_on.and_then(|c| NaiveDate::parse_from_str(c, "%Y-%m-%d").ok()) {
        Some(created) if on < created => Err(Unfit::BeforeCreated { on, created }),
        _ => Ok(()),
    }
}

/// Closes an open task with its outcome.
pub fn done(
    conn: &Db,
    id: &str,
    outcome: &str,
    on: NaiveDate,
    today: NaiveDate,
    by: &str,
    at: &str,
) -> Result<Task> {
    let t = get(conn, id)?;
    require_open(&t)?;
    check_done(t.created_on.as_deref(), outcome, on, today)
        .map_err(|e| Error::invalid(e.to_string()))?;
    let n = conn.execute(
        "UPDATE tasks SET status = ?6, done_on = ?2, outcome = ?3, closed_by = ?4, closed_at = ?5
         WHERE id = ?1 AND status = ?7",
        params![
            id,
            on.to_string(),
            outcome.trim(),
            by,
            at,
            TaskStatus::Done.code(),
            TaskStatus::Open.code()
        ],
    )?;
    if n == 0 {
        return Err(Error::invalid(format!("task {id} was closed meanwhile")));
    }
    get(conn, id)
}

/// Records who closed a task (an import that set it done or cancelled).
pub fn closed_by(conn: &Db, id: &str, by: &str, at: &str) -> Result<()> {
    conn.prepare_cached("UPDATE tasks SET closed_by = ?2, closed_at = ?3 WHERE id = ?1")?
        .execute(params![id, by, at])?;
    Ok(())
}

/// Cancels an open task, with the reason.
pub fn cancel(conn: &Db, id: &str, reason: &str, by: &str, at: &str) -> Result<Task> {
    let t = get(conn, id)?;
    require_open(&t)?;
    if reason.trim().is_empty() {
        return Err(Error::invalid(
            "--reason is empty: say why the task is cancelled",
        ));
    }
    let n = conn.execute(
        "UPDATE tasks SET status = ?5, cancel_reason = ?2, closed_by = ?3, closed_at = ?4
         WHERE id = ?1 AND status = ?6",
        params![
            id,
            reason.trim(),
            by,
            at,
            TaskStatus::Cancelled.code(),
            TaskStatus::Open.code()
        ],
    )?;
    if n == 0 {
        return Err(Error::invalid(format!("task {id} was closed meanwhile")));
    }
    get(conn, id)
}

fn require_open(t: &Task) -> Result<()> {
    let status = t.status.as_str();
    if status == TaskStatus::Open.code() {
        Ok(())
    } else if status == TaskStatus::Pending.code() {
        Err(Error::invalid(format!(
            "task {} awaits approval: `duban approvals show {}` shows the request",
            t.id,
            t.approval.as_deref().unwrap_or("?")
        )))
    } else if status == TaskStatus::Done.code() {
        Err(Error::invalid(format!(
            "task {} is already done (on {}, outcome: {})",
            t.id,
            t.done_on.as_deref().unwrap_or("?"),
            t.outcome.as_deref().unwrap_or("")
        )))
    } else {
        Err(Error::invalid(format!(
            "task {} was cancelled ({})",
            t.id,
            t.cancel_reason.as_deref().unwrap_or("no reason given")
        )))
    }
}

/// The first `seq` (the number in `T000123`) no duban task has yet.
pub fn next_seq(conn: &Db) -> Result<i64> {
    Ok(
        conn.query_row("SELECT coalesce(max(seq), 0) + 1 FROM tasks", [], |r| {
            r.get(0)
        })?,
    )
}

/// The id duban gives its task number `seq`: `T000123`.
pub fn task_id(seq: i64) -> String {
    format!("T{seq:06}")
}

/// The ids some task already has — an imported ledger's — among task
/// numbers `from` to at most `from + count - 1`, read in one range of the
/// primary key (so within one width of id: `T999999` and `T1000000` are
/// not in one range); with the last number read.
pub fn taken_ids(
    conn: &Db,
    from: i64,
    count: i64,
) -> Result<(i64, std::collections::HashSet<String>)> {
    let first = task_id(from);
    let width = first.len() as i64;
    let widest = 10i64.saturating_pow(width as u32 - 1) - 1;
    let to = (from + count - 1).min(widest);
    let mut stmt =
        conn.prepare_cached("SELECT id FROM tasks WHERE id BETWEEN ?1 AND ?2 AND length(id) = ?3")?;
    let mut rows = stmt.query(params![first, task_id(to), width])?;
    let mut out = std::collections::HashSet::new();
    while let Some(r) = rows.next()? {
        out.insert(r.get(0)?);
    }
    Ok((to, out))
}

/// A task a firing creates.
pub struct NewTask<'a> {
    pub id: &'a str,
    pub seq: i64,
    pub entity: &'a str,
    pub subject_id: &'a str,
    pub kind: &'a str,
    pub target: &'a str,
    pub assignee: Option<&'a str>,
    pub due: NaiveDate,
    pub created_on: NaiveDate,
    pub rule: &'a str,
    pub episode_id: i64,
    pub policy_hash: &'a str,
    /// JSON text.
    pub facts: &'a str,
    pub created_at: &'a str,
    /// The approval request the task waits for, and its time limit
    /// (`7 days`) counted from the day it is approved: a pending task.
    pub approval: Option<(&'a str, String)>,
}

/// Records a task (in the firing's transaction): open, or pending when it
/// waits for an approval.
pub fn insert(conn: &Db, t: &NewTask<'_>) -> Result<()> {
    let status = match t.approval {
        Some(_) => TaskStatus::Pending,
        None => TaskStatus::Open,
    };
    conn.prepare_cached(
        "INSERT INTO tasks (id, subject_type, subject_id, kind, status, target_id, assignee_id, due,
                            created_on, rule, seq, episode_id, policy_hash, facts, created_at, approval_id, due_in)
         VALUES (?1, ?2, ?3, ?4, ?15, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?16, ?17)",
    )?
    .execute(params![
        t.id,
        t.entity,
        t.subject_id,
        t.kind,
        t.target,
        t.assignee,
        t.due.to_string(),
        t.created_on.to_string(),
        t.rule,
        t.seq,
        t.episode_id,
        t.policy_hash,
        t.facts,
        t.created_at,
        status.code(),
        t.approval.as_ref().map(|a| a.0),
        t.approval.as_ref().map(|a| a.1.as_str()),
    ])?;
    Ok(())
}

/// The tasks of an approval request: id, time limit (`7 days`), status.
pub fn of_approval(conn: &Db, approval: &str) -> Result<Vec<Task>> {
    let mut stmt =
        conn.prepare_cached(&format!("{SELECT} WHERE t.approval_id = ?1 ORDER BY t.id"))?;
    let rows = stmt.query_map([approval], from_row)?;
    Ok(rows.collect::<super::DbResult<_>>()?)
}

/// The time limit of a pending task, as recorded at its firing.
pub fn due_in(conn: &Db, id: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT due_in FROM tasks WHERE id = ?1", [id], |r| r.get(0))
        .optional()?
        .flatten())
}

/// Opens a pending task, due on `due`; false when it was not pending.
pub fn open_pending(conn: &Db, id: &str, due: NaiveDate) -> Result<bool> {
    Ok(conn
        .prepare_cached("UPDATE tasks SET status = ?3, due = ?2 WHERE id = ?1 AND status = ?4")?
        .execute(params![
            id,
            due.to_string(),
            TaskStatus::Open.code(),
            TaskStatus::Pending.code()
        ])?
        == 1)
}

/// Cancels the pending tasks of a rejected approval request, with its
/// reason; how many.
pub fn cancel_pending(
    conn: &Db,
    approval: &str,
    reason: &str,
    by: &str,
    at: &str,
) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE tasks SET status = ?5, cancel_reason = ?2, closed_by = ?3, closed_at = ?4
         WHERE approval_id = ?1 AND status = ?6",
        params![
            approval,
            reason,
            by,
            at,
            TaskStatus::Cancelled.code(),
            TaskStatus::Pending.code()
        ],
    )?)
}

/// Tasks by status, and the open ones past their due date at `today`.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Counts {
    pub open: i64,
    pub overdue: i64,
    /// Awaiting an approval.
    pub pending: i64,
    pub done: i64,
    pub cancelled: i64,
}

pub fn counts(conn: &Db, today: NaiveDate) -> Result<Counts> {
    // By status from the index on (status, due); the overdue ones by a range
    // of it.
    let mut c = Counts::default();
    let mut stmt = conn.prepare_cached("SELECT status, count(*) FROM tasks GROUP BY status")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (status, n) = row?;
        match TaskStatus::parse(&status) {
            Some(TaskStatus::Open) => c.open = n,
            Some(TaskStatus::Pending) => c.pending = n,
            Some(TaskStatus::Done) => c.done = n,
            Some(TaskStatus::Cancelled) => c.cancelled = n,
            None => {}
        }
    }
    c.overdue = conn.query_row(
        "SELECT count(*) FROM tasks WHERE status = ?1 AND due < ?2",
        params![TaskStatus::Open.code(), today.to_string()],
        |r| r.get(0),
    )?;
    Ok(c)
}

/// Open tasks per kind: (kind, open, overdue at `today`), most first.
pub fn open_by_kind(conn: &Db, today: NaiveDate) -> Result<Vec<(String, i64, i64)>> {
    let mut stmt = conn.prepare(
        "SELECT kind, count(*), count(*) FILTER (WHERE due < ?1) FROM tasks WHERE status = ?2
         GROUP BY kind ORDER BY 2 DESC, 1",
    )?;
    let rows = stmt.query_map(params![today.to_string(), TaskStatus::Open.code()], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    Ok(rows.collect::<super::DbResult<Vec<_>>>()?)
}

/// The person assigned the most open tasks.
pub fn busiest_assignee(conn: &Db) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT assignee_id FROM tasks WHERE status = ?1 AND assignee_id IS NOT NULL
             GROUP BY assignee_id ORDER BY count(*) DESC, assignee_id LIMIT 1",
            [TaskStatus::Open.code()],
            |r| r.get(0),
        )
        .optional()?)
}

/// Tasks duban created, per kind: (kind, count), most first.
pub fn created_by_kind(conn: &Db) -> Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare(
        "SELECT kind, count(*) FROM tasks WHERE seq IS NOT NULL GROUP BY kind ORDER BY 2 DESC, 1",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<super::DbResult<Vec<_>>>()?)
}

/// Ids of the tasks whose subject is a record (`problem`, `P-1`).
pub fn ids_of_subject(conn: &Db, entity: &str, id: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM tasks WHERE subject_type = ?1 AND subject_id = ?2 ORDER BY id",
    )?;
    let ids = stmt.query_map(params![entity, id], |r| r.get::<_, String>(0))?;
    Ok(ids.collect::<super::DbResult<Vec<_>>>()?)
}

/// Ids of the tasks whose target is a person.
pub fn ids_of_target(conn: &Db, person: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT id FROM tasks WHERE target_id = ?1 ORDER BY id")?;
    let ids = stmt.query_map(params![person], |r| r.get::<_, String>(0))?;
    Ok(ids.collect::<super::DbResult<Vec<_>>>()?)
}

/// Every task kind the ledger holds a task of.
pub fn kinds(conn: &Db) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT DISTINCT kind FROM tasks ORDER BY kind")?;
    let kinds = stmt.query_map([], |r| r.get::<_, String>(0))?;
    Ok(kinds.collect::<super::DbResult<Vec<_>>>()?)
}
