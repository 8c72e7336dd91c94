//! Approval requests (SPEC §9): a firing of a rule with `approval by`
//! records one, with its tasks `pending` and its notices held here until
//! the approver decides. Deciding is a compare-and-set on the request's
//! status, so a request is decided once, however many try at once.

use super::{Db, OptionalExtension, Row};
use crate::error::{Error, Result};
use crate::params;
use chrono::NaiveDate;
use serde::Serialize;

pub const PENDING: &str = "pending";
pub const APPROVED: &str = "approved";
pub const REJECTED: &str = "rejected";

/// A request as a firing records it.
pub struct NewApproval<'a> {
    pub id: &'a str,
    pub seq: i64,
    pub rule: &'a str,
    pub title: &'a str,
    pub entity: &'a str,
    pub subject_id: &'a str,
    pub episode_id: i64,
    pub approver: &'a str,
    /// JSON `[[label, value] …]`, as the approver reads them.
    pub facts: &'a str,
    pub policy_hash: &'a str,
    pub created_at: &'a str,
    pub created_on: NaiveDate,
    pub decide_by: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Approval {
    pub id: String,
    pub status: String,
    pub rule: String,
    pub title: String,
    pub subject_type: String,
    pub subject_id: String,
    pub episode_id: i64,
    pub approver: String,
    pub approver_name: Option<String>,
    pub facts: Vec<(String, String)>,
    pub policy_hash: String,
    pub created_at: String,
    pub created_on: String,
    pub decide_by: Option<String>,
    pub reminded_at: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decided_on: Option<String>,
    pub via: Option<String>,
    pub note: Option<String>,
}

impl Approval {
    pub fn is_pending(&self) -> bool {
        self.status == PENDING
    }

    /// Pending past its `within` at `today`.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.is_pending()
            && self
                .decide_by
                .as_deref()
                .is_some_and(|d| d < today.to_string().as_str())
    }
}

const SELECT: &str =
    "SELECT a.id, a.status, a.rule, a.title, a.subject_type, a.subject_id, a.episode_id,
        a.approver_id, p.name, a.facts, a.policy_hash, a.created_at, a.created_on, a.decide_by,
        a.reminded_at, a.decided_by, a.decided_at, a.decided_on, a.via, a.note
    FROM approvals a LEFT JOIN persons p ON p.id = a.approver_id";

fn from_row(r: &Row<'_>) -> super::DbResult<Approval> {
    let facts: String = r.get(9)?;
    Ok(Approval {
        id: r.get(0)?,
        status: r.get(1)?,
        rule: r.get(2)?,
        title: r.get(3)?,
        subject_type: r.get(4)?,
        subject_id: r.get(5)?,
        episode_id: r.get(6)?,
        approver: r.get(7)?,
        approver_name: r.get(8)?,
        facts: serde_json::from_str(&facts).unwrap_or_default(),
        policy_hash: r.get(10)?,
        created_at: r.get(11)?,
        created_on: r.get(12)?,
        decide_by: r.get(13)?,
        reminded_at: r.get(14)?,
        decided_by: r.get(15)?,
        decided_at: r.get(16)?,
        decided_on: r.get(17)?,
        via: r.get(18)?,
        note: r.get(19)?,
    })
}

/// The number the next request gets (`A000001` …).
pub fn next_seq(conn: &Db) -> Result<i64> {
    Ok(
        conn.query_row("SELECT coalesce(max(seq), 0) + 1 FROM approvals", [], |r| {
            r.get(0)
        })?,
    )
}

pub fn insert(conn: &Db, a: &NewApproval<'_>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO approvals (id, seq, status, rule, title, subject_type, subject_id, episode_id,
                                approver_id, facts, policy_hash, created_at, created_on, decide_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        a.id,
        a.seq,
        PENDING,
        a.rule,
        a.title,
        a.entity,
        a.subject_id,
        a.episode_id,
        a.approver,
        a.facts,
        a.policy_hash,
        a.created_at,
        a.created_on.to_string(),
        a.decide_by.map(|d| d.to_string()),
    ])?;
    Ok(())
}

pub fn get(conn: &Db, id: &str) -> Result<Approval> {
    conn.query_row(&format!("{SELECT} WHERE a.id = ?1"), [id], from_row)
        .optional()?
        .ok_or_else(|| {
            Error::invalid(format!(
                "no approval request {id}; `duban approvals list` shows them"
            ))
        })
}

/// Requests, newest first: all, the pending ones, or those addressed to
/// `approver`.
pub fn list(conn: &Db, pending_only: bool, approver: Option<&str>) -> Result<Vec<Approval>> {
    let mut w = super::Where::default();
    if pending_only {
        w.and("a.status = ?N", PENDING.to_string());
    }
    if let Some(p) = approver {
        w.and("a.approver_id = ?N", p.to_string());
    }
    let mut stmt = conn.prepare(&format!("{SELECT} WHERE {} ORDER BY a.seq DESC", w.sql()))?;
    let rows = stmt.query_map(super::params_from_iter(w.params(&[])), from_row)?;
    Ok(rows.collect::<super::DbResult<_>>()?)
}

/// Pending requests, and those of them past their `within` at `today`.
pub fn counts(conn: &Db, today: NaiveDate) -> Result<(i64, i64)> {
    let late = conn.dialect().count_if("decide_by < ?2");
    Ok(conn.query_row(
        &format!("SELECT count(*), coalesce({late}, 0) FROM approvals WHERE status = ?1"),
        params![PENDING, today.to_string()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// Pending requests past their `within` at `today` whose approver has not
/// been reminded yet.
pub fn to_remind(conn: &Db, today: NaiveDate) -> Result<Vec<Approval>> {
    let mut stmt = conn.prepare(&format!(
        "{SELECT} WHERE a.status = ?1 AND a.decide_by < ?2 AND a.reminded_at IS NULL ORDER BY a.seq"
    ))?;
    let rows = stmt.query_map(params![PENDING, today.to_string()], from_row)?;
    Ok(rows.collect::<super::DbResult<_>>()?)
}

/// Records that the approver of `id` was reminded; false when another
/// process did it first.
pub fn reminded(conn: &Db, id: &str, at: &str) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE approvals SET reminded_at = ?2 WHERE id = ?1 AND reminded_at IS NULL",
        params![id, at],
    )? == 1)
}

/// A decision on a request.
pub struct Decision<'a> {
    pub approve: bool,
    /// The person who decided.
    pub by: &'a str,
    pub at: &'a str,
    pub on: NaiveDate,
    /// `command line`, `workbench`.
    pub via: &'a str,
    /// The note (approve) or the reason (reject).
    pub note: Option<&'a str>,
}

/// Records the decision if the request is still pending; false when it
/// was decided already (by another, or a moment ago).
pub fn decide(conn: &Db, id: &str, d: &Decision<'_>) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE approvals SET status = ?2, decided_by = ?3, decided_at = ?4, decided_on = ?5, via = ?6, note = ?7
         WHERE id = ?1 AND status = ?8",
        params![
            id,
            if d.approve { APPROVED } else { REJECTED },
            d.by,
            d.at,
            d.on.to_string(),
            d.via,
            d.note,
            PENDING
        ],
    )? == 1)
}

/// A notice held until its request is decided.
#[derive(Debug, Clone, Serialize)]
pub struct Held {
    pub message_id: String,
    pub rule: String,
    pub subject_type: String,
    pub subject_id: String,
    pub task_id: Option<String>,
    /// JSON.
    pub recipients: String,
    pub subject: String,
    pub body: String,
    pub created_at: String,
    pub channel: Option<String>,
    pub facts: Option<String>,
}

/// Holds a notice of a request (in the firing's transaction).
pub fn hold(conn: &Db, approval: &str, n: &super::outbox::NewNotice<'_>) -> Result<()> {
    use super::{outbox::NOTICE_COLUMNS, placeholders};
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "INSERT INTO held_notices ({NOTICE_COLUMNS}, approval_id) VALUES ({})",
            placeholders(12)
        )
    });
    let values = n.values();
    conn.prepare_cached(&SQL)?.execute(super::params_from_iter(
        values.iter().chain([&approval as &dyn super::ToSql].iter()),
    ))?;
    Ok(())
}

/// How many notices wait for their request's decision.
pub fn held_count(conn: &Db) -> Result<u64> {
    let n: i64 = conn.query_row("SELECT count(*) FROM held_notices", [], |r| r.get(0))?;
    Ok(n.max(0) as u64)
}

/// The notices held for a request.
pub fn held(conn: &Db, approval: &str) -> Result<Vec<Held>> {
    let mut stmt = conn.prepare(
        "SELECT message_id, rule, subject_type, subject_id, task_id, recipients, subject, body,
                created_at, channel, facts
           FROM held_notices WHERE approval_id = ?1 ORDER BY rowid",
    )?;
    let rows = stmt.query_map([approval], |r| {
        Ok(Held {
            message_id: r.get(0)?,
            rule: r.get(1)?,
            subject_type: r.get(2)?,
            subject_id: r.get(3)?,
            task_id: r.get(4)?,
            recipients: r.get(5)?,
            subject: r.get(6)?,
            body: r.get(7)?,
            created_at: r.get(8)?,
            channel: r.get(9)?,
            facts: r.get(10)?,
        })
    })?;
    Ok(rows.collect::<super::DbResult<_>>()?)
}

/// Forgets the notices held for a decided request; how many.
pub fn drop_held(conn: &Db, approval: &str) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM held_notices WHERE approval_id = ?1",
        [approval],
    )?)
}
