//! What the scale and web benchmarks share: where they work, at what
//! scale, and running duban (or another command) to completion.

use std::path::PathBuf;
use std::process::Command;

/// `DUBAN_BENCH_SCALE`, the demo's `--scale` (1800: about a million
/// problems).
pub fn scale() -> u64 {
    std::env::var("DUBAN_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1800)
}

/// `DUBAN_BENCH_DIR`, else `target/NAME`: created, kept between runs.
pub fn base(name: &str) -> PathBuf {
    let base = std::env::var_os("DUBAN_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("target")
                .join(name)
        });
    std::fs::create_dir_all(&base).unwrap_or_else(|e| panic!("{}: {e}", base.display()));
    base
}

/// Runs `cmd`, which must succeed; its standard output.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
