//! Journeys in progress, keyed by the hash of their `auth_id`.

use super::tables::JOURNEYS;
use super::{Tables, Write, decode, encode};
use crate::secret::TokenHash;
use crate::store::tx::{JourneyReads, JourneyWrites};
use crate::store::{JourneyState, StoreError};
use redb::ReadableTable;
use time::OffsetDateTime;

impl<T: Tables> JourneyReads for T {
    fn journey(&self, hash: &TokenHash) -> Result<Option<JourneyState>, StoreError> {
        let journeys = self.table(JOURNEYS)?;
        let found = journeys.get(hash.as_bytes())?;
        found
            .map(|bytes| decode("journey", bytes.value()))
            .transpose()
    }
}

impl JourneyWrites for Write {
    fn put_journey(&self, hash: &TokenHash, state: &JourneyState) -> Result<(), StoreError> {
        self.0
            .open_table(JOURNEYS)?
            .insert(hash.as_bytes(), encode(state).as_slice())?;
        Ok(())
    }

    fn take_journey(&self, hash: &TokenHash) -> Result<Option<JourneyState>, StoreError> {
        self.0
            .open_table(JOURNEYS)?
            .remove(hash.as_bytes())?
            .map(|bytes| decode("journey", bytes.value()))
            .transpose()
    }

    fn delete_expired_journeys(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        let mut removed = 0;
        self.0.open_table(JOURNEYS)?.retain(|_, bytes| {
            let keep = serde_json::from_slice::<JourneyState>(bytes)
                .map(|state| state.expires_at > now)
                .unwrap_or(false);
            removed += usize::from(!keep);
            keep
        })?;
        Ok(removed)
    }
}
