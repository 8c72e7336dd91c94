//! Where emails go: `.eml` files in the outbox folder (the default), an
//! SMTP server (lettre: STARTTLS, implicit TLS or none, pooled connections,
//! timeouts), or memory (tests). A transport only sends; the outbox keeps
//! the state.

use crate::config::{Config, Tls, Transport as Kind};
use crate::error::{Error, Result};
use lettre::Message;
use std::path::PathBuf;
use std::time::Duration;

/// A failed send: `permanent` when the server refused for good (5xx).
#[derive(Debug, Clone)]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

pub trait Transport {
    fn send(&mut self, message_id: &str, msg: &Message) -> std::result::Result<(), SendError>;
}

/// One `.eml` file per notice, named after its Message-ID. Writing is
/// atomic (a temporary file renamed), and a file already there means the
/// notice was delivered: the file outbox is exactly-once.
pub struct FileTransport {
    pub dir: PathBuf,
}

impl FileTransport {
    pub fn path_for(&self, message_id: &str) -> PathBuf {
        let stem: String = message_id
            .trim_matches(['<', '>'])
            .split('@')
            .next()
            .unwrap_or("notice")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(format!("{stem}.eml"))
    }
}

impl Transport for FileTransport {
    fn send(&mut self, message_id: &str, msg: &Message) -> std::result::Result<(), SendError> {
        let fail = |e: std::io::Error| SendError {
            permanent: false,
            message: format!("writing to {}: {e}", self.dir.display()),
        };
        std::fs::create_dir_all(&self.dir).map_err(fail)?;
        let path = self.path_for(message_id);
        if path.exists() {
            return Ok(());
        }
        let tmp = path.with_extension("eml.tmp");
        std::fs::write(&tmp, msg.formatted()).map_err(fail)?;
        std::fs::rename(&tmp, &path).map_err(fail)
    }
}

/// An SMTP server, through a pool of connections kept between notices.
pub struct SmtpTransport {
    inner: lettre::SmtpTransport,
}

impl SmtpTransport {
    pub fn from_config(cfg: &Config) -> Result<SmtpTransport> {
        let Some(smtp) = &cfg.mail.smtp else {
            return Err(Error::invalid(
                "mail.transport is \"smtp\" but [mail.smtp] is missing",
            ));
        };
        let host = smtp.host.as_str();
        let builder = match smtp.tls {
            Tls::Tls => lettre::SmtpTransport::relay(host),
            Tls::Starttls => lettre::SmtpTransport::starttls_relay(host),
            Tls::None => Ok(lettre::SmtpTransport::builder_dangerous(host)),
        }
        .map_err(|e| Error::invalid(format!("mail.smtp.host `{host}`: {e}")))?;
        let mut builder = builder
            .port(smtp.port())
            .timeout(Some(Duration::from_secs(smtp.timeout_s.max(1))))
            .pool_config(lettre::transport::smtp::PoolConfig::new().max_size(4));
        if let Some(user) = &smtp.username {
            let password = smtp.password()?.unwrap_or_default();
            builder = builder.credentials(
                lettre::transport::smtp::authentication::Credentials::new(user.clone(), password),
            );
        }
        Ok(SmtpTransport {
            inner: builder.build(),
        })
    }
}

impl Transport for SmtpTransport {
    fn send(&mut self, _message_id: &str, msg: &Message) -> std::result::Result<(), SendError> {
        use lettre::Transport as _;
        self.inner.send(msg).map(|_| ()).map_err(|e| SendError {
            permanent: e.is_permanent(),
            message: e.to_string(),
        })
    }
}

/// Keeps what it is given (tests), or refuses everything while `down`.
#[derive(Default)]
pub struct MemoryTransport {
    pub sent: Vec<(String, Vec<u8>)>,
    pub down: bool,
}

impl Transport for MemoryTransport {
    fn send(&mut self, message_id: &str, msg: &Message) -> std::result::Result<(), SendError> {
        if self.down {
            return Err(SendError {
                permanent: false,
                message: "connection refused".into(),
            });
        }
        self.sent.push((message_id.to_string(), msg.formatted()));
        Ok(())
    }
}

/// The configured transport.
pub fn from_config(cfg: &Config) -> Result<Box<dyn Transport>> {
    Ok(match cfg.mail.transport {
        Kind::File => Box::new(FileTransport {
            dir: cfg.mail.outbox_dir.clone(),
        }),
        Kind::Smtp => Box::new(SmtpTransport::from_config(cfg)?),
    })
}
