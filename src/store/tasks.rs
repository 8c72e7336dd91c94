//! The task ledger: listing tasks, closing them with an outcome, cancelling
//! them. A task's outcome feeds later rules (`exists(tasks where kind =
//! "reminder_talk" and status = "done" …)`), so closing is validated and
//! records who closed it and when.

use crate::error::{Error, Result};
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
        "{SELECT} WHERE (?1 = 0 OR t.status = 'open') AND (?2 IS NULL OR t.assignee_id = ?2) AND (?3 IS NULL OR t.kind = ?3)
         ORDER BY t.due IS NULL, t.due, t.id LIMIT ?4"
    );
    let mut stmt = conn.prepare(&sql)?;
    let limit = f.limit.map(|l| l as i64).unwrap_or(-1);
    let mut rows = stmt.query(params![f.open_only as i64, f.assignee, f.kind, limit])?;
    while let Some(r) = rows.next()? {
        each(from_row(r)?)?;
    }
    Ok(())
}

pub fn get(conn: &Connection, id: &str) -> Result<Task> {
    conn.query_row(&format!("{SELECT} WHERE t.id = ?1"), params![id], from_row)
        .optional()?
        .ok_or_else(|| Error::invalid(format!("no task {id}; `duban tasks list` shows them")))
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
    if outcome.trim().is_empty() {
        return Err(Error::invalid(
            "--outcome is empty: say what came of the task",
        ));
    }
    if on > today {
        return Err(Error::invalid(format!(
            "--on {on} is in the future (today is {today})"
        )));
    }
    if let Some(created) = t
        .created_on
        .as_deref()
        .and_then(|c| NaiveDate::parse_from_str(c, "%Y-%m-%d").ok())
        && on < created
    {
        return Err(Error::invalid(format!(
            "--on {on} is before the task was created ({created})"
        )));
    }
    let n = conn.execute(
        "UPDATE tasks SET status = 'done', done_on = ?2, outcome = ?3, closed_by = ?4, closed_at = ?5
         WHERE id = ?1 AND status = 'open'",
        params![id, on.to_string(), outcome.trim(), by, at],
    )?;
    if n == 0 {
        return Err(Error::invalid(format!("task {id} was closed meanwhile")));
    }
    get(conn, id)
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
        "UPDATE tasks SET status = 'cancelled', cancel_reason = ?2, closed_by = ?3, closed_at = ?4
         WHERE id = ?1 AND status = 'open'",
        params![id, reason.trim(), by, at],
    )?;
    if n == 0 {
        return Err(Error::invalid(format!("task {id} was closed meanwhile")));
    }
    get(conn, id)
}

fn require_open(t: &Task) -> Result<()> {
    match t.status.as_str() {
        "open" => Ok(()),
        "done" => Err(Error::invalid(format!(
            "task {} is already done (on {}, outcome: {})",
            t.id,
            t.done_on.as_deref().unwrap_or("?"),
            t.outcome.as_deref().unwrap_or("")
        ))),
        _ => Err(Error::invalid(format!(
            "task {} was cancelled ({})",
            t.id,
            t.cancel_reason.as_deref().unwrap_or("no reason given")
        ))),
    }
}

/// Notices of a task (its assignee notice), for `tasks show`.
pub fn notices_of(conn: &Connection, id: &str) -> Result<Vec<(i64, String, String)>> {
    let mut stmt =
        conn.prepare("SELECT id, status, subject FROM outbox WHERE task_id = ?1 ORDER BY id")?;
    let rows = stmt.query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
