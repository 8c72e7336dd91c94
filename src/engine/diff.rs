//! `diff OLD NEW`: the actions NEW would add and remove against OLD, on the
//! same data and episode state. Both policies are evaluated in one read
//! transaction; their actions go into temporary tables and are compared
//! there, so large differences never sit in memory.

use super::Engine;
use super::plan::ActionJson;
use crate::clock::AsOf;
use crate::error::Result;
use crate::store::{Behavior, Db};

/// Streams the added and removed actions (as their JSON text) to the sinks.
pub fn diff(
    conn: &mut Db,
    old: &Engine<'_>,
    new: &Engine<'_>,
    as_of: &AsOf,
    added: &mut dyn FnMut(ActionJson) -> Result<()>,
    removed: &mut dyn FnMut(ActionJson) -> Result<()>,
) -> Result<()> {
    let tx = conn.transaction_with_behavior(Behavior::Deferred)?;
    tx.execute_batch(
        "DROP TABLE IF EXISTS temp.diff_actions;
         CREATE TEMP TABLE diff_actions (side TEXT NOT NULL, action TEXT NOT NULL);",
    )?;
    for (side, engine) in [("old", old), ("new", new)] {
        let rules: Vec<usize> = (0..engine.policy.rules.len()).collect();
        let mut insert =
            tx.prepare("INSERT INTO temp.diff_actions (side, action) VALUES (?1, ?2)")?;
        for i in rules {
            engine.evaluate_rule(
                &tx,
                i,
                as_of,
                super::Mode::Report { fresh: false },
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
        let mut stmt = tx.prepare(
            "SELECT action FROM temp.diff_actions WHERE side = ?1
             EXCEPT SELECT action FROM temp.diff_actions WHERE side = ?2
             ORDER BY 1",
        )?;
        let mut rows = stmt.query(crate::params![from, against])?;
        while let Some(r) = rows.next()? {
            let text: String = r.get(0)?;
            let action: ActionJson = serde_json::from_str(&text)
                .map_err(|e| crate::error::Error::failed("diff: decoding an action", e))?;
            sink(action)?;
        }
    }
    tx.execute_batch("DROP TABLE IF EXISTS temp.diff_actions;")?;
    tx.rollback()?;
    Ok(())
}
