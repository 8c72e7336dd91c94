//! Where the interpreter reads records: one record or one collection at a
//! time, by id. The SQLite implementation fetches each record once and
//! keeps it for the evaluation.

use crate::error::Result;
use crate::lang::ir::{CollId, FieldId};
use crate::schema::{Entity, FieldType, Link};
use crate::store::{Db, OptionalExtension};
use crate::value::Value;
use std::cell::RefCell;
use std::collections::HashMap;

pub trait Data {
    /// A stored field of a record; missing when the record or the value is.
    fn value(&self, entity: Entity, id: &str, field: FieldId) -> Result<Value>;
    /// The ids of a collection's members, in id order.
    fn members(&self, owner: Entity, id: &str, coll: CollId) -> Result<Vec<String>>;
}

/// A record's stored values, in schema order; `None` when there is none.
type Record = Option<Vec<Value>>;

/// Records read from the case database, each once.
pub struct SqliteData<'c> {
    conn: &'c Db,
    records: RefCell<HashMap<(Entity, String), Record>>,
}

impl<'c> SqliteData<'c> {
    pub fn new(conn: &'c Db) -> Self {
        SqliteData {
            conn,
            records: RefCell::new(HashMap::new()),
        }
    }

    fn load(&self, entity: Entity, id: &str) -> Result<Record> {
        let fields: Vec<_> = entity
            .def()
            .fields
            .iter()
            .filter(|f| f.is_stored())
            .collect();
        let cols: Vec<String> = fields.iter().filter_map(|f| f.column()).collect();
        let sql = format!(
            "SELECT {} FROM {} WHERE id = ?1",
            cols.join(", "),
            entity.table()
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let row = stmt
            .query_row([id], |r| {
                let mut values = Vec::with_capacity(fields.len());
                for (i, f) in fields.iter().enumerate() {
                    let raw: Option<String> = match r.get_ref(i)? {
                        crate::store::ValueRef::Integer(n) => Some(n.to_string()),
                        crate::store::ValueRef::Real(x) => Some(x.to_string()),
                        v => v.text().map(|t| t.into_owned()),
                    };
                    values.push(typed(f.ty, raw));
                }
                Ok(values)
            })
            .optional()?;
        Ok(row)
    }
}

/// A stored text as the value of its field's type.
fn typed(ty: FieldType, raw: Option<String>) -> Value {
    let Some(t) = raw else { return Value::Missing };
    match ty {
        FieldType::Date => chrono::NaiveDate::parse_from_str(&t, "%Y-%m-%d")
            .map(Value::Date)
            .unwrap_or(Value::Missing),
        FieldType::Number => t.parse().map(Value::Number).unwrap_or(Value::Missing),
        _ => Value::Text(t),
    }
}

impl Data for SqliteData<'_> {
    fn value(&self, entity: Entity, id: &str, field: FieldId) -> Result<Value> {
        let key = (entity, id.to_string());
        if !self.records.borrow().contains_key(&key) {
            let loaded = self.load(entity, id)?;
            self.records.borrow_mut().insert(key.clone(), loaded);
        }
        let records = self.records.borrow();
        let Some(Some(values)) = records.get(&key) else {
            return Ok(Value::Missing);
        };
        let position = entity
            .def()
            .fields
            .iter()
            .filter(|f| f.is_stored())
            .position(|f| std::ptr::eq(f, field.def()));
        Ok(position
            .and_then(|p| values.get(p).cloned())
            .unwrap_or(Value::Missing))
    }

    fn members(&self, owner: Entity, id: &str, coll: CollId) -> Result<Vec<String>> {
        let element = coll.def().element;
        match coll.def().link {
            Link::Backref(field) => {
                let col = element
                    .field(field)
                    .and_then(|f| f.column())
                    .unwrap_or_default();
                let mut stmt = self.conn.prepare_cached(&format!(
                    "SELECT id FROM {} WHERE {col} = ?1 ORDER BY id",
                    element.table()
                ))?;
                let ids = stmt.query_map([id], |r| r.get::<_, String>(0))?;
                Ok(ids.collect::<crate::store::DbResult<Vec<_>>>()?)
            }
            Link::TaskSubject => crate::store::tasks::ids_of_subject(self.conn, owner.name(), id),
            Link::TaskTarget => crate::store::tasks::ids_of_target(self.conn, id),
        }
    }
}
