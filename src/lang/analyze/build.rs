//! From a model to records: the subject, every record its fields are read
//! through, and for a count or share of a collection whose `where` is in
//! the fragment, members that pass it and members that do not. The result
//! is only a candidate; the interpreter decides whether the rules hold.

use super::normal::{MAX_CONJUNCTIONS, Normalizer, Space, dnf};
use super::solve::{Model, solve};
use super::{Record, Witness};
use crate::lang::ir::*;
use crate::schema::{Entity, FieldType, Link};
use crate::value::Value;
use chrono::NaiveDate;
use std::collections::HashMap;

/// The most members one collection gets.
const MAX_MEMBERS: usize = 12;

pub fn date_of(day: i64) -> NaiveDate {
    NaiveDate::default()
        .checked_add_signed(chrono::Duration::days(day))
        .unwrap_or_default()
}

struct Builder<'a> {
    space: &'a Space,
    model: &'a Model,
    records: Vec<Record>,
    at: HashMap<Vec<FieldId>, usize>,
    entity: Entity,
}

impl Record {
    pub fn set(&mut self, f: FieldId, v: Value) {
        match self.values.iter_mut().find(|(x, _)| *x == f) {
            Some(slot) => slot.1 = v,
            None => self.values.push((f, v)),
        }
    }

    pub fn get(&self, f: FieldId) -> Value {
        self.values
            .iter()
            .find(|(x, _)| *x == f)
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Missing)
    }
}

impl Builder<'_> {
    /// The record at the end of `refs` from the subject, made if needed.
    fn ensure(&mut self, refs: &[FieldId]) -> usize {
        if let Some(&i) = self.at.get(refs) {
            return i;
        }
        let Some((last, parent_refs)) = refs.split_last() else {
            self.records.push(Record {
                entity: self.entity,
                id: format!("{}-1", self.entity.name()),
                values: Vec::new(),
            });
            self.at.insert(Vec::new(), self.records.len() - 1);
            return self.records.len() - 1;
        };
        let parent = self.ensure(parent_refs);
        let FieldType::Ref(target) = last.def().ty else {
            return parent;
        };
        let named = self
            .space
            .vars
            .iter()
            .position(|v| v.refs == parent_refs && v.field == *last)
            .and_then(|v| self.model.texts.get(&v).cloned());
        let id = named.unwrap_or_else(|| format!("{}-{}", target.name(), self.records.len() + 1));
        self.records[parent].set(*last, Value::Text(id.clone()));
        self.records.push(Record {
            entity: target,
            id,
            values: Vec::new(),
        });
        self.at.insert(refs.to_vec(), self.records.len() - 1);
        self.records.len() - 1
    }
}

/// The records a model describes, for a subject of `entity`.
pub fn witness(policy: &Policy, space: &Space, entity: Entity, model: &Model) -> Witness {
    let mut b = Builder {
        space,
        model,
        records: Vec::new(),
        at: HashMap::new(),
        entity,
    };
    b.ensure(&[]);
    let mut vars: Vec<usize> = model
        .texts
        .keys()
        .chain(model.dates.keys())
        .copied()
        .collect();
    vars.sort();
    vars.dedup();
    for v in vars {
        let var = &space.vars[v];
        let value = match (model.texts.get(&v), model.dates.get(&v)) {
            (Some(t), _) => Value::Text(t.clone()),
            (None, Some(d)) => Value::Date(date_of(*d)),
            _ => continue,
        };
        if matches!(var.field.def().ty, FieldType::Ref(_)) {
            b.ensure(&[var.refs.as_slice(), &[var.field]].concat());
        } else {
            let r = b.ensure(&var.refs);
            b.records[r].set(var.field, value);
        }
    }
    let today = date_of(model.today);
    let mut terms: Vec<(&usize, &Option<f64>)> = model.terms.iter().collect();
    terms.sort_by_key(|(t, _)| **t);
    for (&t, value) in terms {
        let term = &space.terms[t];
        let ExprKind::Aggregate {
            func, coll, filter, ..
        } = &term.expr.kind
        else {
            continue;
        };
        let (pass, fail) = match (func, value) {
            (AggFunc::Count, Some(n)) => (n.max(0.0) as usize, 0),
            (AggFunc::Rate, Some(x)) => share(*x),
            _ => continue,
        };
        let owner = b.ensure(&[term.prefix.as_slice(), &coll.refs].concat());
        let owner_id = b.records[owner].id.clone();
        let owner_entity = b.records[owner].entity;
        for (n, pos) in [(pass, true), (fail, false)] {
            let Some(values) = member(policy, coll.scope + 1, filter.as_deref(), pos, model.today)
            else {
                continue;
            };
            for _ in 0..n.min(MAX_MEMBERS) {
                let mut r = Record {
                    entity: coll.element(),
                    id: format!("{}-{}", coll.element().name(), b.records.len() + 1),
                    values: values.clone(),
                };
                link(&mut r, coll.coll.def().link, owner_entity, &owner_id);
                b.records.push(r);
            }
        }
    }
    Witness {
        today,
        entity,
        subject: format!("{}-1", entity.name()),
        records: b.records,
    }
}

/// Whether a model asks only for what [`witness`] can build: no
/// undecided part, and each opaque quantity a count or share of a
/// collection (or left at what an empty one gives).
pub fn buildable(space: &Space, model: &Model) -> bool {
    model.props.is_empty()
        && model.terms.iter().all(|(t, v)| {
            v.is_none()
                || matches!(
                    space.terms[*t].expr.kind,
                    ExprKind::Aggregate {
                        func: AggFunc::Count | AggFunc::Rate,
                        ..
                    }
                )
        })
}

/// `x` as passing and failing members: 1/3 is one of three.
fn share(x: f64) -> (usize, usize) {
    for den in 1..=8usize {
        let num = (x * den as f64).round();
        if (num / den as f64 - x).abs() < 1e-9 {
            let num = num as usize;
            return (num, den - num);
        }
    }
    (0, 0)
}

fn link(r: &mut Record, how: Link, owner: Entity, id: &str) {
    let field = |name: &str| FieldId::of(r.entity, name);
    match how {
        Link::Backref(name) => {
            if let Some(f) = field(name) {
                r.set(f, Value::Text(id.to_string()));
            }
        }
        Link::TaskSubject => {
            if let (Some(t), Some(s)) = (field("subject_type"), field("subject_id")) {
                r.set(t, Value::Text(owner.name().to_string()));
                r.set(s, Value::Text(id.to_string()));
            }
        }
        Link::TaskTarget => {
            if let Some(f) = field("target") {
                r.set(f, Value::Text(id.to_string()));
            }
        }
    }
}

/// The own values of a member that passes (or fails) `filter`.
fn member(
    policy: &Policy,
    scope: usize,
    filter: Option<&Expr>,
    pos: bool,
    today: i64,
) -> Option<Vec<(FieldId, Value)>> {
    let Some(f) = filter else {
        return pos.then(Vec::new);
    };
    let mut space = Space::default();
    let mut n = Normalizer {
        policy,
        space: &mut space,
        base: scope,
    };
    let c = n.cond(f, &[], pos);
    let conjs = dnf(&c, MAX_CONJUNCTIONS)?;
    for conj in &conjs {
        let atoms: Vec<_> = conj.iter().collect();
        let Some(mut m) = solve(&space, &atoms, today) else {
            continue;
        };
        if m.today != today {
            // `today` is the subject's; a member cannot move it.
            m.today = today;
        }
        let mut values = Vec::new();
        for (v, var) in space.vars.iter().enumerate() {
            if !var.refs.is_empty() {
                continue;
            }
            if let Some(t) = m.texts.get(&v) {
                values.push((var.field, Value::Text(t.clone())));
            } else if let Some(d) = m.dates.get(&v) {
                values.push((var.field, Value::Date(date_of(*d))));
            }
        }
        return Some(values);
    }
    None
}
