//! A real headless Chromium, driven over the W3C WebDriver protocol by
//! Debian's chromedriver (started and stopped here). `.ci/run` installs
//! `chromium` and `chromium-driver`.

use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
}

const DRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

impl Browser {
    pub fn start() -> Browser {
        assert!(
            std::path::Path::new(DRIVER).exists() && std::path::Path::new(CHROMIUM).exists(),
            "the browser tests need Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver (.ci/run does)"
        );
        let port = super::smtp::free_port();
        let driver = Command::new(DRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let base = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")).keep();
        // Finding an element waits up to 10 s for it: a click that submits
        // a form returns before the next page is there.
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "timeouts": {"implicit": 10000},
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-quic", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--lang=zh-CN",
                         "--window-size=1280,900", format!("--user-data-dir={}", profile.display())]
            }
        }}});
        let mut b = Browser {
            driver,
            base,
            session: String::new(),
        };
        let v = b.call("POST", "/session", Some(caps));
        b.session = v["sessionId"].as_str().unwrap_or_default().to_string();
        assert!(!b.session.is_empty(), "no WebDriver session: {v}");
        b
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// A driver command whose error (`"stale element reference": …`) the
    /// caller reads.
    fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let r = match (method, body) {
            ("GET", _) => agent.get(&url).call(),
            ("DELETE", _) => agent.delete(&url).call(),
            (_, b) => agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(b.unwrap_or(json!({})).to_string()),
        };
        let mut r = r.map_err(|e| e.to_string())?;
        let text = r.body_mut().read_to_string().unwrap_or_default();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if let Some(err) = v["value"].get("error") {
            return Err(format!("{err}: {}", v["value"]["message"]));
        }
        Ok(v["value"].clone().pipe_session(&v))
    }

    fn s(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    pub fn goto(&self, url: &str) {
        self.call("POST", &self.s("/url"), Some(json!({"url": url})));
    }

    /// Waits (up to 20 s) until the address `is` what the test waits for.
    pub fn wait_for_url(&self, is: impl Fn(&str) -> bool) {
        let start = Instant::now();
        loop {
            let url = self.url();
            if is(&url) {
                return;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "still at {url}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        self.call("GET", &self.s("/url"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The first element matching a CSS selector.
    pub fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            &self.s("/element"),
            Some(json!({"using": "css selector", "value": css})),
        );
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(|x| x.as_str())
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }

    /// How many elements match, now (none is an answer: no waiting).
    pub fn count(&self, css: &str) -> usize {
        self.call("POST", &self.s("/timeouts"), Some(json!({"implicit": 0})));
        let n = self
            .call(
                "POST",
                &self.s("/elements"),
                Some(json!({"using": "css selector", "value": css})),
            )
            .as_array()
            .map(|a| a.len())
            .unwrap_or(0);
        self.call(
            "POST",
            &self.s("/timeouts"),
            Some(json!({"implicit": 10000})),
        );
        n
    }

    pub fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &self.s(&format!("/element/{e}/click")), None);
    }

    /// Clicks a link or a form's button and waits (up to 20 s) until the
    /// page it was on is gone and the next one has loaded: the click
    /// returns before the browser leaves, and the old page's `h1` read
    /// then is stale or wrong.
    pub fn follow(&self, css: &str) {
        let page = self.find("html");
        self.click(css);
        let start = Instant::now();
        while self
            .try_call("GET", &self.s(&format!("/element/{page}/name")), None)
            .is_ok()
        {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{css} did not leave {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        while self.script("return document.readyState") != json!("complete") {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{} did not load",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call("POST", &self.s(&format!("/element/{e}/clear")), None);
        self.call(
            "POST",
            &self.s(&format!("/element/{e}/value")),
            Some(json!({"text": text})),
        );
    }

    /// The rendered text of an element.
    pub fn text(&self, css: &str) -> String {
        let e = self.find(css);
        self.call("GET", &self.s(&format!("/element/{e}/text")), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Saves a PNG of the window under `target/screenshots/NAME.png`.
    pub fn screenshot(&self, name: &str) {
        use base64::Engine as _;
        let data = self.call("GET", &self.s("/screenshot"), None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap_or_else(|e| panic!("{e}"));
    }

    pub fn resize(&self, width: u32, height: u32) {
        self.call(
            "POST",
            &self.s("/window/rect"),
            Some(json!({"width": width, "height": height})),
        );
    }

    /// Runs `body` (a function body that `return`s a JSON value) in the
    /// page, through the driver: the pages themselves run no script.
    pub fn script(&self, body: &str) -> Value {
        self.call(
            "POST",
            &self.s("/execute/sync"),
            Some(json!({"script": body, "args": []})),
        )
    }

    /// Deletes the cookies (signs out this browser).
    pub fn forget_cookies(&self) {
        self.call("DELETE", &self.s("/cookie"), None);
    }
}

trait PipeSession {
    fn pipe_session(self, whole: &Value) -> Value;
}

impl PipeSession for Value {
    /// A new session's answer keeps its id beside the value.
    fn pipe_session(self, whole: &Value) -> Value {
        match whole["value"].get("sessionId") {
            Some(id) => json!({"sessionId": id}),
            None => self,
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let agent = ureq::Agent::new_with_defaults();
            let _ = agent
                .delete(&format!("{}/session/{}", self.base, self.session))
                .call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
