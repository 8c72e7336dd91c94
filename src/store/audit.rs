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
