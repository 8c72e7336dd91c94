//! Evaluation: at a time T, for each rule, find every subject for which it
//! holds (its compiled query, run inside SQLite), decide which of them
//! start an episode or are due again under `repeat every`, and either
//! record what that does (`run`, one transaction per rule) or report it
//! (`dry-run`, `diff`, writing nothing).
//!
//! Matches are materialized in temporary tables, never in memory: a rule
//! that holds for half a million problems streams through here.

pub mod apply;
pub mod diff;
pub mod plan;

use crate::clock::{AsOf, Clock};
use crate::compile::{CompiledRule, compile_policy};
use crate::error::Result;
use crate::lang::ir::Policy;
use plan::{Episode, Plan};
use rusqlite::types::Value as Sql;
use rusqlite::{Connection, TransactionBehavior, params, params_from_iter};

/// A checked policy with its rules compiled once.
pub struct Engine<'p> {
    pub policy: &'p Policy,
    pub compiled: Vec<CompiledRule>,
    /// Domain for Message-IDs and calendar UIDs.
    pub domain: String,
}

/// What an evaluation does with its firings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Report only. `fresh`: as if no episode had ever started.
    Report { fresh: bool },
    /// Record tasks, notices, episodes and audit, under this run.
    Apply { run_id: i64 },
}

/// What one rule's evaluation found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleOutcome {
    pub rule: String,
    /// Subjects for which the rule holds.
    pub holds: u64,
    pub new_episodes: u64,
    pub repeats: u64,
    /// Episodes that end because the rule stopped holding.
    pub ended: u64,
    pub tasks: u64,
    /// Notices queued: the rule's own and those to task assignees.
    pub notices: u64,
    pub skipped: u64,
}

impl RuleOutcome {
    pub fn firings(&self) -> u64 {
        self.new_episodes + self.repeats
    }
}

impl<'p> Engine<'p> {
    pub fn new(policy: &'p Policy, domain: impl Into<String>) -> Self {
        Engine {
            policy,
            compiled: compile_policy(policy),
            domain: domain.into(),
        }
    }

    /// Indexes of the rules to evaluate: all, or the one named.
    pub fn select(&self, only: Option<&str>) -> std::result::Result<Vec<usize>, String> {
        match only {
            None => Ok((0..self.policy.rules.len()).collect()),
            Some(name) => self
                .policy
                .rules
                .iter()
                .position(|r| r.name == name)
                .map(|i| vec![i])
                .ok_or_else(|| {
                    let names = self.policy.rules.iter().map(|r| r.name.as_str());
                    let hint = crate::lang::diagnostics::did_you_mean(name, names)
                        .map(|h| format!("; {h}"))
                        .unwrap_or_default();
                    format!("the policy has no rule `{name}`{hint}")
                }),
        }
    }

    /// Evaluates rule `i` on `conn` (inside the caller's transaction),
    /// handing each firing's plan to `sink` — after recording it, in
    /// `Apply` mode.
    pub fn evaluate_rule(
        &self,
        conn: &Connection,
        i: usize,
        as_of: &AsOf,
        mode: Mode,
        sink: &mut dyn FnMut(&Plan<'_>) -> Result<()>,
    ) -> Result<RuleOutcome> {
        let rule = &self.policy.rules[i];
        let c = &self.compiled[i];
        let today = as_of.today.to_string();
        let mut out = RuleOutcome {
            rule: rule.name.clone(),
            ..RuleOutcome::default()
        };
        conn.execute_batch("DROP TABLE IF EXISTS temp.holds; DROP TABLE IF EXISTS temp.firing;")?;
        let mut bound: Vec<Sql> = Vec::with_capacity(c.params.len() + 1);
        bound.push(Sql::Text(today.clone()));
        bound.extend(c.params.iter().cloned());
        let mut create = conn.prepare(&format!("CREATE TEMP TABLE holds AS {}", c.sql))?;
        // A rule that reads neither `today` nor a literal binds nothing.
        let used = create.parameter_count();
        create.execute(params_from_iter(bound.iter().take(used)))?;
        drop(create);
        conn.execute_batch("CREATE INDEX temp.holds_subject ON holds(c0);")?;
        out.holds = conn.query_row("SELECT count(*) FROM temp.holds", [], |r| {
            r.get::<_, i64>(0)
        })? as u64;
        let fresh = matches!(mode, Mode::Report { fresh: true });
        if fresh {
            conn.execute_batch(
                "CREATE TEMP TABLE firing AS SELECT h.*, NULL AS episode_id, NULL AS fired FROM temp.holds h;",
            )?;
        } else {
            let repeat_from = rule.repeat_days.and_then(|d| {
                as_of
                    .today
                    .checked_sub_days(chrono::Days::new(d.max(0) as u64))
                    .map(|x| x.to_string())
            });
            conn.execute(
                "CREATE TEMP TABLE firing AS
                 SELECT h.*, e.id AS episode_id, e.fired AS fired
                 FROM temp.holds h
                 LEFT JOIN episodes e ON e.rule = ?1 AND e.subject_id = h.c0 AND e.ended_at IS NULL
                 WHERE e.id IS NULL OR (?2 IS NOT NULL AND e.last_fired_on <= ?2)",
                params![rule.name, repeat_from],
            )?;
        }
        let mut writer = match mode {
            Mode::Apply { run_id } => Some(apply::Writer::new(conn, self, as_of, run_id)?),
            Mode::Report { .. } => None,
        };
        let width = c.column_count();
        let mut stmt = conn.prepare("SELECT * FROM temp.firing ORDER BY c0")?;
        let mut rows = stmt.query([])?;
        let mut values: Vec<Sql> = Vec::with_capacity(width + 2);
        while let Some(row) = rows.next()? {
            values.clear();
            for k in 0..width + 2 {
                values.push(row.get::<_, Sql>(k)?);
            }
            let episode = match (&values[width], &values[width + 1]) {
                (Sql::Integer(id), Sql::Integer(fired)) => Episode::Repeat {
                    id: *id,
                    fired: *fired,
                },
                _ => Episode::New,
            };
            match episode {
                Episode::New => out.new_episodes += 1,
                Episode::Repeat { .. } => out.repeats += 1,
            }
            let p = plan::plan(rule, c, &values[..width], episode, as_of.today);
            out.skipped += p.skipped.len() as u64;
            for a in &p.actions {
                match a {
                    plan::Planned::Task { assignee, .. } => {
                        out.tasks += 1;
                        // The task's notice to its assignee.
                        if assignee.as_ref().is_some_and(|x| x.email.is_some()) {
                            out.notices += 1;
                        }
                    }
                    plan::Planned::Notify { .. } => out.notices += 1,
                }
            }
            if let Some(w) = writer.as_mut() {
                w.apply(&p)?;
            }
            sink(&p)?;
        }
        drop(rows);
        drop(stmt);
        if !fresh {
            let ending = "FROM episodes WHERE rule = ?1 AND ended_at IS NULL
                 AND NOT EXISTS (SELECT 1 FROM temp.holds h WHERE h.c0 = episodes.subject_id)";
            out.ended = match mode {
                Mode::Apply { .. } => conn.execute(
                    &format!("UPDATE episodes SET ended_at = ?2 WHERE id IN (SELECT id {ending})"),
                    params![rule.name, as_of.rfc3339()],
                )? as u64,
                Mode::Report { .. } => conn.query_row(
                    &format!("SELECT count(*) {ending}"),
                    params![rule.name],
                    |r| r.get::<_, i64>(0),
                )? as u64,
            };
        }
        conn.execute_batch("DROP TABLE IF EXISTS temp.holds; DROP TABLE IF EXISTS temp.firing;")?;
        Ok(out)
    }

    /// Reports what a run would do, in one read transaction (a consistent
    /// snapshot), writing nothing.
    pub fn dry_run(
        &self,
        conn: &mut Connection,
        rules: &[usize],
        as_of: &AsOf,
        fresh: bool,
        sink: &mut dyn FnMut(&Plan<'_>) -> Result<()>,
    ) -> Result<Vec<RuleOutcome>> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let mut outcomes = Vec::new();
        for &i in rules {
            outcomes.push(self.evaluate_rule(&tx, i, as_of, Mode::Report { fresh }, sink)?);
        }
        tx.rollback()?;
        Ok(outcomes)
    }

    /// Evaluates and records the rules, one transaction each: a crash leaves
    /// each rule's tasks, notices, episodes and audit all there or none.
    pub fn run(
        &self,
        conn: &mut Connection,
        rules: &[usize],
        as_of: &AsOf,
        kind: &str,
        clock: &dyn Clock,
        sink: &mut dyn FnMut(&Plan<'_>) -> Result<()>,
    ) -> Result<Vec<RuleOutcome>> {
        conn.execute(
            "INSERT INTO runs (kind, as_of, policy_hash, started_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                kind,
                as_of.rfc3339(),
                self.policy.hash,
                utc_text(clock.now())
            ],
        )?;
        let run_id = conn.last_insert_rowid();
        let mut outcomes = Vec::new();
        for &i in rules {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let o = self.evaluate_rule(&tx, i, as_of, Mode::Apply { run_id }, sink)?;
            tx.execute(
                "UPDATE runs SET rules = rules + 1, fired = fired + ?2, tasks = tasks + ?3, notices = notices + ?4, skipped = skipped + ?5 WHERE id = ?1",
                params![run_id, o.firings() as i64, o.tasks as i64, o.notices as i64, o.skipped as i64],
            )?;
            tx.commit()?;
            outcomes.push(o);
        }
        conn.execute(
            "UPDATE runs SET finished_at = ?2 WHERE id = ?1",
            params![run_id, utc_text(clock.now())],
        )?;
        Ok(outcomes)
    }
}

/// UTC as stored for comparisons: `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_text(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
