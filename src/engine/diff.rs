//! `diff OLD NEW`: the actions NEW would add and remove against OLD, on the
//! same data and episode state. Both policies are evaluated in one read
//! transaction; their actions go into temporary tables and are compared
//! there, so large differences never sit in memory.

use super::Engine;
use super::plan::ActionJson;
use crate::clock::AsOf;
use crate::error::Result;
use crate::store::sqlite::{self, CacheSize};
use crate::store::{Behavior, Db, diff_actions};

/// Streams the added and removed actions (as their JSON text) to the sinks.
pub fn diff(
    conn: &mut Db,
    old: &Engine<'_>,
    new: &Engine<'_>,
    as_of: &AsOf,
    added: &mut dyn FnMut(ActionJson) -> Result<()>,
    removed: &mut dyn FnMut(ActionJson) -> Result<()>,
) -> Result<()> {
    // A report's page cache: memory flat in the size of the office (see
    // `CacheSize::Report`).
    sqlite::with_page_cache(conn, CacheSize::Report(1), |conn| {
        let tx = conn.transaction_with_behavior(Behavior::Deferred)?;
        diff_actions::create(&tx)?;
        for (side, engine) in [("old", old), ("new", new)] {
            let rules: Vec<usize> = (0..engine.policy.rules.len()).collect();
            let mut insert = diff_actions::adding(&tx)?;
            for i in rules {
                engine.evaluate_rule(
                    &tx,
                    i,
                    as_of,
                    // Compared in a table: no order needed; each action
                    // written into it as it comes.
                    super::Mode::Report(super::Reading {
                        sink_writes: true,
                        ..Default::default()
                    }),
                    &mut |p| {
                        for a in p.actions_json() {
                            let text = serde_json::to_string(&a).map_err(|e| {
                                crate::error::Error::failed("diff: encoding an action", e)
                            })?;
                            insert.execute(crate::params![side, text])?;
                        }
                        Ok(())
                    },
                )?;
            }
        }
        type Sink<'s> = &'s mut dyn FnMut(ActionJson) -> Result<()>;
        let sides: [(&str, &str, Sink<'_>); 2] = [("new", "old", added), ("old", "new", removed)];
        for (from, against, sink) in sides {
            diff_actions::only_on(&tx, from, against, &mut |text| {
                let action: ActionJson = serde_json::from_str(&text)
                    .map_err(|e| crate::error::Error::failed("diff: decoding an action", e))?;
                sink(action)
            })?;
        }
        diff_actions::drop(&tx)?;
        tx.rollback()?;
        Ok(())
    })
}
