//! `duban users add|list|remove`: accounts of the web workbench.

use super::Format;
use crate::clock::{Clock, utc_text};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::store::accounts::{self, Role};
use crate::text::pad;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

/// Accounts of the web workbench: persons of the case database with a role.
///
/// member: their own tasks. office: every task, notice, organization, rule
/// and the report. admin: also the accounts page. Without a password an
/// account signs in by a one-time link sent to the person's email.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Give a person an account (or change its role or password).
    #[command(
        after_help = "Examples:\n  echo 'a long passphrase' | duban users add U0000003 --role office --password-stdin\n  duban users add U0000017 --role member          signs in by emailed link"
    )]
    Add {
        /// The person's id in the case database.
        person: String,
        #[arg(long, value_parser = ["admin", "office", "member"])]
        role: String,
        /// Read the password from the first line of stdin (at least 8 characters).
        #[arg(long)]
        password_stdin: bool,
    },
    /// The accounts, their roles and live sessions.
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Remove an account; whoever is signed in as it is signed out.
    Remove { person: String },
}

pub fn run(config: &Option<PathBuf>, args: Args) -> Result<ExitCode> {
    let cfg = Config::load(config.as_deref())?;
    let conn = crate::store::open(&cfg.database)?;
    let now = utc_text(super::clock().now());
    match args.command {
        Command::Add {
            person,
            role,
            password_stdin,
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                Error::usage(format!("--role: `{role}` is not admin, office or member"))
            })?;
            let hash = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                Some(crate::web::auth::hash_password(
                    line.trim_end_matches(['\r', '\n']),
                )?)
            } else {
                None
            };
            accounts::add(&conn, &person, role, hash.as_deref(), &now)?;
            println!(
                "{person}: {} account{}",
                role.code(),
                if hash.is_some() { ", password set" } else { "" }
            );
        }
        Command::List { format } => {
            let list = accounts::list(&conn, &now)?;
            match format {
                Format::Json => println!("{}", serde_json::to_string(&list).unwrap_or_default()),
                Format::Table => {
                    println!(
                        "{:<12} {:<8} {:<9} {:<8} email",
                        "person", "role", "password", "sessions"
                    );
                    for a in &list {
                        println!(
                            "{} {:<8} {:<9} {:<8} {}",
                            pad(&format!("{} {}", a.person_id, a.name), 12),
                            a.role.code(),
                            if a.password_hash.is_some() {
                                "yes"
                            } else {
                                "link only"
                            },
                            a.sessions,
                            a.email.as_deref().unwrap_or("")
                        );
                    }
                    println!("{}", super::counted(list.len(), "account"));
                }
            }
        }
        Command::Remove { person } => {
            if !accounts::remove(&conn, &person)? {
                return Err(Error::invalid(format!(
                    "{person} has no account; `duban users list` shows them"
                )));
            }
            println!("{person}: account removed, its sessions ended");
        }
    }
    Ok(ExitCode::SUCCESS)
}
