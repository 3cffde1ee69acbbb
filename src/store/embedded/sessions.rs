//! Sessions, keyed by the hash of their token, with an index by user.

use super::tables::{SESSIONS, USER_SESSIONS};
use super::{Tables, Write, decode, encode};
use crate::secret::TokenHash;
use crate::store::tx::{SessionReads, SessionWrites};
use crate::store::{Session, StoreError};
use redb::{ReadableMultimapTable, ReadableTable, ReadableTableMetadata};
use time::{Duration, OffsetDateTime};

impl<T: Tables> SessionReads for T {
    fn session(&self, hash: &TokenHash) -> Result<Option<Session>, StoreError> {
        let sessions = self.table(SESSIONS)?;
        let found = sessions.get(hash.as_bytes())?;
        found
            .map(|bytes| decode("session", bytes.value()))
            .transpose()
    }

    fn sessions_of(&self, user_id: &str) -> Result<Vec<(TokenHash, Session)>, StoreError> {
        let sessions = self.table(SESSIONS)?;
        let mut found = Vec::new();
        for hash in self.multimap(USER_SESSIONS)?.get(user_id)? {
            let Some(hash) = TokenHash::from_slice(hash?.value()) else {
                continue;
            };
            if let Some(bytes) = sessions.get(hash.as_bytes())? {
                found.push((hash, decode("session", bytes.value())?));
            }
        }
        Ok(found)
    }

    fn session_count(&self) -> Result<u64, StoreError> {
        // redb keeps each table's length in its root: no scan.
        Ok(self.table(SESSIONS)?.len()?)
    }
}

impl SessionWrites for Write {
    fn put_session(&self, hash: &TokenHash, session: &Session) -> Result<(), StoreError> {
        self.0
            .open_table(SESSIONS)?
            .insert(hash.as_bytes(), encode(session).as_slice())?;
        self.0
            .open_multimap_table(USER_SESSIONS)?
            .insert(session.user_id.as_str(), hash.as_bytes())?;
        Ok(())
    }

    fn delete_session(&self, hash: &TokenHash) -> Result<Option<Session>, StoreError> {
        let removed = self
            .0
            .open_table(SESSIONS)?
            .remove(hash.as_bytes())?
            .map(|bytes| decode::<Session>("session", bytes.value()))
            .transpose()?;
        if let Some(session) = &removed {
            self.0
                .open_multimap_table(USER_SESSIONS)?
                .remove(session.user_id.as_str(), hash.as_bytes())?;
        }
        Ok(removed)
    }

    fn delete_expired_sessions(
        &self,
        now: OffsetDateTime,
        idle: Duration,
    ) -> Result<Vec<Session>, StoreError> {
        let mut hashes = Vec::new();
        for entry in self.table(SESSIONS)?.iter()? {
            let (hash, bytes) = entry?;
            let session: Session = decode("session", bytes.value())?;
            if session.expires_at(idle) <= now {
                hashes.extend(TokenHash::from_slice(hash.value()));
            }
        }
        let mut ended = Vec::with_capacity(hashes.len());
        for hash in &hashes {
            ended.extend(self.delete_session(hash)?);
        }
        Ok(ended)
    }
}
