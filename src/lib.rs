pub mod cli;
pub mod config;
pub mod error;
pub mod lang;
pub mod policy;
pub mod schedule;
pub mod schema;
pub mod text;
