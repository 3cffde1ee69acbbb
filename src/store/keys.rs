//! Signing keys.

use super::tables::SIGNING_KEYS;
use super::{Read, SigningKey, StoreError, WriteTx, decode, encode};
use redb::ReadableTable;

/// Every signing key, retired ones included.
pub fn list(tx: &impl Read) -> Result<Vec<SigningKey>, StoreError> {
    let mut found = Vec::new();
    for entry in tx.table(SIGNING_KEYS)?.iter()? {
        let (_, bytes) = entry?;
        found.push(decode("signing key", bytes.value())?);
    }
    Ok(found)
}

/// Inserts or replaces a key.
pub fn put(tx: &WriteTx, key: &SigningKey) -> Result<(), StoreError> {
    tx.tx
        .open_table(SIGNING_KEYS)?
        .insert(key.kid.as_str(), encode(key).as_slice())?;
    Ok(())
}

/// Removes a key.
pub fn delete(tx: &WriteTx, kid: &str) -> Result<(), StoreError> {
    tx.tx.open_table(SIGNING_KEYS)?.remove(kid)?;
    Ok(())
}
