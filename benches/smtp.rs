//! Notices per second to a local SMTP server (aiosmtpd), one connection
//! reused from notice to notice.
//!
//!     cargo bench --bench smtp          # needs: pip install aiosmtpd
//!
//! Queues the example policy's notices on a demo office (`run
//! --no-deliver`), then times `duban notices retry`, which delivers them,
//! and checks the server received each once. A benchmark, not a test.

#[path = "../tests/common/smtp.rs"]
mod smtp;

use std::process::Command;
use std::time::Instant;

fn main() {
    let bin = env!("CARGO_BIN_EXE_duban");
    let scale: u64 = std::env::var("DUBAN_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let office = dir.path().join("office");
    let ok = |c: &mut Command| {
        let out = c.output().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "{c:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(Command::new(bin)
        .args([
            "demo",
            "--no-run",
            "--as-of",
            "2026-11-22",
            "--scale",
            &scale.to_string(),
            "--dir",
        ])
        .arg(&office));
    let server = smtp::SmtpServer::start();
    std::fs::write(
        office.join("duban.toml"),
        smtp::smtp_config(server.port, 3, 1),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    ok(Command::new(bin).current_dir(&office).args([
        "run",
        "--no-deliver",
        "--as-of",
        "2026-11-22",
    ]));
    let db = rusqlite::Connection::open(office.join("duban.db")).unwrap_or_else(|e| panic!("{e}"));
    let queued: i64 = db
        .query_row(
            "SELECT count(*) FROM outbox WHERE status = 'queued'",
            [],
            |r| r.get(0),
        )
        .unwrap_or(0);
    let started = Instant::now();
    ok(Command::new(bin)
        .current_dir(&office)
        .args(["notices", "retry"]));
    let seconds = started.elapsed().as_secs_f64();
    let received = server.messages().len();
    assert_eq!(received as i64, queued, "each notice once at the server");
    println!(
        "\n| delivery to a local SMTP server (aiosmtpd), one connection kept open | {queued} notices in {seconds:.1} s | {:.0} notices/s |",
        queued as f64 / seconds
    );
    println!("`cargo bench --bench smtp`, DUBAN_BENCH_SCALE={scale}");
}
