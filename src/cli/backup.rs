//! `tessera backup`: a consistent copy of the store that `tessera serve`
//! opens, taken from the stopped store's file, or from a running server
//! through its admin API (the file is then held by the server).

use super::Failure;
use super::remote::{self, AdminApi, RemoteArgs};
use crate::config::Settings;
use crate::http::paths;
use crate::store::{BackupSummary, StoragePath, Store};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub(super) struct BackupArgs {
    /// The backup file to write.
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// Runs `tessera backup` against the configured store.
pub(super) fn run(settings: &Settings, args: &BackupArgs) -> Result<(), Failure> {
    if args.to.exists() && !args.force {
        return Err(Failure::Usage(format!(
            "`{}` exists; pass --force to replace it",
            args.to.display()
        )));
    }
    let summary = match args.remote.admin_api()? {
        Some(api) => from_running_server(&api, &args.to, args.force)?,
        None => from_stopped_store(settings, &args.to, args.force)?,
    };
    report(&args.to, summary);
    Ok(())
}

/// Downloads a backup the running server takes of its store.
fn from_running_server(
    api: &AdminApi,
    to: &Path,
    overwrite: bool,
) -> Result<BackupSummary, Failure> {
    let download = api.download(paths::ADMIN_BACKUP, to, overwrite, |file| {
        // A proxy's error page, saved as a backup, would be found out only
        // on the day of the restore.
        match Store::inspect(file, |_| Ok(())) {
            Ok(Some(())) => Ok(()),
            _ => Err(Failure::Runtime(
                "the server's answer is not a tessera store; nothing was written".into(),
            )),
        }
    })?;
    let count = |name: &str| {
        download
            .headers
            .get(name)
            .and_then(|value| value.to_str().ok()?.parse().ok())
            .unwrap_or(0)
    };
    Ok(BackupSummary {
        bytes: download.bytes,
        users: count(paths::BACKUP_USERS_HEADER),
        clients: count(paths::BACKUP_CLIENTS_HEADER),
    })
}

/// Copies the configured store's file, which no server may hold.
fn from_stopped_store(
    settings: &Settings,
    to: &Path,
    overwrite: bool,
) -> Result<BackupSummary, Failure> {
    // Refused before connecting: the database is not the CLI's to copy.
    if settings.storage.url.is_some() {
        return Err(Failure::Usage(crate::store::NO_BACKUP_IN_A_DATABASE.into()));
    }
    let Some(file) = settings.store_file() else {
        return Err(Failure::Usage(
            "the store is in memory (storage.path = \":memory:\"): only the running server \
             holds it; pass --url URL --token TOKEN to back it up through its admin API"
                .into(),
        ));
    };
    if !file.exists() {
        return Err(Failure::Runtime(format!(
            "there is no store at `{}` (storage.path) to back up",
            file.display()
        )));
    }
    let store = Store::open(&StoragePath::File(file)).map_err(|err| remote::locked(err, true))?;
    Ok(store.backup(to, overwrite)?)
}

/// The result line, on stderr: stdout stays free for scripts.
fn report(to: &Path, summary: BackupSummary) {
    eprintln!(
        "backup written to {}: {}, {} users, {} clients",
        to.display(),
        size(summary.bytes),
        summary.users,
        summary.clients
    );
}

/// A size in the largest binary unit that keeps it above 1.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{bytes} bytes"),
        _ => format!("{value:.1} {}", UNITS[unit]),
    }
}
