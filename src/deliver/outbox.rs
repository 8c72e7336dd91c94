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
use crate::clock::{Clock, utc_text};
use crate::config::Delivery;
use crate::error::Result;
use crate::store::outbox;
use chrono::Duration;
use rusqlite::Connection;

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
    outbox::release_expired_claims(conn, &utc_text(clock.now()))?;
    loop {
        if s.stop
            .is_some_and(|x| x.load(std::sync::atomic::Ordering::SeqCst))
        {
            break;
        }
        let now = clock.now();
        let Some(id) = outbox::next_due(conn, &utc_text(now))? else {
            break;
        };
        if !outbox::claim(conn, id, &utc_text(now + s.claim_for))? {
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
                outbox::mark_sent(conn, id, &utc_text(clock.now()))?;
                stats.sent += 1;
            }
            Err((permanent, message)) => {
                let give_up = permanent || attempts >= i64::from(s.delivery.max_attempts);
                if give_up {
                    outbox::mark_failed(conn, id, &message)?;
                    stats.failed += 1;
                } else {
                    let wait = backoff(s.delivery.backoff_s, attempts);
                    outbox::defer(conn, id, &message, &utc_text(clock.now() + wait))?;
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
    let n = outbox::load(conn, id)?;
    let recipients: Vec<RecipientRow> = serde_json::from_str(&n.recipients).unwrap_or_default();
    Ok((
        Outgoing {
            id: n.id,
            message_id: n.message_id,
            recipients,
            subject: n.subject,
            body: n.body,
            ics: n.ics,
        },
        n.attempts,
    ))
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
