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

#[divan::bench(args = [100, 1000])]
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
