//! Delivering the outbox, retried with exponential backoff, each notice
//! marked sent exactly once.
//!
//! A notice moves `queued → sending → sent`, or back to `queued` with a later
//! `next_attempt_at` after a transient failure, or to `failed` after
//! `max_attempts` (or a permanent refusal) with the server's last answer.
//! Taking a notice (`queued → sending`) is one conditional UPDATE, so two
//! deliverers (the daemon and a `duban run`) never send the same notice.
//! A claim records its process ([`crate::owner`]) and expires: a notice
//! left `sending` by a process that is gone is queued again at once by the
//! next deliverer (after the claim's time where the process cannot be
//! told), and re-sent with the same Message-ID.
//!
//! What is guaranteed: every queued notice is delivered at least once
//! unless it ends `failed`; the file transport never writes a notice twice;
//! over SMTP a second copy can only arise if duban dies after the server
//! accepted the message and before the one UPDATE that records it — and
//! that copy carries the same Message-ID, by which mail clients drop it.

use super::chat::{self, Answer, Poster};
use super::message::{Outgoing, RecipientRow, build};
use super::transport::Transport;
use crate::clock::{Clock, utc_text};
use crate::config::{Channel, ChannelKind, Delivery};
use crate::error::Result;
use crate::store::Db;
use crate::store::{channels, outbox};
use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    pub sent: u64,
    /// Failed this time, queued for a later attempt.
    pub deferred: u64,
    pub failed: u64,
    /// Channel messages held back by their channel's rate limit.
    pub waiting: u64,
    pub last_error: Option<String>,
}

/// How deliveries are attempted.
pub struct Settings<'a> {
    pub from: &'a str,
    pub delivery: Delivery,
    /// The chat channels of duban.toml.
    pub channels: &'a [Channel],
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
            channels: &cfg.channels,
            claim_for: Duration::seconds((3 * timeout + 60) as i64),
            stop: None,
        }
    }
}

/// Sends what is due through the transport and settings of `duban.toml`.
pub fn deliver_configured(
    cfg: &crate::config::Config,
    conn: &Db,
    clock: &dyn Clock,
) -> Result<Stats> {
    let mut t = super::transport::from_config(cfg)?;
    deliver_due(conn, t.as_mut(), &Settings::from_config(cfg), clock)
}

/// Sends every notice that is due, until none is left or the server is
/// unreachable (then the rest wait for the next round).
pub fn deliver_due(
    conn: &Db,
    transport: &mut dyn Transport,
    s: &Settings<'_>,
    clock: &dyn Clock,
) -> Result<Stats> {
    let mut stats = Stats::default();
    let mut poster = Poster::default();
    let mut down: std::collections::HashSet<String> = std::collections::HashSet::new();
    outbox::release_expired_claims(conn, &utc_text(clock.now()), &crate::owner::alive)?;
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
        if !outbox::claim(
            conn,
            id,
            &utc_text(now + s.claim_for),
            crate::owner::current(),
        )? {
            continue;
        }
        let stored = outbox::load(conn, id)?;
        let attempts = stored.attempts;
        let channel = stored.channel.clone();
        let outcome = match &stored.channel {
            Some(name) if down.contains(name) => Sent::Wait(now + backoff(s.delivery.backoff_s, 1)),
            Some(name) => post(conn, &mut poster, s.channels, name, &stored, clock)?,
            None => {
                let notice = outgoing(stored);
                match build(&notice, s.from, now.into()) {
                    Ok(msg) => transport
                        .send(&notice.message_id, &msg)
                        .map_err(|e| (e.permanent, e.message))
                        .into(),
                    Err(e) => Sent::Failed(true, e.0),
                }
            }
        };
        match outcome {
            Sent::Done => {
                outbox::mark_sent(conn, id, &utc_text(clock.now()))?;
                stats.sent += 1;
            }
            Sent::Wait(until) => {
                outbox::wait(conn, id, &utc_text(until))?;
                stats.waiting += 1;
            }
            Sent::Failed(permanent, message) => {
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
                match channel {
                    // The robot is down or slow: its other messages wait
                    // for the next round; email and other channels go on.
                    Some(c) if !permanent => {
                        down.insert(c);
                    }
                    Some(_) => {}
                    // The mail server is down or slow: the others wait for
                    // the next round rather than each spending a timeout.
                    None if !permanent => break,
                    None => {}
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

/// How one attempt at a notice ended.
enum Sent {
    Done,
    /// Not sent, not failed: its channel's rate limit is reached.
    Wait(DateTime<Utc>),
    /// `(permanent, why)`.
    Failed(bool, String),
}

impl From<std::result::Result<(), (bool, String)>> for Sent {
    fn from(r: std::result::Result<(), (bool, String)>) -> Sent {
        match r {
            Ok(()) => Sent::Done,
            Err((permanent, why)) => Sent::Failed(permanent, why),
        }
    }
}

fn outgoing(n: outbox::Stored) -> Outgoing {
    let recipients: Vec<RecipientRow> = serde_json::from_str(&n.recipients).unwrap_or_default();
    Outgoing {
        id: n.id,
        message_id: n.message_id,
        recipients,
        subject: n.subject,
        body: n.body,
        ics: n.ics,
    }
}

/// Posts a channel message's parts not yet posted, each within its
/// channel's rate limit; every accepted part is recorded at once, so a
/// retry never posts one twice.
fn post(
    conn: &Db,
    poster: &mut Poster,
    configured: &[Channel],
    name: &str,
    n: &outbox::Stored,
    clock: &dyn Clock,
) -> Result<Sent> {
    let Some(channel) = configured.iter().find(|c| c.name == name) else {
        return Ok(Sent::Failed(
            true,
            format!(
                "channel {name} is not in duban.toml (any more); add it back, then `duban notices retry {}`",
                n.id
            ),
        ));
    };
    let secret = match channel.secret() {
        Ok(s) => s,
        Err(e) => return Ok(Sent::Failed(false, e.to_string())),
    };
    let address = match channel.url() {
        Ok(u) => u,
        Err(e) => return Ok(Sent::Failed(false, e.to_string())),
    };
    let requests = chat::requests(channel, n);
    for (i, body) in requests.iter().enumerate().skip(n.parts_sent) {
        let now = clock.now();
        if let Some(until) = channels::take(conn, name, channel.rate_per_minute, now)? {
            return Ok(Sent::Wait(until));
        }
        let url = match (&secret, channel.kind) {
            (Some(secret), ChannelKind::Dingtalk) => {
                chat::signed_url(&address, secret, now.timestamp_millis())
            }
            _ => address.clone(),
        };
        let (status, text) = match poster.post(channel, &url, body, &n.message_id) {
            Ok(a) => a,
            Err(e) => return Ok(Sent::Failed(false, e)),
        };
        match chat::answer(channel.kind, status, &text) {
            Answer::Accepted => outbox::parts_sent(conn, n.id, i + 1)?,
            Answer::TooFast(why) => {
                tracing::info!("channel {name} asks to slow down: {why}");
                channels::fill(conn, name, channel.rate_per_minute, now)?;
                return Ok(Sent::Wait(now + Duration::seconds(61)));
            }
            Answer::Refused(why) => {
                return Ok(Sent::Failed(false, format!("channel {name}: {why}")));
            }
        }
    }
    Ok(Sent::Done)
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
