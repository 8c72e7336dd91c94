//! Delivering the outbox, retried with exponential backoff, each notice
//! marked sent exactly once.
//!
//! A notice moves `queued → sending → sent`, or back to `queued` with a later
//! `next_attempt_at` after a transient failure, or to `failed` after
//! `max_attempts` (or a permanent refusal) with the server's last answer.
//! Taking a notice (`queued → sending`) is one conditional UPDATE, so two
//! deliverers (the daemon and a `duban run`) never send the same notice.
//! A claim expires: a notice left `sending` by a process that died is
//! queued again and re-sent with the same Message-ID.
//!
//! What is guaranteed: every queued notice is delivered at least once
//! unless it ends `failed`; the file transport never writes a notice twice;
//! over SMTP a second copy can only arise if duban dies after the server
//! accepted the message and before the one UPDATE that records it — and
//! that copy carries the same Message-ID, by which mail clients drop it.

use super::message::{Outgoing, RecipientRow, build};
use super::transport::Transport;
use crate::clock::Clock;
use crate::config::Delivery;
use crate::engine::utc_text;
use crate::error::Result;
use chrono::Duration;
use rusqlite::{Connection, OptionalExtension, params};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    pub sent: u64,
    /// Failed this time, queued for a later attempt.
    pub deferred: u64,
    pub failed: u64,
    pub last_error: Option<String>,
}

/// How deliveries are attempted.
pub struct Settings<'a> {
    pub from: &'a str,
    pub delivery: Delivery,
    /// How long a claim holds before another deliverer may take the notice
    /// (longer than any send can take).
    pub claim_for: Duration,
    /// Checked between notices: when set, delivery stops after the notice
    /// in flight is marked.
    pub stop: Option<&'a std::sync::atomic::AtomicBool>,
}

impl<'a> Settings<'a> {
    pub fn from_config(cfg: &'a crate::config::Config) -> Self {
        let timeout = cfg.mail.smtp.as_ref().map(|s| s.timeout_s).unwrap_or(30);
        Settings {
            from: &cfg.mail.from,
            delivery: cfg.delivery,
            claim_for: Duration::seconds((3 * timeout + 60) as i64),
            stop: None,
        }
    }
}

/// Sends every notice that is due, until none is left or the server is
/// unreachable (then the rest wait for the next round).
pub fn deliver_due(
    conn: &Connection,
    transport: &mut dyn Transport,
    s: &Settings<'_>,
    clock: &dyn Clock,
) -> Result<Stats> {
    let mut stats = Stats::default();
    let now = clock.now();
    conn.execute(
        "UPDATE outbox SET status = 'queued' WHERE status = 'sending' AND next_attempt_at <= ?1",
        params![utc_text(now)],
    )?;
    loop {
        if s.stop
            .is_some_and(|x| x.load(std::sync::atomic::Ordering::SeqCst))
        {
            break;
        }
        let now = clock.now();
        let next: Option<i64> = conn
            .query_row(
                "SELECT id FROM outbox WHERE status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)
                 ORDER BY id LIMIT 1",
                params![utc_text(now)],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = next else { break };
        let claimed = conn.execute(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = ?2
             WHERE id = ?1 AND status = 'queued'",
            params![id, utc_text(now + s.claim_for)],
        )?;
        if claimed == 0 {
            continue;
        }
        let (notice, attempts) = load(conn, id)?;
        let outcome = match build(&notice, s.from, now.into()) {
            Ok(msg) => transport
                .send(&notice.message_id, &msg)
                .map_err(|e| (e.permanent, e.message)),
            Err(e) => Err((true, e.0)),
        };
        match outcome {
            Ok(()) => {
                conn.execute(
                    "UPDATE outbox SET status = 'sent', sent_at = ?2, last_error = NULL, next_attempt_at = NULL WHERE id = ?1",
                    params![id, utc_text(clock.now())],
                )?;
                stats.sent += 1;
            }
            Err((permanent, message)) => {
                let give_up = permanent || attempts >= i64::from(s.delivery.max_attempts);
                if give_up {
                    conn.execute(
                        "UPDATE outbox SET status = 'failed', last_error = ?2, next_attempt_at = NULL WHERE id = ?1",
                        params![id, message],
                    )?;
                    stats.failed += 1;
                } else {
                    let wait = backoff(s.delivery.backoff_s, attempts);
                    conn.execute(
                        "UPDATE outbox SET status = 'queued', last_error = ?2, next_attempt_at = ?3 WHERE id = ?1",
                        params![id, message, utc_text(clock.now() + wait)],
                    )?;
                    stats.deferred += 1;
                }
                stats.last_error = Some(message);
                if !permanent {
                    // The server is down or slow: the others wait for the
                    // next round rather than each spending a timeout.
                    break;
                }
            }
        }
    }
    Ok(stats)
}

/// `backoff_s`, doubled for each attempt after the first, at most a day.
pub fn backoff(backoff_s: u64, attempts: i64) -> Duration {
    let factor = 1u64 << attempts.clamp(1, 20).saturating_sub(1);
    Duration::seconds(backoff_s.saturating_mul(factor).min(86_400) as i64)
}

fn load(conn: &Connection, id: i64) -> Result<(Outgoing, i64)> {
    let row = conn.query_row(
        "SELECT message_id, recipients, subject, body, ics, attempts FROM outbox WHERE id = ?1",
        params![id],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, i64>(5)?,
            ))
        },
    )?;
    let recipients: Vec<RecipientRow> = serde_json::from_str(&row.1).unwrap_or_default();
    Ok((
        Outgoing {
            id,
            message_id: row.0,
            recipients,
            subject: row.2,
            body: row.3,
            ics: row.4,
        },
        row.5,
    ))
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
pub fn retry(conn: &Connection, which: RetryWhich) -> Result<usize> {
    let n = match which {
        RetryWhich::Queued => conn.execute(
            "UPDATE outbox SET next_attempt_at = NULL WHERE status = 'queued'",
            [],
        )?,
        RetryWhich::Failed => conn.execute(
            "UPDATE outbox SET status = 'queued', attempts = 0, next_attempt_at = NULL WHERE status = 'failed'",
            [],
        )?,
        RetryWhich::One(id) => conn.execute(
            "UPDATE outbox SET status = 'queued', next_attempt_at = NULL,
                    attempts = CASE WHEN status = 'failed' THEN 0 ELSE attempts END
             WHERE id = ?1 AND status IN ('queued', 'failed')",
            params![id],
        )?,
    };
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_day() {
        assert_eq!(backoff(60, 1), Duration::seconds(60));
        assert_eq!(backoff(60, 3), Duration::seconds(240));
        assert_eq!(backoff(60, 30), Duration::seconds(86_400));
    }
}
