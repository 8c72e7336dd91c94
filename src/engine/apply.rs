//! Recording a firing: the episode, the tasks, the notices queued in the
//! outbox (rendered now, delivered later), and the audit record — all on
//! the caller's transaction, so they commit together or not at all.

use super::Engine;
use super::plan::{Episode, Plan, Planned};
use crate::clock::AsOf;
use crate::deliver::notice::{NoticeContext, Rendered, TaskInfo, task_ics};
use crate::error::Result;
use crate::store::episodes::{self, Episodes};
use crate::store::{audit, outbox, tasks};
use rusqlite::Connection;
use serde_json::json;
use sha2::{Digest, Sha256};

pub struct Writer<'c, 'e> {
    conn: &'c Connection,
    engine: &'e Engine<'e>,
    as_of: AsOf,
    run_id: i64,
    next_seq: i64,
}

impl<'c, 'e> Writer<'c, 'e> {
    pub fn new(
        conn: &'c Connection,
        engine: &'e Engine<'e>,
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
        })
    }

    /// The next `T000123` id no task has: imported ledgers may use such ids
    /// too.
    fn free_task_id(&mut self) -> Result<String> {
        loop {
            let id = format!("T{:06}", self.next_seq);
            if !tasks::exists(self.conn, &id)? {
                return Ok(id);
            }
            self.next_seq += 1;
        }
    }

    /// A stable Message-ID for the `k`-th notice of a firing: the same
    /// firing always gets the same one, whatever retries happen.
    fn message_id(&self, p: &Plan<'_>, episode: i64, fired: i64, k: usize, what: &str) -> String {
        let mut h = Sha256::new();
        for part in [
            p.rule.name.as_str(),
            p.subject,
            &episode.to_string(),
            &fired.to_string(),
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

    fn queue(&self, p: &Plan<'_>, n: Queued<'_>) -> Result<()> {
        outbox::queue(
            self.conn,
            &outbox::NewNotice {
                message_id: n.message_id,
                rule: &p.rule.name,
                entity: p.rule.entity.name(),
                subject_id: p.subject,
                task_id: n.task_id,
                recipients: &n.recipients.to_string(),
                subject: &n.notice.subject,
                body: &n.notice.body,
                ics: n.ics,
                created_at: &self.as_of.rfc3339(),
                channel: n.channel,
                facts: n.facts,
            },
        )?;
        Ok(())
    }

    /// Records one firing.
    pub fn apply(&mut self, p: &Plan<'_>) -> Result<()> {
        let (episode, fired) = record_episode(self.conn, Episodes::Live, p, &self.as_of)?;
        let policy = self.engine.policy;
        let facts_list = p.facts();
        let values = p.template_values();
        let ctx = NoticeContext {
            policy,
            rule: p.rule,
            subject_id: p.subject,
            today: self.as_of.today,
            facts: &facts_list,
            values: &values,
            chat: false,
        };
        let facts_text = p.facts_json().to_string();
        let mut done = Vec::new();
        let mut notes: Vec<serde_json::Value> = p.skipped_json().map(|s| json!(s)).collect();
        for (k, (a, shown)) in p.actions.iter().zip(p.actions_json()).enumerate() {
            let mut record = json!(shown);
            match a {
                Planned::Task {
                    kind,
                    target,
                    assignee,
                    due,
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
                        },
                    )?;
                    self.next_seq += 1;
                    record["task_id"] = json!(task_id);
                    if let Some((person, email)) = a.assignee_notice() {
                        let label = policy
                            .task_kind_label(kind)
                            .unwrap_or_else(|| kind.to_string());
                        let info = TaskInfo {
                            id: &task_id,
                            kind_label: &label,
                            target_name: target.name,
                            assignee_name: person.name,
                            due: *due,
                            link: self
                                .engine
                                .workbench
                                .as_ref()
                                .map(|base| format!("{base}/tasks/{task_id}")),
                        };
                        let notice = ctx.task_notice(&info);
                        let ics = task_ics(
                            &info,
                            &notice.subject,
                            &notice.body,
                            self.as_of.utc(),
                            &self.engine.domain,
                        );
                        let mid = self.message_id(p, episode, fired, k, "task");
                        let to = json!([{"id": person.id, "name": person.name, "email": email}]);
                        self.queue(
                            p,
                            Queued {
                                message_id: &mid,
                                task_id: Some(&task_id),
                                recipients: &to,
                                notice: &notice,
                                ics: Some(&ics),
                                channel: None,
                                facts: None,
                            },
                        )?;
                        record["notice"] = json!(mid);
                    }
                }
                Planned::Notify { template, to } => {
                    let rendered = notice_text(&ctx, *template, &mut notes);
                    let mid = self.message_id(p, episode, fired, k, "notify");
                    self.queue(
                        p,
                        Queued {
                            message_id: &mid,
                            task_id: None,
                            recipients: &json!(to),
                            notice: &rendered,
                            ics: None,
                            channel: None,
                            facts: None,
                        },
                    )?;
                    record["notice"] = json!(mid);
                }
                Planned::Post {
                    channel,
                    template,
                    mentioning,
                } => {
                    let chat = NoticeContext { chat: true, ..ctx };
                    let rendered = notice_text(&chat, *template, &mut notes);
                    let mid = self.message_id(p, episode, fired, k, "channel");
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
                    )?;
                    record["notice"] = json!(mid);
                }
            }
            done.push(record);
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
/// none or the template fails (noted in the audit).
fn notice_text(
    ctx: &NoticeContext<'_>,
    template: Option<&str>,
    notes: &mut Vec<serde_json::Value>,
) -> Rendered {
    match template.and_then(|t| ctx.policy.template(t)) {
        Some(t) => ctx.render(t).unwrap_or_else(|e| {
            notes.push(json!({"action": "notify", "reason": format!("template `{}` failed ({e}); the built-in notice was used", t.name)}));
            ctx.default_notice()
        }),
        None => ctx.default_notice(),
    }
}

/// Starts the firing's episode, or counts a repeat in it, in `which`
/// (the live episodes, or the simulation's copy); returns its id and how
/// many times it has fired.
pub fn record_episode(
    conn: &Connection,
    which: Episodes,
    p: &Plan<'_>,
    as_of: &AsOf,
) -> Result<(i64, i64)> {
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
            Ok((id, 1))
        }
        Episode::Repeat { id, fired } => {
            episodes::fire_again(conn, which, id, &at, &on)?;
            Ok((id, fired + 1))
        }
    }
}
