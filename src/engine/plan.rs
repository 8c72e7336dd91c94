//! From one row of a rule's query to what a firing does: its tasks and
//! notices with the people they reach, and the actions that must be skipped
//! (a missing person, a person without an email). Shared by `run` (which
//! then writes it) and `dry-run`/`diff` (which report it), so both say the
//! same thing.

use crate::compile::CompiledRule;
use crate::lang::ir::{self, Rule, Ty};
use crate::value::Value;
use chrono::NaiveDate;
use rusqlite::types::Value as Sql;
use serde::Serialize;

/// Whether a firing starts an episode or repeats within one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Episode {
    New,
    Repeat { id: i64, fired: i64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
}

/// Someone a notice goes to: a person with an email, or a literal address.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recipient {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Planned {
    Task {
        kind: String,
        target: Person,
        assignee: Option<Person>,
        due: NaiveDate,
    },
    Notify {
        template: Option<String>,
        to: Vec<Recipient>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Skip {
    /// `task`, `notify` or `task notice`.
    pub action: &'static str,
    pub reason: String,
}

/// One firing of a rule for one subject.
#[derive(Debug, Clone)]
pub struct Plan<'r> {
    pub rule: &'r Rule,
    pub subject: String,
    pub episode: Episode,
    pub facts: Vec<(String, Value, Ty)>,
    pub template_values: Vec<(String, Value, Ty)>,
    pub actions: Vec<Planned>,
    pub skipped: Vec<Skip>,
}

/// An action as `dry-run --format json` and `diff` print it (SPEC §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct ActionJson {
    pub rule: String,
    pub entity: String,
    pub subject: String,
    #[serde(flatten)]
    pub body: ActionBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ActionBody {
    Task {
        kind: String,
        target: String,
        assignee: Option<String>,
        due: String,
    },
    Notify {
        template: Option<String>,
        to: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedJson {
    pub rule: String,
    pub entity: String,
    pub subject: String,
    pub action: String,
    pub reason: String,
}

impl Plan<'_> {
    pub fn actions_json(&self) -> Vec<ActionJson> {
        self.actions
            .iter()
            .map(|a| ActionJson {
                rule: self.rule.name.clone(),
                entity: self.rule.entity.name().to_string(),
                subject: self.subject.clone(),
                body: match a {
                    Planned::Task {
                        kind,
                        target,
                        assignee,
                        due,
                    } => ActionBody::Task {
                        kind: kind.clone(),
                        target: target.id.clone(),
                        assignee: assignee.as_ref().map(|p| p.id.clone()),
                        due: due.to_string(),
                    },
                    Planned::Notify { template, to } => ActionBody::Notify {
                        template: template.clone(),
                        to: to
                            .iter()
                            .map(|r| r.id.clone().unwrap_or_else(|| r.email.clone()))
                            .collect(),
                    },
                },
            })
            .collect()
    }

    pub fn skipped_json(&self) -> Vec<SkippedJson> {
        self.skipped
            .iter()
            .map(|s| SkippedJson {
                rule: self.rule.name.clone(),
                entity: self.rule.entity.name().to_string(),
                subject: self.subject.clone(),
                action: s.action.to_string(),
                reason: s.reason.clone(),
            })
            .collect()
    }

    /// The facts as a JSON object (codes, not labels).
    pub fn facts_json(&self) -> serde_json::Value {
        let map: serde_json::Map<String, serde_json::Value> = self
            .facts
            .iter()
            .map(|(l, v, _)| (l.clone(), v.to_json()))
            .collect();
        serde_json::Value::Object(map)
    }
}

fn text(v: Option<&Sql>) -> Option<String> {
    match v {
        Some(Sql::Text(t)) => Some(t.clone()),
        Some(Sql::Integer(i)) => Some(i.to_string()),
        _ => None,
    }
}

fn person_at(c: &CompiledRule, row: &[Sql], path: &str) -> Option<Person> {
    let col = c.person_column(path)?;
    let id = text(row.get(col))?;
    Some(Person {
        name: text(row.get(col + 1)).unwrap_or_else(|| id.clone()),
        email: text(row.get(col + 2)).filter(|e| !e.trim().is_empty()),
        id,
    })
}

fn describe(p: &Person) -> String {
    format!("{} ({})", p.name, p.id)
}

/// The plan of one firing, from its query row.
pub fn plan<'r>(
    rule: &'r Rule,
    c: &CompiledRule,
    row: &[Sql],
    episode: Episode,
    today: NaiveDate,
) -> Plan<'r> {
    let subject = text(row.first()).unwrap_or_default();
    let facts = rule
        .facts
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let v = row
                .get(c.fact_column(i))
                .map(|v| Value::from_sql(v, f.expr.ty))
                .unwrap_or(Value::Missing);
            (f.label.clone(), v, f.expr.ty)
        })
        .collect();
    let template_values = c
        .template_values
        .iter()
        .enumerate()
        .map(|(i, (path, ty))| {
            let v = row
                .get(c.template_column(i))
                .map(|v| Value::from_sql(v, *ty))
                .unwrap_or(Value::Missing);
            (path.clone(), v, *ty)
        })
        .collect();
    let mut actions = Vec::new();
    let mut skipped = Vec::new();
    for a in &rule.actions {
        match a {
            ir::Action::Task {
                kind,
                target,
                assignee,
                due_days,
            } => {
                let Some(t) = person_at(c, row, &target.text) else {
                    skipped.push(Skip {
                        action: "task",
                        reason: format!("no {kind} task: nobody at `{}`", target.text),
                    });
                    continue;
                };
                let a = person_at(c, row, &assignee.text);
                match &a {
                    None => skipped.push(Skip {
                        action: "task notice",
                        reason: format!(
                            "the {kind} task has no assignee: nobody at `{}`",
                            assignee.text
                        ),
                    }),
                    Some(p) if p.email.is_none() => skipped.push(Skip {
                        action: "task notice",
                        reason: format!(
                            "assignee {} has no email; the task is recorded without a notice",
                            describe(p)
                        ),
                    }),
                    Some(_) => {}
                }
                let due = today
                    .checked_add_days(chrono::Days::new((*due_days).max(0) as u64))
                    .unwrap_or(today);
                actions.push(Planned::Task {
                    kind: kind.clone(),
                    target: t,
                    assignee: a,
                    due,
                });
            }
            ir::Action::Notify { to, template } => {
                let mut recipients: Vec<Recipient> = Vec::new();
                for r in to {
                    match r {
                        ir::Recipient::Email(e) => recipients.push(Recipient {
                            id: None,
                            name: None,
                            email: e.clone(),
                        }),
                        ir::Recipient::Person(p) => match person_at(c, row, &p.text) {
                            None => skipped.push(Skip {
                                action: "notify",
                                reason: format!("nobody at `{}` to notify", p.text),
                            }),
                            Some(person) => match &person.email {
                                None => skipped.push(Skip {
                                    action: "notify",
                                    reason: format!(
                                        "{} (`{}`) has no email",
                                        describe(&person),
                                        p.text
                                    ),
                                }),
                                Some(email) => {
                                    if !recipients.iter().any(|x| x.email == *email) {
                                        recipients.push(Recipient {
                                            id: Some(person.id.clone()),
                                            name: Some(person.name.clone()),
                                            email: email.clone(),
                                        });
                                    }
                                }
                            },
                        },
                    }
                }
                if recipients.is_empty() {
                    skipped.push(Skip {
                        action: "notify",
                        reason: "no notice: none of its recipients has an email".into(),
                    });
                } else {
                    actions.push(Planned::Notify {
                        template: template.clone(),
                        to: recipients,
                    });
                }
            }
        }
    }
    Plan {
        rule,
        subject,
        episode,
        facts,
        template_values,
        actions,
        skipped,
    }
}
