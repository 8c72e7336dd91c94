//! duban 督办 — an accountability rule engine for inspection-rectification
//! offices: policy written as rules, evaluated against the case database,
//! turned into tasks and notices, never twice and never lost.
//!
//! ```text
//!  .rules text ──lang::parse (pest)──► lang::ast (spanned) ──lang::check (schema)──► lang::ir (typed)
//!                                                                                     │
//!                      ┌──────────────────────────────────────────────────────────────┤
//!                      ▼                                                              ▼
//!     compile: IR → one SQL query per rule                          interpret: IR → values, one subject
//!     (run, dry-run, diff, simulate)                                (explain, differential tests)
//!                      │
//!                      ▼
//!   engine: matches ─ episodes ─► plans ─► apply: tasks, outbox, audit (one transaction per rule)
//!                                                      │
//!                                        deliver: notice text, email, file or SMTP, retried, once
//!
//!   store: SQLite (migrations from `schema`, import of ledgers, task ledger)
//!   daemon: cron scheduling, catch-up, hot reload, delivery worker, clean shutdown
//!   web: the workbench (axum): sign-in, pages; its forms call the same store operations
//!   cli: one file per command; reads the clock and the environment, maps errors to exit codes
//! ```
//!
//! [`schema`] is the one description of the case data; [`lang`] is pure (no
//! I/O); the clock is injected ([`clock::Clock`]); mail goes through
//! [`deliver::transport::Transport`].

pub mod calendar;
pub mod cli;
pub mod clock;
pub mod compile;
pub mod config;
pub mod daemon;
pub mod deliver;
pub mod demo;
pub mod engine;
pub mod error;
pub mod example;
pub mod interpret;
pub mod lang;
pub mod ledger;
pub mod owner;
pub mod policy;
pub mod policytest;
pub mod present;
pub mod private;
pub mod schedule;
pub mod schema;
pub mod store;
pub mod text;
pub mod value;
pub mod web;
