//! Reads of the case tables for the workbench's pages: what a task is
//! about, an organization's inspections, an inspection's problems. Each
//! is one query; nothing reads a whole table into memory.

use super::{Db, OptionalExtension};
use crate::error::Result;
use crate::params;
use crate::schema::ProblemStatus;
use chrono::NaiveDate;
use serde::Serialize;

/// What a task is about, as its page shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Subject {
    /// The problem's description, the inspection's round, the organization's name.
    pub title: Option<String>,
    pub organization_id: Option<String>,
    pub organization: Option<String>,
    pub deadline: Option<String>,
    pub status: Option<String>,
    pub responsible: Option<String>,
    /// The schema's fields that `title` and `deadline` are, as
    /// `entity.field` (`inspection.round`, `problem.deadline`): what they
    /// are labelled by.
    pub title_field: &'static str,
    pub deadline_field: &'static str,
}

/// The subject of a task (`problem`, `inspection` or `organization`).
pub fn subject(conn: &Db, entity: &str, id: &str) -> Result<Option<Subject>> {
    let (title_field, deadline_field) = match entity {
        "problem" => ("problem.description", "problem.deadline"),
        "inspection" => ("inspection.round", "inspection.report_due"),
        _ => ("organization.name", ""),
    };
    let sql = match entity {
        "problem" => {
            "SELECT p.description, o.id, o.name, p.deadline, p.status, r.name FROM problems p
               JOIN inspections i ON i.id = p.inspection_id JOIN organizations o ON o.id = i.organization_id
               LEFT JOIN persons r ON r.id = p.responsible_id WHERE p.id = ?1"
        }
        "inspection" => {
            "SELECT rd.name, o.id, o.name, i.report_due, NULL, l.name FROM inspections i
               JOIN organizations o ON o.id = i.organization_id LEFT JOIN rounds rd ON rd.id = i.round_id
               LEFT JOIN persons l ON l.id = i.leader_id WHERE i.id = ?1"
        }
        _ => {
            "SELECT o.name, o.id, o.name, NULL, NULL, s.name FROM organizations o
               LEFT JOIN persons s ON s.id = o.secretary_id WHERE o.id = ?1"
        }
    };
    Ok(conn
        .query_row(sql, [id], |r| {
            Ok(Subject {
                title: r.get(0)?,
                organization_id: r.get(1)?,
                organization: r.get(2)?,
                deadline: r.get(3)?,
                status: r.get(4)?,
                responsible: r.get(5)?,
                title_field,
                deadline_field,
            })
        })
        .optional()?)
}

/// An organization's name, if it exists.
pub fn organization_name(conn: &Db, id: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT name FROM organizations WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?)
}

/// An inspection as the organization's page lists it.
#[derive(Debug, Clone, Serialize)]
pub struct InspectionRow {
    pub id: String,
    pub round: Option<String>,
    pub organization_id: String,
    pub organization: String,
    pub feedback_on: Option<String>,
    pub problems: i64,
    pub rectified: i64,
    pub overdue: i64,
}

const INSPECTION: &str = "SELECT i.id, rd.name, o.id, o.name, i.feedback_on, count(p.id),
        count(p.id) FILTER (WHERE p.status = ?2),
        count(p.id) FILTER (WHERE p.status <> ?2 AND p.deadline < ?3)
    FROM inspections i JOIN organizations o ON o.id = i.organization_id
    LEFT JOIN rounds rd ON rd.id = i.round_id LEFT JOIN problems p ON p.inspection_id = i.id";

/// The grouping of [`INSPECTION`]: every column it names outside an
/// aggregate, as PostgreSQL asks (SQLite would take `i.id` alone).
const INSPECTION_GROUP: &str = "GROUP BY i.id, rd.name, o.id, o.name";

fn inspection_row(r: &super::Row<'_>) -> super::DbResult<InspectionRow> {
    Ok(InspectionRow {
        id: r.get(0)?,
        round: r.get(1)?,
        organization_id: r.get(2)?,
        organization: r.get(3)?,
        feedback_on: r.get(4)?,
        problems: r.get(5)?,
        rectified: r.get(6)?,
        overdue: r.get(7)?,
    })
}

/// The inspections of an organization, latest feedback first, with their
/// problems counted at `today`.
pub fn inspections_of(conn: &Db, org: &str, today: NaiveDate) -> Result<Vec<InspectionRow>> {
    let mut stmt = conn.prepare(&format!(
        "{INSPECTION} WHERE i.organization_id = ?1 {INSPECTION_GROUP} ORDER BY i.feedback_on DESC, i.id"
    ))?;
    let rows = stmt.query_map(
        params![org, ProblemStatus::Rectified.code(), today.to_string()],
        inspection_row,
    )?;
    Ok(rows.collect::<super::DbResult<_>>()?)
}

/// One inspection with its problems counted at `today`.
pub fn inspection(conn: &Db, id: &str, today: NaiveDate) -> Result<Option<InspectionRow>> {
    Ok(conn
        .query_row(
            &format!("{INSPECTION} WHERE i.id = ?1 {INSPECTION_GROUP}"),
            params![id, ProblemStatus::Rectified.code(), today.to_string()],
            inspection_row,
        )
        .optional()?)
}

/// A problem as the inspection's page lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemRow {
    pub id: String,
    pub category: Option<String>,
    pub severity: Option<String>,
    pub description: Option<String>,
    pub deadline: Option<String>,
    pub status: String,
    pub responsible: Option<String>,
    /// Days past the deadline at `today`, when not rectified.
    pub overdue_days: Option<i64>,
}

/// The problems of an inspection, most overdue first.
pub fn problems_of(conn: &Db, inspection: &str, today: NaiveDate) -> Result<Vec<ProblemRow>> {
    let d = conn.dialect();
    let today_ = d.day("?3");
    let mut stmt = conn.prepare(&format!(
        "SELECT p.id, p.category, p.severity, p.description, p.deadline, p.status, r.name,
                CASE WHEN p.status <> ?2 AND p.deadline < {today_}
                     THEN {} END
           FROM problems p LEFT JOIN persons r ON r.id = p.responsible_id
          WHERE p.inspection_id = ?1 ORDER BY 8 DESC NULLS LAST, p.id",
        d.whole_days_between(&today_, "p.deadline")
    ))?;
    let rows = stmt.query_map(
        params![
            inspection,
            ProblemStatus::Rectified.code(),
            today.to_string()
        ],
        |r| {
            Ok(ProblemRow {
                id: r.get(0)?,
                category: r.get(1)?,
                severity: r.get(2)?,
                description: r.get(3)?,
                deadline: r.get(4)?,
                status: r.get(5)?,
                responsible: r.get(6)?,
                overdue_days: r.get(7)?,
            })
        },
    )?;
    Ok(rows.collect::<super::DbResult<_>>()?)
}

/// A person's name and email, by id.
pub fn person(conn: &Db, id: &str) -> Result<Option<(String, Option<String>)>> {
    Ok(conn
        .prepare_cached("SELECT name, email FROM persons WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// Every id of an entity's table, in id order.
pub fn ids(conn: &Db, entity: crate::schema::Entity) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("SELECT id FROM {} ORDER BY id", entity.table()))?;
    let ids = stmt.query_map([], |r| r.get::<_, String>(0))?;
    Ok(ids.collect::<super::DbResult<Vec<_>>>()?)
}
