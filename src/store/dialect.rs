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

    /// `date` moved by a number of days given as a parameter (see
    /// [`Dialect::day_offset`]).
    pub fn add_days_param(self, date: &str, offset: &str) -> String {
        match self {
            Dialect::Sqlite => format!("date({date}, {offset})"),
            Dialect::Postgres => format!("(CAST({date} AS date) + CAST({offset} AS integer))"),
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

    /// The latest of several values, NULL when one is NULL (SQLite's
    /// scalar `max`; PostgreSQL's `greatest` skips NULLs).
    pub fn greatest(self, args: &[String]) -> String {
        match self {
            Dialect::Sqlite => format!("max({})", args.join(", ")),
            Dialect::Postgres => null_if_any(args, &format!("greatest({})", args.join(", "))),
        }
    }

    /// The earliest of several values, NULL when one is NULL.
    pub fn least(self, args: &[String]) -> String {
        match self {
            Dialect::Sqlite => format!("min({})", args.join(", ")),
            Dialect::Postgres => null_if_any(args, &format!("least({})", args.join(", "))),
        }
    }

    /// True or false as a condition is written: SQLite's conditions are
    /// the numbers 1 and 0, PostgreSQL's booleans.
    pub fn truth_value(self, b: bool) -> &'static str {
        match (self, b) {
            (Dialect::Sqlite, true) => "1",
            (Dialect::Sqlite, false) => "0",
            (Dialect::Postgres, true) => "TRUE",
            (Dialect::Postgres, false) => "FALSE",
        }
    }

    /// A condition as the number 0 or 1, to sum or compare with numbers.
    pub fn bool_number(self, cond: &str) -> String {
        match self {
            Dialect::Sqlite => cond.to_string(),
            Dialect::Postgres => format!("CAST({cond} AS integer)"),
        }
    }

    /// Real division; a zero divisor gives NULL (SQLite does so itself,
    /// PostgreSQL raises an error).
    pub fn divide(self, x: &str, y: &str) -> String {
        match self {
            Dialect::Sqlite => format!("(CAST({x} AS REAL) / {y})"),
            Dialect::Postgres => format!("(CAST({x} AS double precision) / nullif({y}, 0))"),
        }
    }

    /// The parameter [`Dialect::add_days_param`] takes for `k` days:
    /// SQLite's modifier text `+k days`, PostgreSQL's integer.
    pub fn day_offset(self, k: i64) -> super::Value {
        match self {
            Dialect::Sqlite => super::Value::Text(format!("{k:+} days")),
            Dialect::Postgres => super::Value::Integer(k),
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

/// `expr`, or NULL when one of `args` is.
fn null_if_any(args: &[String], expr: &str) -> String {
    let nulls: Vec<String> = args.iter().map(|a| format!("{a} IS NULL")).collect();
    format!(
        "(CASE WHEN {} THEN NULL ELSE {expr} END)",
        nulls.join(" OR ")
    )
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
