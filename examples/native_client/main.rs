//! A native (command-line) app that holds OAuth tokens: the lifecycle an
//! SDK automates, spelled out. `login` runs the authorization-code flow
//! with PKCE (S256) through the system browser and a loopback redirect
//! (RFC 8252: a listener on 127.0.0.1, port chosen at random, `state`
//! checked); `login --embedded` signs in through tessera's REST journey in
//! the terminal instead and exchanges the session for tokens (RFC 8693);
//! `login --device` uses the device authorization grant (RFC 8628): it
//! prints a URL and a code to enter in a browser on any device (a phone,
//! when this terminal has no browser), and polls until the user decides.
//! Tokens go to a file only you can read (mode 0600 from creation); `get`
//! sends the access token as a bearer token, renewing it first when it
//! expires within a minute; `logout` revokes the tokens (RFC 7009) and
//! deletes the file.
//!
//! tessera's config needs a public client (no secret) with a loopback
//! redirect (any port matches, RFC 8252 §7.3); `token_exchange` is for the
//! embedded mode, `first_party` skips the consent page (`examples/examples.toml`
//! has it, with `audience` naming the `resource_server` example's API too),
//! and the device code grant is for `login --device`:
//!
//! ```toml
//! [oauth.scopes]
//! "notes:read" = "Read your notes"
//!
//! [[clients]]
//! client_id = "notes-cli"
//! redirect_uris = ["http://127.0.0.1/callback"]
//! scopes = ["openid", "profile", "offline_access", "notes:read"]
//! grant_types = ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"]
//! audience = ["notes-cli", "notes-api"]
//! first_party = true
//! token_exchange = true
//!
//! [[users]]
//! username = "alice"
//! password = "tea-party-at-four"
//! ```
//!
//! ```sh
//! cargo run -- --config examples/examples.toml            # terminal 1
//! cargo run --example native_client -- login              # opens the browser ($BROWSER if set)
//! cargo run --example native_client -- get http://127.0.0.1:8080/oauth2/userinfo
//! cargo run --example native_client -- logout
//! cargo run --example native_client -- login --embedded   # asks for username and password here
//! cargo run --example native_client -- login --device     # a code to enter at /device, anywhere
//! ```
//!
//! Things to try: look at `tessera-tokens.json` and its mode (`ls -l`); set
//! `access_token_ttl_secs = 30` on the client and watch `get` renew the
//! token each time (the file changes); `get http://127.0.0.1:9100/notes`,
//! the `resource_server` example's API; after `logout`, introspect the old
//! token.
//! Options: `--issuer` (default `http://127.0.0.1:8080`), `--client-id`
//! (`notes-cli`), `--scope`, `--token-file` (`tessera-tokens.json`).

mod client;
mod loopback;
mod token_file;

#[cfg(test)]
mod tests;

use clap::{Parser, Subcommand};
use client::{Field, NativeClient};
use std::path::PathBuf;
use std::process::ExitCode;

/// Errors end the program with their message.
type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    issuer: String,
    #[arg(long, default_value = "notes-cli")]
    client_id: String,
    #[arg(long, default_value = "openid profile offline_access notes:read")]
    scope: String,
    #[arg(long, default_value = "tessera-tokens.json")]
    token_file: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign in and save the tokens.
    Login {
        /// Sign in here, through the REST journey, instead of the browser.
        #[arg(long, conflicts_with = "device")]
        embedded: bool,
        /// Sign in with a code entered in a browser on any device (RFC 8628).
        #[arg(long)]
        device: bool,
    },
    /// GET a URL with the access token; prints the status and the body.
    Get { url: String },
    /// Revoke the tokens and delete the token file.
    Logout,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Error> {
    let client =
        NativeClient::discover(&args.issuer, &args.client_id, &args.scope, args.token_file).await?;
    match args.command {
        Command::Login { embedded, device } => {
            if embedded {
                client.login_embedded(ask_in_terminal).await?;
            } else if device {
                client.login_on_device(show_device_code).await?;
            } else {
                client.login_in_browser(open_system_browser).await?;
            }
            eprintln!("signed in");
        }
        Command::Get { url } => {
            let response = client.get(&url).await?;
            println!("{}", response.status());
            println!("{}", response.text().await?);
        }
        Command::Logout => {
            client.logout().await?;
            eprintln!("signed out; the tokens are revoked");
        }
    }
    Ok(())
}

/// Opens `url` with `$BROWSER`, else the desktop's opener. The URL is
/// printed too, for when no browser opens (open it on this machine: the
/// browser must reach 127.0.0.1 here).
fn open_system_browser(url: &str) {
    eprintln!("Sign in in your browser: {url}");
    let opener = std::env::var("BROWSER").unwrap_or_else(|_| {
        match std::env::consts::OS {
            "macos" => "open",
            "windows" => "explorer",
            _ => "xdg-open",
        }
        .to_owned()
    });
    if let Err(err) = std::process::Command::new(&opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        eprintln!("({opener} could not start: {err}; open the URL yourself)");
    }
}

/// Tells the user where to enter the device's code.
fn show_device_code(codes: &client::DeviceCodes) {
    eprintln!(
        "On any device, open {} and enter the code {}",
        codes.verification_uri, codes.user_code
    );
    if let Some(complete) = &codes.verification_uri_complete {
        eprintln!("(or open {complete}, which fills the code in)");
    }
    eprintln!("Waiting for you to allow it...");
}

/// Asks for a journey field on the terminal, without echo for secrets.
fn ask_in_terminal(field: &Field) -> Result<String, Error> {
    if field.kind == "password" {
        return Ok(rpassword::prompt_password(format!("{}: ", field.label))?);
    }
    eprint!("{}: ", field.label);
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}
