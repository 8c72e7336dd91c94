//! Everything spelled differently in SQLite and PostgreSQL, in one place:
//! parameters, transactions, day arithmetic, greatest/least, booleans as
//! numbers, DDL. Code that builds SQL asks its [`Dialect`]; nothing else
//! writes either spelling.

use super::db::Behavior;

/// The database a statement is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SQLite",
            Dialect::Postgres => "PostgreSQL",
        }
    }

    /// The statement that starts a transaction.
    pub fn begin(self, behavior: Behavior) -> &'static str {
        match (self, behavior) {
            (Dialect::Sqlite, Behavior::Deferred) => "BEGIN DEFERRED",
            (Dialect::Sqlite, Behavior::Immediate) => "BEGIN IMMEDIATE",
            (Dialect::Postgres, _) => "BEGIN",
        }
    }

    /// A day (text `YYYY-MM-DD` in SQLite, `date` in PostgreSQL) as it is
    /// compared and counted: a parameter or column expression.
    pub fn day(self, x: &str) -> String {
        match self {
            Dialect::Sqlite => x.to_string(),
            Dialect::Postgres => format!("CAST({x} AS date)"),
        }
    }

    /// Days from `from` to `to` (`to - from`), as a real number; NULL if
    /// either is NULL.
    pub fn days_between(self, to: &str, from: &str) -> String {
        match self {
            Dialect::Sqlite => format!("(julianday({to}) - julianday({from}))"),
            Dialect::Postgres => {
                format!("CAST(CAST({to} AS date) - CAST({from} AS date) AS double precision)")
            }
        }
    }

    /// Whole days from `from` to `to`, as an integer.
    pub fn whole_days_between(self, to: &str, from: &str) -> String {
        match self {
            Dialect::Sqlite => format!("CAST(julianday({to}) - julianday({from}) AS INTEGER)"),
            Dialect::Postgres => format!("(CAST({to} AS date) - CAST({from} AS date))"),
        }
    }

    /// `date` moved by a number of days given as the text `+N days` (a
    /// parameter), as SQLite's `date(x, '+N days')`.
    pub fn add_days_param(self, date: &str, offset: &str) -> String {
        match self {
            Dialect::Sqlite => format!("date({date}, {offset})"),
            Dialect::Postgres => format!("(CAST({date} AS date) + CAST({offset} AS interval))"),
        }
    }

    /// `date` moved by a whole number of days written in the SQL.
    pub fn add_days(self, date: &str, days: i64) -> String {
        match self {
            Dialect::Sqlite => format!("date({date}, '{days:+} days')"),
            Dialect::Postgres => format!("(CAST({date} AS date) + {days})"),
        }
    }

    /// `date` moved by a number of days computed in the query (a real
    /// number; whole days are taken).
    pub fn add_days_expr(self, date: &str, days: &str) -> String {
        match self {
            Dialect::Sqlite => format!("date({date}, printf('%+.6f days', {days}))"),
            Dialect::Postgres => {
                format!("(CAST({date} AS date) + CAST(floor({days}) AS integer))")
            }
        }
    }

    /// The latest (`max`) or earliest (`min`) of several values, NULLs
    /// aside as SQLite's scalar max/min do not: only used with values that
    /// are never NULL.
    pub fn greatest(self, args: &[String]) -> String {
        match self {
            Dialect::Sqlite => format!("max({})", args.join(", ")),
            Dialect::Postgres => format!("greatest({})", args.join(", ")),
        }
    }

    pub fn least(self, args: &[String]) -> String {
        match self {
            Dialect::Sqlite => format!("min({})", args.join(", ")),
            Dialect::Postgres => format!("least({})", args.join(", ")),
        }
    }

    /// A condition (boolean in PostgreSQL, 0 or 1 in SQLite) as the number
    /// 0 or 1, to sum or compare with numbers.
    pub fn bool_number(self, cond: &str) -> String {
        match self {
            Dialect::Sqlite => cond.to_string(),
            Dialect::Postgres => format!("CAST({cond} AS integer)"),
        }
    }

    /// A number 0 or 1 (or a boolean) as a condition in WHERE.
    pub fn truth(self, x: &str) -> String {
        match self {
            Dialect::Sqlite => x.to_string(),
            Dialect::Postgres => format!("(({x}) <> 0)"),
        }
    }

    /// A number read back as a real (PostgreSQL's sums of integers are
    /// `numeric`, its averages too).
    pub fn real(self, x: &str) -> String {
        match self {
            Dialect::Sqlite => x.to_string(),
            Dialect::Postgres => format!("CAST({x} AS double precision)"),
        }
    }

    /// A real number typed as such for a comparison of parameters.
    pub fn number_param(self, p: &str) -> String {
        match self {
            Dialect::Sqlite => p.to_string(),
            Dialect::Postgres => format!("CAST({p} AS double precision)"),
        }
    }

    /// A text parameter typed as such.
    pub fn text_param(self, p: &str) -> String {
        match self {
            Dialect::Sqlite => p.to_string(),
            Dialect::Postgres => format!("CAST({p} AS text)"),
        }
    }

    /// The latest day there is: an open end of a window.
    pub fn last_day(self) -> String {
        self.day("'9999-12-31'")
    }

    /// The earliest day there is.
    pub fn first_day(self) -> String {
        match self {
            Dialect::Sqlite => "'0000-01-01'".into(),
            Dialect::Postgres => "CAST('0001-01-01' AS date)".into(),
        }
    }
}

/// SQLite's parameters (`?1`, `?2`, or `?` in order) as PostgreSQL's
/// (`$1`, `$2` …), leaving quoted text and comments alone.
pub fn numbered_params(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let mut next = 1usize;
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == '\n' {
                        break;
                    }
                }
            }
            '?' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                let n = if digits.is_empty() {
                    next
                } else {
                    digits.parse().unwrap_or(next)
                };
                next = n + 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_numbered_outside_quotes() {
        assert_eq!(
            numbered_params("SELECT ?1, '?2', ? -- ?9\n, ?3"),
            "SELECT $1, '?2', $2 -- ?9\n, $3"
        );
    }
}
