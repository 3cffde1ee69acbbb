//! `tessera keys`: the signing keys in the store, listed and rotated
//! offline or through a running server's admin API.

use super::remote::{AdminApi, RemoteArgs};
use super::{Failure, offline_context};
use crate::audit::{self, Caller, Party};
use crate::config::Settings;
use crate::http::paths;
use crate::jwa::SigningAlg;
use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

#[derive(Debug, Subcommand)]
pub(super) enum KeysCommand {
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

/// `tessera keys`: a command, and where it runs.
#[derive(Debug, Args)]
pub(super) struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// What a command did, printed the same whichever way it went.
enum Outcome {
    Listed(Vec<Row>),
    /// `live`: the running server signs with the new key already.
    Rotated {
        alg: String,
        kid: String,
        live: bool,
    },
}

/// A key as `keys list` shows one, from the store or from the API.
#[derive(Deserialize)]
struct Row {
    kid: String,
    alg: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    retired_at: Option<OffsetDateTime>,
}

/// Runs a `keys` command against the configured store, or through a
/// running server's admin API with `--url`.
pub(super) fn run(settings: Settings, args: KeysArgs) -> Result<(), Failure> {
    let outcome = match args.remote.admin_api()? {
        Some(api) => through_api(&api, args.command)?,
        None => offline(settings, args.command)?,
    };
    print(outcome);
    Ok(())
}

/// Runs `command` on the store file, which no server may hold.
fn offline(settings: Settings, command: KeysCommand) -> Result<Outcome, Failure> {
    let ctx = offline_context(settings, true)?;
    Ok(match command {
        KeysCommand::List => {
            let keys = crate::keys::list(&ctx.store).map_err(|err| err.to_string())?;
            Outcome::Listed(
                keys.into_iter()
                    .map(|key| Row {
                        alg: key.alg.as_str().to_owned(),
                        kid: key.kid,
                        created_at: key.created_at,
                        retired_at: key.retired_at,
                    })
                    .collect(),
            )
        }
        KeysCommand::Rotate { alg } => {
            let alg = match alg.as_str() {
                "ES256" => SigningAlg::ES256,
                "EdDSA" => SigningAlg::EdDSA,
                _ => SigningAlg::RS256,
            };
            let kid = crate::keys::rotate(&ctx.store, &ctx.sealer, ctx.now(), alg)
                .map_err(|err| err.to_string())?
                .kid;
            audit::record_admin(&ctx, "key.rotate", &Caller::cli(), Party::key(&kid))?;
            Outcome::Rotated {
                alg: alg.as_str().to_owned(),
                kid,
                live: false,
            }
        }
    })
}

/// Runs `command` through the admin API.
fn through_api(api: &AdminApi, command: KeysCommand) -> Result<Outcome, Failure> {
    Ok(match command {
        KeysCommand::List => {
            #[derive(Deserialize)]
            struct Items {
                items: Vec<Row>,
            }
            let all: Items = api.get(paths::ADMIN_KEYS, &[])?;
            Outcome::Listed(all.items)
        }
        KeysCommand::Rotate { alg } => {
            let key: Row = api.post(paths::ADMIN_KEYS_ROTATE, &json!({ "alg": alg }))?;
            Outcome::Rotated {
                alg: key.alg,
                kid: key.kid,
                live: true,
            }
        }
    })
}

/// What happened, on stdout.
fn print(outcome: Outcome) {
    match outcome {
        Outcome::Listed(keys) => {
            println!("{:<24} {:<6} {:<22} STATUS", "KID", "ALG", "CREATED");
            for key in &keys {
                let status = match key.retired_at {
                    Some(at) => format!("retired {}", at.date()),
                    None => "active".into(),
                };
                println!(
                    "{:<24} {:<6} {:<22} {status}",
                    key.kid,
                    key.alg,
                    key.created_at.date().to_string()
                );
            }
            if keys.is_empty() {
                println!("no keys yet: they are made at the first start of the server");
            }
        }
        Outcome::Rotated { alg, kid, live } => {
            if live {
                println!("new {alg} key {kid}: the server signs with it from now on");
            } else {
                println!("new {alg} key {kid}: it signs from the next start of the server");
            }
            println!("the previous key stays published until the tokens it signed have expired");
        }
    }
}
