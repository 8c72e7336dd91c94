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

/// `DUBAN_BENCH_POSTGRES`: the URL of a PostgreSQL server whose user may
/// create databases; the PostgreSQL parts run only when it is set.
pub fn postgres() -> Option<String> {
    std::env::var("DUBAN_BENCH_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
}

/// The URL of database `name` on the server `server` names.
pub fn pg_url(server: &str, name: &str) -> String {
    let (url, query) = server
        .split_once('?')
        .map_or((server, None), |(u, q)| (u, Some(q)));
    let host_at = url.find("://").map_or(0, |k| k + 3);
    let host = url[host_at..]
        .find('/')
        .map_or(url, |k| &url[..host_at + k]);
    let query = query.map_or(String::new(), |q| format!("?{q}"));
    format!("{host}/{name}{query}")
}

/// `psql` on `url`, stopping at the first error: its standard output
/// (unaligned, tuples only).
pub fn psql(url: &str, sql: &str) -> String {
    run(Command::new("psql")
        .arg(url)
        .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql]))
}

/// Database `name` on the server, created afresh (copied from `template`
/// if given); its URL.
pub fn pg_fresh(server: &str, name: &str, template: Option<&str>) -> String {
    psql(
        server,
        &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    );
    let from = template.map_or(String::new(), |t| format!(" TEMPLATE \"{t}\""));
    psql(server, &format!("CREATE DATABASE \"{name}\"{from}"));
    pg_url(server, name)
}

/// Whether database `name` exists on the server.
pub fn pg_exists(server: &str, name: &str) -> bool {
    !psql(
        server,
        &format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"),
    )
    .trim()
    .is_empty()
}

/// The server's version and the settings the figures depend on, for the
/// table's caption.
pub fn pg_settings(server: &str) -> String {
    psql(
        server,
        "SELECT current_setting('server_version') || ': ' || string_agg(name || ' = ' || current_setting(name), ', ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'work_mem', 'max_wal_size', 'wal_level')",
    )
    .trim()
    .to_string()
}
