//! The example policy (`rules/`), built into the binary so that `duban
//! init` and `duban demo` can write it anywhere.

/// `(file name, text)` of every policy file in `rules/`.
pub const POLICY: &[(&str, &str)] = &[
    ("00-policy.rules", include_str!("../rules/00-policy.rules")),
    (
        "10-problems.rules",
        include_str!("../rules/10-problems.rules"),
    ),
    (
        "20-inspections.rules",
        include_str!("../rules/20-inspections.rules"),
    ),
    (
        "30-organizations.rules",
        include_str!("../rules/30-organizations.rules"),
    ),
    (
        "40-chinese.rules",
        include_str!("../rules/40-chinese.rules"),
    ),
];

/// `(file name, text)` of the example policy's tests, in `rules/tests/`.
pub const TESTS: &[(&str, &str)] = &[
    (
        "approval.test.toml",
        include_str!("../rules/tests/approval.test.toml"),
    ),
    (
        "escalation.test.toml",
        include_str!("../rules/tests/escalation.test.toml"),
    ),
    (
        "inspections.test.toml",
        include_str!("../rules/tests/inspections.test.toml"),
    ),
    (
        "organizations.test.toml",
        include_str!("../rules/tests/organizations.test.toml"),
    ),
    (
        "problems.test.toml",
        include_str!("../rules/tests/problems.test.toml"),
    ),
];

/// Writes the example policy and its tests into `dir` (which must not hold
/// them yet).
pub fn write_policy(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("tests"))?;
    for (name, text) in POLICY {
        std::fs::write(dir.join(name), text)?;
    }
    for (name, text) in TESTS {
        std::fs::write(dir.join("tests").join(name), text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    fn files(dir: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| e.path().is_file())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Every file of `rules/` is built in, and nothing else.
    #[test]
    fn built_in_policy_is_the_rules_folder() {
        let built_in: Vec<String> = super::POLICY.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(
            files(concat!(env!("CARGO_MANIFEST_DIR"), "/rules")),
            built_in
        );
        let tests: Vec<String> = super::TESTS.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(
            files(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/tests")),
            tests
        );
    }
}
