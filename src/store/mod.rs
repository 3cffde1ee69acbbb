//! The store: tessera's records and the operations on them, behind the
//! traits of [`tx`], so that a backend can be swapped without touching the
//! domain. The embedded redb file ([`embedded`]) is the default backend; a
//! PostgreSQL database ([`postgres`]) is the one several replicas share.
//!
//! Use: `store.read(|tx| tx.user(id))`, or `store.write(|tx| { ...several
//! changes... })`, which commits when the closure returns `Ok` and aborts on
//! `Err`: every multi-record change is one write transaction. Never hash a
//! password or await inside one.

#[cfg(test)]
mod behaviour;
mod embedded;
mod postgres;
pub mod records;
pub mod tx;

use crate::files::Staged;
use crate::secret::SecretString;
use embedded::Embedded;
use postgres::Postgres;
use std::path::{Path, PathBuf};

pub use records::{
    AuditEntry, AuditEvent, AuditFilter, AuditPosition, AuthorizationCode, Client,
    ClientRegistration, Consent, DeviceApproval, DeviceAuthorization, DeviceStatus,
    InitialAccessToken, Issued, JourneyState, KnownDevice, LoginThrottle, LogoutNotice,
    PasskeyCredential, PasskeyRing, PendingRegistration, PendingUser, ProfiledDevice, PushRequest,
    PushStatus, PushedRequest, RecoveryCode, RecoveryCodes, RefreshToken, Session, SigningKey,
    TotpEnrollment, User,
};
pub use tx::{ReadTx, Transaction, WriteTx};

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoragePath {
    Memory,
    File(PathBuf),
    /// A PostgreSQL database: `storage.url`, password included, and how
    /// long sessions and users read from it are used (`storage.cache_secs`).
    Postgres {
        url: SecretString,
        cache_for: std::time::Duration,
    },
}

impl StoragePath {
    /// Where the store lives, for messages: a PostgreSQL URL without its
    /// password.
    pub fn describe(&self) -> String {
        match self {
            Self::Memory => ":memory:".to_owned(),
            Self::File(file) => file.display().to_string(),
            Self::Postgres { url, .. } => postgres::redact(url.expose()),
        }
    }
}

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the store file {0} is open in another process (a running tessera server?); \
         stop it first, or use another storage.path"
    )]
    InUse(PathBuf),
    /// The configured file cannot hold a store: a configuration error.
    #[error("config key `storage.path`: `{path}` cannot hold the store: {reason}")]
    Unusable { path: PathBuf, reason: String },
    /// `storage.url` names no database tessera can use: the URL is
    /// malformed, the server unreachable, or the credentials refused.
    #[error("config key `storage.url`: cannot use the database at {url}: {reason}")]
    Unreachable {
        /// The URL, its password redacted.
        url: String,
        reason: String,
    },
    #[error(
        "the store was written by a newer tessera (schema {found}, this build knows {known}); upgrade tessera"
    )]
    NewerSchema { found: u64, known: u64 },
    /// The database could not be reached, or went away during the
    /// transaction: an outage to wait out (answered 503, see
    /// [`is_unavailable`]), not a fault of tessera.
    #[error("the database is unavailable")]
    Unavailable(#[source] Unavailable),
    /// The backend failed; its own error is the source.
    #[error("storage error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A migration met a sealed value the key file does not open.
    #[error(
        "the {kind} {id} cannot be opened with the key file (storage.key_file): \
         restore the key file that belongs to this store"
    )]
    Unsealable { kind: &'static str, id: String },
    /// The backup file cannot be written (or exists, without overwrite).
    #[error("cannot write the backup {path}: {source}")]
    BackupTarget {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The backend cannot copy itself into a file.
    #[error("{0}")]
    NoBackup(&'static str),
    #[error("a stored {kind} record cannot be read: {source}")]
    Corrupt {
        kind: &'static str,
        source: serde_json::Error,
    },
}

/// Why the database cannot be used just now, in the driver's words: the
/// source of [`StoreError::Unavailable`], which [`is_unavailable`] finds
/// under any error that wraps it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

/// Whether `err`, or an error it wraps, says that the database cannot be
/// used just now: a request that met it is answered 503 with
/// `Retry-After`, for the client to try again, rather than 500.
pub fn is_unavailable(err: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(err), |err| err.source()).any(|err| err.is::<Unavailable>())
}

/// What a store needs from a backend: transactions, and bringing an older
/// schema up to date.
pub trait Backend: Send + Sync {
    /// A consistent snapshot, taken no later than its first read.
    fn begin_read(&self) -> Result<Box<dyn ReadTx + '_>, StoreError>;
    /// A write transaction; `durable` says whether its commit must reach
    /// the disk before it returns.
    fn begin_write(&self, durable: bool) -> Result<Box<dyn Transaction + '_>, StoreError>;
    /// Migrates a store of an older schema, all at once or not at all.
    fn migrate(&self, rekey: &dyn Rekey) -> Result<(), StoreError>;
    /// The bytes the store takes on disk; `None` for one in memory.
    fn size_on_disk(&self) -> Result<Option<u64>, StoreError>;
    /// The schema version the store records (each backend numbers its own).
    fn schema_version(&self) -> Result<u64, StoreError>;
    /// Writes a copy of the whole store, taken from one snapshot while
    /// writers go on, into the empty file `to` as an embedded store (the
    /// form `tessera serve` opens), schema version included. A backend that
    /// cannot write one returns an error saying so.
    fn backup(&self, to: &Path) -> Result<BackupSummary, StoreError>;
    /// Told when another process sharing the store changed the signing
    /// keys; `None` when no other process can.
    fn signing_keys_changed(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        None
    }
    /// How many HTTP workers suit the store when `server.workers` is 0;
    /// `None` for one per core.
    fn http_workers(&self) -> Option<usize> {
        None
    }
}

/// Why a store in PostgreSQL makes no backup file
/// ([`StoreError::NoBackup`]).
pub const NO_BACKUP_IN_A_DATABASE: &str = "the store is in PostgreSQL (storage.url): back it up \
     with the database's own tools, such as pg_dump (README \"PostgreSQL\")";

/// What a backup holds, for the operator to check at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupSummary {
    /// The size of the backup file.
    pub bytes: u64,
    pub users: u64,
    pub clients: u64,
}

/// What a migration needs from the sealing key: values sealed or hashed
/// under the old (pre-HKDF) key, in the form the current key reads.
pub trait Rekey {
    /// A value sealed before schema 3, sealed under the current key; `None` when
    /// it does not open (the key file is not this store's).
    fn reseal(&self, sealed: &str) -> Option<String>;
    /// A MAC made before schema 3, marked to be checked under the old key.
    fn remac(&self, mac: &str) -> String;
}

/// The store, over whichever backend the configuration chose.
pub struct Store {
    backend: Box<dyn Backend>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

impl Store {
    /// Opens (or creates) the store and checks its schema version. A store
    /// of an older schema is left as it is until [`Store::migrate`], which
    /// needs the sealing key, brings it up to date; the composition root
    /// does that before anything else.
    /// A PostgreSQL database is migrated here, in one transaction under
    /// an advisory lock, as its schema has no data to reseal.
    pub fn open(path: &StoragePath) -> Result<Self, StoreError> {
        let backend: Box<dyn Backend> = match path {
            StoragePath::Memory => Box::new(Embedded::open(None)?),
            StoragePath::File(file) => Box::new(Embedded::open(Some(file))?),
            StoragePath::Postgres { url, cache_for } => Box::new(Postgres::open(url, *cache_for)?),
        };
        Ok(Self { backend })
    }

    /// Checks, without creating or changing anything, that the store can be
    /// opened at `path`: an existing file must be a store that is readable
    /// and writable; otherwise its folder must accept a new file. A store
    /// held by a running server is fine. A database must accept the
    /// connection and hold no schema newer than this build.
    pub fn check(path: &StoragePath) -> Result<(), StoreError> {
        match path {
            StoragePath::Memory => Ok(()),
            StoragePath::File(file) => Embedded::check(file),
            StoragePath::Postgres { url, .. } => Postgres::check(url),
        }
    }

    /// Runs `f` on a snapshot of the store file at `path`, opened read-only
    /// and neither created nor migrated: for `tessera config check`, which
    /// must not change what it inspects. `None` when the file cannot be read
    /// without writing to it: empty (the first start makes a store there) or
    /// left by a crash (the next start repairs it).
    pub fn inspect<T>(
        path: &Path,
        f: impl FnOnce(&dyn ReadTx) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        Embedded::inspect(path, f)
    }

    /// Writes a consistent copy of the whole store to `to` (see
    /// [`Backend::backup`]): first to a temporary file in the same folder,
    /// synced and then renamed, so that `to` is never half a backup. An
    /// existing `to` is replaced only with `overwrite`.
    pub fn backup(&self, to: &Path, overwrite: bool) -> Result<BackupSummary, StoreError> {
        let target = |source| StoreError::BackupTarget {
            path: to.to_owned(),
            source,
        };
        let staged = Staged::beside(to).map_err(target)?;
        let summary = self.backend.backup(staged.path())?;
        staged.publish(overwrite).map_err(target)?;
        Ok(summary)
    }

    /// A consistent copy of the whole store (see [`Backend::backup`]) in a
    /// temporary file of `folder`, to be sent elsewhere: the file leaves
    /// the folder at once and lives as long as the returned handle, so
    /// nothing is left behind, whatever becomes of the sending.
    pub fn backup_to_send(
        &self,
        folder: &Path,
    ) -> Result<(std::fs::File, BackupSummary), StoreError> {
        let temp = |source| StoreError::BackupTarget {
            path: folder.to_owned(),
            source,
        };
        let staged = Staged::beside(&folder.join("tessera-backup.redb")).map_err(temp)?;
        let summary = self.backend.backup(staged.path())?;
        let file = std::fs::File::open(staged.path()).map_err(temp)?;
        // Dropping `staged` removes the name; the open file stays readable.
        Ok((file, summary))
    }

    /// Told when another process sharing the store changed the signing
    /// keys (rotated them, or made the first), for this one to reload them
    /// at once; `None` for a store no other process shares.
    pub fn signing_keys_changed(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        self.backend.signing_keys_changed()
    }

    /// How many HTTP workers suit the store when `server.workers` is 0:
    /// `None` for one per core (a redb store answers without waiting),
    /// more for a database, each of whose calls blocks its worker while it
    /// waits for the network.
    pub fn http_workers(&self) -> Option<usize> {
        self.backend.http_workers()
    }

    /// Brings a store of an older schema up to date.
    pub fn migrate(&self, rekey: &dyn Rekey) -> Result<(), StoreError> {
        self.backend.migrate(rekey)
    }

    /// The schema version the store records, which [`Store::migrate`]
    /// has brought to this build's.
    pub fn schema_version(&self) -> Result<u64, StoreError> {
        self.backend.schema_version()
    }

    /// The bytes the store takes on disk; `None` for one in memory.
    pub fn size_on_disk(&self) -> Result<Option<u64>, StoreError> {
        self.backend.size_on_disk()
    }

    /// Runs `f` in a read transaction: a consistent snapshot, no locks.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&dyn ReadTx) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        f(&*self.backend.begin_read()?)
    }

    /// Runs `f` in a write transaction, committed (durably) if `f` returns
    /// `Ok` and aborted otherwise. Writers are serialised: keep `f` short.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&dyn WriteTx) -> Result<T, E>,
    ) -> Result<T, E> {
        self.write_with(true, f)
    }

    /// Like [`Store::write`], but without an fsync: a crash may lose the
    /// change (it becomes durable with the next durable commit). For
    /// short-lived state whose loss only means starting over, such as a
    /// journey in progress, so that anonymous page views cost no disk flush.
    pub fn write_volatile<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&dyn WriteTx) -> Result<T, E>,
    ) -> Result<T, E> {
        self.write_with(false, f)
    }

    fn write_with<T, E: From<StoreError>>(
        &self,
        durable: bool,
        f: impl FnOnce(&dyn WriteTx) -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = self.backend.begin_write(durable)?;
        // On `Err` the transaction is dropped, which aborts it.
        let value = f(&*tx)?;
        tx.commit()?;
        Ok(value)
    }
}
