//! `duban schema`: the case schema, task kinds and diagnostic codes as
//! Markdown, generated from the schema module — what `docs/LANGUAGE.md`
//! embeds (a test keeps the two the same).

use crate::error::Result;
use crate::lang::diagnostics::Code;
use crate::schema::{ENTITIES, FieldType, Link, STANDARD_TASK_KINDS};
use std::process::ExitCode;

/// Print the case schema, task kinds and diagnostic codes (Markdown).
///
/// Every entity, field, Chinese alias, type and collection, as
/// docs/LANGUAGE.md shows them.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> Result<ExitCode> {
    print!("{}", reference());
    Ok(ExitCode::SUCCESS)
}

/// The reference, as Markdown.
pub fn reference() -> String {
    let mut s = String::new();
    for d in ENTITIES {
        s.push_str(&format!(
            "### `{}` {} — import file `{}.csv`\n\n",
            d.name, d.zh, d.table
        ));
        s.push_str("| field | 中文 | type | import column | notes |\n|---|---|---|---|---|\n");
        for f in d.fields {
            let ty = match f.ty {
                FieldType::Text => "text".to_string(),
                FieldType::Number => "number".to_string(),
                FieldType::Date => "date".to_string(),
                FieldType::Enum(e) => e
                    .values
                    .iter()
                    .map(|(c, l)| format!("`{c}` {l}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                FieldType::Ref(e) => format!("→ {e}"),
                FieldType::TaskKind => "task kind".to_string(),
            };
            let mut notes = Vec::new();
            if f.required && f.default.is_none() {
                notes.push("required".to_string());
            } else if f.needed && !f.required {
                notes.push("required for a new record".to_string());
            }
            if let Some(d) = f.default {
                notes.push(format!("default `{d}`"));
            }
            if let Some(how) = f.derived {
                notes.push(
                    match crate::compile::day_count_sql(how, "t", crate::store::Dialect::Sqlite) {
                        Some(_) => "derived, as of `today`; exported read-only".to_string(),
                        None => "derived, as of `today`".to_string(),
                    },
                );
            }
            s.push_str(&format!(
                "| `{}` | {} | {ty} | {} | {} |\n",
                f.name,
                f.zh,
                f.column()
                    .map(|c| format!("`{c}`"))
                    .unwrap_or_else(|| "—".into()),
                notes.join("; ")
            ));
        }
        for c in d.collections {
            let how = match c.link {
                Link::Backref(f) => format!("{}s whose `{f}` is this {}", c.element, d.name),
                Link::TaskSubject => format!("tasks whose subject is this {}", d.name),
                Link::TaskTarget => "tasks whose target is this person".to_string(),
            };
            s.push_str(&format!(
                "| `{}` | {} | collection of {} | — | {how} |\n",
                c.name, c.zh, c.element
            ));
        }
        s.push('\n');
    }
    s.push_str("### Standard task kinds\n\n| code | 中文 |\n|---|---|\n");
    for (c, l) in STANDARD_TASK_KINDS {
        s.push_str(&format!("| `{c}` | {l} |\n"));
    }
    s.push_str("\n### Diagnostics\n\n| code | means |\n|---|---|\n");
    for c in Code::ALL {
        s.push_str(&format!("| {} | {} |\n", c.id(), c.summary()));
    }
    s
}
