//! What the workbench refuses before a page sees a request, and the
//! checks every page shares for what a visitor sends:
//!
//! - a control character anywhere in the path, the query or a header is a
//!   400, logged (never a 500, never half-done work);
//! - a body larger than [`BODY_LIMIT`] is a 413, one not sent within the
//!   timeout a 408;
//! - a return address (`back=`, `next=`) is followed only when it is a
//!   path of this workbench, else the visitor goes to `/`;
//! - `X-Forwarded-For` counts only when the connection comes from a proxy
//!   the office trusts (`[web] trusted_proxies`).

use super::{App, WebError};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use std::net::IpAddr;
use std::sync::Arc;

/// The largest body a form of the workbench sends (a task's outcome, an
/// approval's note): far below this.
pub const BODY_LIMIT: usize = 64 * 1024;

/// At most this much of what a visitor sent is written to the log.
const LOGGED_CHARS: usize = 120;

/// A control character: C0, DEL or C1.
fn is_control(c: char) -> bool {
    c.is_control()
}

/// Whether `text`, read raw and percent-decoded, holds a control character.
fn has_control(text: &str) -> bool {
    text.chars().any(is_control)
        || percent_decode_str(text)
            .decode_utf8_lossy()
            .chars()
            .any(is_control)
}

/// `text` cut short and with its control characters escaped, for the log.
pub fn loggable(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(LOGGED_CHARS)
        .flat_map(char::escape_default)
        .collect();
    if text.chars().count() > LOGGED_CHARS {
        out.push('…');
    }
    out
}

/// Refuses a request with a control character in its path, query or a
/// header (a tab inside a header value is allowed, as HTTP allows it), and
/// reads its body within the limit and the timeout.
pub async fn screen(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("");
    let bad_header = request.headers().iter().find(|(_, v)| {
        v.as_bytes()
            .iter()
            .any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
    });
    if has_control(target) || bad_header.is_some() {
        let place = match bad_header {
            Some((name, _)) => format!("header {name}"),
            None => "address".to_string(),
        };
        tracing::warn!(
            "workbench: refused a request with a control character in its {place}: {} {}",
            request.method(),
            loggable(target)
        );
        return bad_request();
    }
    let (parts, body) = request.into_parts();
    let timeout = app.timeout();
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, BODY_LIMIT)).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(_)) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            super::error_page(&format!(
                "413 · 提交的内容过长 · the form is larger than {} KB",
                BODY_LIMIT / 1024
            )),
        )
            .into_response(),
        Err(_) => {
            tracing::warn!(
                "workbench: a request's body did not arrive within {} s: {} {}",
                timeout.as_secs(),
                parts.method,
                loggable(parts.uri.path())
            );
            (
                StatusCode::REQUEST_TIMEOUT,
                super::error_page("408 · 请求超时 · the request took too long to arrive"),
            )
                .into_response()
        }
    }
}

/// The answer to a request the workbench will not read.
pub fn bad_request() -> Response {
    (
        StatusCode::BAD_REQUEST,
        super::error_page("400 · 请求中含有控制字符 · the request holds a control character"),
    )
        .into_response()
}

/// What of a path is escaped in a `Location` header: controls, space and
/// whatever is not ASCII (a header holds ASCII only).
const LOCATION: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'<').add(b'>');

/// Where a return address (`back=`, `next=`) leads: itself when it is a
/// path of this workbench — one `/`, then no `/` or `\`, nothing that a
/// browser reads as another host, also once percent-decoded — else `/`. A
/// control character in it is a 400 (logged).
pub fn return_address(raw: Option<&str>) -> std::result::Result<String, WebError> {
    let Some(raw) = raw else {
        return Ok("/".into());
    };
    if has_control(raw) {
        tracing::warn!(
            "workbench: refused a return address with a control character: {}",
            loggable(raw)
        );
        return Err(WebError::BadRequest);
    }
    let decoded = percent_decode_str(raw).decode_utf8_lossy();
    let local = |p: &str| {
        p.starts_with('/')
            && !p.starts_with("//")
            && !p.contains('\\')
            && !p.chars().any(char::is_whitespace)
    };
    if local(raw) && local(&decoded) {
        Ok(utf8_percent_encode(raw, LOCATION).to_string())
    } else {
        Ok("/".into())
    }
}

/// A 303 to `to`, a path [`return_address`] accepted (or one of ours).
pub fn see_other(to: &str) -> Response {
    let location = HeaderValue::from_str(to).unwrap_or_else(|_| HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// The visitor's address: the connection's, or — when the connection comes
/// from a trusted proxy — the last address in `X-Forwarded-For` that is not
/// a trusted proxy's (what came before it, the visitor may have written).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip.to_canonical();
                if !is_trusted(&client) {
                    return client;
                }
            }
            // A proxy wrote something else: the last address read stands.
            Err(_) => return client,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_addresses_stay_on_the_workbench() {
        for (raw, to) in [
            ("/tasks?page=2", "/tasks?page=2"),
            ("/", "/"),
            ("//evil.example", "/"),
            ("/\\evil.example", "/"),
            ("/%5Cevil.example", "/"),
            ("/%2F/evil.example", "/"),
            ("https://evil.example", "/"),
            ("/ /evil.example", "/"),
            ("/任务", "/%E4%BB%BB%E5%8A%A1"),
        ] {
            assert_eq!(return_address(Some(raw)).ok().as_deref(), Some(to), "{raw}");
        }
        for raw in ["/\t/evil.example", "/%09/evil.example", "/\n", "/%0A"] {
            assert!(return_address(Some(raw)).is_err(), "{raw}");
        }
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap_or_else(|e| panic!("{e}"))];
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.1.1.1, 203.0.113.7, 10.0.0.2"),
        );
        let ip = |s: &str| s.parse::<IpAddr>().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted), ip("203.0.113.7"));
        assert_eq!(client_ip(ip("192.0.2.9"), &h, &trusted), ip("192.0.2.9"));
        assert_eq!(
            client_ip(ip("10.0.0.1"), &HeaderMap::new(), &trusted),
            ip("10.0.0.1")
        );
    }
}
