//! Signing keys, by kid.

use super::tables::SIGNING_KEYS;
use super::{Tables, Write, decode, encode};
use crate::store::tx::{KeyReads, KeyWrites};
use crate::store::{SigningKey, StoreError};
use redb::ReadableTable;

impl<T: Tables> KeyReads for T {
    fn signing_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        let mut found = Vec::new();
        for entry in self.table(SIGNING_KEYS)?.iter()? {
            let (_, bytes) = entry?;
            found.push(decode("signing key", bytes.value())?);
        }
        Ok(found)
    }
}

impl KeyWrites for Write {
    fn put_signing_key(&self, key: &SigningKey) -> Result<(), StoreError> {
        self.0
            .open_table(SIGNING_KEYS)?
            .insert(key.kid.as_str(), encode(key).as_slice())?;
        Ok(())
    }

    fn delete_signing_key(&self, kid: &str) -> Result<(), StoreError> {
        self.0.open_table(SIGNING_KEYS)?.remove(kid)?;
        Ok(())
    }
}
