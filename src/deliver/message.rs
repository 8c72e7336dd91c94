//! An outbox row as an email (lettre): UTF-8 throughout, Chinese subjects and
//! names encoded per RFC 2047 by lettre, the notice's stable Message-ID, and
//! the task's `.ics` as an attachment. Every header value passes through
//! [`one_line`] and lettre's own encoding: ledger text cannot add a header.

use super::notice::one_line;
use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use serde::Deserialize;

/// A notice as the outbox holds it.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub id: i64,
    pub message_id: String,
    pub recipients: Vec<RecipientRow>,
    pub subject: String,
    pub body: String,
    pub ics: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RecipientRow {
    pub id: Option<String>,
    pub name: Option<String>,
    pub email: String,
}

/// Why a notice cannot become an email at all (no retry helps).
#[derive(Debug)]
pub struct Unsendable(pub String);

pub fn build(n: &Outgoing, from: &str, date: std::time::SystemTime) -> Result<Message, Unsendable> {
    let from: Mailbox = from.parse().map_err(|e| {
        Unsendable(format!(
            "the sender `{from}` (mail.from) is not an address: {e}"
        ))
    })?;
    let mut b = Message::builder()
        .from(from)
        .subject(one_line(&n.subject))
        .message_id(Some(n.message_id.clone()))
        .date(date);
    for r in &n.recipients {
        let address = r
            .email
            .trim()
            .parse()
            .map_err(|e| Unsendable(format!("`{}` is not an email address: {e}", r.email)))?;
        let name = r.name.as_deref().map(one_line).filter(|s| !s.is_empty());
        b = b.to(Mailbox::new(name, address));
    }
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(n.body.clone());
    let built = match &n.ics {
        Some(ics) => {
            let calendar = ContentType::parse("text/calendar; charset=utf-8; method=PUBLISH")
                .map_err(|e| Unsendable(e.to_string()))?;
            b.multipart(
                MultiPart::mixed()
                    .singlepart(text)
                    .singlepart(Attachment::new("task.ics".into()).body(ics.clone(), calendar)),
            )
        }
        None => b.singlepart(text),
    };
    built.map_err(|e| Unsendable(format!("cannot build the message: {e}")))
}
