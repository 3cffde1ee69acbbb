//! The devices each user has remembered (`remember_device`), keyed by
//! user id.

use super::tables::DEVICES;
use super::{KnownDevice, Read, StoreError, WriteTx, decode, encode};
use redb::ReadableTable;

/// A user's remembered devices.
pub fn get_by_user(tx: &impl Read, user_id: &str) -> Result<Vec<KnownDevice>, StoreError> {
    let devices = tx.table(DEVICES)?;
    let found = devices.get(user_id)?;
    found
        .map(|bytes| decode("devices", bytes.value()))
        .transpose()
        .map(Option::unwrap_or_default)
}

/// Replaces a user's remembered devices; an empty list removes the entry.
pub fn put(tx: &WriteTx, user_id: &str, devices: &[KnownDevice]) -> Result<(), StoreError> {
    let mut table = tx.tx.open_table(DEVICES)?;
    if devices.is_empty() {
        table.remove(user_id)?;
    } else {
        table.insert(user_id, encode(&devices).as_slice())?;
    }
    Ok(())
}
