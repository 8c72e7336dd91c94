//! Values into words, per language (SPEC §15): the one place that decides
//! how a share, a day count, a date, a time, a task kind, a person, a
//! rule, a schedule, an interface or a fact reads for an official.
//! Notices, chat messages, the `.ics`, every workbench page, approval
//! requests and the report call it; none of them formats a value itself.
//!
//! Pure: no I/O, no clock. It never prints a rule-language fragment, a
//! command line or an internal code in Chinese text.

pub mod facts;
pub mod names;
pub mod schedule;
pub mod sheet;
pub mod values;

pub use facts::{FactShown, condition_words, expr_label};
pub use names::{interface, status};
pub use schedule::schedule_words;
pub use values::{date_long, date_short, days, percent, time};

/// The language words are written in: Chinese first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// `zh` or `en` (anything else: Chinese).
    pub fn of_code(code: &str) -> Lang {
        if code == "en" { Lang::En } else { Lang::Zh }
    }

    /// The Chinese or the English of a pair.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}
