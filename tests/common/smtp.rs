//! A real SMTP server for tests: aiosmtpd (PyPI), started on 127.0.0.1 at a
//! free port, storing what it receives in a Maildir, stopped by its PID.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SmtpServer {
    child: Child,
    pub port: u16,
    pub maildir: PathBuf,
    _dir: tempfile::TempDir,
}

/// A port nothing listens on (yet).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        SmtpServer::start_on(free_port())
    }

    pub fn start_on(port: u16) -> SmtpServer {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // aiosmtpd's Mailbox handler wants to create the Maildir itself.
        let maildir = dir.path().join("maildir");
        let python = std::env::var("DUBAN_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {python} -m aiosmtpd ({e}); install it: pip install aiosmtpd (.ci/run does)"));
        let mut server = SmtpServer {
            child,
            port,
            maildir,
            _dir: dir,
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("aiosmtpd exited ({status}); is it installed? pip install aiosmtpd");
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not start listening"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// Every message received, raw.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(rd) = std::fs::read_dir(self.maildir.join(sub)) {
                let mut files: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
                files.sort();
                for f in files {
                    out.push(std::fs::read(f).unwrap_or_default());
                }
            }
        }
        out
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A duban.toml sending to 127.0.0.1:`port` without TLS.
pub fn smtp_config(port: u16, max_attempts: u32, backoff_s: u64) -> String {
    format!(
        "database = \"duban.db\"\nrules = \"rules\"\n\n[mail]\ntransport = \"smtp\"\nfrom = \"巡察办督办 <duban@example.org>\"\n\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\ntimeout_s = 5\n\n[delivery]\nmax_attempts = {max_attempts}\nbackoff_s = {backoff_s}\n"
    )
}
