//! The workbench under test: `duban web` on a free loopback port, and an
//! HTTP client that keeps no cookies of its own and follows no redirects
//! (the tests look at every answer).

use super::Office;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Workbench {
    pub port: u16,
    child: Child,
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
        let port = super::smtp::free_port();
        let cfg = office.path("duban.toml");
        let text = std::fs::read_to_string(&cfg).unwrap_or_default();
        // A workbench started before on this office: its [web] is replaced.
        let mut text = text.split("\n[web]\n").next().unwrap_or("").to_string();
        text.push_str(&format!(
            "\n[web]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n"
        ));
        std::fs::write(&cfg, text).unwrap_or_else(|e| panic!("{e}"));
        Workbench::spawn(office, now, command, port)
    }

    /// `duban web` as the office's `[web]` configures it (listening on
    /// `port`): the address its notices link to.
    pub fn start_configured(office: &Office, now: &str, port: u16) -> Workbench {
        Workbench::spawn(office, now, "web", port)
    }

    fn spawn(office: &Office, now: &str, command: &str, port: u16) -> Workbench {
        let child = Command::new(assert_cmd::cargo::cargo_bin("duban"))
            .arg(command)
            .current_dir(office.dir.path())
            .env("DUBAN_NOW", now)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let w = Workbench { port, child };
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

    pub fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> Answer {
        Self::answer(
            Self::agent()
                .post(&self.url(path))
                .header("Cookie", cookie)
                .send_form(form.iter().copied()),
        )
    }

    /// Tries a password; the answer.
    pub fn try_sign_in(&self, who: &str, password: &str) -> Answer {
        let page = self.get("/sign-in", "");
        let form = page.cookie("duban_form").unwrap_or_default();
        self.post(
            "/sign-in",
            &form,
            &[("csrf", &page.csrf()), ("who", who), ("password", password)],
        )
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
