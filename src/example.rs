//! The example policy (`rules/`), built into the binary so that `duban
//! init` and `duban demo` can write it anywhere.

/// `(file name, text)` of every file in `rules/`.
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

/// Writes the example policy into `dir` (which must not hold it yet).
pub fn write_policy(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in POLICY {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// Every file of `rules/` is built in, and nothing else.
    #[test]
    fn built_in_policy_is_the_rules_folder() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        on_disk.sort();
        let built_in: Vec<String> = super::POLICY.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(on_disk, built_in);
    }
}
