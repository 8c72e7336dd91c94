//! duban's own database types: a connection ([`Db`]), its transactions
//! ([`Tx`]), statements, rows and values. Everything above `src/store`
//! speaks these; the drivers behind them (rusqlite for SQLite in
//! [`super::sqlite`], rust-postgres for PostgreSQL in [`super::pg`]) are
//! named nowhere else. The SQL a statement is given is SQLite's spelling
//! of parameters (`?1`, `?2` …); [`super::dialect`] spells the rest.

use super::dialect::Dialect;
use super::pg::PgConn;
use chrono::{DateTime, NaiveDate, Utc};
use std::borrow::Cow;
use std::ops::Deref;

/// What kind of failure a database reported, for the callers that act on
/// it (a duplicate id on import, a busy database).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Another writer held the lock past the timeout, or a serialization
    /// failure.
    Busy,
    /// A unique or primary key constraint.
    Duplicate,
    /// Another constraint (CHECK, NOT NULL, foreign key).
    Constraint,
    /// A query that must return a row returned none.
    NoRows,
    /// A value could not be read as the type asked for.
    Conversion,
    /// The connection failed or was closed.
    Connection,
    Other,
}

/// A failure of the database, in duban's words: the driver's message,
/// its code (SQLite's extended code, PostgreSQL's SQLSTATE) and its kind.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DatabaseError {
    pub message: String,
    pub code: Option<String>,
    pub kind: ErrorKind,
}

impl DatabaseError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        DatabaseError {
            message: message.into(),
            code: None,
            kind,
        }
    }

    /// A value that could not be converted to what was asked for.
    pub fn conversion(message: impl Into<String>) -> Self {
        DatabaseError::new(ErrorKind::Conversion, message)
    }
}

pub type DbResult<T> = std::result::Result<T, DatabaseError>;

/// A value stored in, or bound to, a column.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    /// A `date` column (PostgreSQL; SQLite keeps dates as text).
    Date(NaiveDate),
    /// A `timestamptz` column (PostgreSQL; SQLite keeps times as text).
    Timestamp(DateTime<Utc>),
    Blob(Vec<u8>),
}

/// A value borrowed from a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'a str),
    Date(NaiveDate),
    Timestamp(DateTime<Utc>),
    Blob(&'a [u8]),
}

/// How a timestamp reads as text: as duban writes them into SQLite.
pub fn timestamp_text(t: &DateTime<Utc>) -> String {
    if t.timestamp_subsec_nanos() == 0 {
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    }
}

impl<'a> ValueRef<'a> {
    pub fn to_owned(self) -> Value {
        match self {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(n) => Value::Integer(n),
            ValueRef::Real(x) => Value::Real(x),
            ValueRef::Text(t) => Value::Text(t.to_string()),
            ValueRef::Date(d) => Value::Date(d),
            ValueRef::Timestamp(t) => Value::Timestamp(t),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        }
    }

    /// The value as text, if it is text, a date or a time.
    pub fn text(self) -> Option<Cow<'a, str>> {
        match self {
            ValueRef::Text(t) => Some(Cow::Borrowed(t)),
            ValueRef::Date(d) => Some(Cow::Owned(d.format("%Y-%m-%d").to_string())),
            ValueRef::Timestamp(t) => Some(Cow::Owned(timestamp_text(&t))),
            _ => None,
        }
    }
}

impl Value {
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Integer(n) => ValueRef::Integer(*n),
            Value::Real(x) => ValueRef::Real(*x),
            Value::Text(t) => ValueRef::Text(t),
            Value::Date(d) => ValueRef::Date(*d),
            Value::Timestamp(t) => ValueRef::Timestamp(*t),
            Value::Blob(b) => ValueRef::Blob(b),
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $v:ident $(as $as:ty)?),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from(x: $t) -> Value {
                Value::$v(x $(as $as)?)
            }
        }
    )*};
}
value_from!(i64 => Integer, i32 => Integer as i64, u32 => Integer as i64, f64 => Real, String => Text, NaiveDate => Date);

impl From<&str> for Value {
    fn from(x: &str) -> Value {
        Value::Text(x.to_string())
    }
}

impl From<bool> for Value {
    fn from(x: bool) -> Value {
        Value::Integer(x as i64)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(x: Option<T>) -> Value {
        x.map_or(Value::Null, Into::into)
    }
}

/// A Rust value that can be bound to a parameter.
pub trait ToSql {
    fn to_sql(&self) -> ValueRef<'_>;
}

impl<T: ToSql + ?Sized> ToSql for &T {
    fn to_sql(&self) -> ValueRef<'_> {
        (**self).to_sql()
    }
}

impl<T: ToSql + ?Sized> ToSql for Box<T> {
    fn to_sql(&self) -> ValueRef<'_> {
        (**self).to_sql()
    }
}

impl<T: ToSql> ToSql for Option<T> {
    fn to_sql(&self) -> ValueRef<'_> {
        self.as_ref().map_or(ValueRef::Null, ToSql::to_sql)
    }
}

macro_rules! to_sql_int {
    ($($t:ty),*) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> ValueRef<'_> {
                ValueRef::Integer(*self as i64)
            }
        }
    )*};
}
to_sql_int!(i64, i32, i16, i8, u32, u16, u8, u64, usize, isize, bool);

impl ToSql for f64 {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Real(*self)
    }
}

impl ToSql for f32 {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Real(f64::from(*self))
    }
}

impl ToSql for str {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}

impl ToSql for String {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}

impl ToSql for Cow<'_, str> {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}

impl ToSql for [u8] {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}

impl ToSql for Vec<u8> {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}

impl ToSql for Value {
    fn to_sql(&self) -> ValueRef<'_> {
        self.as_ref()
    }
}

impl ToSql for ValueRef<'_> {
    fn to_sql(&self) -> ValueRef<'_> {
        *self
    }
}

/// A Rust value read from a column.
pub trait FromSql: Sized {
    fn from_sql(v: ValueRef<'_>) -> DbResult<Self>;
}

fn wrong(v: ValueRef<'_>, want: &str) -> DatabaseError {
    DatabaseError::conversion(format!("cannot read {v:?} as {want}"))
}

impl FromSql for i64 {
    fn from_sql(v: ValueRef<'_>) -> DbResult<Self> {
        match v {
            ValueRef::Integer(n) => Ok(n),
            v => Err(wrong(v, "an integer")),
        }
    }
}

macro_rules! from_sql_int {
    ($($t:ty),*) => {$(
        impl FromSql for $t {
            fn from_sql(v: ValueRef<'_>) -> DbResult<Self> {
                let n = i64::from_sql(v)?;
                <$t>::try_from(n).map_err(|_| {
                    DatabaseError::conversion(format!("{n} out of range for {}", stringify!($t)))
                })
            }
        }
    )*};
}
from_sql_int!(i32, i16, u32, u16, u8, u64, usize);

impl FromSql for bool {
    fn from_sql(v: ValueRef<'_>) -> DbResult<Self> {
        Ok(i64::from_sql(v)? != 0)
    }
}

impl FromSql for f64 {
    fn from_sql(v: ValueRef<'_>) -> DbResult<Self> {
        match v {
            ValueRef::Integer(n) => Ok(n as f64),
            ValueRef::Real(x) => Ok(x),
            v => Err(wrong(v, "a number")),
        }
    }
}

impl FromSql for String {
    fn from_sql(v: ValueRef<'_>) -> DbResult<Self> {
        v.text()
            .map(Cow::into_owned)
            .ok_or_else(|| wrong(v, "text"))
    }
}

impl FromSql for Vec<u8> {
    fn from_sql(v: ValueRef<'_>) -> DbResult<Self> {
        match v {
            ValueRef::Blob(b) => Ok(b.to_vec()),
            ValueRef::Text(t) => Ok(t.as_bytes().to_vec()),
            v => Err(wrong(v, "bytes")),
        }
    }
}

impl FromSql for Value {
    fn from_sql(v: ValueRef<'_>) -> DbResult<Self> {
        Ok(v.to_owned())
    }
}

impl<T: FromSql> FromSql for Option<T> {
    fn from_sql(v: ValueRef<'_>) -> DbResult<Self> {
        match v {
            ValueRef::Null => Ok(None),
            v => T::from_sql(v).map(Some),
        }
    }
}

/// The parameters of a statement: `()`, `[]`, `params![…]`, an array or
/// tuple of values, or [`params_from_iter`].
pub trait Params {
    fn with_values<R>(self, f: impl FnOnce(&[ValueRef<'_>]) -> R) -> R;
}

impl Params for () {
    fn with_values<R>(self, f: impl FnOnce(&[ValueRef<'_>]) -> R) -> R {
        f(&[])
    }
}

impl Params for [&(dyn ToSql + Send + Sync); 0] {
    fn with_values<R>(self, f: impl FnOnce(&[ValueRef<'_>]) -> R) -> R {
        f(&[])
    }
}

impl Params for &[&dyn ToSql] {
    fn with_values<R>(self, f: impl FnOnce(&[ValueRef<'_>]) -> R) -> R {
        let values: Vec<ValueRef<'_>> = self.iter().map(|p| p.to_sql()).collect();
        f(&values)
    }
}

impl Params for &[Value] {
    fn with_values<R>(self, f: impl FnOnce(&[ValueRef<'_>]) -> R) -> R {
        let values: Vec<ValueRef<'_>> = self.iter().map(Value::as_ref).collect();
        f(&values)
    }
}

impl Params for &Vec<Value> {
    fn with_values<R>(self, f: impl FnOnce(&[ValueRef<'_>]) -> R) -> R {
        self.as_slice().with_values(f)
    }
}

macro_rules! params_for_arrays {
    ($($n:literal)*) => {$(
        impl<T: ToSql + ?Sized> Params for &[&T; $n] {
            fn with_values<R>(self, f: impl FnOnce(&[ValueRef<'_>]) -> R) -> R {
                let values: Vec<ValueRef<'_>> = self.iter().map(|p| p.to_sql()).collect();
                f(&values)
            }
        }
        impl<T: ToSql> Params for [T; $n] {
            fn with_values<R>(self, f: impl FnOnce(&[ValueRef<'_>]) -> R) -> R {
                let values: Vec<ValueRef<'_>> = self.iter().map(|p| p.to_sql()).collect();
                f(&values)
            }
        }
    )*};
}
params_for_arrays!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32);

macro_rules! params_for_tuples {
    ($(($($t:ident $i:tt),*))*) => {$(
        impl<$($t: ToSql),*> Params for ($($t,)*) {
            fn with_values<R>(self, f: impl FnOnce(&[ValueRef<'_>]) -> R) -> R {
                f(&[$(self.$i.to_sql()),*])
            }
        }
    )*};
}
params_for_tuples!(
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
);

/// Parameters from an iterator of values.
pub struct ParamsFromIter<I>(I);

pub fn params_from_iter<I>(iter: I) -> ParamsFromIter<I>
where
    I: IntoIterator,
    I::Item: ToSql,
{
    ParamsFromIter(iter)
}

impl<I> Params for ParamsFromIter<I>
where
    I: IntoIterator,
    I::Item: ToSql,
{
    fn with_values<R>(self, f: impl FnOnce(&[ValueRef<'_>]) -> R) -> R {
        let items: Vec<I::Item> = self.0.into_iter().collect();
        let values: Vec<ValueRef<'_>> = items.iter().map(|p| p.to_sql()).collect();
        f(&values)
    }
}

/// `params![a, b, …]`: parameters of mixed types.
#[macro_export]
macro_rules! params {
    () => {
        &[] as &[&dyn $crate::store::ToSql]
    };
    ($($param:expr),+ $(,)?) => {
        &[$(&$param as &dyn $crate::store::ToSql),+] as &[&dyn $crate::store::ToSql]
    };
}

/// `.optional()`: no row is `None`, not an error.
pub trait OptionalExtension<T> {
    fn optional(self) -> DbResult<Option<T>>;
}

impl<T> OptionalExtension<T> for DbResult<T> {
    fn optional(self) -> DbResult<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind == ErrorKind::NoRows => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// How a transaction takes its lock (SQLite; PostgreSQL locks rows as it
/// writes them either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// Takes the write lock at the first write.
    Deferred,
    /// Takes the write lock at once: a writer that reads first cannot be
    /// refused at its first write.
    Immediate,
    /// Reads one snapshot throughout and writes nothing to the database
    /// (SQLite's read transaction is that already; on PostgreSQL,
    /// `REPEATABLE READ, READ ONLY`, whose snapshot others can take: see
    /// [`super::snapshot`]).
    Snapshot,
}

pub(crate) enum Inner {
    Sqlite(rusqlite::Connection),
    Pg(Box<PgConn>),
}

/// A connection to the case database: SQLite or PostgreSQL.
pub struct Db {
    pub(crate) inner: Inner,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Db({:?})", self.dialect())
    }
}

impl Db {
    pub(crate) fn sqlite(conn: rusqlite::Connection) -> Db {
        Db {
            inner: Inner::Sqlite(conn),
        }
    }

    pub(crate) fn pg(conn: PgConn) -> Db {
        Db {
            inner: Inner::Pg(Box::new(conn)),
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self.inner {
            Inner::Sqlite(_) => Dialect::Sqlite,
            Inner::Pg(_) => Dialect::Postgres,
        }
    }

    /// Runs one statement; the number of rows it changed.
    pub fn execute<P: Params>(&self, sql: &str, params: P) -> DbResult<usize> {
        self.prepare_once(sql)?.execute(params)
    }

    /// How long a statement on this connection waits for a lock another
    /// holds before it fails as [`ErrorKind::Busy`] (SQLite's busy timeout,
    /// PostgreSQL's `lock_timeout`). Unset, SQLite waits
    /// [`super::BUSY_TIMEOUT`] and PostgreSQL until the lock is free.
    pub fn wait_for_locks(&self, limit: std::time::Duration) -> DbResult<()> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.busy_timeout(limit)?),
            Inner::Pg(c) => c.execute_batch(&format!("SET lock_timeout = {}", limit.as_millis())),
        }
    }

    /// Runs statements separated by `;`, without parameters.
    pub fn execute_batch(&self, sql: &str) -> DbResult<()> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Inner::Pg(c) => c.execute_batch(sql),
        }
    }

    /// A query whose rows are read as they are needed, in bounded memory
    /// however many there are: SQLite steps through them; PostgreSQL
    /// fetches them in batches through a cursor inside a transaction (and
    /// reads them all at once outside one), the rows of the moment the
    /// query ran, whatever its transaction writes while they are read
    /// (see [`super::Dialect::rows_are_a_snapshot`]).
    pub fn prepare_stream(&self, sql: &str) -> DbResult<Statement<'_>> {
        self.prepare_fetching(sql, super::pg::Fetch::Batches)
    }

    /// As [`Db::prepare_stream`], for rows read with
    /// [`Statement::each_row`] by a reader that runs no other statement on
    /// this connection until the last: PostgreSQL then sends them as it
    /// makes them, and makes the next while duban reads the last.
    pub fn prepare_read_alone(&self, sql: &str) -> DbResult<Statement<'_>> {
        self.prepare_fetching(sql, super::pg::Fetch::AsSent)
    }

    fn prepare_fetching(&self, sql: &str, fetch: super::pg::Fetch) -> DbResult<Statement<'_>> {
        match &self.inner {
            Inner::Sqlite(_) => self.prepare(sql),
            Inner::Pg(c) => Ok(Statement::Pg(c.prepare_fetching(sql, fetch)?)),
        }
    }

    pub fn prepare(&self, sql: &str) -> DbResult<Statement<'_>> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(Statement::Sqlite(SqliteStmt::Once(c.prepare(sql)?))),
            Inner::Pg(c) => Ok(Statement::Pg(c.prepare(sql, false)?)),
        }
    }

    /// Prepares a statement once per connection and keeps it.
    pub fn prepare_cached(&self, sql: &str) -> DbResult<Statement<'_>> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(Statement::Sqlite(SqliteStmt::Cached(
                c.prepare_cached(sql)?,
            ))),
            Inner::Pg(c) => Ok(Statement::Pg(c.prepare(sql, true)?)),
        }
    }

    /// The first row of a query; [`ErrorKind::NoRows`] without one.
    pub fn query_row<T, P, F>(&self, sql: &str, params: P, f: F) -> DbResult<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> DbResult<T>,
    {
        self.prepare_once(sql)?.query_row(params, f)
    }

    /// A statement for one use: SQLite prepares it afresh (keeping its
    /// cache of prepared statements for the hot ones); PostgreSQL keeps it,
    /// a prepare being a round trip to the server.
    fn prepare_once(&self, sql: &str) -> DbResult<Statement<'_>> {
        match self.inner {
            Inner::Sqlite(_) => self.prepare(sql),
            Inner::Pg(_) => self.prepare_cached(sql),
        }
    }

    /// Runs an INSERT into a table with a generated `id`; the id it gave
    /// the row (SQLite's rowid, PostgreSQL's `RETURNING id`).
    pub fn insert_id<P: Params>(&self, sql: &str, params: P) -> DbResult<i64> {
        let d = self.dialect();
        let mut stmt = self.prepare_cached(&d.insert_returning_id(sql))?;
        match d {
            Dialect::Sqlite => {
                stmt.execute(params)?;
                self.last_insert_rowid()
            }
            Dialect::Postgres => stmt.query_row(params, |r| r.get(0)),
        }
    }

    /// The id the last INSERT gave its row.
    pub fn last_insert_rowid(&self) -> DbResult<i64> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.last_insert_rowid()),
            Inner::Pg(_) => self.query_row("SELECT lastval()", (), |r| r.get(0)),
        }
    }

    /// Starts a transaction; it rolls back unless committed.
    pub fn transaction(&mut self) -> DbResult<Tx<'_>> {
        Tx::begin(self, Behavior::Deferred)
    }

    pub fn transaction_with_behavior(&mut self, behavior: Behavior) -> DbResult<Tx<'_>> {
        Tx::begin(self, behavior)
    }

    /// A transaction on a shared connection: the caller makes sure none
    /// is open already.
    pub fn unchecked_transaction(&self) -> DbResult<Tx<'_>> {
        Tx::begin(self, Behavior::Deferred)
    }

    /// `COPY … FROM STDIN` on PostgreSQL (see [`super::pg`]); the rows
    /// the server took.
    pub(crate) fn copy_in(
        &self,
        sql: &str,
        fill: &mut dyn FnMut(&mut dyn std::io::Write) -> DbResult<()>,
    ) -> DbResult<u64> {
        match &self.inner {
            Inner::Pg(c) => c.copy_in(sql, fill),
            Inner::Sqlite(_) => Err(DatabaseError::new(
                ErrorKind::Other,
                "COPY is PostgreSQL's; SQLite has no such statement",
            )),
        }
    }

    /// Whether the connection is gone (a PostgreSQL server that closed
    /// it): not worth keeping for reuse.
    pub fn is_closed(&self) -> bool {
        match &self.inner {
            Inner::Sqlite(_) => false,
            Inner::Pg(c) => c.is_closed(),
        }
    }

    pub(crate) fn sqlite_mut(&mut self) -> Option<&mut rusqlite::Connection> {
        match &mut self.inner {
            Inner::Sqlite(c) => Some(c),
            Inner::Pg(_) => None,
        }
    }
}

/// A transaction: derefs to its connection; rolls back when dropped
/// without [`Tx::commit`].
pub struct Tx<'a> {
    db: &'a Db,
    open: bool,
}

impl<'a> Tx<'a> {
    fn begin(db: &'a Db, behavior: Behavior) -> DbResult<Tx<'a>> {
        db.execute_batch(db.dialect().begin(behavior))?;
        Ok(Tx { db, open: true })
    }

    pub fn commit(mut self) -> DbResult<()> {
        self.open = false;
        self.db.execute_batch("COMMIT")
    }

    pub fn rollback(mut self) -> DbResult<()> {
        self.open = false;
        self.db.execute_batch("ROLLBACK")
    }
}

impl Deref for Tx<'_> {
    type Target = Db;
    fn deref(&self) -> &Db {
        self.db
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.db.execute_batch("ROLLBACK");
        }
    }
}

#[doc(hidden)]
pub enum SqliteStmt<'c> {
    Cached(rusqlite::CachedStatement<'c>),
    Once(rusqlite::Statement<'c>),
}

impl<'c> Deref for SqliteStmt<'c> {
    type Target = rusqlite::Statement<'c>;
    fn deref(&self) -> &rusqlite::Statement<'c> {
        match self {
            SqliteStmt::Cached(s) => s,
            SqliteStmt::Once(s) => s,
        }
    }
}

impl std::ops::DerefMut for SqliteStmt<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            SqliteStmt::Cached(s) => s,
            SqliteStmt::Once(s) => s,
        }
    }
}

/// A prepared statement.
pub enum Statement<'c> {
    #[doc(hidden)]
    Sqlite(SqliteStmt<'c>),
    #[doc(hidden)]
    Pg(super::pg::PgStatement<'c>),
}

impl<'c> Statement<'c> {
    pub fn execute<P: Params>(&mut self, params: P) -> DbResult<usize> {
        match self {
            Statement::Sqlite(s) => params.with_values(|v| super::sqlite::execute(s, v)),
            Statement::Pg(s) => params.with_values(|v| s.execute(v)),
        }
    }

    pub fn query<P: Params>(&mut self, params: P) -> DbResult<Rows<'_>> {
        match self {
            Statement::Sqlite(s) => {
                params.with_values(|v| super::sqlite::bind(s, v))?;
                Ok(Rows::Sqlite(s.raw_query()))
            }
            Statement::Pg(s) => Ok(Rows::Pg(params.with_values(|v| s.query(v))?)),
        }
    }

    pub fn query_map<T, P, F>(&mut self, params: P, f: F) -> DbResult<MappedRows<'_, F>>
    where
        P: Params,
        F: FnMut(&Row<'_>) -> DbResult<T>,
    {
        Ok(MappedRows {
            rows: self.query(params)?,
            f,
        })
    }

    pub fn query_row<T, P, F>(&mut self, params: P, f: F) -> DbResult<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> DbResult<T>,
    {
        let mut rows = self.query(params)?;
        match rows.next()? {
            Some(row) => f(&row),
            None => Err(DatabaseError::new(
                ErrorKind::NoRows,
                "the query returned no rows",
            )),
        }
    }

    /// Whether the query returns a row.
    pub fn exists<P: Params>(&mut self, params: P) -> DbResult<bool> {
        let mut rows = self.query(params)?;
        Ok(rows.next()?.is_some())
    }

    /// Binds parameter `i` (from 1) for [`Statement::raw_query`].
    pub fn raw_bind_parameter<T: ToSql>(&mut self, i: usize, value: T) -> DbResult<()> {
        match self {
            Statement::Sqlite(s) => super::sqlite::bind_one(s, i, value.to_sql()),
            Statement::Pg(s) => {
                s.bind(i, value.to_sql().to_owned());
                Ok(())
            }
        }
    }

    /// Runs the statement with the parameters bound one by one.
    pub fn raw_query(&mut self) -> Rows<'_> {
        match self {
            Statement::Sqlite(s) => Rows::Sqlite(s.raw_query()),
            Statement::Pg(s) => match s.query_bound() {
                Ok(rows) => Rows::Pg(rows),
                Err(e) => Rows::Failed(Some(e)),
            },
        }
    }

    /// Runs the statement with the parameters bound one by one, and calls
    /// `f` with each row (see [`Db::prepare_read_alone`]).
    pub fn each_row<E: From<DatabaseError>>(
        &mut self,
        f: &mut dyn FnMut(&Row<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if let Statement::Pg(s) = self
            && s.fetches_as_sent()
        {
            return s.each_sent(&mut |row| f(&Row::Pg(row)));
        }
        let mut rows = self.raw_query();
        while let Some(row) = rows.next()? {
            f(&row)?;
        }
        Ok(())
    }

    /// Runs the statement with the parameters bound one by one.
    pub fn raw_execute(&mut self) -> DbResult<usize> {
        match self {
            Statement::Sqlite(s) => Ok(s.raw_execute()?),
            Statement::Pg(s) => s.execute_bound(),
        }
    }

    /// How many parameters the statement has.
    pub fn parameter_count(&self) -> usize {
        match self {
            Statement::Sqlite(s) => s.parameter_count(),
            Statement::Pg(s) => s.parameter_count(),
        }
    }

    pub fn column_count(&self) -> usize {
        match self {
            Statement::Sqlite(s) => s.column_count(),
            Statement::Pg(s) => s.column_count(),
        }
    }

    pub fn column_names(&self) -> Vec<String> {
        match self {
            Statement::Sqlite(s) => s.column_names().iter().map(|c| c.to_string()).collect(),
            Statement::Pg(s) => s.column_names(),
        }
    }
}

/// The rows of a query, read one at a time.
pub enum Rows<'s> {
    #[doc(hidden)]
    Sqlite(rusqlite::Rows<'s>),
    #[doc(hidden)]
    Pg(super::pg::PgRows<'s>),
    #[doc(hidden)]
    Failed(Option<DatabaseError>),
}

impl<'s> Rows<'s> {
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> DbResult<Option<Row<'_>>> {
        match self {
            Rows::Sqlite(r) => Ok(r.next()?.map(Row::Sqlite)),
            Rows::Pg(rows) => Ok(rows.next()?.map(Row::Pg)),
            Rows::Failed(e) => match e.take() {
                Some(e) => Err(e),
                None => Ok(None),
            },
        }
    }

    /// Maps every row with `f`.
    pub fn mapped<T, F>(self, f: F) -> MappedRows<'s, F>
    where
        F: FnMut(&Row<'_>) -> DbResult<T>,
    {
        MappedRows { rows: self, f }
    }
}

/// The rows of a query, each turned into a value by a function.
pub struct MappedRows<'s, F> {
    rows: Rows<'s>,
    f: F,
}

impl<T, F> Iterator for MappedRows<'_, F>
where
    F: FnMut(&Row<'_>) -> DbResult<T>,
{
    type Item = DbResult<T>;
    fn next(&mut self) -> Option<DbResult<T>> {
        let f = &mut self.f;
        match self.rows.next() {
            Ok(Some(row)) => Some(f(&row)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// A column's place in a row, from 0.
pub trait ColumnIndex {
    fn index(self) -> usize;
}

impl ColumnIndex for usize {
    fn index(self) -> usize {
        self
    }
}

/// One row of a query.
pub enum Row<'r> {
    #[doc(hidden)]
    Sqlite(&'r rusqlite::Row<'r>),
    #[doc(hidden)]
    Pg(&'r postgres::Row),
}

impl Row<'_> {
    /// Column `i` (from 0) as a Rust value.
    pub fn get<I: ColumnIndex, T: FromSql>(&self, i: I) -> DbResult<T> {
        T::from_sql(self.get_ref(i.index())?)
    }

    /// Column `i` (from 0) as it is stored.
    pub fn get_ref(&self, i: usize) -> DbResult<ValueRef<'_>> {
        match self {
            Row::Sqlite(r) => super::sqlite::value(r, i),
            Row::Pg(r) => super::pg::value(r, i),
        }
    }

    pub fn column_count(&self) -> usize {
        match self {
            Row::Sqlite(r) => r.as_ref().column_count(),
            Row::Pg(r) => r.len(),
        }
    }
}
