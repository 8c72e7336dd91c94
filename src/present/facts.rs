//! Facts and conditions in words. A fact knows its label (a field's name,
//! a define's title, a count or share described), its value formatted
//! (a share as a percentage, days as 天), and — where the rule's condition
//! compared it with a constant — the threshold and the comparison, all
//! written from the rule: `整改率 59.4%（规则：低于 70%）`,
//! `逾期 262 天（规则：满 30 天）`.

use super::Lang;
use super::values::{date_long, days, number, percent, workdays};
use crate::lang::ir::{
    AggFunc, ArithOp, CmpOp, CollPath, Expr, ExprKind, FieldPath, Literal, PathEnd, Policy, Rule,
    Ty,
};
use crate::schema::Derived;
use crate::value::Value;

/// A fact as people read it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FactShown {
    pub label: String,
    pub value: String,
    /// What the rule asks of it, where the condition compared it with a
    /// constant (`低于 70%`).
    pub rule: Option<String>,
}

impl FactShown {
    /// One line: `整改率 59.4%（规则：低于 70%）`.
    pub fn line(&self, lang: Lang) -> String {
        let sep = match lang {
            Lang::Zh if self.value.starts_with(|c: char| c.is_ascii_digit()) => " ",
            Lang::Zh => "：",
            Lang::En => ": ",
        };
        format!("{}{sep}{}", self.label, self.value_and_rule(lang))
    }

    /// The value and what the rule asks: `59.4%（规则：低于 70%）`.
    pub fn value_and_rule(&self, lang: Lang) -> String {
        match (&self.rule, lang) {
            (Some(r), Lang::Zh) => format!("{}（规则：{r}）", self.value),
            (Some(r), Lang::En) => format!("{} (the rule: {r})", self.value),
            (None, _) => self.value.clone(),
        }
    }
}

/// The unit a number is read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Share,
    Days,
    Workdays,
    Plain,
}

fn unit(policy: &Policy, e: &Expr) -> Unit {
    if policy.is_share(e) {
        return Unit::Share;
    }
    match &e.kind {
        ExprKind::DaysSince(_) | ExprKind::DaysUntil(_) => Unit::Days,
        ExprKind::WorkdaysSince(_) | ExprKind::WorkdaysUntil(_) => Unit::Workdays,
        ExprKind::Field(p) => match p.end {
            PathEnd::Field(f) => match f.def().derived {
                Some(Derived::OverdueDays | Derived::OpenDays) => Unit::Days,
                Some(Derived::OverdueWorkdays) => Unit::Workdays,
                None => Unit::Plain,
            },
            PathEnd::Define(i) => policy
                .defines
                .get(i)
                .map(|d| unit(policy, &d.expr))
                .unwrap_or(Unit::Plain),
        },
        ExprKind::Literal(_) if e.ty == Ty::Duration => Unit::Days,
        _ => Unit::Plain,
    }
}

/// The facts of a firing in words: `values` are the values of
/// `rule.facts`, in order.
pub fn facts_shown(policy: &Policy, rule: &Rule, values: &[Value], lang: Lang) -> Vec<FactShown> {
    rule.facts
        .iter()
        .zip(values)
        .map(|(f, v)| FactShown {
            label: fact_label(policy, &f.expr, lang),
            value: value_words(policy, &f.expr, v, lang),
            rule: threshold(policy, &rule.when, &f.expr, lang),
        })
        .collect()
}

/// A value of `e` in words: a share as a percentage, days as 天, enum
/// codes and task kinds by their labels, a person reference as whether
/// there is one, a date as in a sentence.
pub fn value_words(policy: &Policy, e: &Expr, v: &Value, lang: Lang) -> String {
    match v {
        Value::Missing => match e.ty {
            Ty::Ref(_) => lang.pick("未填写", "not set").into(),
            _ => lang.pick("（无）", "(none)").into(),
        },
        Value::Bool(b) => if *b {
            lang.pick("是", "yes")
        } else {
            lang.pick("否", "no")
        }
        .into(),
        Value::Number(x) => match unit(policy, e) {
            Unit::Share => percent(*x),
            Unit::Days => days(x.round() as i64, lang),
            Unit::Workdays => workdays(x.round() as i64, lang),
            Unit::Plain => number(*x),
        },
        Value::Date(d) => date_long(*d, lang),
        Value::Text(t) => text_words(policy, e.ty, t, lang),
    }
}

fn text_words(policy: &Policy, ty: Ty, t: &str, lang: Lang) -> String {
    match ty {
        Ty::Enum(en) => match lang {
            Lang::Zh => en.label_of(t).unwrap_or(t).to_string(),
            Lang::En => t.replace('_', " "),
        },
        Ty::TaskKind => super::names::task_kind(Some(policy), t, lang),
        Ty::Ref(_) => lang.pick("已填写", "set").into(),
        _ => t.to_string(),
    }
}

/// What the condition asks of `fact`: each comparison of it with a
/// constant, in words (`低于 70%`, `满 30 天`, `不为已整改`).
pub fn threshold(policy: &Policy, when: &Expr, fact: &Expr, lang: Lang) -> Option<String> {
    let mut found = Vec::new();
    comparisons(policy, when, fact, lang, &mut found);
    found.dedup();
    (!found.is_empty()).then(|| found.join(lang.pick("，", ", ")))
}

fn comparisons(policy: &Policy, e: &Expr, fact: &Expr, lang: Lang, out: &mut Vec<String>) {
    match &e.kind {
        ExprKind::Compare(op, a, b) => {
            let side = if **a == *fact && is_constant(b) {
                Some((*op, &**b))
            } else if **b == *fact && is_constant(a) {
                Some((op.flipped(), &**a))
            } else {
                None
            };
            if let Some((op, c)) = side {
                out.push(compared(policy, op, fact, c, lang));
            }
        }
        ExprKind::In(x, items) if **x == *fact => {
            let list: Vec<String> = items
                .iter()
                .map(|i| constant_words(policy, fact, i, lang))
                .collect();
            out.push(match lang {
                Lang::Zh => format!("属于 {}", list.join("、")),
                Lang::En => format!("one of {}", list.join(", ")),
            });
        }
        ExprKind::And(a, b) | ExprKind::Or(a, b) => {
            comparisons(policy, a, fact, lang, out);
            comparisons(policy, b, fact, lang, out);
        }
        // A yes-or-no fact reads by its value alone (`有任务（…）：否`).
        ExprKind::Not(x) if **x != *fact => comparisons(policy, x, fact, lang, out),
        _ => {}
    }
}

fn is_constant(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Literal(_) => true,
        ExprKind::Neg(x) => is_constant(x),
        _ => false,
    }
}

/// `op c` read against `fact`'s unit: `低于 70%`, `满 30 天`.
fn compared(policy: &Policy, op: CmpOp, fact: &Expr, c: &Expr, lang: Lang) -> String {
    let u = unit(policy, fact);
    let word = op_words(op, u, lang);
    let value = constant_words(policy, fact, c, lang);
    match lang {
        Lang::Zh if matches!(fact.ty, Ty::Enum(_) | Ty::TaskKind | Ty::Text) => {
            format!("{word}{value}")
        }
        _ => format!("{word} {value}"),
    }
}

fn op_words(op: CmpOp, u: Unit, lang: Lang) -> &'static str {
    let days = matches!(u, Unit::Days | Unit::Workdays);
    match (lang, op) {
        (Lang::Zh, CmpOp::Eq) => "为",
        (Lang::Zh, CmpOp::Ne) => "不为",
        (Lang::Zh, CmpOp::Lt) if days => "不足",
        (Lang::Zh, CmpOp::Lt) => "低于",
        (Lang::Zh, CmpOp::Le) if days => "不超过",
        (Lang::Zh, CmpOp::Le) => "不高于",
        (Lang::Zh, CmpOp::Gt) if days => "超过",
        (Lang::Zh, CmpOp::Gt) => "高于",
        (Lang::Zh, CmpOp::Ge) if days => "满",
        (Lang::Zh, CmpOp::Ge) if u == Unit::Plain => "达到",
        (Lang::Zh, CmpOp::Ge) => "不低于",
        (Lang::En, CmpOp::Eq) => "is",
        (Lang::En, CmpOp::Ne) => "is not",
        (Lang::En, CmpOp::Lt) => "below",
        (Lang::En, CmpOp::Le) => "at most",
        (Lang::En, CmpOp::Gt) => "above",
        (Lang::En, CmpOp::Ge) => "at least",
    }
}

/// A constant compared with `fact`, in the fact's unit.
fn constant_words(policy: &Policy, fact: &Expr, c: &Expr, lang: Lang) -> String {
    let value = match &c.kind {
        ExprKind::Literal(l) => literal_value(l),
        ExprKind::Neg(x) => match &x.kind {
            ExprKind::Literal(Literal::Number(n)) => Value::Number(-n),
            _ => return expr_label(policy, c, lang),
        },
        _ => return expr_label(policy, c, lang),
    };
    value_words(policy, fact, &value, lang)
}

fn literal_value(l: &Literal) -> Value {
    match l {
        Literal::Number(n) => Value::Number(*n),
        Literal::Text(t) => Value::Text(t.clone()),
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Date(d) => Value::Date(*d),
    }
}

/// The label of a fact: like [`expr_label`], with a day count named by
/// what it counts (`逾期`, not `逾期天数`, so it reads `逾期 262 天`).
pub fn fact_label(policy: &Policy, e: &Expr, lang: Lang) -> String {
    if let ExprKind::Field(p) = &e.kind
        && p.refs.is_empty()
        && let PathEnd::Field(f) = p.end
    {
        match (f.def().derived, lang) {
            (Some(Derived::OverdueDays | Derived::OverdueWorkdays), Lang::Zh) => {
                return "逾期".into();
            }
            (Some(Derived::OpenDays), Lang::Zh) => return "发现至今".into(),
            (Some(Derived::OverdueDays | Derived::OverdueWorkdays), Lang::En) => {
                return "overdue by".into();
            }
            (Some(Derived::OpenDays), Lang::En) => return "open for".into(),
            _ => {}
        }
    }
    expr_label(policy, e, lang)
}

/// An expression in words, with no rule-language text: fields by their
/// names, defines by their titles, collection functions described,
/// comparisons as sentences (`整改率低于 70%`).
pub fn expr_label(policy: &Policy, e: &Expr, lang: Lang) -> String {
    let w = |x: &Expr| expr_label(policy, x, lang);
    match &e.kind {
        ExprKind::Literal(l) => value_words(policy, e, &literal_value(l), lang),
        ExprKind::Today => lang.pick("今天", "today").into(),
        ExprKind::Field(p) => path_words(policy, p, lang),
        ExprKind::Not(x) => match (&x.kind, lang) {
            (
                ExprKind::Aggregate {
                    func: AggFunc::Exists,
                    coll,
                    filter,
                    ..
                },
                _,
            ) => format!(
                "{}{}",
                lang.pick("没有", "no "),
                coll_words(policy, coll, filter.as_deref(), lang)
            ),
            (_, Lang::Zh) => format!("并非{}", w(x)),
            (_, Lang::En) => format!("not ({})", w(x)),
        },
        ExprKind::Neg(x) => format!("-{}", w(x)),
        ExprKind::And(a, b) => match lang {
            Lang::Zh => format!("{}，且{}", w(a), w(b)),
            Lang::En => format!("{} and {}", w(a), w(b)),
        },
        ExprKind::Or(a, b) => match lang {
            Lang::Zh => format!("{}，或{}", w(a), w(b)),
            Lang::En => format!("{} or {}", w(a), w(b)),
        },
        ExprKind::Compare(op, a, b) => {
            let (fact, op, c) = if is_constant(a) && !is_constant(b) {
                (&**b, op.flipped(), &**a)
            } else {
                (&**a, *op, &**b)
            };
            let label = fact_label(policy, fact, lang);
            let said = if is_constant(c) {
                compared(policy, op, fact, c, lang)
            } else {
                format!("{} {}", op_words(op, unit(policy, fact), lang), w(c))
            };
            match lang {
                Lang::Zh => format!("{label}{said}"),
                Lang::En => format!("{label} {said}"),
            }
        }
        ExprKind::Arith(op, a, b) => {
            let sign = match op {
                ArithOp::Add => "+",
                ArithOp::Sub => "−",
                ArithOp::Mul => "×",
                ArithOp::Div => "÷",
            };
            format!("{} {sign} {}", w(a), w(b))
        }
        ExprKind::In(x, items) => {
            let list: Vec<String> = items
                .iter()
                .map(|i| constant_words(policy, x, i, lang))
                .collect();
            match lang {
                Lang::Zh => format!("{}属于 {}", w(x), list.join("、")),
                Lang::En => format!("{} is one of {}", w(x), list.join(", ")),
            }
        }
        ExprKind::Present(x) => match lang {
            Lang::Zh => format!("{}已填写", w(x)),
            Lang::En => format!("{} is set", w(x)),
        },
        ExprKind::Missing(x) => match lang {
            Lang::Zh => format!("{}未填写", w(x)),
            Lang::En => format!("{} is not set", w(x)),
        },
        ExprKind::DaysSince(x) => match lang {
            Lang::Zh => format!("{}距今", w(x)),
            Lang::En => format!("days since {}", w(x)),
        },
        ExprKind::DaysUntil(x) => match lang {
            Lang::Zh => format!("距{}", w(x)),
            Lang::En => format!("days until {}", w(x)),
        },
        ExprKind::WorkdaysSince(x) => match lang {
            Lang::Zh => format!("{}距今（工作日）", w(x)),
            Lang::En => format!("working days since {}", w(x)),
        },
        ExprKind::WorkdaysUntil(x) => match lang {
            Lang::Zh => format!("距{}（工作日）", w(x)),
            Lang::En => format!("working days until {}", w(x)),
        },
        ExprKind::Aggregate {
            func,
            coll,
            filter,
            value,
        } => {
            let of = coll_words(policy, coll, filter.as_deref(), lang);
            let value = value.as_deref().map(w).unwrap_or_default();
            match (func, lang) {
                (AggFunc::Count, Lang::Zh) => format!("{of}数"),
                (AggFunc::Count, Lang::En) => format!("number of {of}"),
                (AggFunc::Exists, Lang::Zh) => format!("有{of}"),
                (AggFunc::Exists, Lang::En) => format!("any {of}"),
                (AggFunc::Rate, Lang::Zh) => match filter {
                    Some(f) => format!("{}中{}的比例", coll_name(coll, lang), w(f)),
                    None => format!("{of}比例"),
                },
                (AggFunc::Rate, Lang::En) => match filter {
                    Some(f) => format!("share of {} where {}", coll_name(coll, lang), w(f)),
                    None => format!("share of {of}"),
                },
                (AggFunc::Sum, Lang::Zh) => format!("各{of}的{value}之和"),
                (AggFunc::Sum, Lang::En) => format!("total {value} over {of}"),
                (AggFunc::Avg, Lang::Zh) => format!("各{of}的{value}平均值"),
                (AggFunc::Avg, Lang::En) => format!("average {value} over {of}"),
                (AggFunc::Min, Lang::Zh) => format!("各{of}的{value}最小值"),
                (AggFunc::Min, Lang::En) => format!("lowest {value} over {of}"),
                (AggFunc::Max, Lang::Zh) => format!("各{of}的{value}最大值"),
                (AggFunc::Max, Lang::En) => format!("highest {value} over {of}"),
            }
        }
    }
}

/// A field path: the references' names, then the field's (`巡察组织类型`);
/// a define by its title, else its expression in words.
fn path_words(policy: &Policy, p: &FieldPath, lang: Lang) -> String {
    let mut parts: Vec<String> = p.refs.iter().map(|f| field_name(f.def(), lang)).collect();
    parts.push(match p.end {
        PathEnd::Field(f) => field_name(f.def(), lang),
        PathEnd::Define(i) => match policy.defines.get(i) {
            Some(d) => match (&d.title, lang) {
                (None, Lang::Zh) => expr_label(policy, &d.expr, lang),
                (t, _) => super::names::titled(t.as_deref(), &d.name, lang),
            },
            None => String::new(),
        },
    });
    parts.join(lang.pick("", " "))
}

fn field_name(f: &crate::schema::FieldDef, lang: Lang) -> String {
    match lang {
        Lang::Zh => f.zh.to_string(),
        Lang::En => f.name.replace('_', " "),
    }
}

fn coll_name(c: &CollPath, lang: Lang) -> String {
    let mut parts: Vec<String> = c.refs.iter().map(|f| field_name(f.def(), lang)).collect();
    parts.push(match lang {
        Lang::Zh => c.coll.def().zh.to_string(),
        Lang::En => c.coll.def().name.replace('_', " "),
    });
    parts.join(lang.pick("", " "))
}

/// A collection with its `where` in words: `任务（类别为提醒谈话，状态为已完成）`.
fn coll_words(policy: &Policy, c: &CollPath, filter: Option<&Expr>, lang: Lang) -> String {
    let name = coll_name(c, lang);
    match (filter, lang) {
        (Some(f), Lang::Zh) => format!("{name}（{}）", expr_label(policy, f, lang)),
        (Some(f), Lang::En) => format!("{name} ({})", expr_label(policy, f, lang)),
        (None, _) => name,
    }
}

/// A rule's condition in words.
pub fn condition_words(policy: &Policy, rule: &Rule, lang: Lang) -> String {
    expr_label(policy, &rule.when, lang)
}

/// One part of a condition explained for one subject, in words: what it
/// says, its value, whether it held, and its parts.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PartWords {
    pub words: String,
    /// The value (a number, a date, a label); empty for a yes-or-no part.
    pub value: String,
    /// A yes-or-no part: whether it held (None: it could not be decided,
    /// a value it needs is missing).
    pub held: Option<bool>,
    /// For a count or share: how many members, and how many passed.
    pub members: Option<String>,
    pub children: Vec<PartWords>,
}

/// The explanation tree of a condition (`interpret::explain`) in words.
pub fn explain_words(
    policy: &Policy,
    node: &crate::interpret::explain::Node,
    lang: Lang,
) -> PartWords {
    let (words, value, held) = match &node.expr {
        Some(e) if e.ty == Ty::Bool => (
            expr_label(policy, e, lang),
            String::new(),
            match node.raw {
                Value::Bool(b) => Some(b),
                _ => None,
            },
        ),
        Some(e) => (
            fact_label(policy, e, lang),
            value_words(policy, e, &node.raw, lang),
            None,
        ),
        None => (node.shown.clone(), String::new(), None),
    };
    let members = node.members.as_ref().map(|m| match lang {
        Lang::Zh => format!("共 {} 项，其中 {} 项符合", m.total, m.passing),
        Lang::En => format!("{} in all, {} of them match", m.total, m.passing),
    });
    PartWords {
        words,
        value,
        held,
        members,
        children: node
            .children
            .iter()
            .map(|c| explain_words(policy, c, lang))
            .collect(),
    }
}

/// The facts a task or audit record stored (JSON keyed by the
/// condition's text, values as codes) in words, read against the rule
/// that recorded them; a fact the rule no longer has is left out.
pub fn facts_from_json(
    policy: &Policy,
    rule: &Rule,
    stored: &serde_json::Value,
    lang: Lang,
) -> Vec<FactShown> {
    let Some(map) = stored.as_object() else {
        return Vec::new();
    };
    rule.facts
        .iter()
        .filter_map(|f| {
            let v = map.get(&f.label)?;
            let value = match (v, f.expr.ty) {
                (serde_json::Value::Null, _) => Value::Missing,
                (serde_json::Value::Bool(b), _) => Value::Bool(*b),
                (serde_json::Value::Number(n), _) => Value::Number(n.as_f64()?),
                (serde_json::Value::String(s), Ty::Date) => {
                    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .map(Value::Date)
                        .unwrap_or_else(|_| Value::Text(s.clone()))
                }
                (serde_json::Value::String(s), _) => Value::Text(s.clone()),
                _ => return None,
            };
            Some(FactShown {
                label: fact_label(policy, &f.expr, lang),
                value: value_words(policy, &f.expr, &value, lang),
                rule: threshold(policy, &rule.when, &f.expr, lang),
            })
        })
        .collect()
}
