//! Why a rule holds or not for one subject: the condition as a tree, each
//! part with its value, the members of each collection that made a count
//! or a rate what it is, and a define's own expression under its use.

use super::{Interpreter, Result, Scope};
use crate::lang::ir::*;
use crate::value::Value;
use serde::Serialize;

/// Members listed per collection; the rest are counted.
pub const MEMBERS_SHOWN: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct Node {
    /// The expression as written.
    pub text: String,
    /// Its value (codes, not labels).
    pub value: serde_json::Value,
    /// Its value for people (labels with codes).
    #[serde(skip)]
    pub shown: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Node>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Members>,
    /// The expression and its value, for words (`present::explain`).
    #[serde(skip)]
    pub expr: Option<Expr>,
    #[serde(skip)]
    pub raw: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct Members {
    /// Members of the collection.
    pub total: usize,
    /// Of those, how many pass the `where` condition.
    pub passing: usize,
    pub shown: Vec<MemberShown>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemberShown {
    pub id: String,
    pub passes: bool,
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub value: serde_json::Value,
}

impl Interpreter<'_> {
    /// The explanation tree of `e`.
    pub fn explain(&self, e: &Expr, scopes: &[Scope]) -> Result<Node> {
        let value = self.eval(e, scopes)?;
        let mut node = Node {
            text: self.policy.text_of(e),
            value: value.to_json(),
            shown: match value {
                Value::Number(x) if self.policy.is_share(e) => {
                    crate::lang::template::percent_text(x)
                }
                _ => self.show(&value, e.ty),
            },
            children: Vec::new(),
            members: None,
            expr: Some(e.clone()),
            raw: value.clone(),
        };
        match &e.kind {
            ExprKind::And(..) | ExprKind::Or(..) => {
                let mut parts = Vec::new();
                chain(e, &mut parts);
                for p in parts {
                    node.children.push(self.explain(p, scopes)?);
                }
            }
            ExprKind::Not(x)
            | ExprKind::Neg(x)
            | ExprKind::Present(x)
            | ExprKind::Missing(x)
            | ExprKind::DaysSince(x)
            | ExprKind::DaysUntil(x)
            | ExprKind::WorkdaysSince(x)
            | ExprKind::WorkdaysUntil(x) => node.children.push(self.explain(x, scopes)?),
            ExprKind::Compare(_, a, b) | ExprKind::Arith(_, a, b) => {
                for x in [a, b] {
                    if !is_leaf(x) {
                        node.children.push(self.explain(x, scopes)?);
                    }
                }
            }
            ExprKind::In(x, _) => node.children.push(self.explain(x, scopes)?),
            ExprKind::Field(p) => {
                if let PathEnd::Define(i) = p.end
                    && let (Some(d), Some(scope)) =
                        (self.policy.defines.get(i), scopes.get(p.scope))
                {
                    let record = self.follow(scope, &p.refs)?;
                    let mut inner = self.explain(&d.expr, &[record])?;
                    inner.text = format!("{} = {}", d.name, inner.text);
                    node.children.push(inner);
                }
            }
            ExprKind::Aggregate {
                func,
                coll,
                filter,
                value,
            } => {
                let (_, members) =
                    self.aggregate(*func, coll, filter.as_deref(), value.as_deref(), scopes)?;
                let value_ty = value.as_ref().map(|v| v.ty);
                node.members = Some(Members {
                    total: members.len(),
                    passing: members.iter().filter(|m| m.passes).count(),
                    shown: members
                        .iter()
                        .take(MEMBERS_SHOWN)
                        .map(|m| MemberShown {
                            id: m.id.clone(),
                            passes: m.passes,
                            value: match value_ty {
                                Some(_) => m.value.to_json(),
                                None => serde_json::Value::Null,
                            },
                        })
                        .collect(),
                });
            }
            ExprKind::Literal(_) | ExprKind::Today => {}
        }
        Ok(node)
    }

    fn show(&self, v: &Value, ty: Ty) -> String {
        match (v, ty) {
            (Value::Missing, _) => "missing".into(),
            (Value::Bool(b), _) => if *b { "true" } else { "false" }.into(),
            (Value::Text(t), Ty::Enum(e)) => match e.label_of(t) {
                Some(l) => format!("{t} {l}"),
                None => t.clone(),
            },
            (Value::Text(t), Ty::TaskKind) => match self.policy.task_kind_label(t) {
                Some(l) => format!("{t} {l}"),
                None => t.clone(),
            },
            (Value::Text(t), _) => format!("\"{t}\""),
            _ => v.display(ty, |_| None),
        }
    }
}

/// The operands of a chain of one `and`/`or`.
fn chain<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    let same = |x: &Expr| {
        matches!(
            (&e.kind, &x.kind),
            (ExprKind::And(..), ExprKind::And(..)) | (ExprKind::Or(..), ExprKind::Or(..))
        )
    };
    match &e.kind {
        ExprKind::And(a, b) | ExprKind::Or(a, b) => {
            for x in [a, b] {
                if same(x) {
                    chain(x, out);
                } else {
                    out.push(x);
                }
            }
        }
        _ => out.push(e),
    }
}

fn is_leaf(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Literal(_) | ExprKind::Today)
}
