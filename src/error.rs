//! The one error type of duban's commands, and the exit code each kind
//! maps to (SPEC §5): 1 invalid input, 2 usage, 3 operational failure.
//!
//! Input and usage errors are messages written for the user (what is
//! wrong, where, what to do). Operational failures keep the error that
//! caused them as their `source`, with what duban was doing.

/// A failure of something duban depends on, kept as its source.
pub type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input from the user (policy, data, config); the message says
    /// what and where. Exit 1.
    #[error("{0}")]
    Invalid(String),
    /// A command used in a way it cannot be. Exit 2.
    #[error("{0}")]
    Usage(String),
    /// The database failed. Exit 3.
    #[error("database: {0}")]
    Database(#[from] crate::store::DatabaseError),
    /// The database could not be brought to the current schema. Exit 3.
    #[error("migrating {what}: {source}")]
    Migration {
        what: String,
        #[source]
        source: Source,
    },
    /// The file system failed. Exit 3.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// Another part failed (the mail client, the runtime, an encoder):
    /// what duban was doing, and the cause. Exit 3.
    #[error("{what}: {source}")]
    Failed {
        what: String,
        #[source]
        source: Source,
    },
    /// Notices that ended `failed` after their retries. Exit 3.
    #[error("{0}")]
    Delivery(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Invalid(_) => 1,
            Error::Usage(_) => 2,
            Error::Database(_)
            | Error::Migration { .. }
            | Error::Io { .. }
            | Error::Failed { .. }
            | Error::Delivery(_) => 3,
        }
    }

    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }

    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    /// An operational failure: `what` was being done when `source` failed.
    pub fn failed(what: impl Into<String>, source: impl Into<Source>) -> Self {
        Error::Failed {
            what: what.into(),
            source: source.into(),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(source: std::io::Error) -> Self {
        Error::Io {
            what: "file system".into(),
            source,
        }
    }
}

/// Adds what was being done to a failure, keeping it as the source.
pub trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, std::io::Error> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Io {
            what: what(),
            source,
        })
    }
}
