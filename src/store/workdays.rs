//! The working-day calendar as a table the compiled rules join
//! (`temp.workdays`): every covered day, whether it is worked, and its
//! ordinal — the working days up to and including it — so that
//! `workdays_since(deadline)` is a difference of two ordinals, computed in
//! SQLite — when both days are in one run of consecutive covered years
//! (`run_first`, `run_last`); else it is missing, as the interpreter says. A temporary table of each connection, filled from the office's
//! calendar before a rule is evaluated: nothing is written to the file.

use crate::calendar::Calendar;
use crate::error::Result;
use rusqlite::{Connection, params};

/// The table as compiled SQL names it.
pub const TABLE: &str = "temp.workdays";

/// Makes `temp.workdays` hold `calendar` on this connection.
pub fn ensure(conn: &Connection, calendar: &Calendar) -> Result<()> {
    let days = calendar.days();
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS workdays (
           day TEXT PRIMARY KEY NOT NULL, work INTEGER NOT NULL, ordinal INTEGER NOT NULL,
           run_first TEXT NOT NULL, run_last TEXT NOT NULL) WITHOUT ROWID;
         CREATE INDEX IF NOT EXISTS temp.workdays_ordinal ON workdays(ordinal, day);",
    )?;
    let (n, last): (i64, Option<i64>) = conn.query_row(
        "SELECT count(*), max(ordinal) FROM temp.workdays",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let same = n as usize == days.len()
        && last == days.last().map(|d| d.ordinal)
        && days.first().is_some_and(|first| {
            conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM temp.workdays WHERE day = ?1)",
                [first.day.to_string()],
                |r| r.get::<_, bool>(0),
            )
            .unwrap_or(false)
        });
    if same || (days.is_empty() && n == 0) {
        return Ok(());
    }
    conn.execute_batch("DELETE FROM temp.workdays;")?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO temp.workdays (day, work, ordinal, run_first, run_last) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for d in days {
        insert.execute(params![
            d.day.to_string(),
            d.work,
            d.ordinal,
            d.run_first.to_string(),
            d.run_last.to_string()
        ])?;
    }
    Ok(())
}
