//! Getting notices to people: what they say (`notice`), and later their
//! delivery from the outbox.

pub mod notice;
