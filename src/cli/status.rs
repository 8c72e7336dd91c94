//! `duban status`: last runs, open and overdue tasks, queued and failed
//! notices.

use crate::clock::{AsOf, Clock};
use crate::config::Config;
use crate::error::Result;
use crate::store::{outbox, runs, tasks};
use crate::text::pad;
use std::path::PathBuf;
use std::process::ExitCode;

/// What the office's duban has done and has waiting.
#[derive(clap::Args)]
pub struct Args {
    /// How many recent runs to show.
    #[arg(long, default_value_t = 5)]
    runs: u64,
}

pub fn run(config: &Option<PathBuf>, args: Args) -> Result<ExitCode> {
    let cfg = Config::load(config.as_deref())?;
    let conn = crate::store::open(&cfg.database)?;
    let mut lines = Vec::new();
    write(&mut lines, &cfg, &conn, &super::clock(), args.runs)?;
    for l in lines {
        println!("{l}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Warns when others on this machine may read the database or the outbox.
fn exposure_warnings(lines: &mut Vec<String>, cfg: &Config) {
    if let Some(db) = cfg.database.path()
        && crate::private::readable_by_others(db)
    {
        lines.push(format!(
            "  warning: other users of this machine can read the database {} (names, problems); `chmod 600 {}`",
            db.display(),
            db.display()
        ));
    }
    let outbox = &cfg.mail.outbox_dir;
    if crate::private::exposed(outbox) {
        lines.push(format!(
            "  warning: other users of this machine can read the notices and sign-in links in the outbox {}; `chmod -R go= {}`",
            outbox.display(),
            outbox.display()
        ));
    }
}

/// What `duban status` prints (also the workbench's status page).
pub(crate) fn write(
    lines: &mut Vec<String>,
    cfg: &Config,
    conn: &crate::store::Db,
    clock: &dyn Clock,
    recent: u64,
) -> Result<()> {
    let tz = super::evaluate::office_timezone(cfg);
    let today = AsOf::new(clock.now(), tz).today;
    lines.push(format!("database {}", cfg.database.display()));
    exposure_warnings(lines, cfg);
    lines.push(format!("today {today} ({tz}, the policy's time zone)"));
    lines.push(
        match crate::store::leases::current(conn, crate::daemon::lead::LEASE)? {
            Some(l) if !l.expired && !crate::owner::gone(&l.owner, &l.host, &l.boot) => format!(
                "service: {} leads (since {}); other services stand by",
                crate::daemon::lead::describe(&l),
                in_zone(&l.taken_at, tz)
            ),
            Some(l) => format!(
                "service: none leads ({} led until {}; a service standing by takes over)",
                crate::daemon::lead::describe(&l),
                in_zone(&l.renewed_at, tz)
            ),
            None => "service: none running (`duban serve`)".to_string(),
        },
    );
    lines.push("\nlast runs:".to_string());
    let runs = runs::recent(conn, recent)?;
    for r in &runs {
        lines.push(format!(
            "  #{:<4} {:<9} as of {} · {} · {} fired · {} · {} · {} skipped · {}",
            r.id,
            r.kind,
            in_zone(&r.as_of, tz),
            super::counted(r.rules.max(0) as u64, "rule"),
            r.fired,
            super::counted(r.tasks.max(0) as u64, "task"),
            super::counted(r.notices.max(0) as u64, "notice"),
            r.skipped,
            match (&r.finished_at, &r.owner) {
                (Some(f), _) => format!("finished {}", in_zone(f, tz)),
                (None, Some(owner)) if crate::owner::alive(owner) => "running".to_string(),
                (None, Some(_)) => "interrupted (its process is gone)".to_string(),
                (None, None) => "interrupted or running".to_string(),
            },
        ));
    }
    if runs.is_empty() {
        lines.push("  none yet: `duban run` evaluates the policy".to_string());
    }
    let t = tasks::counts(conn, today)?;
    lines.push(format!(
        "\ntasks: {} open ({} overdue) · {} pending approval · {} done · {} cancelled",
        t.open, t.overdue, t.pending, t.done, t.cancelled
    ));
    for (kind, open, overdue) in tasks::open_by_kind(conn, today)? {
        let label = crate::schema::standard_task_kind(&kind)
            .map(|(_, l)| l)
            .unwrap_or("");
        lines.push(format!(
            "  {} {open:>6} open  {overdue:>6} overdue",
            pad(&format!("{kind} {label}"), 32)
        ));
    }
    let (pending, overdue) = crate::store::approvals::counts(conn, today)?;
    if pending > 0 {
        lines.push(format!(
            "\napprovals: {pending} pending ({overdue} overdue) · `duban approvals list --pending`"
        ));
    }
    let n = outbox::counts(conn)?;
    // A run counts the notices it created; those of a rule with `approval
    // by` wait with their request until it is decided, outside the outbox.
    let held = crate::store::approvals::held_count(conn)?;
    lines.push(format!(
        "\nnotices: {} queued · {} sending · {} sent · {} failed{}",
        n.queued,
        n.sending,
        n.sent,
        n.failed,
        if held > 0 {
            format!(" · {held} held until approved")
        } else {
            String::new()
        }
    ));
    if let Some(e) = outbox::last_error(conn)? {
        lines.push(format!("  last error: {e}"));
    }
    let calendar = cfg.load_calendar()?;
    let years: Vec<String> = calendar.years().map(|(y, _)| y.to_string()).collect();
    lines.push(format!(
        "\ncalendar: working days of {} ({})",
        if years.is_empty() {
            "no year".to_string()
        } else {
            years.join(", ")
        },
        cfg.calendar.display()
    ));
    if let Some(w) = crate::calendar::next_year_warning(&calendar, today) {
        lines.push(format!("  warning: {w}"));
    }
    if n.failed > 0 {
        lines.push(
            "  `duban notices list --status failed` shows them; `duban notices retry --failed` tries again"
                .to_string(),
        );
    }
    Ok(())
}

/// A stored time (RFC 3339, any offset) in the office's zone; as stored
/// when it does not read as one.
fn in_zone(t: &str, tz: chrono_tz::Tz) -> String {
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|t| {
            t.with_timezone(&tz)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
        })
        .unwrap_or_else(|_| t.to_string())
}
