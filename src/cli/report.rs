//! How `run`, `dry-run` and `diff` show what a policy does: for people,
//! grouped by rule with counts and a few examples; for tools, the JSON of
//! SPEC §5, streamed so that a million actions never sit in memory.

use super::Format;
use crate::clock::AsOf;
use crate::engine::RuleOutcome;
use crate::engine::plan::{ActionJson, Plan, SkippedJson};
use crate::error::{Error, Result};
use crate::lang::ir::Policy;
use std::io::Write;

/// Examples shown per rule in the table format.
const EXAMPLES: usize = 5;

pub struct Report<'p> {
    format: Format,
    policy: &'p Policy,
    all: bool,
    out: std::io::BufWriter<std::io::Stdout>,
    /// JSON: whether an action has been written (for commas).
    wrote_action: bool,
    skipped: Vec<SkippedJson>,
    /// Table: per rule, example lines and skip reasons.
    examples: Vec<(String, Vec<String>, Vec<String>)>,
}

fn io(e: std::io::Error) -> Error {
    Error::Io {
        what: "writing output".into(),
        source: e,
    }
}

fn json_text<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::failed("encoding JSON", e))
}

impl<'p> Report<'p> {
    pub fn new(format: Format, policy: &'p Policy, all: bool) -> Self {
        Report {
            format,
            policy,
            all,
            out: std::io::BufWriter::new(std::io::stdout()),
            wrote_action: false,
            skipped: Vec::new(),
            examples: Vec::new(),
        }
    }

    pub fn begin(&mut self, as_of: &AsOf, heading: &str) -> Result<()> {
        match self.format {
            Format::Json => write!(
                self.out,
                "{{\"as_of\": {}, \"policy\": {}, \"actions\": [",
                json_text(&as_of.rfc3339())?,
                json_text(&self.policy.hash)?
            )
            .map_err(io),
            Format::Table => writeln!(
                self.out,
                "{heading} as of {} · policy {} · {} rules\n",
                as_of.rfc3339(),
                super::check::short_hash(&self.policy.hash),
                self.policy.rules.len()
            )
            .map_err(io),
        }
    }

    /// One firing.
    pub fn firing(&mut self, p: &Plan<'_>) -> Result<()> {
        match self.format {
            Format::Json => {
                for a in p.actions_json() {
                    let sep = if self.wrote_action { ",\n  " } else { "\n  " };
                    self.wrote_action = true;
                    write!(self.out, "{sep}{}", json_text(&a)?).map_err(io)?;
                }
                self.skipped.extend(p.skipped_json());
            }
            Format::Table => {
                if self
                    .examples
                    .last()
                    .is_none_or(|(r, _, _)| *r != p.rule.name)
                {
                    self.examples
                        .push((p.rule.name.clone(), Vec::new(), Vec::new()));
                }
                let policy = self.policy;
                let Some((_, lines, skips)) = self.examples.last_mut() else {
                    return Ok(());
                };
                if self.all || lines.len() < EXAMPLES {
                    lines.push(crate::engine::explain::describe_firing(policy, p));
                }
                for s in &p.skipped {
                    if self.all || skips.len() < EXAMPLES {
                        skips.push(format!("{}: {}", p.subject, s.reason));
                    }
                }
            }
        }
        Ok(())
    }

    /// Closes the report with the per-rule outcomes.
    pub fn finish(mut self, outcomes: &[RuleOutcome], verb: &str) -> Result<()> {
        match self.format {
            Format::Json => {
                let skipped = json_text(&self.skipped)?;
                let rules: Vec<serde_json::Value> = outcomes
                    .iter()
                    .map(|o| {
                        serde_json::json!({
                            "rule": o.rule, "holds": o.holds, "new_episodes": o.new_episodes,
                            "repeats": o.repeats, "ended": o.ended, "tasks": o.tasks,
                            "notices": o.notices, "messages": o.messages, "skipped": o.skipped
                        })
                    })
                    .collect();
                writeln!(
                    self.out,
                    "\n ], \"skipped\": {skipped}, \"rules\": {}}}",
                    json_text(&rules)?
                )
                .map_err(io)?;
            }
            Format::Table => self.table(outcomes, verb)?,
        }
        self.out.flush().map_err(io)
    }

    fn table(&mut self, outcomes: &[RuleOutcome], verb: &str) -> Result<()> {
        let mut total = RuleOutcome::default();
        for o in outcomes {
            let Some(rule) = self.policy.rule(&o.rule) else {
                continue;
            };
            let title = rule.title.as_deref().unwrap_or("");
            writeln!(self.out, "{}  {title}  (for {})", o.rule, rule.entity).map_err(io)?;
            let mut line = format!("  holds for {}", o.holds);
            if o.firings() > 0 {
                line.push_str(&format!(
                    " · {verb} {} ({} new episode{}, {} repeat{})",
                    o.firings(),
                    o.new_episodes,
                    plural(o.new_episodes),
                    o.repeats,
                    plural(o.repeats)
                ));
                line.push_str(&format!(
                    " · {} task{}, {} notice{}",
                    o.tasks,
                    plural(o.tasks),
                    o.notices,
                    plural(o.notices)
                ));
                if o.messages > 0 {
                    line.push_str(&format!(
                        ", {} chat message{}",
                        o.messages,
                        plural(o.messages)
                    ));
                }
            } else {
                line.push_str(" · nothing new to do");
            }
            if o.ended > 0 {
                line.push_str(&format!(
                    " · {} episode{} end{}",
                    o.ended,
                    plural(o.ended),
                    if o.ended == 1 { "s" } else { "" }
                ));
            }
            writeln!(self.out, "{line}").map_err(io)?;
            if let Some((_, lines, skips)) = self.examples.iter().find(|(r, _, _)| *r == o.rule) {
                for l in lines {
                    writeln!(self.out, "{l}").map_err(io)?;
                }
                let more = o.firings().saturating_sub(lines.len() as u64);
                if more > 0 {
                    writeln!(
                        self.out,
                        "    … and {more} more (--all lists every one; --format json for tools)"
                    )
                    .map_err(io)?;
                }
                if o.skipped > 0 {
                    writeln!(self.out, "  skipped {}:", o.skipped).map_err(io)?;
                    for s in skips {
                        writeln!(self.out, "    {s}").map_err(io)?;
                    }
                    let more = o.skipped.saturating_sub(skips.len() as u64);
                    if more > 0 {
                        writeln!(self.out, "    … and {more} more").map_err(io)?;
                    }
                }
            }
            writeln!(self.out).map_err(io)?;
            total += o;
        }
        let messages = if total.messages > 0 {
            format!(" · {} chat messages", total.messages)
        } else {
            String::new()
        };
        writeln!(
            self.out,
            "total: {} rules · {} firings · {} tasks · {} notices{messages} · {} skipped · {} episodes end",
            outcomes.len(),
            total.firings(),
            total.tasks,
            total.notices,
            total.skipped,
            total.ended
        )
        .map_err(io)
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Streams a diff: SPEC §5's `{"added": [...], "removed": [...]}`, or a
/// line per action with `+` or `-`.
pub struct DiffPrinter {
    format: Format,
    out: std::io::BufWriter<std::io::Stdout>,
    side: Option<&'static str>,
    first: bool,
    added: u64,
    removed: u64,
}

impl DiffPrinter {
    pub fn new(format: Format) -> Self {
        DiffPrinter {
            format,
            out: std::io::BufWriter::new(std::io::stdout()),
            side: None,
            first: true,
            added: 0,
            removed: 0,
        }
    }

    fn open(&mut self, side: &'static str) -> Result<()> {
        if self.side == Some(side) {
            return Ok(());
        }
        if self.format == Format::Json {
            let lead = if self.side.is_none() { "{" } else { "], " };
            write!(self.out, "{lead}\"{side}\": [").map_err(io)?;
        }
        self.side = Some(side);
        self.first = true;
        Ok(())
    }

    fn action(&mut self, side: &'static str, sign: &str, a: &ActionJson) -> Result<()> {
        if self.side.is_none() {
            self.open("added")?;
        }
        self.open(side)?;
        match self.format {
            Format::Json => {
                let sep = if self.first { "\n  " } else { ",\n  " };
                write!(self.out, "{sep}{}", json_text(a)?).map_err(io)?;
            }
            Format::Table => writeln!(self.out, "{sign} {}", one_action(a)).map_err(io)?,
        }
        self.first = false;
        Ok(())
    }

    pub fn added(&mut self, a: &ActionJson) -> Result<()> {
        self.added += 1;
        self.action("added", "+", a)
    }

    pub fn removed(&mut self, a: &ActionJson) -> Result<()> {
        self.removed += 1;
        self.action("removed", "-", a)
    }

    pub fn finish(mut self) -> Result<()> {
        if self.side.is_none() {
            self.open("added")?;
        }
        self.open("removed")?;
        match self.format {
            Format::Json => writeln!(self.out, "]}}").map_err(io)?,
            Format::Table => {
                writeln!(self.out, "{} added, {} removed", self.added, self.removed).map_err(io)?
            }
        }
        self.out.flush().map_err(io)
    }
}

fn one_action(a: &ActionJson) -> String {
    format!(
        "{:<20} {} {:<12} {}",
        a.rule,
        a.entity,
        a.subject,
        a.describe()
    )
}
