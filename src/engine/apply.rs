//! Recording a firing: the episode, the tasks, the notices queued in the
//! outbox (rendered now, delivered later), and the audit record — all on
//! the caller's transaction, so they commit together or not at all.

use super::Engine;
use super::plan::{Episode, Plan, Planned};
use crate::clock::AsOf;
use crate::deliver::notice::{NoticeContext, Rendered, RequestInfo, TaskInfo, task_ics};
use crate::error::Result;
use crate::present::Lang;
use crate::store::Db;
use crate::store::episodes::{self, Episodes};
use crate::store::{approvals, audit, cases, outbox, tasks};
use serde_json::json;
use sha2::{Digest, Sha256};

pub struct Writer<'c, 'e> {
    conn: &'c Db,
    engine: &'e Engine<'e>,
    as_of: AsOf,
    run_id: i64,
    next_seq: i64,
    /// Task numbers up to this one are known: free, or in `taken`.
    checked_to: i64,
    /// Ids of duban's form that imported tasks already have, among those
    /// checked.
    taken: std::collections::HashSet<String>,
    /// Whether the rule has firings recorded for this evaluation time
    /// already (an evaluation repeated for one time): only then is each
    /// firing's number at that time counted.
    repeated: bool,
}

impl<'c, 'e> Writer<'c, 'e> {
    /// A writer of `rule`'s firings.
    pub fn new(
        conn: &'c Db,
        engine: &'e Engine<'e>,
        rule: &str,
        as_of: &AsOf,
        run_id: i64,
    ) -> Result<Self> {
        let next_seq = tasks::next_seq(conn)?;
        Ok(Writer {
            conn,
            engine,
            as_of: *as_of,
            run_id,
            next_seq,
            checked_to: next_seq - 1,
            taken: Default::default(),
            repeated: audit::any_firing_at(conn, rule, &as_of.rfc3339())?,
        })
    }

    /// The next `T000123` id no task has: imported ledgers may use such ids
    /// too. Which are taken is read a range of numbers at a time.
    fn free_task_id(&mut self) -> Result<String> {
        /// Task numbers read at once.
        const RANGE: i64 = 1024;
        loop {
            if self.next_seq > self.checked_to {
                (self.checked_to, self.taken) = tasks::taken_ids(self.conn, self.next_seq, RANGE)?;
            }
            let id = tasks::task_id(self.next_seq);
            if !self.taken.contains(&id) {
                return Ok(id);
            }
            self.next_seq += 1;
        }
    }

    /// A stable Message-ID for the `k`-th notice of a firing: the same
    /// firing always gets the same one, whatever retries happen, on either
    /// database. A firing is named by its rule, subject, evaluation time
    /// and which firing at that time it is (`nth`, from 0) — nothing a
    /// database numbers, as PostgreSQL's sequences, which do not give back
    /// the ids of a transaction rolled back.
    fn message_id(&self, p: &Plan<'_>, nth: i64, k: usize, what: &str) -> String {
        let mut h = Sha256::new();
        for part in [
            p.rule.name.as_str(),
            p.subject,
            &self.as_of.rfc3339(),
            &nth.to_string(),
            &k.to_string(),
            what,
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        let hex: String = h
            .finalize()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("<{hex}.duban@{}>", self.engine.domain)
    }

    /// Queues a notice; or, while the firing awaits approval, holds it
    /// for request `held_for`.
    fn queue(&self, p: &Plan<'_>, n: Queued<'_>, held_for: Option<&str>) -> Result<()> {
        let recipients = n.recipients.to_string();
        let created_at = self.as_of.rfc3339();
        let notice = outbox::NewNotice {
            message_id: n.message_id,
            rule: &p.rule.name,
            entity: p.rule.entity.name(),
            subject_id: p.subject,
            task_id: n.task_id,
            recipients: &recipients,
            subject: &n.notice.subject,
            body: &n.notice.body,
            ics: n.ics,
            created_at: &created_at,
            channel: n.channel,
            facts: n.facts,
        };
        match held_for {
            Some(request) => approvals::hold(self.conn, request, &notice),
            None => outbox::queue(self.conn, &notice),
        }
    }

    /// Records one firing.
    pub fn apply(&mut self, p: &Plan<'_>) -> Result<()> {
        let nth = match self.repeated {
            true => audit::firings_at(
                self.conn,
                &p.rule.name,
                p.rule.entity.name(),
                p.subject,
                &self.as_of.rfc3339(),
            )?,
            false => 0,
        };
        let episode = record_episode(self.conn, Episodes::Live, p, &self.as_of)?;
        let policy = self.engine.policy;
        let facts_list = p.facts();
        let values = p.template_values();
        let lang = self.engine.lang;
        let (title, organization) = p.about();
        let about = crate::present::names::subject(
            p.rule.entity.name(),
            p.subject,
            title,
            organization,
            lang,
        );
        let ctx = NoticeContext {
            policy,
            rule: p.rule,
            subject_id: p.subject,
            about: &about,
            lang,
            today: self.as_of.today,
            facts: &facts_list,
            values: &values,
            chat: false,
        };
        let facts_text = p.facts_json().to_string();
        // A rule with `approval by`: its tasks wait pending and its notices
        // are held for this request.
        // (Nothing to approve when every action was skipped.)
        let request = match &p.approver {
            Some(_) if !p.actions.is_empty() => {
                let seq = approvals::next_seq(self.conn)?;
                Some((format!("A{seq:06}"), seq))
            }
            _ => None,
        };
        let held_for = request.as_ref().map(|(id, _)| id.as_str());
        let mut done = Vec::new();
        let mut notes: Vec<serde_json::Value> = p.skipped_json().map(|s| json!(s)).collect();
        let mut described = Vec::new();
        for (k, (a, shown)) in p.actions.iter().zip(p.actions_json()).enumerate() {
            described.push(action_words(policy, a, held_for.is_some(), lang));
            let mut record = json!(shown);
            match a {
                Planned::Task {
                    kind,
                    target,
                    assignee,
                    due,
                    days,
                } => {
                    let task_id = self.free_task_id()?;
                    tasks::insert(
                        self.conn,
                        &tasks::NewTask {
                            id: &task_id,
                            seq: self.next_seq,
                            entity: p.rule.entity.name(),
                            subject_id: p.subject,
                            kind,
                            target: target.id,
                            assignee: assignee.as_ref().map(|x| x.id),
                            due: *due,
                            created_on: self.as_of.today,
                            rule: &p.rule.name,
                            episode_id: episode,
                            policy_hash: &policy.hash,
                            facts: &facts_text,
                            created_at: &self.as_of.rfc3339(),
                            approval: held_for.map(|r| (r, days.text())),
                        },
                    )?;
                    self.next_seq += 1;
                    record["task_id"] = json!(task_id);
                    if let Some((person, email)) = a.assignee_notice() {
                        let label = crate::present::names::task_kind(Some(policy), kind, lang);
                        let info = TaskInfo {
                            id: &task_id,
                            kind_label: &label,
                            target_name: target.name,
                            assignee_name: person.name,
                            link: self.link("tasks", &task_id),
                            // Held: counted from the approval day.
                            due_in: held_for.map(|_| due_in_words(*days, lang)),
                        };
                        let data = ctx.task_notice(&info);
                        // A held notice is kept as data and rendered, with
                        // its date and calendar entry, when released.
                        let (notice, ics) = match held_for {
                            Some(_) => (
                                Rendered {
                                    subject: data.render(None).subject,
                                    body: data.to_stored(),
                                },
                                None,
                            ),
                            None => {
                                let n = data.render(Some(*due));
                                let ics = task_ics(
                                    &task_id,
                                    *due,
                                    &n.subject,
                                    &n.body,
                                    self.as_of.utc(),
                                    &self.engine.domain,
                                    lang,
                                );
                                (n, Some(ics))
                            }
                        };
                        let mid = self.message_id(p, nth, k, "task");
                        let to = json!([{"id": person.id, "name": person.name, "email": email}]);
                        self.queue(
                            p,
                            Queued {
                                message_id: &mid,
                                task_id: Some(&task_id),
                                recipients: &to,
                                notice: &notice,
                                ics: ics.as_deref(),
                                channel: None,
                                facts: None,
                            },
                            held_for,
                        )?;
                        record["notice"] = json!(mid);
                    }
                }
                Planned::Notify { template, to, each } => {
                    // A template greeting by `recipient.name`: one notice
                    // each; else one to all, greeting them together.
                    let groups: Vec<&[crate::engine::plan::Recipient<'_>]> = if *each {
                        to.chunks(1).collect()
                    } else {
                        vec![to.as_slice()]
                    };
                    let mut mids = Vec::new();
                    for (n, group) in groups.into_iter().enumerate() {
                        let one = match group {
                            [r] => r.name,
                            _ => None,
                        };
                        let rendered =
                            notice_text(&ctx, *template, one, group.len() > 1, &mut notes);
                        let what = if *each {
                            format!("notify/{n}")
                        } else {
                            "notify".to_string()
                        };
                        let mid = self.message_id(p, nth, k, &what);
                        self.queue(
                            p,
                            Queued {
                                message_id: &mid,
                                task_id: None,
                                recipients: &json!(group),
                                notice: &rendered,
                                ics: None,
                                channel: None,
                                facts: None,
                            },
                            held_for,
                        )?;
                        mids.push(mid);
                    }
                    record["notice"] = match mids.as_slice() {
                        [one] => json!(one),
                        _ => json!(mids),
                    };
                }
                Planned::Post {
                    channel,
                    template,
                    mentioning,
                } => {
                    let chat = NoticeContext { chat: true, ..ctx };
                    let rendered = notice_text(&chat, *template, None, true, &mut notes);
                    let mid = self.message_id(p, nth, k, "channel");
                    self.queue(
                        p,
                        Queued {
                            message_id: &mid,
                            task_id: None,
                            recipients: &json!(mentioning),
                            notice: &rendered,
                            ics: None,
                            channel: Some(channel),
                            facts: Some(&facts_text),
                        },
                        held_for,
                    )?;
                    record["notice"] = json!(mid);
                }
            }
            done.push(record);
        }
        if let (Some((id, seq)), Some(approver)) = (&request, &p.approver) {
            let mid = self.message_id(p, nth, p.actions.len(), "approval");
            let r = Request {
                id,
                seq: *seq,
                approver,
                episode,
                actions: &described,
                message_id: &mid,
            };
            self.request(p, &ctx, &r, &mut notes)?;
            notes.push(json!({"action": "approval", "request": id, "approver": approver.id}));
        }
        audit::record(
            self.conn,
            &audit::Firing {
                run_id: self.run_id,
                rule: &p.rule.name,
                entity: p.rule.entity.name(),
                subject: p.subject,
                episode_id: episode,
                as_of: &self.as_of.rfc3339(),
                policy_hash: &policy.hash,
                facts: &facts_text,
                actions: &serde_json::Value::Array(done).to_string(),
                skipped: &serde_json::Value::Array(notes).to_string(),
            },
        )?;
        Ok(())
    }

    /// The workbench page of a record (`tasks`, `approvals`), when the
    /// workbench has a public address.
    fn link(&self, what: &str, id: &str) -> Option<String> {
        self.engine
            .workbench
            .as_ref()
            .map(|base| format!("{base}/{what}/{id}"))
    }

    /// Records an approval request of a firing, holds its episode's
    /// repeats, and queues the notice to the approver.
    fn request(
        &self,
        p: &Plan<'_>,
        ctx: &NoticeContext<'_>,
        r: &Request<'_>,
        notes: &mut Vec<serde_json::Value>,
    ) -> Result<()> {
        // An approver named by id is looked up; by path, the row has them.
        let by_id = matches!(
            p.rule.approval.as_ref().map(|a| &a.approver),
            Some(crate::lang::ir::Approver::Id(_))
        );
        let looked_up = if by_id {
            cases::person(self.conn, r.approver.id)?
        } else {
            Some((
                r.approver.name.to_string(),
                r.approver.email.map(str::to_string),
            ))
        };
        let (name, email) = looked_up.unwrap_or_else(|| {
            notes.push(json!({"action": "approval notice", "reason": format!("approver {} is not a person of the case database", r.approver.id)}));
            (r.approver.id.to_string(), None)
        });
        let within = p.rule.approval.as_ref().and_then(|a| a.within);
        let decide_by = match within {
            Some(days) => {
                match super::plan::due_date(days, self.as_of.today, &self.engine.calendar) {
                    Ok(d) => Some(d),
                    Err(e) => {
                        notes.push(json!({"action": "approval", "reason": format!("no time limit for the decision: {e}")}));
                        None
                    }
                }
            }
            None => None,
        };
        let facts = serde_json::Value::from(
            ctx.facts_shown()
                .into_iter()
                .map(|f| serde_json::json!([f.label, f.value_and_rule(ctx.lang)]))
                .collect::<Vec<_>>(),
        )
        .to_string();
        approvals::insert(
            self.conn,
            &approvals::NewApproval {
                id: r.id,
                seq: r.seq,
                rule: &p.rule.name,
                title: p.rule.title.as_deref().unwrap_or(&p.rule.name),
                entity: p.rule.entity.name(),
                subject_id: p.subject,
                episode_id: r.episode,
                approver: r.approver.id,
                facts: &facts,
                policy_hash: &self.engine.policy.hash,
                created_at: &self.as_of.rfc3339(),
                created_on: self.as_of.today,
                decide_by,
            },
        )?;
        episodes::await_decision(self.conn, r.episode)?;
        let Some(email) = email.filter(|e| !e.trim().is_empty()) else {
            notes.push(json!({"action": "approval notice", "reason": format!("approver {name} ({}) has no email; the request waits in `duban approvals list`", r.approver.id)}));
            return Ok(());
        };
        let notice = ctx.approval_request(&RequestInfo {
            id: r.id,
            approver_name: &name,
            actions: r.actions,
            decide_by,
            link: self.link("approvals", r.id),
        });
        let to = json!([{"id": r.approver.id, "name": name, "email": email}]);
        self.queue(
            p,
            Queued {
                message_id: r.message_id,
                task_id: None,
                recipients: &to,
                notice: &notice,
                ics: None,
                channel: None,
                facts: None,
            },
            None,
        )
    }
}

/// An approval request a firing makes.
struct Request<'a> {
    id: &'a str,
    seq: i64,
    approver: &'a crate::engine::plan::Person<'a>,
    episode: i64,
    /// The held actions, in words.
    actions: &'a [String],
    message_id: &'a str,
}

/// One notice to queue.
struct Queued<'a> {
    message_id: &'a str,
    task_id: Option<&'a str>,
    recipients: &'a serde_json::Value,
    notice: &'a Rendered,
    ics: Option<&'a str>,
    channel: Option<&'a str>,
    facts: Option<&'a str>,
}

/// The rule's template rendered, or the built-in notice when it names
/// none or the template fails (noted in the audit). `one`: the name of
/// the one person it goes to; `several`: it goes to more than one.
fn notice_text(
    ctx: &NoticeContext<'_>,
    template: Option<&str>,
    one: Option<&str>,
    several: bool,
    notes: &mut Vec<serde_json::Value>,
) -> Rendered {
    let greeting = crate::present::names::greeting(one, several, ctx.lang);
    match template.and_then(|t| ctx.policy.template(t)) {
        Some(t) => ctx.render(t, one).unwrap_or_else(|e| {
            notes.push(json!({"action": "notify", "reason": format!("template `{}` failed ({e}); the built-in notice was used", t.name)}));
            ctx.default_notice(&greeting)
        }),
        None => ctx.default_notice(&greeting),
    }
}

/// A task's time limit while it awaits approval: `批准后 7 天内`.
fn due_in_words(days: crate::lang::ir::Days, lang: Lang) -> String {
    let span = if days.working {
        crate::present::values::workdays(days.count, lang)
    } else {
        crate::present::days(days.count, lang)
    };
    match lang {
        Lang::Zh => format!("批准后 {span}内"),
        Lang::En => format!("within {span} of the approval"),
    }
}

/// A firing's subject in words (`问题“账目不清”（市财政局）`), read from
/// the case database.
pub fn subject_words(conn: &Db, entity: &str, id: &str, lang: Lang) -> Result<String> {
    let known = cases::subject(conn, entity, id)?.unwrap_or_default();
    Ok(crate::present::names::subject(
        entity,
        id,
        known.title.as_deref(),
        known.organization.as_deref(),
        lang,
    ))
}

/// A held action in words, for the approver: `交办问责：对象 张三，由 李四
/// 办理，批准后 15 天内完成`, `通知 张三、李四`.
fn action_words(
    policy: &crate::lang::ir::Policy,
    a: &Planned<'_>,
    held: bool,
    lang: Lang,
) -> String {
    use crate::present::names;
    match a {
        Planned::Task {
            kind,
            target,
            assignee,
            due,
            days,
        } => {
            let kind = names::task_kind(Some(policy), kind, lang);
            let when = match (held, lang) {
                (true, _) => due_in_words(*days, lang),
                (false, Lang::Zh) => format!("{} 前", crate::present::date_long(*due, lang)),
                (false, Lang::En) => format!("by {}", crate::present::date_long(*due, lang)),
            };
            match (assignee, lang) {
                (Some(by), Lang::Zh) => format!(
                    "交办{kind}：对象 {}，由 {} 办理，{when}完成",
                    target.name, by.name
                ),
                (None, Lang::Zh) => format!("交办{kind}：对象 {}，{when}完成", target.name),
                (Some(by), Lang::En) => format!(
                    "{} with {}, carried out by {}, {when}",
                    names::a(&kind),
                    target.name,
                    by.name
                ),
                (None, Lang::En) => format!("{} with {}, {when}", names::a(&kind), target.name),
            }
        }
        Planned::Notify { to, .. } => {
            let names: Vec<&str> = to.iter().map(|r| r.name.unwrap_or(r.email)).collect();
            match lang {
                Lang::Zh => format!("通知 {}", names.join("、")),
                Lang::En => format!("a notice to {}", names.join(", ")),
            }
        }
        Planned::Post {
            channel,
            mentioning,
            ..
        } => {
            let at: Vec<&str> = mentioning.iter().map(|m| m.name).collect();
            match (at.is_empty(), lang) {
                (true, Lang::Zh) => format!("群消息：{channel}"),
                (false, Lang::Zh) => format!("群消息：{channel}（提及 {}）", at.join("、")),
                (true, Lang::En) => format!("a message to the group {channel}"),
                (false, Lang::En) => format!(
                    "a message to the group {channel} (mentioning {})",
                    at.join(", ")
                ),
            }
        }
    }
}

/// Starts the firing's episode, or counts a repeat in it, in `which`
/// (the live episodes, or the simulation's copy); returns its id.
pub fn record_episode(conn: &Db, which: Episodes, p: &Plan<'_>, as_of: &AsOf) -> Result<i64> {
    let at = as_of.rfc3339();
    let on = as_of.today.to_string();
    match p.episode {
        Episode::New => {
            let id = episodes::start(
                conn,
                which,
                &p.rule.name,
                p.rule.entity.name(),
                p.subject,
                &at,
                &on,
            )?;
            Ok(id)
        }
        Episode::Repeat { id, .. } => {
            episodes::fire_again(conn, which, id, &at, &on)?;
            Ok(id)
        }
    }
}
