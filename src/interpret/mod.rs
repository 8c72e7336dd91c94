//! The reference interpreter: evaluates the checked IR for one subject at a
//! time, record by record, in plain Rust. It is the second opinion on the
//! SQL compiler — `explain` shows its reasoning, and the differential tests
//! demand that both agree on every rule and subject — so it implements
//! SPEC §2–§3 directly and shares no code with `compile`:
//!
//! - a comparison with a missing value is false, also `!=`;
//! - arithmetic with a missing value is missing; dividing by zero too;
//! - `count` and `sum` of an empty collection are 0; `avg`, `min`, `max`
//!   and `rate` of one are missing; missing member values are skipped;
//! - `overdue_days` is 0 unless the problem is unrectified and past its
//!   deadline; `open_days` is missing without `found_on`.

pub mod data;
pub mod explain;
pub mod witness;

use crate::lang::ir::*;
use crate::schema::{Derived, Entity, FieldType};
use crate::value::Value;
use chrono::NaiveDate;
pub use data::{Data, SqliteData};

/// A record in scope: its entity and id, or none (a reference that is
/// missing leads nowhere).
#[derive(Debug, Clone)]
pub struct Scope {
    pub entity: Entity,
    pub id: Option<String>,
}

pub struct Interpreter<'a> {
    pub policy: &'a Policy,
    pub data: &'a dyn Data,
    pub today: NaiveDate,
    /// Working days, for `workdays_since`, `workdays_until` and
    /// `overdue_workdays` (a day it does not cover counts as missing).
    pub calendar: &'a crate::calendar::Calendar,
}

pub type Result<T> = crate::error::Result<T>;

impl Interpreter<'_> {
    /// Whether `rule` holds for the subject `id`.
    pub fn holds(&self, rule: &Rule, id: &str) -> Result<bool> {
        let scopes = [Scope {
            entity: rule.entity,
            id: Some(id.to_string()),
        }];
        Ok(matches!(self.eval(&rule.when, &scopes)?, Value::Bool(true)))
    }

    pub fn eval(&self, e: &Expr, scopes: &[Scope]) -> Result<Value> {
        Ok(match &e.kind {
            ExprKind::Literal(l) => match l {
                Literal::Number(n) => Value::Number(*n),
                Literal::Text(t) => Value::Text(t.clone()),
                Literal::Bool(b) => Value::Bool(*b),
                Literal::Date(d) => Value::Date(*d),
            },
            ExprKind::Today => Value::Date(self.today),
            ExprKind::Field(p) => self.field(p, scopes)?,
            ExprKind::Not(x) => Value::Bool(!truth(&self.eval(x, scopes)?)),
            ExprKind::Neg(x) => match self.eval(x, scopes)? {
                Value::Number(n) => Value::Number(-n),
                _ => Value::Missing,
            },
            ExprKind::And(a, b) => {
                Value::Bool(truth(&self.eval(a, scopes)?) && truth(&self.eval(b, scopes)?))
            }
            ExprKind::Or(a, b) => {
                Value::Bool(truth(&self.eval(a, scopes)?) || truth(&self.eval(b, scopes)?))
            }
            ExprKind::Compare(op, a, b) => {
                let (x, y) = (self.eval(a, scopes)?, self.eval(b, scopes)?);
                Value::Bool(compare(*op, &x, &y))
            }
            ExprKind::Arith(op, a, b) => arith(*op, self.eval(a, scopes)?, self.eval(b, scopes)?),
            ExprKind::In(x, items) => {
                let v = self.eval(x, scopes)?;
                let mut found = false;
                for i in items {
                    if compare(CmpOp::Eq, &v, &self.eval(i, scopes)?) {
                        found = true;
                    }
                }
                Value::Bool(found)
            }
            ExprKind::Present(x) => Value::Bool(!self.eval(x, scopes)?.is_missing()),
            ExprKind::Missing(x) => Value::Bool(self.eval(x, scopes)?.is_missing()),
            ExprKind::DaysSince(x) => match self.eval(x, scopes)? {
                Value::Date(d) => Value::Number((self.today - d).num_days() as f64),
                _ => Value::Missing,
            },
            ExprKind::DaysUntil(x) => match self.eval(x, scopes)? {
                Value::Date(d) => Value::Number((d - self.today).num_days() as f64),
                _ => Value::Missing,
            },
            ExprKind::WorkdaysSince(x) => match self.eval(x, scopes)? {
                Value::Date(d) => self.workdays(d, self.today),
                _ => Value::Missing,
            },
            ExprKind::WorkdaysUntil(x) => match self.eval(x, scopes)? {
                Value::Date(d) => self.workdays(self.today, d),
                _ => Value::Missing,
            },
            ExprKind::Aggregate {
                func,
                coll,
                filter,
                value,
            } => {
                self.aggregate(*func, coll, filter.as_deref(), value.as_deref(), scopes)?
                    .0
            }
        })
    }

    /// The record a path's references lead to, from a scope.
    pub fn follow(&self, scope: &Scope, refs: &[FieldId]) -> Result<Scope> {
        let mut at = scope.clone();
        for f in refs {
            let FieldType::Ref(target) = f.def().ty else {
                return Ok(Scope {
                    entity: at.entity,
                    id: None,
                });
            };
            let next = match &at.id {
                Some(id) => match self.data.value(at.entity, id, *f)? {
                    Value::Text(t) => Some(t),
                    _ => None,
                },
                None => None,
            };
            at = Scope {
                entity: target,
                id: next,
            };
        }
        Ok(at)
    }

    fn field(&self, p: &FieldPath, scopes: &[Scope]) -> Result<Value> {
        let Some(scope) = scopes.get(p.scope) else {
            return Ok(Value::Missing);
        };
        let record = self.follow(scope, &p.refs)?;
        match p.end {
            PathEnd::Define(i) => {
                let Some(d) = self.policy.defines.get(i) else {
                    return Ok(Value::Missing);
                };
                self.eval(&d.expr, &[record])
            }
            PathEnd::Field(f) => {
                let Some(id) = &record.id else {
                    return Ok(Value::Missing);
                };
                match f.def().derived {
                    None => self.data.value(record.entity, id, f),
                    Some(Derived::OverdueDays) => {
                        Ok(match self.overdue_since(record.entity, id)? {
                            Some(d) => Value::Number((self.today - d).num_days() as f64),
                            None => Value::Number(0.0),
                        })
                    }
                    Some(Derived::OverdueWorkdays) => {
                        Ok(match self.overdue_since(record.entity, id)? {
                            Some(d) => self.workdays(d, self.today),
                            None => Value::Number(0.0),
                        })
                    }
                    Some(Derived::OpenDays) => {
                        Ok(match self.stored(record.entity, id, "found_on")? {
                            Value::Date(d) => Value::Number((self.today - d).num_days() as f64),
                            _ => Value::Missing,
                        })
                    }
                }
            }
        }
    }

    /// The deadline of a problem that is overdue (not rectified, past its
    /// deadline) at `today`.
    fn overdue_since(&self, entity: Entity, id: &str) -> Result<Option<NaiveDate>> {
        let status = self.stored(entity, id, "status")?;
        let deadline = self.stored(entity, id, "deadline")?;
        Ok(match (status, deadline) {
            (Value::Text(s), Value::Date(d))
                if s != crate::schema::ProblemStatus::Rectified.code() && self.today > d =>
            {
                Some(d)
            }
            _ => None,
        })
    }

    /// Working days x with `from < x ≤ to`; missing where the calendar
    /// does not cover a day it needs.
    fn workdays(&self, from: NaiveDate, to: NaiveDate) -> Value {
        match self.calendar.workdays_between(from, to) {
            Ok(n) => Value::Number(n as f64),
            Err(_) => Value::Missing,
        }
    }

    fn stored(&self, entity: Entity, id: &str, name: &str) -> Result<Value> {
        match FieldId::of(entity, name) {
            Some(f) => self.data.value(entity, id, f),
            None => Ok(Value::Missing),
        }
    }

    /// The members of a collection, from a scope.
    pub fn members(&self, coll: &CollPath, scopes: &[Scope]) -> Result<Vec<String>> {
        let Some(scope) = scopes.get(coll.scope) else {
            return Ok(Vec::new());
        };
        let owner = self.follow(scope, &coll.refs)?;
        match &owner.id {
            Some(id) => self.data.members(owner.entity, id, coll.coll),
            None => Ok(Vec::new()),
        }
    }

    /// An aggregate's value, with the members that made it (those passing
    /// the filter, and the value of each).
    pub fn aggregate(
        &self,
        func: AggFunc,
        coll: &CollPath,
        filter: Option<&Expr>,
        value: Option<&Expr>,
        scopes: &[Scope],
    ) -> Result<(Value, Vec<Member>)> {
        let element = coll.element();
        let mut members = Vec::new();
        for id in self.members(coll, scopes)? {
            let mut inner = scopes.to_vec();
            inner.push(Scope {
                entity: element,
                id: Some(id.clone()),
            });
            let passes = match filter {
                Some(f) => truth(&self.eval(f, &inner)?),
                None => true,
            };
            let v = match value {
                Some(v) if passes => self.eval(v, &inner)?,
                _ => Value::Missing,
            };
            members.push(Member {
                id,
                passes,
                value: v,
            });
        }
        let passing = members.iter().filter(|m| m.passes);
        let values: Vec<&Value> = passing
            .clone()
            .map(|m| &m.value)
            .filter(|v| !v.is_missing())
            .collect();
        let result = match func {
            AggFunc::Count => Value::Number(passing.count() as f64),
            AggFunc::Exists => Value::Bool(passing.count() > 0),
            AggFunc::Rate => {
                if members.is_empty() {
                    Value::Missing
                } else {
                    Value::Number(passing.count() as f64 / members.len() as f64)
                }
            }
            AggFunc::Sum => Value::Number(values.iter().filter_map(|v| number(v)).sum()),
            AggFunc::Avg => {
                let nums: Vec<f64> = values.iter().filter_map(|v| number(v)).collect();
                if nums.is_empty() {
                    Value::Missing
                } else {
                    Value::Number(nums.iter().sum::<f64>() / nums.len() as f64)
                }
            }
            AggFunc::Min | AggFunc::Max => {
                let mut best: Option<&Value> = None;
                for v in values {
                    let better = match best {
                        None => true,
                        Some(b) => {
                            let op = if func == AggFunc::Min {
                                CmpOp::Lt
                            } else {
                                CmpOp::Gt
                            };
                            compare(op, v, b)
                        }
                    };
                    if better {
                        best = Some(v);
                    }
                }
                best.cloned().unwrap_or(Value::Missing)
            }
        };
        Ok((result, members))
    }
}

/// One member of a collection, as an aggregate saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub id: String,
    /// Whether it passed the `where` condition (true without one).
    pub passes: bool,
    /// The value expression's value for it (sum/avg/min/max).
    pub value: Value,
}

fn truth(v: &Value) -> bool {
    matches!(v, Value::Bool(true))
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => Some(*n),
        _ => None,
    }
}

/// SPEC §3: false whenever a side is missing, `!=` included.
pub fn compare(op: CmpOp, a: &Value, b: &Value) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (a, b) {
        (Value::Missing, _) | (_, Value::Missing) => None,
        (Value::Number(x), Value::Number(y)) => x.partial_cmp(y),
        (Value::Text(x), Value::Text(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Date(x), Value::Date(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        // A date held as text (an id compared with a date cannot happen:
        // the checker refuses it).
        (Value::Date(x), Value::Text(y)) => Some(x.to_string().as_bytes().cmp(y.as_bytes())),
        (Value::Text(x), Value::Date(y)) => Some(x.as_bytes().cmp(y.to_string().as_bytes())),
        _ => None,
    };
    match (ord, op) {
        (None, _) => false,
        (Some(o), CmpOp::Eq) => o == Ordering::Equal,
        (Some(o), CmpOp::Ne) => o != Ordering::Equal,
        (Some(o), CmpOp::Lt) => o == Ordering::Less,
        (Some(o), CmpOp::Le) => o != Ordering::Greater,
        (Some(o), CmpOp::Gt) => o == Ordering::Greater,
        (Some(o), CmpOp::Ge) => o != Ordering::Less,
    }
}

/// Whole days added to a date, rounded down (`+1.5 days` is one day,
/// `-1.5 days` two days back).
fn add_days(d: NaiveDate, days: f64) -> Value {
    let whole = days.floor();
    if !whole.is_finite() || whole.abs() > 1e6 {
        return Value::Missing;
    }
    match d.checked_add_signed(chrono::Duration::days(whole as i64)) {
        Some(x) => Value::Date(x),
        None => Value::Missing,
    }
}

fn arith(op: ArithOp, a: Value, b: Value) -> Value {
    match (op, a, b) {
        (_, Value::Missing, _) | (_, _, Value::Missing) => Value::Missing,
        (ArithOp::Add, Value::Date(d), Value::Number(n))
        | (ArithOp::Add, Value::Number(n), Value::Date(d)) => add_days(d, n),
        (ArithOp::Sub, Value::Date(d), Value::Number(n)) => add_days(d, -n),
        (ArithOp::Sub, Value::Date(x), Value::Date(y)) => Value::Number((x - y).num_days() as f64),
        (ArithOp::Add, Value::Number(x), Value::Number(y)) => Value::Number(x + y),
        (ArithOp::Sub, Value::Number(x), Value::Number(y)) => Value::Number(x - y),
        (ArithOp::Mul, Value::Number(x), Value::Number(y)) => Value::Number(x * y),
        (ArithOp::Div, Value::Number(_), Value::Number(0.0)) => Value::Missing,
        (ArithOp::Div, Value::Number(x), Value::Number(y)) => Value::Number(x / y),
        _ => Value::Missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_with_missing_are_false() {
        for op in [CmpOp::Eq, CmpOp::Ne, CmpOp::Lt, CmpOp::Ge] {
            assert!(!compare(op, &Value::Missing, &Value::Number(1.0)));
        }
        assert!(compare(
            CmpOp::Ne,
            &Value::Text("a".into()),
            &Value::Text("b".into())
        ));
    }

    #[test]
    fn fractional_days_round_down() {
        let d = NaiveDate::from_ymd_opt(2026, 1, 10).unwrap_or_default();
        assert_eq!(
            add_days(d, 1.5),
            Value::Date(NaiveDate::from_ymd_opt(2026, 1, 11).unwrap_or_default())
        );
        assert_eq!(
            add_days(d, -1.5),
            Value::Date(NaiveDate::from_ymd_opt(2026, 1, 8).unwrap_or_default())
        );
        assert_eq!(
            arith(ArithOp::Div, Value::Number(1.0), Value::Number(0.0)),
            Value::Missing
        );
    }
}
