//! Signing in and who is signed in (SPEC §11).
//!
//! - A password (Argon2 hash in `accounts`) or a one-time link sent by
//!   email through the outbox (15 minutes, used once; at most three a
//!   person in 15 minutes, the answer the same whether one was sent or
//!   not). Following the link shows whose it is and a button; only the
//!   button (a POST with the page's form token) signs in, so neither a
//!   mail scanner fetching the link nor another site can use it.
//! - A session is a random token in an HttpOnly, SameSite=Lax cookie; the
//!   database keeps its SHA-256 and the session's CSRF token, which every
//!   form carries. Removing the account ends its sessions.
//! - Failed sign-ins are counted per account from an address (five free in
//!   15 minutes) and per address over all accounts (twenty free); beyond,
//!   each further try from that address waits twice as long as the one
//!   before (up to 15 minutes), right password or not. A try is counted
//!   before its password is checked, in one write transaction, so a burst
//!   of tries checks no more passwords than allowed. The right password
//!   from another address is not held up by an attack on the account.

use super::i18n::Lang;
use super::{App, WebError};
use crate::clock::utc_text;
use crate::error::{Error, Result};
use crate::store::accounts::{self, Session};
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{ConnectInfo, Form, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use chrono::Duration;
use minijinja::context;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::Arc;

pub const SESSION_COOKIE: &str = "duban_session";
/// The double-submitted token of the sign-in forms (no session yet).
const FORM_COOKIE: &str = "duban_form";
const SESSION_HOURS: i64 = 12;
const LINK_MINUTES: i64 = 15;
/// The outbox's `rule` of sign-in link emails; the notices page hides them
/// (they carry a way in).
pub const SIGN_IN_RULE: &str = "(sign-in)";
/// Failed sign-ins on one account from one address allowed in the window
/// before each try must wait.
const FREE_FAILURES: i64 = 5;
/// Failed sign-ins from one address over all accounts, likewise.
const FREE_ADDRESS_FAILURES: i64 = 20;
/// Sign-in links sent to one person within `LINK_MINUTES`.
const LINKS_PER_WINDOW: i64 = 3;
const FAILURE_WINDOW_MIN: i64 = 15;
const LONGEST_WAIT_S: i64 = 15 * 60;

/// The value of cookie `name` in the request's headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A new random token (256 bits, URL-safe).
fn token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a token.
fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An Argon2id hash of a password, as a PHC string.
pub fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < 8 {
        return Err(Error::invalid(
            "the password is shorter than 8 characters; choose a longer one",
        ));
    }
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::invalid(format!("cannot hash the password: {e}")))
}

fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash no password matches, verified when the account does not exist
/// so that the answer takes as long either way.
static DECOY: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password("decoy password").unwrap_or_default());

/// The signed-in person of a request.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub session: Session,
    pub lang: Lang,
}

impl Viewer {
    /// Refuses a form whose CSRF token is not the session's.
    pub fn check_csrf(&self, given: &str) -> std::result::Result<(), WebError> {
        same_token(Some(&self.session.csrf), given)
    }

    /// Refuses a page of the office to a member.
    pub fn require_office(&self) -> std::result::Result<(), WebError> {
        if self.session.role.sees_office() {
            Ok(())
        } else {
            Err(WebError::NotFound)
        }
    }

    /// What every page's template reads of the viewer.
    pub fn context(&self) -> minijinja::Value {
        context! {
            lang => self.lang.code(),
            csrf => self.session.csrf.clone(),
            viewer => context! {
                id => self.session.person_id.clone(),
                name => self.session.name.clone(),
                role => self.session.role.code(),
                office => self.session.role.sees_office(),
                admin => self.session.role == accounts::Role::Admin,
            },
        }
    }
}

/// Refuses a form whose token is missing or not the one expected (compared
/// in constant time).
fn same_token(expected: Option<&str>, given: &str) -> std::result::Result<(), WebError> {
    let (a, b) = (given.as_bytes(), expected.unwrap_or("").as_bytes());
    let equal = a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
    if !given.is_empty() && equal {
        Ok(())
    } else {
        Err(WebError::Forbidden("表单已失效，请刷新页面后重试。"))
    }
}

impl FromRequestParts<Arc<App>> for Viewer {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> std::result::Result<Self, Self::Rejection> {
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let lang = super::i18n::lang_of_parts(parts);
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(WebError::SignIn { next });
        };
        let hash = token_hash(token);
        let session = app
            .db_session(move |conn, app| {
                Ok(accounts::session(conn, &hash, &utc_text(app.clock.now()))?)
            })
            .await?;
        match session {
            Some(session) => Ok(Viewer { session, lang }),
            None => Err(WebError::SignIn { next }),
        }
    }
}

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// The sign-in page, with a fresh form token.
pub async fn sign_in_page(
    State(app): State<Arc<App>>,
    lang: Lang,
    Query(q): Query<Next>,
) -> std::result::Result<Response, WebError> {
    let next = super::guard::return_address(q.next.as_deref())?;
    sign_in_form(&app, lang, &next, "", None)
}

/// The sign-in page: `who` filled in again after a failed try, `error`
/// shown in the error box.
fn sign_in_form(
    app: &App,
    lang: Lang,
    next: &str,
    who: &str,
    error: Option<&str>,
) -> std::result::Result<Response, WebError> {
    form_page(
        app,
        "sign_in.html",
        context! { lang => lang.code(), next => next, who => who, error => error },
    )
}

/// A page of the signed-out (sign-in, a link's button) with a fresh form
/// token, in its `csrf` field and its cookie.
fn form_page(
    app: &App,
    template: &str,
    ctx: minijinja::Value,
) -> std::result::Result<Response, WebError> {
    let form = token();
    let page = app.render(template, context! { csrf => form.clone(), ..ctx })?;
    Ok((
        [(header::SET_COOKIE, app.cookie(FORM_COOKIE, &form, 3600))],
        page,
    )
        .into_response())
}

/// Refuses a sign-in form whose token is not the one its page was given.
fn check_form_token(headers: &HeaderMap, given: &str) -> std::result::Result<(), WebError> {
    same_token(cookie(headers, FORM_COOKIE), given)
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    who: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// What a sign-in attempt came to.
enum Attempt {
    In(String),
    Wrong,
    Wait(i64),
}

/// How long a try under a key with `failed` failures in the window, the
/// latest at `last`, must still wait (0: it may go ahead).
fn wait_s(failed: i64, free: i64, last: Option<&str>, now: chrono::DateTime<chrono::Utc>) -> i64 {
    if failed < free {
        return 0;
    }
    let Some(last) = last.and_then(crate::clock::parse_utc) else {
        return 0;
    };
    let wait = (1i64 << (failed - free).min(10)).min(LONGEST_WAIT_S);
    (last + Duration::seconds(wait) - now).num_seconds().max(0)
}

/// `POST /sign-in`: a password sign-in.
pub async fn sign_in(
    State(app): State<Arc<App>>,
    lang: Lang,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<SignInForm>,
) -> std::result::Result<Response, WebError> {
    check_form_token(&headers, &f.csrf)?;
    let next = super::guard::return_address(f.next.as_deref())?;
    let address = format!("address:{}", app.client_ip(peer, &headers));
    // Shown again in the form: not echoed back whole when long.
    let who: String = f.who.chars().take(200).collect();
    let attempt = app
        .db(move |conn, app| {
            let now = app.clock.now();
            let account = accounts::find(conn, &f.who, &utc_text(now))?;
            let account_key = format!(
                "account:{}",
                account
                    .as_ref()
                    .map(|a| a.person_id.clone())
                    .unwrap_or_else(|| f.who.trim().to_lowercase())
            );
            let pair_key = format!("{account_key} {address}");
            let since = utc_text(now - Duration::minutes(FAILURE_WINDOW_MIN));
            // Counted first, as failed: a burst of tries cannot all pass
            // the check before any is recorded.
            let counted = accounts::count_try(
                conn,
                &[
                    (pair_key.as_str(), FREE_FAILURES),
                    (address.as_str(), FREE_ADDRESS_FAILURES),
                ],
                &since,
                &utc_text(now),
                |failed, free, last| wait_s(failed, free, last, now),
            )?;
            let tries = match counted {
                Ok(rows) => rows,
                Err(wait) => return Ok(Attempt::Wait(wait)),
            };
            let hash = account.as_ref().and_then(|a| a.password_hash.clone());
            let ok = verify_password(hash.as_deref().unwrap_or(DECOY.as_str()), &f.password)
                && hash.is_some();
            match account.filter(|_| ok) {
                Some(a) => {
                    accounts::clear_failures(conn, &pair_key, &tries, &since)?;
                    Ok(Attempt::In(a.person_id))
                }
                None => Ok(Attempt::Wrong),
            }
        })
        .await?;
    match attempt {
        Attempt::In(person) => start_session(&app, person, &next).await,
        Attempt::Wrong => {
            let mut r = sign_in_form(
                &app,
                lang,
                &next,
                &who,
                Some(super::i18n::word(lang, "wrong_password")),
            )?;
            *r.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
            Ok(r)
        }
        Attempt::Wait(s) => Err(WebError::TooMany(s)),
    }
}

/// Starts a session for `person` and sends them on to `next`.
async fn start_session(
    app: &Arc<App>,
    person: String,
    next: &str,
) -> std::result::Result<Response, WebError> {
    let session = token();
    let hash = token_hash(&session);
    app.db(move |conn, app| {
        let now = app.clock.now();
        accounts::start_session(
            conn,
            &hash,
            &person,
            &token(),
            &utc_text(now),
            &utc_text(now + Duration::hours(SESSION_HOURS)),
        )?;
        Ok(())
    })
    .await?;
    let mut answer = super::guard::see_other(next);
    answer.headers_mut().insert(
        header::SET_COOKIE,
        app.cookie(SESSION_COOKIE, &session, SESSION_HOURS * 3600),
    );
    Ok(answer)
}

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    who: String,
}

/// `POST /sign-in/link`: emails a one-time link to the account's person.
/// The answer is the same whether the account exists or not.
pub async fn request_link(
    State(app): State<Arc<App>>,
    lang: Lang,
    headers: HeaderMap,
    Form(f): Form<LinkForm>,
) -> std::result::Result<Html<String>, WebError> {
    check_form_token(&headers, &f.csrf)?;
    let queued = app
        .db(move |conn, app| {
            let now = app.clock.now();
            let Some(a) = accounts::find(conn, &f.who, &utc_text(now))? else {
                return Ok(false);
            };
            let Some(email) = a.email.clone() else {
                return Ok(false);
            };
            let link = token();
            let hash = token_hash(&link);
            let url = format!("{}/sign-in/link/{link}", app.base_url());
            // A link lives LINK_MINUTES: the person's live ones are those
            // sent within the window. Counted and added in one write
            // transaction.
            let tx = conn.transaction_with_behavior(crate::store::Behavior::Immediate)?;
            if !accounts::add_link(
                &tx,
                &hash,
                &a.person_id,
                &utc_text(now),
                &utc_text(now + Duration::minutes(LINK_MINUTES)),
                LINKS_PER_WINDOW,
            )? {
                tracing::warn!(
                    "workbench: a sign-in link for {} was asked for again within {LINK_MINUTES} minutes; none sent",
                    a.person_id
                );
                return Ok(false);
            }
            let mail = crate::deliver::notice::sign_in_link(&a.name, &url, LINK_MINUTES, lang);
            let to = serde_json::json!([{"id": a.person_id, "name": a.name, "email": email}]);
            crate::store::outbox::queue(
                &tx,
                &crate::store::outbox::NewNotice {
                    message_id: &format!("<{}.sign-in@{}>", &hash[..24], app.cfg.mail_domain()),
                    rule: SIGN_IN_RULE,
                    entity: "person",
                    subject_id: &a.person_id,
                    task_id: None,
                    recipients: &to.to_string(),
                    subject: &mail.subject,
                    body: &mail.body,
                    ics: None,
                    created_at: &utc_text(now),
                    channel: None,
                    facts: None,
                },
            )?;
            tx.commit()?;
            Ok(true)
        })
        .await?;
    if queued {
        app.deliver_now();
    }
    app.render(
        "message.html",
        context! { lang => lang.code(), message => super::i18n::word(lang, "link_sent") },
    )
}

/// `GET /sign-in/link/TOKEN`: whose link it is and a button that uses it;
/// the link itself stays unused.
pub async fn link_page(
    State(app): State<Arc<App>>,
    lang: Lang,
    Path(link): Path<String>,
) -> std::result::Result<Response, WebError> {
    let hash = token_hash(&link);
    let name = app
        .db(move |conn, app| {
            Ok(accounts::link_person(
                conn,
                &hash,
                &utc_text(app.clock.now()),
            )?)
        })
        .await?;
    match name {
        Some(name) => form_page(
            &app,
            "link.html",
            context! { lang => lang.code(), token => link, name => name },
        ),
        None => link_gone(&app, lang),
    }
}

/// The answer for a link not valid, used or expired.
fn link_gone(app: &App, lang: Lang) -> std::result::Result<Response, WebError> {
    let mut r = app
        .render(
            "message.html",
            context! { lang => lang.code(), error => super::i18n::word(lang, "link_bad") },
        )?
        .into_response();
    *r.status_mut() = axum::http::StatusCode::GONE;
    Ok(r)
}

/// `POST /sign-in/link/TOKEN`: the button of the link's page uses the
/// link, once.
pub async fn use_link(
    State(app): State<Arc<App>>,
    lang: Lang,
    Path(link): Path<String>,
    headers: HeaderMap,
    Form(f): Form<CsrfOnly>,
) -> std::result::Result<Response, WebError> {
    check_form_token(&headers, &f.csrf)?;
    let hash = token_hash(&link);
    let person = app
        .db(move |conn, app| Ok(accounts::use_link(conn, &hash, &utc_text(app.clock.now()))?))
        .await?;
    match person {
        Some(p) => start_session(&app, p, "/").await,
        None => link_gone(&app, lang),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

/// `POST /sign-out`: ends the session.
pub async fn sign_out(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(f): Form<CsrfOnly>,
) -> std::result::Result<Response, WebError> {
    viewer.check_csrf(&f.csrf)?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        let hash = token_hash(token);
        app.db_write(move |conn, _| Ok(accounts::end_session(conn, &hash)?))
            .await?;
    }
    let mut answer = super::guard::see_other("/sign-in");
    answer
        .headers_mut()
        .insert(header::SET_COOKIE, app.cookie(SESSION_COOKIE, "", 0));
    Ok(answer)
}
