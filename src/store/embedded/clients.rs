//! OAuth clients, by client_id, the consents users gave them, by
//! [`grant_key`], and the initial access tokens that let clients register
//! themselves, by keyed hash.

use super::tables::{CLIENTS, CONSENTS, INITIAL_ACCESS_TOKENS};
use super::{Tables, Write, decode, encode, grant_key};
use crate::store::tx::{ClientReads, ClientWrites};
use crate::store::{Client, Consent, InitialAccessToken, StoreError};
use redb::ReadableTable;
use time::OffsetDateTime;

impl<T: Tables> ClientReads for T {
    fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        let clients = self.table(CLIENTS)?;
        let found = clients.get(client_id)?;
        found
            .map(|bytes| decode("client", bytes.value()))
            .transpose()
    }

    fn clients(&self) -> Result<Vec<Client>, StoreError> {
        let mut found = Vec::new();
        for entry in self.table(CLIENTS)?.iter()? {
            let (_, bytes) = entry?;
            found.push(decode("client", bytes.value())?);
        }
        Ok(found)
    }

    fn consent(&self, user_id: &str, client_id: &str) -> Result<Option<Consent>, StoreError> {
        let consents = self.table(CONSENTS)?;
        let found = consents.get(grant_key(user_id, client_id).as_str())?;
        found
            .map(|bytes| decode("consent", bytes.value()))
            .transpose()
    }

    fn consents_of(&self, user_id: &str) -> Result<Vec<Consent>, StoreError> {
        let prefix = format!("{user_id} ");
        let mut found = Vec::new();
        for entry in self.table(CONSENTS)?.range(prefix.as_str()..)? {
            let (key, bytes) = entry?;
            if !key.value().starts_with(&prefix) {
                break;
            }
            found.push(decode("consent", bytes.value())?);
        }
        Ok(found)
    }

    fn initial_access_token(&self, hash: &str) -> Result<Option<InitialAccessToken>, StoreError> {
        let tokens = self.table(INITIAL_ACCESS_TOKENS)?;
        let found = tokens.get(hash)?;
        found
            .map(|bytes| decode("initial access token", bytes.value()))
            .transpose()
    }
}

impl ClientWrites for Write {
    fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        self.0
            .open_table(CLIENTS)?
            .insert(client.client_id.as_str(), encode(client).as_slice())?;
        Ok(())
    }

    fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        Ok(self.0.open_table(CLIENTS)?.remove(client_id)?.is_some())
    }

    fn put_consent(&self, consent: &Consent) -> Result<(), StoreError> {
        let key = grant_key(&consent.user_id, &consent.client_id);
        self.0
            .open_table(CONSENTS)?
            .insert(key.as_str(), encode(consent).as_slice())?;
        Ok(())
    }

    fn delete_consent(&self, user_id: &str, client_id: &str) -> Result<bool, StoreError> {
        let key = grant_key(user_id, client_id);
        Ok(self.0.open_table(CONSENTS)?.remove(key.as_str())?.is_some())
    }

    fn put_initial_access_token(
        &self,
        hash: &str,
        token: &InitialAccessToken,
    ) -> Result<(), StoreError> {
        self.0
            .open_table(INITIAL_ACCESS_TOKENS)?
            .insert(hash, encode(token).as_slice())?;
        Ok(())
    }

    fn delete_initial_access_token(&self, hash: &str) -> Result<(), StoreError> {
        self.0.open_table(INITIAL_ACCESS_TOKENS)?.remove(hash)?;
        Ok(())
    }

    fn delete_expired_initial_access_tokens(
        &self,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        let mut expired = Vec::new();
        for entry in self.table(INITIAL_ACCESS_TOKENS)?.iter()? {
            let (hash, bytes) = entry?;
            let token: InitialAccessToken = decode("initial access token", bytes.value())?;
            if token.expires_at <= now {
                expired.push(hash.value().to_owned());
            }
        }
        for hash in &expired {
            self.delete_initial_access_token(hash)?;
        }
        Ok(expired.len())
    }
}
