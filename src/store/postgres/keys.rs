//! Signing keys, by kid.

use super::{Tx, encode};
use crate::store::tx::{KeyReads, KeyWrites};
use crate::store::{SigningKey, StoreError};

impl KeyReads for Tx {
    fn signing_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        self.records(
            "signing key",
            "SELECT record FROM signing_keys ORDER BY kid",
            &[],
        )
    }
}

impl KeyWrites for Tx {
    fn put_signing_key(&self, key: &SigningKey) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO signing_keys (kid, record) VALUES ($1, $2) \
             ON CONFLICT (kid) DO UPDATE SET record = EXCLUDED.record",
            &[&key.kid, &encode(key)],
        )?;
        Ok(())
    }

    fn delete_signing_key(&self, kid: &str) -> Result<(), StoreError> {
        self.execute("DELETE FROM signing_keys WHERE kid = $1", &[&kid])?;
        Ok(())
    }
}
