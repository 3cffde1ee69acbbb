//! Push requests (`push_approval`), keyed by their id, with an index by
//! user so a signed-in device can list the requests waiting for it.

use super::tables::{PUSH_REQUESTS, USER_PUSH_REQUESTS};
use super::{PushRequest, Read, StoreError, WriteTx, decode, encode, sealed::Tables};
use redb::{ReadableMultimapTable, ReadableTable};

/// The push request with this id.
pub fn get_by_id(tx: &impl Read, id: &str) -> Result<Option<PushRequest>, StoreError> {
    let requests = tx.table(PUSH_REQUESTS)?;
    let found = requests.get(id)?;
    found
        .map(|bytes| decode("push request", bytes.value()))
        .transpose()
}

/// Every push request of a user, whatever its status.
pub fn list_by_user(tx: &impl Read, user_id: &str) -> Result<Vec<PushRequest>, StoreError> {
    let mut found = Vec::new();
    for id in tx.multimap(USER_PUSH_REQUESTS)?.get(user_id)? {
        if let Some(request) = get_by_id(tx, id?.value())? {
            found.push(request);
        }
    }
    Ok(found)
}

/// Inserts or replaces a push request.
pub fn put(tx: &WriteTx, request: &PushRequest) -> Result<(), StoreError> {
    tx.tx
        .open_table(PUSH_REQUESTS)?
        .insert(request.id.as_str(), encode(request).as_slice())?;
    tx.tx
        .open_multimap_table(USER_PUSH_REQUESTS)?
        .insert(request.user_id.as_str(), request.id.as_str())?;
    Ok(())
}

/// Removes a push request; returns it if it existed.
pub fn delete(tx: &WriteTx, id: &str) -> Result<Option<PushRequest>, StoreError> {
    let removed = tx
        .tx
        .open_table(PUSH_REQUESTS)?
        .remove(id)?
        .map(|bytes| decode::<PushRequest>("push request", bytes.value()))
        .transpose()?;
    if let Some(request) = &removed {
        tx.tx
            .open_multimap_table(USER_PUSH_REQUESTS)?
            .remove(request.user_id.as_str(), id)?;
    }
    Ok(removed)
}

/// Removes every push request for which `doomed` says so; returns how many.
pub fn delete_where(
    tx: &WriteTx,
    mut doomed: impl FnMut(&PushRequest) -> bool,
) -> Result<usize, StoreError> {
    let mut ids = Vec::new();
    for entry in tx.table(PUSH_REQUESTS)?.iter()? {
        let (id, bytes) = entry?;
        let request: PushRequest = decode("push request", bytes.value())?;
        if doomed(&request) {
            ids.push(id.value().to_owned());
        }
    }
    for id in &ids {
        delete(tx, id)?;
    }
    Ok(ids.len())
}
