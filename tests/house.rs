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

/// No SQL outside `src/store/` names a table: every statement on
/// duban's own tables is a typed function of the store, and the case
/// tables are named through the schema module.
/// (The README's development section gives the same check as a grep.)
#[test]
fn only_the_store_spells_dubans_own_tables() {
    // Every table the migrations make, the calendar table, and the case
    // tables too: compiled SQL and the importer name those through the
    // schema module (`Entity::table`), never by hand.
    let ddl = duban::store::migrations::ddl(duban::store::Dialect::Postgres)
        .unwrap_or_else(|e| panic!("{e}"));
    let tables: Vec<String> = ddl
        .lines()
        .filter_map(|l| l.strip_prefix("CREATE TABLE "))
        .filter_map(|l| l.split([' ', '(']).next())
        .map(|t| t.trim_matches('"').to_string())
        .collect();
    assert!(tables.len() > 15, "{tables:?}");
    let keywords = ["FROM", "JOIN", "INTO", "UPDATE", "TABLE"];
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    let mut found = Vec::new();
    for f in files.iter().filter(|f| !f.starts_with("src/store")) {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{e}"));
        // A unit test reading compiled SQL may quote it.
        let code = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or_default();
        for (n, line) in code.lines().enumerate() {
            let words: Vec<&str> = line
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
                .filter(|w| !w.is_empty())
                .collect();
            for pair in words.windows(2) {
                let table = pair[1].trim_start_matches("temp.");
                if keywords.contains(&pair[0]) && tables.iter().any(|t| t == table) {
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

/// Lines of the files under `dir` (outside `except`) that contain one
/// of `words`.
fn lines_naming(dir: &str, except: &str, words: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(Path::new(dir), &mut files);
    assert!(files.len() > 20, "the source tree was not found");
    let mut found = Vec::new();
    for f in files.iter().filter(|f| !f.starts_with(except)) {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{e}"));
        for (n, line) in text.lines().enumerate() {
            let named = line
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .any(|w| {
                    words
                        .iter()
                        .any(|x| w == *x || w.starts_with(&format!("{x}::")))
                });
            if named {
                found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    found
}

/// The store owns the database drivers: nothing above `src/store` names
/// rusqlite or rust-postgres; it speaks the store's own types.
#[test]
fn only_the_store_names_a_database_driver() {
    let found = lines_naming(
        "src",
        "src/store",
        &[
            "rusqlite",
            "rusqlite_migration",
            "postgres",
            "tokio_postgres",
        ],
    );
    assert!(
        found.is_empty(),
        "a database driver named outside src/store/:\n{}",
        found.join("\n")
    );
}

/// The command line and the workbench are two front doors over one
/// library: nothing outside `src/cli` reaches into it.
#[test]
fn only_the_command_line_uses_the_command_line() {
    let found: Vec<String> = lines_naming("src", "src/cli", &["crate::cli", "duban::cli"])
        .into_iter()
        .filter(|l| !l.starts_with("src/main.rs"))
        .collect();
    assert!(
        found.is_empty(),
        "src/cli used from outside it:\n{}",
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
