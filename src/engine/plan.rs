//! From one row of a rule's query to what a firing does: its tasks and
//! notices with the people they reach, and the actions that must be skipped
//! (a missing person, a person without an email). Shared by `run` (which
//! then writes it) and `dry-run`/`diff` (which report it), so both say the
//! same thing.
//!
//! A plan borrows the query row: reporting a million firings copies no
//! names or ids.

use crate::calendar::{Calendar, NotCovered};
use crate::compile::CompiledRule;
use crate::lang::ir::{self, Days, Rule, Ty};
use crate::store::ValueRef as Sql;
use crate::value::Value;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Whether a firing starts an episode or repeats within one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Episode {
    New,
    Repeat { id: i64, fired: i64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Person<'r> {
    pub id: &'r str,
    pub name: &'r str,
    pub email: Option<&'r str>,
    pub mobile: Option<&'r str>,
}

/// Someone a chat message mentions, by their mobile number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mention<'r> {
    pub id: &'r str,
    pub name: &'r str,
    pub mobile: &'r str,
}

/// Someone a notice goes to: a person with an email, or a literal address.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recipient<'r> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'r str>,
    pub email: &'r str,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Planned<'r> {
    Task {
        kind: &'r str,
        target: Person<'r>,
        assignee: Option<Person<'r>>,
        due: NaiveDate,
        /// The time limit `due` was counted with (from the approval day,
        /// when the rule asks for one).
        days: Days,
    },
    Notify {
        template: Option<&'r str>,
        to: Vec<Recipient<'r>>,
        /// The template greets by `recipient.name`: one notice each.
        each: bool,
    },
    /// A message to a chat channel.
    Post {
        channel: &'r str,
        template: Option<&'r str>,
        mentioning: Vec<Mention<'r>>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Skip {
    /// `task`, `notify` or `task notice`.
    pub action: &'static str,
    pub reason: String,
}

/// The due date of a task `days` after `today`: calendar days, moved to
/// the next working day when they end on a day off (as a legal time limit
/// does); or working days counted from `today`.
pub fn due_date(
    days: Days,
    today: NaiveDate,
    calendar: &Calendar,
) -> Result<NaiveDate, NotCovered> {
    let n = days.count.max(0) as u64;
    if days.working {
        calendar.add_workdays(today, n)
    } else {
        today
            .checked_add_days(chrono::Days::new(n))
            .ok_or(NotCovered(today.year() + 1))
            .and_then(|d| calendar.on_or_after(d))
    }
}

/// The last day a firing may have been on for `repeat every` to fire again
/// at `today`; none without `repeat every`, or when the calendar does not
/// cover the days to count (never guessed: no repeat).
pub fn repeat_from(rule: &Rule, today: NaiveDate, calendar: &Calendar) -> Option<NaiveDate> {
    let days = rule.repeat?;
    let n = days.count.max(0) as u64;
    if days.working {
        calendar.workdays_back(today, n).ok()
    } else {
        today.checked_sub_days(chrono::Days::new(n))
    }
}

/// One firing of a rule for one subject.
#[derive(Debug, Clone)]
pub struct Plan<'r> {
    pub rule: &'r Rule,
    compiled: &'r CompiledRule,
    row: &'r [Sql<'r>],
    pub subject: &'r str,
    pub episode: Episode,
    pub actions: Vec<Planned<'r>>,
    pub skipped: Vec<Skip>,
    /// Who must approve the actions before they go out (`approval by`):
    /// from a path, with name and email; from an id, the id alone.
    pub approver: Option<Person<'r>>,
}

/// An action as `dry-run --format json` and `diff` print it (SPEC §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ActionJson<'a> {
    #[serde(borrow)]
    pub rule: Cow<'a, str>,
    #[serde(borrow)]
    pub entity: Cow<'a, str>,
    #[serde(borrow)]
    pub subject: Cow<'a, str>,
    #[serde(flatten, borrow)]
    pub body: ActionBody<'a>,
    /// The person who must approve it first (`approval by`).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Cow<'a, str>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ActionBody<'a> {
    Task {
        #[serde(borrow)]
        kind: Cow<'a, str>,
        #[serde(borrow)]
        target: Cow<'a, str>,
        #[serde(borrow)]
        assignee: Option<Cow<'a, str>>,
        due: String,
    },
    Notify {
        #[serde(borrow)]
        template: Option<Cow<'a, str>>,
        #[serde(borrow)]
        to: Vec<Cow<'a, str>>,
    },
    /// `"type": "channel"`: a message to a chat group.
    Channel {
        #[serde(borrow)]
        channel: Cow<'a, str>,
        #[serde(borrow)]
        template: Option<Cow<'a, str>>,
        #[serde(borrow, default, skip_serializing_if = "Vec::is_empty")]
        mentioning: Vec<Cow<'a, str>>,
    },
}

impl ActionJson<'_> {
    /// The action in words: `task reminder_talk → u3 by u2 due 2026-06-08`,
    /// `notify u1, u2 using overdue_notice`, and `(awaits approval by u9)`
    /// when it waits for a decision.
    pub fn describe(&self) -> String {
        match &self.approval {
            Some(a) => format!("{} (awaits approval by {a})", self.what()),
            None => self.what(),
        }
    }

    /// The action in words, without who approves it.
    pub fn what(&self) -> String {
        let using = match &self.body {
            ActionBody::Notify {
                template: Some(t), ..
            }
            | ActionBody::Channel {
                template: Some(t), ..
            } => format!(" using {t}"),
            _ => String::new(),
        };
        match &self.body {
            ActionBody::Task {
                kind,
                target,
                assignee,
                due,
            } => {
                let by = assignee
                    .as_ref()
                    .map(|x| format!(" by {x}"))
                    .unwrap_or_default();
                format!("task {kind} → {target}{by} due {due}")
            }
            ActionBody::Notify { to, .. } => format!("notify {}{using}", to.join(", ")),
            ActionBody::Channel {
                channel,
                mentioning,
                ..
            } => {
                let at = if mentioning.is_empty() {
                    String::new()
                } else {
                    format!(" mentioning {}", mentioning.join(", "))
                };
                format!("notify channel {channel}{at}{using}")
            }
        }
    }

    pub fn into_owned(self) -> ActionJson<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        ActionJson {
            rule: own(self.rule),
            entity: own(self.entity),
            subject: own(self.subject),
            approval: self.approval.map(own),
            body: match self.body {
                ActionBody::Task {
                    kind,
                    target,
                    assignee,
                    due,
                } => ActionBody::Task {
                    kind: own(kind),
                    target: own(target),
                    assignee: assignee.map(own),
                    due,
                },
                ActionBody::Notify { template, to } => ActionBody::Notify {
                    template: template.map(own),
                    to: to.into_iter().map(own).collect(),
                },
                ActionBody::Channel {
                    channel,
                    template,
                    mentioning,
                } => ActionBody::Channel {
                    channel: own(channel),
                    template: template.map(own),
                    mentioning: mentioning.into_iter().map(own).collect(),
                },
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedJson {
    pub rule: String,
    pub entity: String,
    pub subject: String,
    pub action: String,
    pub reason: String,
}

/// How many tasks and notices a firing creates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub tasks: u64,
    /// The rule's own notices, those to task assignees and the one asking
    /// the approver.
    pub notices: u64,
    /// Messages to chat channels.
    pub messages: u64,
    /// Of `notices`, those held until the approval is decided (all but
    /// the one asking the approver): not in the outbox yet.
    pub held: u64,
}

impl<'r> Planned<'r> {
    /// The assignee a task's notice goes to, with their email: none when
    /// the task has no assignee or the assignee has no email.
    pub fn assignee_notice(&self) -> Option<(&Person<'r>, &'r str)> {
        match self {
            Planned::Task {
                assignee: Some(p), ..
            } => p.email.map(|e| (p, e)),
            _ => None,
        }
    }
}

impl<'r> Plan<'r> {
    /// What the firing creates: the one count `run`, `dry-run` and
    /// `simulate` report, and the same decisions `apply` records.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for a in &self.actions {
            match a {
                Planned::Task { .. } => {
                    c.tasks += 1;
                    c.notices += u64::from(a.assignee_notice().is_some());
                }
                Planned::Notify { to, each, .. } => {
                    c.notices += if *each { to.len() as u64 } else { 1 };
                }
                Planned::Post { .. } => c.messages += 1,
            }
        }
        // The approver is asked by email when there is anything to approve.
        let asked = match self.rule.approval.as_ref().map(|a| &a.approver) {
            // Looked up only by a run: counted as reachable.
            Some(ir::Approver::Id(_)) => true,
            // A person's email is None when blank (`person_at`).
            Some(ir::Approver::Path(_)) => {
                self.approver.as_ref().is_some_and(|a| a.email.is_some())
            }
            None => false,
        };
        if self.rule.approval.is_some() {
            c.held = c.notices;
        }
        if asked && !self.actions.is_empty() {
            c.notices += 1;
        }
        c
    }

    pub fn actions_json(&self) -> impl Iterator<Item = ActionJson<'r>> + '_ {
        self.actions.iter().map(|a| ActionJson {
            rule: Cow::Borrowed(self.rule.name.as_str()),
            entity: Cow::Borrowed(self.rule.entity.name()),
            subject: Cow::Borrowed(self.subject),
            approval: self.approver.as_ref().map(|p| Cow::Borrowed(p.id)),
            body: match a {
                Planned::Task {
                    kind,
                    target,
                    assignee,
                    due,
                    ..
                } => ActionBody::Task {
                    kind: Cow::Borrowed(kind),
                    target: Cow::Borrowed(target.id),
                    assignee: assignee.as_ref().map(|p| Cow::Borrowed(p.id)),
                    due: due.to_string(),
                },
                Planned::Notify { template, to, .. } => ActionBody::Notify {
                    template: template.map(Cow::Borrowed),
                    to: to
                        .iter()
                        .map(|r| Cow::Borrowed(r.id.unwrap_or(r.email)))
                        .collect(),
                },
                Planned::Post {
                    channel,
                    template,
                    mentioning,
                } => ActionBody::Channel {
                    channel: Cow::Borrowed(channel),
                    template: template.map(Cow::Borrowed),
                    mentioning: mentioning.iter().map(|m| Cow::Borrowed(m.id)).collect(),
                },
            },
        })
    }

    pub fn skipped_json(&self) -> impl Iterator<Item = SkippedJson> + '_ {
        self.skipped.iter().map(|s| SkippedJson {
            rule: self.rule.name.clone(),
            entity: self.rule.entity.name().to_string(),
            subject: self.subject.to_string(),
            action: s.action.to_string(),
            reason: s.reason.clone(),
        })
    }

    /// The facts the condition read: label, value, type.
    pub fn facts(&self) -> Vec<(String, Value, Ty)> {
        self.rule
            .facts
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let v = self
                    .row
                    .get(self.compiled.fact_column(i))
                    .map(|v| Value::from_sql(*v, f.expr.ty))
                    .unwrap_or(Value::Missing);
                (f.label.clone(), v, f.expr.ty)
            })
            .collect()
    }

    /// The facts as a JSON object (codes, not labels).
    pub fn facts_json(&self) -> serde_json::Value {
        let map: serde_json::Map<String, serde_json::Value> = self
            .facts()
            .into_iter()
            .map(|(l, v, _)| (l, v.to_json()))
            .collect();
        serde_json::Value::Object(map)
    }

    /// The subject's title and its organization's name, as the firing's
    /// query read them (see [`CompiledRule::about_columns`]).
    pub fn about(&self) -> (Option<&'r str>, Option<&'r str>) {
        match self.compiled.about_columns() {
            Some((title, org)) => (text(self.row.get(title)), text(self.row.get(org))),
            None => (None, None),
        }
    }

    /// The values the rule's templates read: path, value, type.
    pub fn template_values(&self) -> Vec<(String, Value, Ty)> {
        self.compiled
            .template_values
            .iter()
            .enumerate()
            .map(|(i, (path, ty))| {
                let v = self
                    .row
                    .get(self.compiled.template_column(i))
                    .map(|v| Value::from_sql(*v, *ty))
                    .unwrap_or(Value::Missing);
                (path.clone(), v, *ty)
            })
            .collect()
    }
}

fn text<'r>(v: Option<&Sql<'r>>) -> Option<&'r str> {
    match v {
        Some(Sql::Text(t)) => Some(t),
        _ => None,
    }
}

fn person_at<'r>(c: &CompiledRule, row: &'r [Sql<'r>], path: &str) -> Option<Person<'r>> {
    let cols = c.person_columns(path)?;
    let id = text(row.get(cols.id))?;
    let address = |col: Option<usize>| {
        col.and_then(|k| text(row.get(k)))
            .filter(|a| !a.trim().is_empty())
    };
    Some(Person {
        id,
        name: text(row.get(cols.name)).unwrap_or(id),
        email: address(cols.email),
        mobile: address(cols.mobile),
    })
}

/// The address an action reaches a person at.
#[derive(Debug, Clone, Copy)]
enum Address {
    Email,
    Mobile,
}

/// The person at `path` with the address the action needs; or none, and
/// the skip that says why (nobody there, or no such address).
fn reach<'r>(
    c: &CompiledRule,
    row: &'r [Sql<'r>],
    path: &str,
    address: Address,
    skipped: &mut Vec<Skip>,
) -> Option<(Person<'r>, &'r str)> {
    let (action, lacking) = match address {
        Address::Email => ("notify", "has no email"),
        Address::Mobile => (
            "mention",
            "has no mobile number; the message goes without mentioning them",
        ),
    };
    let Some(person) = person_at(c, row, path) else {
        skipped.push(Skip {
            action,
            reason: format!("nobody at `{path}` to {action}"),
        });
        return None;
    };
    let at = match address {
        Address::Email => person.email,
        Address::Mobile => person.mobile,
    };
    match at {
        Some(at) => Some((person, at)),
        None => {
            skipped.push(Skip {
                action,
                reason: format!("{} (`{path}`) {lacking}", describe(&person)),
            });
            None
        }
    }
}

/// The persons a chat message mentions; one without a mobile number is
/// left out, as a recipient without an email is.
fn mentions<'r>(
    c: &CompiledRule,
    row: &'r [Sql<'r>],
    to: &[ir::Recipient],
    skipped: &mut Vec<Skip>,
) -> Vec<Mention<'r>> {
    let mut out: Vec<Mention<'r>> = Vec::new();
    for r in to {
        let ir::Recipient::Person(p) = r else {
            continue;
        };
        if let Some((person, mobile)) = reach(c, row, &p.text, Address::Mobile, skipped)
            && !out.iter().any(|m| m.mobile == mobile)
        {
            out.push(Mention {
                id: person.id,
                name: person.name,
                mobile,
            });
        }
    }
    out
}

fn describe(p: &Person<'_>) -> String {
    format!("{} ({})", p.name, p.id)
}

/// The plan of one firing, from its query row.
pub fn plan<'r>(
    rule: &'r Rule,
    c: &'r CompiledRule,
    row: &'r [Sql<'r>],
    episode: Episode,
    today: NaiveDate,
    calendar: &Calendar,
) -> Plan<'r> {
    let mut skipped = Vec::new();
    let (approver, actions) = match approver(rule, c, row) {
        Ok(approver) => (
            approver,
            actions(rule, c, row, today, calendar, &mut skipped),
        ),
        // Nobody can approve: nothing is created to wait forever.
        Err(skip) => {
            skipped.push(skip);
            (None, Vec::new())
        }
    };
    Plan {
        rule,
        compiled: c,
        row,
        subject: text(row.first()).unwrap_or_default(),
        episode,
        actions,
        skipped,
        approver,
    }
}

/// Who must approve the firing's actions: none without `approval by`; a
/// person named by id as that id alone; or the person at the path — and
/// the skip that says why when nobody is there.
fn approver<'r>(
    rule: &'r Rule,
    c: &CompiledRule,
    row: &'r [Sql<'r>],
) -> Result<Option<Person<'r>>, Skip> {
    match rule.approval.as_ref().map(|a| &a.approver) {
        None => Ok(None),
        Some(ir::Approver::Id(id)) => Ok(Some(Person {
            id,
            name: id,
            email: None,
            mobile: None,
        })),
        Some(ir::Approver::Path(p)) => match person_at(c, row, &p.text) {
            Some(person) => Ok(Some(person)),
            None => Err(Skip {
                action: "approval",
                reason: format!(
                    "nobody at `{}` to approve: the firing's tasks and notices are not created",
                    p.text
                ),
            }),
        },
    }
}

/// The firing's actions, with the people they reach; what must be skipped
/// goes to `skipped`.
fn actions<'r>(
    rule: &'r Rule,
    c: &'r CompiledRule,
    row: &'r [Sql<'r>],
    today: NaiveDate,
    calendar: &Calendar,
    skipped: &mut Vec<Skip>,
) -> Vec<Planned<'r>> {
    let mut actions = Vec::with_capacity(rule.actions.len());
    for a in &rule.actions {
        match a {
            ir::Action::Task {
                kind,
                target,
                assignee,
                due: due_days,
            } => {
                let due = due_days;
                let Some(t) = person_at(c, row, &target.text) else {
                    skipped.push(Skip {
                        action: "task",
                        reason: format!("no {kind} task: nobody at `{}`", target.text),
                    });
                    continue;
                };
                // A time limit that ends on a day off ends on the next
                // working day; a year the calendar lacks is never guessed.
                let due = match due_date(*due, today, calendar) {
                    Ok(d) => d,
                    Err(e) => {
                        skipped.push(Skip {
                            action: "task",
                            reason: format!("no {kind} task: its due date is unknown: {e}"),
                        });
                        continue;
                    }
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
                actions.push(Planned::Task {
                    kind,
                    target: t,
                    assignee: a,
                    due,
                    days: *due_days,
                });
            }
            ir::Action::Notify {
                to,
                template,
                channel: Some(channel),
            } => actions.push(Planned::Post {
                channel: &channel.name,
                template: template.as_deref(),
                mentioning: mentions(c, row, to, skipped),
            }),
            ir::Action::Notify {
                to,
                template,
                channel: None,
            } => {
                let mut recipients: Vec<Recipient<'r>> = Vec::with_capacity(to.len());
                for r in to {
                    match r {
                        ir::Recipient::Email(e) => recipients.push(Recipient {
                            id: None,
                            name: None,
                            email: e,
                        }),
                        ir::Recipient::Person(p) => {
                            if let Some((person, email)) =
                                reach(c, row, &p.text, Address::Email, skipped)
                                && !recipients.iter().any(|x| x.email == email)
                            {
                                recipients.push(Recipient {
                                    id: Some(person.id),
                                    name: Some(person.name),
                                    email,
                                });
                            }
                        }
                    }
                }
                if recipients.is_empty() {
                    skipped.push(Skip {
                        action: "notify",
                        reason: "no notice: none of its recipients has an email".into(),
                    });
                } else {
                    actions.push(Planned::Notify {
                        template: template.as_deref(),
                        to: recipients,
                        each: template
                            .as_ref()
                            .is_some_and(|t| c.per_recipient.contains(t)),
                    });
                }
            }
        }
    }
    actions
}
