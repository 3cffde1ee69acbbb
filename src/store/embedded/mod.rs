//! The embedded backend: one redb file (or memory), the only code that
//! touches redb. Each table family's file implements that family's traits
//! of [`crate::store::tx`] for both kinds of transaction.

mod audit;
mod backup;
mod clients;
mod devices;
mod grants;
mod journeys;
mod keys;
mod leases;
mod logout;
mod migrations;
mod passkeys;
mod push;
mod sessions;
mod tables;
mod throttle;
mod users;

use super::tx::{ReadTx, Transaction};
use super::{Backend, BackupSummary, Rekey, StoreError};
use redb::{
    Database, Durability, Key, MultimapTableDefinition, ReadableDatabase, ReadableMultimapTable,
    ReadableTable, TableDefinition, Value,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use tables::{META, SCHEMA_VERSION};

/// A redb database holding every table of [`tables`].
pub struct Embedded {
    db: Database,
    /// Its file; none in memory.
    file: Option<PathBuf>,
}

fn unusable(path: &Path, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Unusable {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// The store file at `path`, opened read-only; `None` when it cannot be
/// read without writing to it: empty (the first start makes a store there)
/// or left by a crash (the next start repairs it).
fn open_read_only(path: &Path) -> Result<Option<redb::ReadOnlyDatabase>, StoreError> {
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

/// redb's errors are the backend's own: they reach logs as the cause of a
/// [`StoreError::Backend`].
macro_rules! backend_error {
    ($($ty:ty),*) => {$(
        impl From<$ty> for StoreError {
            fn from(err: $ty) -> Self {
                StoreError::Backend(Box::new(redb::Error::from(err)))
            }
        }
    )*};
}
backend_error!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

impl Embedded {
    /// Opens (or creates) the store in `file`, or in memory without one,
    /// creates missing tables and checks the schema version.
    pub fn open(file: Option<&Path>) -> Result<Self, StoreError> {
        let db = match file {
            None => {
                Database::builder().create_with_backend(redb::backends::InMemoryBackend::new())?
            }
            Some(file) => match Database::create(file) {
                Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                    return Err(StoreError::InUse(file.to_owned()));
                }
                Err(err) => return Err(unusable(file, err)),
                Ok(db) => db,
            },
        };
        let store = Self {
            db,
            file: file.map(Path::to_owned),
        };
        store.prepare()?;
        Ok(store)
    }

    /// Checks, without creating or changing anything, that a store can be
    /// opened at `file`: an existing file must be a redb store that is
    /// readable and writable; otherwise its folder must accept a new file.
    /// A store held by a running server is fine.
    pub fn check(file: &Path) -> Result<(), StoreError> {
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
            _ => Path::new("."),
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

    /// Runs `f` on a snapshot of the file at `path`, opened read-only and
    /// neither created nor migrated; `None` when the file cannot be read
    /// without writing to it.
    pub fn inspect<T>(
        path: &Path,
        f: impl FnOnce(&dyn ReadTx) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let Some(db) = open_read_only(path)? else {
            return Ok(None);
        };
        let tx = Read(db.begin_read()?);
        f(&tx).map(Some)
    }

    /// Creates every table (so read transactions never meet a missing one)
    /// and records the schema version of a new store, or checks that of an
    /// existing one.
    fn prepare(&self) -> Result<(), StoreError> {
        let tx = Write(self.db.begin_write()?);
        tables::create_all(&tx.0)?;
        let found = schema_version(&tx)?;
        match found {
            Some(found) if found > SCHEMA_VERSION => {
                return Err(StoreError::NewerSchema {
                    found,
                    known: SCHEMA_VERSION,
                });
            }
            Some(_) => {}
            None => {
                tx.0.open_table(META)?
                    .insert("schema_version", SCHEMA_VERSION)?;
            }
        }
        tx.0.commit()?;
        Ok(())
    }
}

impl Backend for Embedded {
    fn begin_read(&self) -> Result<Box<dyn ReadTx + '_>, StoreError> {
        Ok(Box::new(Read(self.db.begin_read()?)))
    }

    fn begin_write(&self, durable: bool) -> Result<Box<dyn Transaction + '_>, StoreError> {
        let mut tx = self.db.begin_write()?;
        if !durable {
            tx.set_durability(Durability::None)?;
        }
        Ok(Box::new(Write(tx)))
    }

    fn backup(&self, to: &Path) -> Result<BackupSummary, StoreError> {
        backup::copy(&self.db.begin_read()?, to)
    }

    /// One version at a time, in one write transaction: a crash leaves the
    /// old schema whole.
    fn migrate(&self, rekey: &dyn Rekey) -> Result<(), StoreError> {
        let current = |found: Option<u64>| found.is_none_or(|found| found >= SCHEMA_VERSION);
        if current(schema_version(&Read(self.db.begin_read()?))?) {
            return Ok(());
        }
        let tx = Write(self.db.begin_write()?);
        let found = schema_version(&tx)?;
        if current(found) {
            return Ok(());
        }
        if found.is_some_and(|found| found < 2) {
            migrations::rekey_usernames(&tx)?;
        }
        if found.is_some_and(|found| found < 3) {
            migrations::reseal_under_derived_keys(&tx, rekey)?;
        }
        tx.0.open_table(META)?
            .insert("schema_version", SCHEMA_VERSION)?;
        tx.0.commit()?;
        Ok(())
    }

    fn schema_version(&self) -> Result<u64, StoreError> {
        Ok(schema_version(&Read(self.db.begin_read()?))?.unwrap_or(SCHEMA_VERSION))
    }

    fn size_on_disk(&self) -> Result<Option<u64>, StoreError> {
        let Some(file) = &self.file else {
            return Ok(None);
        };
        let meta = std::fs::metadata(file).map_err(|err| StoreError::Backend(Box::new(err)))?;
        Ok(Some(meta.len()))
    }
}

/// A read-only snapshot.
struct Read(redb::ReadTransaction);

/// A write transaction; reads through it see its own uncommitted changes.
/// Dropped without [`Transaction::commit`], it aborts.
struct Write(redb::WriteTransaction);

impl Transaction for Write {
    fn commit(self: Box<Self>) -> Result<(), StoreError> {
        Ok(self.0.commit()?)
    }
}

/// Opening tables for reading, the same way in both kinds of transaction,
/// so that each family implements its reads once for both.
trait Tables {
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
                Ok(self.0.open_table(def)?)
            }

            fn multimap<K: Key + 'static, V: Key + 'static>(
                &self,
                def: MultimapTableDefinition<'static, K, V>,
            ) -> Result<impl ReadableMultimapTable<K, V>, StoreError> {
                Ok(self.0.open_multimap_table(def)?)
            }
        }
    )*};
}
tables_for!(Read, Write);

/// The schema version the store records.
fn schema_version(tx: &impl Tables) -> Result<Option<u64>, StoreError> {
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

/// The key of a user's grant to a client, under which consents and refresh
/// families are indexed.
fn grant_key(user_id: &str, client_id: &str) -> String {
    // User ids are base64url: a space cannot occur in them.
    format!("{user_id} {client_id}")
}
