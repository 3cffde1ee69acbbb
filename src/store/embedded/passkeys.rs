//! Users' passkeys: one JSON record per user, and the index from WebAuthn
//! user handle to user id.

use super::tables::{PASSKEY_HANDLES, PASSKEYS};
use super::{Tables, Write, decode, encode};
use crate::store::tx::{PasskeyReads, PasskeyWrites};
use crate::store::{PasskeyRing, StoreError};
use redb::ReadableTable;

impl<T: Tables> PasskeyReads for T {
    fn passkeys_of(&self, user_id: &str) -> Result<Option<PasskeyRing>, StoreError> {
        let rings = self.table(PASSKEYS)?;
        let found = rings.get(user_id)?;
        found
            .map(|bytes| decode("passkeys", bytes.value()))
            .transpose()
    }

    fn passkeys_by_handle(&self, user_handle: &str) -> Result<Option<PasskeyRing>, StoreError> {
        let user_id = {
            let handles = self.table(PASSKEY_HANDLES)?;
            let found = handles.get(user_handle)?;
            match found {
                Some(user_id) => user_id.value().to_owned(),
                None => return Ok(None),
            }
        };
        self.passkeys_of(&user_id)
    }
}

impl PasskeyWrites for Write {
    fn put_passkeys(&self, ring: &PasskeyRing) -> Result<(), StoreError> {
        self.0
            .open_table(PASSKEYS)?
            .insert(ring.user_id.as_str(), encode(ring).as_slice())?;
        self.0
            .open_table(PASSKEY_HANDLES)?
            .insert(ring.user_handle.as_str(), ring.user_id.as_str())?;
        Ok(())
    }

    fn delete_passkeys(&self, user_id: &str) -> Result<(), StoreError> {
        let ring: Option<PasskeyRing> = {
            let mut rings = self.0.open_table(PASSKEYS)?;
            let removed = rings.remove(user_id)?;
            removed
                .map(|bytes| decode("passkeys", bytes.value()))
                .transpose()?
        };
        if let Some(ring) = ring {
            self.0
                .open_table(PASSKEY_HANDLES)?
                .remove(ring.user_handle.as_str())?;
        }
        Ok(())
    }
}
