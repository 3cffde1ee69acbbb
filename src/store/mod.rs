//! The store: the only code that touches redb. Its API speaks tessera's own
//! types ([`records`]), so that another backend (PostgreSQL) can replace it
//! without touching the domain code.
//!
//! Use: `store.read(|tx| users::get_by_id(tx, id))`, or
//! `store.write(|tx| { ...several changes... })`, which commits when the
//! closure returns `Ok` and aborts on `Err`: every multi-record change is one
//! write transaction. Never hash a password or await inside one.

pub mod clients;
pub mod devices;
pub mod grants;
pub mod journeys;
pub mod keys;
mod migrations;
pub mod push;
pub mod records;
pub mod sessions;
mod tables;
pub mod throttle;
pub mod users;

use redb::{
    Database, Durability, Key, MultimapTableDefinition, ReadableDatabase, ReadableMultimapTable,
    ReadableTable, TableDefinition, Value,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::PathBuf;
use tables::{META, SCHEMA_VERSION};

pub use records::{
    AuthorizationCode, Client, Consent, Issued, JourneyState, KnownDevice, LoginThrottle,
    PendingUser, ProfiledDevice, PushRequest, PushStatus, RefreshToken, Session, SigningKey,
    TotpEnrollment, User,
};

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoragePath {
    Memory,
    File(PathBuf),
}

impl From<Option<PathBuf>> for StoragePath {
    /// A file, or memory when there is none (`Settings::store_file`).
    fn from(file: Option<PathBuf>) -> Self {
        file.map_or(Self::Memory, Self::File)
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
    #[error(
        "the store file was written by a newer tessera (schema {found}, this build knows {known}); upgrade tessera"
    )]
    NewerSchema { found: u64, known: u64 },
    #[error("storage error: {0}")]
    Backend(#[from] redb::Error),
    /// A migration met a sealed value the key file does not open.
    #[error(
        "the {kind} {id} cannot be opened with the key file (storage.key_file): \
         restore the key file that belongs to this store"
    )]
    Unsealable { kind: &'static str, id: String },
    #[error("a stored {kind} record cannot be read: {source}")]
    Corrupt {
        kind: &'static str,
        source: serde_json::Error,
    },
}

fn unusable(path: &std::path::Path, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Unusable {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// The store file at `path`, opened read-only; `None` when it cannot be
/// read without writing to it: empty (the first start makes a store there)
/// or left by a crash (the next start repairs it).
fn open_read_only(path: &std::path::Path) -> Result<Option<redb::ReadOnlyDatabase>, StoreError> {
    if std::fs::metadata(path).is_ok_and(|meta| meta.len() == 0) {
        return Ok(None);
    }
    match redb::ReadOnlyDatabase::open(path) {
        Ok(db) => Ok(Some(db)),
        Err(redb::DatabaseError::DatabaseAlreadyOpen) => Err(StoreError::InUse(path.to_owned())),
        Err(redb::DatabaseError::RepairAborted) => Ok(None),
        Err(err) => Err(unusable(path, err)),
    }
}

macro_rules! backend_error {
    ($($ty:ty),*) => {$(
        impl From<$ty> for StoreError {
            fn from(err: $ty) -> Self {
                StoreError::Backend(redb::Error::from(err))
            }
        }
    )*};
}
backend_error!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// The embedded database.
pub struct Store {
    db: Database,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

impl Store {
    /// Opens (or creates) the store, creates missing tables and checks the
    /// schema version. A store of an older schema is left as it is until
    /// [`Store::migrate`], which needs the sealing key, brings it up to
    /// date; the domain's `Context` does that before anything else.
    pub fn open(path: &StoragePath) -> Result<Self, StoreError> {
        let db = match path {
            StoragePath::Memory => {
                Database::builder().create_with_backend(redb::backends::InMemoryBackend::new())?
            }
            StoragePath::File(file) => match Database::create(file) {
                Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                    return Err(StoreError::InUse(file.clone()));
                }
                Err(err) => return Err(unusable(file, err)),
                Ok(db) => db,
            },
        };
        let store = Self { db };
        store.prepare()?;
        Ok(store)
    }

    /// Checks, without creating or changing anything, that the store can
    /// be opened at `path`: an existing file must be a redb store that is
    /// readable and writable; otherwise its folder must accept a new file.
    /// A store held by a running server is fine.
    pub fn check(path: &StoragePath) -> Result<(), StoreError> {
        let StoragePath::File(file) = path else {
            return Ok(());
        };
        if file.exists() {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(file)
                .map_err(|err| unusable(file, err))?;
            // Held by a server is fine too.
            return match open_read_only(file) {
                Ok(_) | Err(StoreError::InUse(_)) => Ok(()),
                Err(err) => Err(err),
            };
        }
        let folder = match file.parent() {
            Some(folder) if !folder.as_os_str().is_empty() => folder,
            _ => std::path::Path::new("."),
        };
        if !folder.is_dir() {
            return Err(unusable(
                file,
                format!("`{}` is not a folder", folder.display()),
            ));
        }
        // Permissions alone do not say whether a file can be made here
        // (root, ACLs, read-only mounts): make one and remove it.
        let probe = folder.join(format!(".tessera-check-{}", std::process::id()));
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&probe)
            .map_err(|err| unusable(file, err))?;
        // A leftover probe is harmless; the check has its answer.
        let _ = std::fs::remove_file(&probe);
        Ok(())
    }

    /// Creates every table (so read transactions never meet a missing one)
    /// and records the schema version of a new store, or checks that of an
    /// existing one.
    fn prepare(&self) -> Result<(), StoreError> {
        self.write(|tx| {
            tables::create_all(&tx.tx)?;
            let mut meta = tx.tx.open_table(META)?;
            let found = meta.get("schema_version")?.map(|v| v.value());
            match found {
                Some(found) if found > SCHEMA_VERSION => Err(StoreError::NewerSchema {
                    found,
                    known: SCHEMA_VERSION,
                }),
                Some(_) => Ok(()),
                None => {
                    meta.insert("schema_version", SCHEMA_VERSION)?;
                    Ok(())
                }
            }
        })
    }

    /// Runs `f` on a snapshot of the store file at `path`, opened read-only
    /// and neither created nor migrated: for `tessera config check`, which
    /// must not change what it inspects. `None` when the file cannot be read
    /// without writing to it: empty (the first start makes a store there) or
    /// left by a crash (the next start repairs it).
    pub fn inspect<T>(
        path: &std::path::Path,
        f: impl FnOnce(&ReadTx) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let Some(db) = open_read_only(path)? else {
            return Ok(None);
        };
        let tx = ReadTx {
            tx: db.begin_read()?,
        };
        f(&tx).map(Some)
    }

    /// Brings a store of an older schema up to date, one version at a time,
    /// in one write transaction: a crash leaves the old schema whole.
    pub fn migrate(&self, rekey: &dyn Rekey) -> Result<(), StoreError> {
        let current = |found: Option<u64>| found.is_none_or(|found| found >= SCHEMA_VERSION);
        if current(self.read(schema_version)?) {
            return Ok(());
        }
        self.write(|tx| {
            let found = schema_version(tx)?;
            if current(found) {
                return Ok(());
            }
            if found.is_some_and(|found| found < 2) {
                migrations::rekey_usernames(tx)?;
            }
            if found.is_some_and(|found| found < 3) {
                migrations::reseal_under_derived_keys(tx, rekey)?;
            }
            tx.tx
                .open_table(META)?
                .insert("schema_version", SCHEMA_VERSION)?;
            Ok(())
        })
    }

    /// Runs `f` in a read transaction: a consistent snapshot, no locks.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&ReadTx) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = ReadTx {
            tx: self.db.begin_read()?,
        };
        f(&tx)
    }

    /// Runs `f` in a write transaction, committed (durably) if `f` returns
    /// `Ok` and aborted otherwise. Writers are serialised: keep `f` short.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&WriteTx) -> Result<T, E>,
    ) -> Result<T, E> {
        self.write_with(Durability::Immediate, f)
    }

    /// Like [`Store::write`], but without an fsync: a crash may lose the
    /// change (it becomes durable with the next durable commit). For
    /// short-lived state whose loss only means starting over, such as a
    /// journey in progress, so that anonymous page views cost no disk flush.
    pub fn write_volatile<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&WriteTx) -> Result<T, E>,
    ) -> Result<T, E> {
        self.write_with(Durability::None, f)
    }

    fn write_with<T, E: From<StoreError>>(
        &self,
        durability: Durability,
        f: impl FnOnce(&WriteTx) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut tx = self.db.begin_write().map_err(StoreError::from)?;
        tx.set_durability(durability)
            .map_err(|err| StoreError::Backend(redb::Error::from(err)))?;
        let tx = WriteTx { tx };
        match f(&tx) {
            Ok(value) => {
                tx.tx.commit().map_err(StoreError::from)?;
                Ok(value)
            }
            Err(err) => {
                // Dropping an uncommitted transaction aborts it as well; an
                // explicit abort only surfaces its own error, which is moot.
                let _ = tx.tx.abort();
                Err(err)
            }
        }
    }
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

/// A read-only snapshot.
pub struct ReadTx {
    tx: redb::ReadTransaction,
}

/// A write transaction; reads through it see its own uncommitted changes.
pub struct WriteTx {
    tx: redb::WriteTransaction,
}

/// Anything the store's read functions accept: a [`ReadTx`] or a [`WriteTx`].
pub trait Read: sealed::Tables {}
impl<T: sealed::Tables> Read for T {}

mod sealed {
    use super::*;

    /// Opening tables for reading, the same way in both kinds of transaction.
    pub trait Tables {
        fn table<K: Key + 'static, V: Value + 'static>(
            &self,
            def: TableDefinition<'static, K, V>,
        ) -> Result<impl ReadableTable<K, V>, StoreError>;

        fn multimap<K: Key + 'static, V: Key + 'static>(
            &self,
            def: MultimapTableDefinition<'static, K, V>,
        ) -> Result<impl ReadableMultimapTable<K, V>, StoreError>;
    }

    /// Both transaction types open tables the same way.
    macro_rules! tables_for {
        ($($tx:ty),*) => {$(
            impl Tables for $tx {
                fn table<K: Key + 'static, V: Value + 'static>(
                    &self,
                    def: TableDefinition<'static, K, V>,
                ) -> Result<impl ReadableTable<K, V>, StoreError> {
                    Ok(self.tx.open_table(def)?)
                }

                fn multimap<K: Key + 'static, V: Key + 'static>(
                    &self,
                    def: MultimapTableDefinition<'static, K, V>,
                ) -> Result<impl ReadableMultimapTable<K, V>, StoreError> {
                    Ok(self.tx.open_multimap_table(def)?)
                }
            }
        )*};
    }
    tables_for!(ReadTx, WriteTx);
}

/// The schema version the store records.
fn schema_version(tx: &impl Read) -> Result<Option<u64>, StoreError> {
    Ok(tx.table(META)?.get("schema_version")?.map(|v| v.value()))
}

/// Encodes a record (see `tables` for why JSON).
fn encode<T: Serialize>(record: &T) -> Vec<u8> {
    // Serialising plain structs of strings, numbers and timestamps to a
    // Vec cannot fail; an empty record would be caught on the next read.
    serde_json::to_vec(record).unwrap_or_default()
}

/// Decodes a stored record; `kind` names it in the error.
fn decode<T: DeserializeOwned>(kind: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt { kind, source })
}
