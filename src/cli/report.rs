//! How `run`, `dry-run` and `diff` show what a policy does: for people,
//! grouped by rule with counts and a few examples; for tools, the JSON of
//! SPEC §5, streamed so that a million actions never sit in memory.

use super::Format;
use super::counted;
use crate::clock::AsOf;
use crate::engine::RuleOutcome;
use crate::engine::plan::{ActionJson, Plan, Planned};
use crate::error::{Error, Result};
use crate::lang::ir::Policy;
use std::io::Write;

/// Examples shown per rule in the table format.
const EXAMPLES: usize = 5;

pub struct Report<'p> {
    format: Format,
    policy: &'p Policy,
    all: bool,
    out: std::io::BufWriter<super::out::Stdout>,
    /// JSON: whether an action has been written (for commas).
    wrote_action: bool,
    /// JSON: the skipped actions, which follow the actions in the output,
    /// kept on disk until then so that memory does not grow with them.
    skipped: Spill,
    /// Table: per rule, example lines and skip reasons.
    examples: Vec<RuleExamples>,
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

/// Writes `v` as JSON straight to `out` (an action per firing: no string
/// made on the way).
fn write_json<T: serde::Serialize>(out: &mut impl Write, v: &T) -> Result<()> {
    serde_json::to_writer(out, v).map_err(|e| match e.is_io() {
        true => io(e.into()),
        false => Error::failed("encoding JSON", e),
    })
}

impl<'p> Report<'p> {
    pub fn new(format: Format, policy: &'p Policy, all: bool) -> Self {
        Report {
            format,
            policy,
            all,
            out: std::io::BufWriter::new(super::out::Stdout),
            wrote_action: false,
            skipped: Spill::new(SKIPPED),
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
                "{heading} as of {} · policy {} · {}\n",
                as_of.rfc3339(),
                super::check::short_hash(&self.policy.hash),
                counted(self.policy.rules.len() as u64, "rule")
            )
            .map_err(io),
        }
    }

    /// One firing.
    pub fn firing(&mut self, p: &Plan<'_>) -> Result<()> {
        match self.format {
            Format::Json => {
                for a in p.actions_json() {
                    let sep = self.action_separator();
                    self.out.write_all(sep).map_err(io)?;
                    write_json(&mut self.out, &a)?;
                }
                for s in p.skipped_json() {
                    self.skipped.push(&s)?;
                }
            }
            Format::Table => {
                if self.examples.last().is_none_or(|r| r.rule != p.rule.name) {
                    self.examples
                        .push(RuleExamples::new(&p.rule.name, self.all));
                }
                if let Some(r) = self.examples.last_mut() {
                    r.firing(self.policy, p);
                }
            }
        }
        Ok(())
    }

    /// What goes before the next action of the JSON list.
    fn action_separator(&mut self) -> &'static [u8] {
        let first = !std::mem::replace(&mut self.wrote_action, true);
        if first { b"\n  " } else { ACTIONS }
    }

    /// How a rule's firings are gathered where the rule is read, when the
    /// rules are read side by side.
    pub fn parts(&self) -> PartMaker<'p> {
        PartMaker {
            format: self.format,
            policy: self.policy,
            all: self.all,
        }
    }

    /// A rule's part, in the rules' order: its firings as [`Report::firing`]
    /// would have taken them one by one.
    pub fn take(&mut self, part: Part) -> Result<()> {
        match part {
            Part::Table(examples) => self.examples.push(examples),
            Part::Json {
                mut actions,
                mut skipped,
            } => {
                if actions.count > 0 {
                    let sep = self.action_separator();
                    self.out.write_all(sep).map_err(io)?;
                    actions.copy_to(&mut self.out)?;
                }
                self.skipped.append(&mut skipped)?;
            }
        }
        Ok(())
    }

    /// Closes the report with the per-rule outcomes.
    pub fn finish(mut self, outcomes: &[RuleOutcome], verb: &str) -> Result<()> {
        match self.format {
            Format::Json => {
                let rules: Vec<serde_json::Value> = outcomes
                    .iter()
                    .map(|o| {
                        serde_json::json!({
                            "rule": o.rule, "holds": o.holds, "new_episodes": o.new_episodes,
                            "repeats": o.repeats, "ended": o.ended, "tasks": o.tasks,
                            "notices": o.notices, "held": o.held, "messages": o.messages, "skipped": o.skipped
                        })
                    })
                    .collect();
                write!(self.out, "\n ], \"skipped\": [").map_err(io)?;
                self.skipped.copy_to(&mut self.out)?;
                writeln!(self.out, "], \"rules\": {}}}", json_text(&rules)?).map_err(io)?;
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
                    " · {verb} {} ({}, {})",
                    o.firings(),
                    counted(o.new_episodes, "new episode"),
                    counted(o.repeats, "repeat")
                ));
                line.push_str(&format!(
                    " · {}, {}",
                    counted(o.tasks, "task"),
                    counted(o.notices, "notice")
                ));
                if o.held > 0 {
                    line.push_str(&format!(" ({} held until approved)", o.held));
                }
                if o.messages > 0 {
                    line.push_str(&format!(", {}", counted(o.messages, "chat message")));
                }
            } else {
                line.push_str(" · nothing new to do");
            }
            if o.ended > 0 {
                line.push_str(&format!(
                    " · {} end{}",
                    counted(o.ended, "episode"),
                    if o.ended == 1 { "s" } else { "" }
                ));
            }
            writeln!(self.out, "{line}").map_err(io)?;
            if let Some(RuleExamples { lines, skips, .. }) =
                self.examples.iter().find(|r| r.rule == o.rule)
            {
                for l in lines.lines() {
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
                    for s in skips.lines() {
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
            format!(" · {}", counted(total.messages, "chat message"))
        } else {
            String::new()
        };
        // Notices of rules with `approval by` wait with their request, not
        // in the outbox that `status` counts.
        let held = if total.held > 0 {
            format!(" ({} held until approved)", total.held)
        } else {
            String::new()
        };
        writeln!(
            self.out,
            "total: {} · {} · {} · {}{held}{messages} · {} skipped · {} {}",
            counted(outcomes.len() as u64, "rule"),
            counted(total.firings(), "firing"),
            counted(total.tasks, "task"),
            counted(total.notices, "notice"),
            total.skipped,
            counted(total.ended, "episode"),
            if total.ended == 1 { "ends" } else { "end" }
        )
        .map_err(io)
    }
}

/// One rule's firings as the table shows them: the first few example
/// lines and skip reasons, each in subject order ([`Examples`]).
pub struct RuleExamples {
    rule: String,
    lines: Examples,
    skips: Examples,
}

impl RuleExamples {
    fn new(rule: &str, all: bool) -> Self {
        let keep = if all { usize::MAX } else { EXAMPLES };
        RuleExamples {
            rule: rule.to_string(),
            lines: Examples::new(keep),
            skips: Examples::new(keep),
        }
    }

    fn firing(&mut self, policy: &Policy, p: &Plan<'_>) {
        if self.lines.wants(p.subject) {
            self.lines.add(p.subject, 0, describe_firing(policy, p));
        }
        for (k, s) in p.skipped.iter().enumerate() {
            if self.skips.wants(p.subject) {
                self.skips
                    .add(p.subject, k, format!("{}: {}", p.subject, s.reason));
            }
        }
    }
}

/// A rule's share of a report, filled on the thread that reads the rule
/// and handed to the report in the rules' order ([`Report::take`]).
pub enum Part {
    Table(RuleExamples),
    /// Its actions and skipped actions, on disk until their turn: a rule
    /// read ahead of its turn may list a million.
    Json {
        actions: Spill,
        skipped: Spill,
    },
}

/// Makes a report's parts (see [`crate::engine::Parts`]).
#[derive(Clone, Copy)]
pub struct PartMaker<'p> {
    format: Format,
    policy: &'p Policy,
    all: bool,
}

impl crate::engine::Parts for PartMaker<'_> {
    type Part = Part;

    fn part(&self, rule: &crate::lang::ir::Rule) -> Result<Part> {
        Ok(match self.format {
            Format::Table => Part::Table(RuleExamples::new(&rule.name, self.all)),
            Format::Json => Part::Json {
                actions: Spill::new(ACTIONS),
                skipped: Spill::new(SKIPPED),
            },
        })
    }

    fn firing(&self, part: &mut Part, p: &Plan<'_>) -> Result<()> {
        match part {
            Part::Table(examples) => examples.firing(self.policy, p),
            Part::Json { actions, skipped } => {
                for a in p.actions_json() {
                    actions.push(&a)?;
                }
                for s in p.skipped_json() {
                    skipped.push(&s)?;
                }
            }
        }
        Ok(())
    }
}

/// Between two actions of the JSON list, and two skipped actions.
const ACTIONS: &[u8] = b",\n  ";
const SKIPPED: &[u8] = b",";

/// The first `keep` lines of a rule's table in subject order (then in
/// their order within a subject), whatever order the firings come in: a
/// dry-run's table reads them unordered, with no sort of every firing for
/// the few it shows.
struct Examples {
    keep: usize,
    /// Sorted by (subject, place within the subject).
    kept: Vec<(String, usize, String)>,
}

impl Examples {
    fn new(keep: usize) -> Self {
        Examples {
            keep,
            kept: Vec::new(),
        }
    }

    /// Whether a line about `subject` could be among the first.
    fn wants(&self, subject: &str) -> bool {
        self.kept.len() < self.keep
            || self
                .kept
                .last()
                .is_some_and(|(last, _, _)| subject < last.as_str())
    }

    fn add(&mut self, subject: &str, place: usize, line: String) {
        let key = (subject, place);
        let at = self
            .kept
            .partition_point(|(s, k, _)| (s.as_str(), *k) < key);
        self.kept.insert(at, (subject.to_string(), place, line));
        self.kept.truncate(self.keep);
    }

    fn len(&self) -> usize {
        self.kept.len()
    }

    fn lines(&self) -> impl Iterator<Item = &str> {
        self.kept.iter().map(|(_, _, l)| l.as_str())
    }
}

/// JSON items written to an unnamed temporary file as they come, read back
/// once at the end: a list that follows a stream of unknown length.
pub struct Spill {
    file: Option<std::io::BufWriter<std::fs::File>>,
    count: u64,
    /// Written between two items.
    separator: &'static [u8],
}

impl Spill {
    fn new(separator: &'static [u8]) -> Self {
        Spill {
            file: None,
            count: 0,
            separator,
        }
    }

    /// The file, the separator written when an item is there already:
    /// ready for the next item.
    fn next_item(&mut self) -> Result<&mut std::io::BufWriter<std::fs::File>> {
        let mut file = match self.file.take() {
            Some(f) => f,
            None => std::io::BufWriter::new(unnamed_file()?),
        };
        if self.count > 0 {
            file.write_all(self.separator).map_err(spill_io)?;
        }
        Ok(self.file.insert(file))
    }

    fn push<T: serde::Serialize>(&mut self, item: &T) -> Result<()> {
        let file = self.next_item()?;
        serde_json::to_writer(&mut *file, item).map_err(|e| Error::failed("encoding JSON", e))?;
        self.count += 1;
        Ok(())
    }

    /// Writes the items, separated, to `out`.
    fn copy_to(&mut self, out: &mut impl Write) -> Result<()> {
        use std::io::Seek;
        let Some(file) = self.file.take() else {
            return Ok(());
        };
        let mut file = file.into_inner().map_err(|e| spill_io(e.into_error()))?;
        file.seek(std::io::SeekFrom::Start(0)).map_err(spill_io)?;
        std::io::copy(&mut file, out).map_err(io)?;
        Ok(())
    }

    /// Adds `other`'s items after these.
    fn append(&mut self, other: &mut Spill) -> Result<()> {
        if other.count == 0 {
            return Ok(());
        }
        other.copy_to(self.next_item()?)?;
        self.count += other.count;
        Ok(())
    }
}

fn spill_io(e: std::io::Error) -> Error {
    Error::Io {
        what: "a temporary file for the report".into(),
        source: e,
    }
}

/// A new file in the temporary folder with no name there (it lives while
/// open, and goes when duban ends, however it ends).
fn unnamed_file() -> Result<std::fs::File> {
    tempfile::tempfile().map_err(spill_io)
}

/// One firing on a line or two: the subject, then each action.
pub(crate) fn describe_firing(policy: &Policy, p: &Plan<'_>) -> String {
    let mut parts = Vec::new();
    for a in &p.actions {
        match a {
            Planned::Task {
                kind,
                target,
                assignee,
                due,
                ..
            } => {
                let label = policy.task_kind_label(kind).unwrap_or_default();
                let by = assignee
                    .as_ref()
                    .map(|a| format!(" · by {} {}", a.name, a.id))
                    .unwrap_or_else(|| " · no assignee".into());
                parts.push(format!(
                    "task {kind} {label} → {} {}{by} · due {due}",
                    target.name, target.id
                ));
            }
            Planned::Notify { template, to, .. } => {
                let names: Vec<String> = to
                    .iter()
                    .map(|r| r.name.unwrap_or(r.email).to_string())
                    .collect();
                parts.push(format!("notify {}{}", names.join(", "), using(*template)));
            }
            Planned::Post {
                channel,
                template,
                mentioning,
            } => {
                let using = using(*template);
                let at: String = mentioning.iter().map(|m| format!(" @{}", m.name)).collect();
                parts.push(format!("post to channel {channel}{at}{using}"));
            }
        }
    }
    if parts.is_empty() {
        parts.push("(every action skipped)".into());
    } else if let Some(a) = &p.approver {
        let who = if a.name == a.id {
            a.id.to_string()
        } else {
            format!("{} {}", a.name, a.id)
        };
        parts.push(format!(
            "awaits approval by {who} (the task is due counted from the approval day)"
        ));
    }
    let head = format!("    {:<12} ", p.subject);
    let pad = " ".repeat(unicode_width::UnicodeWidthStr::width(head.as_str()));
    let mut s = String::new();
    for (i, part) in parts.iter().enumerate() {
        s.push_str(if i == 0 { &head } else { &pad });
        s.push_str(part);
        if i + 1 < parts.len() {
            s.push('\n');
        }
    }
    s
}

/// Streams a diff: SPEC §5's `{"added": [...], "removed": [...]}`, or a
/// line per action with `+` or `-`.
pub struct DiffPrinter {
    format: Format,
    out: std::io::BufWriter<super::out::Stdout>,
    side: Option<&'static str>,
    first: bool,
    added: u64,
    removed: u64,
}

impl DiffPrinter {
    pub fn new(format: Format) -> Self {
        DiffPrinter {
            format,
            out: std::io::BufWriter::new(super::out::Stdout),
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
                self.out.write_all(sep.as_bytes()).map_err(io)?;
                write_json(&mut self.out, a)?;
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

/// ` (TEMPLATE)` after a notice that names its template.
fn using(template: Option<&str>) -> String {
    template.map(|t| format!(" ({t})")).unwrap_or_default()
}
