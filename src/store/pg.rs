//! PostgreSQL through rust-postgres (its synchronous client): connecting,
//! binding duban's values by the types the server gives the parameters,
//! reading columns back as duban's values, and its errors in duban's
//! words. Nothing outside `src/store` names the driver.
//!
//! The synchronous client runs its own runtime: inside tokio (the
//! workbench) it is used from blocking threads only, as every database
//! call of the workbench is.

use super::db::{DatabaseError, DbResult, ErrorKind, Value, ValueRef};
use super::dialect;
use bytes::BytesMut;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use std::cell::RefCell;
use std::collections::HashMap;

impl From<postgres::Error> for DatabaseError {
    fn from(e: postgres::Error) -> Self {
        let code = e.code().map(|c| c.code().to_string());
        let kind = match code.as_deref() {
            _ if e.is_closed() => ErrorKind::Connection,
            Some("23505") => ErrorKind::Duplicate,
            Some(c) if c.starts_with("23") => ErrorKind::Constraint,
            Some("40001" | "40P01" | "55P03") => ErrorKind::Busy,
            Some(c) if c.starts_with("08") => ErrorKind::Connection,
            None if e.as_db_error().is_none() && e.to_string().contains("connect") => {
                ErrorKind::Connection
            }
            _ => ErrorKind::Other,
        };
        let message = match e.as_db_error() {
            Some(db) => {
                let mut m = db.message().to_string();
                if let Some(detail) = db.detail() {
                    m.push_str(&format!(" ({detail})"));
                }
                m
            }
            None => {
                // "error connecting to server", and why.
                let mut m = e.to_string();
                let mut cause = std::error::Error::source(&e);
                while let Some(c) = cause {
                    m.push_str(&format!(": {c}"));
                    cause = c.source();
                }
                m
            }
        };
        DatabaseError {
            message,
            code,
            kind,
        }
    }
}

/// A connection to PostgreSQL and the statements it prepared.
pub struct PgConn {
    client: RefCell<postgres::Client>,
    cache: RefCell<HashMap<String, Prepared>>,
    /// Cursors opened so far: the next one's name.
    cursors: std::cell::Cell<u64>,
}

/// A statement prepared on the server, with SQLite's parameters it uses
/// (see [`dialect::dense_params`]) and how many SQLite's statement has.
#[derive(Clone)]
struct Prepared {
    stmt: postgres::Statement,
    /// Its text as the server took it, with `$k` parameters.
    text: std::sync::Arc<str>,
    used: std::sync::Arc<[usize]>,
    count: usize,
}

/// Rows a cursor hands over at a time: what a streamed query holds in
/// memory at most.
const FETCH_ROWS: usize = 1000;

/// How long connecting to a server may take before duban gives up.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// Whether rust-postgres reads `url` as a connection string; its
/// complaint otherwise.
pub(crate) fn check_url(url: &str) -> Result<(), String> {
    url.parse::<postgres::Config>()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Whether `url` carries a password.
pub(crate) fn url_has_password(url: &str) -> bool {
    url.parse::<postgres::Config>()
        .is_ok_and(|c| c.get_password().is_some())
}

/// Connects to the server at `url` (`postgresql://user@host:port/db`),
/// with `password` when the server asks for one.
pub(crate) fn connect(url: &str, password: Option<&str>) -> DbResult<PgConn> {
    let mut config: postgres::Config = url
        .parse()
        .map_err(|e: postgres::Error| DatabaseError::new(ErrorKind::Other, e.to_string()))?;
    if let Some(p) = password {
        config.password(p);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    // A cursor's query planned as the query itself is, for all its rows
    // (PostgreSQL's planner otherwise favours the first tenth of them):
    // the same plan whether its rows are fetched in batches or at once.
    // The server's notices (`table "firing" does not exist, skipping` of
    // each `DROP TABLE IF EXISTS`) stay out of the service's log; its
    // warnings and errors do not. No JIT compilation: duban's statements
    // each take well under a second, where compiling them costs more than
    // it saves (at a million problems: `simulate --days 30` 8.1 → 7.85 s,
    // `dry-run` 1.95 → 1.85 s). The URL's own options come after these and
    // so win (`?options=-c%20jit%3Don`).
    const OPTIONS: &str = "-c cursor_tuple_fraction=1 -c client_min_messages=warning -c jit=off";
    let options = match config.get_options() {
        Some(o) => format!("{OPTIONS} {o}"),
        None => OPTIONS.to_string(),
    };
    config.options(&options);
    let client = config.connect(postgres::NoTls)?;
    Ok(PgConn {
        client: RefCell::new(client),
        cache: RefCell::new(HashMap::new()),
        cursors: std::cell::Cell::new(0),
    })
}

impl PgConn {
    fn client(&self) -> DbResult<std::cell::RefMut<'_, postgres::Client>> {
        self.client.try_borrow_mut().map_err(|_| {
            DatabaseError::new(
                ErrorKind::Other,
                "the PostgreSQL connection is in use by another statement",
            )
        })
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.client.try_borrow().is_ok_and(|c| c.is_closed())
    }

    pub(crate) fn execute_batch(&self, sql: &str) -> DbResult<()> {
        Ok(self.client()?.batch_execute(sql)?)
    }

    pub(crate) fn prepare(&self, sql: &str, cached: bool) -> DbResult<PgStatement<'_>> {
        if cached && let Some(p) = self.cache.borrow().get(sql) {
            return Ok(PgStatement::new(self, p.clone()));
        }
        let (text, used, count) = dialect::dense_params(sql);
        let prepared = Prepared {
            stmt: self.client()?.prepare(&text)?,
            text: text.into(),
            used: used.into(),
            count,
        };
        if cached {
            self.cache
                .borrow_mut()
                .insert(sql.to_string(), prepared.clone());
        }
        Ok(PgStatement::new(self, prepared))
    }

    /// A query whose rows are read as they are needed (see [`Fetch`]).
    pub(crate) fn prepare_fetching(&self, sql: &str, fetch: Fetch) -> DbResult<PgStatement<'_>> {
        let mut stmt = self.prepare(sql, false)?;
        stmt.fetch = fetch;
        Ok(stmt)
    }

    /// Opens a cursor over `stmt`'s query with these values: the rows a
    /// [`PgRows`] then fetches in batches. `None` outside a transaction,
    /// where a cursor cannot be.
    fn open_cursor(&self, text: &str, values: &[&(dyn ToSql + Sync)]) -> DbResult<Option<Cursor>> {
        let n = self.cursors.get() + 1;
        self.cursors.set(n);
        let name = format!("duban_rows_{n}");
        let mut client = self.client()?;
        match client.execute(
            &format!("DECLARE {name} NO SCROLL CURSOR FOR {text}"),
            values,
        ) {
            Ok(_) => {}
            // no_active_sql_transaction
            Err(e) if e.code().is_some_and(|c| c.code() == "25P01") => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        let fetch = client.prepare(&format!("FETCH FORWARD {FETCH_ROWS} FROM {name}"))?;
        Ok(Some(Cursor { name, fetch }))
    }
}

/// A query's rows: all of them, read when it ran, or those of a cursor,
/// fetched [`FETCH_ROWS`] at a time as they are read. Between fetches the
/// connection runs other statements; a cursor reads the rows as they were
/// when it was opened, whatever its transaction writes after.
pub struct PgRows<'c> {
    conn: &'c PgConn,
    batch: std::vec::IntoIter<postgres::Row>,
    current: Option<postgres::Row>,
    cursor: Option<Cursor>,
}

struct Cursor {
    name: String,
    fetch: postgres::Statement,
}

impl<'c> PgRows<'c> {
    fn new(conn: &'c PgConn, rows: Vec<postgres::Row>, cursor: Option<Cursor>) -> Self {
        PgRows {
            conn,
            batch: rows.into_iter(),
            current: None,
            cursor,
        }
    }

    pub(crate) fn next(&mut self) -> DbResult<Option<&postgres::Row>> {
        loop {
            if let Some(row) = self.batch.next() {
                self.current = Some(row);
                return Ok(self.current.as_ref());
            }
            let Some(cursor) = &self.cursor else {
                self.current = None;
                return Ok(None);
            };
            let rows = self.conn.client()?.query(&cursor.fetch, &[])?;
            if rows.len() < FETCH_ROWS {
                self.close();
            }
            if rows.is_empty() {
                self.current = None;
                return Ok(None);
            }
            self.batch = rows.into_iter();
        }
    }

    /// Closes the cursor, if one is open: read to its end, or left.
    fn close(&mut self) {
        if let Some(cursor) = self.cursor.take()
            && let Ok(mut client) = self.conn.client()
        {
            // A transaction that failed has closed it already.
            let _ = client.batch_execute(&format!("CLOSE {}", cursor.name));
        }
    }
}

impl Drop for PgRows<'_> {
    fn drop(&mut self) {
        self.close();
    }
}

/// A statement prepared on the server.
pub struct PgStatement<'c> {
    conn: &'c PgConn,
    stmt: postgres::Statement,
    text: std::sync::Arc<str>,
    used: std::sync::Arc<[usize]>,
    count: usize,
    bound: Vec<Value>,
    /// How its rows are fetched (see [`PgStatement::query`]).
    fetch: Fetch,
}

/// How a statement's rows are fetched from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fetch {
    /// All at once, when it runs.
    AtOnce,
    /// Through a cursor, in batches, between which the connection runs
    /// other statements.
    Batches,
    /// As the server sends them, while it makes the next ones — the
    /// connection doing nothing else until the last is read
    /// ([`PgStatement::each_sent`]).
    AsSent,
}

impl<'c> PgStatement<'c> {
    fn new(conn: &'c PgConn, p: Prepared) -> Self {
        PgStatement {
            conn,
            stmt: p.stmt,
            text: p.text,
            used: p.used,
            count: p.count,
            bound: Vec::new(),
            fetch: Fetch::AtOnce,
        }
    }

    /// The values of the parameters the server's statement uses, checked
    /// against the number SQLite's statement has.
    fn binds<'v>(&self, values: &[ValueRef<'v>]) -> DbResult<Vec<Bind<'v>>> {
        let n = values.len();
        if n != self.count {
            return Err(DatabaseError::new(
                ErrorKind::Other,
                format!(
                    "{n} parameters given where the statement has {}",
                    self.count
                ),
            ));
        }
        Ok(self
            .used
            .iter()
            .filter_map(|&k| values.get(k - 1).map(|v| Bind(*v)))
            .collect())
    }

    pub(crate) fn execute(&mut self, values: &[ValueRef<'_>]) -> DbResult<usize> {
        let binds = self.binds(values)?;
        let refs: Vec<&(dyn ToSql + Sync)> = binds.iter().map(|b| b as _).collect();
        let n = self.conn.client()?.execute(&self.stmt, &refs)?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// The query's rows: a streamed one's through a cursor, in batches,
    /// inside a transaction; else all of them at once.
    pub(crate) fn query(&mut self, values: &[ValueRef<'_>]) -> DbResult<PgRows<'c>> {
        let binds = self.binds(values)?;
        let refs: Vec<&(dyn ToSql + Sync)> = binds.iter().map(|b| b as _).collect();
        if self.fetch != Fetch::AtOnce
            && let Some(cursor) = self.conn.open_cursor(&self.text, &refs)?
        {
            return Ok(PgRows::new(self.conn, Vec::new(), Some(cursor)));
        }
        let rows = self.conn.client()?.query(&self.stmt, &refs)?;
        Ok(PgRows::new(self.conn, rows, None))
    }

    /// Whether its rows are read as the server sends them
    /// ([`PgStatement::each_sent`]).
    pub(crate) fn fetches_as_sent(&self) -> bool {
        self.fetch == Fetch::AsSent
    }

    /// Runs the query with the parameters bound one by one and calls `f`
    /// with each row as the server sends it: the server goes on making
    /// rows while `f` works (as far as the socket's buffers hold them),
    /// where a cursor's waits for the next fetch. The connection is busy
    /// until the last row: a statement `f` runs on it fails.
    pub(crate) fn each_sent<E: From<DatabaseError>>(
        &mut self,
        f: &mut dyn FnMut(&postgres::Row) -> Result<(), E>,
    ) -> Result<(), E> {
        use postgres::fallible_iterator::FallibleIterator;
        let bound = std::mem::take(&mut self.bound);
        let values: Vec<ValueRef<'_>> = bound.iter().map(Value::as_ref).collect();
        let binds = self.binds(&values)?;
        let mut client = self.conn.client()?;
        let mut rows = client
            .query_raw(&self.stmt, binds.iter().map(|b| b as &(dyn ToSql + Sync)))
            .map_err(DatabaseError::from)?;
        while let Some(row) = rows.next().map_err(DatabaseError::from)? {
            f(&row)?;
        }
        Ok(())
    }

    pub(crate) fn bind(&mut self, i: usize, value: Value) {
        if self.bound.len() < i {
            self.bound.resize(i, Value::Null);
        }
        if let Some(slot) = i.checked_sub(1).and_then(|k| self.bound.get_mut(k)) {
            *slot = value;
        }
    }

    pub(crate) fn query_bound(&mut self) -> DbResult<PgRows<'c>> {
        let bound = std::mem::take(&mut self.bound);
        let values: Vec<ValueRef<'_>> = bound.iter().map(Value::as_ref).collect();
        self.query(&values)
    }

    pub(crate) fn execute_bound(&mut self) -> DbResult<usize> {
        let bound = std::mem::take(&mut self.bound);
        let values: Vec<ValueRef<'_>> = bound.iter().map(Value::as_ref).collect();
        self.execute(&values)
    }

    pub(crate) fn parameter_count(&self) -> usize {
        self.count
    }

    pub(crate) fn column_count(&self) -> usize {
        self.stmt.columns().len()
    }

    pub(crate) fn column_names(&self) -> Vec<String> {
        self.stmt
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect()
    }
}

/// A value bound by the type the server inferred for its parameter: text
/// to a `date` parameter is a date, an integer to a `boolean` one a
/// boolean, and so on.
#[derive(Debug)]
struct Bind<'a>(ValueRef<'a>);

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for Bind<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self.0 {
            ValueRef::Null => Ok(IsNull::Yes),
            ValueRef::Integer(n) => match *ty {
                Type::INT2 => i16::try_from(n)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(n)?.to_sql(ty, out),
                Type::INT8 => n.to_sql(ty, out),
                Type::FLOAT4 => (n as f32).to_sql(ty, out),
                Type::FLOAT8 => (n as f64).to_sql(ty, out),
                Type::BOOL => (n != 0).to_sql(ty, out),
                Type::NUMERIC => numeric_to_sql(n as f64, out),
                _ => n.to_string().to_sql(&Type::TEXT, out),
            },
            ValueRef::Real(x) => match *ty {
                Type::FLOAT4 => (x as f32).to_sql(ty, out),
                Type::INT2 | Type::INT4 | Type::INT8 if x.fract() == 0.0 => {
                    Bind(ValueRef::Integer(x as i64)).to_sql(ty, out)
                }
                Type::NUMERIC => numeric_to_sql(x, out),
                Type::TEXT | Type::VARCHAR | Type::BPCHAR => x.to_string().to_sql(ty, out),
                _ => x.to_sql(&Type::FLOAT8, out),
            },
            ValueRef::Text(t) => match *ty {
                Type::DATE => NaiveDate::parse_from_str(t, "%Y-%m-%d")?.to_sql(ty, out),
                Type::TIMESTAMPTZ => parse_time(t)?.to_sql(ty, out),
                Type::TIMESTAMP => parse_time(t)?.naive_utc().to_sql(ty, out),
                Type::INT2 | Type::INT4 | Type::INT8 => {
                    Bind(ValueRef::Integer(t.trim().parse()?)).to_sql(ty, out)
                }
                Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC => {
                    Bind(ValueRef::Real(t.trim().parse()?)).to_sql(ty, out)
                }
                Type::BYTEA => t.as_bytes().to_sql(ty, out),
                _ => t.to_sql(&Type::TEXT, out),
            },
            ValueRef::Date(d) => match *ty {
                Type::DATE => d.to_sql(ty, out),
                _ => d.format("%Y-%m-%d").to_string().to_sql(&Type::TEXT, out),
            },
            ValueRef::Timestamp(t) => match *ty {
                Type::TIMESTAMPTZ => t.to_sql(ty, out),
                Type::TIMESTAMP => t.naive_utc().to_sql(ty, out),
                Type::DATE => t.date_naive().to_sql(ty, out),
                _ => super::db::timestamp_text(&t).to_sql(&Type::TEXT, out),
            },
            ValueRef::Blob(b) => b.to_sql(&Type::BYTEA, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A time as duban writes it (`2026-03-01T08:00:00Z`, RFC 3339), or a day.
fn parse_time(t: &str) -> Result<DateTime<Utc>, BoxError> {
    if let Ok(x) = DateTime::parse_from_rfc3339(t) {
        return Ok(x.with_timezone(&Utc));
    }
    if let Ok(x) = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f") {
        return Ok(x.and_utc());
    }
    Ok(NaiveDate::parse_from_str(t, "%Y-%m-%d")?
        .and_hms_opt(0, 0, 0)
        .ok_or("no midnight")?
        .and_utc())
}

/// A number to a `numeric` parameter, in numeric's binary form, to six
/// decimal places (duban's compiled SQL casts its numbers to `double
/// precision`; this serves statements that compare with a `numeric`).
fn numeric_to_sql(x: f64, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    // numeric's binary form: ndigits, weight, sign, dscale, base-10000 digits
    let neg = x < 0.0;
    let text = format!("{:.6}", x.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let frac = frac.trim_end_matches('0');
    let mut int_digits: Vec<i16> = Vec::new();
    let mut s = int.trim_start_matches('0').to_string();
    while !s.is_empty() {
        let cut = s.len().saturating_sub(4);
        int_digits.insert(0, s[cut..].parse()?);
        s.truncate(cut);
    }
    let mut frac_digits: Vec<i16> = Vec::new();
    let mut f = frac.to_string();
    while !f.is_empty() {
        let mut chunk: String = f.chars().take(4).collect();
        f = f.chars().skip(4).collect();
        while chunk.len() < 4 {
            chunk.push('0');
        }
        frac_digits.push(chunk.parse()?);
    }
    let weight = int_digits.len() as i16 - 1;
    let digits: Vec<i16> = int_digits.into_iter().chain(frac_digits).collect();
    out.extend_from_slice(&(digits.len() as i16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&(if neg { 0x4000u16 } else { 0 }).to_be_bytes());
    out.extend_from_slice(&(frac.len() as u16).to_be_bytes());
    for d in digits {
        out.extend_from_slice(&d.to_be_bytes());
    }
    Ok(IsNull::No)
}

/// A `numeric` column read as a float (sums and averages).
struct Numeric(f64);

impl<'a> FromSql<'a> for Numeric {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let word = |i: usize| -> Result<i16, BoxError> {
            let b = raw.get(i..i + 2).ok_or("short numeric")?;
            Ok(i16::from_be_bytes([b[0], b[1]]))
        };
        let ndigits = word(0)? as usize;
        let weight = word(2)? as i32;
        let sign = word(4)? as u16;
        if sign == 0xC000 {
            return Ok(Numeric(f64::NAN));
        }
        let mut x = 0.0;
        for k in 0..ndigits {
            let d = f64::from(word(8 + 2 * k)?);
            x += d * 10000f64.powi(weight - k as i32);
        }
        Ok(Numeric(if sign == 0x4000 { -x } else { x }))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

/// Column `i` of a row as duban's value, by the column's type.
pub(crate) fn value(row: &postgres::Row, i: usize) -> DbResult<ValueRef<'_>> {
    let Some(col) = row.columns().get(i) else {
        return Err(DatabaseError::conversion(format!(
            "no column {i} among {}",
            row.len()
        )));
    };
    let ty = col.type_().clone();
    fn get<'r, T: FromSql<'r>>(row: &'r postgres::Row, i: usize) -> DbResult<Option<T>> {
        Ok(row.try_get::<_, Option<T>>(i)?)
    }
    let v = match ty {
        Type::BOOL => get::<bool>(row, i)?.map(|b| ValueRef::Integer(b as i64)),
        Type::INT2 => get::<i16>(row, i)?.map(|n| ValueRef::Integer(n.into())),
        Type::INT4 => get::<i32>(row, i)?.map(|n| ValueRef::Integer(n.into())),
        Type::INT8 => get::<i64>(row, i)?.map(ValueRef::Integer),
        Type::OID => get::<u32>(row, i)?.map(|n| ValueRef::Integer(n.into())),
        Type::FLOAT4 => get::<f32>(row, i)?.map(|x| ValueRef::Real(x.into())),
        Type::FLOAT8 => get::<f64>(row, i)?.map(ValueRef::Real),
        Type::NUMERIC => get::<Numeric>(row, i)?.map(|x| {
            if x.0.fract() == 0.0 && x.0.abs() < 9e15 {
                ValueRef::Integer(x.0 as i64)
            } else {
                ValueRef::Real(x.0)
            }
        }),
        Type::DATE => get::<NaiveDate>(row, i)?.map(ValueRef::Date),
        Type::TIMESTAMPTZ => get::<DateTime<Utc>>(row, i)?.map(ValueRef::Timestamp),
        Type::TIMESTAMP => get::<NaiveDateTime>(row, i)?.map(|t| ValueRef::Timestamp(t.and_utc())),
        Type::BYTEA => get::<&[u8]>(row, i)?.map(ValueRef::Blob),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
            get::<&str>(row, i)?.map(ValueRef::Text)
        }
        other => {
            return Err(DatabaseError::conversion(format!(
                "column {} has type {other}, which duban does not read",
                col.name()
            )));
        }
    };
    Ok(v.unwrap_or(ValueRef::Null))
}

impl PgConn {
    /// `COPY … FROM STDIN` (text format): `fill` writes the rows; the
    /// number of rows the server took. A row the server refuses is named
    /// by its line of the copy.
    pub(crate) fn copy_in(
        &self,
        sql: &str,
        fill: &mut dyn FnMut(&mut dyn std::io::Write) -> DbResult<()>,
    ) -> DbResult<u64> {
        let mut client = self.client()?;
        let mut writer = client.copy_in(sql)?;
        let filled = {
            let mut buffered = std::io::BufWriter::with_capacity(1 << 16, &mut writer);
            fill(&mut buffered).and_then(|()| {
                std::io::Write::flush(&mut buffered)
                    .map_err(|e| DatabaseError::new(ErrorKind::Connection, e.to_string()))
            })
        };
        filled?;
        writer.finish().map_err(|e| {
            let place = e.as_db_error().and_then(|d| d.where_()).map(str::to_string);
            let mut err = DatabaseError::from(e);
            if let Some(place) = place {
                err.message.push_str(&format!(" ({place})"));
            }
            err
        })
    }
}
