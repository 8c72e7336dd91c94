//! Where emails go: `.eml` files in the outbox folder (the default), an
//! SMTP server (lettre: STARTTLS, implicit TLS or none, one connection kept
//! open, timeouts), or memory (tests). A transport only sends; the outbox keeps
//! the state.

use crate::config::{Config, Smtp, Tls, Transport as Kind};
use crate::error::{Error, Result};
use lettre::Message;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
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
        crate::private::create_dir_all(&self.dir).map_err(fail)?;
        let path = self.path_for(message_id);
        if path.exists() {
            return Ok(());
        }
        // Synced, renamed, the folder synced: the notice counts as sent
        // only once its file survives a power cut.
        crate::private::write(&path, &msg.formatted()).map_err(fail)
    }
}

/// An SMTP server, one connection kept open from notice to notice.
///
/// lettre speaks SMTP (EHLO, STARTTLS, AUTH, the message); the TCP
/// connection is opened here with `TCP_NODELAY`. lettre 0.11.23 writes a
/// message's body and its final `\r\n.\r\n` as two writes with Nagle's
/// algorithm on, so each message waits for the server's delayed ACK (40 ms
/// on Linux) — 20 messages a second at most (lettre PR #1159 fixes it,
/// unreleased). With implicit TLS (port 465) lettre opens the connection
/// itself and that wait remains.
pub struct SmtpTransport {
    runtime: tokio::runtime::Runtime,
    settings: Smtp,
    credentials: Option<Credentials>,
    hello: ClientId,
    conn: Option<AsyncSmtpConnection>,
}

impl SmtpTransport {
    pub fn from_config(cfg: &Config) -> Result<SmtpTransport> {
        let Some(smtp) = &cfg.mail.smtp else {
            return Err(Error::invalid(
                "mail.transport is \"smtp\" but [mail.smtp] is missing",
            ));
        };
        let credentials = match &smtp.username {
            Some(user) => Some(Credentials::new(
                user.clone(),
                smtp.password()?.unwrap_or_default(),
            )),
            None => None,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::failed("starting the mail client", e))?;
        Ok(SmtpTransport {
            runtime,
            settings: smtp.clone(),
            credentials,
            hello: ClientId::default(),
            conn: None,
        })
    }

    async fn connect(&self) -> std::result::Result<AsyncSmtpConnection, SendError> {
        let s = &self.settings;
        let timeout = Duration::from_secs(s.timeout_s.max(1));
        let tls = || TlsParameters::new(s.host.clone()).map_err(smtp_error);
        let mut conn = match s.tls {
            Tls::Tls => AsyncSmtpConnection::connect_tokio1(
                (s.host.as_str(), s.port()),
                Some(timeout),
                &self.hello,
                Some(tls()?),
                None,
            )
            .await
            .map_err(smtp_error)?,
            Tls::Starttls | Tls::None => {
                let stream = tokio::time::timeout(
                    timeout,
                    tokio::net::TcpStream::connect((s.host.as_str(), s.port())),
                )
                .await
                .map_err(|_| transient(format!("connecting to {}:{} timed out", s.host, s.port())))?
                .map_err(|e| transient(format!("connecting to {}:{}: {e}", s.host, s.port())))?;
                stream
                    .set_nodelay(true)
                    .map_err(|e| transient(e.to_string()))?;
                let mut conn =
                    AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello)
                        .await
                        .map_err(smtp_error)?;
                if s.tls == Tls::Starttls {
                    conn.starttls(tls()?, &self.hello)
                        .await
                        .map_err(smtp_error)?;
                }
                conn
            }
        };
        if let Some(c) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], c)
                .await
                .map_err(smtp_error)?;
        }
        Ok(conn)
    }
}

fn transient(message: String) -> SendError {
    SendError {
        permanent: false,
        message,
    }
}

fn smtp_error(e: lettre::transport::smtp::Error) -> SendError {
    SendError {
        permanent: e.is_permanent(),
        message: e.to_string(),
    }
}

impl Transport for SmtpTransport {
    fn send(&mut self, _message_id: &str, msg: &Message) -> std::result::Result<(), SendError> {
        let timeout = Duration::from_secs(self.settings.timeout_s.max(1) * 2);
        let conn = self.conn.take();
        let result = self.runtime.block_on(async {
            let mut conn = match conn {
                Some(c) if !c.has_broken() => c,
                _ => self.connect().await?,
            };
            tokio::time::timeout(timeout, conn.send(msg.envelope(), &msg.formatted()))
                .await
                .map_err(|_| transient("the mail server did not answer in time".into()))?
                .map_err(smtp_error)?;
            Ok::<_, SendError>(conn)
        });
        self.conn = Some(result?);
        Ok(())
    }
}

impl Drop for SmtpTransport {
    fn drop(&mut self) {
        if let Some(mut c) = self.conn.take() {
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(Duration::from_secs(2), c.quit()).await });
        }
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
