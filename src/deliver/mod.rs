//! Getting notices to people: what they say (`notice`), the email they
//! become (`message`), where they go (`transport`), and the outbox that
//! delivers them exactly once (`outbox`).

pub mod chat;
pub mod message;
pub mod notice;
pub mod outbox;
pub mod transport;
