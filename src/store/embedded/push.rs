//! Push requests, keyed by their id, with an index by user so a signed-in
//! device can list the requests waiting for it.

use super::tables::{PUSH_REQUESTS, USER_PUSH_REQUESTS};
use super::{Tables, Write, decode, encode};
use crate::store::tx::{PushReads, PushWrites};
use crate::store::{PushRequest, StoreError};
use redb::{ReadableMultimapTable, ReadableTable};
use time::OffsetDateTime;

impl<T: Tables> PushReads for T {
    fn push_request(&self, id: &str) -> Result<Option<PushRequest>, StoreError> {
        let requests = self.table(PUSH_REQUESTS)?;
        let found = requests.get(id)?;
        found
            .map(|bytes| decode("push request", bytes.value()))
            .transpose()
    }

    fn push_requests_of(&self, user_id: &str) -> Result<Vec<PushRequest>, StoreError> {
        let mut found = Vec::new();
        for id in self.multimap(USER_PUSH_REQUESTS)?.get(user_id)? {
            if let Some(request) = self.push_request(id?.value())? {
                found.push(request);
            }
        }
        Ok(found)
    }
}

impl PushWrites for Write {
    fn put_push_request(&self, request: &PushRequest) -> Result<(), StoreError> {
        self.0
            .open_table(PUSH_REQUESTS)?
            .insert(request.id.as_str(), encode(request).as_slice())?;
        self.0
            .open_multimap_table(USER_PUSH_REQUESTS)?
            .insert(request.user_id.as_str(), request.id.as_str())?;
        Ok(())
    }

    fn delete_push_request(&self, id: &str) -> Result<Option<PushRequest>, StoreError> {
        let removed = self
            .0
            .open_table(PUSH_REQUESTS)?
            .remove(id)?
            .map(|bytes| decode::<PushRequest>("push request", bytes.value()))
            .transpose()?;
        if let Some(request) = &removed {
            self.0
                .open_multimap_table(USER_PUSH_REQUESTS)?
                .remove(request.user_id.as_str(), id)?;
        }
        Ok(removed)
    }

    fn delete_expired_push_requests(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        let mut ids = Vec::new();
        for entry in self.table(PUSH_REQUESTS)?.iter()? {
            let (id, bytes) = entry?;
            let request: PushRequest = decode("push request", bytes.value())?;
            if request.expires_at <= now {
                ids.push(id.value().to_owned());
            }
        }
        for id in &ids {
            self.delete_push_request(id)?;
        }
        Ok(ids.len())
    }
}
