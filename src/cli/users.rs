//! `tessera users`: accounts in the store, administered offline or through
//! a running server's admin API, and the new passwords they are given
//! (never from argv).

use super::remote::{self, AdminApi, RemoteArgs};
use super::{Failure, offline_context, read_stdin_line};
use crate::accounts::{self, AccountError, Accounts, NewUser, UserChanges};
use crate::audit::Caller;
use crate::config::Settings;
use crate::http::paths;
use crate::secret::SecretString;
use crate::store::User;
use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::{Value, json};
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
    /// start-up and `config check` show for usernames in conflict
    /// (offline only: the admin API has no equivalent).
    Rename {
        /// The current username, or the account's id with `--by-id`.
        account: String,
        new_username: String,
        #[arg(long)]
        by_id: bool,
    },
    /// Forget a user's authenticator app (a lost phone) and recovery codes; they enrol a new one
    /// at their next sign-in that asks for TOTP (offline only: the admin
    /// API has no equivalent).
    ResetTotp { username: String },
}

/// `tessera users`: a command, and where it runs.
#[derive(Debug, Args)]
pub(super) struct UsersArgs {
    #[command(subcommand)]
    command: UsersCommand,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// What a command did, printed the same whichever way it went.
enum Outcome {
    Created { username: String, id: String },
    Listed(Vec<Row>),
    Disabled(String),
    Enabled(String),
    Removed(String),
    PasswordSet(String),
    Renamed { id: String, username: String },
    TotpReset { username: String, had: bool },
}

/// A user as `users list` shows one, from the store or from the API.
#[derive(Deserialize)]
struct Row {
    username: String,
    disabled: bool,
    email: Option<String>,
    name: Option<String>,
}

impl From<User> for Row {
    fn from(user: User) -> Self {
        Self {
            username: user.username,
            disabled: user.disabled,
            email: user.email,
            name: user.name,
        }
    }
}

/// Runs a `users` command against the configured store, or through a
/// running server's admin API with `--url`.
pub(super) fn run(settings: Settings, args: UsersArgs) -> Result<(), Failure> {
    let outcome = match args.remote.admin_api()? {
        Some(api) => through_api(&api, args.command, settings.passwords.min_length)?,
        None => offline(settings, args.command)?,
    };
    print(outcome);
    Ok(())
}

/// Runs `command` on the store file, which no server may hold.
fn offline(settings: Settings, command: UsersCommand) -> Result<Outcome, Failure> {
    let min_length = settings.passwords.min_length;
    let through_api = !matches!(
        command,
        UsersCommand::Rename { .. } | UsersCommand::ResetTotp { .. }
    );
    let ctx = Arc::new(offline_context(settings, through_api)?);
    let accounts = Accounts::new(ctx).map_err(AccountError::from)?;
    let operator = Caller::cli();
    // The same changes as the admin API's, recorded the same way.
    let change = |username: &str, changes: UserChanges| {
        let id = accounts.get_by_username(username)?.id;
        Ok::<_, AccountError>(accounts.update_by_id(&id, changes, &operator)?.username)
    };
    let disabled = |disabled| UserChanges {
        disabled: Some(disabled),
        ..UserChanges::default()
    };
    Ok(match command {
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
            let new = NewUser {
                username,
                password,
                email,
                name,
                admin: false,
            };
            let user = accounts.create(new, &operator)?;
            Outcome::Created {
                username: user.username,
                id: user.id,
            }
        }
        UsersCommand::List => {
            Outcome::Listed(accounts.list()?.into_iter().map(Row::from).collect())
        }
        UsersCommand::Disable { username } => Outcome::Disabled(change(&username, disabled(true))?),
        UsersCommand::Enable { username } => Outcome::Enabled(change(&username, disabled(false))?),
        UsersCommand::Remove { username } => {
            let id = accounts.get_by_username(&username)?.id;
            Outcome::Removed(accounts.delete_by_id(&id, &operator)?.username)
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
            let user = accounts.rename(&id, &new_username, &operator)?;
            Outcome::Renamed {
                id: user.id,
                username: user.username,
            }
        }
        UsersCommand::ResetTotp { username } => Outcome::TotpReset {
            had: accounts.reset_totp(&username, &operator)?,
            username,
        },
        UsersCommand::SetPassword { username } => {
            let password = read_new_password(&username, min_length)?;
            let changes = UserChanges {
                password: Some(password),
                ..UserChanges::default()
            };
            Outcome::PasswordSet(change(&username, changes)?)
        }
    })
}

/// A user as the admin API answers with one: the fields the commands use.
#[derive(Deserialize)]
struct ApiUser {
    id: String,
    #[serde(flatten)]
    row: Row,
}

/// A page of `GET /admin/api/users`.
#[derive(Deserialize)]
struct Page {
    items: Vec<ApiUser>,
    next_cursor: Option<String>,
}

/// Runs `command` through the admin API; the API names users by id.
fn through_api(
    api: &AdminApi,
    command: UsersCommand,
    min_length: usize,
) -> Result<Outcome, Failure> {
    let user_path = |id: &str| format!("{}/{}", paths::ADMIN_USERS, remote::segment(id));
    let change = |username: &str, changes: Value| -> Result<ApiUser, Failure> {
        let id = find(api, username)?.id;
        api.patch(&user_path(&id), &changes)
    };
    Ok(match command {
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
            let user: ApiUser = api.post(
                paths::ADMIN_USERS,
                &json!({
                    "username": username,
                    "password": password.as_ref().map(SecretString::expose),
                    "email": email,
                    "name": name,
                }),
            )?;
            Outcome::Created {
                username: user.row.username,
                id: user.id,
            }
        }
        UsersCommand::List => {
            Outcome::Listed(all(api, "")?.into_iter().map(|user| user.row).collect())
        }
        UsersCommand::Disable { username } => {
            Outcome::Disabled(change(&username, json!({"disabled": true}))?.row.username)
        }
        UsersCommand::Enable { username } => {
            Outcome::Enabled(change(&username, json!({"disabled": false}))?.row.username)
        }
        UsersCommand::Remove { username } => {
            let user = find(api, &username)?;
            api.delete(&user_path(&user.id))?;
            Outcome::Removed(user.row.username)
        }
        UsersCommand::SetPassword { username } => {
            let password = read_new_password(&username, min_length)?;
            let changes = json!({"password": password.expose()});
            Outcome::PasswordSet(change(&username, changes)?.row.username)
        }
        UsersCommand::Rename { .. } => return Err(remote::no_equivalent("users rename")),
        UsersCommand::ResetTotp { .. } => return Err(remote::no_equivalent("users reset-totp")),
    })
}

/// Every user whose username, email or name contains `q`, page by page.
fn all(api: &AdminApi, q: &str) -> Result<Vec<ApiUser>, Failure> {
    let mut users = Vec::new();
    let mut cursor = String::new();
    loop {
        let page: Page = api.get(
            paths::ADMIN_USERS,
            &[("q", q), ("cursor", &cursor), ("limit", "200")],
        )?;
        users.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = next,
            None => return Ok(users),
        }
    }
}

/// The user named `username`, found by the API's search; names compare
/// as the store compares them (`DAVE` is `dave`).
fn find(api: &AdminApi, username: &str) -> Result<ApiUser, Failure> {
    let normalized = |name: &str| {
        accounts::Username::parse(name)
            .map_or_else(|_| name.to_owned(), |name| name.normalized().to_owned())
    };
    let wanted = normalized(username);
    all(api, username)?
        .into_iter()
        .find(|user| normalized(&user.row.username) == wanted)
        .ok_or_else(|| AccountError::NotFound(username.to_owned()).into())
}

/// What happened, on stdout.
fn print(outcome: Outcome) {
    match outcome {
        Outcome::Created { username, id } => println!("created user `{username}` (id {id})"),
        Outcome::Listed(users) => {
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
        Outcome::Disabled(username) => println!("disabled `{username}` and ended their sessions"),
        Outcome::Enabled(username) => println!("enabled `{username}`"),
        Outcome::Removed(username) => println!("removed `{username}`"),
        Outcome::Renamed { id, username } => println!("renamed account {id} to `{username}`"),
        Outcome::TotpReset { username, had } => {
            if had {
                println!(
                    "forgot the authenticator app and recovery codes of `{username}` and ended their sessions"
                );
            } else {
                println!("`{username}` had no authenticator app");
            }
        }
        Outcome::PasswordSet(username) => {
            println!("set the password of `{username}` and ended their sessions")
        }
    }
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
