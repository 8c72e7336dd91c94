//! Evaluation: at a time T, for each rule, find every subject for which it
//! holds (its compiled query, run inside SQLite), decide which of them
//! start an episode or are due again under `repeat every`, and either
//! record what that does (`run`, one transaction per rule) or report it
//! (`dry-run`, `diff`, writing nothing).
//!
//! Matches are materialized in temporary tables, never in memory: a rule
//! that holds for half a million problems streams through here.

pub mod analysis;
pub mod apply;
pub mod approval;
pub mod diff;
pub mod plan;
pub mod side_by_side;
pub mod simulate;

use crate::calendar::Calendar;
use crate::clock::{AsOf, Clock, utc_text};
use crate::compile::{CompiledRule, compile_policy};
use crate::error::Result;
use crate::lang::ir::Policy;
use crate::store::episodes::{self, Episodes};
use crate::store::firings::{self, RuleSql, Shape};
use crate::store::runs;
use crate::store::sqlite::{self, CacheSize};
use crate::store::window;
use crate::store::workdays::Workdays;
use crate::store::{Behavior, Db};
use crate::store::{Value as Sql, ValueRef as SqlRef};
use plan::{Episode, Plan};
pub use side_by_side::Parts;

/// A checked policy with its rules compiled once.
pub struct Engine<'p> {
    pub policy: &'p Policy,
    pub compiled: Vec<CompiledRule>,
    /// Domain for Message-IDs and calendar UIDs.
    pub domain: String,
    /// Working days, for due dates; set with [`Engine::with_calendar`].
    calendar: Calendar,
    /// The calendar's rows of `temp.workdays`, built once.
    workdays: Workdays,
    /// The workbench's public address: task notices link to the task's page.
    pub workbench: Option<String>,
    /// The language notices are written in (`language` in `duban.toml`).
    pub lang: crate::present::Lang,
}

/// A rule name the policy does not have (with a did-you-mean).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct NoSuchRule(String);

/// What a report reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reading {
    /// As if no episode had ever started.
    pub fresh: bool,
    /// The facts and template values too, which only what a run writes
    /// reads (the audit record, the notices' text).
    pub values: bool,
    /// Each rule's firings in its subjects' order: for a report that lists
    /// them all; one that counts them, keeps a few examples (which it
    /// orders itself) or compares them needs no sort.
    pub ordered: bool,
    /// The sink runs statements on the evaluation's connection as the
    /// firings come (`diff` writes each action into a table): they are
    /// then read in batches between which it can. Otherwise PostgreSQL
    /// sends them as it makes them ([`crate::store::Db::prepare_read_alone`]).
    pub sink_writes: bool,
}

/// What an evaluation does with its firings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Report only, reading as [`Reading`] says.
    Report(Reading),
    /// Record tasks, notices, episodes and audit, under this run.
    Apply { run_id: i64 },
    /// Record episodes only, in the simulation's copy of them
    /// (`temp.sim_episodes`).
    Simulate,
    /// As `Simulate`, for the subjects the caller put in `temp.holds`
    /// (a windowed rule's day, see [`simulate`]): fire those that start or
    /// are due again; ending episodes and counting holds is the caller's.
    SimulateGiven,
    /// As `Simulate`, for every subject the rule holds for on the day as
    /// its days tell (a windowed rule's first day, read from
    /// `temp.sim_window` rather than evaluated again); the open episodes
    /// of the others end.
    SimulateWhole,
}

impl Mode {
    /// The episodes this mode reads and writes.
    fn episodes(self) -> Episodes {
        match self {
            Mode::Simulate | Mode::SimulateGiven | Mode::SimulateWhole => Episodes::Simulated,
            _ => Episodes::Live,
        }
    }

    /// Whether firings are recorded as they are read (so must be collected
    /// first).
    fn records(self) -> bool {
        matches!(
            self,
            Mode::Apply { .. } | Mode::Simulate | Mode::SimulateGiven | Mode::SimulateWhole
        )
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
    /// Messages queued to chat channels.
    pub messages: u64,
    /// Of `notices`, those held until an approval is decided.
    pub held: u64,
    pub skipped: u64,
}

impl RuleOutcome {
    pub fn firings(&self) -> u64 {
        self.new_episodes + self.repeats
    }
}

/// Adds another outcome's counts (for totals; the rule name stays).
impl std::ops::AddAssign<&RuleOutcome> for RuleOutcome {
    fn add_assign(&mut self, o: &RuleOutcome) {
        self.holds += o.holds;
        self.new_episodes += o.new_episodes;
        self.repeats += o.repeats;
        self.ended += o.ended;
        self.tasks += o.tasks;
        self.notices += o.notices;
        self.messages += o.messages;
        self.skipped += o.skipped;
        self.held += o.held;
    }
}

impl<'p> Engine<'p> {
    pub fn new(policy: &'p Policy, domain: impl Into<String>) -> Self {
        let calendar = Calendar::builtin();
        Engine {
            policy,
            compiled: compile_policy(policy, crate::store::Dialect::Sqlite),
            domain: domain.into(),
            workdays: Workdays::new(&calendar),
            calendar,
            workbench: None,
            lang: crate::present::Lang::Zh,
        }
    }

    /// The engine of an office: its mail domain, its working-day calendar,
    /// its workbench's address and its database's dialect, from
    /// `duban.toml`.
    pub fn for_office(
        policy: &'p Policy,
        cfg: &crate::config::Config,
    ) -> crate::error::Result<Self> {
        let mut engine = Engine::new(policy, cfg.mail_domain())
            .with_calendar(cfg.load_calendar()?)
            .with_dialect(cfg.database.dialect());
        engine.workbench = cfg
            .web
            .as_ref()
            .and_then(|w| w.base_url())
            .map(str::to_string);
        engine.lang = cfg.language;
        Ok(engine)
    }

    /// The office's working days (the built-in years otherwise).
    pub fn with_calendar(mut self, calendar: Calendar) -> Self {
        self.workdays = Workdays::new(&calendar);
        self.calendar = calendar;
        self
    }

    /// Compiles the policy for another database than SQLite.
    pub fn with_dialect(mut self, dialect: crate::store::Dialect) -> Self {
        self.compiled = compile_policy(self.policy, dialect);
        self
    }

    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// What deciding an approval request needs of the office.
    pub fn office(&self) -> approval::Office<'_> {
        approval::Office {
            calendar: &self.calendar,
            domain: &self.domain,
            workbench: self.workbench.as_deref(),
            lang: self.lang,
        }
    }

    /// Indexes of the rules to evaluate: all, or the one named.
    pub fn select(&self, only: Option<&str>) -> std::result::Result<Vec<usize>, NoSuchRule> {
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
                    NoSuchRule(format!("the policy has no rule `{name}`{hint}"))
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
    /// Outside `Apply`, `sink` runs no statement on `conn` unless the mode
    /// says so ([`Reading::sink_writes`]): on PostgreSQL the connection is
    /// busy sending the firings until the last.
    pub fn evaluate_rule(
        &self,
        conn: &Db,
        i: usize,
        as_of: &AsOf,
        mode: Mode,
        sink: &mut dyn FnMut(&Plan<'_>) -> Result<()>,
    ) -> Result<RuleOutcome> {
        self.evaluate(conn, i, as_of, mode, None, sink)
    }

    /// What a run would do now for one subject of rule `i` (nothing when
    /// the rule does not hold or its episode is running), writing nothing;
    /// `sink` runs no statement on `conn` (see [`Engine::evaluate_rule`]).
    pub fn evaluate_subject(
        &self,
        conn: &Db,
        i: usize,
        as_of: &AsOf,
        subject: &str,
        sink: &mut dyn FnMut(&Plan<'_>) -> Result<()>,
    ) -> Result<RuleOutcome> {
        self.evaluate(
            conn,
            i,
            as_of,
            Mode::Report(Reading::default()),
            Some(subject),
            sink,
        )
    }

    fn evaluate(
        &self,
        conn: &Db,
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
        let fresh = matches!(mode, Mode::Report(Reading { fresh: true, .. }));
        let repeat_from =
            plan::repeat_from(rule, as_of.today, &self.calendar).map(|d| d.to_string());
        let which = mode.episodes();
        crate::store::workdays::ensure(conn, &self.workdays)?;
        let mut q = firings::Query::new(
            self.rule_sql(i),
            which,
            self.bound(i, as_of),
            &rule.name,
            repeat_from.clone(),
            subject,
        );
        // A simulation only counts what the firings do (the persons' ids
        // and addresses); a report shows it (their names too).
        if which == Episodes::Simulated {
            q = q.reading_only(c.person_columns_only(false), c.column_count());
        } else if let Mode::Report(Reading { values: false, .. }) = mode {
            q = q.reading_only(c.person_columns_only(true), c.column_count());
        }
        // Nothing runs on the connection while a report's or a
        // simulation's firings are read (a simulation records them after),
        // unless the sink writes; a run writes as it reads.
        let sink_writes = matches!(mode, Mode::Report(r) if r.sink_writes);
        if !matches!(mode, Mode::Apply { .. }) && !sink_writes {
            q = q.read_alone();
        }
        // A rule with no open episode (new, or never fired) needs no look
        // at them per subject.
        let given = matches!(mode, Mode::SimulateGiven | Mode::SimulateWhole);
        // A simulation records its firings set-wise from the subjects that
        // hold, after reading them: it always evaluates into that set.
        let simulated = which == Episodes::Simulated;
        // The given set is the caller's: open episodes are joined as they are.
        let has_open =
            !fresh && !given && !simulated && episodes::has_open(conn, which, &rule.name)?;
        // Recording with episodes open (a run or simulation in its steady
        // state): evaluate the condition once into a set of subjects, and
        // take the firings, the ended episodes and the count from it.
        let held = given || simulated || (mode.records() && has_open && subject.is_none());
        if held && !given {
            q.collect_holds(conn)?;
        }
        // A windowed rule's first simulated day with no open episode (before
        // it goes live) starts one for every subject that holds: where the
        // database does it faster, its query over the whole table reads
        // them rather than a look-up per subject in the set its days gave.
        // Where the condition was evaluated into the set just now, or the
        // set is a later day's few, those are looked up.
        let starts_all = mode == Mode::SimulateWhole
            && conn.dialect().evaluates_rather_than_looks_up()
            && !episodes::has_open(conn, which, &rule.name)?;
        // Otherwise the day's subjects are listed from its days, to look
        // each up.
        if mode == Mode::SimulateWhole && !starts_all {
            window::holding_on(conn, i, &as_of.today.to_string())?;
        }
        let shape = if starts_all || !(held || has_open) {
            Shape::Fresh
        } else if held {
            Shape::Held
        } else {
            Shape::Joined
        };
        let mut writer = match mode {
            Mode::Apply { run_id } => {
                Some(apply::Writer::new(conn, self, &rule.name, as_of, run_id)?)
            }
            _ => None,
        };
        let width = c.column_count();
        {
            // Writing episodes while reading a query that joins them is not
            // allowed: a run collects the firings first; a simulation reads
            // them in any order and records them all after, as does a report
            // that needs no order.
            let unordered = matches!(mode, Mode::Report(Reading { ordered: false, .. }));
            let mut stmt = if simulated || unordered {
                q.stream_unordered(conn, shape)?
            } else if mode.records() {
                q.collect(conn, shape)?
            } else {
                q.stream(conn, shape)?
            };
            stmt.each_row(&mut |row| -> Result<()> {
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
                let p = plan::plan(
                    rule,
                    c,
                    &values[..width],
                    episode,
                    as_of.today,
                    &self.calendar,
                );
                let counts = p.counts();
                out.skipped += p.skipped.len() as u64;
                out.tasks += counts.tasks;
                out.notices += counts.notices;
                out.messages += counts.messages;
                out.held += counts.held;
                if let Some(w) = writer.as_mut() {
                    w.apply(&p)?;
                }
                sink(&p)
            })?;
        }
        if simulated {
            let firing = episodes::Firing {
                rule: &rule.name,
                entity: rule.entity.name(),
                at: &as_of.rfc3339(),
                on: &as_of.today.to_string(),
            };
            if starts_all {
                // Every subject of the day starts an episode, recorded from
                // the days; none was open to end.
                out.holds = window::start_holding(conn, i, &firing)?;
                return Ok(out);
            }
            episodes::fire_held(conn, &firing, repeat_from.as_deref())?;
        } else if mode.records() {
            firings::drop_collected(conn)?;
        }
        if mode == Mode::SimulateGiven {
            firings::empty_holds(conn)?;
            return Ok(out);
        }
        if held {
            out.ended = episodes::end_unheld(conn, which, &rule.name, &as_of.rfc3339())?;
            out.holds = firings::take_holds_count(conn)?;
            return Ok(out);
        }
        out.holds = out.firings();
        if has_open && subject.is_none() {
            out.ended = q.count_ending(conn)?;
            out.holds += q.count_running(conn)?;
        }
        Ok(out)
    }

    /// Rule `i`'s compiled condition, as the store's queries take it.
    fn rule_sql(&self, i: usize) -> RuleSql<'_> {
        let c = &self.compiled[i];
        RuleSql {
            table: self.policy.rules[i].entity.table(),
            joins: &c.joins,
            condition: &c.condition,
            select: &c.select,
            scan_from: &c.scan_from,
            scan_condition: &c.scan_condition,
            scan_select: &c.scan_select,
        }
    }

    /// Rule `i`'s parameters: `?1` today, then its literals.
    fn bound(&self, i: usize, as_of: &AsOf) -> Vec<Sql> {
        let c = &self.compiled[i];
        let mut bound: Vec<Sql> = Vec::with_capacity(c.params.len() + 4);
        bound.push(Sql::Text(as_of.today.to_string()));
        bound.extend(c.params.iter().cloned());
        bound
    }

    /// Whether the compiled condition of rule `i` holds for `subject` (the
    /// SQL path's answer, beside the interpreter's in `explain`). `None`
    /// when there is no such subject.
    pub fn sql_holds(
        &self,
        conn: &Db,
        i: usize,
        as_of: &AsOf,
        subject: &str,
    ) -> Result<Option<bool>> {
        crate::store::workdays::ensure(conn, &self.workdays)?;
        firings::holds_for(conn, &self.rule_sql(i), self.bound(i, as_of), subject)
    }

    /// Why rule `i` holds or not for `subject` at `as_of`: the reference
    /// interpreter's tree of the condition, each part with its value, and
    /// the SQL path's answer beside it. `None` when there is no such
    /// subject. (`duban explain` and the workbench's rules page.)
    pub fn explain_tree(
        &self,
        conn: &Db,
        i: usize,
        as_of: &AsOf,
        subject: &str,
    ) -> Result<Option<(crate::interpret::explain::Node, bool)>> {
        let Some(sql_holds) = self.sql_holds(conn, i, as_of, subject)? else {
            return Ok(None);
        };
        let rule = &self.policy.rules[i];
        let data = crate::interpret::SqliteData::new(conn);
        let interp = crate::interpret::Interpreter {
            policy: self.policy,
            data: &data,
            today: as_of.today,
            calendar: self.calendar(),
        };
        let scopes = [crate::interpret::Scope {
            entity: rule.entity,
            id: Some(subject.to_string()),
        }];
        Ok(Some((interp.explain(&rule.when, &scopes)?, sql_holds)))
    }

    /// How many subjects rule `i` holds for at `as_of` (dry-run's "holds
    /// for"), whatever its episodes.
    pub fn holds_count(&self, conn: &Db, i: usize, as_of: &AsOf) -> Result<u64> {
        crate::store::workdays::ensure(conn, &self.workdays)?;
        firings::count_holding(conn, &self.rule_sql(i), &self.bound(i, as_of))
    }

    /// Fills the working-day table for this office's calendar in a short
    /// transaction of its own (nothing when it holds it already). Called
    /// before the rules' transactions of a run, which read the table: on
    /// PostgreSQL it is shared, and rows written inside a rule's
    /// transaction would hold every other connection needing them (a
    /// workbench page) until its commit. (Dry-run and simulate, which write
    /// nothing, fill it inside their transaction if they must; a dry-run on
    /// PostgreSQL reads its rules side by side only once it is filled.)
    pub fn fill_workdays(&self, conn: &mut Db) -> Result<()> {
        crate::store::workdays::fill(conn, &self.workdays)
    }

    /// Reports what a run would do, in one transaction on one snapshot of
    /// the database (on PostgreSQL, once the working-day table holds the
    /// office's calendar), writing nothing, reading as `reading` says (with `values`,
    /// each plan carries the facts and template values a run would record,
    /// which a dry-run's output does not show, and so does not read).
    pub fn dry_run(
        &self,
        conn: &mut Db,
        rules: &[usize],
        as_of: &AsOf,
        reading: Reading,
        sink: &mut dyn FnMut(&Plan<'_>) -> Result<()>,
    ) -> Result<Vec<RuleOutcome>> {
        let mode = Mode::Report(reading);
        // Memory flat in the size of the office (see `CacheSize::Report`).
        sqlite::with_page_cache(conn, CacheSize::Report(1), |conn| {
            // One snapshot for every rule. On PostgreSQL that transaction
            // is read-only: when the shared working-day table does not hold
            // the office's calendar, the dry-run reads at the default level
            // instead (each statement the last commits), filling the table
            // inside its transaction and rolling it back with it — a
            // dry-run writes nothing.
            let tx = {
                let tx = conn.transaction_with_behavior(Behavior::Snapshot)?;
                if crate::store::workdays::ready_read_only(&tx, &self.workdays)? {
                    tx
                } else {
                    tx.rollback()?;
                    conn.transaction_with_behavior(Behavior::Deferred)?
                }
            };
            let mut outcomes = Vec::new();
            for &i in rules {
                outcomes.push(self.evaluate_rule(&tx, i, as_of, mode, sink)?);
            }
            tx.rollback()?;
            Ok(outcomes)
        })
    }

    /// Evaluates and records the rules, one transaction each: a crash leaves
    /// each rule's tasks, notices, episodes and audit all there or none.
    pub fn run(
        &self,
        conn: &mut Db,
        rules: &[usize],
        as_of: &AsOf,
        opts: &RunOptions<'_>,
        sink: &mut dyn FnMut(&Plan<'_>) -> Result<()>,
    ) -> Result<Vec<RuleOutcome>> {
        let run_id = runs::start(
            conn,
            opts.kind,
            &as_of.rfc3339(),
            &self.policy.hash,
            &utc_text(opts.clock.now()),
            crate::owner::current(),
        )?;
        self.fill_workdays(conn)?;
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
            let tx = conn.transaction_with_behavior(Behavior::Immediate)?;
            let name = &self.policy.rules[i].name;
            runs::lock_rule(&tx, name)?;
            if let Some(at) = opts.scheduled
                && runs::ran_for(&tx, name, at)?
            {
                // Another service ran it for this time while this one waited.
                tx.rollback()?;
                continue;
            }
            let o = self.evaluate_rule(&tx, i, as_of, Mode::Apply { run_id }, sink)?;
            runs::add_rule(
                &tx,
                run_id,
                runs::RuleCounts {
                    fired: o.firings(),
                    tasks: o.tasks,
                    notices: o.notices,
                    skipped: o.skipped,
                },
            )?;
            if let Some(at) = opts.scheduled {
                runs::record_scheduled(&tx, name, at)?;
            }
            tx.commit()?;
            outcomes.push(o);
        }
        if !stopped {
            approval::remind_overdue(conn, &self.office(), as_of)?;
        }
        runs::finish(
            conn,
            run_id,
            &utc_text(opts.clock.now()),
            stopped.then_some("stopped before the end"),
        )?;
        Ok(outcomes)
    }
}
