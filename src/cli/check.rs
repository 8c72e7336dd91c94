//! `duban check [RULES] [--format table|json]`: parse and check a policy.

use super::{Format, color_stdout, policy_paths};
use crate::clock::Clock;
use crate::engine::Engine;
use crate::engine::analysis::OfficeAnalysis;
use crate::error::Result;
use crate::lang::analyze::{Shared, What, diagnostic};
use crate::lang::check::Checked;
use std::path::PathBuf;
use std::process::ExitCode;

/// Parse and check a policy; print every error and warning.
///
/// Without RULES, checks the rules folder of duban.toml (default `rules/`).
/// Needs no database. Exit 1 when there is an error; warnings alone pass.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  duban check\n  duban check --analyze\n  duban check rules/10-problems.rules\n  duban check new-policy/ --format json"
)]
pub struct Args {
    /// .rules files or folders.
    #[arg(value_name = "RULES")]
    paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Also print the SQL each rule compiles to, for the office's database
    /// (SQLite without one; ?1 is today).
    #[arg(long)]
    show_sql: bool,
    /// Also analyse the policy: rules that overlap (W010), add nothing
    /// (W011), wait on a task nobody creates (W012), never hold (W001),
    /// each with an example subject; in an office, each overlap counted on
    /// today's data.
    #[arg(long)]
    analyze: bool,
}

pub fn run(config: &Option<PathBuf>, args: Args) -> Result<ExitCode> {
    let paths = policy_paths(config, &args.paths)?;
    // `check` evaluates nothing: the zone of `today` plays no part. The
    // channels are the office's, if there is a duban.toml to read.
    let cfg = crate::config::Config::load(config.as_deref()).ok();
    let channels = cfg.as_ref().map(|c| c.channel_names()).unwrap_or_default();
    let mut checked = crate::policy::load(&paths, chrono_tz::Tz::UTC, &channels)?;
    let analysis = match (&mut checked.policy, args.analyze) {
        (Some(policy), true) => Some(analyze(cfg.as_ref(), policy)?),
        _ => None,
    };
    if let (Some(policy), Some(a)) = (&checked.policy, &analysis) {
        // W001 is the checker's already.
        for f in a
            .analysis
            .findings
            .iter()
            .filter(|f| f.what != What::NeverHolds)
        {
            checked.diagnostics.push(diagnostic(policy, f));
        }
    }
    match args.format {
        Format::Table => print_human(&checked, analysis.as_ref()),
        Format::Json => print_json(&checked, analysis.as_ref()),
    }
    calendar_warning(config);
    if let (true, Some(policy)) = (args.show_sql, &checked.policy) {
        // As the office's database runs it: SQLite's, or PostgreSQL's.
        let dialect = cfg
            .as_ref()
            .map_or(crate::store::Dialect::Sqlite, |c| c.database.dialect());
        for c in crate::compile::compile_policy(policy, dialect) {
            println!("\n-- {}\n{};", c.rule, c.sql);
            if !c.params.is_empty() {
                println!("-- parameters ?2…: {:?}", c.params);
            }
        }
    }
    Ok(if checked.error_count() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// From 1 December: a warning when the office's calendar lacks next year.
/// (`check` runs without a config too; then there is no calendar to ask.)
fn calendar_warning(config: &Option<PathBuf>) {
    let Ok(cfg) = crate::config::Config::load(config.as_deref()) else {
        return;
    };
    let Ok(calendar) = cfg.load_calendar() else {
        return;
    };
    let today = crate::clock::AsOf::new(super::clock().now(), cfg.timezone).today;
    if let Some(w) = crate::calendar::next_year_warning(&calendar, today) {
        eprintln!("warning: {w}");
    }
}

/// The analysis, in the office when there is one (its database, its
/// calendar, its time zone).
fn analyze(
    cfg: Option<&crate::config::Config>,
    policy: &mut crate::lang::ir::Policy,
) -> Result<OfficeAnalysis> {
    let policy_tz = cfg.map(|c| c.timezone).unwrap_or(chrono_tz::Tz::UTC);
    policy.resolve_timezone(policy_tz);
    let as_of = crate::clock::AsOf::new(super::clock().now(), policy.tz);
    let policy: &crate::lang::ir::Policy = policy;
    match cfg {
        Some(cfg) => {
            let engine = Engine::for_office(policy, cfg)?;
            // A file not made yet: the policy is analyzed without an office.
            let conn = match cfg.database.path() {
                Some(p) if !p.exists() => None,
                _ => Some(crate::store::open(&cfg.database)?),
            };
            engine.analyze(conn.as_ref(), &as_of)
        }
        None => Engine::new(policy, "").analyze(None, &as_of),
    }
}

fn print_human(c: &Checked, analysis: Option<&OfficeAnalysis>) {
    let color = color_stdout();
    for d in &c.diagnostics {
        let text = c.sources.render(d, color);
        print!("{text}");
    }
    if let (Some(a), Some(p)) = (analysis, &c.policy) {
        let a = &a.analysis;
        for u in &a.undecided {
            let names: Vec<String> = u
                .rules
                .iter()
                .map(|&i| format!("`{}`", p.rules[i].name))
                .collect();
            println!("undecided: {}: {}", names.join(" and "), u.reason);
        }
        println!(
            "analysis: {} {}, {} silenced by `# allow`, {} undecided",
            a.findings.len(),
            if a.findings.len() == 1 {
                "finding"
            } else {
                "findings"
            },
            a.silenced.len(),
            a.undecided.len()
        );
    }
    let errors = c.error_count();
    let warnings = c.diagnostics.len() - errors;
    let files = c.sources.files.len();
    let plural = |n: usize, w: &str| super::counted(n as u64, w);
    match &c.policy {
        Some(p) => println!(
            "ok: {} in {} ({}, {}, {}){} — policy {}",
            plural(p.rules.len(), "rule"),
            plural(files, "file"),
            plural(p.templates.len(), "template"),
            plural(p.defines.len(), "define"),
            plural(p.task_kinds.len(), "task type"),
            if warnings > 0 {
                format!(", {}", plural(warnings, "warning"))
            } else {
                String::new()
            },
            short_hash(&p.hash)
        ),
        None => println!(
            "{} and {} in {}",
            plural(errors, "error"),
            plural(warnings, "warning"),
            plural(files, "file")
        ),
    }
}

pub(crate) fn short_hash(h: &str) -> &str {
    h.get(..19).unwrap_or(h)
}

fn finding_json(
    p: &crate::lang::ir::Policy,
    f: &crate::lang::analyze::Finding,
    on: Option<&crate::engine::analysis::OnData>,
) -> serde_json::Value {
    let d = diagnostic(p, f);
    let rules: Vec<_> = f
        .rules
        .iter()
        .map(|&i| {
            let r = &p.rules[i];
            let (file, line, column) = crate::lang::analyze::location(&p.sources, r);
            serde_json::json!({"name": r.name, "title": r.title, "entity": r.entity.name(),
                "file": file, "line": line, "column": column})
        })
        .collect();
    let mut out = serde_json::json!({
        "code": f.code().id(),
        "message": d.message,
        "rules": rules,
    });
    match &f.what {
        What::Overlap(shared) => {
            out["shared"] = shared
                .iter()
                .map(|s| match s {
                    Shared::Task { kind, target } => {
                        serde_json::json!({"type": "task", "kind": kind, "target": target})
                    }
                    Shared::Notice { to } => serde_json::json!({"type": "notify", "to": to}),
                })
                .collect();
        }
        What::Unreachable { kind, .. } => out["kind"] = serde_json::json!(kind),
        _ => {}
    }
    if let Some(w) = &f.witness {
        let records: Vec<_> = w
            .records
            .iter()
            .map(|r| {
                let fields: serde_json::Map<String, serde_json::Value> = r
                    .values
                    .iter()
                    .map(|(fid, v)| (fid.def().name.to_string(), v.to_json()))
                    .collect();
                serde_json::json!({"entity": r.entity.name(), "id": r.id, "fields": fields})
            })
            .collect();
        let facts: serde_json::Map<String, serde_json::Value> = f
            .facts
            .iter()
            .map(|(l, v)| (l.clone(), serde_json::json!(v)))
            .collect();
        out["witness"] = serde_json::json!({
            "as_of": w.today.to_string(), "subject": w.subject,
            "facts": facts, "records": records,
        });
    }
    if let Some(on) = on {
        out["office"] = serde_json::json!({"count": on.count, "subjects": on.subjects});
    }
    out
}

fn print_json(c: &Checked, analysis: Option<&OfficeAnalysis>) {
    let diags: Vec<_> = c.diagnostics.iter().map(|d| c.sources.to_json(d)).collect();
    let files: Vec<&str> = c.sources.files.iter().map(|f| f.name.as_str()).collect();
    let out = serde_json::json!({
        "ok": c.policy.is_some(),
        "errors": c.error_count(),
        "warnings": c.diagnostics.len() - c.error_count(),
        "files": files,
        "policy": c.policy.as_ref().map(|p| p.hash.clone()),
        "rules": c.policy.as_ref().map(|p| p.rules.iter().map(|r| r.name.clone()).collect::<Vec<_>>()),
        "diagnostics": diags,
    });
    let mut out = out;
    if let (Some(a), Some(p)) = (analysis, &c.policy) {
        out["findings"] = a.findings().map(|(f, on)| finding_json(p, f, on)).collect();
        out["silenced"] = a
            .analysis
            .silenced
            .iter()
            .map(|f| finding_json(p, f, None))
            .collect();
        out["undecided"] = a
            .analysis
            .undecided
            .iter()
            .map(|u| {
                let names: Vec<&str> = u.rules.iter().map(|&i| p.rules[i].name.as_str()).collect();
                serde_json::json!({"rules": names, "reason": u.reason})
            })
            .collect();
    }
    println!("{out}");
}
