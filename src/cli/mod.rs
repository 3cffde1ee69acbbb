//! The command line: `serve` (the default), user, client and key
//! administration (offline, or through a running server's admin API),
//! backup, config check and password hashing. Passwords are read from a prompt or stdin,
//! never from argv, where other users of the machine could see them. This
//! module parses, dispatches and turns failures into exit codes; each
//! command group is a submodule.

mod backup;
mod clients;
mod config;
mod keys;
mod remote;
mod users;

use crate::accounts;
use crate::app::{Application, StartError, check_settings};
use crate::clock::SystemClock;
use crate::config::{ConfigError, Settings};
use crate::context::{Context, ContextError};
use crate::oauth;
use crate::store::{Store, StoreError};
use crate::telemetry;
use clap::{Parser, Subcommand};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "tessera",
    version,
    about = "An identity provider in one binary: journeys, sessions, OAuth 2.0"
)]
pub struct Cli {
    /// TOML config file; `TESSERA__SECTION__KEY` env vars override it.
    #[arg(
        long,
        short,
        global = true,
        env = "TESSERA_CONFIG",
        value_name = "FILE"
    )]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Manage user accounts in the store, or a running server's with
    /// --url/--token.
    Users(users::UsersArgs),
    /// Manage OAuth clients in the store, or a running server's with
    /// --url/--token.
    Clients(clients::ClientsArgs),
    /// List and rotate signing keys in the store, or a running server's
    /// with --url/--token.
    Keys(keys::KeysArgs),
    /// Write a consistent copy of the store that `tessera serve` opens:
    /// from the stopped store, or from a running server with --url/--token.
    Backup(backup::BackupArgs),
    /// Create the store, or bring its schema up to date, and exit: with
    /// several replicas on one PostgreSQL database, once before starting
    /// the upgraded ones.
    Migrate,
    /// Validate the configuration and print the effective settings.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Hash a password read from stdin, for `password_hash` in `[[users]]`.
    HashPassword,
}

/// Why a command failed, which decides the exit code: 2 when what it was
/// given is wrong (the command line, the configuration), 1 when doing it
/// failed (a taken name, a store held by a running server). clap exits 2
/// on a malformed command line itself.
#[derive(Debug)]
enum Failure {
    /// The configuration, including an unusable `storage.path`.
    Config(String),
    /// The arguments or the input, such as a refused password.
    Usage(String),
    Runtime(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self::Runtime(message)
    }
}

impl From<ConfigError> for Failure {
    fn from(err: ConfigError) -> Self {
        Self::Config(err.to_string())
    }
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unusable { .. } | StoreError::Unreachable { .. } => {
                Self::Config(err.to_string())
            }
            other => Self::Runtime(other.to_string()),
        }
    }
}

impl From<ContextError> for Failure {
    fn from(err: ContextError) -> Self {
        match err {
            // The key file is `storage.key_file`; its errors name it.
            ContextError::Key(_) => Self::Config(err.to_string()),
            other => Self::Runtime(other.to_string()),
        }
    }
}

impl From<StartError> for Failure {
    fn from(err: StartError) -> Self {
        match err {
            StartError::Config(err) => (*err).into(),
            StartError::Store(err) => err.into(),
            StartError::Context(err) => err.into(),
            other => Self::Runtime(other.to_string()),
        }
    }
}

impl From<accounts::AccountError> for Failure {
    fn from(err: accounts::AccountError) -> Self {
        use accounts::AccountError as E;
        match err {
            E::InvalidUsername(_) | E::InvalidEmail(_) | E::EmptyPassword => {
                Self::Usage(err.to_string())
            }
            E::Store(err) => err.into(),
            other => Self::Runtime(other.to_string()),
        }
    }
}

impl From<oauth::clients::ClientError> for Failure {
    fn from(err: oauth::clients::ClientError) -> Self {
        use oauth::clients::ClientError as E;
        match err {
            E::Invalid { .. } => Self::Usage(err.to_string()),
            E::Store(err) => err.into(),
            other => Self::Runtime(other.to_string()),
        }
    }
}

/// Parses the command line and runs the command.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let outcome = Settings::load(cli.config.as_deref())
        .and_then(|settings| check_settings(&settings).map(|()| settings))
        .map_err(Failure::from)
        .and_then(|settings| {
            telemetry::init(&settings.log);
            match cli.command.unwrap_or(Command::Serve) {
                Command::Serve => serve(settings),
                Command::Users(command) => users::run(settings, command),
                Command::Clients(command) => clients::run(settings, command),
                Command::Keys(command) => keys::run(settings, command),
                Command::Backup(args) => backup::run(&settings, &args),
                Command::Migrate => migrate(settings),
                Command::Config(config::ConfigCommand::Check) => config::check(&settings),
                Command::HashPassword => config::hash_password(&settings),
            }
        });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(message)) => {
            eprintln!("error: invalid configuration: {message}");
            eprintln!(
                "hint: every key, its default and its env variable are listed in the README's config reference"
            );
            ExitCode::from(2)
        }
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: Settings) -> Result<(), Failure> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings)?;
        app.run_until_stopped()
            .await
            .map_err(|err| Failure::Runtime(err.to_string()))
    })
}

/// Opens the store, which creates or migrates its schema (a PostgreSQL
/// one under the lock that makes replicas starting at once migrate once),
/// migrates its records, and says which version it is at.
fn migrate(settings: Settings) -> Result<(), Failure> {
    let location = crate::context::storage(&settings).describe();
    let ctx = offline_context(settings, false)?;
    let version = ctx.store.schema_version()?;
    println!("the store at {location} is at schema version {version}, this build's");
    Ok(())
}

/// A context for offline commands, on the configured store; a store held
/// by a running server is refused with the way through its admin API, when
/// the command has one.
fn offline_context(settings: Settings, through_api: bool) -> Result<Context, Failure> {
    let store = Store::open(&crate::context::storage(&settings))
        .map_err(|err| remote::locked(err, through_api))?;
    let issuer = settings
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{}", settings.server.bind));
    Ok(Context::new(
        Arc::new(settings),
        store,
        Arc::new(SystemClock),
        issuer,
    )?)
}

/// The first line of stdin, without its line ending.
fn read_stdin_line() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|err| format!("cannot read the password from stdin: {err}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
