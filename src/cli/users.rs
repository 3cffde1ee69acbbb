//! `tessera users`: accounts in the store, administered offline, and the
//! new passwords they are given (never from argv).

use super::{Failure, offline_context, read_stdin_line};
use crate::accounts::{self, AccountError, Accounts, NewUser};
use crate::config::Settings;
use crate::secret::SecretString;
use clap::Subcommand;
use std::io::IsTerminal;
use std::sync::Arc;

#[derive(Debug, Subcommand)]
pub(super) enum UsersCommand {
    /// Create a user; the password is prompted for, or read from stdin.
    Add {
        username: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// Create the account without a password (it cannot sign in yet).
        #[arg(long)]
        no_password: bool,
    },
    /// List users.
    List,
    /// Stop a user from signing in and end their sessions.
    Disable { username: String },
    /// Let a disabled user sign in again.
    Enable { username: String },
    /// Delete a user and their sessions.
    Remove { username: String },
    /// Set a user's password (prompted, or read from stdin) and end their sessions.
    SetPassword { username: String },
    /// Give an account a new username; `--by-id` names it by the id that
    /// start-up and `config check` show for usernames in conflict.
    Rename {
        /// The current username, or the account's id with `--by-id`.
        account: String,
        new_username: String,
        #[arg(long)]
        by_id: bool,
    },
    /// Forget a user's authenticator app (a lost phone); they enrol a new one
    /// at their next sign-in that asks for TOTP.
    ResetTotp { username: String },
}

/// Runs a `users` command against the configured store.
pub(super) fn run(settings: Settings, command: UsersCommand) -> Result<(), Failure> {
    let min_length = settings.passwords.min_length;
    let accounts =
        Accounts::new(Arc::new(offline_context(settings)?)).map_err(AccountError::from)?;
    match command {
        UsersCommand::Add {
            username,
            email,
            name,
            no_password,
        } => {
            let password = if no_password {
                None
            } else {
                Some(read_new_password(&username, min_length)?)
            };
            let user = accounts.create(NewUser {
                username,
                password,
                email,
                name,
                admin: false,
            })?;
            println!("created user `{}` (id {})", user.username, user.id);
        }
        UsersCommand::List => {
            let users = accounts.list()?;
            println!("{:<24} {:<8} {:<32} NAME", "USERNAME", "STATUS", "EMAIL");
            for user in &users {
                println!(
                    "{:<24} {:<8} {:<32} {}",
                    user.username,
                    if user.disabled { "disabled" } else { "active" },
                    user.email.as_deref().unwrap_or("-"),
                    user.name.as_deref().unwrap_or("-"),
                );
            }
            println!(
                "{} user{}",
                users.len(),
                if users.len() == 1 { "" } else { "s" }
            );
        }
        UsersCommand::Disable { username } => {
            let user = accounts.set_disabled(&username, true)?;
            println!("disabled `{}` and ended their sessions", user.username);
        }
        UsersCommand::Enable { username } => {
            let user = accounts.set_disabled(&username, false)?;
            println!("enabled `{}`", user.username);
        }
        UsersCommand::Remove { username } => {
            let user = accounts.remove(&username)?;
            println!("removed `{}`", user.username);
        }
        UsersCommand::Rename {
            account,
            new_username,
            by_id,
        } => {
            let id = if by_id {
                account
            } else {
                accounts.get_by_username(&account)?.id
            };
            let user = accounts.rename(&id, &new_username)?;
            println!("renamed account {} to `{}`", user.id, user.username);
        }
        UsersCommand::ResetTotp { username } => {
            let had = accounts.reset_totp(&username)?;
            if had {
                println!("forgot the authenticator app of `{username}` and ended their sessions");
            } else {
                println!("`{username}` had no authenticator app");
            }
        }
        UsersCommand::SetPassword { username } => {
            let password = read_new_password(&username, min_length)?;
            let user = accounts.set_password(&username, &password)?;
            println!(
                "set the password of `{}` and ended their sessions",
                user.username
            );
        }
    }
    Ok(())
}

/// A new password: prompted twice without echo on a terminal, or the first
/// line of stdin otherwise (for scripts: `echo "$PW" | tessera users add …`).
/// The password policy applies as it does on the registration page.
fn read_new_password(username: &str, min_length: usize) -> Result<SecretString, Failure> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("New password for {username}: "))
            .map_err(|err| err.to_string())?;
        let again = rpassword::prompt_password("Repeat it: ").map_err(|err| err.to_string())?;
        if first != again {
            return Err(Failure::Usage("the passwords do not match".into()));
        }
        first
    } else {
        read_stdin_line()?
    };
    if password.is_empty() {
        return Err(Failure::Usage("the password must not be empty".into()));
    }
    let username = accounts::Username::parse(username).ok();
    if let Some(refusal) = accounts::policy::refusal(&password, username.as_ref(), min_length) {
        return Err(Failure::Usage(format!("password refused: {refusal}")));
    }
    Ok(SecretString::new(password))
}
