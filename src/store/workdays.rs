//! The working-day calendar as a table the compiled rules join
//! (`temp.workdays`): every covered day, whether it is worked, and its
//! ordinal — the working days up to and including it — so that
//! `workdays_since(deadline)` is a difference of two ordinals, computed in
//! SQLite. A temporary table of each connection, filled from the office's
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
           day TEXT PRIMARY KEY NOT NULL, work INTEGER NOT NULL, ordinal INTEGER NOT NULL) WITHOUT ROWID;",
    )?;
    let (n, last): (i64, Option<i64>) = conn.query_row(
        "SELECT count(*), max(ordinal) FROM temp.workdays",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let same = n as usize == days.len()
        && last == days.last().map(|d| d.2)
        && days.first().is_some_and(|(first, _, _)| {
            conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM temp.workdays WHERE day = ?1)",
                [first.to_string()],
                |r| r.get::<_, bool>(0),
            )
            .unwrap_or(false)
        });
    if same || (days.is_empty() && n == 0) {
        return Ok(());
    }
    conn.execute_batch("DELETE FROM temp.workdays;")?;
    let mut insert =
        conn.prepare_cached("INSERT INTO temp.workdays (day, work, ordinal) VALUES (?1, ?2, ?3)")?;
    for (day, work, ordinal) in days {
        insert.execute(params![day.to_string(), work, ordinal])?;
    }
    Ok(())
}
