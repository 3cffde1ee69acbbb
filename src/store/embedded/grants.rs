//! Authorization codes and refresh tokens by hash, refresh token families
//! (with the access tokens issued in each), and the deny-list of revoked
//! access tokens; device authorizations with the index of their user codes.

use super::tables::{
    CODES, DEVICE_CODES, DPOP_PROOFS, FAMILY_ACCESS, GRANT_FAMILIES, PUSHED_REQUESTS,
    REFRESH_FAMILIES, REFRESH_TOKENS, REVOKED_JTIS, USER_CODES,
};
use super::{Tables, Write, decode, encode, grant_key};
use crate::secret::TokenHash;
use crate::store::tx::{GrantReads, GrantWrites};
use crate::store::{
    AuthorizationCode, DeviceAuthorization, PushedRequest, RefreshToken, StoreError,
};
use redb::{ReadableMultimapTable, ReadableTable};
use time::{Duration, OffsetDateTime};

impl<T: Tables> GrantReads for T {
    fn code(&self, hash: &TokenHash) -> Result<Option<AuthorizationCode>, StoreError> {
        let codes = self.table(CODES)?;
        let found = codes.get(hash.as_bytes())?;
        found.map(|bytes| decode("code", bytes.value())).transpose()
    }

    fn refresh_token(&self, hash: &TokenHash) -> Result<Option<RefreshToken>, StoreError> {
        let tokens = self.table(REFRESH_TOKENS)?;
        let found = tokens.get(hash.as_bytes())?;
        found
            .map(|bytes| decode("refresh token", bytes.value()))
            .transpose()
    }

    fn families_of(&self, user_id: &str, client_id: &str) -> Result<Vec<String>, StoreError> {
        let mut found = Vec::new();
        for family in self
            .multimap(GRANT_FAMILIES)?
            .get(grant_key(user_id, client_id).as_str())?
        {
            found.push(family?.value().to_owned());
        }
        Ok(found)
    }

    fn is_jti_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        Ok(self.table(REVOKED_JTIS)?.get(jti)?.is_some())
    }

    fn device_authorization(
        &self,
        device_code: &TokenHash,
    ) -> Result<Option<DeviceAuthorization>, StoreError> {
        let devices = self.table(DEVICE_CODES)?;
        let found = devices.get(device_code.as_bytes())?;
        found
            .map(|bytes| decode("device authorization", bytes.value()))
            .transpose()
    }

    fn device_code_of(&self, user_code: &TokenHash) -> Result<Option<TokenHash>, StoreError> {
        let user_codes = self.table(USER_CODES)?;
        let found = user_codes.get(user_code.as_bytes())?;
        Ok(found.and_then(|bytes| TokenHash::from_slice(bytes.value())))
    }

    fn pushed_request(&self, reference: &TokenHash) -> Result<Option<PushedRequest>, StoreError> {
        let requests = self.table(PUSHED_REQUESTS)?;
        let found = requests.get(reference.as_bytes())?;
        found
            .map(|bytes| decode("pushed request", bytes.value()))
            .transpose()
    }
}

impl GrantWrites for Write {
    fn put_code(&self, hash: &TokenHash, code: &AuthorizationCode) -> Result<(), StoreError> {
        self.0
            .open_table(CODES)?
            .insert(hash.as_bytes(), encode(code).as_slice())?;
        Ok(())
    }

    fn put_refresh_token(&self, hash: &TokenHash, token: &RefreshToken) -> Result<(), StoreError> {
        self.0
            .open_table(REFRESH_TOKENS)?
            .insert(hash.as_bytes(), encode(token).as_slice())?;
        self.0
            .open_multimap_table(REFRESH_FAMILIES)?
            .insert(token.family.as_str(), hash.as_bytes())?;
        self.0.open_multimap_table(GRANT_FAMILIES)?.insert(
            grant_key(&token.user_id, &token.client_id).as_str(),
            token.family.as_str(),
        )?;
        Ok(())
    }

    fn record_access(
        &self,
        family: &str,
        jti: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let entry = format!("{jti} {}", expires_at.unix_timestamp());
        self.0
            .open_multimap_table(FAMILY_ACCESS)?
            .insert(family, entry.as_str())?;
        Ok(())
    }

    fn delete_family(&self, family: &str) -> Result<usize, StoreError> {
        let access: Vec<String> = self
            .0
            .open_multimap_table(FAMILY_ACCESS)?
            .remove_all(family)?
            .map(|entry| entry.map(|e| e.value().to_owned()))
            .collect::<Result<_, _>>()?;
        for entry in access {
            if let Some((jti, expires)) = entry.split_once(' ')
                && let Ok(expires) = expires.parse::<i64>()
            {
                self.0.open_table(REVOKED_JTIS)?.insert(jti, expires)?;
            }
        }
        let hashes: Vec<Vec<u8>> = self
            .0
            .open_multimap_table(REFRESH_FAMILIES)?
            .remove_all(family)?
            .map(|hash| hash.map(|h| h.value().to_vec()))
            .collect::<Result<_, _>>()?;
        let mut tokens = self.0.open_table(REFRESH_TOKENS)?;
        let mut removed = 0;
        for hash in &hashes {
            if let Some(bytes) = tokens.remove(hash.as_slice())? {
                let token: RefreshToken = decode("refresh token", bytes.value())?;
                drop(bytes);
                self.0
                    .open_multimap_table(GRANT_FAMILIES)?
                    .remove(grant_key(&token.user_id, &token.client_id).as_str(), family)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn revoke_jti(&self, jti: &str, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        self.0
            .open_table(REVOKED_JTIS)?
            .insert(jti, expires_at.unix_timestamp())?;
        Ok(())
    }

    fn put_device_authorization(
        &self,
        device_code: &TokenHash,
        authorization: &DeviceAuthorization,
    ) -> Result<(), StoreError> {
        self.0
            .open_table(DEVICE_CODES)?
            .insert(device_code.as_bytes(), encode(authorization).as_slice())?;
        self.0.open_table(USER_CODES)?.insert(
            authorization.user_code_hash.as_slice(),
            device_code.as_bytes(),
        )?;
        Ok(())
    }

    fn put_pushed_request(
        &self,
        reference: &TokenHash,
        request: &PushedRequest,
    ) -> Result<(), StoreError> {
        self.0
            .open_table(PUSHED_REQUESTS)?
            .insert(reference.as_bytes(), encode(request).as_slice())?;
        Ok(())
    }

    fn take_pushed_request(
        &self,
        reference: &TokenHash,
    ) -> Result<Option<PushedRequest>, StoreError> {
        self.0
            .open_table(PUSHED_REQUESTS)?
            .remove(reference.as_bytes())?
            .map(|bytes| decode("pushed request", bytes.value()))
            .transpose()
    }

    fn remember_dpop_proof(
        &self,
        proof: &TokenHash,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut proofs = self.0.open_table(DPOP_PROOFS)?;
        if proofs.get(proof.as_bytes())?.is_some() {
            return Ok(false);
        }
        proofs.insert(proof.as_bytes(), until.unix_timestamp())?;
        Ok(true)
    }

    fn delete_expired_grants(
        &self,
        now: OffsetDateTime,
        keep_codes_for: Duration,
    ) -> Result<usize, StoreError> {
        let mut removed = 0;
        let now_secs = now.unix_timestamp();
        self.0.open_table(REVOKED_JTIS)?.retain(|_, expires| {
            let keep = expires > now_secs;
            removed += usize::from(!keep);
            keep
        })?;
        self.0.open_table(DPOP_PROOFS)?.retain(|_, until| {
            let keep = until > now_secs;
            removed += usize::from(!keep);
            keep
        })?;
        self.0.open_table(CODES)?.retain(|_, bytes| {
            let keep = serde_json::from_slice::<AuthorizationCode>(bytes)
                .map(|code| code.expires_at + keep_codes_for > now)
                .unwrap_or(false);
            removed += usize::from(!keep);
            keep
        })?;
        let mut spent_user_codes = Vec::new();
        self.0.open_table(DEVICE_CODES)?.retain(|_, bytes| {
            let keep = match serde_json::from_slice::<DeviceAuthorization>(bytes) {
                Ok(device) if device.expires_at + keep_codes_for > now => true,
                Ok(device) => {
                    spent_user_codes.push(device.user_code_hash);
                    false
                }
                Err(_) => false,
            };
            removed += usize::from(!keep);
            keep
        })?;
        self.0.open_table(PUSHED_REQUESTS)?.retain(|_, bytes| {
            let keep = serde_json::from_slice::<PushedRequest>(bytes)
                .is_ok_and(|request| request.expires_at > now);
            removed += usize::from(!keep);
            keep
        })?;
        let mut user_codes = self.0.open_table(USER_CODES)?;
        for hash in &spent_user_codes {
            user_codes.remove(hash.as_slice())?;
        }
        drop(user_codes);
        let mut expired = Vec::new();
        for entry in self.table(REFRESH_TOKENS)?.iter()? {
            let (hash, bytes) = entry?;
            let token: RefreshToken = decode("refresh token", bytes.value())?;
            if token.expires_at <= now {
                expired.push((hash.value().to_vec(), token));
            }
        }
        // A rotated token expires before its successor: only the token goes,
        // and the family with its last one.
        for (hash, token) in &expired {
            self.0.open_table(REFRESH_TOKENS)?.remove(hash.as_slice())?;
            let mut members = self.0.open_multimap_table(REFRESH_FAMILIES)?;
            members.remove(token.family.as_str(), hash.as_slice())?;
            let emptied = members.get(token.family.as_str())?.next().is_none();
            drop(members);
            if emptied {
                self.0.open_multimap_table(GRANT_FAMILIES)?.remove(
                    grant_key(&token.user_id, &token.client_id).as_str(),
                    token.family.as_str(),
                )?;
                self.delete_family(&token.family)?;
            }
            removed += 1;
        }
        Ok(removed)
    }
}
