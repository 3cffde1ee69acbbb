//! Failed sign-in counters, keyed by normalised username.

use super::tables::LOGIN_THROTTLE;
use super::{LoginThrottle, Read, StoreError, WriteTx, decode, encode};
use redb::ReadableTable;

/// The counter for a username, if it has failed recently.
pub fn get(tx: &impl Read, username: &str) -> Result<Option<LoginThrottle>, StoreError> {
    let throttles = tx.table(LOGIN_THROTTLE)?;
    let found = throttles.get(username)?;
    found
        .map(|bytes| decode("login throttle", bytes.value()))
        .transpose()
}

/// Records the counter for a username.
pub fn put(tx: &WriteTx, username: &str, throttle: &LoginThrottle) -> Result<(), StoreError> {
    tx.tx
        .open_table(LOGIN_THROTTLE)?
        .insert(username, encode(throttle).as_slice())?;
    Ok(())
}

/// Forgets a username's failures (after a successful sign-in).
pub fn delete(tx: &WriteTx, username: &str) -> Result<(), StoreError> {
    tx.tx.open_table(LOGIN_THROTTLE)?.remove(username)?;
    Ok(())
}

/// Removes counters that `stale` says no longer matter; returns how many.
pub fn delete_where(
    tx: &WriteTx,
    mut stale: impl FnMut(&LoginThrottle) -> bool,
) -> Result<usize, StoreError> {
    let mut removed = 0;
    tx.tx.open_table(LOGIN_THROTTLE)?.retain(|_, bytes| {
        let keep = serde_json::from_slice::<LoginThrottle>(bytes)
            .map(|throttle| !stale(&throttle))
            .unwrap_or(false);
        removed += usize::from(!keep);
        keep
    })?;
    Ok(removed)
}
