//! The outbox: notices waiting for, or done with, delivery.
//!
//! A notice moves `queued → sending → sent`, or back to `queued` with a
//! later `next_attempt_at` after a transient failure, or to `failed`. The
//! claim (`queued → sending`) is one conditional UPDATE, so two deliverers
//! never take the same notice; times are UTC text ([`crate::clock::utc_text`]).

use super::{Db, OptionalExtension};
use crate::error::Result;
use crate::params;

/// A notice's delivery state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeStatus {
    Queued,
    Sending,
    Sent,
    Failed,
}

impl NoticeStatus {
    pub const ALL: [NoticeStatus; 4] = [
        NoticeStatus::Queued,
        NoticeStatus::Sending,
        NoticeStatus::Sent,
        NoticeStatus::Failed,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            NoticeStatus::Queued => "queued",
            NoticeStatus::Sending => "sending",
            NoticeStatus::Sent => "sent",
            NoticeStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<NoticeStatus> {
        Self::ALL.into_iter().find(|s| s.code() == text)
    }
}

/// A notice to queue.
pub struct NewNotice<'a> {
    pub message_id: &'a str,
    pub rule: &'a str,
    pub entity: &'a str,
    pub subject_id: &'a str,
    pub task_id: Option<&'a str>,
    /// JSON: `[{"id", "name", "email"}…]`.
    pub recipients: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub ics: Option<&'a str>,
    pub created_at: &'a str,
    /// A chat channel's name: the notice is a message to it, `recipients`
    /// the persons it mentions (`[{"id", "name", "mobile"}…]`).
    pub channel: Option<&'a str>,
    /// The facts of the firing (JSON), for a webhook.
    pub facts: Option<&'a str>,
}

/// The columns of a notice wherever it is kept (queued in the outbox, or
/// held for an approval), in the order of [`NewNotice::values`].
pub const NOTICE_COLUMNS: &str = "message_id, rule, subject_type, subject_id, task_id, recipients, subject, body, created_at, channel, facts";

impl NewNotice<'_> {
    /// The values of [`NOTICE_COLUMNS`].
    pub fn values(&self) -> [&dyn super::ToSql; 11] {
        [
            &self.message_id,
            &self.rule,
            &self.entity,
            &self.subject_id,
            &self.task_id,
            &self.recipients,
            &self.subject,
            &self.body,
            &self.created_at,
            &self.channel,
            &self.facts,
        ]
    }
}

/// Queues a notice (in the firing's transaction).
pub fn queue(conn: &Db, n: &NewNotice<'_>) -> Result<()> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "INSERT INTO outbox ({NOTICE_COLUMNS}, ics) VALUES ({})",
            super::placeholders(12)
        )
    });
    let values = n.values();
    conn.prepare_cached(&SQL)?.execute(super::params_from_iter(
        values.iter().chain([&n.ics as &dyn super::ToSql].iter()),
    ))?;
    Ok(())
}

/// Queues again the notices whose claim expired, and at once those whose
/// claiming process is gone (`alive` says so of an owner token).
pub fn release_expired_claims(conn: &Db, now: &str, alive: &dyn Fn(&str) -> bool) -> Result<usize> {
    let mut released = conn.execute(
        "UPDATE outbox SET status = ?2, claimed_by = NULL WHERE status = ?3 AND next_attempt_at <= ?1",
        params![
            now,
            NoticeStatus::Queued.code(),
            NoticeStatus::Sending.code()
        ],
    )?;
    let owners: Vec<String> = conn
        .prepare(
            "SELECT DISTINCT claimed_by FROM outbox WHERE status = ?1 AND claimed_by IS NOT NULL",
        )?
        .query_map([NoticeStatus::Sending.code()], |r| r.get(0))?
        .collect::<super::DbResult<_>>()?;
    for owner in owners.iter().filter(|o| !alive(o)) {
        released += conn.execute(
            "UPDATE outbox SET status = ?2, claimed_by = NULL, next_attempt_at = ?1
             WHERE status = ?3 AND claimed_by = ?4",
            params![
                now,
                NoticeStatus::Queued.code(),
                NoticeStatus::Sending.code(),
                owner
            ],
        )?;
    }
    Ok(released)
}

/// The oldest queued notice that is due at `now` (on PostgreSQL, one no
/// other deliverer holds locked; [`claim`] takes it only if still queued).
pub fn next_due(conn: &Db, now: &str) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT id FROM outbox WHERE status = ?2 AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)
                 ORDER BY id LIMIT 1{}",
                conn.dialect().skip_locked()
            ),
            params![now, NoticeStatus::Queued.code()],
            |r| r.get(0),
        )
        .optional()?)
}

/// Takes a queued notice for delivery until `until`, for the process
/// `owner`; false when another deliverer took it first.
pub fn claim(conn: &Db, id: i64, until: &str, owner: &str) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE outbox SET status = ?3, attempts = attempts + 1, next_attempt_at = ?2, claimed_by = ?5
         WHERE id = ?1 AND status = ?4",
        params![
            id,
            until,
            NoticeStatus::Sending.code(),
            NoticeStatus::Queued.code(),
            owner
        ],
    )? == 1)
}

pub fn mark_sent(conn: &Db, id: i64, at: &str) -> Result<()> {
    conn.execute(
        "UPDATE outbox SET status = ?3, sent_at = ?2, last_error = NULL, next_attempt_at = NULL WHERE id = ?1",
        params![id, at, NoticeStatus::Sent.code()],
    )?;
    Ok(())
}

pub fn mark_failed(conn: &Db, id: i64, error: &str) -> Result<()> {
    conn.execute(
        "UPDATE outbox SET status = ?3, last_error = ?2, next_attempt_at = NULL WHERE id = ?1",
        params![id, error, NoticeStatus::Failed.code()],
    )?;
    Ok(())
}

/// A channel message's first `parts` parts are with the robot: a retry
/// sends the rest.
pub fn parts_sent(conn: &Db, id: i64, parts: usize) -> Result<()> {
    conn.execute(
        "UPDATE outbox SET parts_sent = ?2 WHERE id = ?1",
        params![id, parts as i64],
    )?;
    Ok(())
}

/// Puts a claimed notice back until `until` without counting the attempt
/// (its channel's rate limit is reached: nothing failed).
pub fn wait(conn: &Db, id: i64, until: &str) -> Result<()> {
    let fewer = conn
        .dialect()
        .greatest(&["attempts - 1".into(), "0".into()]);
    conn.execute(
        &format!(
            "UPDATE outbox SET status = ?3, next_attempt_at = ?2, attempts = {fewer} WHERE id = ?1"
        ),
        params![id, until, NoticeStatus::Queued.code()],
    )?;
    Ok(())
}

/// Queues a notice again for a later attempt, after a transient failure.
pub fn defer(conn: &Db, id: i64, error: &str, next_at: &str) -> Result<()> {
    conn.execute(
        "UPDATE outbox SET status = ?4, last_error = ?2, next_attempt_at = ?3 WHERE id = ?1",
        params![id, error, next_at, NoticeStatus::Queued.code()],
    )?;
    Ok(())
}

/// A stored notice, as delivery reads it.
pub struct Stored {
    pub id: i64,
    pub message_id: String,
    pub rule: String,
    pub entity: String,
    pub subject_id: String,
    /// A chat channel's name, for a channel message.
    pub channel: Option<String>,
    /// The firing's facts (JSON), stored for channel messages.
    pub facts: Option<String>,
    pub parts_sent: usize,
    /// JSON recipients.
    pub recipients: String,
    pub subject: String,
    pub body: String,
    pub ics: Option<String>,
    pub attempts: i64,
}

pub fn load(conn: &Db, id: i64) -> Result<Stored> {
    Ok(conn.query_row(
        "SELECT message_id, recipients, subject, body, ics, attempts, rule, subject_type, subject_id,
                channel, facts, parts_sent
         FROM outbox WHERE id = ?1",
        params![id],
        |r| {
            Ok(Stored {
                id,
                message_id: r.get(0)?,
                recipients: r.get(1)?,
                subject: r.get(2)?,
                body: r.get(3)?,
                ics: r.get(4)?,
                attempts: r.get(5)?,
                rule: r.get(6)?,
                entity: r.get(7)?,
                subject_id: r.get(8)?,
                channel: r.get(9)?,
                facts: r.get(10)?,
                parts_sent: r.get::<_, i64>(11)?.max(0) as usize,
            })
        },
    )?)
}

/// Which notices `notices retry` takes.
pub enum RetryWhich {
    /// Every queued notice, now rather than after its backoff.
    Queued,
    /// Every failed notice, with its attempts counted afresh.
    Failed,
    One(i64),
}

/// Makes notices due now; returns how many.
pub fn retry(conn: &Db, which: RetryWhich) -> Result<usize> {
    let queued = NoticeStatus::Queued.code();
    let failed = NoticeStatus::Failed.code();
    let n = match which {
        RetryWhich::Queued => conn.execute(
            "UPDATE outbox SET next_attempt_at = NULL WHERE status = ?1",
            params![queued],
        )?,
        RetryWhich::Failed => conn.execute(
            "UPDATE outbox SET status = ?1, attempts = 0, next_attempt_at = NULL WHERE status = ?2",
            params![queued, failed],
        )?,
        RetryWhich::One(id) => conn.execute(
            "UPDATE outbox SET status = ?2, next_attempt_at = NULL,
                    attempts = CASE WHEN status = ?3 THEN 0 ELSE attempts END
             WHERE id = ?1 AND status IN (?2, ?3)",
            params![id, queued, failed],
        )?,
    };
    Ok(n)
}

/// A notice as `notices list` shows it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: i64,
    pub status: String,
    pub attempts: i64,
    pub created_at: String,
    pub rule: String,
    pub entity: String,
    pub subject_id: String,
    /// JSON recipients.
    pub recipients: String,
    pub subject: String,
    pub last_error: Option<String>,
    pub sent_at: Option<String>,
    pub message_id: String,
    pub task_id: Option<String>,
}

const LISTED: &str =
    "SELECT id, status, attempts, created_at, rule, subject_type, subject_id, recipients, subject,
        last_error, sent_at, message_id, task_id FROM outbox";

fn listed(r: &super::Row<'_>) -> super::DbResult<Listed> {
    Ok(Listed {
        id: r.get(0)?,
        status: r.get(1)?,
        attempts: r.get(2)?,
        created_at: r.get(3)?,
        rule: r.get(4)?,
        entity: r.get(5)?,
        subject_id: r.get(6)?,
        recipients: r.get(7)?,
        subject: r.get(8)?,
        last_error: r.get(9)?,
        sent_at: r.get(10)?,
        message_id: r.get(11)?,
        task_id: r.get(12)?,
    })
}

/// The newest notices first, of one status or all.
pub fn list(
    conn: &Db,
    status: Option<NoticeStatus>,
    limit: u64,
    each: &mut dyn FnMut(Listed) -> Result<()>,
) -> Result<()> {
    let mut stmt = conn.prepare(&format!(
        "{LISTED} WHERE CAST(?1 AS text) IS NULL OR status = ?1 ORDER BY id DESC LIMIT ?2"
    ))?;
    let mut rows = stmt.query(params![status.map(NoticeStatus::code), limit as i64])?;
    while let Some(r) = rows.next()? {
        each(listed(&r)?)?;
    }
    Ok(())
}

/// The workbench's notice list: newest first, one page, and how many match.
/// Notices of rule `hidden` are left out (sign-in links).
pub fn page(
    conn: &Db,
    status: Option<NoticeStatus>,
    rule: Option<&str>,
    hidden: &str,
    offset: u64,
    limit: u64,
) -> Result<(Vec<Listed>, u64)> {
    let mut w = super::Where::default();
    if let Some(s) = status {
        w.and("status = ?N", s.code().to_string());
    }
    if let Some(r) = rule {
        w.and("rule = ?N", r.to_string());
    }
    w.and("rule <> ?N", hidden.to_string());
    let filter = w.sql();
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM outbox WHERE {filter}"))?
        .query_row(super::params_from_iter(w.params(&[])), |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(&format!(
        "{LISTED} WHERE {filter} ORDER BY id DESC LIMIT ?{} OFFSET ?{}",
        w.next(),
        w.next() + 1
    ))?;
    let args = w.params(&[limit as i64, offset as i64]);
    let rows = stmt.query_map(super::params_from_iter(args), listed)?;
    Ok((rows.collect::<super::DbResult<_>>()?, total.max(0) as u64))
}

/// How many notices are in each state.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Counts {
    pub queued: i64,
    pub sending: i64,
    pub sent: i64,
    pub failed: i64,
}

pub fn counts(conn: &Db) -> Result<Counts> {
    let mut c = Counts::default();
    let mut stmt = conn.prepare("SELECT status, count(*) FROM outbox GROUP BY status")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (status, n) = row?;
        match NoticeStatus::parse(&status) {
            Some(NoticeStatus::Queued) => c.queued = n,
            Some(NoticeStatus::Sending) => c.sending = n,
            Some(NoticeStatus::Sent) => c.sent = n,
            Some(NoticeStatus::Failed) => c.failed = n,
            None => {}
        }
    }
    Ok(c)
}

/// The latest delivery error of a notice still waiting or failed.
pub fn last_error(conn: &Db) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT last_error FROM outbox WHERE last_error IS NOT NULL AND status IN (?1, ?2)
             ORDER BY id DESC LIMIT 1",
            params![NoticeStatus::Queued.code(), NoticeStatus::Failed.code()],
            |r| r.get(0),
        )
        .optional()?)
}

/// The notices of a task (its assignee notice): id, status, subject line.
pub fn of_task(conn: &Db, task: &str) -> Result<Vec<(i64, String, String)>> {
    let mut stmt =
        conn.prepare("SELECT id, status, subject FROM outbox WHERE task_id = ?1 ORDER BY id")?;
    let rows = stmt.query_map(params![task], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<super::DbResult<Vec<_>>>()?)
}
