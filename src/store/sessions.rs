//! Sessions, keyed by the hash of their token, with an index by user.

use super::tables::{SESSIONS, USER_SESSIONS};
use super::{Read, Session, StoreError, WriteTx, decode, encode, sealed::Tables};
use crate::secret::TokenHash;
use redb::{ReadableMultimapTable, ReadableTable};

/// The session whose token hashes to `hash`.
pub fn get_by_hash(tx: &impl Read, hash: &TokenHash) -> Result<Option<Session>, StoreError> {
    let sessions = tx.table(SESSIONS)?;
    let found = sessions.get(hash.as_bytes())?;
    found
        .map(|bytes| decode("session", bytes.value()))
        .transpose()
}

/// Every session of a user, with the hash it is stored under.
pub fn list_by_user(
    tx: &impl Read,
    user_id: &str,
) -> Result<Vec<(TokenHash, Session)>, StoreError> {
    let sessions = tx.table(SESSIONS)?;
    let mut found = Vec::new();
    for hash in tx.multimap(USER_SESSIONS)?.get(user_id)? {
        let Some(hash) = TokenHash::from_slice(hash?.value()) else {
            continue;
        };
        if let Some(bytes) = sessions.get(hash.as_bytes())? {
            found.push((hash, decode("session", bytes.value())?));
        }
    }
    Ok(found)
}

/// Inserts or replaces a session.
pub fn put(tx: &WriteTx, hash: &TokenHash, session: &Session) -> Result<(), StoreError> {
    tx.tx
        .open_table(SESSIONS)?
        .insert(hash.as_bytes(), encode(session).as_slice())?;
    tx.tx
        .open_multimap_table(USER_SESSIONS)?
        .insert(session.user_id.as_str(), hash.as_bytes())?;
    Ok(())
}

/// Removes a session; returns it if it existed.
pub fn delete(tx: &WriteTx, hash: &TokenHash) -> Result<Option<Session>, StoreError> {
    let removed = tx
        .tx
        .open_table(SESSIONS)?
        .remove(hash.as_bytes())?
        .map(|bytes| decode::<Session>("session", bytes.value()))
        .transpose()?;
    if let Some(session) = &removed {
        tx.tx
            .open_multimap_table(USER_SESSIONS)?
            .remove(session.user_id.as_str(), hash.as_bytes())?;
    }
    Ok(removed)
}

/// Removes every session for which `expired` says so; returns how many.
pub fn delete_where(
    tx: &WriteTx,
    mut expired: impl FnMut(&Session) -> bool,
) -> Result<usize, StoreError> {
    let mut doomed = Vec::new();
    for entry in tx.table(SESSIONS)?.iter()? {
        let (hash, bytes) = entry?;
        let session: Session = decode("session", bytes.value())?;
        if expired(&session) {
            doomed.extend(TokenHash::from_slice(hash.value()));
        }
    }
    for hash in &doomed {
        delete(tx, hash)?;
    }
    Ok(doomed.len())
}
