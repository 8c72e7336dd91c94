//! Recording a firing: the episode, the tasks, the notices queued in the
//! outbox (rendered now, delivered later), and the audit record — all on
//! the caller's transaction, so they commit together or not at all.

use super::Engine;
use super::plan::{Episode, Plan, Planned};
use crate::clock::AsOf;
use crate::deliver::notice::{NoticeContext, Rendered, TaskInfo, task_ics};
use crate::error::Result;
use rusqlite::{Connection, params};
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
        let next_seq: i64 =
            conn.query_row("SELECT coalesce(max(seq), 0) + 1 FROM tasks", [], |r| {
                r.get(0)
            })?;
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
            let taken: bool = self
                .conn
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM tasks WHERE id = ?1)")?
                .query_row([&id], |r| r.get(0))?;
            if !taken {
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

    #[allow(clippy::too_many_arguments)]
    fn queue(
        &self,
        p: &Plan<'_>,
        message_id: &str,
        task_id: Option<&str>,
        recipients: &serde_json::Value,
        notice: &Rendered,
        ics: Option<&str>,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO outbox (message_id, rule, subject_type, subject_id, task_id, recipients, subject, body, ics, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                message_id,
                p.rule.name,
                p.rule.entity.name(),
                p.subject,
                task_id,
                recipients.to_string(),
                notice.subject,
                notice.body,
                ics,
                self.as_of.rfc3339()
            ],
        )?;
        Ok(())
    }

    /// Records one firing.
    pub fn apply(&mut self, p: &Plan<'_>) -> Result<()> {
        let (episode, fired) = record_episode(self.conn, "episodes", p, &self.as_of)?;
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
        };
        let facts = p.facts_json();
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
                    self.conn.execute(
                        "INSERT INTO tasks (id, subject_type, subject_id, kind, status, target_id, assignee_id, due,
                                            created_on, rule, seq, episode_id, policy_hash, facts, created_at)
                         VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                        params![
                            task_id,
                            p.rule.entity.name(),
                            p.subject,
                            kind,
                            target.id,
                            assignee.as_ref().map(|x| x.id),
                            due.to_string(),
                            self.as_of.today.to_string(),
                            p.rule.name,
                            self.next_seq,
                            episode,
                            policy.hash,
                            facts.to_string(),
                            self.as_of.rfc3339()
                        ],
                    )?;
                    self.next_seq += 1;
                    record["task_id"] = json!(task_id);
                    if let Some(person) = assignee
                        && let Some(email) = person.email
                    {
                        let label = policy
                            .task_kind_label(kind)
                            .unwrap_or_else(|| kind.to_string());
                        let info = TaskInfo {
                            id: &task_id,
                            kind_label: &label,
                            target_name: target.name,
                            assignee_name: person.name,
                            due: *due,
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
                        self.queue(p, &mid, Some(&task_id), &to, &notice, Some(&ics))?;
                        record["notice"] = json!(mid);
                    }
                }
                Planned::Notify { template, to } => {
                    let rendered = match template.and_then(|t| policy.template(t)) {
                        Some(t) => ctx.render(t).unwrap_or_else(|e| {
                            notes.push(json!({"action": "notify", "reason": format!("template `{}` failed ({e}); the built-in notice was used", t.name)}));
                            ctx.default_notice()
                        }),
                        None => ctx.default_notice(),
                    };
                    let mid = self.message_id(p, episode, fired, k, "notify");
                    self.queue(p, &mid, None, &json!(to), &rendered, None)?;
                    record["notice"] = json!(mid);
                }
            }
            done.push(record);
        }
        self.conn.execute(
            "INSERT INTO audit (run_id, rule, subject_type, subject_id, episode_id, as_of, policy_hash, facts, actions, skipped)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                self.run_id,
                p.rule.name,
                p.rule.entity.name(),
                p.subject,
                episode,
                self.as_of.rfc3339(),
                policy.hash,
                facts.to_string(),
                serde_json::Value::Array(done).to_string(),
                serde_json::Value::Array(notes).to_string()
            ],
        )?;
        Ok(())
    }
}

/// Starts the firing's episode, or counts a repeat in it, in `table`
/// (`episodes`, or the simulation's copy); returns its id and how many
/// times it has fired.
pub fn record_episode(
    conn: &Connection,
    table: &str,
    p: &Plan<'_>,
    as_of: &AsOf,
) -> Result<(i64, i64)> {
    let at = as_of.rfc3339();
    let on = as_of.today.to_string();
    match p.episode {
        Episode::New => {
            conn.prepare_cached(&format!(
                "INSERT INTO {table} (rule, subject_type, subject_id, started_at, last_fired_at, last_fired_on, fired)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, 1)"
            ))?
            .execute(params![p.rule.name, p.rule.entity.name(), p.subject, at, on])?;
            Ok((conn.last_insert_rowid(), 1))
        }
        Episode::Repeat { id, fired } => {
            conn.prepare_cached(&format!(
                "UPDATE {table} SET last_fired_at = ?2, last_fired_on = ?3, fired = fired + 1 WHERE id = ?1"
            ))?
            .execute(params![id, at, on])?;
            Ok((id, fired + 1))
        }
    }
}
