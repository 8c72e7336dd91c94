//! The interpreter as the analyser's judge: a witness's records held in
//! memory, each rule evaluated on them before a finding is printed.

use super::{Data, Interpreter};
use crate::calendar::Calendar;
use crate::error::Result;
use crate::lang::analyze::{Analysis, Oracle, Witness, analyze};
use crate::lang::ir::{CollId, Expr, FieldId, Policy, Rule};
use crate::schema::{Entity, Link};
use crate::value::Value;

/// A witness's records, read as the database would be.
pub struct MemoryData<'w> {
    pub witness: &'w Witness,
}

impl Data for MemoryData<'_> {
    fn value(&self, entity: Entity, id: &str, field: FieldId) -> Result<Value> {
        Ok(self
            .witness
            .records
            .iter()
            .find(|r| r.entity == entity && r.id == id)
            .map(|r| r.get(field))
            .unwrap_or(Value::Missing))
    }

    fn members(&self, owner: Entity, id: &str, coll: CollId) -> Result<Vec<String>> {
        let element = coll.def().element;
        let text = |r: &crate::lang::analyze::Record, name: &str| {
            FieldId::of(element, name).map(|f| r.get(f))
        };
        let is = |v: Option<Value>, s: &str| matches!(v, Some(Value::Text(t)) if t == s);
        let mut ids: Vec<String> = self
            .witness
            .records
            .iter()
            .filter(|r| r.entity == element)
            .filter(|r| match coll.def().link {
                Link::Backref(name) => is(text(r, name), id),
                Link::TaskSubject => {
                    is(text(r, "subject_type"), owner.name()) && is(text(r, "subject_id"), id)
                }
                Link::TaskTarget => is(text(r, "target"), id),
            })
            .map(|r| r.id.clone())
            .collect();
        ids.sort();
        Ok(ids)
    }
}

/// Evaluates rules on witnesses with the reference interpreter.
pub struct Judge<'c> {
    pub calendar: &'c Calendar,
}

impl Oracle for Judge<'_> {
    fn holds(&self, policy: &Policy, rule: &Rule, w: &Witness) -> bool {
        let data = MemoryData { witness: w };
        let i = Interpreter {
            policy,
            data: &data,
            today: w.today,
            calendar: self.calendar,
        };
        rule.entity == w.entity && i.holds(rule, &w.subject).unwrap_or(false)
    }

    fn value(&self, policy: &Policy, _rule: &Rule, e: &Expr, w: &Witness) -> Value {
        let data = MemoryData { witness: w };
        let i = Interpreter {
            policy,
            data: &data,
            today: w.today,
            calendar: self.calendar,
        };
        let scope = [super::Scope {
            entity: w.entity,
            id: Some(w.subject.clone()),
        }];
        i.eval(e, &scope).unwrap_or(Value::Missing)
    }
}

/// The analysis of a policy, every witness confirmed by the interpreter.
pub fn analyze_policy(policy: &Policy, today: chrono::NaiveDate, calendar: &Calendar) -> Analysis {
    analyze(policy, today, &Judge { calendar })
}
