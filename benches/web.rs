//! The web workbench on the million-problem office.
//!
//!     cargo bench --bench web                    # scale 1800: ≈1.01M problems
//!     DUBAN_BENCH_SCALE=200 cargo bench --bench web
//!     cargo bench --bench web -- memory          # one part: tasks, load, memory
//!     DUBAN_BENCH_BIN=/path/to/duban cargo bench --bench web   # another build
//!
//! 1. The tasks page (`/tasks`, 50 rows and the total) under the filters an
//!    office uses, signed in as the office: fastest and median of 9.
//! 2. `duban serve` (workbench and scheduler) with every rule due every 10
//!    seconds, so that its first run — the heaviest, hundreds of thousands
//!    of firings — and the runs after it write while 50 clients use the
//!    workbench for 30 seconds: 40 office clients browse tasks (filtered,
//!    paged), organizations, notices, rules and status; 10 member clients
//!    open their tasks and mark some done. Every answer should be 200 (or
//!    the 303 after a form), no page and no log line say "database is
//!    locked", and the scheduler have run; the table says when not.
//! 3. `duban web` alone under the same 50 clients for 2 minutes
//!    (`DUBAN_BENCH_SECONDS` to change it): its resident memory (VmRSS)
//!    once started, every second of the load (median and peak), and 30
//!    seconds after the clients have gone; how many requests failed.
//!
//! With `DUBAN_BENCH_POSTGRES=postgresql://USER@HOST:PORT/DB` (a server
//! whose user may create databases) each part runs twice, on the office's
//! SQLite file and on a PostgreSQL copy of the same office (`duban db copy`
//! of the demo office, made once; each run works on a fresh database made
//! from it), and part 2 gives the "mark done" figures of both side by side.
//!
//! Prints a Markdown table; README.md quotes it. Timings are measured, not
//! asserted.

mod common;
use common::run;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const AS_OF: &str = "2026-11-22";
const CLIENTS: usize = 50;
const MEMBERS: usize = 10;
const SECONDS: u64 = 30;
/// The memory measurement's load (`DUBAN_BENCH_SECONDS` to change it), and
/// how long the workbench then idles before its memory is read again.
const MEMORY_SECONDS: u64 = 120;
const IDLE_SECONDS: u64 = 30;

/// A working office: its folder, and the PostgreSQL database it works on
/// (`DUBAN_DATABASE`) rather than its duban.db.
struct Office {
    dir: PathBuf,
    database: Option<String>,
}

impl Office {
    fn label(&self) -> &'static str {
        if self.database.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    }
}

/// The demo office at `scale`, its policy run once as of `AS_OF` (built
/// once, kept under `base`), copied to a fresh working folder — with
/// `postgres`, a server's URL, its database a fresh copy of the pristine
/// office's PostgreSQL copy; the demo's sign-ins (admin, office, member).
fn office(bin: &str, base: &Path, scale: u64, postgres: Option<&str>) -> (Office, [String; 3]) {
    let pristine = base.join(format!("office-{scale}"));
    if !pristine.join("accounts.txt").exists() {
        let _ = std::fs::remove_dir_all(&pristine);
        let out = run(Command::new(bin)
            .args(["demo", "--as-of", AS_OF, "--seed", "1"])
            .args(["--scale", &scale.to_string(), "--dir"])
            .arg(&pristine));
        let line = out
            .lines()
            .find(|l| l.contains("sign in as"))
            .unwrap_or_else(|| panic!("the demo printed no sign-in:\n{out}"));
        std::fs::write(pristine.join("accounts.txt"), line).unwrap_or_else(|e| panic!("{e}"));
    }
    let line = std::fs::read_to_string(pristine.join("accounts.txt")).unwrap_or_default();
    // "sign in as D (admin) or S (office), or M (member: …)[, or L (member: …)], password …"
    let ids: Vec<String> = line
        .split_whitespace()
        .zip(line.split_whitespace().skip(1))
        .filter(|(_, next)| next.starts_with('('))
        .map(|(id, _)| id.to_string())
        .collect();
    assert!(
        ids.len() >= 3,
        "cannot read the demo's accounts from {line:?}"
    );
    let database = postgres.map(|server| {
        let name = format!("duban_bench_web_{scale}");
        let copied = pristine.join("postgres-copied");
        if !copied.exists() || !common::pg_exists(server, &name) {
            eprintln!("copying the demo office to PostgreSQL …");
            let url = common::pg_fresh(server, &name, None);
            run(Command::new(bin)
                .args(["db", "copy", "--to", &url])
                .current_dir(&pristine));
            std::fs::write(&copied, &url).unwrap_or_else(|e| panic!("{e}"));
        }
        common::pg_fresh(server, &format!("{name}_work"), Some(&name))
    });
    let work = base.join(format!(
        "work-{scale}{}",
        if database.is_some() { "-pg" } else { "" }
    ));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("rules")).unwrap_or_else(|e| panic!("{e}"));
    // On PostgreSQL the office's duban.db is not read.
    let files = if database.is_some() {
        &["duban.toml"][..]
    } else {
        &["duban.toml", "duban.db"][..]
    };
    for f in files {
        std::fs::copy(pristine.join(f), work.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    for entry in std::fs::read_dir(pristine.join("rules")).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.extension().is_some_and(|x| x == "rules") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let file = path.file_name().unwrap_or_default();
            std::fs::write(work.join("rules").join(file), every_ten_seconds(&text))
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let office = Office {
        dir: work,
        database,
    };
    (office, [ids[0].clone(), ids[1].clone(), ids[2].clone()])
}

/// The policy with every `schedule` made "every 10 seconds".
fn every_ten_seconds(policy: &str) -> String {
    policy
        .lines()
        .map(|l| match l.trim_start().strip_prefix("schedule \"") {
            Some(rest) => {
                let indent = &l[..l.len() - l.trim_start().len()];
                let tail = rest.split_once('"').map(|(_, t)| t).unwrap_or("");
                format!("{indent}schedule \"*/10 * * * * *\"{tail}\n")
            }
            None => format!("{l}\n"),
        })
        .collect()
}

/// `duban COMMAND` on a free port of the working office, its log in `log`.
fn start(bin: &str, office: &Office, command: &str, log: &Path) -> (Child, u16) {
    let dir = &office.dir;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let cfg = dir.join("duban.toml");
    let text = std::fs::read_to_string(&cfg).unwrap_or_default();
    let mut text = text.split("\n[web]\n").next().unwrap_or("").to_string();
    text.push_str(&format!("\n[web]\nlisten = \"127.0.0.1:{port}\"\n"));
    std::fs::write(&cfg, text).unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Command::new(bin);
    if let Some(url) = &office.database {
        cmd.env("DUBAN_DATABASE", url);
    }
    let child = cmd
        .arg(command)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap_or_else(|e| panic!("{e}")))
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "duban {command} did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, port)
}

fn stop(mut child: Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
}

/// A client of one workbench: no cookie jar, no redirects followed.
struct Client {
    base: String,
    agent: ureq::Agent,
    cookie: String,
}

struct Answer {
    status: u16,
    /// Where a redirect leads (`Location`).
    location: Option<String>,
    body: String,
    set_cookies: Vec<String>,
}

impl Answer {
    fn csrf(&self) -> Option<String> {
        let at = self.body.find("name=\"csrf\" value=\"")? + 19;
        let rest = &self.body[at..];
        Some(rest[..rest.find('"')?].to_string())
    }
}

impl Client {
    fn new(port: u16) -> Client {
        Client {
            base: format!("http://127.0.0.1:{port}"),
            agent: ureq::Agent::config_builder()
                .max_redirects(0)
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(120)))
                .build()
                .into(),
            cookie: String::new(),
        }
    }

    fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Answer, String> {
        let mut r = r.map_err(|e| e.to_string())?;
        let set_cookies = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").to_string())
            .collect();
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = r.body_mut().read_to_string().map_err(|e| e.to_string())?;
        Ok(Answer {
            status,
            location,
            body,
            set_cookies,
        })
    }

    fn get(&self, path: &str) -> Result<Answer, String> {
        let req = self.agent.get(&format!("{}{path}", self.base));
        Self::answer(req.header("Cookie", &self.cookie).call())
    }

    fn post(&self, path: &str, form: &[(&str, &str)]) -> Result<Answer, String> {
        let req = self.agent.post(&format!("{}{path}", self.base));
        Self::answer(
            req.header("Cookie", &self.cookie)
                .send_form(form.iter().copied()),
        )
    }

    fn sign_in(&mut self, who: &str) {
        let page = self.get("/sign-in").unwrap_or_else(|e| panic!("{e}"));
        self.cookie = page.set_cookies.join("; ");
        let csrf = page.csrf().unwrap_or_default();
        let a = self
            .post(
                "/sign-in",
                &[("csrf", &csrf), ("who", who), ("password", "duban-demo")],
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.status, 303, "signing in as {who}: {}", a.body);
        self.cookie = a
            .set_cookies
            .into_iter()
            .find(|c| c.starts_with("duban_session="))
            .unwrap_or_else(|| panic!("no session for {who}"));
    }
}

/// Milliseconds of a GET; panics unless it answers 200.
fn timed_get(c: &Client, path: &str) -> (f64, String) {
    let t = Instant::now();
    let a = c.get(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(a.status, 200, "{path}: {}", a.body);
    (ms, a.body)
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// The ids a page links to under `prefix` (`/orgs/`, `/tasks/`).
fn links(body: &str, prefix: &str) -> Vec<String> {
    body.split(&format!("href=\"{prefix}"))
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|id| !id.contains('/') && !id.contains('?'))
        .map(str::to_string)
        .collect()
}

/// The tasks page under the office's filters, on `duban web` alone.
fn tasks_page(bin: &str, work: &Office, office: &str, rows: &mut Vec<[String; 4]>) {
    let (child, port) = start(bin, work, "web", &work.dir.join("web.log"));
    let mut c = Client::new(port);
    c.sign_in(office);
    let (_, orgs) = timed_get(&c, "/orgs");
    let org = links(&orgs, "/orgs/").swap_remove(0);
    let filters = [
        ("all tasks, first page", "/tasks".to_string()),
        (
            "open admonishment talks",
            "/tasks?status=open&kind=admonishment_talk".to_string(),
        ),
        (
            "open and overdue",
            "/tasks?status=open&overdue=1".to_string(),
        ),
        (
            "open reminder talks due in November",
            "/tasks?status=open&kind=reminder_talk&from=2026-11-01&to=2026-11-30".to_string(),
        ),
        ("one organization's tasks", format!("/tasks?org={org}")),
        ("page 1,000 of all tasks", "/tasks?page=1000".to_string()),
    ];
    for (label, path) in filters {
        let mut ms: Vec<f64> = (0..9).map(|_| timed_get(&c, &path).0).collect();
        ms.sort_by(f64::total_cmp);
        let (_, body) = timed_get(&c, &path);
        let total = body
            .split("id=\"total\">")
            .nth(1)
            .and_then(|t| t.split('<').next())
            .unwrap_or("?")
            .to_string();
        rows.push([
            format!("`GET {path}` ({label}), {}", work.label()),
            format!(
                "{:.0} ms fastest, {:.0} ms median",
                ms[0],
                quantile(&ms, 0.5)
            ),
            format!("{total} tasks matched"),
            String::new(),
        ]);
    }
    stop(child);
}

#[derive(Default)]
struct Tally {
    requests: AtomicU64,
    /// Milliseconds of each task marked done: answered 303 to the task's
    /// page with `done=1`, as `task_done` answers a task it closed.
    done: Mutex<Vec<f64>>,
    /// Each "mark done" that did not close its task: what it got, and
    /// after how many milliseconds.
    not_done: Mutex<Vec<(String, f64)>>,
    errors: Mutex<Vec<String>>,
    latencies: Mutex<Vec<(String, f64)>>,
}

/// What a path is, for the breakdown: `/tasks?status=open` → `/tasks?status`,
/// `/tasks/T000001/done` → `/tasks/ID/done`.
fn page_kind(path: &str) -> String {
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
    let p: Vec<&str> = p
        .split('/')
        .map(|s| {
            if s.chars().any(|c| c.is_ascii_digit()) {
                "ID"
            } else {
                s
            }
        })
        .collect();
    let keys: Vec<&str> = q.split('&').filter_map(|kv| kv.split('=').next()).collect();
    if q.is_empty() {
        p.join("/")
    } else {
        format!("{}?{}", p.join("/"), keys.join("&"))
    }
}

impl Tally {
    fn record(&self, path: &str, t: Instant, r: &Result<Answer, String>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        self.latencies
            .lock()
            .map(|mut l| l.push((page_kind(path), ms)))
            .ok();
        let problem = match r {
            Ok(a) if a.body.contains("database is locked") => Some("database is locked".into()),
            Ok(a) if a.status == 200 || a.status == 303 => None,
            Ok(a) => Some(format!("HTTP {}", a.status)),
            Err(e) => Some(e.clone()),
        };
        if let Some(p) = problem {
            self.errors
                .lock()
                .map(|mut e| e.push(format!("{path}: {p}")))
                .ok();
        }
    }
}

/// One office client's round: the pages a clerk or leader opens.
fn office_round(c: &Client, n: usize, org: &str, tally: &Tally) {
    let pages = [
        "/tasks?status=open&overdue=1".to_string(),
        format!("/tasks?page={}", 1 + n % 500),
        format!("/tasks?org={org}&status=open"),
        "/orgs".to_string(),
        format!("/orgs/{org}"),
        "/notices?status=failed".to_string(),
        "/rules".to_string(),
        "/status".to_string(),
    ];
    let path = &pages[n % pages.len()];
    let t = Instant::now();
    let r = c.get(path);
    tally.record(path, t, &r);
}

/// One member client's round: my tasks, and now and then one marked done
/// (client `i` of the members takes the tasks whose number is `i` modulo
/// the members, so that no two mark the same task).
fn member_round(c: &Client, i: usize, n: usize, tally: &Tally) {
    let t = Instant::now();
    let r = c.get("/my");
    tally.record("/my", t, &r);
    if !n.is_multiple_of(5) {
        return;
    }
    let mine = |id: &String| {
        id.trim_start_matches('T')
            .parse::<usize>()
            .is_ok_and(|k| k % MEMBERS == i)
    };
    // The open tasks come first; recently done ones follow under an <h2>.
    let open = |a: Answer| a.body.split("<h2>").next().map(|b| links(b, "/tasks/"));
    let Some(task) = r
        .ok()
        .and_then(open)
        .and_then(|ids| ids.into_iter().find(mine))
    else {
        return;
    };
    let path = format!("/tasks/{task}");
    let t = Instant::now();
    let page = c.get(&path);
    tally.record(&path, t, &page);
    let Some(csrf) = page.ok().and_then(|a| a.csrf()) else {
        return;
    };
    let post = format!("{path}/done");
    let t = Instant::now();
    let r = c.post(&post, &[("csrf", &csrf), ("outcome", "已谈话"), ("on", "")]);
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let closed = format!("{path}?done=1");
    match &r {
        Ok(a) if a.status == 303 && a.location.as_deref() == Some(closed.as_str()) => {
            tally.done.lock().map(|mut d| d.push(ms)).ok();
        }
        other => {
            let what = match other {
                Ok(a) if a.body.contains("database is locked") => {
                    format!("HTTP {}, database is locked", a.status)
                }
                Ok(a) => match &a.location {
                    Some(to) => format!("HTTP {} to {to}", a.status),
                    None => format!("HTTP {}", a.status),
                },
                Err(e) => e.clone(),
            };
            tally.not_done.lock().map(|mut d| d.push((what, ms))).ok();
        }
    }
    tally.record(&post, t, &r);
}

/// `CLIENTS` clients on the workbench at `port` for `seconds`: the first
/// `MEMBERS` signed in as `member`, the others as `office`. What they got,
/// and the seconds it took.
fn load(port: u16, office: &Client, member: &Client, org: &str, seconds: u64) -> (Arc<Tally>, f64) {
    let tally = Arc::new(Tally::default());
    let stop_flag = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let mut c = Client::new(port);
            c.cookie = if i < MEMBERS { member } else { office }.cookie.clone();
            let (tally, stop_flag, org) = (tally.clone(), stop_flag.clone(), org.to_string());
            std::thread::spawn(move || {
                let mut n = i;
                while !stop_flag.load(Ordering::Relaxed) {
                    if i < MEMBERS {
                        member_round(&c, i, n, &tally);
                    } else {
                        office_round(&c, n, &org, &tally);
                    }
                    n += CLIENTS;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop_flag.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    (tally, started.elapsed().as_secs_f64())
}

/// 50 clients for 30 s against `duban serve` with the scheduler busy.
fn under_load(bin: &str, work: &Office, office: &str, member: &str, rows: &mut Vec<[String; 4]>) {
    let log = work.dir.join("serve.log");
    let (child, port) = start(bin, work, "serve", &log);
    let mut o = Client::new(port);
    o.sign_in(office);
    let mut m = Client::new(port);
    m.sign_in(member);
    let org = links(&timed_get(&o, "/orgs").1, "/orgs/").swap_remove(0);
    let (tally, elapsed) = load(port, &o, &m, &org, SECONDS);
    stop(child);
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    let runs: Vec<&str> = log_text
        .lines()
        .filter(|l| l.contains(" run as of "))
        .collect();
    let errors = tally.errors.lock().map(|e| e.clone()).unwrap_or_default();
    let by_page = tally
        .latencies
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    let of_kind = |k: &str| {
        let mut ms: Vec<f64> = by_page
            .iter()
            .filter(|(p, _)| p == k)
            .map(|(_, m)| *m)
            .collect();
        ms.sort_by(f64::total_cmp);
        ms
    };
    let mut kinds: Vec<&String> = by_page.iter().map(|(k, _)| k).collect();
    kinds.sort();
    kinds.dedup();
    for k in kinds {
        let ms = of_kind(k);
        eprintln!(
            "  {k}: {} requests, {:.0} ms median, {:.0} ms p95, {:.0} ms slowest",
            ms.len(),
            quantile(&ms, 0.5),
            quantile(&ms, 0.95),
            quantile(&ms, 1.0)
        );
    }
    let mut ms: Vec<f64> = by_page.iter().map(|(_, m)| *m).collect();
    ms.sort_by(f64::total_cmp);
    let requests = tally.requests.load(Ordering::Relaxed);
    eprintln!("scheduler during the load:\n  {}", runs.join("\n  "));
    // Reported, not fatal, so that the other database is measured too: on
    // a busy machine a page may outlast the clients' timeout.
    let locked = log_text
        .lines()
        .filter(|l| l.contains("database is locked"))
        .collect::<Vec<_>>();
    if !errors.is_empty() {
        eprintln!(
            "{} of {requests} requests failed, the first: {:?}",
            errors.len(),
            &errors[..errors.len().min(10)]
        );
    }
    if !locked.is_empty() {
        eprintln!(
            "the service logged \"database is locked\":\n{}",
            locked.join("\n")
        );
    }
    if runs.is_empty() {
        eprintln!("the scheduler did not finish a run during the load");
    }
    let checked = if errors.is_empty() && locked.is_empty() {
        "no error, no \"database is locked\"".to_string()
    } else {
        format!(
            "{} requests failed; the service logged \"database is locked\" {} times",
            errors.len(),
            locked.len()
        )
    };
    let mut done = tally.done.lock().map(|d| d.clone()).unwrap_or_default();
    done.sort_by(f64::total_cmp);
    let not_done = tally.not_done.lock().map(|d| d.clone()).unwrap_or_default();
    let failed = if not_done.is_empty() {
        "none failed".to_string()
    } else {
        let each: Vec<String> = not_done
            .iter()
            .map(|(what, ms)| format!("{what} after {ms:.0} ms"))
            .collect();
        format!("{} failed: {}", not_done.len(), each.join("; "))
    };
    rows.push([
        format!(
            "{CLIENTS} clients for {SECONDS} s on `duban serve` (scheduler running), {}",
            work.label()
        ),
        format!(
            "{requests} requests ({:.0}/s), {:.0} ms median, {:.0} ms p95, {:.0} ms slowest",
            requests as f64 / elapsed,
            quantile(&ms, 0.5),
            quantile(&ms, 0.95),
            quantile(&ms, 1.0)
        ),
        format!(
            "{} runs of the scheduler, {} tasks marked done",
            runs.len(),
            done.len()
        ),
        checked,
    ]);
    rows.push([
        format!("a task marked done during that load, {}", work.label()),
        format!(
            "{:.0} ms median, {:.0} ms p95, {:.0} ms slowest",
            quantile(&done, 0.5),
            quantile(&done, 0.95),
            quantile(&done, 1.0)
        ),
        format!("{} marked done, {failed}", done.len()),
        "marked: answered 303 to the task's page with `done=1`".into(),
    ]);
}

/// The resident and peak memory of process `pid` in KiB (`VmRSS`,
/// `VmHWM` of /proc/PID/status).
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

/// `duban web` alone under `CLIENTS` clients for `MEMORY_SECONDS`: its
/// resident memory once started and signed in to, every second of the
/// load, and after the clients have been gone `IDLE_SECONDS`.
fn memory(bin: &str, work: &Office, office: &str, member: &str, rows: &mut Vec<[String; 4]>) {
    let seconds = std::env::var("DUBAN_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(MEMORY_SECONDS);
    let (child, port) = start(bin, work, "web", &work.dir.join("web-memory.log"));
    let pid = child.id();
    let mut o = Client::new(port);
    o.sign_in(office);
    let mut m = Client::new(port);
    m.sign_in(member);
    let org = links(&timed_get(&o, "/orgs").1, "/orgs/").swap_remove(0);
    let (before, _) = memory_kib(pid);
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        std::thread::spawn(move || {
            let mut samples = Vec::new();
            while sampling.load(Ordering::Relaxed) {
                samples.push(memory_kib(pid).0);
                std::thread::sleep(Duration::from_secs(1));
            }
            samples
        })
    };
    let (tally, elapsed) = load(port, &o, &m, &org, seconds);
    sampling.store(false, Ordering::Relaxed);
    let mut during = sampler.join().unwrap_or_default();
    let (at_end, _) = memory_kib(pid);
    std::thread::sleep(Duration::from_secs(IDLE_SECONDS));
    let (after, peak) = memory_kib(pid);
    stop(child);
    during.sort_unstable();
    let median = during.get(during.len() / 2).copied().unwrap_or(0);
    let requests = tally.requests.load(Ordering::Relaxed);
    let errors = tally.errors.lock().map(|e| e.clone()).unwrap_or_default();
    eprintln!(
        "memory: before {}, during median {} (peak {}), at the end {}, after {IDLE_SECONDS} s idle {}",
        mib(before),
        mib(median),
        mib(peak),
        mib(at_end),
        mib(after)
    );
    // On a busy machine a slow page may outlast the clients' timeout:
    // counted, not fatal — this part measures memory.
    if !errors.is_empty() {
        eprintln!(
            "{} of {requests} requests failed, the first: {:?}",
            errors.len(),
            &errors[..errors.len().min(10)]
        );
    }
    rows.push([
        format!(
            "resident memory of `duban web`, {CLIENTS} clients for {seconds} s, {}",
            work.label()
        ),
        format!(
            "before {}; during {} median, {} peak; {IDLE_SECONDS} s after {}",
            mib(before),
            mib(median),
            mib(peak),
            mib(after)
        ),
        format!(
            "{requests} requests ({:.0}/s), {} tasks marked done",
            requests as f64 / elapsed,
            tally.done.lock().map(|d| d.len()).unwrap_or(0)
        ),
        format!("{} requests failed", errors.len()),
    ]);
}

fn main() {
    // `cargo bench` passes --bench; a filter may follow: only the parts
    // whose name contains it (tasks, load, memory).
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wants = |part: &str| only.as_deref().is_none_or(|o| part.contains(o));
    // DUBAN_BENCH_BIN: another build of duban (the one before a change).
    let bin = std::env::var("DUBAN_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_duban").to_string());
    let bin = bin.as_str();
    let scale = common::scale();
    let base = common::base("bench-web");
    eprintln!("the demo office at scale {scale} …");
    let postgres = common::postgres();
    let mut rows = Vec::new();
    for server in [None].into_iter().chain(postgres.as_deref().map(Some)) {
        let (work, [_, office_id, member]) = office(bin, &base, scale, server);
        eprintln!("on {} …", work.label());
        if wants("tasks") {
            eprintln!("the tasks page …");
            tasks_page(bin, &work, &office_id, &mut rows);
        }
        if wants("load") {
            eprintln!("{CLIENTS} clients for {SECONDS} s …");
            under_load(bin, &work, &office_id, &member, &mut rows);
        }
        if wants("memory") {
            eprintln!("the workbench's memory under {CLIENTS} clients …");
            memory(bin, &work, &office_id, &member, &mut rows);
        }
    }
    println!("\nscale {scale}\n");
    if let Some(server) = &postgres {
        println!("PostgreSQL {}\n", common::pg_settings(server));
    }
    println!("| workload | time | result | checked |\n|---|---|---|---|");
    for [a, b, c, d] in rows {
        println!("| {a} | {b} | {c} | {d} |");
    }
}
