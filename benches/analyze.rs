//! `check --analyze` of a large policy, in-process: every rule's condition
//! normalised, every pair of rules of one entity that give the same person
//! the same task or notice decided, each overlap's witness built and
//! confirmed by the interpreter.
//!
//!     cargo bench --bench analyze
//!
//! The policy is the scale generator's (`duban::demo::policy`); README.md
//! quotes the figures with the whole binary's (`time duban check --analyze`).

use duban::calendar::Calendar;
use duban::lang::check::check;
use duban::lang::diagnostics::SourceMap;

fn main() {
    divan::main();
}

#[divan::bench(args = [100, 1000], sample_count = 5)]
fn analyze_generated_policy(bencher: divan::Bencher<'_, '_>, rules: usize) {
    let text = duban::demo::policy(rules);
    let mut sources = SourceMap::default();
    sources.add("big.rules", text.as_str());
    let policy = check(sources)
        .policy
        .unwrap_or_else(|| panic!("the policy checks"));
    let calendar = Calendar::builtin();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default();
    bencher.bench(|| duban::interpret::witness::analyze_policy(&policy, today, &calendar));
}
