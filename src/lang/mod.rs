//! The language core: parse, check, format. Pure functions from text (and
//! the schema) to values; no I/O, no database, no clock.

pub mod analyze;
pub mod ast;
pub mod check;
pub mod diagnostics;
pub mod format;
pub mod ir;
pub mod limits;
pub mod parse;
pub mod template;
