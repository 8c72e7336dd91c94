//! The figures of the rectification progress report (整改进展通报, SPEC
//! §10), per inspected organization, as they stood on a day: computed in
//! SQL from the dates in the ledgers (found, deadline, rectified, task
//! created and done), so that the previous period's figures come from the
//! same tables as today's.

use super::Db;
use crate::error::Result;
use crate::params;
use crate::schema::{ProblemStatus, TaskStatus};
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// Problems of an organization on one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Problems {
    /// Found by that day.
    pub found: i64,
    /// Rectified by that day.
    pub rectified: i64,
    /// Past their deadline and not rectified on that day.
    pub overdue: i64,
}

impl Problems {
    /// The rectification rate, 0–1; `None` without problems.
    pub fn rate(&self) -> Option<f64> {
        (self.found > 0).then(|| self.rectified as f64 / self.found as f64)
    }

    pub fn add(&mut self, o: &Problems) {
        self.found += o.found;
        self.rectified += o.rectified;
        self.overdue += o.overdue;
    }
}

/// Tasks of one kind on one day, by how they stood.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub open: i64,
    pub done: i64,
    pub cancelled: i64,
}

impl Tally {
    pub fn total(&self) -> i64 {
        self.open + self.done + self.cancelled
    }

    pub fn add(&mut self, o: &Tally) {
        self.open += o.open;
        self.done += o.done;
        self.cancelled += o.cancelled;
    }
}

/// One inspected organization's figures.
#[derive(Debug, Clone, Default)]
pub struct OrgProgress {
    pub id: String,
    pub name: String,
    pub now: Problems,
    pub before: Problems,
    /// By task kind code, tasks created by the report's day.
    pub tasks: BTreeMap<String, Tally>,
}

/// Every organization with problems by `day`, with its figures on `day`
/// and on `previous` and its tasks, in id order.
pub fn by_organization(conn: &Db, day: NaiveDate, previous: NaiveDate) -> Result<Vec<OrgProgress>> {
    let mut orgs = problems_by_organization(conn, day, previous)?;
    for (org, kind, tally) in tasks_by_organization(conn, day)? {
        if let Ok(i) = orgs.binary_search_by(|o| o.id.as_str().cmp(&org)) {
            orgs[i].tasks.entry(kind).or_default().add(&tally);
        }
    }
    Ok(orgs)
}

/// The same without the tasks (left empty): the problems' figures only.
pub fn problems_by_organization(
    conn: &Db,
    day: NaiveDate,
    previous: NaiveDate,
) -> Result<Vec<OrgProgress>> {
    let dialect = conn.dialect();
    let never = dialect.first_day();
    // A problem counts from its found_on, else its inspection's feedback.
    let found = |d: &str| format!("coalesce(p.found_on, i.feedback_on, {never}) <= {d}");
    let rectified = |d: &str| {
        format!(
            "(p.status = '{r}' AND coalesce(p.rectified_on, {never}) <= {d})",
            r = ProblemStatus::Rectified.code()
        )
    };
    let count_if = |cond: &str| dialect.count_if(cond);
    let figures = |d: &str| {
        format!(
            "{}, {}, {}",
            count_if(&found(d)),
            count_if(&format!("{} AND {}", found(d), rectified(d))),
            count_if(&format!(
                "{} AND p.deadline < {d} AND NOT {}",
                found(d),
                rectified(d)
            )),
        )
    };
    let sql = format!(
        "SELECT o.id, o.name, {now}, {before}
           FROM problems p
           JOIN inspections i ON i.id = p.inspection_id
           JOIN organizations o ON o.id = i.organization_id
          GROUP BY o.id, o.name HAVING {found_now} > 0 ORDER BY o.id",
        now = figures(&dialect.day("?1")),
        before = figures(&dialect.day("?2")),
        found_now = count_if(&found(&dialect.day("?1"))),
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params![day.to_string(), previous.to_string()], |r| {
        Ok(OrgProgress {
            id: r.get(0)?,
            name: r.get(1)?,
            now: Problems {
                found: r.get(2)?,
                rectified: r.get(3)?,
                overdue: r.get(4)?,
            },
            before: Problems {
                found: r.get(5)?,
                rectified: r.get(6)?,
                overdue: r.get(7)?,
            },
            tasks: BTreeMap::new(),
        })
    })?;
    Ok(rows.collect::<super::DbResult<_>>()?)
}

/// Tasks created by `day`, per organization of their subject and kind; a
/// task done after `day` was still open on it.
fn tasks_by_organization(conn: &Db, day: NaiveDate) -> Result<Vec<(String, String, Tally)>> {
    let dialect = conn.dialect();
    let never = dialect.first_day();
    let on = dialect.day("?1");
    let sql = format!(
        "SELECT org, kind, {done}, {cancelled}, count(*) FROM (
           SELECT CASE t.subject_type WHEN 'organization' THEN t.subject_id ELSE i.organization_id END AS org,
                  t.kind, t.status, t.done_on
             FROM tasks t
             LEFT JOIN problems p ON t.subject_type = 'problem' AND p.id = t.subject_id
             LEFT JOIN inspections i
               ON i.id = CASE t.subject_type WHEN 'problem' THEN p.inspection_id
                                              WHEN 'inspection' THEN t.subject_id END
            WHERE coalesce(t.created_on, {never}) <= {on}) t
          WHERE org IS NOT NULL
          GROUP BY org, kind",
        done = dialect.count_if(&format!(
            "t.status = '{}' AND coalesce(t.done_on, {never}) <= {on}",
            TaskStatus::Done.code()
        )),
        cancelled = dialect.count_if(&format!("t.status = '{}'", TaskStatus::Cancelled.code())),
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params![day.to_string()], |r| {
        let (done, cancelled, all): (i64, i64, i64) = (r.get(2)?, r.get(3)?, r.get(4)?);
        Ok((
            r.get(0)?,
            r.get(1)?,
            Tally {
                open: all - done - cancelled,
                done,
                cancelled,
            },
        ))
    })?;
    Ok(rows.collect::<super::DbResult<_>>()?)
}
