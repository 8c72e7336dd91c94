//! `duban fmt [--check] [RULES]`: canonical formatting of policy files.

use super::{color_stdout, policy_paths};
use crate::error::{Context, Error, Result};
use crate::lang::{format::format, parse::parse};
use std::path::PathBuf;
use std::process::ExitCode;

/// Format policy files in the canonical layout.
///
/// Keeps comments and your spelling (a rule written in Chinese stays
/// Chinese). Formatting twice changes nothing. A file with syntax errors
/// is left as it is and its errors are shown.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  duban fmt                 format the rules folder in place\n  duban fmt --check         list files that are not formatted; exit 1 if any"
)]
pub struct Args {
    /// Do not write; exit 1 if a file would change.
    #[arg(long)]
    check: bool,
    /// .rules files or folders.
    #[arg(value_name = "RULES")]
    paths: Vec<PathBuf>,
}

pub fn run(config: &Option<PathBuf>, args: Args) -> Result<ExitCode> {
    let paths = policy_paths(config, &args.paths)?;
    let files = crate::policy::rule_files(&paths)?;
    let sources = crate::policy::read_sources(&files)?;
    let mut broken = 0;
    let mut changed = Vec::new();
    for (i, (path, src)) in files.iter().zip(&sources.files).enumerate() {
        let (ast, diags) = parse(i, &src.text);
        if !diags.is_empty() {
            for d in &diags {
                print!("{}", sources.render(d, color_stdout()));
            }
            broken += 1;
            continue;
        }
        let formatted = format(&src.text, &ast);
        if formatted == src.text {
            continue;
        }
        if !args.check {
            write_atomically(path, &formatted)?;
        }
        changed.push(src.name.clone());
    }
    for name in &changed {
        if args.check {
            println!("would reformat {name}");
        } else {
            println!("formatted {name}");
        }
    }
    if broken > 0 {
        return Err(Error::invalid(format!(
            "{} not formatted because of syntax errors",
            super::counted(broken, "file")
        )));
    }
    if args.check && !changed.is_empty() {
        println!(
            "{} of {} files would change; run `duban fmt` to format them",
            changed.len(),
            files.len()
        );
        return Ok(ExitCode::from(1));
    }
    if changed.is_empty() {
        println!("{} files already formatted", files.len());
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes beside the file and renames over it, so a crash never leaves half
/// a policy.
fn write_atomically(path: &PathBuf, text: &str) -> Result<()> {
    let tmp = path.with_extension("rules.tmp");
    std::fs::write(&tmp, text).context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).context(|| format!("replacing {}", path.display()))
}
