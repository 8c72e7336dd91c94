//! Deciding one conjunction of atoms: propositions and presence must not
//! contradict, each set-valued field must keep a value, the day
//! differences must have no negative cycle (a difference-bound matrix over
//! `today`, the origin and the date fields), each opaque quantity must keep
//! a value in its bounds. A satisfiable conjunction yields a model: one
//! value for each field it speaks of, `today` as close to the requested
//! day as the constraints allow.

use super::normal::{Atom, Bound, Node, Space};
use crate::schema::FieldType;
use std::collections::HashMap;

/// Values that make a conjunction true (for the atoms it decides).
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub today: i64,
    /// Day numbers of date fields.
    pub dates: HashMap<usize, i64>,
    /// Fields that must be missing.
    pub missing: Vec<usize>,
    /// Values of text, enum and reference fields.
    pub texts: HashMap<usize, String>,
    /// Values of opaque quantities (`None`: missing).
    pub terms: HashMap<usize, Option<f64>>,
    /// Whether the conjunction has parts it cannot decide.
    pub props: Vec<(usize, bool)>,
}

const INF: i64 = i64::MAX / 4;

/// A model of the conjunction, if it is satisfiable as far as the fragment
/// decides (propositions taken as free).
pub fn solve(space: &Space, atoms: &[&Atom], today: i64) -> Option<Model> {
    let mut m = Model {
        today,
        ..Model::default()
    };
    let mut present: HashMap<usize, bool> = HashMap::new();
    let mut props: HashMap<usize, bool> = HashMap::new();
    let mut allowed: HashMap<usize, Vec<String>> = HashMap::new();
    let mut excluded: HashMap<usize, Vec<String>> = HashMap::new();
    let mut diffs: Vec<(Node, Node, i64)> = Vec::new();
    let mut bounds: HashMap<usize, Vec<Bound>> = HashMap::new();
    let mut term_present: HashMap<usize, bool> = HashMap::new();
    let set = |map: &mut HashMap<usize, bool>, k: usize, v: bool| -> bool {
        *map.entry(k).or_insert(v) == v
    };
    for a in atoms {
        let ok = match a {
            Atom::Const(b) => *b,
            Atom::Present(v, p) => set(&mut present, *v, *p),
            Atom::Prop(i, p) => set(&mut props, *i, *p),
            Atom::OpqPresent(t, p) => set(&mut term_present, *t, *p),
            Atom::In(v, values, inside) => {
                if *inside {
                    let e = allowed.entry(*v).or_insert_with(|| values.clone());
                    e.retain(|x| values.contains(x));
                } else {
                    excluded
                        .entry(*v)
                        .or_default()
                        .extend(values.iter().cloned());
                }
                set(&mut present, *v, true)
            }
            Atom::Diff(a, b, k) => {
                diffs.push((*a, *b, *k));
                [a, b].iter().all(|n| match n {
                    Node::Var(v) => set(&mut present, *v, true),
                    _ => true,
                })
            }
            Atom::Opq(t, b) => {
                bounds.entry(*t).or_default().push(*b);
                set(&mut term_present, *t, true)
            }
        };
        if !ok {
            return None;
        }
    }
    m.props = props.into_iter().collect();
    m.props.sort();
    // Sets.
    for (&v, &p) in &present {
        if !p {
            m.missing.push(v);
            continue;
        }
        let ty = space.vars[v].field.def().ty;
        if matches!(ty, FieldType::Date) {
            continue;
        }
        let no = excluded.get(&v).map(Vec::as_slice).unwrap_or(&[]);
        let value = match (allowed.get(&v), ty) {
            (Some(a), FieldType::Enum(e)) => a
                .iter()
                .find(|x| !no.contains(x) && e.code_of(x).is_some())
                .cloned(),
            (Some(a), _) => a.iter().find(|x| !no.contains(x)).cloned(),
            (None, FieldType::Enum(e)) => e
                .values
                .iter()
                .map(|(c, _)| c.to_string())
                .find(|x| !no.contains(x)),
            (None, _) => (1..).map(|i| format!("w{i}")).find(|x| !no.contains(x)),
        };
        m.texts.insert(v, value?);
    }
    m.missing.sort();
    // Day differences.
    let mut nodes: Vec<Node> = vec![Node::Zero, Node::Today];
    for (a, b, _) in &diffs {
        for n in [a, b] {
            if !nodes.contains(n) {
                nodes.push(*n);
            }
        }
    }
    for (&v, &p) in &present {
        if p && matches!(space.vars[v].field.def().ty, FieldType::Date)
            && !nodes.contains(&Node::Var(v))
        {
            nodes.push(Node::Var(v));
        }
    }
    let n = nodes.len();
    let idx = |x: &Node| nodes.iter().position(|y| y == x).unwrap_or(0);
    let mut d = vec![vec![INF; n]; n];
    for (i, row) in d.iter_mut().enumerate() {
        row[i] = 0;
    }
    // a − b ≤ k: an edge b → a of weight k.
    for (a, b, k) in &diffs {
        let (ia, ib) = (idx(a), idx(b));
        d[ib][ia] = d[ib][ia].min(*k);
    }
    if !close(&mut d) {
        return None;
    }
    // Fix `today` first (as close to the requested day as allowed), then
    // each date, nearest to today.
    let mut values = vec![0i64; n];
    for i in 1..n {
        // Range of x_i given x_0 = 0: −d[i][0] ≤ x_i ≤ d[0][i].
        let lo = if d[i][0] >= INF { -INF } else { -d[i][0] };
        let hi = d[0][i];
        let want = if i == 1 { today } else { values[1] };
        let x = want.max(lo).min(hi);
        values[i] = x;
        // x_i − x_0 ≤ x and x_0 − x_i ≤ −x.
        d[0][i] = d[0][i].min(x);
        d[i][0] = d[i][0].min(-x);
        if !close(&mut d) {
            return None;
        }
    }
    m.today = values[1];
    for (i, node) in nodes.iter().enumerate() {
        if let Node::Var(v) = node {
            m.dates.insert(*v, values[i]);
        }
    }
    // Opaque quantities.
    for (&t, &p) in &term_present {
        let term = &space.terms[t];
        if !p {
            if term.total {
                return None;
            }
            m.terms.insert(t, None);
            continue;
        }
        let bs = bounds.get(&t).map(Vec::as_slice).unwrap_or(&[]);
        let v = pick(term.lo, term.hi, term.integral, bs)?;
        m.terms.insert(t, Some(v));
    }
    Some(m)
}

/// Floyd–Warshall closure; false on a negative cycle.
fn close(d: &mut [Vec<i64>]) -> bool {
    let n = d.len();
    for k in 0..n {
        for i in 0..n {
            if d[i][k] >= INF {
                continue;
            }
            for j in 0..n {
                if d[k][j] >= INF {
                    continue;
                }
                let via = d[i][k] + d[k][j];
                if via < d[i][j] {
                    d[i][j] = via;
                }
            }
        }
    }
    (0..n).all(|i| d[i][i] >= 0)
}

fn holds(b: &Bound, x: f64) -> bool {
    match *b {
        Bound::Lo(c, true) => x >= c,
        Bound::Lo(c, false) => x > c,
        Bound::Hi(c, true) => x <= c,
        Bound::Hi(c, false) => x < c,
        Bound::Ne(c) => x != c,
    }
}

/// A value within the bounds: whole if `integral`; a simple fraction for
/// shares, so a witness can be built from whole records.
fn pick(lo0: f64, hi0: f64, integral: bool, bs: &[Bound]) -> Option<f64> {
    let (mut lo, mut lo_in, mut hi, mut hi_in) = (lo0, true, hi0, true);
    for b in bs {
        match *b {
            Bound::Lo(c, inc) if c > lo || (c == lo && !inc) => (lo, lo_in) = (c, inc),
            Bound::Hi(c, inc) if c < hi || (c == hi && !inc) => (hi, hi_in) = (c, inc),
            _ => {}
        }
    }
    let ok = |x: f64| x >= lo0 && x <= hi0 && bs.iter().all(|b| holds(b, x));
    if lo > hi || (lo == hi && !(lo_in && hi_in)) {
        return None;
    }
    let mut candidates: Vec<f64> = Vec::new();
    if integral {
        let start = if lo.is_finite() {
            lo.ceil()
        } else {
            hi.min(0.0).floor() - 1.0
        };
        let start = if start.is_finite() { start } else { 0.0 };
        for i in 0..(bs.len() as i64 + 3) {
            candidates.push(start + i as f64);
        }
    } else {
        for den in 1..=8u32 {
            for num in 0..=den {
                candidates.push(f64::from(num) / f64::from(den));
            }
        }
        for x in [lo, hi, (lo + hi) / 2.0, lo + 1.0, hi - 1.0, 0.0] {
            if x.is_finite() {
                candidates.push(x);
            }
        }
        // Between the bounds and the excluded points: an open interval
        // minus finitely many points keeps one of these.
        let mut pts: Vec<f64> = bs
            .iter()
            .filter_map(|b| match b {
                Bound::Ne(c) => Some(*c),
                _ => None,
            })
            .chain([lo, hi])
            .filter(|x| x.is_finite())
            .collect();
        pts.sort_by(f64::total_cmp);
        for w in pts.windows(2) {
            candidates.push((w[0] + w[1]) / 2.0);
        }
        if let (Some(first), Some(last)) = (pts.first(), pts.last()) {
            candidates.push(first - 1.0);
            candidates.push(last + 1.0);
        }
    }
    candidates.into_iter().find(|x| ok(*x))
}
