//! The task ledger: listing tasks, closing them with an outcome, cancelling
//! them. A task's outcome feeds later rules (`exists(tasks where kind =
//! "reminder_talk" and status = "done" …)`), so closing is validated and
//! records who closed it and when.

use crate::error::{Error, Result};
use crate::schema::TaskStatus;
use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, Row, params};
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
        t.created_at, t.closed_by, t.closed_at, t.cancel_reason, t.episode_id
    FROM tasks t LEFT JOIN persons pt ON pt.id = t.target_id LEFT JOIN persons pa ON pa.id = t.assignee_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Task> {
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

pub fn list(conn: &Connection, f: &Filter, each: &mut dyn FnMut(Task) -> Result<()>) -> Result<()> {
    let sql = format!(
        "{SELECT} WHERE (?1 = 0 OR t.status = ?5) AND (?2 IS NULL OR t.assignee_id = ?2) AND (?3 IS NULL OR t.kind = ?3)
         ORDER BY t.due IS NULL, t.due, t.id LIMIT ?4"
    );
    let mut stmt = conn.prepare(&sql)?;
    let limit = f.limit.map(|l| l as i64).unwrap_or(-1);
    let mut rows = stmt.query(params![
        f.open_only as i64,
        f.assignee,
        f.kind,
        limit,
        TaskStatus::Open.code()
    ])?;
    while let Some(r) = rows.next()? {
        each(from_row(r)?)?;
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

/// A page of tasks matching `q`, soonest due first, and how many match.
pub fn page(conn: &Connection, q: &Query) -> Result<(Vec<Task>, u64)> {
    let filter = "(?1 IS NULL OR t.assignee_id = ?1) AND (?2 IS NULL OR t.status = ?2)
        AND (?3 = 0 OR (t.status = ?10 AND t.due < ?4)) AND (?5 IS NULL OR t.kind = ?5)
        AND (?6 IS NULL OR CASE t.subject_type
              WHEN 'organization' THEN t.subject_id
              WHEN 'inspection' THEN (SELECT i.organization_id FROM inspections i WHERE i.id = t.subject_id)
              WHEN 'problem' THEN (SELECT i.organization_id FROM problems p JOIN inspections i ON i.id = p.inspection_id WHERE p.id = t.subject_id)
            END = ?6)
        AND (?7 IS NULL OR t.due >= ?7) AND (?8 IS NULL OR t.due <= ?8)
        AND (?9 IS NULL OR (t.subject_type = 'problem' AND t.subject_id IN (SELECT id FROM problems WHERE inspection_id = ?9)))";
    let today = q.today.map(|d| d.to_string());
    let args = params![
        q.assignee,
        q.status.map(|s| s.code()),
        q.overdue as i64,
        today,
        q.kind,
        q.organization,
        q.due_from.map(|d| d.to_string()),
        q.due_to.map(|d| d.to_string()),
        q.inspection,
        TaskStatus::Open.code(),
    ];
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM tasks t WHERE {filter}"))?
        .query_row(args, |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE {filter} ORDER BY t.status <> ?10, t.due IS NULL, t.due, t.id LIMIT ?11 OFFSET ?12"
    ))?;
    let limit = q.limit as i64;
    let offset = q.offset as i64;
    let mut all: Vec<&dyn rusqlite::ToSql> = args.to_vec();
    all.push(&limit);
    all.push(&offset);
    let rows = stmt.query_map(all.as_slice(), from_row)?;
    Ok((rows.collect::<rusqlite::Result<_>>()?, total.max(0) as u64))
}

pub fn get(conn: &Connection, id: &str) -> Result<Task> {
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
    conn: &Connection,
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
pub fn closed_by(conn: &Connection, id: &str, by: &str, at: &str) -> Result<()> {
    conn.prepare_cached("UPDATE tasks SET closed_by = ?2, closed_at = ?3 WHERE id = ?1")?
        .execute(params![id, by, at])?;
    Ok(())
}

/// Cancels an open task, with the reason.
pub fn cancel(conn: &Connection, id: &str, reason: &str, by: &str, at: &str) -> Result<Task> {
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
pub fn next_seq(conn: &Connection) -> Result<i64> {
    Ok(
        conn.query_row("SELECT coalesce(max(seq), 0) + 1 FROM tasks", [], |r| {
            r.get(0)
        })?,
    )
}

/// Whether some task (duban's or an imported ledger's) has this id.
pub fn exists(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM tasks WHERE id = ?1)")?
        .query_row([id], |r| r.get(0))?)
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
}

/// Records an open task (in the firing's transaction).
pub fn insert(conn: &Connection, t: &NewTask<'_>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO tasks (id, subject_type, subject_id, kind, status, target_id, assignee_id, due,
                            created_on, rule, seq, episode_id, policy_hash, facts, created_at)
         VALUES (?1, ?2, ?3, ?4, ?15, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
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
        TaskStatus::Open.code()
    ])?;
    Ok(())
}

/// Tasks by status, and the open ones past their due date at `today`.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Counts {
    pub open: i64,
    pub overdue: i64,
    pub done: i64,
    pub cancelled: i64,
}

pub fn counts(conn: &Connection, today: NaiveDate) -> Result<Counts> {
    Ok(conn.query_row(
        "SELECT count(*) FILTER (WHERE status = ?2), count(*) FILTER (WHERE status = ?2 AND due < ?1),
                count(*) FILTER (WHERE status = ?3), count(*) FILTER (WHERE status = ?4) FROM tasks",
        params![
            today.to_string(),
            TaskStatus::Open.code(),
            TaskStatus::Done.code(),
            TaskStatus::Cancelled.code()
        ],
        |r| {
            Ok(Counts {
                open: r.get(0)?,
                overdue: r.get(1)?,
                done: r.get(2)?,
                cancelled: r.get(3)?,
            })
        },
    )?)
}

/// Open tasks per kind: (kind, open, overdue at `today`), most first.
pub fn open_by_kind(conn: &Connection, today: NaiveDate) -> Result<Vec<(String, i64, i64)>> {
    let mut stmt = conn.prepare(
        "SELECT kind, count(*), count(*) FILTER (WHERE due < ?1) FROM tasks WHERE status = ?2
         GROUP BY kind ORDER BY 2 DESC, 1",
    )?;
    let rows = stmt.query_map(params![today.to_string(), TaskStatus::Open.code()], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The person assigned the most open tasks.
pub fn busiest_assignee(conn: &Connection) -> Result<Option<String>> {
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
pub fn created_by_kind(conn: &Connection) -> Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare(
        "SELECT kind, count(*) FROM tasks WHERE seq IS NOT NULL GROUP BY kind ORDER BY 2 DESC, 1",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Ids of the tasks whose subject is a record (`problem`, `P-1`).
pub fn ids_of_subject(conn: &Connection, entity: &str, id: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM tasks WHERE subject_type = ?1 AND subject_id = ?2 ORDER BY id",
    )?;
    let ids = stmt.query_map(params![entity, id], |r| r.get::<_, String>(0))?;
    Ok(ids.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Ids of the tasks whose target is a person.
pub fn ids_of_target(conn: &Connection, person: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT id FROM tasks WHERE target_id = ?1 ORDER BY id")?;
    let ids = stmt.query_map(params![person], |r| r.get::<_, String>(0))?;
    Ok(ids.collect::<rusqlite::Result<Vec<_>>>()?)
}
