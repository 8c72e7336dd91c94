//! Accounts of the web workbench (SPEC §11): persons of the case database
//! with a role, their sessions, one-time sign-in links and failed sign-ins.
//! Tokens are stored as their SHA-256, so a copy of the database signs no
//! one in. Times are UTC text ([`crate::clock::utc_text`]), which sorts.

use super::{Db, OptionalExtension};
use crate::error::{Error, Result};
use crate::params;
use serde::Serialize;

/// What an account may see and do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Their own tasks (and approval requests addressed to them).
    Member,
    /// Everything of the office: tasks, notices, organizations, rules, reports.
    Office,
    /// The office's, and accounts.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Member, Role::Office, Role::Admin];

    pub const fn code(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Office => "office",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|r| r.code() == text)
    }

    /// Sees the whole office, not only their own tasks.
    pub fn sees_office(self) -> bool {
        self >= Role::Office
    }
}

/// An account, as listed.
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub person_id: String,
    pub name: String,
    pub email: Option<String>,
    pub role: Role,
    /// Argon2 PHC string; `None`: emailed links only.
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub created_at: String,
    /// Sessions not yet expired.
    pub sessions: i64,
}

fn role_of(text: String) -> super::DbResult<Role> {
    Role::parse(&text)
        .ok_or_else(|| super::DatabaseError::conversion(format!("unknown role {text}")))
}

const SELECT: &str = "SELECT a.person_id, p.name, p.email, a.role, a.password_hash, a.created_at,
        (SELECT count(*) FROM sessions s WHERE s.person_id = a.person_id AND s.expires_at > ?1)
    FROM accounts a JOIN persons p ON p.id = a.person_id";

fn from_row(r: &super::Row<'_>) -> super::DbResult<Account> {
    Ok(Account {
        person_id: r.get(0)?,
        name: r.get(1)?,
        email: r.get(2)?,
        role: role_of(r.get(3)?)?,
        password_hash: r.get(4)?,
        created_at: r.get(5)?,
        sessions: r.get(6)?,
    })
}

/// Gives a person an account, or changes its role (and password, when one
/// is given). The person must be in the case database.
pub fn add(
    conn: &Db,
    person: &str,
    role: Role,
    password_hash: Option<&str>,
    at: &str,
) -> Result<()> {
    let known: bool = conn
        .query_row("SELECT 1 FROM persons WHERE id = ?1", [person], |_| {
            Ok(true)
        })
        .optional()?
        .unwrap_or(false);
    if !known {
        return Err(Error::invalid(format!(
            "there is no person {person} in the case database; import them first (persons.csv)"
        )));
    }
    conn.execute(
        "INSERT INTO accounts (person_id, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (person_id) DO UPDATE SET role = excluded.role,
           password_hash = coalesce(excluded.password_hash, accounts.password_hash)",
        params![person, role.code(), password_hash, at],
    )?;
    Ok(())
}

/// Every account, by person id.
pub fn list(conn: &Db, now: &str) -> Result<Vec<Account>> {
    let mut stmt = conn.prepare(&format!("{SELECT} ORDER BY a.person_id"))?;
    let rows = stmt.query_map([now], from_row)?;
    Ok(rows.collect::<super::DbResult<_>>()?)
}

/// The account a sign-in names: by person id, or by email (any case).
pub fn find(conn: &Db, id_or_email: &str, now: &str) -> Result<Option<Account>> {
    let key = id_or_email.trim();
    Ok(conn
        .query_row(
            &format!("{SELECT} WHERE a.person_id = ?2 OR (p.email IS NOT NULL AND lower(p.email) = lower(?2)) ORDER BY a.person_id = ?2 DESC LIMIT 1"),
            params![now, key],
            from_row,
        )
        .optional()?)
}

/// Removes an account, its sessions and its links: whoever was signed in
/// as it is signed out. Whether there was one.
pub fn remove(conn: &Db, person: &str) -> Result<bool> {
    let tx = conn.unchecked_transaction()?;
    tx.execute("DELETE FROM sessions WHERE person_id = ?1", [person])?;
    tx.execute("DELETE FROM sign_in_links WHERE person_id = ?1", [person])?;
    let n = tx.execute("DELETE FROM accounts WHERE person_id = ?1", [person])?;
    tx.commit()?;
    Ok(n > 0)
}

/// A signed-in session.
#[derive(Debug, Clone)]
pub struct Session {
    pub person_id: String,
    pub name: String,
    pub role: Role,
    /// The token every form of the session carries.
    pub csrf: String,
}

pub fn start_session(
    conn: &Db,
    token_hash: &str,
    person: &str,
    csrf: &str,
    at: &str,
    expires_at: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO sessions (token_hash, person_id, csrf, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![token_hash, person, csrf, at, expires_at],
    )?;
    Ok(())
}

/// The live session with this token hash, if any.
pub fn session(conn: &Db, token_hash: &str, now: &str) -> Result<Option<Session>> {
    Ok(conn
        .prepare_cached(
            "SELECT s.person_id, p.name, a.role, s.csrf FROM sessions s
             JOIN accounts a ON a.person_id = s.person_id JOIN persons p ON p.id = s.person_id
             WHERE s.token_hash = ?1 AND s.expires_at > ?2",
        )?
        .query_row(params![token_hash, now], |r| {
            Ok(Session {
                person_id: r.get(0)?,
                name: r.get(1)?,
                role: role_of(r.get(2)?)?,
                csrf: r.get(3)?,
            })
        })
        .optional()?)
}

pub fn end_session(conn: &Db, token_hash: &str) -> Result<()> {
    conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
    Ok(())
}

/// Records a one-time sign-in link made at `at`, unless the person has
/// `max` links made within their lifetime (whose `expires_at` is still to
/// come) already: whether it was recorded. Call it inside a write
/// transaction, so that the count and the insert are one step (on
/// PostgreSQL, with the account's row locked).
pub fn add_link(
    conn: &Db,
    token_hash: &str,
    person: &str,
    at: &str,
    expires_at: &str,
    max: i64,
) -> Result<bool> {
    let live: i64 = conn.query_row(
        "SELECT count(*) FROM sign_in_links WHERE person_id = ?1 AND expires_at > ?2",
        params![person, at],
        |r| r.get(0),
    )?;
    if live >= max {
        return Ok(false);
    }
    conn.execute(
        "INSERT INTO sign_in_links (token_hash, person_id, expires_at) VALUES (?1, ?2, ?3)",
        params![token_hash, person, expires_at],
    )?;
    Ok(true)
}

/// The name of the person an unused, unexpired link signs in.
pub fn link_person(conn: &Db, token_hash: &str, now: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT p.name FROM sign_in_links l JOIN persons p ON p.id = l.person_id
             WHERE l.token_hash = ?1 AND l.used_at IS NULL AND l.expires_at > ?2",
            params![token_hash, now],
            |r| r.get(0),
        )
        .optional()?)
}

/// Uses a sign-in link: the person it signs in, if it is unused and not
/// expired. A link works once, whoever races for it.
pub fn use_link(conn: &Db, token_hash: &str, now: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "UPDATE sign_in_links SET used_at = ?2
             WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2 RETURNING person_id",
            params![token_hash, now],
            |r| r.get(0),
        )
        .optional()?)
}

/// Counts a sign-in try, before its password is checked, as failed under
/// each key — unless `wait(failed, free, latest)` of a key (its failures
/// since `since`, the failures it allows, the latest one's time) says the
/// try must wait: then nothing is counted and the longest wait is the
/// answer. The count and the insert are one write transaction holding
/// the sign-in tries' lock, so tries at once are counted one after the
/// other. The rows counted, to forget when the password is right.
pub fn count_try(
    conn: &mut Db,
    keys: &[(&str, i64)],
    since: &str,
    at: &str,
    wait: impl Fn(i64, i64, Option<&str>) -> i64,
) -> Result<std::result::Result<Vec<i64>, i64>> {
    let tx = conn.transaction_with_behavior(crate::store::Behavior::Immediate)?;
    super::lock_named(&tx, "duban sign-in tries")?;
    let mut longest = 0;
    {
        let mut stmt = tx.prepare_cached(
            "SELECT count(*), max(at) FROM sign_in_failures WHERE key = ?1 AND at > ?2",
        )?;
        for (key, free) in keys {
            let (n, last): (i64, Option<String>) =
                stmt.query_row(params![key, since], |r| Ok((r.get(0)?, r.get(1)?)))?;
            longest = longest.max(wait(n, *free, last.as_deref()));
        }
    }
    if longest > 0 {
        return Ok(Err(longest));
    }
    let mut rows = Vec::with_capacity(keys.len());
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO sign_in_failures (key, at) VALUES (?1, ?2) RETURNING rowid",
        )?;
        for (key, _) in keys {
            rows.push(stmt.query_row(params![key, at], |r| r.get(0))?);
        }
    }
    tx.commit()?;
    Ok(Ok(rows))
}

/// After a right password: forgets the failures under `key` (the account
/// from this address) and the rows the try was counted as, and everyone's
/// failures older than `before`.
pub fn clear_failures(conn: &Db, key: &str, rows: &[i64], before: &str) -> Result<()> {
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        "DELETE FROM sign_in_failures WHERE key = ?1 OR at < ?2",
        params![key, before],
    )?;
    let mut stmt = tx.prepare_cached("DELETE FROM sign_in_failures WHERE rowid = ?1")?;
    for row in rows {
        stmt.execute([row])?;
    }
    drop(stmt);
    tx.commit()?;
    Ok(())
}
