//! OAuth clients and the consents users gave them.

use super::tables::{CLIENTS, CONSENTS};
use super::{Client, Consent, Read, StoreError, WriteTx, decode, encode};
use redb::ReadableTable;

/// The client with this id.
pub fn get_by_id(tx: &impl Read, client_id: &str) -> Result<Option<Client>, StoreError> {
    let clients = tx.table(CLIENTS)?;
    let found = clients.get(client_id)?;
    found
        .map(|bytes| decode("client", bytes.value()))
        .transpose()
}

/// Every client, ordered by id.
pub fn list(tx: &impl Read) -> Result<Vec<Client>, StoreError> {
    let mut found = Vec::new();
    for entry in tx.table(CLIENTS)?.iter()? {
        let (_, bytes) = entry?;
        found.push(decode("client", bytes.value())?);
    }
    Ok(found)
}

/// Inserts or replaces a client.
pub fn put(tx: &WriteTx, client: &Client) -> Result<(), StoreError> {
    tx.tx
        .open_table(CLIENTS)?
        .insert(client.client_id.as_str(), encode(client).as_slice())?;
    Ok(())
}

/// Removes a client; returns whether it existed.
pub fn delete(tx: &WriteTx, client_id: &str) -> Result<bool, StoreError> {
    Ok(tx.tx.open_table(CLIENTS)?.remove(client_id)?.is_some())
}

/// The key of a user's grant to a client (consents, refresh families).
pub fn grant_key(user_id: &str, client_id: &str) -> String {
    // User ids are base64url: a space cannot occur in them.
    format!("{user_id} {client_id}")
}

/// What a user granted a client.
pub fn get_consent(
    tx: &impl Read,
    user_id: &str,
    client_id: &str,
) -> Result<Option<Consent>, StoreError> {
    let consents = tx.table(CONSENTS)?;
    let found = consents.get(grant_key(user_id, client_id).as_str())?;
    found
        .map(|bytes| decode("consent", bytes.value()))
        .transpose()
}

/// Every consent a user gave.
pub fn consents_of(tx: &impl Read, user_id: &str) -> Result<Vec<Consent>, StoreError> {
    let prefix = format!("{user_id} ");
    let mut found = Vec::new();
    for entry in tx.table(CONSENTS)?.range(prefix.as_str()..)? {
        let (key, bytes) = entry?;
        if !key.value().starts_with(&prefix) {
            break;
        }
        found.push(decode("consent", bytes.value())?);
    }
    Ok(found)
}

/// Records a consent.
pub fn put_consent(tx: &WriteTx, consent: &Consent) -> Result<(), StoreError> {
    let key = grant_key(&consent.user_id, &consent.client_id);
    tx.tx
        .open_table(CONSENTS)?
        .insert(key.as_str(), encode(consent).as_slice())?;
    Ok(())
}

/// Forgets a consent; returns whether there was one.
pub fn delete_consent(tx: &WriteTx, user_id: &str, client_id: &str) -> Result<bool, StoreError> {
    let key = grant_key(user_id, client_id);
    Ok(tx.tx.open_table(CONSENTS)?.remove(key.as_str())?.is_some())
}
