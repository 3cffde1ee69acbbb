//! `tessera keys`: the signing keys in the store, listed and rotated
//! offline.

use super::{Failure, offline_context};
use crate::config::Settings;
use crate::jwa::SigningAlg;
use clap::Subcommand;

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

/// Runs a `keys` command against the configured store.
pub(super) fn run(settings: Settings, command: KeysCommand) -> Result<(), Failure> {
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
                .map_err(|err| err.to_string())?
                .kid;
            println!(
                "new {} key {kid}: it signs from the next start of the server",
                alg.as_str()
            );
            println!("the previous key stays published until the tokens it signed have expired");
        }
    }
    Ok(())
}
