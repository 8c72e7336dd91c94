//! `duban.toml` (SPEC §7): where the database, the rules and the outbox
//! are, the default time zone, mail and delivery settings. Unknown keys and
//! bad values are errors naming the key; paths are relative to the config
//! file; the SMTP password is only ever read from the environment variable
//! the config names.

use crate::error::{Error, Result};
use crate::store::Location;
use crate::store::location::DATABASE_ENV;
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const DEFAULT_FILE: &str = "duban.toml";
pub const DEFAULT_TIMEZONE: &str = "Asia/Shanghai";

/// The configuration, paths resolved.
#[derive(Debug, Clone)]
pub struct Config {
    /// The config file, if one was read.
    pub file: Option<PathBuf>,
    /// The case database: a SQLite file or a PostgreSQL URL
    /// (`DUBAN_DATABASE` overrides the file's `database`).
    pub database: Location,
    pub rules: PathBuf,
    /// The working-day calendar (`calendar.toml`).
    pub calendar: PathBuf,
    pub timezone: chrono_tz::Tz,
    pub mail: Mail,
    pub delivery: Delivery,
    /// Chat groups notices may be posted to (SPEC §12).
    pub channels: Vec<Channel>,
    /// The web workbench (SPEC §11), when `[web]` is configured.
    pub web: Option<Web>,
}

/// The web workbench (`[web]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Web {
    /// The address to listen on; loopback unless the office says otherwise.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// The address people reach the workbench at (`https://duban.example.gov.cn`),
    /// for links in notices and sign-in emails.
    pub public_url: Option<String>,
    /// Reverse proxies (addresses or CIDR blocks, `"10.0.0.0/8"`) whose
    /// `X-Forwarded-For` names the visitor; anyone else's is ignored.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Seconds a visitor has to send a request's headers (and its body),
    /// and an idle kept-alive connection stays open.
    #[serde(default = "default_web_timeout")]
    pub timeout_s: u64,
    /// Connections open at once; beyond, the longest idle one is closed.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
}

impl Web {
    /// `public_url` without a trailing slash.
    pub fn base_url(&self) -> Option<&str> {
        self.public_url.as_deref().map(|u| u.trim_end_matches('/'))
    }

    /// `trusted_proxies` as networks (a bare address is a network of one).
    pub fn proxies(&self) -> Result<Vec<ipnet::IpNet>> {
        self.trusted_proxies
            .iter()
            .map(|p| {
                let p = p.trim();
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        Error::invalid(format!(
                            "web.trusted_proxies: \"{p}\" is not an address or a network (write \"10.0.0.1\" or \"10.0.0.0/8\")"
                        ))
                    })
            })
            .collect()
    }
}

impl Default for Web {
    fn default() -> Self {
        Web {
            listen: default_listen(),
            public_url: None,
            trusted_proxies: Vec::new(),
            timeout_s: default_web_timeout(),
            max_connections: default_max_connections(),
        }
    }
}

fn default_web_timeout() -> u64 {
    20
}

fn default_max_connections() -> usize {
    1000
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

fn default_listen() -> String {
    DEFAULT_LISTEN.into()
}

/// A group robot or webhook (`[[channel]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// What rules call it: `notify channel NAME`.
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ChannelKind,
    /// The robot's webhook address, in full (offices run private hosts).
    /// It carries the robot's key; `url_env` keeps it out of this file.
    pub url: Option<String>,
    /// The environment variable holding the webhook address instead.
    pub url_env: Option<String>,
    /// The environment variable holding the DingTalk signing secret.
    pub secret_env: Option<String>,
    /// At most this many posts a minute (the robots allow 20).
    #[serde(default = "default_rate")]
    pub rate_per_minute: u32,
    /// A longer message is sent in parts (default: the robot's limit).
    pub max_bytes: Option<usize>,
    #[serde(default = "default_timeout")]
    pub timeout_s: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// 企业微信 group robot.
    Wecom,
    /// 钉钉 custom robot.
    Dingtalk,
    /// A JSON POST of the notice, for any other system.
    Webhook,
}

impl Channel {
    /// The webhook address: as written, or from the environment variable
    /// `url_env` names.
    pub fn url(&self) -> Result<String> {
        if let Some(url) = &self.url {
            return Ok(url.clone());
        }
        let var = self.url_env.as_deref().unwrap_or_default();
        let url = std::env::var(var).map_err(|_| {
            Error::invalid(format!(
                "channel {}: url_env names the environment variable {var}, which is not set",
                self.name
            ))
        })?;
        if !is_http(&url) {
            return Err(Error::invalid(format!(
                "channel {}: the environment variable {var} holds no http:// or https:// address",
                self.name
            )));
        }
        Ok(url)
    }

    /// The signing secret from the environment, if the channel names one.
    pub fn secret(&self) -> Result<Option<String>> {
        let Some(var) = &self.secret_env else {
            return Ok(None);
        };
        std::env::var(var).map(Some).map_err(|_| {
            Error::invalid(format!(
                "channel {}: secret_env names the environment variable {var}, which is not set",
                self.name
            ))
        })
    }
}

#[derive(Debug, Clone)]
pub struct Mail {
    pub transport: Transport,
    pub outbox_dir: PathBuf,
    pub from: String,
    pub smtp: Option<Smtp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    File,
    Smtp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tls {
    Starttls,
    Tls,
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    pub host: String,
    pub port: Option<u16>,
    #[serde(default = "default_tls")]
    pub tls: Tls,
    pub username: Option<String>,
    /// The name of the environment variable that holds the password.
    pub password_env: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_s: u64,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    #[serde(default = "default_backoff")]
    pub backoff_s: u64,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            max_attempts: default_attempts(),
            backoff_s: default_backoff(),
        }
    }
}

fn default_tls() -> Tls {
    Tls::Starttls
}
fn default_timeout() -> u64 {
    30
}
fn default_attempts() -> u32 {
    8
}
fn default_backoff() -> u64 {
    60
}
fn default_rate() -> u32 {
    20
}

impl Smtp {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            Tls::Tls => 465,
            Tls::Starttls => 587,
            Tls::None => 25,
        })
    }

    /// The password from the environment, if the config names a variable.
    pub fn password(&self) -> Result<Option<String>> {
        let Some(var) = &self.password_env else {
            return Ok(None);
        };
        match std::env::var(var) {
            Ok(v) => Ok(Some(v)),
            Err(_) => Err(Error::invalid(format!(
                "mail.smtp.password_env names the environment variable {var}, which is not set"
            ))),
        }
    }
}

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    database: Option<String>,
    /// The environment variable holding the PostgreSQL password.
    database_password_env: Option<String>,
    rules: Option<PathBuf>,
    calendar: Option<PathBuf>,
    timezone: Option<String>,
    #[serde(default)]
    mail: RawMail,
    #[serde(default)]
    delivery: Delivery,
    #[serde(default)]
    channel: Vec<Channel>,
    web: Option<Web>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMail {
    transport: Option<Transport>,
    outbox_dir: Option<PathBuf>,
    from: Option<String>,
    smtp: Option<Smtp>,
}

impl Config {
    /// The office's working-day calendar: its calendar file, else the years
    /// duban knows (an office set up before calendars had none).
    pub fn load_calendar(&self) -> Result<crate::calendar::Calendar> {
        let path = &self.calendar;
        match std::fs::read_to_string(path) {
            Ok(text) => crate::calendar::Calendar::parse(&text, &path.display().to_string())
                .map_err(|e| Error::invalid(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(crate::calendar::Calendar::builtin())
            }
            Err(e) => Err(Error::invalid(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }
}

impl Config {
    /// The domain of the sender address, for Message-IDs and calendar UIDs.
    pub fn mail_domain(&self) -> String {
        let from = self.mail.from.trim().trim_end_matches('>');
        from.rsplit_once('@')
            .map(|(_, d)| d.trim().to_string())
            .filter(|d| !d.is_empty() && d.is_ascii())
            .unwrap_or_else(|| "duban.localhost".into())
    }

    /// Reads `path`, or `./duban.toml` when none is given; without either,
    /// the defaults, relative to the current folder.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let (file, text) = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    Error::invalid(format!("cannot read the config file {}: {e}", p.display()))
                })?;
                (Some(p.to_path_buf()), text)
            }
            None => match std::fs::read_to_string(DEFAULT_FILE) {
                Ok(text) => (Some(PathBuf::from(DEFAULT_FILE)), text),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, String::new()),
                Err(e) => return Err(Error::invalid(format!("cannot read {DEFAULT_FILE}: {e}"))),
            },
        };
        let name = file
            .as_ref()
            .map(|f| f.display().to_string())
            .unwrap_or_else(|| DEFAULT_FILE.into());
        let raw: Raw = toml::from_str(&text).map_err(|e| Error::invalid(format!("{name}: {e}")))?;
        let base = file
            .as_ref()
            .and_then(|f| f.parent())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        Config::resolve(raw, file, &base, &name)
    }

    fn resolve(raw: Raw, file: Option<PathBuf>, base: &Path, name: &str) -> Result<Config> {
        let rel = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let tz_name = raw.timezone.as_deref().unwrap_or(DEFAULT_TIMEZONE);
        let timezone = tz_name.parse::<chrono_tz::Tz>().map_err(|_| {
            Error::invalid(format!(
                "{name}: timezone: \"{tz_name}\" is not an IANA time zone (e.g. \"Asia/Shanghai\")"
            ))
        })?;
        let transport = raw.mail.transport.unwrap_or(Transport::File);
        if transport == Transport::Smtp && raw.mail.smtp.is_none() {
            return Err(Error::invalid(format!(
                "{name}: mail.transport is \"smtp\" but there is no [mail.smtp] section with its host"
            )));
        }
        if raw.delivery.max_attempts == 0 {
            return Err(Error::invalid(format!(
                "{name}: delivery.max_attempts must be at least 1"
            )));
        }
        if let Some(smtp) = &raw.mail.smtp
            && smtp.host.trim().is_empty()
        {
            return Err(Error::invalid(format!("{name}: mail.smtp.host is empty")));
        }
        check_addresses(&raw.mail, name)?;
        check_channels(&raw.channel, name)?;
        if let Some(web) = &raw.web {
            check_web(web, name)?;
        }
        let database = match std::env::var(DATABASE_ENV) {
            Ok(v) if !v.trim().is_empty() => Location::parse(
                &v,
                base,
                raw.database_password_env.as_deref(),
                &format!("the environment variable {DATABASE_ENV}"),
            )?,
            _ => Location::parse(
                raw.database.as_deref().unwrap_or("duban.db"),
                base,
                raw.database_password_env.as_deref(),
                &format!("{name}: database"),
            )?,
        };
        Ok(Config {
            file,
            database,
            rules: rel(raw.rules.unwrap_or_else(|| "rules".into())),
            calendar: rel(raw.calendar.unwrap_or_else(|| "calendar.toml".into())),
            timezone,
            mail: Mail {
                transport,
                outbox_dir: rel(raw.mail.outbox_dir.unwrap_or_else(|| "outbox".into())),
                from: raw
                    .mail
                    .from
                    .unwrap_or_else(|| "督办 <duban@localhost>".into()),
                smtp: raw.mail.smtp,
            },
            delivery: raw.delivery,
            channels: raw.channel,
            web: raw.web,
        })
    }

    pub fn channel_names(&self) -> Vec<&str> {
        self.channels.iter().map(|c| c.name.as_str()).collect()
    }
}

fn check_web(web: &Web, file: &str) -> Result<()> {
    if web.listen.parse::<std::net::SocketAddr>().is_err() {
        return Err(Error::invalid(format!(
            "{file}: web.listen \"{}\" is not an address and port (write \"{DEFAULT_LISTEN}\")",
            web.listen
        )));
    }
    if let Some(u) = &web.public_url
        && !(u.starts_with("http://") || u.starts_with("https://"))
    {
        return Err(Error::invalid(format!(
            "{file}: web.public_url \"{u}\" is not an http:// or https:// address"
        )));
    }
    web.proxies()
        .map_err(|e| Error::invalid(format!("{file}: {e}")))?;
    if web.timeout_s == 0 || web.max_connections == 0 {
        return Err(Error::invalid(format!(
            "{file}: web.timeout_s and web.max_connections must be at least 1"
        )));
    }
    Ok(())
}

fn is_http(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

/// Every address of the config parses as a mailbox, so no run fails on it.
fn check_addresses(mail: &RawMail, file: &str) -> Result<()> {
    if let Some(from) = &mail.from
        && let Err(e) = from.trim().parse::<lettre::message::Mailbox>()
    {
        return Err(Error::invalid(format!(
            "{file}: mail.from \"{from}\" is not an email address ({e}); write it as \"巡察办督办 <duban@example.org>\""
        )));
    }
    if let Some(user) = mail.smtp.as_ref().and_then(|s| s.username.as_deref())
        && user.contains('@')
        && user.trim().parse::<lettre::Address>().is_err()
    {
        return Err(Error::invalid(format!(
            "{file}: mail.smtp.username \"{user}\" looks like an email address but is not one"
        )));
    }
    Ok(())
}

fn check_channels(channels: &[Channel], file: &str) -> Result<()> {
    for (i, c) in channels.iter().enumerate() {
        let at = format!("{file}: [[channel]] `{}`", c.name);
        if c.name.trim().is_empty() {
            return Err(Error::invalid(format!(
                "{file}: [[channel]] number {} has no name",
                i + 1
            )));
        }
        if channels[..i].iter().any(|d| d.name == c.name) {
            return Err(Error::invalid(format!("{at} is defined twice")));
        }
        match (&c.url, &c.url_env) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid(format!(
                    "{at}: give url or url_env, not both"
                )));
            }
            (None, None) => {
                return Err(Error::invalid(format!(
                    "{at}: no url (or url_env naming the environment variable that holds it)"
                )));
            }
            (Some(url), None) if !is_http(url) => {
                return Err(Error::invalid(format!(
                    "{at}: url \"{url}\" is not an http:// or https:// address"
                )));
            }
            (None, Some(var)) if var.trim().is_empty() => {
                return Err(Error::invalid(format!("{at}: url_env is empty")));
            }
            _ => {}
        }
        if c.rate_per_minute == 0 {
            return Err(Error::invalid(format!(
                "{at}: rate_per_minute must be at least 1"
            )));
        }
        if c.max_bytes.is_some_and(|m| m < 64) {
            return Err(Error::invalid(format!(
                "{at}: max_bytes must be at least 64"
            )));
        }
        if c.secret_env.is_some() && c.kind != ChannelKind::Dingtalk {
            return Err(Error::invalid(format!(
                "{at}: secret_env signs DingTalk requests; a {:?} channel has no use for it",
                c.kind
            )));
        }
    }
    Ok(())
}

/// The commented `duban.toml` for a database: [`TEMPLATE`] as it is for
/// the office's own file, else with `database` set to the URL given.
pub fn template(database: Option<&str>) -> String {
    match database {
        None => TEMPLATE.to_string(),
        Some(url) => TEMPLATE.replacen(
            "database = \"duban.db\"",
            &format!("database = {}", toml::Value::String(url.to_string())),
            1,
        ),
    }
}

/// The commented `duban.toml` that `duban init` writes.
pub const TEMPLATE: &str = r#"# duban configuration. Paths are relative to this file.

# The case database: a SQLite file, or a PostgreSQL database by its URL
# ("postgresql://duban@127.0.0.1:5432/duban"). DUBAN_DATABASE in the
# environment overrides it.
database = "duban.db"
# The PostgreSQL password is read from this variable, never from this file.
# database_password_env = "DUBAN_DATABASE_PASSWORD"

# The policy: every *.rules file in this folder, read in name order.
rules = "rules"

# Working days: holidays and make-up working days (调休), one table per year.
calendar = "calendar.toml"

# Time zone for `today` and schedules, unless the policy names its own.
timezone = "Asia/Shanghai"

[mail]
# "file" writes one .eml per notice into outbox_dir; "smtp" sends them.
transport = "file"
outbox_dir = "outbox"
from = "巡察办督办 <duban@example.org>"

# [mail.smtp]
# host = "mail.example.org"
# port = 587
# tls = "starttls"            # "starttls", "tls" (implicit, port 465) or "none"
# username = "duban@example.org"
# password_env = "DUBAN_SMTP_PASSWORD"   # the password is read from this variable, never from this file
# timeout_s = 30

[delivery]
# A notice the mail server refuses is retried with exponential backoff
# (backoff_s, 2×, 4× …) and marked failed after max_attempts.
max_attempts = 8
backoff_s = 60

# Chat groups (群机器人): rules post to them with `notify channel NAME`
# (`通知 群 NAME`), mentioning people by their mobile number. Messages go
# through the same outbox as email: sent once, retried, rate-limited.
#
# [[channel]]
# name = "office"
# type = "wecom"                 # 企业微信 group robot
# url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"
#                                # or url_env = "DUBAN_WECOM_URL": the address from the environment
#
# [[channel]]
# name = "leaders"
# type = "dingtalk"              # 钉钉 custom robot, signed
# url_env = "DUBAN_DINGTALK_URL"  # the robot's address (with its access_token), from the environment
# secret_env = "DUBAN_DINGTALK_SECRET"   # the signing secret (SEC…), from the environment
# rate_per_minute = 20           # the robots' own limit
#
# [[channel]]
# name = "casebook"
# type = "webhook"               # a JSON POST of the notice, for any other system
# url = "http://casebook.internal/duban"

# The web workbench (工作台): clerks and leaders sign in with a browser.
# `duban serve` serves it beside the scheduler, `duban web` alone; accounts
# come from `duban users add`.
#
# [web]
# listen = "127.0.0.1:8080"      # loopback only unless you say otherwise
# public_url = "https://duban.example.gov.cn"   # links in notices and sign-in emails
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        let raw: Raw =
            toml::from_str(text).map_err(|e| Error::invalid(format!("duban.toml: {e}")))?;
        Config::resolve(raw, None, Path::new("/office"), "duban.toml")
    }

    #[test]
    fn the_workbench_listens_on_loopback_unless_told_otherwise() {
        let c = parse("[web]\npublic_url = \"https://duban.example.gov.cn/\"")
            .unwrap_or_else(|e| panic!("{e}"));
        let web = c.web.unwrap_or_else(|| panic!("no [web]"));
        assert_eq!(web.listen, "127.0.0.1:8080");
        assert_eq!(web.base_url(), Some("https://duban.example.gov.cn"));
        assert!(parse("[web]\nlisten = \"8080\"").is_err());
        assert!(parse("[web]\npublic_url = \"duban.local\"").is_err());
        assert!(parse(TEMPLATE).is_ok_and(|c| c.web.is_none()));
    }

    #[test]
    fn the_template_is_a_valid_config() {
        let c = parse(TEMPLATE).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.database, Location::file("/office/duban.db"));
        assert_eq!(c.mail.transport, Transport::File);
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = parse("databse = \"x.db\"")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("databse"), "{e}");
        let e = parse("[mail]\ntransport = \"pigeon\"")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("pigeon") || e.contains("transport"), "{e}");
    }

    #[test]
    fn channels_are_checked() {
        let ok = parse(
            "[[channel]]\nname = \"office\"\ntype = \"wecom\"\nurl = \"http://127.0.0.1:9/x\"\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.channels[0].rate_per_minute, 20);
        for (text, said) in [
            (
                "[[channel]]\nname = \"a\"\ntype = \"wechat\"\nurl = \"http://x\"",
                "wechat",
            ),
            (
                "[[channel]]\nname = \"a\"\ntype = \"wecom\"\nurl = \"ftp://x\"",
                "ftp://x",
            ),
            (
                "[[channel]]\nname = \"a\"\ntype = \"wecom\"\nurl = \"http://x\"\n[[channel]]\nname = \"a\"\ntype = \"wecom\"\nurl = \"http://y\"",
                "defined twice",
            ),
            (
                "[[channel]]\nname = \"a\"\ntype = \"wecom\"\nurl = \"http://x\"\nsecret = \"SEC1\"",
                "secret",
            ),
        ] {
            let e = parse(text).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains(said), "{text}: {e}");
        }
    }

    #[test]
    fn bad_timezone_is_named() {
        let e = parse("timezone = \"Asia/Shangai\"")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("timezone"), "{e}");
    }
}
