//! Sessions, keyed by the hash of their token, indexed by user, with the
//! times their end is computed from.

use super::cache::Key;
use super::{Tx, decode, encode, nanos};
use crate::secret::TokenHash;
use crate::store::tx::{SessionReads, SessionWrites};
use crate::store::{Session, StoreError};
use time::{Duration, OffsetDateTime};

impl SessionReads for Tx {
    fn session(&self, hash: &TokenHash) -> Result<Option<Session>, StoreError> {
        self.cached(Key::Session(*hash), || {
            self.record(
                "session",
                "SELECT record FROM sessions WHERE hash = $1",
                &[&hash.as_bytes()],
            )
        })
    }

    fn sessions_of(&self, user_id: &str) -> Result<Vec<(TokenHash, Session)>, StoreError> {
        let rows = self.query(
            "SELECT hash, record FROM sessions WHERE user_id = $1",
            &[&user_id],
        )?;
        let mut found = Vec::new();
        for row in &rows {
            if let Some(hash) = TokenHash::from_slice(row.get(0)) {
                found.push((hash, decode("session", row.get(1))?));
            }
        }
        Ok(found)
    }

    /// A count of the primary key's index: no table scan, but linear in
    /// the number of sessions, unlike redb's stored length.
    fn session_count(&self) -> Result<u64, StoreError> {
        let count: i64 = self.one("SELECT count(*) FROM sessions", &[])?.get(0);
        Ok(u64::try_from(count).unwrap_or(0))
    }
}

impl SessionWrites for Tx {
    fn put_session(&self, hash: &TokenHash, session: &Session) -> Result<(), StoreError> {
        self.changes(Key::Session(*hash));
        self.execute(
            "INSERT INTO sessions (hash, user_id, last_used_at, absolute_expires_at, record) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (hash) DO UPDATE SET \
             user_id = EXCLUDED.user_id, last_used_at = EXCLUDED.last_used_at, \
             absolute_expires_at = EXCLUDED.absolute_expires_at, record = EXCLUDED.record",
            &[
                &hash.as_bytes(),
                &session.user_id,
                &nanos(session.last_used_at),
                &nanos(session.absolute_expires_at),
                &encode(session),
            ],
        )?;
        Ok(())
    }

    fn delete_session(&self, hash: &TokenHash) -> Result<Option<Session>, StoreError> {
        self.changes(Key::Session(*hash));
        self.record(
            "session",
            "DELETE FROM sessions WHERE hash = $1 RETURNING record",
            &[&hash.as_bytes()],
        )
    }

    /// [`Session::expires_at`] in SQL: idle since `now - idle`, or past
    /// its absolute end.
    fn delete_expired_sessions(
        &self,
        now: OffsetDateTime,
        idle: Duration,
    ) -> Result<Vec<Session>, StoreError> {
        let idle = i64::try_from(idle.whole_nanoseconds()).unwrap_or(i64::MAX);
        self.records(
            "session",
            "DELETE FROM sessions WHERE absolute_expires_at <= $1 OR last_used_at <= $2 \
             RETURNING record",
            &[&nanos(now), &nanos(now).saturating_sub(idle)],
        )
    }
}
