//! The workbench under test: `duban web` on a free loopback port, and an
//! HTTP client that keeps no cookies of its own and follows no redirects
//! (the tests look at every answer).

use super::Office;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Workbench {
    pub port: u16,
    child: Child,
    /// Where its log (stderr) goes.
    log: std::path::PathBuf,
}

/// An answer: status, headers (lower-case names) and body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of a hidden `csrf` field of the page.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no csrf field in {}", self.body));
        let rest = &self.body[at + 19..];
        rest[..rest.find('"').unwrap_or(0)].to_string()
    }

    /// `name=value` of a Set-Cookie header for `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .map(|(_, v)| v.split(';').next().unwrap_or("").to_string())
            .find(|c| c.starts_with(&format!("{name}=")))
    }
}

impl Workbench {
    /// Configures `[web]` on a free port and starts `duban web`, with the
    /// clock at `now` (RFC 3339).
    pub fn start(office: &Office, now: &str) -> Workbench {
        Workbench::start_with(office, now, "web")
    }

    /// Same, with `duban COMMAND` (`web`, or `serve`, which serves the
    /// workbench beside the scheduler).
    pub fn start_with(office: &Office, now: &str, command: &str) -> Workbench {
        Workbench::start_configured(office, now, command, "")
    }

    /// Same, with more lines for `[web]` (`trusted_proxies = […]`, …).
    pub fn start_configured(office: &Office, now: &str, command: &str, web: &str) -> Workbench {
        let port = super::smtp::free_port();
        let cfg = office.path("duban.toml");
        let text = std::fs::read_to_string(&cfg).unwrap_or_default();
        // A workbench started before on this office: its [web] is replaced.
        let mut text = text.split("\n[web]\n").next().unwrap_or("").to_string();
        text.push_str(&format!(
            "\n[web]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n{web}\n"
        ));
        std::fs::write(&cfg, text).unwrap_or_else(|e| panic!("{e}"));
        Workbench::spawn(office, now, command, port)
    }

    /// `duban web` as the office's `[web]` configures it (listening on
    /// `port`): the address its notices link to.
    pub fn start_as_configured(office: &Office, now: &str, port: u16) -> Workbench {
        Workbench::spawn(office, now, "web", port)
    }

    fn spawn(office: &Office, now: &str, command: &str, port: u16) -> Workbench {
        let log = office.path(&format!("web-{port}.log"));
        let stderr = std::fs::File::create(&log).unwrap_or_else(|e| panic!("{e}"));
        let child = Command::new(assert_cmd::cargo::cargo_bin("duban"))
            .arg(command)
            .current_dir(office.dir.path())
            .env("DUBAN_NOW", now)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::from(stderr))
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let w = Workbench { port, child, log };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "duban web did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        w
    }

    /// What the workbench logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .build()
            .into()
    }

    fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
        let mut r = r.unwrap_or_else(|e| panic!("{e}"));
        let headers = r
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        Answer {
            status: r.status().as_u16(),
            headers,
            body: r.body_mut().read_to_string().unwrap_or_default(),
        }
    }

    pub fn get(&self, path: &str, cookie: &str) -> Answer {
        Self::answer(
            Self::agent()
                .get(&self.url(path))
                .header("Cookie", cookie)
                .call(),
        )
    }

    /// A download: status, content type and the bytes.
    pub fn get_bytes(&self, path: &str, cookie: &str) -> (u16, String, Vec<u8>) {
        let mut r = Self::agent()
            .get(&self.url(path))
            .header("Cookie", cookie)
            .call()
            .unwrap_or_else(|e| panic!("{e}"));
        let kind = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = r
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .unwrap_or_else(|e| panic!("{e}"));
        (r.status().as_u16(), kind, bytes)
    }

    pub fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> Answer {
        self.post_from(path, cookie, form, None)
    }

    /// A form posted through a proxy that says it came from `forwarded_for`.
    pub fn post_from(
        &self,
        path: &str,
        cookie: &str,
        form: &[(&str, &str)],
        forwarded_for: Option<&str>,
    ) -> Answer {
        let mut r = Self::agent().post(&self.url(path)).header("Cookie", cookie);
        if let Some(f) = forwarded_for {
            r = r.header("X-Forwarded-For", f);
        }
        Self::answer(r.send_form(form.iter().copied()))
    }

    /// Tries a password; the answer.
    pub fn try_sign_in(&self, who: &str, password: &str) -> Answer {
        self.try_sign_in_from(who, password, None)
    }

    /// Tries a password, through a proxy naming `forwarded_for`.
    pub fn try_sign_in_from(
        &self,
        who: &str,
        password: &str,
        forwarded_for: Option<&str>,
    ) -> Answer {
        let page = self.get("/sign-in", "");
        let form = page.cookie("duban_form").unwrap_or_default();
        self.post_from(
            "/sign-in",
            &form,
            &[("csrf", &page.csrf()), ("who", who), ("password", password)],
            forwarded_for,
        )
    }

    /// Follows a sign-in link (a path) and presses its button: the answer
    /// to the button, or the page's when it has none (a spent link).
    pub fn use_link(&self, path: &str) -> Answer {
        let page = self.get(path, "");
        if page.status != 200 {
            return page;
        }
        let form = page.cookie("duban_form").unwrap_or_default();
        self.post(path, &form, &[("csrf", &page.csrf())])
    }

    /// Signs in; the session cookie (`duban_session=…`).
    pub fn sign_in(&self, who: &str, password: &str) -> String {
        let a = self.try_sign_in(who, password);
        assert_eq!(a.status, 303, "{}", a.body);
        a.cookie("duban_session")
            .unwrap_or_else(|| panic!("no session cookie"))
    }
}

impl Drop for Workbench {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A failed test shows what the workbench logged.
        if std::thread::panicking() {
            eprintln!("workbench log:\n{}", self.log());
        }
    }
}

/// Gives `person` an account with `role` and `password`.
pub fn add_user(office: &Office, person: &str, role: &str, password: &str) {
    office
        .cmd()
        .args(["users", "add", person, "--role", role, "--password-stdin"])
        .write_stdin(format!("{password}\n"))
        .assert()
        .success();
}
