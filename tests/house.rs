//! The shape of the house: rules a newcomer relies on, checked so they
//! stay true.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// No SQL outside `src/store/` names one of duban's own tables: every
/// statement on them is a typed function of the store.
/// (The README's development section gives the same check as a grep.)
#[test]
fn only_the_store_spells_dubans_own_tables() {
    let tables = [
        "tasks",
        "outbox",
        "audit",
        "episodes",
        "runs",
        "schedule_state",
    ];
    let keywords = ["FROM", "JOIN", "INTO", "UPDATE", "TABLE"];
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    let mut found = Vec::new();
    for f in files.iter().filter(|f| !f.starts_with("src/store")) {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{e}"));
        for (n, line) in text.lines().enumerate() {
            let words: Vec<&str> = line
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
                .filter(|w| !w.is_empty())
                .collect();
            for pair in words.windows(2) {
                let table = pair[1].trim_start_matches("temp.");
                if keywords.contains(&pair[0]) && tables.contains(&table) {
                    found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(files.len() > 20, "the source tree was not found");
    assert!(
        found.is_empty(),
        "SQL on duban's own tables outside src/store/:\n{}",
        found.join("\n")
    );
}

/// No file of the language core is over 800 lines.
#[test]
fn language_files_stay_small() {
    let mut files = Vec::new();
    rust_files(Path::new("src/lang"), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f)
                .map(|t| t.lines().count())
                .unwrap_or(0);
            (n > 800).then(|| format!("{}: {n} lines", f.display()))
        })
        .collect();
    assert!(!files.is_empty());
    assert!(long.is_empty(), "{}", long.join("\n"));
}
