//! Where the case database is: a SQLite file, or a PostgreSQL database
//! named by a URL (`postgresql://duban@127.0.0.1:5432/duban`), as
//! `duban.toml`'s `database`, `DUBAN_DATABASE` or `--database` say it.
//! The password of a server is never written with it: it comes from the
//! environment variable `database_password_env` names.

use crate::error::{Error, Result};
use std::fmt;
use std::path::{Path, PathBuf};

/// The environment variable that overrides `database` in `duban.toml`.
pub const DATABASE_ENV: &str = "DUBAN_DATABASE";

/// A case database: a file or a server's database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file.
    File(PathBuf),
    /// A PostgreSQL database.
    Server(Server),
}

/// A PostgreSQL database: its URL (without a password) and the
/// environment variable holding the password, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    url: String,
    password_env: Option<String>,
}

impl Server {
    /// The URL as written (it holds no password).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The password from the environment, if the config names a variable.
    pub(crate) fn password(&self) -> Result<Option<String>> {
        let Some(var) = &self.password_env else {
            return Ok(None);
        };
        std::env::var(var).map(Some).map_err(|_| {
            Error::invalid(format!(
                "database_password_env names the environment variable {var}, which is not set"
            ))
        })
    }
}

/// Whether `text` is written as a URL (`scheme://…`) rather than a path.
pub fn is_url(text: &str) -> bool {
    text.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    })
}

impl Location {
    /// A SQLite file.
    pub fn file(path: impl Into<PathBuf>) -> Location {
        Location::File(path.into())
    }

    /// `text` as `database` is written: a `postgresql://` (or
    /// `postgres://`) URL names a server, anything else a file, relative
    /// to `base`. `password_env` names the variable holding a server's
    /// password. `what` says where the text came from, for errors.
    pub fn parse(
        text: &str,
        base: &Path,
        password_env: Option<&str>,
        what: &str,
    ) -> Result<Location> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::invalid(format!(
                "{what} is empty: write a file (duban.db) or a URL (postgresql://duban@127.0.0.1:5432/duban)"
            )));
        }
        if !is_url(text) {
            let p = PathBuf::from(text);
            return Ok(Location::File(if p.is_absolute() {
                p
            } else {
                base.join(p)
            }));
        }
        let scheme = text.split_once("://").map_or("", |(s, _)| s);
        if !matches!(scheme, "postgresql" | "postgres") {
            return Err(Error::invalid(format!(
                "{what}: \"{scheme}://\" is not a database duban knows; write a file (duban.db) or a PostgreSQL URL (postgresql://duban@127.0.0.1:5432/duban)"
            )));
        }
        super::pg::check_url(text).map_err(|e| {
            Error::invalid(format!(
                "{what}: \"{text}\" is not a PostgreSQL URL ({e}); write postgresql://USER@HOST:PORT/DATABASE"
            ))
        })?;
        if super::pg::url_has_password(text) {
            return Err(Error::invalid(format!(
                "{what}: the URL holds a password; write it without one and name the environment variable that holds it with database_password_env in duban.toml"
            )));
        }
        Ok(Location::Server(Server {
            url: text.to_string(),
            password_env: password_env.map(str::to_string),
        }))
    }

    /// The file, for SQLite.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Location::File(p) => Some(p),
            Location::Server(_) => None,
        }
    }

    /// The server, for PostgreSQL.
    pub fn server(&self) -> Option<&Server> {
        match self {
            Location::File(_) => None,
            Location::Server(s) => Some(s),
        }
    }

    pub fn dialect(&self) -> super::Dialect {
        match self {
            Location::File(_) => super::Dialect::Sqlite,
            Location::Server(_) => super::Dialect::Postgres,
        }
    }

    /// The database as people read it: the file's path or the URL.
    pub fn display(&self) -> &Self {
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(p) => write!(f, "{}", p.display()),
            Location::Server(s) => f.write_str(&s.url),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Location> {
        Location::parse(text, Path::new("/office"), None, "database")
    }

    #[test]
    fn a_path_is_a_file_and_a_url_a_server() {
        assert_eq!(
            parse("duban.db").ok(),
            Some(Location::file("/office/duban.db"))
        );
        assert_eq!(parse("/srv/x.db").ok(), Some(Location::file("/srv/x.db")));
        for url in [
            "postgresql://duban@127.0.0.1:5432/duban",
            "postgres://duban@db.internal/duban",
        ] {
            let l = parse(url).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(l.to_string(), url);
            assert_eq!(l.dialect(), crate::store::Dialect::Postgres);
        }
    }

    #[test]
    fn bad_urls_and_passwords_are_refused_in_words() {
        for (text, words) in [
            ("mysql://root@localhost/duban", "not a database duban knows"),
            (
                "postgresql://duban:secret@127.0.0.1/duban",
                "holds a password",
            ),
            (
                "postgresql://duban@127.0.0.1:port/duban",
                "not a PostgreSQL URL",
            ),
            ("  ", "is empty"),
        ] {
            let e = parse(text).err().unwrap_or_else(|| panic!("{text} taken"));
            assert_eq!(e.exit_code(), 1);
            assert!(e.to_string().contains(words), "{text}: {e}");
        }
    }
}
