//! `duban check [RULES] [--format table|json]`: parse and check a policy.

use super::{Format, color_stdout, policy_paths};
use crate::clock::Clock;
use crate::error::Result;
use crate::lang::check::Checked;
use std::path::PathBuf;
use std::process::ExitCode;

/// Parse and check a policy; print every error and warning.
///
/// Without RULES, checks the rules folder of duban.toml (default `rules/`).
/// Needs no database. Exit 1 when there is an error; warnings alone pass.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  duban check\n  duban check rules/10-problems.rules\n  duban check new-policy/ --format json"
)]
pub struct Args {
    /// .rules files or folders.
    #[arg(value_name = "RULES")]
    paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Also print the SQL each rule compiles to (?1 is today).
    #[arg(long)]
    show_sql: bool,
}

pub fn run(config: &Option<PathBuf>, args: Args) -> Result<ExitCode> {
    let paths = policy_paths(config, &args.paths)?;
    // `check` evaluates nothing: the zone of `today` plays no part. The
    // channels are the office's, if there is a duban.toml to read.
    let cfg = crate::config::Config::load(config.as_deref()).ok();
    let channels = cfg.as_ref().map(|c| c.channel_names()).unwrap_or_default();
    let checked = crate::policy::load(&paths, chrono_tz::Tz::UTC, &channels)?;
    match args.format {
        Format::Table => print_human(&checked),
        Format::Json => print_json(&checked),
    }
    calendar_warning(config);
    if let (true, Some(policy)) = (args.show_sql, &checked.policy) {
        for c in crate::compile::compile_policy(policy, crate::store::Dialect::Sqlite) {
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

fn print_human(c: &Checked) {
    let color = color_stdout();
    for d in &c.diagnostics {
        print!("{}", c.sources.render(d, color));
    }
    let errors = c.error_count();
    let warnings = c.diagnostics.len() - errors;
    let files = c.sources.files.len();
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
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

fn print_json(c: &Checked) {
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
    println!("{out}");
}
