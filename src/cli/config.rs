//! `tessera config check` and `tessera hash-password`: what a config file
//! says and what it may hold, checked or made without starting anything.

use super::{Failure, read_stdin_line};
use crate::accounts;
use crate::config::Settings;
use crate::secret::SecretString;
use crate::store::{Store, StoreError};
use clap::Subcommand;
use std::io::{IsTerminal, Write};

#[derive(Debug, Subcommand)]
pub(super) enum ConfigCommand {
    /// Check the configuration without starting anything.
    Check,
}

/// Validates the settings and the journeys they declare, checks the store
/// without changing it, and prints the effective settings.
pub(super) fn check(settings: &Settings) -> Result<(), Failure> {
    let journeys = crate::journeys::graph::all(settings).map_err(|err| err.to_string())?;
    Store::check(&crate::context::storage(settings))?;
    let lines = [
        "configuration is valid".to_owned(),
        format!("  server.bind       {}", settings.server.bind),
        format!(
            "  issuer            {}",
            settings.issuer.as_deref().unwrap_or("(the bound address)")
        ),
        match &settings.storage.url {
            // Without its password.
            Some(_) => format!(
                "  storage.url       {}",
                crate::context::storage(settings).describe()
            ),
            None => format!(
                "  storage.path      {}",
                crate::context::storage(settings).describe()
            ),
        },
        format!(
            "  sessions          idle {}s, absolute {}s, cookie `{}`",
            settings.sessions.idle_timeout_secs,
            settings.sessions.absolute_lifetime_secs,
            settings.sessions.cookie_name
        ),
        format!(
            "  journeys          {}",
            journeys
                .available
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
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
        format!(
            "  metrics           {}",
            match (&settings.metrics.bind, settings.metrics.enabled) {
                (_, false) => "off".to_owned(),
                (Some(bind), true) => format!("/metrics on {bind}"),
                (None, true) => "/metrics on server.bind, for local clients only".to_owned(),
            }
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

/// Prints the hash of a password read from a prompt or stdin.
pub(super) fn hash_password(settings: &Settings) -> Result<(), Failure> {
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
