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
pub mod simulate;

use crate::clock::{AsOf, Clock};
use crate::compile::{CompiledRule, compile_policy};
use crate::error::Result;
use crate::lang::ir::Policy;
use plan::{Episode, Plan};
use rusqlite::types::{Value as Sql, ValueRef as SqlRef};
use rusqlite::{Connection, TransactionBehavior, params};

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
    /// Record episodes only, in the simulation's copy of them
    /// (`temp.sim_episodes`).
    Simulate,
}

impl Mode {
    /// The table of episodes this mode reads and writes.
    fn episodes(self) -> &'static str {
        match self {
            Mode::Simulate => "temp.sim_episodes",
            _ => "episodes",
        }
    }

    /// Whether firings are recorded as they are read (so must be collected
    /// first).
    fn records(self) -> bool {
        matches!(self, Mode::Apply { .. } | Mode::Simulate)
    }
}

/// How a run is recorded.
pub struct RunOptions<'a> {
    /// `run`, `scheduled`, `catch-up`: shown by `status`.
    pub kind: &'a str,
    pub clock: &'a dyn Clock,
    /// Checked between rules: when set, the run stops after the rule in
    /// flight has committed.
    pub stop: Option<&'a std::sync::atomic::AtomicBool>,
    /// The scheduled time this run is for, recorded per rule in
    /// `schedule_state` in the rule's own transaction (the daemon).
    pub scheduled: Option<&'a str>,
}

impl<'a> RunOptions<'a> {
    pub fn new(kind: &'a str, clock: &'a dyn Clock) -> Self {
        RunOptions {
            kind,
            clock,
            stop: None,
            scheduled: None,
        }
    }
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
    ///
    /// One query finds the firings: the subjects for which the rule holds,
    /// joined with their open episode, keeping those without one (a new
    /// episode) and those due under `repeat every`. A second finds the
    /// episodes that end, evaluating the condition only for the subjects
    /// that have one open. Reports stream; a run first collects the
    /// firings in a temporary table, since it writes episodes as it goes.
    pub fn evaluate_rule(
        &self,
        conn: &Connection,
        i: usize,
        as_of: &AsOf,
        mode: Mode,
        sink: &mut dyn FnMut(&Plan<'_>) -> Result<()>,
    ) -> Result<RuleOutcome> {
        self.evaluate(conn, i, as_of, mode, None, sink)
    }

    /// What a run would do now for one subject of rule `i` (nothing when
    /// the rule does not hold or its episode is running), writing nothing.
    pub fn evaluate_subject(
        &self,
        conn: &Connection,
        i: usize,
        as_of: &AsOf,
        subject: &str,
        sink: &mut dyn FnMut(&Plan<'_>) -> Result<()>,
    ) -> Result<RuleOutcome> {
        self.evaluate(
            conn,
            i,
            as_of,
            Mode::Report { fresh: false },
            Some(subject),
            sink,
        )
    }

    fn evaluate(
        &self,
        conn: &Connection,
        i: usize,
        as_of: &AsOf,
        mode: Mode,
        subject: Option<&str>,
        sink: &mut dyn FnMut(&Plan<'_>) -> Result<()>,
    ) -> Result<RuleOutcome> {
        let rule = &self.policy.rules[i];
        let c = &self.compiled[i];
        let mut out = RuleOutcome {
            rule: rule.name.clone(),
            ..RuleOutcome::default()
        };
        let fresh = matches!(mode, Mode::Report { fresh: true });
        let repeat_from = rule.repeat_days.and_then(|d| {
            as_of
                .today
                .checked_sub_days(chrono::Days::new(d.max(0) as u64))
                .map(|x| x.to_string())
        });
        // ?1 today, ?2… the rule's literals, then the rule's name and the
        // last day a firing may have been to be due again.
        let mut bound: Vec<Sql> = Vec::with_capacity(c.params.len() + 3);
        bound.push(Sql::Text(as_of.today.to_string()));
        bound.extend(c.params.iter().cloned());
        let p_rule = bound.len() + 1;
        bound.push(Sql::Text(rule.name.clone()));
        let p_repeat = bound.len() + 1;
        bound.push(repeat_from.map(Sql::Text).unwrap_or(Sql::Null));
        let only = match subject {
            Some(s) => {
                bound.push(Sql::Text(s.to_string()));
                format!(" AND s.id = ?{}", bound.len())
            }
            None => String::new(),
        };
        let table = rule.entity.table();
        let episodes = mode.episodes();
        // A rule with no open episode (new, or never fired) needs no look
        // at them per subject.
        let has_open: bool = !fresh
            && conn.query_row(
                &format!(
                    "SELECT EXISTS (SELECT 1 FROM {episodes} WHERE rule = ?1 AND ended_at IS NULL)"
                ),
                params![rule.name],
                |r| r.get(0),
            )?;
        // Recording with episodes open (a run or simulation in its steady
        // state): evaluate the condition once into a set of subjects, and
        // take the firings, the ended episodes and the count from it.
        let held = mode.records() && has_open && subject.is_none();
        if held {
            conn.execute_batch(
                "DROP TABLE IF EXISTS temp.holds;
                 CREATE TEMP TABLE holds (id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;",
            )?;
            bind_all(
                conn,
                &format!(
                    "INSERT INTO temp.holds SELECT s.id FROM {table} s{} WHERE {}",
                    c.joins, c.condition
                ),
                &bound,
            )?
            .raw_execute()?;
        }
        let firing_sql = if held {
            format!(
                "SELECT {}, ep.id, ep.fired FROM temp.holds h CROSS JOIN {table} s{}
                 LEFT JOIN {episodes} ep ON ep.rule = ?{p_rule} AND ep.subject_id = s.id AND ep.ended_at IS NULL
                 WHERE s.id = h.id AND (ep.id IS NULL OR (?{p_repeat} IS NOT NULL AND ep.last_fired_on <= ?{p_repeat}))",
                c.select, c.joins
            )
        } else if !has_open {
            format!(
                "SELECT {}, NULL, NULL FROM {table} s{} WHERE {}{only}",
                c.select, c.joins, c.condition
            )
        } else {
            format!(
                "SELECT {}, ep.id, ep.fired FROM {table} s{}
                 LEFT JOIN {episodes} ep ON ep.rule = ?{p_rule} AND ep.subject_id = s.id AND ep.ended_at IS NULL
                 WHERE {} AND (ep.id IS NULL OR (?{p_repeat} IS NOT NULL AND ep.last_fired_on <= ?{p_repeat})){only}",
                c.select, c.joins, c.condition
            )
        };
        if mode.records() {
            // Writing episodes while reading a query that joins them is not
            // allowed: collect the firings first.
            conn.execute_batch("DROP TABLE IF EXISTS temp.firing;")?;
            bind_all(
                conn,
                &format!("CREATE TEMP TABLE firing AS {firing_sql}"),
                &bound,
            )?
            .raw_execute()?;
        }
        let mut writer = match mode {
            Mode::Apply { run_id } => Some(apply::Writer::new(conn, self, as_of, run_id)?),
            _ => None,
        };
        let width = c.column_count();
        {
            let mut stmt = if mode.records() {
                conn.prepare("SELECT * FROM temp.firing")?
            } else {
                bind_all(conn, &firing_sql, &bound)?
            };
            let mut rows = stmt.raw_query();
            while let Some(row) = rows.next()? {
                let mut values: Vec<SqlRef<'_>> = Vec::with_capacity(width + 2);
                for k in 0..width + 2 {
                    values.push(row.get_ref(k)?);
                }
                let episode = match (values[width], values[width + 1]) {
                    (SqlRef::Integer(id), SqlRef::Integer(fired)) => Episode::Repeat { id, fired },
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
                } else if mode == Mode::Simulate {
                    apply::record_episode(conn, episodes, &p, as_of)?;
                }
                sink(&p)?;
            }
        }
        if mode.records() {
            conn.execute_batch("DROP TABLE IF EXISTS temp.firing;")?;
        }
        if held {
            // The ended episodes: open, and their subject not in the set.
            out.ended = conn
                .prepare_cached(&format!(
                    "UPDATE {episodes} SET ended_at = ?2 WHERE rule = ?1 AND ended_at IS NULL
                     AND subject_id NOT IN (SELECT id FROM temp.holds)"
                ))?
                .execute(params![rule.name, as_of.rfc3339()])? as u64;
            out.holds = conn.query_row("SELECT count(*) FROM temp.holds", [], |r| {
                r.get::<_, i64>(0)
            })? as u64;
            conn.execute_batch("DROP TABLE IF EXISTS temp.holds;")?;
            return Ok(out);
        }
        if has_open && subject.is_none() {
            // Open episodes whose subject no longer satisfies the condition
            // (or is gone): counted for a report.
            let mut stmt = bind_all(
                conn,
                &format!(
                    "SELECT count(*) FROM {episodes} ep LEFT JOIN {table} s ON s.id = ep.subject_id{}
                     WHERE ep.rule = ?{p_rule} AND ep.ended_at IS NULL AND (s.id IS NULL OR NOT ({}))",
                    c.joins, c.condition
                ),
                &bound,
            )?;
            let mut rows = stmt.raw_query();
            if let Some(r) = rows.next()? {
                out.ended = r.get::<_, i64>(0)? as u64;
            }
        }
        out.holds = out.firings();
        if has_open && subject.is_none() {
            // Subjects that hold but fire nothing now (an episode running).
            let mut stmt = bind_all(
                conn,
                &format!(
                    "SELECT count(*) FROM {episodes} ep JOIN {table} s ON s.id = ep.subject_id{}
                     WHERE ep.rule = ?{p_rule} AND ep.ended_at IS NULL AND {} AND NOT (?{p_repeat} IS NOT NULL AND ep.last_fired_on <= ?{p_repeat})",
                    c.joins, c.condition
                ),
                &bound,
            )?;
            let mut rows = stmt.raw_query();
            if let Some(r) = rows.next()? {
                out.holds += r.get::<_, i64>(0)? as u64;
            }
        }
        Ok(out)
    }

    /// Whether the compiled condition of rule `i` holds for `subject` (the
    /// SQL path's answer, beside the interpreter's in `explain`). `None`
    /// when there is no such subject.
    pub fn sql_holds(
        &self,
        conn: &Connection,
        i: usize,
        as_of: &AsOf,
        subject: &str,
    ) -> Result<Option<bool>> {
        let c = &self.compiled[i];
        let mut bound: Vec<Sql> = vec![Sql::Text(as_of.today.to_string())];
        bound.extend(c.params.iter().cloned());
        bound.push(Sql::Text(subject.to_string()));
        let sql = format!(
            "SELECT {} FROM {} s{} WHERE s.id = ?{}",
            c.condition,
            self.policy.rules[i].entity.table(),
            c.joins,
            bound.len()
        );
        let mut stmt = conn.prepare(&sql)?;
        for (k, v) in bound.iter().enumerate() {
            stmt.raw_bind_parameter(k + 1, v)?;
        }
        let mut rows = stmt.raw_query();
        Ok(match rows.next()? {
            Some(r) => Some(r.get::<_, i64>(0)? != 0),
            None => None,
        })
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
        opts: &RunOptions<'_>,
        sink: &mut dyn FnMut(&Plan<'_>) -> Result<()>,
    ) -> Result<Vec<RuleOutcome>> {
        conn.execute(
            "INSERT INTO runs (kind, as_of, policy_hash, started_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                opts.kind,
                as_of.rfc3339(),
                self.policy.hash,
                utc_text(opts.clock.now())
            ],
        )?;
        let run_id = conn.last_insert_rowid();
        let mut outcomes = Vec::new();
        let mut stopped = false;
        for &i in rules {
            if opts
                .stop
                .is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst))
            {
                stopped = true;
                break;
            }
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let o = self.evaluate_rule(&tx, i, as_of, Mode::Apply { run_id }, sink)?;
            tx.execute(
                "UPDATE runs SET rules = rules + 1, fired = fired + ?2, tasks = tasks + ?3, notices = notices + ?4, skipped = skipped + ?5 WHERE id = ?1",
                params![run_id, o.firings() as i64, o.tasks as i64, o.notices as i64, o.skipped as i64],
            )?;
            if let Some(at) = opts.scheduled {
                tx.execute(
                    "INSERT INTO schedule_state (rule, last_scheduled_at) VALUES (?1, ?2)
                     ON CONFLICT(rule) DO UPDATE SET last_scheduled_at = excluded.last_scheduled_at",
                    params![self.policy.rules[i].name, at],
                )?;
            }
            tx.commit()?;
            outcomes.push(o);
        }
        conn.execute(
            "UPDATE runs SET finished_at = ?2, error = ?3 WHERE id = ?1",
            params![
                run_id,
                utc_text(opts.clock.now()),
                stopped.then_some("stopped before the end")
            ],
        )?;
        Ok(outcomes)
    }
}

/// The open episode of a rule for a subject.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OpenEpisode {
    pub started_at: String,
    pub last_fired_at: String,
    pub last_fired_on: String,
    pub fired: i64,
}

pub fn open_episode(conn: &Connection, rule: &str, subject: &str) -> Result<Option<OpenEpisode>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row(
            "SELECT started_at, last_fired_at, last_fired_on, fired FROM episodes
             WHERE rule = ?1 AND subject_id = ?2 AND ended_at IS NULL",
            params![rule, subject],
            |r| {
                Ok(OpenEpisode {
                    started_at: r.get(0)?,
                    last_fired_at: r.get(1)?,
                    last_fired_on: r.get(2)?,
                    fired: r.get(3)?,
                })
            },
        )
        .optional()?)
}

/// A statement with the first parameters of `values` bound: as many as
/// the statement uses (a rule that reads neither `today` nor a literal uses
/// none of the first ones; numbering keeps the rest in place).
fn bind_all<'c>(
    conn: &'c Connection,
    sql: &str,
    values: &[Sql],
) -> Result<rusqlite::Statement<'c>> {
    let mut stmt = conn.prepare(sql)?;
    let used = stmt.parameter_count();
    for (k, v) in values.iter().take(used).enumerate() {
        stmt.raw_bind_parameter(k + 1, v)?;
    }
    Ok(stmt)
}

/// UTC as stored for comparisons: `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_text(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
