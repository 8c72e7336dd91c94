//! Conditions into normal form: each comparison becomes atoms over the
//! subject's fields (dates as differences of days, enum and text values as
//! sets, presence), negations pushed to the atoms (a comparison with a
//! missing value is false, so `not (x < 5)` is `x missing or x >= 5`),
//! derived fields and defines unfolded, and the whole turned into a
//! disjunction of conjunctions, bounded in size. What the fragment cannot
//! say becomes an opaque quantity (an aggregate, a working-day count,
//! arithmetic) or an unknown proposition.

use crate::lang::ir::*;
use crate::schema::{Derived, Entity, FieldType};

/// How many conjunctions a condition may expand to before it is left
/// undecided.
pub const MAX_CONJUNCTIONS: usize = 256;

/// A stored field of the subject, reached through references.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Var {
    pub refs: Vec<FieldId>,
    pub field: FieldId,
}

/// A point of the day line: the fixed origin, `today`, or a date field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Node {
    Zero,
    Today,
    Var(usize),
}

/// A bound on an opaque quantity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    Lo(f64, bool),
    Hi(f64, bool),
    Ne(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Atom {
    Const(bool),
    /// The field has a value (true) or is missing (false).
    Present(usize, bool),
    /// `a − b ≤ k`, in whole days (both present).
    Diff(Node, Node, i64),
    /// The field has a value in the set (true) or a value outside it (false).
    In(usize, Vec<String>, bool),
    /// An opaque quantity has a value within the bound.
    Opq(usize, Bound),
    OpqPresent(usize, bool),
    /// A part the fragment cannot decide: true or false.
    Prop(usize, bool),
}

/// An opaque quantity: an aggregate, a working-day count, arithmetic.
#[derive(Debug, Clone)]
pub struct Term {
    /// The references from the subject to the record it is read on.
    pub prefix: Vec<FieldId>,
    pub expr: Expr,
    /// Takes whole numbers only (counts, working days).
    pub integral: bool,
    /// Never missing (count and sum of an empty collection are 0).
    pub total: bool,
    pub lo: f64,
    pub hi: f64,
}

/// Everything the conditions of one policy speak of, interned, so that
/// the conditions of two rules combine.
#[derive(Debug, Default)]
pub struct Space {
    pub vars: Vec<Var>,
    pub terms: Vec<Term>,
    pub props: Vec<(Vec<FieldId>, bool, Expr)>,
}

#[derive(Debug, Clone)]
pub enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Atom(Atom),
}

fn and(v: Vec<Cond>) -> Cond {
    Cond::And(v)
}
fn or(v: Vec<Cond>) -> Cond {
    Cond::Or(v)
}
fn atom(a: Atom) -> Cond {
    Cond::Atom(a)
}

/// A numeric or date value, classified.
#[derive(Debug, Clone)]
enum Num {
    Const(f64),
    /// A point of the day line plus whole days.
    Date(Node, i64),
    /// `a − b + off` days.
    Diff(Node, Node, f64),
    Opq(usize),
    /// `overdue_days` of the problem at these references.
    Overdue(Vec<FieldId>),
    Unknown,
}

/// The day number of a date (days from 1970-01-01).
pub fn day_number(d: chrono::NaiveDate) -> i64 {
    (d - chrono::NaiveDate::default()).num_days()
}

pub struct Normalizer<'a> {
    pub policy: &'a Policy,
    pub space: &'a mut Space,
    /// The scope whose record is the subject (0 for a rule; 1 for the
    /// element of a collection when a member is built).
    pub base: usize,
}

impl Normalizer<'_> {
    fn var(&mut self, refs: Vec<FieldId>, field: FieldId) -> usize {
        let v = Var { refs, field };
        if let Some(i) = self.space.vars.iter().position(|x| *x == v) {
            return i;
        }
        self.space.vars.push(v);
        self.space.vars.len() - 1
    }

    fn prop(&mut self, prefix: &[FieldId], presence: bool, e: &Expr) -> usize {
        if let Some(i) = self
            .space
            .props
            .iter()
            .position(|(p, pr, x)| p == prefix && *pr == presence && x == e)
        {
            return i;
        }
        self.space
            .props
            .push((prefix.to_vec(), presence, e.clone()));
        self.space.props.len() - 1
    }

    fn term(&mut self, prefix: &[FieldId], e: &Expr) -> usize {
        if let Some(i) = self
            .space
            .terms
            .iter()
            .position(|t| t.prefix == prefix && t.expr == *e)
        {
            return i;
        }
        let (integral, total, lo, hi) = match &e.kind {
            ExprKind::Aggregate { func, .. } => match func {
                AggFunc::Count => (true, true, 0.0, f64::INFINITY),
                AggFunc::Rate => (false, false, 0.0, 1.0),
                AggFunc::Sum => (false, true, f64::NEG_INFINITY, f64::INFINITY),
                _ => (false, false, f64::NEG_INFINITY, f64::INFINITY),
            },
            ExprKind::WorkdaysSince(_) | ExprKind::WorkdaysUntil(_) => {
                (true, false, f64::NEG_INFINITY, f64::INFINITY)
            }
            ExprKind::Field(FieldPath {
                end: PathEnd::Field(f),
                ..
            }) if f.def().derived == Some(Derived::OverdueWorkdays) => {
                (true, false, 0.0, f64::INFINITY)
            }
            _ => (false, false, f64::NEG_INFINITY, f64::INFINITY),
        };
        self.space.terms.push(Term {
            prefix: prefix.to_vec(),
            expr: e.clone(),
            integral,
            total,
            lo,
            hi,
        });
        self.space.terms.len() - 1
    }

    /// The condition `e` (positive) or its negation, in negation normal form.
    pub fn cond(&mut self, e: &Expr, prefix: &[FieldId], pos: bool) -> Cond {
        match &e.kind {
            ExprKind::Literal(Literal::Bool(b)) => atom(Atom::Const(*b == pos)),
            ExprKind::Not(x) => self.cond(x, prefix, !pos),
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                let parts = vec![self.cond(a, prefix, pos), self.cond(b, prefix, pos)];
                if matches!(e.kind, ExprKind::And(..)) == pos {
                    and(parts)
                } else {
                    or(parts)
                }
            }
            ExprKind::Compare(op, l, r) => self.compare(*op, l, r, prefix, pos, e),
            ExprKind::In(x, items) => {
                if let (Some(v), Some(set)) = (self.text_var(x, prefix), literal_texts(items)) {
                    let present = atom(Atom::In(v, set, pos));
                    return if pos {
                        present
                    } else {
                        or(vec![atom(Atom::Present(v, false)), present])
                    };
                }
                let parts: Vec<Cond> = items
                    .iter()
                    .map(|i| self.compare(CmpOp::Eq, x, i, prefix, pos, e))
                    .collect();
                if pos { or(parts) } else { and(parts) }
            }
            ExprKind::Present(x) | ExprKind::Missing(x) => {
                let want = matches!(e.kind, ExprKind::Present(_)) == pos;
                match self.presence(x, prefix) {
                    Some(c) if want => c,
                    Some(c) => negate(c),
                    None => atom(Atom::Prop(self.prop(prefix, true, x), want)),
                }
            }
            ExprKind::Field(p) if p.scope == self.base => match p.end {
                PathEnd::Define(i) => match self.policy.defines.get(i) {
                    Some(d) => {
                        let d = d.expr.clone();
                        let inner = [prefix, &p.refs].concat();
                        let saved = std::mem::replace(&mut self.base, 0);
                        let c = self.cond(&d, &inner, pos);
                        self.base = saved;
                        c
                    }
                    None => atom(Atom::Prop(self.prop(prefix, false, e), pos)),
                },
                PathEnd::Field(_) => atom(Atom::Prop(self.prop(prefix, false, e), pos)),
            },
            ExprKind::Aggregate {
                func: AggFunc::Exists,
                coll,
                filter,
                ..
            } if coll.scope == self.base => {
                let count = Expr {
                    kind: ExprKind::Aggregate {
                        func: AggFunc::Count,
                        coll: coll.clone(),
                        filter: filter.clone(),
                        value: None,
                    },
                    ty: Ty::Number,
                    file: e.file,
                    span: e.span.clone(),
                };
                let t = self.term(prefix, &count);
                atom(Atom::Opq(
                    t,
                    if pos {
                        Bound::Lo(1.0, true)
                    } else {
                        Bound::Hi(1.0, false)
                    },
                ))
            }
            _ => atom(Atom::Prop(self.prop(prefix, false, e), pos)),
        }
    }

    /// A stored text, enum, task-kind or reference field of the subject.
    fn text_var(&mut self, e: &Expr, prefix: &[FieldId]) -> Option<usize> {
        let ExprKind::Field(p) = &e.kind else {
            return None;
        };
        if p.scope != self.base {
            return None;
        }
        match p.end {
            PathEnd::Field(f)
                if f.def().derived.is_none()
                    && matches!(
                        f.def().ty,
                        FieldType::Text
                            | FieldType::Enum(_)
                            | FieldType::TaskKind
                            | FieldType::Ref(_)
                    ) =>
            {
                Some(self.var([prefix, &p.refs].concat(), f))
            }
            PathEnd::Define(i) => {
                let d = self.policy.defines.get(i)?.expr.clone();
                let saved = std::mem::replace(&mut self.base, 0);
                let v = self.text_var(&d, &[prefix, &p.refs].concat());
                self.base = saved;
                v
            }
            _ => None,
        }
    }

    /// When `e` has a value, if the fragment can say.
    fn presence(&mut self, e: &Expr, prefix: &[FieldId]) -> Option<Cond> {
        if e.ty == Ty::Bool {
            return Some(atom(Atom::Const(true)));
        }
        if let Some(v) = self.text_var(e, prefix) {
            return Some(atom(Atom::Present(v, true)));
        }
        Some(match self.num(e, prefix) {
            Num::Const(_) => atom(Atom::Const(true)),
            Num::Date(n, _) => self.nodes_present(&[n]),
            Num::Diff(a, b, _) => self.nodes_present(&[a, b]),
            Num::Overdue(_) => atom(Atom::Const(true)),
            Num::Opq(t) if self.space.terms[t].total => atom(Atom::Const(true)),
            Num::Opq(t) => atom(Atom::OpqPresent(t, true)),
            Num::Unknown => return None,
        })
    }

    fn nodes_present(&self, nodes: &[Node]) -> Cond {
        and(nodes
            .iter()
            .filter_map(|n| match n {
                Node::Var(v) => Some(atom(Atom::Present(*v, true))),
                _ => None,
            })
            .collect())
    }

    fn num(&mut self, e: &Expr, prefix: &[FieldId]) -> Num {
        match &e.kind {
            ExprKind::Literal(Literal::Number(n)) => Num::Const(*n),
            ExprKind::Literal(Literal::Date(d)) => Num::Date(Node::Zero, day_number(*d)),
            ExprKind::Today => Num::Date(Node::Today, 0),
            ExprKind::Neg(x) => match self.num(x, prefix) {
                Num::Const(c) => Num::Const(-c),
                _ => self.opaque(e, prefix),
            },
            ExprKind::Field(p) if p.scope == self.base => {
                let refs = [prefix, &p.refs].concat();
                match p.end {
                    PathEnd::Define(i) => match self.policy.defines.get(i) {
                        Some(d) => {
                            let d = d.expr.clone();
                            let saved = std::mem::replace(&mut self.base, 0);
                            let n = self.num(&d, &refs);
                            self.base = saved;
                            n
                        }
                        None => Num::Unknown,
                    },
                    PathEnd::Field(f) => match (f.def().derived, f.def().ty) {
                        (Some(Derived::OverdueDays), _) => Num::Overdue(refs),
                        (Some(Derived::OpenDays), _) => match found_on(f.entity) {
                            Some(found) => {
                                let v = self.var(refs, found);
                                Num::Diff(Node::Today, Node::Var(v), 0.0)
                            }
                            None => Num::Unknown,
                        },
                        (Some(Derived::OverdueWorkdays), _) => self.opaque(e, prefix),
                        (None, FieldType::Date) => Num::Date(Node::Var(self.var(refs, f)), 0),
                        _ => Num::Unknown,
                    },
                }
            }
            ExprKind::DaysSince(x) => match self.num(x, prefix) {
                Num::Date(n, o) => Num::Diff(Node::Today, n, -(o as f64)),
                _ => self.opaque(e, prefix),
            },
            ExprKind::DaysUntil(x) => match self.num(x, prefix) {
                Num::Date(n, o) => Num::Diff(n, Node::Today, o as f64),
                _ => self.opaque(e, prefix),
            },
            ExprKind::Arith(op, a, b) => {
                let (x, y) = (self.num(a, prefix), self.num(b, prefix));
                match (op, x, y) {
                    (ArithOp::Add, Num::Date(n, o), Num::Const(c))
                    | (ArithOp::Add, Num::Const(c), Num::Date(n, o))
                        if c.is_finite() && c.abs() < 1e6 =>
                    {
                        Num::Date(n, o + c.floor() as i64)
                    }
                    (ArithOp::Sub, Num::Date(n, o), Num::Const(c))
                        if c.is_finite() && c.abs() < 1e6 =>
                    {
                        Num::Date(n, o + (-c).floor() as i64)
                    }
                    (ArithOp::Sub, Num::Date(n, o), Num::Date(m, p)) => {
                        Num::Diff(n, m, (o - p) as f64)
                    }
                    (ArithOp::Add, Num::Diff(n, m, o), Num::Const(c))
                    | (ArithOp::Add, Num::Const(c), Num::Diff(n, m, o)) => Num::Diff(n, m, o + c),
                    (ArithOp::Sub, Num::Diff(n, m, o), Num::Const(c)) => Num::Diff(n, m, o - c),
                    (ArithOp::Add, Num::Const(x), Num::Const(y)) => Num::Const(x + y),
                    (ArithOp::Sub, Num::Const(x), Num::Const(y)) => Num::Const(x - y),
                    (ArithOp::Mul, Num::Const(x), Num::Const(y)) => Num::Const(x * y),
                    (ArithOp::Div, Num::Const(x), Num::Const(y)) if y != 0.0 => Num::Const(x / y),
                    _ => self.opaque(e, prefix),
                }
            }
            ExprKind::Aggregate { coll, .. } if coll.scope == self.base => self.opaque(e, prefix),
            ExprKind::WorkdaysSince(_) | ExprKind::WorkdaysUntil(_) => self.opaque(e, prefix),
            _ => Num::Unknown,
        }
    }

    fn opaque(&mut self, e: &Expr, prefix: &[FieldId]) -> Num {
        if e.ty.is_numeric() && e.ty != Ty::Error {
            Num::Opq(self.term(prefix, e))
        } else {
            Num::Unknown
        }
    }

    fn compare(
        &mut self,
        op: CmpOp,
        l: &Expr,
        r: &Expr,
        prefix: &[FieldId],
        pos: bool,
        whole: &Expr,
    ) -> Cond {
        // Text, enum, task kind, reference: a field against constants.
        let textual = |t: Ty| matches!(t, Ty::Text | Ty::Enum(_) | Ty::TaskKind | Ty::Ref(_));
        if textual(l.ty) || textual(r.ty) {
            let (x, lit) = match (&l.kind, &r.kind) {
                (_, ExprKind::Literal(Literal::Text(s))) => (l, s),
                (ExprKind::Literal(Literal::Text(s)), _) => (r, s),
                _ => return self.unknown(whole, prefix, pos),
            };
            let (Some(v), true) = (
                self.text_var(x, prefix),
                matches!(op, CmpOp::Eq | CmpOp::Ne),
            ) else {
                return self.unknown(whole, prefix, pos);
            };
            let inside = (op == CmpOp::Eq) == pos;
            let a = atom(Atom::In(v, vec![lit.clone()], inside));
            return if pos {
                a
            } else {
                or(vec![atom(Atom::Present(v, false)), a])
            };
        }
        if l.ty == Ty::Bool || r.ty == Ty::Bool {
            return self.unknown(whole, prefix, pos);
        }
        let (x, y) = (self.num(l, prefix), self.num(r, prefix));
        let op = if pos { op } else { negated(op) };
        // For a negation: either side missing, or the opposite comparison.
        let guard = |_: &mut Self, core: Cond, pres: Vec<Cond>| -> Cond {
            if pos {
                and(pres.into_iter().chain([core]).collect())
            } else {
                or(pres.into_iter().map(negate).chain([core]).collect())
            }
        };
        match (x, y) {
            (Num::Const(a), Num::Const(b)) => atom(Atom::Const(cmp_f(op, a, b))),
            (Num::Date(a, oa), Num::Date(b, ob)) => {
                let core = diff(a, b, op, (ob - oa) as f64);
                let pres = self.node_list(&[a, b]);
                guard(self, core, pres)
            }
            (Num::Diff(a, b, o), Num::Const(c)) => {
                let pres = self.node_list(&[a, b]);
                guard(self, diff(a, b, op, c - o), pres)
            }
            (Num::Const(c), Num::Diff(a, b, o)) => {
                let pres = self.node_list(&[a, b]);
                guard(self, diff(a, b, op.flipped(), c - o), pres)
            }
            (Num::Diff(a1, b1, o1), Num::Diff(a2, b2, o2)) if b1 == b2 || a1 == a2 => {
                let pres = self.node_list(&[a1, b1, a2, b2]);
                let core = if b1 == b2 {
                    diff(a1, a2, op, o2 - o1)
                } else {
                    diff(b2, b1, op, o2 - o1)
                };
                guard(self, core, pres)
            }
            (Num::Opq(t), Num::Const(c)) => {
                let pres = self.term_list(t);
                guard(self, bound(t, op, c), pres)
            }
            (Num::Const(c), Num::Opq(t)) => {
                let pres = self.term_list(t);
                guard(self, bound(t, op.flipped(), c), pres)
            }
            (Num::Overdue(refs), Num::Const(c)) => self.overdue(&refs, op, c),
            (Num::Const(c), Num::Overdue(refs)) => self.overdue(&refs, op.flipped(), c),
            _ => self.unknown(whole, prefix, pos),
        }
    }

    fn unknown(&mut self, whole: &Expr, prefix: &[FieldId], pos: bool) -> Cond {
        atom(Atom::Prop(self.prop(prefix, false, whole), pos))
    }

    fn node_list(&self, nodes: &[Node]) -> Vec<Cond> {
        let mut seen = Vec::new();
        for n in nodes {
            if let Node::Var(v) = n
                && !seen.contains(v)
            {
                seen.push(*v);
            }
        }
        seen.into_iter()
            .map(|v| atom(Atom::Present(v, true)))
            .collect()
    }

    fn term_list(&self, t: usize) -> Vec<Cond> {
        if self.space.terms[t].total {
            Vec::new()
        } else {
            vec![atom(Atom::OpqPresent(t, true))]
        }
    }

    /// `overdue_days OP c` (never missing): the problem is unrectified and
    /// past its deadline and `today − deadline OP c`, or it is not and
    /// `0 OP c`.
    fn overdue(&mut self, refs: &[FieldId], op: CmpOp, c: f64) -> Cond {
        let (Some(status), Some(deadline)) = (
            FieldId::of(Entity::Problem, "status"),
            FieldId::of(Entity::Problem, "deadline"),
        ) else {
            return atom(Atom::Const(true));
        };
        let s = self.var(refs.to_vec(), status);
        let d = Node::Var(self.var(refs.to_vec(), deadline));
        let rectified = crate::schema::ProblemStatus::Rectified.code().to_string();
        let Node::Var(dv) = d else {
            return atom(Atom::Const(true));
        };
        let overdue = and(vec![
            atom(Atom::In(s, vec![rectified.clone()], false)),
            atom(Atom::Present(dv, true)),
            atom(Atom::Diff(d, Node::Today, -1)),
        ]);
        let not_overdue = or(vec![
            atom(Atom::Present(s, false)),
            atom(Atom::In(s, vec![rectified], true)),
            atom(Atom::Present(dv, false)),
            atom(Atom::Diff(Node::Today, d, 0)),
        ]);
        or(vec![
            and(vec![overdue, diff(Node::Today, d, op, c)]),
            and(vec![not_overdue, atom(Atom::Const(cmp_f(op, 0.0, c)))]),
        ])
    }
}

fn found_on(e: Entity) -> Option<FieldId> {
    FieldId::of(e, "found_on")
}

fn literal_texts(items: &[Expr]) -> Option<Vec<String>> {
    items
        .iter()
        .map(|i| match &i.kind {
            ExprKind::Literal(Literal::Text(s)) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

pub fn negated(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Eq => CmpOp::Ne,
        CmpOp::Ne => CmpOp::Eq,
        CmpOp::Lt => CmpOp::Ge,
        CmpOp::Le => CmpOp::Gt,
        CmpOp::Gt => CmpOp::Le,
        CmpOp::Ge => CmpOp::Lt,
    }
}

fn cmp_f(op: CmpOp, a: f64, b: f64) -> bool {
    match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        CmpOp::Lt => a < b,
        CmpOp::Le => a <= b,
        CmpOp::Gt => a > b,
        CmpOp::Ge => a >= b,
    }
}

/// `a − b OP k` over whole days.
fn diff(a: Node, b: Node, op: CmpOp, k: f64) -> Cond {
    if !k.is_finite() {
        return atom(Atom::Const(match op {
            CmpOp::Lt | CmpOp::Le => k > 0.0,
            CmpOp::Gt | CmpOp::Ge => k < 0.0,
            CmpOp::Eq => false,
            CmpOp::Ne => true,
        }));
    }
    let whole = k.fract() == 0.0;
    let le = |a, b, k: f64| atom(Atom::Diff(a, b, k as i64));
    match op {
        CmpOp::Le => le(a, b, k.floor()),
        CmpOp::Lt => le(a, b, k.ceil() - 1.0),
        CmpOp::Ge => le(b, a, (-k).floor()),
        CmpOp::Gt => le(b, a, (-k).ceil() - 1.0),
        CmpOp::Eq if whole => and(vec![le(a, b, k), le(b, a, -k)]),
        CmpOp::Eq => atom(Atom::Const(false)),
        CmpOp::Ne if whole => or(vec![le(a, b, k - 1.0), le(b, a, -k - 1.0)]),
        CmpOp::Ne => atom(Atom::Const(true)),
    }
}

fn bound(t: usize, op: CmpOp, c: f64) -> Cond {
    let b = |b| atom(Atom::Opq(t, b));
    match op {
        CmpOp::Le => b(Bound::Hi(c, true)),
        CmpOp::Lt => b(Bound::Hi(c, false)),
        CmpOp::Ge => b(Bound::Lo(c, true)),
        CmpOp::Gt => b(Bound::Lo(c, false)),
        CmpOp::Eq => and(vec![b(Bound::Lo(c, true)), b(Bound::Hi(c, true))]),
        CmpOp::Ne => b(Bound::Ne(c)),
    }
}

/// The negation of a condition whose atoms are presence or constants
/// (what [`Normalizer::presence`] returns).
fn negate(c: Cond) -> Cond {
    match c {
        Cond::And(v) => or(v.into_iter().map(negate).collect()),
        Cond::Or(v) => and(v.into_iter().map(negate).collect()),
        Cond::Atom(Atom::Const(b)) => atom(Atom::Const(!b)),
        Cond::Atom(Atom::Present(v, p)) => atom(Atom::Present(v, !p)),
        Cond::Atom(Atom::OpqPresent(t, p)) => atom(Atom::OpqPresent(t, !p)),
        Cond::Atom(Atom::Prop(i, p)) => atom(Atom::Prop(i, !p)),
        // Not produced by `presence`; kept as is would be wrong, so it
        // becomes unknown-free `true` only through the callers above.
        other => other,
    }
}

/// The disjunction of conjunctions of a condition; `None` beyond `limit`.
pub fn dnf(c: &Cond, limit: usize) -> Option<Vec<Vec<Atom>>> {
    Some(match c {
        Cond::Atom(Atom::Const(true)) => vec![Vec::new()],
        Cond::Atom(Atom::Const(false)) => Vec::new(),
        Cond::Atom(a) => vec![vec![a.clone()]],
        Cond::Or(parts) => {
            let mut out = Vec::new();
            for p in parts {
                out.extend(dnf(p, limit)?);
                if out.len() > limit {
                    return None;
                }
            }
            out
        }
        Cond::And(parts) => {
            let mut out: Vec<Vec<Atom>> = vec![Vec::new()];
            for p in parts {
                let d = dnf(p, limit)?;
                let mut next = Vec::with_capacity(out.len() * d.len());
                for a in &out {
                    for b in &d {
                        let mut c = a.clone();
                        c.extend(b.iter().cloned());
                        if quick_consistent(&c) {
                            next.push(c);
                        }
                    }
                }
                if next.len() > limit {
                    return None;
                }
                out = next;
            }
            out
        }
    })
}

/// A cheap first look: a field both present and missing, or a proposition
/// both true and false.
fn quick_consistent(c: &[Atom]) -> bool {
    for (i, a) in c.iter().enumerate() {
        for b in &c[i + 1..] {
            match (a, b) {
                (Atom::Present(x, p), Atom::Present(y, q))
                | (Atom::Prop(x, p), Atom::Prop(y, q))
                | (Atom::OpqPresent(x, p), Atom::OpqPresent(y, q))
                    if x == y && p != q =>
                {
                    return false;
                }
                (Atom::Present(x, false), Atom::In(y, _, _))
                | (Atom::In(y, _, _), Atom::Present(x, false))
                    if x == y =>
                {
                    return false;
                }
                _ => {}
            }
        }
    }
    true
}
