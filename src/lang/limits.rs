//! How deep and how long an expression may be (E003). Bounded so that the
//! parser and the checker never recurse without a bound, and so that every
//! condition `check` accepts compiles to SQL the database takes (SQLite
//! refuses an expression tree deeper than 1000).
//!
//! - brackets (`(`, `[`, a call's parentheses) nest at most
//!   [`MAX_NESTING`] deep — counted in the text, before the grammar runs;
//! - one chain of `and`, `or`, comparisons or arithmetic has at most
//!   [`MAX_TERMS`] terms, and at most [`MAX_NESTING`] `not`/`-` in a row;
//! - an expression, with every define it uses written out in full, is at
//!   most [`MAX_DEPTH`] levels deep and has at most [`MAX_PARTS`] parts.

use super::ast;
use super::diagnostics::{Code, Diagnostic};
use super::ir::{Expr, ExprKind, PathEnd, Policy};

pub const MAX_NESTING: usize = 32;
pub const MAX_TERMS: usize = 256;
pub const MAX_DEPTH: usize = 300;
pub const MAX_PARTS: usize = 4096;

/// The first bracket of `text` that opens a level beyond [`MAX_NESTING`]
/// (outside strings and comments), as a diagnostic.
pub fn nesting(file: usize, text: &str, base: usize) -> Option<Diagnostic> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut comment = false;
    for (i, c) in text.char_indices() {
        if comment {
            comment = c != '\n';
            continue;
        }
        if in_string {
            match c {
                '\\' => escaped = !escaped,
                '"' if !escaped => in_string = false,
                _ => escaped = false,
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '#' => comment = true,
            '(' | '（' | '[' => {
                depth += 1;
                if depth > MAX_NESTING {
                    let at = base + i;
                    return Some(
                        Diagnostic::new(
                            Code::TooDeep,
                            file,
                            at..at + c.len_utf8(),
                            format!("brackets nested more than {MAX_NESTING} deep"),
                        )
                        .label(format!("level {}", MAX_NESTING + 1))
                        .help("split the condition into `define`s"),
                    );
                }
            }
            ')' | '）' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Levels of an AST expression, counted without recursion.
pub fn ast_depth(e: &ast::Expr) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(e, 1usize)];
    while let Some((e, level)) = stack.pop() {
        deepest = deepest.max(level);
        let next = level + 1;
        match &e.kind {
            ast::ExprKind::Call { args, .. } => {
                for a in args {
                    stack.push((&a.expr, next));
                    if let Some((_, f)) = &a.filter {
                        stack.push((f, next));
                    }
                }
            }
            ast::ExprKind::Unary { expr, .. } | ast::ExprKind::Paren(expr) => {
                stack.push((expr, next))
            }
            ast::ExprKind::Binary { lhs, rhs, .. } => {
                stack.push((lhs, next));
                stack.push((rhs, next));
            }
            ast::ExprKind::In { expr, list, .. } => {
                stack.push((expr, next));
                stack.extend(list.iter().map(|x| (x, next)));
            }
            _ => {}
        }
    }
    deepest
}

/// An expression beyond [`MAX_DEPTH`] levels, before defines are written
/// out (checked before the checker walks it).
pub fn too_deep(file: usize, e: &ast::Expr) -> Option<Diagnostic> {
    let depth = ast_depth(e);
    (depth > MAX_DEPTH).then(|| {
        Diagnostic::new(
            Code::TooDeep,
            file,
            e.span.clone(),
            format!("this expression is {depth} levels deep; duban takes at most {MAX_DEPTH}"),
        )
        .label("too deep")
        .help("split the condition into `define`s")
    })
}

/// Depth and parts of an expression with its defines written out.
#[derive(Clone, Copy)]
struct Size {
    depth: usize,
    parts: usize,
}

/// Every rule condition and define whose written-out form is beyond
/// [`MAX_DEPTH`] levels or [`MAX_PARTS`] parts.
pub fn unfolded(policy: &Policy) -> Vec<Diagnostic> {
    let mut memo: Vec<Option<Size>> = vec![None; policy.defines.len()];
    let mut out = Vec::new();
    let exprs = policy
        .defines
        .iter()
        .map(|d| (&d.expr, format!("define `{}`", d.name)))
        .chain(
            policy
                .rules
                .iter()
                .map(|r| (&r.when, format!("the condition of rule `{}`", r.name))),
        );
    for (e, what) in exprs {
        let size = size(policy, e, 0, &mut memo);
        let message = match size {
            None => format!(
                "{what}, with its defines written out, is more than {MAX_DEPTH} levels deep"
            ),
            Some(s) if s.depth > MAX_DEPTH => format!(
                "{what}, with its defines written out, is {} levels deep; duban takes at most {MAX_DEPTH}",
                s.depth
            ),
            Some(s) if s.parts > MAX_PARTS => format!(
                "{what}, with its defines written out, has {} parts; duban takes at most {MAX_PARTS}",
                s.parts
            ),
            Some(_) => continue,
        };
        out.push(
            Diagnostic::new(Code::TooDeep, e.file, e.span.clone(), message)
                .label("too large")
                .help("a define used many times is written out each time: use fewer, or simpler, defines"),
        );
    }
    out
}

/// `None` when the expression goes beyond [`MAX_DEPTH`] below `level`
/// (the walk stops there: its recursion is bounded by the limit).
fn size(policy: &Policy, e: &Expr, level: usize, memo: &mut [Option<Size>]) -> Option<Size> {
    if level > MAX_DEPTH {
        return None;
    }
    let mut extra = Size { depth: 0, parts: 0 };
    if let ExprKind::Field(p) = &e.kind
        && let PathEnd::Define(i) = p.end
    {
        extra = match memo.get(i).copied().flatten() {
            Some(s) => s,
            None => {
                let d = policy.defines.get(i)?;
                let s = size(policy, &d.expr, level + 1, memo)?;
                if let Some(m) = memo.get_mut(i) {
                    *m = Some(s);
                }
                s
            }
        };
        if level + 1 + extra.depth > MAX_DEPTH + 1 {
            return None;
        }
    }
    let mut total = Size {
        depth: 1 + extra.depth,
        parts: 1usize.saturating_add(extra.parts),
    };
    for c in e.children() {
        let s = size(policy, c, level + 1, memo)?;
        total.depth = total.depth.max(1 + s.depth);
        total.parts = total.parts.saturating_add(s.parts);
    }
    Some(total)
}
