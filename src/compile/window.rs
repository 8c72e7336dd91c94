//! A rule over a span of days, the data held still (`simulate`).
//!
//! Many conditions change with `today` only through thresholds on day
//! counts: `overdue_days >= 30`, `days_until(deadline) <= 7`,
//! `exists(tasks where … days_since(done_on) >= 30)`. A condition made of
//! `and`-ed parts that are either free of `today` or such thresholds holds,
//! for each subject, on one interval of days: the today-free parts, and
//! `from ≤ today ≤ until`, where `from` is the latest of the thresholds'
//! first days and `until` the earliest of their last days. One query then
//! tells, for every subject at once, on which days of the span the rule
//! holds — instead of one query per day.
//!
//! Anything else (`or` or `not` around a threshold, a day count in
//! arithmetic, a sum of counts …) is not windowed: [`window`] answers
//! `None`, and the rule is evaluated day by day as in a run.

use super::{Compiler, Count, ElementLink, Root, day_count, whole_bounds, within};
use crate::lang::ir::*;
use crate::schema::ProblemStatus;
use crate::store::{Dialect, Value};

/// A rule's condition as today-free parts and an interval of days.
#[derive(Debug, Clone)]
pub struct WindowRule {
    /// The joins after `FROM table s`.
    pub joins: String,
    /// The today-free parts (0 or 1).
    pub condition: String,
    /// The first day the rule holds, as an SQL date expression (`NULL`:
    /// never); none when it holds from any day on.
    pub from: Option<String>,
    /// The last day it holds, likewise.
    pub until: Option<String>,
    /// The days among `from`'s that are a date moved by a number of days
    /// (`date + k`): a subject can hold by the span's last day only if
    /// `date ≤ last − k`, which a query tests before computing any day.
    pub starts: Vec<(String, i64)>,
    /// Likewise among `until`'s: it holds on the span's first day or later
    /// only if `date ≥ first − k`.
    pub ends: Vec<(String, i64)>,
    /// Parameters ?2, ?3 …; `today` (?1) is not read.
    pub params: Vec<Value>,
}

/// The days-interval form of a rule's condition, when it has one.
pub fn window(policy: &Policy, rule: &Rule, dialect: Dialect) -> Option<WindowRule> {
    let mut c = Compiler::new(policy, dialect);
    let roots = vec![Root::subject(rule.entity)];
    let mut b = Bounds::default();
    for part in rule.when.conjuncts() {
        if policy.depends_on_today(part) {
            b.add(c.bounds(part, &roots)?);
        } else {
            b.parts.push(c.filter(part, &roots));
        }
    }
    let joins = std::mem::take(&mut c.levels[0].sql);
    Some(WindowRule {
        joins,
        condition: b.condition(dialect),
        from: latest(&b.from, dialect),
        until: earliest(&b.until, dialect),
        starts: b.starts,
        ends: b.ends,
        params: c.params,
    })
}

/// Parts of a condition: today-free conditions, and first and last days.
#[derive(Debug, Default)]
struct Bounds {
    parts: Vec<String>,
    from: Vec<String>,
    until: Vec<String>,
    /// Which of `from` and `until` are a date moved by a number of days.
    starts: Vec<(String, i64)>,
    ends: Vec<(String, i64)>,
}

impl Bounds {
    fn add(&mut self, other: Bounds) {
        self.parts.extend(other.parts);
        self.from.extend(other.from);
        self.until.extend(other.until);
        self.starts.extend(other.starts);
        self.ends.extend(other.ends);
    }

    fn condition(&self, d: Dialect) -> String {
        if self.parts.is_empty() {
            d.truth_value(true).into()
        } else {
            format!("({})", self.parts.join(" AND "))
        }
    }
}

/// The members of a count, as rows: `SELECT {day} {from_where}`.
struct MemberDays {
    /// `FROM … WHERE …` with the link to the owner and the today-free parts.
    from_where: String,
    /// The owners that have a member passing the today-free parts, all at
    /// once: `{owner}.id IN (SELECT key FROM … WHERE …)`.
    owned: String,
    /// The day a member starts (rising) or stops being counted.
    day: String,
    rising: bool,
}

impl Bounds {
    /// The members these bounds describe, from rows `FROM {from} WHERE
    /// {link} AND {rest}`: those that only start, or only stop, being
    /// counted.
    fn rows(self, from: &str, link: &ElementLink, rest: &str, d: Dialect) -> Option<MemberDays> {
        let rest = format!("{rest} AND {}", self.condition(d));
        let from_where = format!("FROM {from} WHERE {} AND {rest}", link.to_owner());
        let owned = link.owners_having(from, Some(&rest));
        let (day, rising) = match (latest(&self.from, d), earliest(&self.until, d)) {
            (Some(day), None) => (day, true),
            (None, Some(day)) => (day, false),
            _ => return None,
        };
        Some(MemberDays {
            from_where,
            owned,
            day,
            rising,
        })
    }
}

/// The latest of several days (NULL when one is: a bound that never
/// comes means never).
fn latest(days: &[String], d: Dialect) -> Option<String> {
    match days {
        [] => None,
        [one] => Some(one.clone()),
        many => Some(d.greatest(many)),
    }
}

fn earliest(days: &[String], d: Dialect) -> Option<String> {
    match days {
        [] => None,
        [one] => Some(one.clone()),
        many => Some(d.least(many)),
    }
}

impl Compiler<'_> {
    /// The bounds of one today-dependent part, if it is a threshold.
    fn bounds(&mut self, e: &Expr, roots: &[Root]) -> Option<Bounds> {
        match &e.kind {
            ExprKind::Compare(op, a, b) => self
                .threshold(*op, a, b, roots)
                .or_else(|| self.count_threshold(*op, a, b, roots)),
            ExprKind::Aggregate {
                func: AggFunc::Exists,
                coll,
                filter: Some(filter),
                ..
            } => self.exists_bounds(coll, filter, roots),
            _ => None,
        }
    }

    /// A day count compared with a number.
    fn threshold(&mut self, op: CmpOp, a: &Expr, b: &Expr, roots: &[Root]) -> Option<Bounds> {
        let (count, lo, hi) = day_count(op, a, b)?;
        let root = |p: &FieldPath| roots[p.scope.min(roots.len() - 1)].clone();
        let mut out = Bounds::default();
        match count {
            // since: n = today − date, so n ≥ k ⇔ today ≥ date + k.
            Count::Since(x) | Count::Until(x) if self.policy.depends_on_today(x) => return None,
            // Working days: not windowed (evaluated day by day).
            Count::WorkSince(_) | Count::WorkUntil(_) | Count::OverdueWorkdays(_) => return None,
            Count::Since(x) => {
                let date = self.expr(x, roots);
                self.since(&date, lo, hi, &mut out);
            }
            Count::OpenDays(p) => {
                let alias = self.join(&root(p), &p.refs);
                self.since(&format!("{alias}.found_on"), lo, hi, &mut out);
            }
            // until: n = date − today, so n ≥ k ⇔ today ≤ date − k.
            Count::Until(x) => {
                let date = self.expr(x, roots);
                if let Some(k) = lo {
                    self.ends_on(&mut out, &date, -k);
                }
                if let Some(k) = hi {
                    self.starts_on(&mut out, &date, -k);
                }
            }
            // overdue_days ≥ k (k ≥ 1) ⇔ not rectified and today ≥
            // deadline + k; ≥ 0 always. An upper bound on it is not an
            // interval once the problem is rectified: not windowed.
            Count::OverdueDays(p) => {
                let (Some(k), None) = (lo, hi) else {
                    return None;
                };
                if k >= 1 {
                    let alias = self.join(&root(p), &p.refs);
                    out.parts.push(format!(
                        "coalesce({alias}.status <> '{}', {})",
                        ProblemStatus::Rectified.code(),
                        self.d.truth_value(false)
                    ));
                    self.starts_on(&mut out, &format!("{alias}.deadline"), k);
                }
            }
        }
        Some(out)
    }

    fn since(&mut self, date: &str, lo: Option<i64>, hi: Option<i64>, out: &mut Bounds) {
        if let Some(k) = lo {
            self.starts_on(out, date, k);
        }
        if let Some(k) = hi {
            self.ends_on(out, date, k);
        }
    }

    /// The part holds from day `date + k` on.
    fn starts_on(&mut self, out: &mut Bounds, date: &str, k: i64) {
        out.from.push(self.shift(date, k));
        out.starts.push((date.to_string(), k));
    }

    /// The part holds until day `date + k`.
    fn ends_on(&mut self, out: &mut Bounds, date: &str, k: i64) {
        out.until.push(self.shift(date, k));
        out.ends.push((date.to_string(), k));
    }

    /// `exists(C where …)` whose today-dependent parts are thresholds that
    /// only start (or only end) a member's days: the collection holds from
    /// its earliest member's first day (or until its latest member's last).
    fn exists_bounds(&mut self, coll: &CollPath, filter: &Expr, roots: &[Root]) -> Option<Bounds> {
        let (from, link, member) =
            self.subquery(coll, roots, |c, inner| c.member_bounds(filter, inner))?;
        let member = member?;
        let condition = member.condition(self.d);
        let filtered = format!("{} AND {condition}", link.to_owner());
        let subject = roots.first()?.alias.clone();
        // The members that pass the filter's day-free parts can be listed
        // once where the filter reads nothing of the records around them.
        let listable = coll.refs.is_empty() && within(filter, roots.len());
        // The rule's subject's own: read once for all subjects, not per
        // subject — `key` naming their owner, `members` their condition
        // without the link.
        let own = listable && roots.len() == 1 && self.levels.len() == 1 && coll.scope == 0;
        let owner = own.then(|| {
            let mut members = link.any_owner();
            members.push(condition.clone());
            (link.key.clone(), members.join(" AND "))
        });
        let mut out = Bounds::default();
        // Deeper (a count's members' members): a record none of whose
        // members pass those parts has no day (NULL: never), so it is
        // tested first, against their list made once, rather than by a
        // look-up of its members per record (`repeated_admonishment` at a
        // million problems: 1.7 s on PostgreSQL).
        if listable && !own && !(member.from.is_empty() && member.until.is_empty()) {
            out.parts.push(link.owners_having(&from, Some(&condition)));
        }
        match (
            latest(&member.from, self.d),
            earliest(&member.until, self.d),
        ) {
            (None, None) => out.parts.push(match &owner {
                Some(_) => link.owners_having(&from, Some(&condition)),
                None => format!("EXISTS (SELECT 1 FROM {from} WHERE {filtered})"),
            }),
            (Some(first), None) => {
                let day = format!("min({first})");
                out.from
                    .push(self.members_day(owner.as_ref(), &subject, &day, &from, &filtered));
            }
            (None, Some(last)) => {
                let day = format!("max({last})");
                out.until
                    .push(self.members_day(owner.as_ref(), &subject, &day, &from, &filtered));
            }
            // Members each hold on an interval: together, not one.
            (Some(_), Some(_)) => return None,
        }
        Some(out)
    }

    /// `aggregate` (the first or last day) of the subject's members: per
    /// subject, or — given the members' `key` and their condition without
    /// the link (`owner`) — for all subjects at once, in a derived table
    /// grouped by the key and joined to the subject (`subject` its alias).
    /// A subject without members has no day (NULL) either way: left out
    /// of the join, it is left out as a NULL day leaves it out.
    fn members_day(
        &mut self,
        owner: Option<&(String, String)>,
        subject: &str,
        aggregate: &str,
        from: &str,
        filtered: &str,
    ) -> String {
        let Some((key, members)) = owner else {
            return format!("(SELECT {aggregate} FROM {from} WHERE {filtered})");
        };
        let sql = &mut self.levels[0].sql;
        let alias = format!("x{}", sql.matches(" JOIN (SELECT ").count() + 1);
        sql.push_str(&format!(
            " JOIN (SELECT {key} AS k, {aggregate} AS d FROM {from} WHERE {members} GROUP BY {key}) AS {alias} ON {alias}.k = {subject}.id"
        ));
        format!("{alias}.d")
    }

    /// A count of members that only start (or only stop) being counted,
    /// compared with a number: `count(problems where overdue_days > 0) >= 5`
    /// holds from the day the fifth member starts to count.
    fn count_threshold(&mut self, op: CmpOp, a: &Expr, b: &Expr, roots: &[Root]) -> Option<Bounds> {
        let (x, lo, hi) = whole_bounds(op, a, b)?;
        let m = self.member_days(x, roots)?;
        // The k-th member to start (rising) or the k-th to stop counting.
        let kth = |k: i64| {
            format!(
                "(SELECT d FROM (SELECT {} AS d {}) AS m WHERE d IS NOT NULL ORDER BY d {} LIMIT 1 OFFSET {})",
                m.day,
                m.from_where,
                if m.rising { "ASC" } else { "DESC" },
                k - 1
            )
        };
        let mut out = Bounds::default();
        // At least one member is needed where k ≥ 1 are (a k-th day that
        // never comes is NULL: never). Where each member's day is looked
        // up in its own elements (a subquery per member), the owners that
        // have one are listed once, and the others skip the look-up
        // (`repeated_admonishment` at a million problems: every
        // organization walked its problems' tasks, 1.7 s on PostgreSQL).
        // A member's own column is read as fast as the list is made
        // (`many_overdue`: 330 ms without it, 415 with).
        if lo.is_some_and(|k| k >= 1) && m.day.contains("SELECT") {
            out.parts.push(m.owned.clone());
        }
        // Counting rising members: n(today) ≥ k from the k-th start on;
        // n ≤ k until the day before the (k+1)-th start. Falling: n ≥ k
        // until the k-th latest stop; n ≤ k from the day after the
        // (k+1)-th latest stop.
        if let Some(k) = lo.filter(|k| *k >= 1) {
            let day = kth(k);
            if m.rising {
                out.from.push(day);
            } else {
                out.until.push(day);
            }
        }
        if let Some(k) = hi {
            if k < 0 {
                out.parts.push(self.d.truth_value(false).into());
            } else if m.rising {
                let next = kth(k + 1);
                let last = self.d.last_day();
                out.until
                    .push(self.d.add_days(&format!("coalesce({next}, {last})"), -1));
            } else {
                let next = kth(k + 1);
                let first = self.d.first_day();
                out.from
                    .push(self.d.add_days(&format!("coalesce({next}, {first})"), 1));
            }
        }
        Some(out)
    }

    /// The members a count counts, each with the day it starts (or stops)
    /// being counted: `count(C where …)`, `sum(C, count(D where …))` (the
    /// members of D across C), or a define of one.
    fn member_days(&mut self, x: &Expr, roots: &[Root]) -> Option<MemberDays> {
        match &x.kind {
            ExprKind::Field(p) if p.refs.is_empty() => {
                let PathEnd::Define(i) = p.end else {
                    return None;
                };
                let define = self.policy.defines.get(i)?.expr.clone();
                let record = roots.get(p.scope)?.clone();
                self.member_days(&define, &[record])
            }
            ExprKind::Aggregate {
                func: AggFunc::Count,
                coll,
                filter: Some(filter),
                ..
            } => {
                let (from, link, member) =
                    self.subquery(coll, roots, |c, inner| c.member_bounds(filter, inner))?;
                let truth = self.d.truth_value(true);
                member?.rows(&from, &link, truth, self.d)
            }
            ExprKind::Aggregate {
                func: AggFunc::Sum,
                coll,
                filter,
                value: Some(value),
            } => {
                let ExprKind::Aggregate {
                    func: AggFunc::Count,
                    coll: inner_coll,
                    filter: Some(inner_filter),
                    ..
                } = &value.kind
                else {
                    return None;
                };
                let policy = self.policy;
                let (outer, link, (filter_sql, members)) =
                    self.subquery(coll, roots, |c, inner| {
                        let filter_sql = match filter.as_deref() {
                            Some(f) if policy.depends_on_today(f) => None,
                            Some(f) => Some(c.filter(f, inner)),
                            None => Some(c.d.truth_value(true).into()),
                        };
                        let members = c.subquery(inner_coll, inner, |c, inner| {
                            c.member_bounds(inner_filter, inner)
                        });
                        (filter_sql, members)
                    })?;
                let (elements, inner_link, member) = members?;
                member?.rows(
                    &format!("{outer}, {elements}"),
                    &link,
                    &format!("{} AND {}", filter_sql?, inner_link.to_owner()),
                    self.d,
                )
            }
            _ => None,
        }
    }

    /// The parts of a member's filter: today-free, and the member's days.
    fn member_bounds(&mut self, filter: &Expr, roots: &[Root]) -> Option<Bounds> {
        let mut b = Bounds::default();
        for part in filter.conjuncts() {
            if self.policy.depends_on_today(part) {
                b.add(self.bounds(part, roots)?);
            } else {
                b.parts.push(self.filter(part, roots));
            }
        }
        Some(b)
    }
}
