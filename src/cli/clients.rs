//! `tessera clients`: OAuth clients in the store, administered offline or
//! through a running server's admin API.

use super::remote::{self, AdminApi, RemoteArgs};
use super::{Failure, offline_context};
use crate::audit::Caller;
use crate::config::Settings;
use crate::http::paths;
use crate::oauth;
use crate::secret::SecretString;
use crate::store::Client;
use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Subcommand)]
pub(super) enum ClientsCommand {
    /// Register a client; a confidential client's secret is shown once.
    Add(NewClient),
    /// List clients.
    List,
    /// Delete a client.
    Remove { client_id: String },
}

/// `tessera clients add`: a new client's metadata.
#[derive(Debug, Args)]
pub(super) struct NewClient {
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
}

impl NewClient {
    /// The metadata of a `[[clients]]` entry, as the admin API takes it;
    /// what is left out takes its default there.
    fn metadata(self) -> serde_json::Value {
        let mut metadata = json!({
            "client_id": self.client_id,
            "name": self.name,
            "redirect_uris": self.redirect_uris,
            "public": self.public,
            "first_party": self.first_party,
            "logo_uri": self.logo_uri,
            "client_uri": self.client_uri,
        });
        if !self.scopes.is_empty() {
            metadata["scopes"] = json!(self.scopes);
        }
        if !self.grants.is_empty() {
            metadata["grant_types"] = json!(self.grants);
        }
        metadata
    }
}

/// `tessera clients`: a command, and where it runs.
#[derive(Debug, Args)]
pub(super) struct ClientsArgs {
    #[command(subcommand)]
    command: ClientsCommand,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// What a command did, printed the same whichever way it went.
enum Outcome {
    Created {
        client_id: String,
        secret: Option<SecretString>,
    },
    Listed(Vec<Row>),
    Removed(String),
}

/// A client as `clients list` shows one, from the store or from the API.
#[derive(Deserialize)]
struct Row {
    client_id: String,
    confidential: bool,
    first_party: bool,
    redirect_uris: Vec<String>,
    scopes: Vec<String>,
}

impl From<Client> for Row {
    fn from(client: Client) -> Self {
        Self {
            confidential: client.secret_hash.is_some(),
            client_id: client.client_id,
            first_party: client.first_party,
            redirect_uris: client.redirect_uris,
            scopes: client.scopes,
        }
    }
}

/// Runs a `clients` command against the configured store, or through a
/// running server's admin API with `--url`.
pub(super) fn run(settings: Settings, args: ClientsArgs) -> Result<(), Failure> {
    let outcome = match args.remote.admin_api()? {
        Some(api) => through_api(&api, args.command)?,
        None => offline(settings, args.command)?,
    };
    print(outcome);
    Ok(())
}

/// Runs `command` on the store file, which no server may hold.
fn offline(settings: Settings, command: ClientsCommand) -> Result<Outcome, Failure> {
    let ctx = offline_context(settings, true)?;
    Ok(match command {
        ClientsCommand::Add(new) => {
            let (seed, confidential) = oauth::clients::new_metadata(new.metadata())?;
            let (client, secret) =
                oauth::clients::create(&ctx, &seed, confidential, &Caller::cli())?;
            Outcome::Created {
                client_id: client.client_id,
                secret,
            }
        }
        ClientsCommand::List => Outcome::Listed(
            oauth::clients::list(&ctx)?
                .into_iter()
                .map(Row::from)
                .collect(),
        ),
        ClientsCommand::Remove { client_id } => {
            oauth::clients::remove(&ctx, &client_id, &Caller::cli())?;
            Outcome::Removed(client_id)
        }
    })
}

/// Runs `command` through the admin API.
fn through_api(api: &AdminApi, command: ClientsCommand) -> Result<Outcome, Failure> {
    Ok(match command {
        ClientsCommand::Add(new) => {
            #[derive(Deserialize)]
            struct Created {
                client_id: String,
                client_secret: Option<SecretString>,
            }
            let created: Created = api.post(paths::ADMIN_CLIENTS, &new.metadata())?;
            Outcome::Created {
                client_id: created.client_id,
                secret: created.client_secret,
            }
        }
        ClientsCommand::List => {
            #[derive(Deserialize)]
            struct Items {
                items: Vec<Row>,
            }
            let all: Items = api.get(paths::ADMIN_CLIENTS, &[])?;
            Outcome::Listed(all.items)
        }
        ClientsCommand::Remove { client_id } => {
            api.delete(&format!(
                "{}/{}",
                paths::ADMIN_CLIENTS,
                remote::segment(&client_id)
            ))?;
            Outcome::Removed(client_id)
        }
    })
}

/// What happened, on stdout.
fn print(outcome: Outcome) {
    match outcome {
        Outcome::Created { client_id, secret } => {
            println!("created client `{client_id}`");
            match secret {
                Some(secret) => {
                    println!("client_secret: {}", secret.expose());
                    println!("(shown once: tessera keeps only a keyed hash of it)");
                }
                None => println!("public client: no secret; it must use PKCE (S256)"),
            }
        }
        Outcome::Listed(clients) => {
            println!(
                "{:<24} {:<13} {:<40} SCOPES",
                "CLIENT_ID", "TYPE", "REDIRECT_URIS"
            );
            for client in &clients {
                let kind = match (client.confidential, client.first_party) {
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
        Outcome::Removed(client_id) => println!("removed client `{client_id}`"),
    }
}
