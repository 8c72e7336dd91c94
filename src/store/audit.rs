//! The audit trail: one record per firing — the facts the condition read,
//! what was done and what was skipped, under which policy, at which time.

use super::Db;
use crate::error::Result;
use crate::params;

/// One firing, as recorded.
pub struct Firing<'a> {
    pub run_id: i64,
    pub rule: &'a str,
    pub entity: &'a str,
    pub subject: &'a str,
    pub episode_id: i64,
    pub as_of: &'a str,
    pub policy_hash: &'a str,
    /// JSON texts.
    pub facts: &'a str,
    pub actions: &'a str,
    pub skipped: &'a str,
}

pub fn record(conn: &Db, f: &Firing<'_>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit (run_id, rule, subject_type, subject_id, episode_id, as_of, policy_hash, facts, actions, skipped)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        f.run_id,
        f.rule,
        f.entity,
        f.subject,
        f.episode_id,
        f.as_of,
        f.policy_hash,
        f.facts,
        f.actions,
        f.skipped
    ])?;
    Ok(())
}

/// Whether any firing of `rule` is recorded for evaluation time `as_of`
/// (none, but for evaluations repeated for one time): asked once before
/// a rule records its firings, so that only then is each counted
/// ([`firings_at`]).
pub fn any_firing_at(conn: &Db, rule: &str, as_of: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM audit WHERE rule = ?1 AND as_of = ?2)")?
        .query_row(params![rule, as_of], |r| r.get(0))?)
}

/// How many firings of `rule` on a subject are recorded for evaluation
/// time `as_of` (one, at most, but for evaluations repeated for one
/// time): which firing at that time the next one is.
pub fn firings_at(conn: &Db, rule: &str, entity: &str, subject: &str, as_of: &str) -> Result<i64> {
    // `audit_subject` finds the subject's few records. Not `audit_rule`
    // (rule, as_of), which both databases chose (SQLite without
    // statistics, PostgreSQL estimating one row for a time its statistics
    // have not seen): during a run it holds every firing of the rule so
    // far, read again for each new one. `rule || ''` keeps either from
    // choosing it.
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM audit
             WHERE subject_type = ?1 AND subject_id = ?2 AND rule || '' = ?3 AND as_of = ?4",
        )?
        .query_row(params![entity, subject, rule, as_of], |r| r.get(0))?)
}

/// Each rule's latest firing: the evaluation time it was for.
pub fn last_firings<'r>(
    conn: &Db,
    rules: impl IntoIterator<Item = &'r str>,
) -> Result<std::collections::HashMap<String, String>> {
    // One index look-up per rule (`audit_rule` is on rule, as_of).
    let mut stmt = conn.prepare_cached("SELECT max(as_of) FROM audit WHERE rule = ?1")?;
    let mut out = std::collections::HashMap::new();
    for rule in rules {
        if let Some(at) = stmt.query_row([rule], |r| r.get::<_, Option<String>>(0))? {
            out.insert(rule.to_string(), at);
        }
    }
    Ok(out)
}
