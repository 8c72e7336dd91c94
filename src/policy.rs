//! Reading a policy from disk: a `.rules` file, or every `.rules` file of a
//! folder in name order, decoded (UTF-8 or GBK) and checked.

use crate::error::{Error, Result};
use crate::lang::check::{Checked, check};
use crate::lang::diagnostics::SourceMap;
use std::path::{Path, PathBuf};

/// The `.rules` files named by `paths` (files as given, folders expanded in
/// name order).
pub fn rule_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| {
                    Error::invalid(format!("cannot read the folder {}: {e}", p.display()))
                })?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "rules") && f.is_file())
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(Error::invalid(format!(
                    "{}: no .rules files in this folder",
                    p.display()
                )));
            }
            files.extend(found);
        } else if p.is_file() {
            files.push(p.clone());
        } else {
            return Err(Error::invalid(format!(
                "{}: no such file or folder",
                p.display()
            )));
        }
    }
    Ok(files)
}

/// Reads the files into a source map.
pub fn read_sources(files: &[PathBuf]) -> Result<SourceMap> {
    let mut sources = SourceMap::default();
    for f in files {
        let bytes = std::fs::read(f)
            .map_err(|e| Error::invalid(format!("cannot read {}: {e}", f.display())))?;
        let text = crate::text::decode(&bytes).map_err(|enc| {
            Error::invalid(format!(
                "{}: not valid text (tried {enc}); save it as UTF-8",
                f.display()
            ))
        })?;
        sources.add(display_name(f), text);
    }
    Ok(sources)
}

/// Reads and checks a policy against the office's configuration:
/// `config_tz` is the zone of `today` when the policy names none, and a
/// `notify channel` must name one of `channels`.
pub fn load(paths: &[PathBuf], config_tz: chrono_tz::Tz, channels: &[&str]) -> Result<Checked> {
    let files = rule_files(paths)?;
    let mut checked = check(read_sources(&files)?);
    if let Some(p) = checked.policy.as_mut() {
        p.resolve_timezone(config_tz);
        let unknown = crate::lang::check::check_channels(p, channels);
        if !unknown.is_empty() {
            checked.diagnostics.extend(unknown);
            checked.policy = None;
        }
    }
    Ok(checked)
}

fn display_name(p: &Path) -> String {
    p.strip_prefix("./").unwrap_or(p).display().to_string()
}

/// The time zone of the configured policy, or why there is none to read
/// (for commands that need only today's date, which fall back quietly).
pub fn timezone(cfg: &crate::config::Config) -> std::result::Result<chrono_tz::Tz, String> {
    match crate::policy::load(
        std::slice::from_ref(&cfg.rules),
        cfg.timezone,
        &cfg.channel_names(),
    ) {
        Ok(checked) => match checked.policy {
            Some(p) => Ok(p.tz),
            None => Err(format!(
                "the policy in {} does not check",
                cfg.rules.display()
            )),
        },
        Err(e) => Err(e.to_string()),
    }
}

/// The policy of `paths`, checked. When it does not check, `show` is
/// given its diagnostics and the error says how many there are.
pub fn load_valid(
    paths: &[PathBuf],
    cfg: &crate::config::Config,
    show: impl FnOnce(&Checked),
) -> Result<crate::lang::ir::Policy> {
    let checked = load(paths, cfg.timezone, &cfg.channel_names())?;
    let errors = checked.error_count();
    match checked.policy {
        Some(p) => Ok(p),
        None => {
            show(&checked);
            Err(Error::invalid(format!(
                "the policy has {errors} error{}; `duban check` shows them, nothing was evaluated",
                if errors == 1 { "" } else { "s" }
            )))
        }
    }
}
