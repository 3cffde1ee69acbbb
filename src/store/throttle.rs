//! Failed sign-in counters, keyed by normalised username, failed TOTP
//! codes, keyed by [`totp_key`], and failed client authentications, keyed
//! by [`client_key`].

use super::tables::LOGIN_THROTTLE;
use super::{LoginThrottle, Read, StoreError, WriteTx, decode, encode};
use redb::ReadableTable;

/// The key counting a user's failed TOTP codes, across journeys. A space
/// cannot occur in a normalised username, so no one can choose a username
/// that shares (and so locks, or unlocks) this counter.
pub fn totp_key(user_id: &str) -> String {
    format!("totp {user_id}")
}

/// The key counting a client's failed authentications from one address
/// (an address key of `accounts::lockout`). Client ids and usernames
/// contain no spaces, so no client id can be chosen to share another
/// client's counter, and no username counter meets it.
pub fn client_key(client_id: &str, address_key: &str) -> String {
    format!("client {client_id} {address_key}")
}

/// The counter for a key, if it has failed recently.
pub fn get(tx: &impl Read, key: &str) -> Result<Option<LoginThrottle>, StoreError> {
    let throttles = tx.table(LOGIN_THROTTLE)?;
    let found = throttles.get(key)?;
    found
        .map(|bytes| decode("login throttle", bytes.value()))
        .transpose()
}

/// Records the counter for a key.
pub fn put(tx: &WriteTx, key: &str, throttle: &LoginThrottle) -> Result<(), StoreError> {
    tx.tx
        .open_table(LOGIN_THROTTLE)?
        .insert(key, encode(throttle).as_slice())?;
    Ok(())
}

/// Forgets a key's failures (after a success).
pub fn delete(tx: &WriteTx, key: &str) -> Result<(), StoreError> {
    tx.tx.open_table(LOGIN_THROTTLE)?.remove(key)?;
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
