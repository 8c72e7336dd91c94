//! `check` of a large policy, in-process: parse, resolve, type-check.
//!
//!     cargo bench --bench check
//!
//! The whole-binary figure (process start included) is in
//! `cargo bench --bench scale`; README.md quotes both.

use duban::lang::check::check;
use duban::lang::diagnostics::SourceMap;

fn main() {
    divan::main();
}

/// 1,000 / 8,000 / 40,000 rules: `check` grows with the policy's size,
/// not its square (one rendered source per file, duplicate rules found by
/// fingerprint).
#[divan::bench(args = [1000, 8000, 40000], sample_count = 3)]
fn check_generated_policy(bencher: divan::Bencher<'_, '_>, rules: usize) {
    let text = duban::demo::policy(rules);
    bencher.bench(|| {
        let mut sources = SourceMap::default();
        sources.add("big.rules", text.as_str());
        let checked = check(sources);
        assert!(checked.policy.is_some());
        checked
    });
}

/// Rules alike but for their names: each one after the first a W002
/// warning, rendered.
#[divan::bench(args = [1000, 8000, 40000], sample_count = 3)]
fn check_identical_rules(bencher: divan::Bencher<'_, '_>, rules: usize) {
    let text: String = (0..rules)
        .map(|i| format!("rule r{i}\n  for problem\n  when status != \"rectified\" and overdue_days >= 30\n  then notify responsible\n\n"))
        .collect();
    bencher.bench(|| {
        let mut sources = SourceMap::default();
        sources.add("same.rules", text.as_str());
        let checked = check(sources);
        checked
            .diagnostics
            .iter()
            .map(|d| checked.sources.render(d, false).len())
            .sum::<usize>()
    });
}

/// A file of broken items (each a syntax error, each rendered).
#[divan::bench(args = [1000, 8000], sample_count = 3)]
fn check_broken_items(bencher: divan::Bencher<'_, '_>, items: usize) {
    let text: String = (0..items)
        .map(|i| format!("rule j{i}\n  for problem\n  when (\n"))
        .collect();
    bencher.bench(|| {
        let mut sources = SourceMap::default();
        sources.add("junk.rules", text.as_str());
        let checked = check(sources);
        let rendered: usize = checked
            .diagnostics
            .iter()
            .map(|d| checked.sources.render(d, false).len())
            .sum();
        assert!(rendered > 0);
        rendered
    });
}
