//! Authorization codes and refresh tokens by hash, refresh token families
//! (with the access tokens issued in each), the deny-list of revoked
//! access tokens, device authorizations with their user codes, and pushed
//! authorization requests.

use super::{Tx, count, encode, nanos};
use crate::secret::TokenHash;
use crate::store::tx::{GrantReads, GrantWrites};
use crate::store::{
    AuthorizationCode, DeviceAuthorization, PushedRequest, RefreshToken, StoreError,
};
use std::collections::BTreeSet;
use time::{Duration, OffsetDateTime};

impl GrantReads for Tx {
    fn code(&self, hash: &TokenHash) -> Result<Option<AuthorizationCode>, StoreError> {
        self.record(
            "code",
            "SELECT record FROM authorization_codes WHERE hash = $1",
            &[&hash.as_bytes()],
        )
    }

    fn refresh_token(&self, hash: &TokenHash) -> Result<Option<RefreshToken>, StoreError> {
        self.record(
            "refresh token",
            "SELECT record FROM refresh_tokens WHERE hash = $1",
            &[&hash.as_bytes()],
        )
    }

    fn families_of(&self, user_id: &str, client_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .query(
                "SELECT DISTINCT family FROM refresh_tokens \
                 WHERE user_id = $1 AND client_id = $2 ORDER BY family",
                &[&user_id, &client_id],
            )?
            .iter()
            .map(|row| row.get(0))
            .collect())
    }

    fn is_jti_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        Ok(self
            .optional("SELECT 1 FROM revoked_jtis WHERE jti = $1", &[&jti])?
            .is_some())
    }

    fn device_authorization(
        &self,
        device_code: &TokenHash,
    ) -> Result<Option<DeviceAuthorization>, StoreError> {
        self.record(
            "device authorization",
            "SELECT record FROM device_codes WHERE hash = $1",
            &[&device_code.as_bytes()],
        )
    }

    fn device_code_of(&self, user_code: &TokenHash) -> Result<Option<TokenHash>, StoreError> {
        Ok(self
            .optional(
                "SELECT device_code FROM device_user_codes WHERE user_code_hash = $1",
                &[&user_code.as_bytes()],
            )?
            .and_then(|row| TokenHash::from_slice(row.get(0))))
    }

    fn pushed_request(&self, reference: &TokenHash) -> Result<Option<PushedRequest>, StoreError> {
        self.record(
            "pushed request",
            "SELECT record FROM pushed_requests WHERE hash = $1",
            &[&reference.as_bytes()],
        )
    }
}

impl GrantWrites for Tx {
    fn put_code(&self, hash: &TokenHash, code: &AuthorizationCode) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO authorization_codes (hash, expires_at, record) VALUES ($1, $2, $3) \
             ON CONFLICT (hash) DO UPDATE SET expires_at = EXCLUDED.expires_at, \
             record = EXCLUDED.record",
            &[&hash.as_bytes(), &nanos(code.expires_at), &encode(code)],
        )?;
        Ok(())
    }

    fn put_refresh_token(&self, hash: &TokenHash, token: &RefreshToken) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO refresh_tokens (hash, family, user_id, client_id, expires_at, record) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (hash) DO UPDATE SET \
             family = EXCLUDED.family, user_id = EXCLUDED.user_id, \
             client_id = EXCLUDED.client_id, expires_at = EXCLUDED.expires_at, \
             record = EXCLUDED.record",
            &[
                &hash.as_bytes(),
                &token.family,
                &token.user_id,
                &token.client_id,
                &nanos(token.expires_at),
                &encode(token),
            ],
        )?;
        Ok(())
    }

    fn record_access(
        &self,
        family: &str,
        jti: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO family_access (family, jti, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (family, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at",
            &[&family, &jti, &nanos(expires_at)],
        )?;
        Ok(())
    }

    fn delete_family(&self, family: &str) -> Result<usize, StoreError> {
        self.execute(
            "INSERT INTO revoked_jtis (jti, expires_at) \
             SELECT jti, expires_at FROM family_access WHERE family = $1 \
             ON CONFLICT (jti) DO UPDATE SET expires_at = EXCLUDED.expires_at",
            &[&family],
        )?;
        self.execute("DELETE FROM family_access WHERE family = $1", &[&family])?;
        count(self.execute("DELETE FROM refresh_tokens WHERE family = $1", &[&family])?)
    }

    fn revoke_jti(&self, jti: &str, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO revoked_jtis (jti, expires_at) VALUES ($1, $2) \
             ON CONFLICT (jti) DO UPDATE SET expires_at = EXCLUDED.expires_at",
            &[&jti, &nanos(expires_at)],
        )?;
        Ok(())
    }

    fn put_device_authorization(
        &self,
        device_code: &TokenHash,
        authorization: &DeviceAuthorization,
    ) -> Result<(), StoreError> {
        let user_code = authorization.user_code_hash.as_slice();
        self.execute(
            "INSERT INTO device_codes (hash, user_code_hash, expires_at, record) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO UPDATE SET \
             user_code_hash = EXCLUDED.user_code_hash, expires_at = EXCLUDED.expires_at, \
             record = EXCLUDED.record",
            &[
                &device_code.as_bytes(),
                &user_code,
                &nanos(authorization.expires_at),
                &encode(authorization),
            ],
        )?;
        self.execute(
            "INSERT INTO device_user_codes (user_code_hash, device_code) VALUES ($1, $2) \
             ON CONFLICT (user_code_hash) DO UPDATE SET device_code = EXCLUDED.device_code",
            &[&user_code, &device_code.as_bytes()],
        )?;
        Ok(())
    }

    fn put_pushed_request(
        &self,
        reference: &TokenHash,
        request: &PushedRequest,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO pushed_requests (hash, expires_at, record) VALUES ($1, $2, $3) \
             ON CONFLICT (hash) DO UPDATE SET expires_at = EXCLUDED.expires_at, \
             record = EXCLUDED.record",
            &[
                &reference.as_bytes(),
                &nanos(request.expires_at),
                &encode(request),
            ],
        )?;
        Ok(())
    }

    fn take_pushed_request(
        &self,
        reference: &TokenHash,
    ) -> Result<Option<PushedRequest>, StoreError> {
        self.record(
            "pushed request",
            "DELETE FROM pushed_requests WHERE hash = $1 RETURNING record",
            &[&reference.as_bytes()],
        )
    }

    fn remember_dpop_proof(
        &self,
        proof: &TokenHash,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        // A proof still stored, even past its window, is a replay: the
        // purge takes it away, not this check.
        let added = self.execute(
            "INSERT INTO dpop_proofs (hash, expires_at) VALUES ($1, $2) \
             ON CONFLICT (hash) DO NOTHING",
            &[&proof.as_bytes(), &nanos(until)],
        )?;
        Ok(added == 1)
    }

    fn delete_expired_grants(
        &self,
        now: OffsetDateTime,
        keep_codes_for: Duration,
    ) -> Result<usize, StoreError> {
        let now = nanos(now);
        let keep = i64::try_from(keep_codes_for.whole_nanoseconds()).unwrap_or(i64::MAX);
        let spent = now.saturating_sub(keep);
        let mut removed =
            count(self.execute("DELETE FROM revoked_jtis WHERE expires_at <= $1", &[&now])?)?;
        removed += count(self.execute("DELETE FROM dpop_proofs WHERE expires_at <= $1", &[&now])?)?;
        removed += count(self.execute(
            "DELETE FROM authorization_codes WHERE expires_at <= $1",
            &[&spent],
        )?)?;
        self.execute(
            "DELETE FROM device_user_codes WHERE user_code_hash IN \
             (SELECT user_code_hash FROM device_codes WHERE expires_at <= $1)",
            &[&spent],
        )?;
        removed +=
            count(self.execute("DELETE FROM device_codes WHERE expires_at <= $1", &[&spent])?)?;
        removed += count(self.execute(
            "DELETE FROM pushed_requests WHERE expires_at <= $1",
            &[&now],
        )?)?;
        // A rotated token expires before its successor: only the token goes,
        // and the family with its last one.
        let families: BTreeSet<String> = self
            .query(
                "DELETE FROM refresh_tokens WHERE expires_at <= $1 RETURNING family",
                &[&now],
            )?
            .iter()
            .map(|row| {
                removed += 1;
                row.get(0)
            })
            .collect();
        for family in &families {
            let left = self.optional(
                "SELECT 1 FROM refresh_tokens WHERE family = $1 LIMIT 1",
                &[family],
            )?;
            if left.is_none() {
                self.delete_family(family)?;
            }
        }
        Ok(removed)
    }
}
