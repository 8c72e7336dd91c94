//! The chat robots' stand-in (`tests/robot/robot.py`, Python's standard
//! library only), started on 127.0.0.1 and stopped by its PID; what it was
//! sent, read back from its log.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Robot {
    child: Option<Child>,
    pub port: u16,
    pub secret: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Robot {
    pub fn start(secret: &str) -> Robot {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut robot = Robot {
            child: None,
            port: super::smtp::free_port(),
            secret: secret.to_string(),
            log: dir.path().join("robot.jsonl"),
            _dir: dir,
        };
        robot.up();
        robot
    }

    /// The robot's base address.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Starts it (again, on the same port).
    pub fn up(&mut self) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/robot/robot.py");
        let python = std::env::var("DUBAN_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(&python)
            .arg(script)
            .arg(self.port.to_string())
            .arg(&self.log)
            .arg(&self.secret)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {python} {script}: {e}"));
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the robot exited ({status})");
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the robot did not start"
            );
            std::thread::sleep(Duration::from_millis(30));
        }
        self.child = Some(child);
    }

    /// Stops it: an outage.
    pub fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every later request is answered with `errcode` (0: normal again).
    pub fn answer_with(&self, errcode: i64) {
        self.answer_with_status(200, errcode);
    }

    /// Every later request is answered with HTTP `status` and `errcode`
    /// (errcode 0: normal again).
    pub fn answer_with_status(&self, status: u16, errcode: i64) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap_or_else(|e| panic!("{e}"));
        let body = format!("{{\"errcode\": {errcode}, \"status\": {status}}}");
        use std::io::{Read, Write};
        write!(
            s,
            "POST /answer HTTP/1.1\r\nHost: robot\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        assert!(
            answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
            "{answer}"
        );
    }

    /// Every request so far: `{"path", "query", "body", "answer"}`.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    /// The requests it accepted (errcode 0), to `path`.
    pub fn accepted(&self, path: &str) -> Vec<serde_json::Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["path"] == path && r["answer"] == 0)
            .collect()
    }
}

impl Drop for Robot {
    fn drop(&mut self) {
        self.down();
    }
}
