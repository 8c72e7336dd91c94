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
use crate::store::Db;

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
    pub fn analyze(&self, conn: Option<&Db>, as_of: &AsOf) -> Result<OfficeAnalysis> {
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

/// A finding as the office reads it on the workbench: rule titles and a
/// plain sentence, no codes and no rule text.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Said {
    pub headline: String,
    pub text: String,
    /// The subjects both rules hold for today (up to [`NAMED`]), with the
    /// page where one acts on each, if there is one.
    pub subjects: Vec<(String, Option<String>)>,
}

/// A rule by its title (its name when it has none), in 「」.
fn titled(r: &crate::lang::ir::Rule) -> String {
    format!("「{}」", r.title.as_deref().unwrap_or(&r.name))
}

/// A person path in words: `inspection.organization.secretary` is
/// 巡察组织书记 / the inspection's organization's secretary.
fn person_words(entity: crate::schema::Entity, path: &str, zh: bool) -> String {
    if path.contains('@') {
        return path.to_string();
    }
    let mut at = entity;
    let mut words = Vec::new();
    for step in path.split('.') {
        let Some(f) = crate::lang::ir::FieldId::of(at, step) else {
            return path.to_string();
        };
        words.push(if zh { f.def().zh } else { f.def().name });
        if let crate::schema::FieldType::Ref(next) = f.def().ty {
            at = next;
        }
    }
    if zh {
        words.concat()
    } else {
        words.join("'s ").replace('_', " ")
    }
}

/// The words of a finding, in Chinese or English.
pub fn in_words(
    policy: &crate::lang::ir::Policy,
    f: &Finding,
    on: Option<&OnData>,
    zh: bool,
) -> Said {
    use crate::lang::analyze::Shared;
    let rule = |i: usize| &policy.rules[i];
    let first = rule(f.rules[0]);
    let entity_zh = crate::schema::SUBJECT_TYPE
        .label_of(first.entity.name())
        .unwrap_or(first.entity.name());
    let entity = if zh { entity_zh } else { first.entity.name() };
    let kind = |k: &str| policy.task_kind_label(k).unwrap_or_else(|| k.to_string());
    let (headline, mut text) = match &f.what {
        What::NeverHolds => (
            if zh {
                format!("{}永远不会生效", titled(first))
            } else {
                format!("{} can never apply", titled(first))
            },
            if zh {
                "它的条件自相矛盾，没有任何对象能满足。".to_string()
            } else {
                "Its conditions contradict each other; no case can meet them.".to_string()
            },
        ),
        What::Unreachable { kind: k, .. } => (
            if zh {
                format!("{}这一步无法到达", titled(first))
            } else {
                format!("{} can never be reached", titled(first))
            },
            if zh {
                format!(
                    "它要等一项「{}」任务，但没有任何规则会交办这类任务。",
                    kind(k)
                )
            } else {
                format!(
                    "It waits for a “{}” task, but no rule ever assigns one.",
                    kind(k)
                )
            },
        ),
        What::Shadowed => {
            let other = rule(f.rules[1]);
            (
                if zh {
                    format!("{}被{}完全覆盖", titled(first), titled(other))
                } else {
                    format!("{} is covered by {}", titled(first), titled(other))
                },
                if zh {
                    format!(
                        "凡是{}成立的{}，{}也都成立，而且后者已交办、通知了前者的全部事项：前者不会带来任何新的任务或通知。",
                        titled(first),
                        entity,
                        titled(other)
                    )
                } else {
                    format!(
                        "Wherever {} applies to a {entity}, {} applies too and already gives every task and notice: the first adds nothing.",
                        titled(first),
                        titled(other)
                    )
                },
            )
        }
        What::Overlap(shared) => {
            let other = rule(f.rules[1]);
            let what: Vec<String> = shared
                .iter()
                .map(|s| match s {
                    Shared::Task { kind: k, target } => {
                        let who = person_words(first.entity, target, zh);
                        if zh {
                            format!("对{who}交办「{}」", kind(k))
                        } else {
                            format!("assign {who} a “{}”", kind(k))
                        }
                    }
                    Shared::Notice { to } => {
                        let who = person_words(first.entity, to, zh);
                        if zh {
                            format!("通知{who}")
                        } else {
                            format!("notify {who}")
                        }
                    }
                })
                .collect();
            (
                if zh {
                    format!("{}与{}可能重复", titled(first), titled(other))
                } else {
                    format!(
                        "{} and {} may repeat each other",
                        titled(first),
                        titled(other)
                    )
                },
                if zh {
                    format!(
                        "两条规则可能对同一个{entity}同时成立，届时都会{}，同一个人会收到两次。",
                        what.join("、")
                    )
                } else {
                    format!(
                        "Both rules can apply to the same {entity} at once; both then {}, so the same person hears it twice.",
                        what.join(" and ")
                    )
                },
            )
        }
    };
    let mut subjects = Vec::new();
    if let Some(on) = on {
        text.push_str(&if zh {
            if on.count == 0 {
                format!("今天没有{entity}同时满足两条规则。")
            } else {
                format!("今天有 {} 个{entity}同时满足两条规则：", on.count)
            }
        } else if on.count == 0 {
            format!(" Today no {entity} meets both.")
        } else {
            format!(
                " Today {} {entity}{} meet both:",
                on.count,
                if on.count == 1 { "" } else { "s" }
            )
        });
        let link = |id: &str| match first.entity {
            crate::schema::Entity::Inspection => Some(format!("/inspections/{id}")),
            crate::schema::Entity::Organization => Some(format!("/orgs/{id}")),
            _ => None,
        };
        subjects = on.subjects.iter().map(|s| (s.clone(), link(s))).collect();
    }
    Said {
        headline,
        text,
        subjects,
    }
}
