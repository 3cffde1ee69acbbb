//! The command line: `serve` (the default), user administration, config
//! check and password hashing. Passwords are read from a prompt or stdin,
//! never from argv, where other users of the machine could see them.

use crate::accounts::{self, NewUser};
use crate::app::{Application, StartError, check_settings};
use crate::clock::SystemClock;
use crate::config::{ConfigError, SeedClient, Settings};
use crate::context::{Context, ContextError};
use crate::jwa::SigningAlg;
use crate::oauth;
use crate::secret::SecretString;
use crate::store::{Store, StoreError};
use crate::telemetry;
use clap::{Parser, Subcommand};
use std::io::{BufRead, IsTerminal, Write};
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
    /// Manage user accounts in the store (stop the server first).
    #[command(subcommand)]
    Users(UsersCommand),
    /// Manage OAuth clients in the store (stop the server first).
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// List and rotate signing keys (stop the server first).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Validate the configuration and print the effective settings.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Hash a password read from stdin, for `password_hash` in `[[users]]`.
    HashPassword,
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
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

#[derive(Debug, Subcommand)]
enum ClientsCommand {
    /// Register a client; a confidential client's secret is shown once.
    Add {
        client_id: String,
        /// Shown on the consent page.
        #[arg(long)]
        name: Option<String>,
        /// Repeat for each redirect URI.
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// Repeat for each scope it may ask for (default: openid profile email).
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Repeat for each grant (default: authorization_code refresh_token).
        #[arg(long = "grant", value_name = "GRANT")]
        grants: Vec<String>,
        /// A public client (native or single-page app): no secret, PKCE.
        #[arg(long)]
        public: bool,
        /// Part of the same service: consent is implied.
        #[arg(long)]
        first_party: bool,
        /// Its logo on the consent page (https; http on loopback only).
        #[arg(long, value_name = "URL")]
        logo_uri: Option<String>,
        /// Its home page, linked from the consent page (https; http on
        /// loopback only).
        #[arg(long, value_name = "URL")]
        client_uri: Option<String>,
    },
    /// List clients.
    List,
    /// Delete a client.
    Remove { client_id: String },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// List signing keys, active and retired.
    List,
    /// Retire the active key of an algorithm and make a new one. The new
    /// key signs from the next start; the old one stays published until
    /// the tokens it signed have expired.
    Rotate {
        #[arg(long, default_value = "RS256", value_parser = ["RS256", "ES256", "EdDSA"])]
        alg: String,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Check the configuration without starting anything.
    Check,
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
            StoreError::Unusable { .. } => Self::Config(err.to_string()),
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
                Command::Users(command) => users(settings, command),
                Command::Clients(command) => clients(settings, command),
                Command::Keys(command) => keys(settings, command),
                Command::Config(ConfigCommand::Check) => check(&settings),
                Command::HashPassword => hash_password(&settings),
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

/// A context for offline commands, on the configured store.
fn offline_context(settings: Settings) -> Result<Context, Failure> {
    let store = Store::open(&settings.store_file().into())?;
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

fn users(settings: Settings, command: UsersCommand) -> Result<(), Failure> {
    let min_length = settings.passwords.min_length;
    let ctx = offline_context(settings)?;
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
            let user = accounts::create(
                &ctx,
                NewUser {
                    username,
                    password,
                    email,
                    name,
                },
            )?;
            println!("created user `{}` (id {})", user.username, user.id);
        }
        UsersCommand::List => {
            let users = accounts::list(&ctx)?;
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
            let user = accounts::set_disabled(&ctx, &username, true)?;
            println!("disabled `{}` and ended their sessions", user.username);
        }
        UsersCommand::Enable { username } => {
            let user = accounts::set_disabled(&ctx, &username, false)?;
            println!("enabled `{}`", user.username);
        }
        UsersCommand::Remove { username } => {
            let user = accounts::remove(&ctx, &username)?;
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
                accounts::get_by_username(&ctx, &account)?.id
            };
            let user = accounts::rename(&ctx, &id, &new_username)?;
            println!("renamed account {} to `{}`", user.id, user.username);
        }
        UsersCommand::ResetTotp { username } => {
            let had = accounts::reset_totp(&ctx, &username)?;
            if had {
                println!("forgot the authenticator app of `{username}` and ended their sessions");
            } else {
                println!("`{username}` had no authenticator app");
            }
        }
        UsersCommand::SetPassword { username } => {
            let password = read_new_password(&username, min_length)?;
            let user = accounts::set_password(&ctx, &username, &password)?;
            println!(
                "set the password of `{}` and ended their sessions",
                user.username
            );
        }
    }
    Ok(())
}

fn clients(settings: Settings, command: ClientsCommand) -> Result<(), Failure> {
    let ctx = offline_context(settings)?;
    match command {
        ClientsCommand::Add {
            client_id,
            name,
            redirect_uris,
            scopes,
            grants,
            public,
            first_party,
            logo_uri,
            client_uri,
        } => {
            let defaults: SeedClient = toml_seed(&client_id)?;
            let seed = SeedClient {
                name,
                redirect_uris,
                scopes: if scopes.is_empty() {
                    defaults.scopes
                } else {
                    scopes
                },
                grant_types: if grants.is_empty() {
                    defaults.grant_types
                } else {
                    grants
                },
                first_party,
                logo_uri,
                client_uri,
                ..defaults
            };
            let (client, secret) = oauth::clients::create(&ctx, &seed, !public)?;
            println!("created client `{}`", client.client_id);
            match secret {
                Some(secret) => {
                    println!("client_secret: {}", secret.expose());
                    println!("(shown once: tessera keeps only a keyed hash of it)");
                }
                None => println!("public client: no secret; it must use PKCE (S256)"),
            }
        }
        ClientsCommand::List => {
            let clients = oauth::clients::list(&ctx)?;
            println!(
                "{:<24} {:<13} {:<40} SCOPES",
                "CLIENT_ID", "TYPE", "REDIRECT_URIS"
            );
            for client in &clients {
                let kind = match (client.secret_hash.is_some(), client.first_party) {
                    (true, true) => "confidential*",
                    (true, false) => "confidential",
                    (false, true) => "public*",
                    (false, false) => "public",
                };
                println!(
                    "{:<24} {:<13} {:<40} {}",
                    client.client_id,
                    kind,
                    client.redirect_uris.join(" "),
                    client.scopes.join(" ")
                );
            }
            println!(
                "{} client(s); * = first party (implied consent)",
                clients.len()
            );
        }
        ClientsCommand::Remove { client_id } => {
            oauth::clients::remove(&ctx, &client_id)?;
            println!("removed client `{client_id}`");
        }
    }
    Ok(())
}

/// A `[[clients]]` entry with every default, as if written in the config.
fn toml_seed(client_id: &str) -> Result<SeedClient, String> {
    #[derive(serde::Deserialize)]
    struct One {
        clients: Vec<SeedClient>,
    }
    let toml = format!("[[clients]]\nclient_id = {client_id:?}\n");
    config::Config::builder()
        .add_source(config::File::from_str(&toml, config::FileFormat::Toml))
        .build()
        .and_then(|c| c.try_deserialize::<One>())
        .map_err(|err| err.to_string())?
        .clients
        .pop()
        .ok_or_else(|| "no client".to_owned())
}

fn keys(settings: Settings, command: KeysCommand) -> Result<(), Failure> {
    let ctx = offline_context(settings)?;
    match command {
        KeysCommand::List => {
            let keys = crate::keys::list(&ctx.store).map_err(|err| err.to_string())?;
            println!("{:<24} {:<6} {:<22} STATUS", "KID", "ALG", "CREATED");
            for key in &keys {
                let status = match key.retired_at {
                    Some(at) => format!("retired {}", at.date()),
                    None => "active".into(),
                };
                println!(
                    "{:<24} {:<6} {:<22} {status}",
                    key.kid,
                    key.alg.as_str(),
                    key.created_at.date().to_string()
                );
            }
            if keys.is_empty() {
                println!("no keys yet: they are made at the first start of the server");
            }
        }
        KeysCommand::Rotate { alg } => {
            let alg = match alg.as_str() {
                "ES256" => SigningAlg::ES256,
                "EdDSA" => SigningAlg::EdDSA,
                _ => SigningAlg::RS256,
            };
            let kid = crate::keys::rotate(&ctx.store, &ctx.sealer, ctx.now(), alg)
                .map_err(|err| err.to_string())?;
            println!(
                "new {} key {kid}: it signs from the next start of the server",
                alg.as_str()
            );
            println!("the previous key stays published until the tokens it signed have expired");
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

fn read_stdin_line() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|err| format!("cannot read the password from stdin: {err}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn check(settings: &Settings) -> Result<(), Failure> {
    let journeys = crate::journeys::graph::all(settings).map_err(|err| err.to_string())?;
    Store::check(&settings.store_file().into())?;
    let lines = [
        "configuration is valid".to_owned(),
        format!("  server.bind       {}", settings.server.bind),
        format!(
            "  issuer            {}",
            settings.issuer.as_deref().unwrap_or("(the bound address)")
        ),
        format!("  storage.path      {}", settings.storage.path),
        format!(
            "  sessions          idle {}s, absolute {}s, cookie `{}`",
            settings.sessions.idle_timeout_secs,
            settings.sessions.absolute_lifetime_secs,
            settings.sessions.cookie_name
        ),
        format!(
            "  journeys          {}",
            journeys.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
        format!(
            "  mail              {}",
            if settings.mail.smtp_url.is_some() {
                "SMTP"
            } else {
                "outbox folder"
            }
        ),
        format!(
            "  signing           {}",
            settings.oauth.signing_alg.as_str()
        ),
        format!("  users             {} seeded", settings.users.len()),
        format!("  clients           {} seeded", settings.clients.len()),
    ];
    let mut out = std::io::stdout().lock();
    for line in lines {
        writeln!(out, "{line}").map_err(|err| err.to_string())?;
    }
    let Some(path) = settings.store_file() else {
        return Ok(());
    };
    if !path.exists() {
        return Ok(());
    }
    // Read-only: a check neither creates nor migrates the store.
    match Store::inspect(&path, accounts::username_conflicts) {
        Ok(None) => writeln!(
            out,
            "  usernames         not checked (the store is empty or awaits the repair its next start makes)"
        ),
        Ok(Some(conflicts)) if conflicts.is_empty() => {
            writeln!(out, "  usernames         no conflicts in the store")
        }
        Ok(Some(conflicts)) => {
            for conflict in &conflicts {
                eprintln!("warning: {conflict}");
            }
            writeln!(
                out,
                "  usernames         {} conflict(s) in the store (warnings above)",
                conflicts.len()
            )
        }
        Err(err @ StoreError::InUse(_)) => writeln!(
            out,
            "  usernames         not checked ({err}); the server's start-up log names conflicts"
        ),
        Err(err) => return Err(err.into()),
    }
    .map_err(|err| err.to_string())?;
    Ok(())
}

fn hash_password(settings: &Settings) -> Result<(), Failure> {
    let password = if std::io::stdin().is_terminal() {
        SecretString::new(rpassword::prompt_password("Password: ").map_err(|err| err.to_string())?)
    } else {
        SecretString::new(read_stdin_line()?)
    };
    if password.expose().is_empty() {
        return Err(Failure::Usage("the password must not be empty".into()));
    }
    let passwords =
        crate::passwords::Passwords::new(&settings.passwords).map_err(|err| err.to_string())?;
    println!(
        "{}",
        passwords.hash(&password).map_err(|err| err.to_string())?
    );
    Ok(())
}
