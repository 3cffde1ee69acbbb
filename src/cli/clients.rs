//! `tessera clients`: OAuth clients in the store, administered offline.

use super::{Failure, audited, offline_context};
use crate::audit::Party;
use crate::config::{SeedClient, Settings};
use crate::oauth;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub(super) enum ClientsCommand {
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

/// Runs a `clients` command against the configured store.
pub(super) fn run(settings: Settings, command: ClientsCommand) -> Result<(), Failure> {
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
            audited(&ctx, "client.create", Party::client(&client.client_id))?;
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
            audited(&ctx, "client.remove", Party::client(&client_id))?;
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
    // The `config` crate, as `Settings::load` reads a config file.
    config::Config::builder()
        .add_source(config::File::from_str(&toml, config::FileFormat::Toml))
        .build()
        .and_then(|c| c.try_deserialize::<One>())
        .map_err(|err| err.to_string())?
        .clients
        .pop()
        .ok_or_else(|| "no client".to_owned())
}
