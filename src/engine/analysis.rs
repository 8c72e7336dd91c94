//! The analysis of a policy in an office (SPEC §14): the analyser's
//! findings, each witness confirmed by the interpreter, and on the office's
//! data how many subjects both rules of each overlap hold for today (one
//! query per overlap) and which; a step waiting on a task kind the ledger
//! already holds tasks of is not unreachable. Shared by `check --analyze`
//! and the workbench's 规则 page.

use super::Engine;
use crate::clock::AsOf;
use crate::error::Result;
use crate::lang::analyze::{Analysis, Finding, What};
use rusqlite::Connection;

/// How many subjects an overlap names.
pub const NAMED: usize = 3;

/// Both rules of an overlap on the office's data today.
#[derive(Debug, Clone, PartialEq)]
pub struct OnData {
    pub count: u64,
    /// Up to [`NAMED`] subject ids, in id order.
    pub subjects: Vec<String>,
}

/// The analysis, and for each finding its count on the data (overlaps
/// only; none without a database).
#[derive(Debug, Default)]
pub struct OfficeAnalysis {
    pub analysis: Analysis,
    pub on_data: Vec<Option<OnData>>,
}

impl OfficeAnalysis {
    pub fn findings(&self) -> impl Iterator<Item = (&Finding, Option<&OnData>)> {
        self.analysis
            .findings
            .iter()
            .zip(self.on_data.iter().map(Option::as_ref))
    }
}

impl Engine<'_> {
    /// The policy analysed with witnesses near `as_of`; with `conn`, the
    /// overlaps counted on the data and W012 checked against the ledger.
    pub fn analyze(&self, conn: Option<&Connection>, as_of: &AsOf) -> Result<OfficeAnalysis> {
        let mut analysis =
            crate::interpret::witness::analyze_policy(self.policy, as_of.today, &self.calendar);
        let Some(conn) = conn else {
            let n = analysis.findings.len();
            return Ok(OfficeAnalysis {
                analysis,
                on_data: vec![None; n],
            });
        };
        let kinds = crate::store::tasks::kinds(conn)?;
        analysis.findings.retain(|f| match &f.what {
            What::Unreachable { kind, .. } => !kinds.contains(kind),
            _ => true,
        });
        crate::store::workdays::ensure(conn, &self.workdays)?;
        let mut on_data = Vec::with_capacity(analysis.findings.len());
        for f in &analysis.findings {
            on_data.push(match (&f.what, f.rules.as_slice()) {
                (What::Overlap(_), &[a, b]) => {
                    let (count, subjects) = crate::store::firings::both_hold(
                        conn,
                        &self.rule_sql(a),
                        self.bound(a, as_of),
                        &self.rule_sql(b),
                        self.bound(b, as_of),
                        NAMED,
                    )?;
                    Some(OnData { count, subjects })
                }
                _ => None,
            });
        }
        Ok(OfficeAnalysis { analysis, on_data })
    }
}
