//! `duban test [PATH]`: run policy test files.

use super::evaluate::load_policy;
use crate::config::Config;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Run the policy's tests (`*.test.toml`).
///
/// A test file holds fixture records, an evaluation date, and what the
/// policy must (`[[expect]]`) and must not (`[[expect_not]]`) do. Prints a
/// line per test and `N passed, M failed`; exit 1 when a test fails.
///
/// PATH is a test file or a folder searched for them (default: the rules
/// folder). The policy is --rules; else PATH when it is a folder holding
/// `.rules` files (as `check` and `dry-run` take a folder); else the
/// configured rules folder.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  duban test\n  duban test --coverage\n  duban test rules/tests/escalation.test.toml\n  duban test --rules proposed-rules/ rules/tests/"
)]
pub struct Args {
    #[arg(value_name = "PATH")]
    path: Option<PathBuf>,
    /// The policy to test (default: the configured rules folder).
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// Also list, per rule, whether some test made it hold and some made
    /// it not hold, and each comparison no test made both true and false.
    #[arg(long)]
    coverage: bool,
}

/// A folder with `.rules` files in it: a policy.
fn holds_rules(p: &Path) -> bool {
    std::fs::read_dir(p).is_ok_and(|entries| {
        entries
            .filter_map(|e| e.ok())
            .any(|e| e.path().extension().is_some_and(|x| x == "rules"))
    })
}

pub fn run(config: &Option<PathBuf>, args: Args) -> Result<ExitCode> {
    let cfg = Config::load(config.as_deref())?;
    let policy_dir = args
        .rules
        .clone()
        .or_else(|| args.path.clone().filter(|p| holds_rules(p)))
        .unwrap_or_else(|| cfg.rules.clone());
    let policy = load_policy(std::slice::from_ref(&policy_dir), &cfg)?;
    let path = args.path.clone().unwrap_or_else(|| policy_dir.clone());
    let files = crate::policytest::find(&path)?;
    let calendar = cfg.load_calendar()?;
    if files.is_empty() {
        return Err(Error::invalid(format!(
            "no *.test.toml files under {}; see docs/LANGUAGE.md for the test file format",
            path.display()
        )));
    }
    let (mut passed, mut failed) = (0, 0);
    let mut covered: Option<crate::policytest::Coverage> = None;
    for f in &files {
        let shown = shown(f);
        let o = if args.coverage {
            crate::policytest::run_covered(&policy, &calendar, f, &shown)
        } else {
            crate::policytest::run(&policy, &calendar, f, &shown)
        };
        if let Some(c) = &o.coverage {
            match covered.as_mut() {
                Some(all) => all.add(c),
                None => covered = Some(c.clone()),
            }
        }
        let name = o
            .name
            .as_deref()
            .map(|n| format!("  {n}"))
            .unwrap_or_default();
        if o.passed() {
            passed += 1;
            println!("ok    {shown}{name} ({} expectations)", o.expectations);
        } else {
            failed += 1;
            println!("FAIL  {shown}{name}");
            for f in &o.failures {
                println!("    {}", f.replace('\n', "\n    "));
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if let Some(c) = &covered {
        print_coverage(&policy, c);
    }
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn shown(p: &Path) -> String {
    p.strip_prefix("./").unwrap_or(p).display().to_string()
}

/// Per rule, whether a test made it hold and one made it not hold; the
/// comparisons no test made both true and false.
fn print_coverage(policy: &crate::lang::ir::Policy, c: &crate::policytest::Coverage) {
    let full = c.rules.iter().filter(|(h, n)| *h && *n).count();
    println!(
        "\ncoverage: {full} of {} rules made to hold and not to hold by the tests",
        policy.rules.len()
    );
    // Chinese characters take two columns.
    let cols = |s: &str| {
        s.chars()
            .map(|c| if c > '\u{2e80}' { 2 } else { 1 })
            .sum::<usize>()
    };
    let width = policy
        .rules
        .iter()
        .map(|r| cols(&r.name))
        .max()
        .unwrap_or(0);
    let mark = |b: bool| if b { "yes" } else { "NO " };
    for (i, r) in policy.rules.iter().enumerate() {
        let (held, not_held) = c.rules.get(i).copied().unwrap_or_default();
        let pad = width.saturating_sub(cols(&r.name));
        println!(
            "  {}{} held {}  not held {}",
            r.name,
            " ".repeat(pad),
            mark(held),
            mark(not_held)
        );
        let parts = crate::policytest::comparisons(&r.when);
        for (k, e) in parts.iter().enumerate() {
            let (t, f) = c
                .comparisons
                .get(i)
                .and_then(|v| v.get(k))
                .copied()
                .unwrap_or_default();
            if t && f {
                continue;
            }
            let (file, line, column) = {
                let (l, col) = policy.sources.line_col(e.file, e.span.start);
                let name = policy
                    .sources
                    .files
                    .get(e.file)
                    .map(|f| f.name.as_str())
                    .unwrap_or("");
                (name, l, col)
            };
            let never = match (t, f) {
                (false, false) => "never evaluated",
                (false, true) => "never true",
                _ => "never false",
            };
            println!(
                "      {file}:{line}:{column} `{}` {never}",
                policy.text_of(e)
            );
        }
    }
}
