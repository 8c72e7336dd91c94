//! `duban serve` as a process of its own, its log (stderr) in a file of
//! the office; killed when dropped.

use super::Office;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Service {
    pub child: Child,
    log: std::path::PathBuf,
}

impl Service {
    /// `duban serve --delivery-poll 1 ARGS` in the office, with `envs` set.
    pub fn start(office: &Office, args: &[&str], envs: &[(&str, &str)]) -> Service {
        let log = office.path(&format!(
            "serve-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("{e}"));
        let child = Command::new(assert_cmd::cargo::cargo_bin("duban"))
            .args(["serve", "--delivery-poll", "1"])
            .args(args)
            .envs(envs.iter().copied())
            .current_dir(office.dir.path())
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        Service { child, log }
    }

    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// Waits until the log has `n` lines containing `what`; the log. A
    /// service that ends before is a failure.
    pub fn wait_for(&mut self, what: &str, n: usize, limit: Duration) -> String {
        let start = Instant::now();
        loop {
            let log = self.log();
            if log.matches(what).count() >= n {
                return log;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // What it wrote before it ended, read after it ended.
                let log = self.log();
                if log.matches(what).count() >= n {
                    return log;
                }
                panic!("the service ended ({status}) before {n}× `{what}`:\n{log}");
            }
            assert!(
                start.elapsed() < limit,
                "waited {limit:?} for {n}× `{what}`; the log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, and its exit code (`None`: killed after 30 s) and log.
    pub fn terminate(mut self) -> (Option<i32>, String) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        let status = loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                break s.code();
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        (status, self.log())
    }

    /// SIGKILL, and waits for the end.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}
