//! Deciding an approval request (SPEC §9): the one operation behind
//! `duban approvals approve|reject` and the workbench's 待审批, and the
//! reminder of a request left pending past its `within`.
//!
//! A decision is one transaction: the request's status (changed only from
//! `pending`, so it is decided once however many try), its tasks, its held
//! notices and its episode. Approve: the tasks open, due counted from the
//! approval day; the held notices go to the outbox with that date; `repeat
//! every` counts from that day. Reject: the tasks are cancelled with the
//! reason, the held notices dropped, the episode kept — no firing again
//! within it.

use crate::calendar::Calendar;
use crate::clock::{AsOf, utc_text};
use crate::deliver::notice::{held_notice, one_line, task_ics};
use crate::error::{Error, Result};
use crate::lang::ir::Days;
use crate::store::approvals::{self, Approval, Decision};
use crate::store::{Behavior, Db};
use crate::store::{cases, episodes, outbox, tasks};

/// What the office's configuration gives a decision: working days for due
/// dates, the mail domain for calendar entries, the workbench's address
/// for links.
pub struct Office<'a> {
    pub calendar: &'a Calendar,
    pub domain: &'a str,
    pub workbench: Option<&'a str>,
    /// The language of the notices a decision releases or a reminder sends.
    pub lang: crate::present::Lang,
}

/// Approve (with an optional note) or reject (with its reason).
#[derive(Debug, Clone)]
pub enum Verdict {
    Approve { note: Option<String> },
    Reject { reason: String },
}

/// Who decides, and through what.
pub struct Decider<'a> {
    pub person: &'a str,
    /// `command line`, `workbench`.
    pub via: &'a str,
}

/// What a decision changed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Decided {
    pub tasks: usize,
    pub notices: usize,
}

/// Decides request `id` at `at`, in one transaction; an error (nothing
/// changed) when it is decided already, when the decider is a target of
/// one of its tasks, or when a rejection gives no reason.
pub fn decide(
    conn: &mut Db,
    office: &Office<'_>,
    id: &str,
    verdict: &Verdict,
    who: &Decider<'_>,
    at: &AsOf,
) -> Result<Decided> {
    let tx = conn.transaction_with_behavior(Behavior::Immediate)?;
    let request = approvals::get(&tx, id)?;
    if !request.is_pending() {
        return Err(Error::invalid(format!(
            "{id} was {} already ({} by {}{}); nothing changed",
            request.status,
            request.decided_on.as_deref().unwrap_or("?"),
            request.decided_by.as_deref().unwrap_or("?"),
            request
                .via
                .as_deref()
                .map(|v| format!(", {v}"))
                .unwrap_or_default()
        )));
    }
    let pending = tasks::of_approval(&tx, id)?;
    if let Some(t) = pending
        .iter()
        .find(|t| t.target.as_deref() == Some(who.person))
    {
        return Err(Error::invalid(format!(
            "{} is the target of task {} ({}) of {id}: a person cannot decide a request about themselves; \
             the approver or another leader decides it (`--as PERSON_ID`)",
            who.person, t.id, t.kind
        )));
    }
    let (approve, note) = match verdict {
        Verdict::Approve { note } => (true, note.as_deref().filter(|n| !n.trim().is_empty())),
        Verdict::Reject { reason } if reason.trim().is_empty() => {
            return Err(Error::invalid(
                "--reason is empty: say why the request is rejected (it is recorded, and the tasks are cancelled with it)",
            ));
        }
        Verdict::Reject { reason } => (false, Some(reason.as_str())),
    };
    let name = cases::person(&tx, who.person)?
        .map(|(n, _)| n)
        .unwrap_or_default();
    let decided_at = at.rfc3339();
    let decision = Decision {
        approve,
        by: who.person,
        at: &decided_at,
        on: at.today,
        via: who.via,
        note,
    };
    if !approvals::decide(&tx, id, &decision)? {
        return Err(Error::invalid(format!(
            "{id} was decided meanwhile; `duban approvals show {id}` shows by whom"
        )));
    }
    let mut out = Decided::default();
    if approve {
        out = release(&tx, office, &request, &pending, at)?;
        episodes::approved_on(&tx, request.episode_id, at.today)?;
    } else {
        let by = format!("{} {name} ({})", who.person, who.via);
        out.tasks = tasks::cancel_pending(&tx, id, note.unwrap_or(""), &by, &decided_at)?;
        approvals::drop_held(&tx, id)?;
    }
    tx.commit()?;
    Ok(out)
}

/// [`decide`] with what the office's configuration gives: its calendar,
/// its mail domain and its workbench's address. The command line and the
/// workbench decide through this.
pub fn decide_configured(
    cfg: &crate::config::Config,
    conn: &mut Db,
    id: &str,
    verdict: &Verdict,
    who: &Decider<'_>,
    at: &AsOf,
) -> Result<Decided> {
    let calendar = cfg.load_calendar()?;
    let domain = cfg.mail_domain();
    let office = Office {
        calendar: &calendar,
        domain: &domain,
        workbench: cfg.web.as_ref().and_then(|w| w.base_url()),
        lang: cfg.language,
    };
    decide(conn, &office, id, verdict, who, at)
}

/// Opens the request's tasks with due dates counted from today and queues
/// its held notices, each task notice with its date and calendar entry.
fn release(
    conn: &Db,
    office: &Office<'_>,
    r: &Approval,
    pending: &[tasks::Task],
    at: &AsOf,
) -> Result<Decided> {
    let mut out = Decided::default();
    let mut due_of = std::collections::HashMap::new();
    for t in pending {
        let days = tasks::due_in(conn, &t.id)?
            .as_deref()
            .and_then(Days::parse)
            .unwrap_or(Days {
                count: 7,
                working: false,
            });
        let due = super::plan::due_date(days, at.today, office.calendar)
            .map_err(|e| Error::invalid(format!("the due date of task {}: {e}", t.id)))?;
        if tasks::open_pending(conn, &t.id, due)? {
            out.tasks += 1;
        }
        due_of.insert(t.id.as_str(), due);
    }
    let queued_at = at.rfc3339();
    for h in approvals::held(conn, &r.id)? {
        let due = h.task_id.as_deref().and_then(|t| due_of.get(t)).copied();
        let shown = held_notice(&h.subject, &h.body, h.task_id.is_some(), due);
        let (subject, body) = (shown.subject, shown.body);
        let ics = match (&h.task_id, due) {
            (Some(t), Some(d)) => Some(task_ics(
                t,
                d,
                &subject,
                &body,
                at.utc(),
                office.domain,
                office.lang,
            )),
            _ => None,
        };
        outbox::queue(
            conn,
            &outbox::NewNotice {
                message_id: &h.message_id,
                rule: &h.rule,
                entity: &h.subject_type,
                subject_id: &h.subject_id,
                task_id: h.task_id.as_deref(),
                recipients: &h.recipients,
                subject: &subject,
                body: &body,
                ics: ics.as_deref(),
                created_at: &queued_at,
                channel: h.channel.as_deref(),
                facts: h.facts.as_deref(),
            },
        )?;
        out.notices += 1;
    }
    approvals::drop_held(conn, &r.id)?;
    Ok(out)
}

/// Reminds, once, the approver of every request pending past its
/// `within`; how many reminders were queued. One transaction.
pub fn remind_overdue(conn: &mut Db, office: &Office<'_>, at: &AsOf) -> Result<usize> {
    let tx = conn.transaction_with_behavior(Behavior::Immediate)?;
    let now = utc_text(at.utc());
    let mut n = 0;
    for r in approvals::to_remind(&tx, at.today)? {
        if !approvals::reminded(&tx, &r.id, &now)? {
            continue;
        }
        let Some((name, Some(email))) = cases::person(&tx, &r.approver)? else {
            continue;
        };
        if email.trim().is_empty() {
            continue;
        }
        use crate::present::{Lang, names, values};
        let lang = office.lang;
        let link = match (office.workbench, lang) {
            (Some(base), Lang::Zh) => format!("请在督办工作台审批：\n{base}/approvals/{}", r.id),
            (Some(base), Lang::En) => {
                format!("Decide it on the workbench:\n{base}/approvals/{}", r.id)
            }
            (None, Lang::Zh) => format!("请登录督办工作台，在“待审批”中处理审批请求 {}。", r.id),
            (None, Lang::En) => format!(
                "Sign in to the workbench and decide request {} under Approvals.",
                r.id
            ),
        };
        let about = super::apply::subject_words(&tx, &r.subject_type, &r.subject_id, lang)?;
        let by = r
            .decide_by
            .as_deref()
            .map(|d| values::date_text_long(d, lang))
            .unwrap_or_default();
        let (greeting, title, created) = (
            names::greeting(Some(&name), false, lang),
            &r.title,
            values::date_text_long(&r.created_on, lang),
        );
        let (body, subject) = match lang {
            Lang::Zh => (
                format!(
                    "{greeting}\n\n督办规则“{title}”对{about}的审批请求于 {created} 提出，\
                     应于 {by} 前作出决定，至今未审批。请尽快审批。\n\n{link}\n\n—— 巡察整改督办\n"
                ),
                format!("【督办·审批提醒】逾期未审批：{title}"),
            ),
            Lang::En => (
                format!(
                    "{greeting}\n\nThe request of the rule “{title}” about {about}, made on {created}, \
                     was to be decided by {by} and still waits. Please decide it.\n\n{link}\n\n— Inspection follow-up office\n"
                ),
                format!("[Follow-up · reminder] A request waits for your decision: {title}"),
            ),
        };
        let subject = one_line(&subject);
        let recipients = serde_json::json!([{"id": r.approver, "name": name, "email": email}]);
        let message_id = format!("<{}.reminder.duban@{}>", r.id, office.domain);
        outbox::queue(
            &tx,
            &outbox::NewNotice {
                message_id: &message_id,
                rule: &r.rule,
                entity: &r.subject_type,
                subject_id: &r.subject_id,
                task_id: None,
                recipients: &recipients.to_string(),
                subject: &subject,
                body: &body,
                ics: None,
                created_at: &at.rfc3339(),
                channel: None,
                facts: None,
            },
        )?;
        n += 1;
    }
    tx.commit()?;
    Ok(n)
}
