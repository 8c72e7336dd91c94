//! A dry-run whose rules are read side by side: a connection per core,
//! each taking the next rule not yet read, all on one snapshot of the
//! database ([`crate::store::snapshot`]). Each rule's firings go into a
//! part of the report on its reader's thread; the parts are handed back in
//! the rules' order, so that the output is that of one connection reading
//! the rules one after another.

use super::{Engine, Mode, Plan, Reading, RuleOutcome};
use crate::clock::AsOf;
use crate::error::{Error, Result};
use crate::store::sqlite::{self, CacheSize};
use crate::store::{Db, Location};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// How many rules' parts may be read ahead of the one whose turn it is:
/// each waits with its lists in temporary files.
const READ_AHEAD: usize = 16;

/// Where a report's firings go when its rules are read side by side: each
/// rule's into a part of its own, filled on the thread that reads the rule.
pub trait Parts: Sync {
    type Part: Send;
    /// An empty part for `rule`.
    fn part(&self, rule: &crate::lang::ir::Rule) -> Result<Self::Part>;
    /// Adds a firing to its rule's part.
    fn firing(&self, part: &mut Self::Part, p: &Plan<'_>) -> Result<()>;
}

/// Whose turn it is: how many parts have been handed back, and whether
/// the readers are to stop (a failure, or the reader of the rule whose turn
/// it is ended without it).
#[derive(Default)]
struct Turn {
    handed: Mutex<usize>,
    moved: Condvar,
    stopped: AtomicBool,
}

impl Turn {
    /// Waits until rule `k` may be read (no more than [`READ_AHEAD`] ahead
    /// of the turn); false when the readers are to stop instead.
    fn wait_for_room(&self, k: usize) -> bool {
        let Ok(mut handed) = self.handed.lock() else {
            return false;
        };
        while !self.stopped() && k >= *handed + READ_AHEAD {
            handed = match self.moved.wait(handed) {
                Ok(h) => h,
                Err(_) => return false,
            };
        }
        !self.stopped()
    }

    fn hand_on(&self) {
        if let Ok(mut handed) = self.handed.lock() {
            *handed += 1;
        }
        self.moved.notify_all();
    }

    fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        // Taken so that a reader about to wait sees it.
        drop(self.handed.lock());
        self.moved.notify_all();
    }

    fn stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }
}

/// Stops the other readers when its reader's thread panics.
struct StopOnPanic<'t>(&'t Turn);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

impl Engine<'_> {
    /// A dry-run (see [`Engine::dry_run`]) whose rules are read side by
    /// side, on up to `jobs` new connections to `at` that read one snapshot:
    /// each rule's firings go into a part of `parts`, and `done` takes the
    /// parts in the rules' order. `None` when they cannot be read so: one
    /// job or one rule; a sink that writes (`reading.sink_writes`); no shared
    /// snapshot to be had at once ([`crate::store::snapshot::readers`]); on
    /// PostgreSQL, a working-day table that does not hold the office's
    /// calendar, which read-only readers cannot fill. The caller then reads
    /// them one after another with [`Engine::dry_run`].
    #[allow(clippy::too_many_arguments)]
    pub fn dry_run_side_by_side<P: Parts>(
        &self,
        conn: &mut Db,
        at: &Location,
        rules: &[usize],
        as_of: &AsOf,
        reading: Reading,
        jobs: usize,
        parts: &P,
        done: &mut dyn FnMut(P::Part) -> Result<()>,
    ) -> Result<Option<Vec<RuleOutcome>>> {
        let jobs = jobs.min(rules.len());
        if jobs < 2 || reading.sink_writes {
            return Ok(None);
        }
        let ready = |db: &Db| crate::store::workdays::ready_read_only(db, &self.workdays);
        let Some(readers) = crate::store::snapshot::readers(conn, at, jobs, &ready)? else {
            return Ok(None);
        };
        let mode = Mode::Report(reading);
        let cache = CacheSize::Report(readers.len());
        let (next, turn) = (AtomicUsize::new(0), Turn::default());
        std::thread::scope(|scope| {
            let (sent, received) = std::sync::mpsc::channel();
            let mut threads = Vec::new();
            for mut reader in readers {
                let sent = sent.clone();
                let (next, turn) = (&next, &turn);
                threads.push(scope.spawn(move || {
                    let _stop = StopOnPanic(turn);
                    sqlite::with_page_cache(&mut reader, cache, |conn| {
                        loop {
                            let k = next.fetch_add(1, Ordering::SeqCst);
                            let Some(&i) = rules.get(k) else {
                                return Ok(());
                            };
                            if !turn.wait_for_room(k) {
                                return Ok(());
                            }
                            let read = parts.part(&self.policy.rules[i]).and_then(|mut part| {
                                let o = self.evaluate_rule(conn, i, as_of, mode, &mut |p| {
                                    if turn.stopped() {
                                        return Err(Error::failed("reading the rules", "stopped"));
                                    }
                                    parts.firing(&mut part, p)
                                })?;
                                Ok((o, part))
                            });
                            let failed = read.is_err();
                            if sent.send((k, read)).is_err() || failed {
                                return Ok(());
                            }
                        }
                    })
                }));
            }
            drop(sent);
            // The parts in the rules' order, each as soon as those before it
            // are handed back; the later ones wait (their lists on disk).
            let mut waiting = std::collections::BTreeMap::new();
            let mut outcomes = Vec::with_capacity(rules.len());
            for (k, read) in received {
                waiting.insert(k, read);
                while let Some(read) = waiting.remove(&outcomes.len()) {
                    match read.and_then(|(o, part)| done(part).map(|()| o)) {
                        Ok(o) => {
                            outcomes.push(o);
                            turn.hand_on();
                        }
                        Err(e) => {
                            turn.stop();
                            return Err(e);
                        }
                    }
                }
            }
            if outcomes.len() < rules.len() {
                // A reader ended without its rule: why.
                turn.stop();
                for t in threads {
                    match t.join() {
                        Err(panic) => std::panic::resume_unwind(panic),
                        Ok(Err(e)) => return Err(e),
                        Ok(Ok(())) => {}
                    }
                }
                return Err(Error::failed(
                    "reading the rules side by side",
                    "a connection stopped before the last rule",
                ));
            }
            Ok(Some(outcomes))
        })
    }
}
