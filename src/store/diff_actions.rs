//! The actions two policies would take, side by side in a temporary table
//! (`duban diff`), and those only one side takes: large differences never
//! sit in memory.

use super::{Db, Statement};
use crate::error::Result;

/// Makes the (empty) table of both sides' actions.
pub fn create(conn: &Db) -> Result<()> {
    conn.execute_batch(&conn.dialect().new_temp_table(
        "diff_actions",
        "CREATE TEMP TABLE diff_actions (side TEXT NOT NULL, action TEXT NOT NULL)",
    ))?;
    Ok(())
}

/// The statement adding an action (`side`, its JSON text).
pub fn adding(conn: &Db) -> Result<Statement<'_>> {
    Ok(conn.prepare(&format!(
        "INSERT INTO {} (side, action) VALUES (?1, ?2)",
        conn.dialect().temp("diff_actions")
    ))?)
}

/// The actions of side `from` that side `against` does not take, in the
/// order of their text's bytes, each to `each`.
pub fn only_on(
    conn: &Db,
    from: &str,
    against: &str,
    each: &mut dyn FnMut(String) -> Result<()>,
) -> Result<()> {
    let d = conn.dialect();
    let table = d.temp("diff_actions");
    let mut stmt = conn.prepare(&format!(
        "SELECT action FROM (
           SELECT action FROM {table} WHERE side = ?1
           EXCEPT SELECT action FROM {table} WHERE side = ?2) AS a
         ORDER BY {}",
        d.bytewise("action")
    ))?;
    let mut rows = stmt.query(crate::params![from, against])?;
    while let Some(r) = rows.next()? {
        each(r.get(0)?)?;
    }
    Ok(())
}

/// Drops the table.
pub fn drop(conn: &Db) -> Result<()> {
    conn.execute_batch(&conn.dialect().drop_temp_table("diff_actions"))?;
    Ok(())
}
