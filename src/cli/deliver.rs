//! Delivering the outbox from the command line (after `run`, on `notices
//! retry`, in `demo`).

use crate::clock::Clock;
use crate::config::Config;
use crate::deliver::outbox::deliver_configured;
use crate::error::{Error, Result};
use crate::store::Db;
use std::process::ExitCode;

/// Delivers and says how it went — on stderr when stdout carries JSON
/// (`run --format json`); exit 3 when the mail server failed.
pub(crate) fn deliver_and_report(
    cfg: &Config,
    conn: &Db,
    clock: &dyn Clock,
    format: super::Format,
) -> Result<ExitCode> {
    let s = deliver_configured(cfg, conn, clock)?;
    let queued = crate::store::outbox::counts(conn)?.queued;
    let place = match cfg.mail.transport {
        crate::config::Transport::File => format!(" to {}", cfg.mail.outbox_dir.display()),
        crate::config::Transport::Smtp => String::new(),
    };
    let said = format!(
        "delivered {}{place}; {queued} waiting, {} failed now",
        super::counted(s.sent, "notice"),
        s.failed
    );
    match format {
        super::Format::Table => println!("{said}"),
        super::Format::Json => eprintln!("{said}"),
    }
    match s.last_error {
        // After max_attempts (or refused for good): an operational failure.
        Some(e) if s.failed > 0 => Err(Error::Delivery(format!(
            "{} failed for good ({e}); `duban notices list --status failed` shows them, `duban notices retry --failed` tries again",
            super::counted(s.failed, "notice")
        ))),
        // The server is down or busy: the notices wait and are retried.
        Some(e) => {
            eprintln!(
                "warning: the mail server did not take every notice ({e}); {queued} stay queued and are retried with backoff (`duban notices list`)"
            );
            Ok(ExitCode::SUCCESS)
        }
        None => Ok(ExitCode::SUCCESS),
    }
}
