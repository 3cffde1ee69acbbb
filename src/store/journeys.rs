//! Journeys in progress, keyed by the hash of their `auth_id`.

use super::tables::JOURNEYS;
use super::{JourneyState, Read, StoreError, WriteTx, decode, encode};
use crate::secret::TokenHash;
use redb::ReadableTable;
use time::OffsetDateTime;

/// The journey whose `auth_id` hashes to `hash`.
pub fn get_by_hash(tx: &impl Read, hash: &TokenHash) -> Result<Option<JourneyState>, StoreError> {
    let journeys = tx.table(JOURNEYS)?;
    let found = journeys.get(hash.as_bytes())?;
    found
        .map(|bytes| decode("journey", bytes.value()))
        .transpose()
}

/// Inserts or replaces a journey's state.
pub fn put(tx: &WriteTx, hash: &TokenHash, state: &JourneyState) -> Result<(), StoreError> {
    tx.tx
        .open_table(JOURNEYS)?
        .insert(hash.as_bytes(), encode(state).as_slice())?;
    Ok(())
}

/// Replaces a journey's state only if it is still running; returns whether
/// it was, so a step racing the journey's end cannot bring it back. Attempt
/// counts never go down: a concurrent step's count is kept if higher.
pub fn replace(tx: &WriteTx, hash: &TokenHash, state: &JourneyState) -> Result<bool, StoreError> {
    let mut journeys = tx.tx.open_table(JOURNEYS)?;
    let stored: Option<JourneyState> = journeys
        .get(hash.as_bytes())?
        .map(|bytes| decode("journey", bytes.value()))
        .transpose()?;
    let Some(stored) = stored else {
        return Ok(false);
    };
    let mut state = state.clone();
    for (node, count) in stored.attempts {
        let ours = state.attempts.entry(node).or_default();
        *ours = (*ours).max(count);
    }
    journeys.insert(hash.as_bytes(), encode(&state).as_slice())?;
    Ok(true)
}

/// Counts a failed attempt at `node` on the stored state, atomically;
/// returns the new count, or `None` if the journey is over.
pub fn count_attempt(
    tx: &WriteTx,
    hash: &TokenHash,
    node: &str,
) -> Result<Option<u32>, StoreError> {
    let mut journeys = tx.tx.open_table(JOURNEYS)?;
    let stored: Option<JourneyState> = journeys
        .get(hash.as_bytes())?
        .map(|bytes| decode("journey", bytes.value()))
        .transpose()?;
    let Some(mut state) = stored else {
        return Ok(None);
    };
    let count = state.attempts.entry(node.to_owned()).or_default();
    *count += 1;
    let count = *count;
    journeys.insert(hash.as_bytes(), encode(&state).as_slice())?;
    Ok(Some(count))
}

/// Removes and returns a journey's state: whoever takes it finishes it, so a
/// finished journey cannot be replayed.
pub fn take(tx: &WriteTx, hash: &TokenHash) -> Result<Option<JourneyState>, StoreError> {
    tx.tx
        .open_table(JOURNEYS)?
        .remove(hash.as_bytes())?
        .map(|bytes| decode("journey", bytes.value()))
        .transpose()
}

/// Removes journeys that expired before `now`; returns how many.
pub fn delete_expired(tx: &WriteTx, now: OffsetDateTime) -> Result<usize, StoreError> {
    let mut removed = 0;
    let mut journeys = tx.tx.open_table(JOURNEYS)?;
    journeys.retain(|_, bytes| {
        let keep = serde_json::from_slice::<JourneyState>(bytes)
            .map(|state| state.expires_at > now)
            .unwrap_or(false);
        removed += usize::from(!keep);
        keep
    })?;
    Ok(removed)
}
