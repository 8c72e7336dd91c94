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
    after_help = "Examples:\n  duban test\n  duban test rules/tests/escalation.test.toml\n  duban test --rules proposed-rules/ rules/tests/"
)]
pub struct Args {
    #[arg(value_name = "PATH")]
    path: Option<PathBuf>,
    /// The policy to test (default: the configured rules folder).
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
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
    for f in &files {
        let shown = shown(f);
        let o = crate::policytest::run(&policy, &calendar, f, &shown);
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
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn shown(p: &Path) -> String {
    p.strip_prefix("./").unwrap_or(p).display().to_string()
}
