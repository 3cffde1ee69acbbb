//! Signing keys: one active key per algorithm, generated on first use and
//! kept in the store with the private half sealed (see `seal`). They are
//! parsed once into a [`KeyRing`] in memory, because jsonwebtoken re-parses
//! DER on every call otherwise. Rotation (from the command line) retires
//! the active key: a retired key stays published in the JWKS until every
//! token it signed has expired, then it is deleted.

use crate::config::SigningAlg;
use crate::context::Context;
use crate::secret::random_id;
use crate::store::{SigningKey, StoreError, keys as stored};
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use time::OffsetDateTime;

/// The `typ` of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// The `typ` of ID tokens.
pub const ID_TOKEN_TYP: &str = "JWT";

/// What can go wrong with keys.
#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    #[error("cannot generate a {0} key: {1}")]
    Generate(&'static str, String),
    #[error("the stored key {0} cannot be used: {1}")]
    Unusable(String, String),
    #[error("signing failed: {0}")]
    Sign(String),
    #[error("the signing keys are not loaded")]
    NotLoaded,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn jwt_alg(alg: SigningAlg) -> Algorithm {
    match alg {
        SigningAlg::RS256 => Algorithm::RS256,
        SigningAlg::ES256 => Algorithm::ES256,
        SigningAlg::EdDSA => Algorithm::EdDSA,
    }
}

/// A new private key as PKCS#8 PEM (the uniform path into jsonwebtoken).
fn generate(alg: SigningAlg) -> Result<String, SigningKeyError> {
    use ed25519_dalek::pkcs8::{EncodePrivateKey, spki::der::pem::LineEnding};
    let fail =
        |err: &dyn std::fmt::Display| SigningKeyError::Generate(alg.as_str(), err.to_string());
    let pem = match alg {
        SigningAlg::RS256 => {
            let key = rsa::PrivateKey::new(&mut rand::rng(), 2048).map_err(|e| fail(&e))?;
            rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(&key, LineEnding::LF)
                .map_err(|e| fail(&e))?
        }
        SigningAlg::ES256 => {
            use p256::elliptic_curve::Generate;
            let key = p256::ecdsa::SigningKey::generate_from_rng(&mut rand::rng());
            key.to_pkcs8_pem(LineEnding::LF).map_err(|e| fail(&e))?
        }
        SigningAlg::EdDSA => {
            let key = ed25519_dalek::SigningKey::generate(&mut rand::rng());
            // A v1 document (no public key inside): the form aws-lc reads.
            let v1 = ed25519_dalek::pkcs8::KeypairBytes {
                secret_key: key.to_bytes(),
                public_key: None,
            };
            v1.to_pkcs8_pem(LineEnding::LF).map_err(|e| fail(&e))?
        }
    };
    Ok(pem.to_string())
}

/// A key ready to sign and verify.
struct Loaded {
    kid: String,
    alg: SigningAlg,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Jwk,
}

fn load(ctx: &Context, key: &SigningKey) -> Result<Loaded, SigningKeyError> {
    let unusable =
        |err: &dyn std::fmt::Display| SigningKeyError::Unusable(key.kid.clone(), err.to_string());
    let pem = ctx
        .sealer
        .open(&key.sealed_private_pem)
        .map_err(|e| unusable(&e))?;
    let encoding = match key.alg {
        SigningAlg::RS256 => EncodingKey::from_rsa_pem(&pem),
        SigningAlg::ES256 => EncodingKey::from_ec_pem(&pem),
        SigningAlg::EdDSA => EncodingKey::from_ed_pem(&pem),
    }
    .map_err(|e| unusable(&e))?;
    let mut jwk = Jwk::from_encoding_key(&encoding, jwt_alg(key.alg)).map_err(|e| unusable(&e))?;
    jwk.common.key_id = Some(key.kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| unusable(&e))?;
    Ok(Loaded {
        kid: key.kid.clone(),
        alg: key.alg,
        encoding,
        decoding,
        jwk,
    })
}

/// The server's keys, parsed once.
pub struct KeyRing {
    active: HashMap<SigningAlg, Loaded>,
    /// Every published key (active and retired), by kid.
    by_kid: HashMap<String, (SigningAlg, DecodingKey)>,
    jwks: JwkSet,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("kids", &self.by_kid.keys())
            .finish()
    }
}

/// A new key record for `alg`.
fn new_key(
    ctx: &Context,
    alg: SigningAlg,
    now: OffsetDateTime,
) -> Result<SigningKey, SigningKeyError> {
    let pem = generate(alg)?;
    let sealed = ctx
        .sealer
        .seal(pem.as_bytes())
        .map_err(|e| SigningKeyError::Generate(alg.as_str(), e.to_string()))?;
    Ok(SigningKey {
        kid: random_id(),
        alg,
        sealed_private_pem: sealed,
        created_at: now,
        retired_at: None,
    })
}

impl KeyRing {
    /// Loads the stored keys, generating an active key for each algorithm
    /// in `algs` that has none (so a server that has its keys generates
    /// nothing at start-up), and deleting retired keys whose tokens have
    /// all expired.
    pub fn load(ctx: &Context, algs: &[SigningAlg]) -> Result<Self, SigningKeyError> {
        let now = ctx.now();
        let keep_retired = ctx.settings.longest_access_token();
        let mut keys = ctx.store.read(stored::list)?;
        let missing: Vec<SigningAlg> = algs
            .iter()
            .copied()
            .filter(|alg| !keys.iter().any(|k| k.alg == *alg && k.retired_at.is_none()))
            .collect();
        let mut created = Vec::new();
        for alg in missing {
            created.push(new_key(ctx, alg, now)?);
        }
        let (expired, live): (Vec<SigningKey>, Vec<SigningKey>) = keys
            .drain(..)
            .partition(|k| k.retired_at.is_some_and(|at| at + keep_retired <= now));
        if !created.is_empty() || !expired.is_empty() {
            ctx.store.write(|tx| {
                for key in &created {
                    stored::put(tx, key)?;
                }
                for key in &expired {
                    stored::delete(tx, &key.kid)?;
                }
                Ok::<_, StoreError>(())
            })?;
        }
        let mut ring = KeyRing {
            active: HashMap::new(),
            by_kid: HashMap::new(),
            jwks: JwkSet { keys: Vec::new() },
        };
        for key in live.iter().chain(&created) {
            let loaded = load(ctx, key)?;
            ring.jwks.keys.push(loaded.jwk.clone());
            ring.by_kid
                .insert(loaded.kid.clone(), (loaded.alg, loaded.decoding.clone()));
            if key.retired_at.is_none() {
                ring.active.insert(key.alg, loaded);
            }
        }
        // Newest first, so clients that take the first key take the signer.
        ring.jwks.keys.sort_by_key(|jwk| {
            let kid = jwk.common.key_id.clone().unwrap_or_default();
            std::cmp::Reverse(
                live.iter()
                    .chain(&created)
                    .find(|k| k.kid == kid)
                    .map(|k| k.created_at),
            )
        });
        Ok(ring)
    }

    /// The published keys.
    pub fn jwks(&self) -> &JwkSet {
        &self.jwks
    }

    /// The algorithms tessera signs with (those with an active key).
    pub fn algorithms(&self) -> Vec<&'static str> {
        let mut algs: Vec<SigningAlg> = self.active.keys().copied().collect();
        algs.sort();
        algs.into_iter().map(SigningAlg::as_str).collect()
    }

    /// Signs `claims` with the active key of `alg`, with `typ` and `kid`.
    pub fn sign<T: Serialize>(
        &self,
        alg: SigningAlg,
        typ: &str,
        claims: &T,
    ) -> Result<String, SigningKeyError> {
        let key = self
            .active
            .get(&alg)
            .ok_or_else(|| SigningKeyError::Sign(format!("no {} key is loaded", alg.as_str())))?;
        let mut header = Header::new(jwt_alg(alg));
        header.typ = Some(typ.to_owned());
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding)
            .map_err(|e| SigningKeyError::Sign(e.to_string()))
    }

    /// Verifies an access token this server signed (signature, `iss`,
    /// `typ`, and `exp` against `now`, the server's clock) and returns its
    /// claims; `None` for anything else.
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        issuer: &str,
        now: OffsetDateTime,
    ) -> Option<T> {
        let claims: serde_json::Value = self.check(token, issuer, ACCESS_TOKEN_TYP)?;
        let live = claims
            .get("exp")
            .and_then(serde_json::Value::as_i64)
            .is_some_and(|exp| exp > now.unix_timestamp());
        live.then(|| serde_json::from_value(claims).ok()).flatten()
    }

    /// Reads back an ID token this server signed, expired or not (an
    /// `id_token_hint` usually is): signature, `iss` and `typ: JWT`.
    pub fn verify_id_token<T: DeserializeOwned>(&self, token: &str, issuer: &str) -> Option<T> {
        self.check(token, issuer, ID_TOKEN_TYP)
    }

    /// Verifies signature, `iss` and the `typ` header, so that an access
    /// token never passes for an ID token or back. Expiry is the caller's:
    /// jsonwebtoken would read the system time, not the server's clock.
    fn check<T: DeserializeOwned>(&self, token: &str, issuer: &str, typ: &str) -> Option<T> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.typ.as_deref() != Some(typ) {
            return None;
        }
        let (alg, key) = self.by_kid.get(header.kid.as_deref()?)?;
        let mut validation = Validation::new(jwt_alg(*alg));
        validation.set_issuer(&[issuer]);
        validation.validate_aud = false;
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        validation.leeway = 0;
        jsonwebtoken::decode::<T>(token, key, &validation)
            .ok()
            .map(|data| data.claims)
    }
}

/// Retires the active key of `alg` and makes a new one: the new key signs
/// from the next start on; the old one stays published until its tokens
/// have expired. Returns the new kid.
pub fn rotate(ctx: &Context, alg: SigningAlg) -> Result<String, SigningKeyError> {
    let now = ctx.now();
    let key = new_key(ctx, alg, now)?;
    ctx.store.write(|tx| {
        for mut old in stored::list(tx)? {
            if old.alg == alg && old.retired_at.is_none() {
                old.retired_at = Some(now);
                stored::put(tx, &old)?;
            }
        }
        stored::put(tx, &key)?;
        Ok::<_, StoreError>(())
    })?;
    Ok(key.kid)
}

/// Every stored key, for `tessera keys list`.
pub fn list(ctx: &Context) -> Result<Vec<SigningKey>, StoreError> {
    ctx.store.read(stored::list)
}
