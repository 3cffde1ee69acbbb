//! What the token endpoint issues and checks: authorization codes, refresh
//! tokens (with their families), and the deny-list of revoked access tokens.

use super::clients::grant_key;
use super::tables::{
    CODES, FAMILY_ACCESS, GRANT_FAMILIES, REFRESH_FAMILIES, REFRESH_TOKENS, REVOKED_JTIS,
};
use super::{
    AuthorizationCode, Read, RefreshToken, StoreError, WriteTx, decode, encode, sealed::Tables,
};
use crate::secret::TokenHash;
use redb::{ReadableMultimapTable, ReadableTable};
use time::OffsetDateTime;

/// The code whose hash this is.
pub fn get_code(tx: &impl Read, hash: &TokenHash) -> Result<Option<AuthorizationCode>, StoreError> {
    let codes = tx.table(CODES)?;
    let found = codes.get(hash.as_bytes())?;
    found.map(|bytes| decode("code", bytes.value())).transpose()
}

/// Inserts or replaces a code.
pub fn put_code(
    tx: &WriteTx,
    hash: &TokenHash,
    code: &AuthorizationCode,
) -> Result<(), StoreError> {
    tx.tx
        .open_table(CODES)?
        .insert(hash.as_bytes(), encode(code).as_slice())?;
    Ok(())
}

/// The refresh token whose hash this is.
pub fn get_refresh(tx: &impl Read, hash: &TokenHash) -> Result<Option<RefreshToken>, StoreError> {
    let tokens = tx.table(REFRESH_TOKENS)?;
    let found = tokens.get(hash.as_bytes())?;
    found
        .map(|bytes| decode("refresh token", bytes.value()))
        .transpose()
}

/// Inserts or replaces a refresh token, indexed by family and grant.
pub fn put_refresh(tx: &WriteTx, hash: &TokenHash, token: &RefreshToken) -> Result<(), StoreError> {
    tx.tx
        .open_table(REFRESH_TOKENS)?
        .insert(hash.as_bytes(), encode(token).as_slice())?;
    tx.tx
        .open_multimap_table(REFRESH_FAMILIES)?
        .insert(token.family.as_str(), hash.as_bytes())?;
    tx.tx.open_multimap_table(GRANT_FAMILIES)?.insert(
        grant_key(&token.user_id, &token.client_id).as_str(),
        token.family.as_str(),
    )?;
    Ok(())
}

/// Records an access token issued in a family.
pub fn record_access(
    tx: &WriteTx,
    family: &str,
    jti: &str,
    expires_at: OffsetDateTime,
) -> Result<(), StoreError> {
    let entry = format!("{jti} {}", expires_at.unix_timestamp());
    tx.tx
        .open_multimap_table(FAMILY_ACCESS)?
        .insert(family, entry.as_str())?;
    Ok(())
}

/// Removes every refresh token of a family and puts its access tokens on
/// the deny-list; returns how many refresh tokens went.
pub fn delete_family(tx: &WriteTx, family: &str) -> Result<usize, StoreError> {
    let access: Vec<String> = tx
        .tx
        .open_multimap_table(FAMILY_ACCESS)?
        .remove_all(family)?
        .map(|entry| entry.map(|e| e.value().to_owned()))
        .collect::<Result<_, _>>()?;
    for entry in access {
        if let Some((jti, expires)) = entry.split_once(' ')
            && let Ok(expires) = expires.parse::<i64>()
        {
            tx.tx.open_table(REVOKED_JTIS)?.insert(jti, expires)?;
        }
    }
    let hashes: Vec<Vec<u8>> = tx
        .tx
        .open_multimap_table(REFRESH_FAMILIES)?
        .remove_all(family)?
        .map(|hash| hash.map(|h| h.value().to_vec()))
        .collect::<Result<_, _>>()?;
    let mut tokens = tx.tx.open_table(REFRESH_TOKENS)?;
    let mut removed = 0;
    for hash in &hashes {
        if let Some(bytes) = tokens.remove(hash.as_slice())? {
            let token: RefreshToken = decode("refresh token", bytes.value())?;
            drop(bytes);
            tx.tx
                .open_multimap_table(GRANT_FAMILIES)?
                .remove(grant_key(&token.user_id, &token.client_id).as_str(), family)?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// The refresh token families of a user's grant to a client.
pub fn families_of(
    tx: &impl Read,
    user_id: &str,
    client_id: &str,
) -> Result<Vec<String>, StoreError> {
    let mut found = Vec::new();
    for family in tx
        .multimap(GRANT_FAMILIES)?
        .get(grant_key(user_id, client_id).as_str())?
    {
        found.push(family?.value().to_owned());
    }
    Ok(found)
}

/// Puts an access token's `jti` on the deny-list until it expires.
pub fn revoke_jti(tx: &WriteTx, jti: &str, expires_at: OffsetDateTime) -> Result<(), StoreError> {
    tx.tx
        .open_table(REVOKED_JTIS)?
        .insert(jti, expires_at.unix_timestamp())?;
    Ok(())
}

/// Whether an access token was revoked.
pub fn is_jti_revoked(tx: &impl Read, jti: &str) -> Result<bool, StoreError> {
    Ok(tx.table(REVOKED_JTIS)?.get(jti)?.is_some())
}

/// Removes expired codes, refresh tokens and deny-list entries; returns how
/// many records went.
pub fn delete_expired(
    tx: &WriteTx,
    now: OffsetDateTime,
    keep_codes_for: time::Duration,
) -> Result<usize, StoreError> {
    let mut removed = 0;
    let now_secs = now.unix_timestamp();
    tx.tx.open_table(REVOKED_JTIS)?.retain(|_, expires| {
        let keep = expires > now_secs;
        removed += usize::from(!keep);
        keep
    })?;
    tx.tx.open_table(CODES)?.retain(|_, bytes| {
        // Used codes stay as long as what they issued could be replayed.
        let keep = serde_json::from_slice::<AuthorizationCode>(bytes)
            .map(|code| code.expires_at + keep_codes_for > now)
            .unwrap_or(false);
        removed += usize::from(!keep);
        keep
    })?;
    let mut families = Vec::new();
    for entry in tx.table(REFRESH_TOKENS)?.iter()? {
        let (_, bytes) = entry?;
        let token: RefreshToken = decode("refresh token", bytes.value())?;
        if token.expires_at <= now {
            families.push(token.family);
        }
    }
    families.sort();
    families.dedup();
    for family in families {
        removed += delete_family(tx, &family)?;
    }
    Ok(removed)
}
