//! The web workbench (SPEC §11): the people duban gives work to answer it
//! here — a member marks a task done, the office watches organizations,
//! tasks, notices and rules. Server-rendered HTML (minijinja, autoescaped),
//! no script; every asset is embedded in the binary (offices run on
//! intranets).
//!
//! - [`auth`]: accounts' sign-in (password or emailed link), sessions,
//!   CSRF tokens, throttling of failed sign-ins.
//! - [`pages`]: the pages and the forms they post; every change is the
//!   store's operation of the matching CLI command.
//! - [`i18n`]: Chinese first, English on request.
//! - [`guard`]: what is refused before a page sees a request; return
//!   addresses; the visitor's address behind a trusted proxy.
//! - [`server`]: connections within bounds (timeouts, a cap).
//!
//! Handlers run their database work on blocking threads, each with a
//! connection from the store's small pool (SQLite or PostgreSQL);
//! SQLite's WAL lets the scheduler write beside them, PostgreSQL's row
//! locks the same. The work queues in lanes of a few places each: pages
//! (and, within them, the counts over the whole office), short writes,
//! session lookups — a task marked done never waits behind pages.

pub mod auth;
pub mod guard;
pub mod i18n;
pub mod pages;
pub mod server;

use crate::clock::Clock;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::store::Db;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;
use tracing::{error, info};

/// What every request shares.
pub struct App {
    pub cfg: Config,
    pub clock: Arc<dyn Clock>,
    /// The policy's time zone at start: today's date on pages.
    pub tz: chrono_tz::Tz,
    templates: minijinja::Environment<'static>,
    pool: crate::store::Pool,
    /// At most `PAGES` requests read pages from the database at once; the
    /// others wait their turn rather than crowd the cores.
    permits: Arc<tokio::sync::Semaphore>,
    /// Of those, at most `HEAVY` count over the whole office (the rules'
    /// counts, the status page, the report, downloads): at a million
    /// problems such a page takes seconds, and a person marking a task done
    /// or approving must not queue behind several of them.
    heavy: Arc<tokio::sync::Semaphore>,
    /// A lane of its own for the short writes people wait on (a task
    /// marked done, a request decided): they never queue behind pages.
    writes: Arc<tokio::sync::Semaphore>,
    /// A lane of its own for finding a request's session (one row by its
    /// key): each request then queues once, for its page or its write.
    sessions: Arc<tokio::sync::Semaphore>,
    /// The organizations' figures, counted at most once per `FIGURES_TTL`.
    figures: tokio::sync::Mutex<Option<Arc<OrgFigures>>>,
    /// Cookies carry `Secure`: the workbench is reached over https.
    secure_cookies: bool,
    /// `[web]`, or its defaults.
    web: crate::config::Web,
    /// The proxies whose `X-Forwarded-For` counts.
    proxies: Vec<ipnet::IpNet>,
    /// How many subjects each rule holds for, and the policy's analysis
    /// on the data, worked out at most once per `FIGURES_TTL` for a policy.
    rule_figures: tokio::sync::Mutex<Option<RuleFigures>>,
}

/// Per rule, how many subjects it held for at `at` under policy `hash`,
/// and the analysis's findings with their counts on the data then.
#[derive(Clone)]
pub struct RuleFigures {
    pub at: chrono::DateTime<chrono::Utc>,
    hash: String,
    pub counts: Arc<std::collections::HashMap<String, u64>>,
    pub analysis: Arc<crate::engine::analysis::OfficeAnalysis>,
}

/// Every organization's rectification figures, as counted at `at`.
pub struct OrgFigures {
    pub at: chrono::DateTime<chrono::Utc>,
    pub day: chrono::NaiveDate,
    /// Lowest rectification rate first.
    pub orgs: Vec<crate::store::progress::OrgProgress>,
}

/// How long the organizations' figures are shown before they are counted
/// again: at a million problems a count takes seconds, and a dashboard
/// need not be fresher than this.
pub const FIGURES_TTL: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("sign_in.html", include_str!("templates/sign_in.html")),
    ("message.html", include_str!("templates/message.html")),
    ("link.html", include_str!("templates/link.html")),
    ("my.html", include_str!("templates/my.html")),
    ("task.html", include_str!("templates/task.html")),
    ("tasks.html", include_str!("templates/tasks.html")),
    ("task_rows.html", include_str!("templates/task_rows.html")),
    ("pager.html", include_str!("templates/pager.html")),
    ("notices.html", include_str!("templates/notices.html")),
    ("orgs.html", include_str!("templates/orgs.html")),
    ("org.html", include_str!("templates/org.html")),
    ("inspection.html", include_str!("templates/inspection.html")),
    ("rules.html", include_str!("templates/rules.html")),
    ("status.html", include_str!("templates/status.html")),
    ("accounts.html", include_str!("templates/accounts.html")),
    ("approvals.html", include_str!("templates/approvals.html")),
    ("approval.html", include_str!("templates/approval.html")),
    ("confirm.html", include_str!("templates/confirm.html")),
    ("report.html", include_str!("templates/report.html")),
];

const CSS: &str = include_str!("assets/duban.css");

/// At most this many requests read pages at once (`App::db`).
const PAGES: usize = 8;

/// At most this many of the `PAGES` requests at work count over the whole
/// office (`App::db_heavy`).
const HEAVY: usize = 2;

/// At most this many short writes at once (`App::db_write`).
const WRITES: usize = 2;

/// At most this many sessions looked up at once (`App::db_session`).
const SESSIONS: usize = 2;

/// Idle connections kept: one for each place of the lanes.
const POOL: usize = PAGES + WRITES + SESSIONS;

impl App {
    pub fn new(cfg: Config, clock: Arc<dyn Clock>) -> Result<App> {
        let mut env = minijinja::Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(|e| Error::invalid(format!("template {name}: {e}")))?;
        }
        let tz = crate::policy::timezone(&cfg).unwrap_or(cfg.timezone);
        // The task kinds the policy declares (`tasktype`), named by label.
        let kinds = policy(&cfg)
            .map(|p| {
                p.task_kinds
                    .iter()
                    .map(|k| (k.code.clone(), k.label.clone()))
                    .collect()
            })
            .unwrap_or_default();
        i18n::install(&mut env, tz, kinds);
        let web = cfg.web.clone().unwrap_or_default();
        let proxies = web.proxies()?;
        let secure_cookies = web
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"));
        // The database must exist; the workbench does not create one.
        let pool = crate::store::Pool::open(cfg.database.clone(), POOL)?;
        Ok(App {
            cfg,
            clock,
            tz,
            templates: env,
            pool,
            permits: Arc::new(tokio::sync::Semaphore::new(PAGES)),
            writes: Arc::new(tokio::sync::Semaphore::new(WRITES)),
            sessions: Arc::new(tokio::sync::Semaphore::new(SESSIONS)),
            heavy: Arc::new(tokio::sync::Semaphore::new(HEAVY)),
            figures: tokio::sync::Mutex::new(None),
            secure_cookies,
            web,
            proxies,
            rule_figures: tokio::sync::Mutex::new(None),
        })
    }

    /// The live policy, and how many subjects each of its rules holds for
    /// now — what dry-run calls "holds for" — with the analysis's overlaps
    /// counted on the data (at a million problems both take a while),
    /// worked out again after `FIGURES_TTL` or when the policy changed.
    /// The policy is read from its files without a database connection, so
    /// that figures still fresh cost no place in the counting lane.
    /// Requests arriving during a count wait for it without holding a
    /// connection.
    pub async fn rule_figures(
        self: &Arc<Self>,
    ) -> std::result::Result<(Arc<crate::lang::ir::Policy>, RuleFigures), WebError> {
        // Counted in a task of its own, which keeps the lock until the
        // count is done even when the request that started it is given up
        // (a client's timeout): the next request then waits for that count
        // instead of starting another.
        let app = self.clone();
        tokio::spawn(async move {
            let mut cached = app.rule_figures.lock().await;
            let cfg = app.cfg.clone();
            let policy = Arc::new(
                tokio::task::spawn_blocking(move || policy(&cfg))
                    .await
                    .map_err(|e| Error::invalid(format!("reading the policy failed: {e}")))??,
            );
            let now = app.clock.now();
            if let Some(f) = cached
                .as_ref()
                .filter(|f| f.hash == policy.hash && now - f.at < FIGURES_TTL)
            {
                return Ok((policy, f.clone()));
            }
            let counted = policy.clone();
            let figures = app
                .db_heavy(move |conn, app| {
                    let policy = &*counted;
                    let engine = crate::engine::Engine::for_office(policy, &app.cfg)?;
                    let at = crate::clock::AsOf::new(now, policy.tz);
                    engine.fill_workdays(conn)?;
                    let mut counts = std::collections::HashMap::new();
                    for (i, r) in policy.rules.iter().enumerate() {
                        counts.insert(r.name.clone(), engine.holds_count(conn, i, &at)?);
                    }
                    Ok(RuleFigures {
                        at: now,
                        hash: policy.hash.clone(),
                        counts: Arc::new(counts),
                        analysis: Arc::new(engine.analyze(Some(conn), &at)?),
                    })
                })
                .await?;
            *cached = Some(figures.clone());
            Ok((policy, figures))
        })
        .await
        .map_err(|e| {
            WebError::Internal(Error::invalid(format!("counting the rules failed: {e}")))
        })?
    }

    /// `db` for work that counts over the whole office: at most `HEAVY` at
    /// once, so that the other connections stay free for the rest.
    pub async fn db_heavy<T, F>(self: &Arc<Self>, f: F) -> std::result::Result<T, WebError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Db, &App) -> std::result::Result<T, WebError> + Send + 'static,
    {
        let lane = place(&self.heavy).await?;
        self.db(move |conn, app| {
            let _lane = lane;
            f(conn, app)
        })
        .await
    }

    /// Runs `f`, a page's reading, on a blocking thread with a connection
    /// of the pool.
    pub async fn db<T, F>(self: &Arc<Self>, f: F) -> std::result::Result<T, WebError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Db, &App) -> std::result::Result<T, WebError> + Send + 'static,
    {
        self.db_in(&self.permits, f).await
    }

    /// `db` for a short write a person waits on (one task, one request,
    /// one notice): in the writes' lane, not behind the pages.
    pub async fn db_write<T, F>(self: &Arc<Self>, f: F) -> std::result::Result<T, WebError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Db, &App) -> std::result::Result<T, WebError> + Send + 'static,
    {
        self.db_in(&self.writes, f).await
    }

    /// `db` for finding a request's session, in the sessions' lane.
    pub async fn db_session<T, F>(self: &Arc<Self>, f: F) -> std::result::Result<T, WebError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Db, &App) -> std::result::Result<T, WebError> + Send + 'static,
    {
        self.db_in(&self.sessions, f).await
    }

    /// Runs `f` on a blocking thread with a connection of the pool, once
    /// `lane` has a place for it.
    async fn db_in<T, F>(
        self: &Arc<Self>,
        lane: &Arc<tokio::sync::Semaphore>,
        f: F,
    ) -> std::result::Result<T, WebError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Db, &App) -> std::result::Result<T, WebError> + Send + 'static,
    {
        // The permits go with the work: a request given up (a client's
        // timeout) frees its place only when its work on the database ends.
        let permit = place(lane).await?;
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = app.pool.get()?;
            f(&mut conn, &app)
        })
        .await
        .map_err(|e| WebError::Internal(Error::invalid(format!("a request's work failed: {e}"))))?
    }

    /// The organizations' figures of today, counted again when older than
    /// `FIGURES_TTL`; requests arriving during a count wait for it.
    pub async fn org_figures(self: &Arc<Self>) -> std::result::Result<Arc<OrgFigures>, WebError> {
        let mut cached = self.figures.lock().await;
        let now = self.clock.now();
        let day = crate::clock::AsOf::new(now, self.tz).today;
        if let Some(f) = cached.as_ref()
            && f.day == day
            && now - f.at < FIGURES_TTL
        {
            return Ok(f.clone());
        }
        let fresh = self
            .db_heavy(move |conn, _| {
                let previous = day - chrono::Days::new(30);
                let mut orgs =
                    crate::store::progress::problems_by_organization(conn, day, previous)?;
                crate::ledger::report::lowest_rate_first(&mut orgs);
                Ok(Arc::new(OrgFigures { at: now, day, orgs }))
            })
            .await?;
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    /// Renders a page.
    pub fn render(
        &self,
        template: &str,
        ctx: minijinja::Value,
    ) -> std::result::Result<Html<String>, WebError> {
        let t = self
            .templates
            .get_template(template)
            .map_err(|e| WebError::Internal(Error::invalid(e.to_string())))?;
        t.render(ctx).map(Html).map_err(|e| {
            let mut why = format!("{template}: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                why.push_str(&format!(": {s}"));
                source = s.source();
            }
            WebError::Internal(Error::invalid(why))
        })
    }

    /// A cookie of the workbench: HttpOnly, SameSite=Lax, Secure over https.
    pub fn cookie(&self, name: &str, value: &str, max_age_s: i64) -> HeaderValue {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        let text =
            format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{secure}");
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// Sends what the outbox holds now, in the background (a sign-in link
    /// or a retried notice should not wait for the service's next round;
    /// claims keep the service from sending it too).
    pub fn deliver_now(self: &Arc<Self>) {
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            let result = app.pool.get().and_then(|conn| {
                crate::deliver::outbox::deliver_configured(&app.cfg, &conn, app.clock.as_ref())
            });
            if let Err(e) = result {
                tracing::warn!(
                    "delivering from the workbench: {e}; the notices stay in the outbox"
                );
            }
        });
    }

    /// The address to listen on: `[web] listen`, else the default.
    pub fn listen(&self) -> &str {
        &self.web.listen
    }

    /// How long a visitor has to send a request, and an idle connection
    /// stays open.
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.web.timeout_s)
    }

    /// The visitor's address (behind a trusted proxy, the one it names).
    pub fn client_ip(
        &self,
        peer: std::net::SocketAddr,
        headers: &axum::http::HeaderMap,
    ) -> std::net::IpAddr {
        guard::client_ip(peer.ip(), headers, &self.proxies)
    }

    /// Where people reach the workbench, for links in emails.
    pub fn base_url(&self) -> String {
        match self.web.base_url() {
            Some(u) => u.to_string(),
            None => format!("http://{}", self.listen()),
        }
    }
}

/// Why a request was not answered with its page.
#[derive(Debug)]
pub enum WebError {
    /// Not signed in (or the session ended): to the sign-in page.
    SignIn {
        next: String,
    },
    /// No such thing, or not the viewer's to see.
    NotFound,
    /// A form without its CSRF token, or a page beyond the viewer's role.
    Forbidden(&'static str),
    /// Too many failed sign-ins: try again after this many seconds.
    TooMany(i64),
    /// A control character where none belongs (logged where it was found).
    BadRequest,
    /// The input was wrong: shown to the user, who can correct it.
    Invalid(String),
    Internal(Error),
}

impl From<Error> for WebError {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(m) => WebError::Invalid(m),
            e => WebError::Internal(e),
        }
    }
}

impl From<crate::store::DatabaseError> for WebError {
    fn from(e: crate::store::DatabaseError) -> Self {
        WebError::Internal(e.into())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, text) = match self {
            WebError::SignIn { next } => {
                let to = format!(
                    "/sign-in?next={}",
                    percent_encoding::utf8_percent_encode(
                        &next,
                        percent_encoding::NON_ALPHANUMERIC
                    )
                );
                return guard::see_other(&to);
            }
            WebError::NotFound => (
                StatusCode::NOT_FOUND,
                "未找到此页面：它不存在，或不在您的权限之内。".to_string(),
            ),
            WebError::Forbidden(why) => (StatusCode::FORBIDDEN, why.to_string()),
            WebError::TooMany(s) => {
                let mut r = (
                    StatusCode::TOO_MANY_REQUESTS,
                    error_page(&format!("登录失败次数过多，请 {s} 秒后再试。")),
                )
                    .into_response();
                if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                return r;
            }
            WebError::BadRequest => return guard::bad_request(),
            WebError::Invalid(m) => (StatusCode::UNPROCESSABLE_ENTITY, m),
            WebError::Internal(e) => {
                error!("workbench: {e}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "服务器出错，已记录，请稍后再试或联系管理员。".to_string(),
                )
            }
        };
        (status, error_page(&text)).into_response()
    }
}

/// The longest error text shown: what a visitor sent is not echoed back
/// whole.
const SHOWN_CHARS: usize = 400;

/// A page for an error, without the templates (which may be what failed).
fn error_page(full: &str) -> Html<String> {
    let mut text: String = full.chars().take(SHOWN_CHARS).collect();
    if text.len() < full.len() {
        text.push('…');
    }
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    Html(format!(
        "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <link rel=\"stylesheet\" href=\"/assets/duban.css\"><title>督办</title>\
         <main class=\"narrow\"><p class=\"error\">{escaped}</p><p><a href=\"/\">← 督办</a></p></main></html>"
    ))
}

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        CSS,
    )
}

/// The workbench's routes.
pub fn router(app: Arc<App>) -> axum::Router {
    axum::Router::new()
        .route("/", get(pages::home))
        .route("/sign-in", get(auth::sign_in_page).post(auth::sign_in))
        .route("/sign-in/link", post(auth::request_link))
        .route(
            "/sign-in/link/{token}",
            get(auth::link_page).post(auth::use_link),
        )
        .route("/sign-out", post(auth::sign_out))
        .route("/lang/{lang}", get(i18n::switch))
        .route("/my", get(pages::my_tasks))
        .route("/tasks", get(pages::tasks))
        .route("/tasks.xlsx", get(pages::tasks_xlsx))
        .route("/tasks/{id}", get(pages::task))
        .route("/tasks/{id}/done", post(pages::task_done))
        .route("/approvals", get(pages::approvals))
        .route("/approvals/{id}", get(pages::approval))
        .route("/approvals/{id}/approve", post(pages::approve))
        .route("/approvals/{id}/reject", post(pages::reject))
        .route("/notices", get(pages::notices))
        .route("/notices/{id}/retry", post(pages::retry_notice))
        .route("/orgs", get(pages::organizations))
        .route("/orgs/{id}", get(pages::organization))
        .route("/inspections/{id}", get(pages::inspection))
        .route("/rules", get(pages::rules))
        .route("/status", get(pages::status))
        .route("/report", get(pages::report))
        .route("/report.xlsx", get(pages::report_xlsx))
        .route("/accounts", get(pages::accounts))
        .route("/assets/duban.css", get(css))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            guard::screen,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(guard::BODY_LIMIT))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(app)
}

/// Headers every answer carries: no framing, no sniffing, no outside
/// resources; nothing kept in a cache (pages show personal data and carry
/// form tokens) but what says otherwise (the style sheet).
async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; script-src 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

/// Binds `[web] listen` (an address in use is an error at start, not later).
pub async fn bind(app: &App) -> Result<tokio::net::TcpListener> {
    let listener = server::bind(app.listen()).await?;
    info!(
        "workbench listening on http://{} (people reach it at {})",
        app.listen(),
        app.base_url()
    );
    Ok(listener)
}

/// Serves the workbench until `shutdown` turns true.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<()> {
    let limits = server::Limits {
        timeout: app.timeout(),
        max_connections: app.web.max_connections,
    };
    server::serve(listener, router(app), limits, shutdown).await
}

/// The office's policy, checked (its diagnostics are `duban check`'s to
/// show, not the workbench's).
/// A place among those `places` counts, held until the permit is dropped.
async fn place(
    places: &Arc<tokio::sync::Semaphore>,
) -> std::result::Result<tokio::sync::OwnedSemaphorePermit, WebError> {
    places
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| WebError::Internal(Error::invalid(e.to_string())))
}

fn policy(cfg: &crate::config::Config) -> Result<crate::lang::ir::Policy> {
    crate::policy::load_valid(std::slice::from_ref(&cfg.rules), cfg, |_| {})
}
