//! The one error type of duban's commands, and the exit code each kind
//! maps to (SPEC §5): 1 invalid input, 2 usage, 3 operational failure.

use std::fmt;

#[derive(Debug)]
pub enum Error {
    /// Bad input from the user (policy, data, config); the message says
    /// what and where. Exit 1.
    Invalid(String),
    /// A command used in a way it cannot be. Exit 2.
    Usage(String),
    /// The database, the file system or the mail server failed. Exit 3.
    Operational(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Invalid(_) => 1,
            Error::Usage(_) => 2,
            Error::Operational(_) => 3,
        }
    }

    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }

    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    pub fn operational(msg: impl Into<String>) -> Self {
        Error::Operational(msg.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(m) | Error::Usage(m) | Error::Operational(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Operational(format!("database: {e}"))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Operational(e.to_string())
    }
}

/// Adds what was being done to an I/O error.
pub trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::Operational(format!("{}: {e}", what())))
    }
}
