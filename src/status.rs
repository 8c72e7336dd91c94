//! The office at a glance (`duban status`, the workbench's status page):
//! the last runs, tasks, approvals, notices and the calendar, as lines.

use crate::clock::{AsOf, Clock};
use crate::config::Config;
use crate::error::Result;
use crate::store::{outbox, runs, tasks};
use crate::text::pad;

/// What `duban status` prints (also the workbench's status page).
pub fn write(
    lines: &mut Vec<String>,
    cfg: &Config,
    conn: &crate::store::Db,
    tz: chrono_tz::Tz,
    clock: &dyn Clock,
    recent: u64,
) -> Result<()> {
    let today = AsOf::new(clock.now(), tz).today;
    lines.push(format!("database {}", cfg.database.display()));
    lines.push(format!("today {today} ({tz}, the policy's time zone)"));
    lines.push("\nlast runs:".to_string());
    let runs = runs::recent(conn, recent)?;
    for r in &runs {
        lines.push(format!(
            "  #{:<4} {:<9} as of {} · {} rule{} · {} fired · {} tasks · {} notices · {} skipped · {}",
            r.id,
            r.kind,
            r.as_of,
            r.rules,
            if r.rules == 1 { "" } else { "s" },
            r.fired,
            r.tasks,
            r.notices,
            r.skipped,
            match &r.finished_at {
                Some(f) => format!("finished {f}"),
                None => "interrupted or running".to_string(),
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
    lines.push(format!(
        "\nnotices: {} queued · {} sending · {} sent · {} failed",
        n.queued, n.sending, n.sent, n.failed
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
