//! OAuth clients, the consents users gave them, and the initial access
//! tokens that let clients register themselves.

use super::{Tx, count, encode, nanos};
use crate::store::tx::{ClientReads, ClientWrites};
use crate::store::{Client, Consent, InitialAccessToken, StoreError};
use time::OffsetDateTime;

impl ClientReads for Tx {
    fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        self.record(
            "client",
            "SELECT record FROM clients WHERE client_id = $1",
            &[&client_id],
        )
    }

    fn clients(&self) -> Result<Vec<Client>, StoreError> {
        self.records(
            "client",
            "SELECT record FROM clients ORDER BY client_id",
            &[],
        )
    }

    fn consent(&self, user_id: &str, client_id: &str) -> Result<Option<Consent>, StoreError> {
        self.record(
            "consent",
            "SELECT record FROM consents WHERE user_id = $1 AND client_id = $2",
            &[&user_id, &client_id],
        )
    }

    fn consents_of(&self, user_id: &str) -> Result<Vec<Consent>, StoreError> {
        self.records(
            "consent",
            "SELECT record FROM consents WHERE user_id = $1 ORDER BY client_id",
            &[&user_id],
        )
    }

    fn initial_access_token(&self, hash: &str) -> Result<Option<InitialAccessToken>, StoreError> {
        self.record(
            "initial access token",
            "SELECT record FROM initial_access_tokens WHERE hash = $1",
            &[&hash],
        )
    }
}

impl ClientWrites for Tx {
    fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO clients (client_id, record) VALUES ($1, $2) \
             ON CONFLICT (client_id) DO UPDATE SET record = EXCLUDED.record",
            &[&client.client_id, &encode(client)],
        )?;
        Ok(())
    }

    fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        Ok(self.execute("DELETE FROM clients WHERE client_id = $1", &[&client_id])? > 0)
    }

    fn put_consent(&self, consent: &Consent) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO consents (user_id, client_id, record) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, client_id) DO UPDATE SET record = EXCLUDED.record",
            &[&consent.user_id, &consent.client_id, &encode(consent)],
        )?;
        Ok(())
    }

    fn delete_consent(&self, user_id: &str, client_id: &str) -> Result<bool, StoreError> {
        Ok(self.execute(
            "DELETE FROM consents WHERE user_id = $1 AND client_id = $2",
            &[&user_id, &client_id],
        )? > 0)
    }

    fn put_initial_access_token(
        &self,
        hash: &str,
        token: &InitialAccessToken,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO initial_access_tokens (hash, expires_at, record) VALUES ($1, $2, $3) \
             ON CONFLICT (hash) DO UPDATE SET expires_at = EXCLUDED.expires_at, \
             record = EXCLUDED.record",
            &[&hash, &nanos(token.expires_at), &encode(token)],
        )?;
        Ok(())
    }

    fn delete_initial_access_token(&self, hash: &str) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM initial_access_tokens WHERE hash = $1",
            &[&hash],
        )?;
        Ok(())
    }

    fn delete_expired_initial_access_tokens(
        &self,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        count(self.execute(
            "DELETE FROM initial_access_tokens WHERE expires_at <= $1",
            &[&nanos(now)],
        )?)
    }
}
