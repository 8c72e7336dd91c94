//! Values of the rule language at run time, shared by the SQL path (read
//! back from SQLite), the interpreter, the audit trail and the notices.

use crate::lang::ir::Ty;
use chrono::NaiveDate;
use serde_json::json;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Missing,
    Bool(bool),
    Number(f64),
    /// Text, enum codes, task kinds and reference ids.
    Text(String),
    Date(NaiveDate),
}

impl Value {
    /// A value read from the database, given the type the checker gave it.
    pub fn from_sql(v: crate::store::ValueRef<'_>, ty: Ty) -> Value {
        use crate::store::ValueRef as S;
        match (v, ty) {
            (S::Null, _) => Value::Missing,
            (S::Integer(i), Ty::Bool) => Value::Bool(i != 0),
            (S::Real(r), Ty::Bool) => Value::Bool(r != 0.0),
            (S::Integer(i), _) => Value::Number(i as f64),
            (S::Real(r), _) => Value::Number(r),
            (S::Text(t), ty) => match ty {
                Ty::Date => NaiveDate::parse_from_str(t, "%Y-%m-%d")
                    .map(Value::Date)
                    .unwrap_or_else(|_| Value::Text(t.to_string())),
                _ => Value::Text(t.to_string()),
            },
            (S::Date(d), Ty::Date) => Value::Date(d),
            (v @ (S::Date(_) | S::Timestamp(_)), _) => {
                Value::Text(v.text().map(|t| t.into_owned()).unwrap_or_default())
            }
            (S::Blob(_), _) => Value::Missing,
        }
    }

    pub fn is_missing(&self) -> bool {
        matches!(self, Value::Missing)
    }

    /// As JSON: codes, not labels; dates as `YYYY-MM-DD`; whole numbers
    /// without a fraction.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Missing => serde_json::Value::Null,
            Value::Bool(b) => json!(b),
            Value::Number(n) if n.fract() == 0.0 && n.abs() < 9e15 => json!(*n as i64),
            Value::Number(n) => json!((n * 1e9).round() / 1e9),
            Value::Text(t) => json!(t),
            Value::Date(d) => json!(d.to_string()),
        }
    }

    /// For people: enum codes and task kinds as their Chinese labels, whole
    /// numbers without a fraction, missing as empty.
    pub fn display(&self, ty: Ty, task_kind_label: impl Fn(&str) -> Option<String>) -> String {
        match (self, ty) {
            (Value::Missing, _) => String::new(),
            (Value::Text(t), Ty::Enum(e)) => e
                .label_of(t)
                .map(str::to_string)
                .unwrap_or_else(|| t.clone()),
            (Value::Text(t), Ty::TaskKind) => task_kind_label(t).unwrap_or_else(|| t.clone()),
            (Value::Bool(b), _) => if *b { "是" } else { "否" }.to_string(),
            (Value::Number(n), _) if n.fract() == 0.0 && n.abs() < 9e15 => format!("{}", *n as i64),
            (Value::Number(n), _) => format!("{:.4}", n).trim_end_matches('0').to_string(),
            (Value::Text(t), _) => t.clone(),
            (Value::Date(d), _) => d.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::PROBLEM_STATUS;

    #[test]
    fn display_uses_labels_and_whole_numbers() {
        let none = |_: &str| None;
        assert_eq!(
            Value::Text("rectified".into()).display(Ty::Enum(&PROBLEM_STATUS), none),
            "已整改"
        );
        assert_eq!(Value::Number(45.0).display(Ty::Number, none), "45");
        assert_eq!(Value::Number(0.25).display(Ty::Number, none), "0.25");
        assert_eq!(Value::Number(45.0).to_json(), json!(45));
    }
}
