//! Chat channels (SPEC §12): a queued channel message as the requests a
//! WeCom group robot, a DingTalk custom robot or a plain webhook takes,
//! and what their answers mean.
//!
//! - WeCom: `markdown` (4,096 bytes), or `text` (2,048 bytes) with
//!   `mentioned_mobile_list` when the message mentions someone — WeCom
//!   mentions by mobile number only in text messages.
//! - DingTalk: `markdown` with `at.atMobiles` and each `@mobile` in the
//!   text (else the mention does not fire); requests signed with
//!   `timestamp` (ms) and `sign` = Base64(HMAC-SHA256(secret,
//!   `timestamp\nsecret`)), URL-encoded.
//! - webhook: one JSON POST of the notice: rule, subject, mentions, subject
//!   line, body, facts.
//!
//! A message longer than the channel allows goes in parts, split at line
//! boundaries (a longer line at a character boundary), each headed
//! `【i/n】`; the parts joined give back the text. Both robots answer HTTP
//! 200 to errors: only `errcode` 0 is success.

use crate::config::{Channel, ChannelKind};
use crate::store::outbox::Stored;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use std::collections::HashMap;
use std::time::Duration;

/// Someone a message mentions, as the outbox keeps them.
#[derive(Debug, Clone, Deserialize)]
pub struct MentionRow {
    pub id: Option<String>,
    pub name: Option<String>,
    pub mobile: String,
}

const WECOM_MARKDOWN_BYTES: usize = 4096;
const WECOM_TEXT_BYTES: usize = 2048;
const DINGTALK_BYTES: usize = 20_000;
/// Room for the `【12/34】` heading of a part.
const PART_HEADING: usize = 24;

/// The JSON bodies one message is posted as, in order.
pub fn requests(channel: &Channel, n: &Stored) -> Vec<String> {
    let mentions: Vec<MentionRow> = serde_json::from_str(&n.recipients).unwrap_or_default();
    let mobiles: Vec<&str> = mentions.iter().map(|m| m.mobile.as_str()).collect();
    match channel.kind {
        ChannelKind::Webhook => {
            let facts: serde_json::Value = n
                .facts
                .as_deref()
                .and_then(|f| serde_json::from_str(f).ok())
                .unwrap_or_else(|| json!({}));
            vec![
                json!({
                    "message_id": n.message_id,
                    "channel": channel.name,
                    "rule": n.rule,
                    "entity": n.entity,
                    "subject_id": n.subject_id,
                    "mentioning": mentions.iter().map(|m| json!({"id": m.id, "name": m.name, "mobile": m.mobile})).collect::<Vec<_>>(),
                    "subject": n.subject,
                    "body": n.body,
                    "facts": facts,
                })
                .to_string(),
            ]
        }
        ChannelKind::Wecom if mobiles.is_empty() => {
            let text = format!("**{}**\n\n{}", n.subject, markdown_breaks(&n.body));
            parts(&text, channel.max_bytes.unwrap_or(WECOM_MARKDOWN_BYTES))
                .into_iter()
                .map(|p| json!({"msgtype": "markdown", "markdown": {"content": p}}).to_string())
                .collect()
        }
        ChannelKind::Wecom => {
            let text = format!("{}\n\n{}", n.subject, n.body);
            let limit = channel.max_bytes.unwrap_or(WECOM_TEXT_BYTES);
            parts(&text, limit)
                .into_iter()
                .enumerate()
                .map(|(i, p)| {
                    // The mention fires once, with the first part.
                    let at: &[&str] = if i == 0 { &mobiles } else { &[] };
                    json!({"msgtype": "text", "text": {"content": p, "mentioned_mobile_list": at}})
                        .to_string()
                })
                .collect()
        }
        ChannelKind::Dingtalk => {
            let at_line: String = mobiles.iter().map(|m| format!("@{m} ")).collect();
            let text = format!("#### {}\n\n{}", n.subject, markdown_breaks(&n.body));
            let limit = channel.max_bytes.unwrap_or(DINGTALK_BYTES);
            parts(&text, limit.saturating_sub(at_line.len()))
                .into_iter()
                .enumerate()
                .map(|(i, p)| {
                    let (at, text) = if i == 0 && !mobiles.is_empty() {
                        (mobiles.clone(), format!("{p}\n\n{}", at_line.trim_end()))
                    } else {
                        (Vec::new(), p)
                    };
                    json!({
                        "msgtype": "markdown",
                        "markdown": {"title": n.subject, "text": text},
                        "at": {"atMobiles": at, "isAtAll": false},
                    })
                    .to_string()
                })
                .collect()
        }
    }
}

/// Markdown joins single lines; two spaces before a line break keep it.
fn markdown_breaks(body: &str) -> String {
    body.lines().collect::<Vec<_>>().join("  \n")
}

/// `text` as parts of at most `max` bytes each, headings included: one
/// part as it is, else `【i/n】` and a piece each.
pub fn parts(text: &str, max: usize) -> Vec<String> {
    if text.len() <= max {
        return vec![text.to_string()];
    }
    let pieces = split(text, max.saturating_sub(PART_HEADING).max(8));
    let n = pieces.len();
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, p)| format!("【{}/{n}】\n{p}", i + 1))
        .collect()
}

/// Consecutive pieces of `text` of at most `max` bytes that join to it:
/// cut after a line break where one is in reach, else at a character
/// boundary.
pub fn split(text: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if let Some(nl) = rest[..cut].rfind('\n') {
            cut = nl + 1;
        }
        if cut == 0 {
            // A character wider than max: take it whole.
            cut = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        out.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// A DingTalk robot's address with `timestamp` and `sign` added.
pub fn signed_url(url: &str, secret: &str, timestamp_ms: i64) -> String {
    let to_sign = format!("{timestamp_ms}\n{secret}");
    let sign = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(to_sign.as_bytes());
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    };
    let sign = percent_encoding::utf8_percent_encode(&sign, percent_encoding::NON_ALPHANUMERIC);
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}timestamp={timestamp_ms}&sign={sign}")
}

/// What a robot's answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Accepted,
    /// Too many messages: wait and send again (not a failure).
    TooFast(String),
    Refused(String),
}

/// DingTalk's and WeCom's "too fast" error codes.
const RATE_LIMITED: &[i64] = &[130_101, 45_009];

pub fn answer(kind: ChannelKind, status: u16, body: &str) -> Answer {
    let short: String = body.chars().take(300).collect();
    if status == 429 {
        return Answer::TooFast(format!("HTTP 429: {short}"));
    }
    if !(200..300).contains(&status) {
        return Answer::Refused(format!("HTTP {status}: {short}"));
    }
    if kind == ChannelKind::Webhook {
        return Answer::Accepted;
    }
    let code = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("errcode").and_then(serde_json::Value::as_i64));
    match code {
        Some(0) => Answer::Accepted,
        Some(c) if RATE_LIMITED.contains(&c) => Answer::TooFast(format!("errcode {c}: {short}")),
        Some(c) => Answer::Refused(format!("errcode {c}: {short}")),
        None => Answer::Refused(format!("not a robot's answer: {short}")),
    }
}

/// HTTP clients, one per channel (each with its timeout).
#[derive(Default)]
pub struct Poster {
    agents: HashMap<String, ureq::Agent>,
}

impl Poster {
    /// POSTs `body` as JSON; the status and body of the answer, or why
    /// there was none.
    pub fn post(
        &mut self,
        channel: &Channel,
        url: &str,
        body: &str,
        message_id: &str,
    ) -> Result<(u16, String), String> {
        let agent = self.agents.entry(channel.name.clone()).or_insert_with(|| {
            ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(channel.timeout_s.max(1))))
                .http_status_as_error(false)
                .build()
                .into()
        });
        let mut answer = agent
            .post(url)
            .header("Content-Type", "application/json; charset=utf-8")
            .header("X-Duban-Message-Id", message_id)
            .send(body.as_bytes())
            .map_err(|e| format!("posting to channel {}: {e}", channel.name))?;
        let status = answer.status().as_u16();
        let text = answer.body_mut().read_to_string().unwrap_or_default();
        Ok((status, text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_join_to_the_text_and_never_cut_a_character() {
        let text = format!("{}\n{}\n短", "甲".repeat(50), "乙".repeat(300));
        for max in [8, 30, 100, 151, 1000] {
            let pieces = split(&text, max);
            assert_eq!(pieces.concat(), text, "max {max}");
            assert!(pieces.iter().all(|p| p.len() <= max), "max {max}");
        }
        // A break in reach is where the cut goes.
        assert_eq!(split("ab\ncd\nef", 7), vec!["ab\ncd\n", "ef"]);
    }

    #[test]
    fn parts_fit_with_their_heading() {
        let text = "问题描述\n".repeat(2000);
        let parts = parts(&text, 4096);
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| p.len() <= 4096));
        assert!(parts[0].starts_with(&format!("【1/{}】\n", parts.len())));
    }

    #[test]
    fn dingtalk_signature_is_the_documented_one() {
        // HMAC-SHA256 over "1700000000000\nSECtest" with key "SECtest",
        // Base64 then URL-encoded (computed independently with Python's
        // hmac module).
        let url = signed_url(
            "https://oapi.example/robot/send?access_token=t",
            "SECtest",
            1_700_000_000_000,
        );
        assert_eq!(
            url,
            "https://oapi.example/robot/send?access_token=t&timestamp=1700000000000&sign=aZLLrriXgn05YbwaGR7knYsLeJADjr9NwLaNNKpxh4g%3D"
        );
    }

    #[test]
    fn only_errcode_zero_is_success() {
        use ChannelKind::*;
        assert_eq!(
            answer(Dingtalk, 200, r#"{"errcode":0,"errmsg":"ok"}"#),
            Answer::Accepted
        );
        assert!(
            matches!(answer(Dingtalk, 200, r#"{"errcode":310000,"errmsg":"sign not match"}"#), Answer::Refused(m) if m.contains("310000"))
        );
        assert!(matches!(
            answer(Dingtalk, 200, r#"{"errcode":130101}"#),
            Answer::TooFast(_)
        ));
        assert!(matches!(
            answer(Wecom, 200, r#"{"errcode":45009}"#),
            Answer::TooFast(_)
        ));
        assert!(matches!(answer(Wecom, 429, ""), Answer::TooFast(_)));
        assert!(matches!(
            answer(Wecom, 502, "bad gateway"),
            Answer::Refused(_)
        ));
        assert_eq!(answer(Webhook, 204, ""), Answer::Accepted);
    }
}
