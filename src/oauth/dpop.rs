//! DPoP (RFC 9449): checks the proof a request carries in its `DPoP`
//! header, names the key it proves by its RFC 7638 thumbprint (`jkt`),
//! and makes the server nonces of §8 when `oauth.dpop_nonce_secs` asks
//! for them. The token endpoint binds tokens to that key (`cnf.jkt`), and
//! tessera's own resources (UserInfo) ask for a proof with every bound
//! token.
//!
//! A proof is good once: its (key, `jti`) is remembered in the store for
//! as long as its `iat` stays in the window, so that a replay is refused
//! by every replica sharing the store (§11.1).

use crate::oauth::{ErrorKind, OAuthError, Provider};
use crate::secret::{TokenHash, constant_time_eq, sha256};
use crate::store::StoreError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::Duration;

/// The `alg` values a proof may use (asymmetric only, §4.2), as discovery
/// advertises them in `dpop_signing_alg_values_supported`.
pub const ALGS: [&str; 5] = ["ES256", "ES384", "RS256", "PS256", "EdDSA"];

/// How far `iat` may be from the server's clock, either way (§11.1).
const WINDOW: Duration = Duration::seconds(60);

/// Members of a JWK that belong to a private or symmetric key (RFC 7518
/// §6.2.2, §6.3.2, §6.4.1): a proof's key must be public (§4.2).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A DPoP proof as a request presented it, with what the proof must name:
/// the request's method and path (under the issuer, that is `htu`).
#[derive(Debug, Clone)]
pub struct ProofRequest {
    /// The `DPoP` header's value.
    pub proof: String,
    /// `htm`: the HTTP method.
    pub method: String,
    /// The path of the endpoint; `htu` is the issuer's URL with it.
    pub path: String,
}

/// The base64url SHA-256 JWK thumbprint (RFC 7638) of a proof's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Jkt(pub String);

impl Jkt {
    /// Whether `stored` (a recorded thumbprint) names this key.
    pub fn is(&self, stored: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), stored.as_bytes())
    }
}

/// `cnf` of a DPoP-bound access token (§6.1), also in its introspection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub jkt: String,
}

/// Why a proof is refused.
#[derive(Debug, thiserror::Error)]
pub enum DpopError {
    /// §7.1 / §5: `invalid_dpop_proof`, with the reason.
    #[error("{0}")]
    InvalidProof(String),
    /// §8: `use_dpop_nonce`: the proof lacks the current server nonce.
    #[error("the DPoP proof must carry the server's current nonce (DPoP-Nonce)")]
    UseNonce,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DpopError> for OAuthError {
    fn from(err: DpopError) -> Self {
        match err {
            DpopError::InvalidProof(why) => OAuthError::new(ErrorKind::InvalidDpopProof, why),
            DpopError::UseNonce => OAuthError::new(ErrorKind::UseDpopNonce, err.to_string()),
            DpopError::Store(err) => OAuthError::server(err),
        }
    }
}

fn invalid(why: impl Into<String>) -> DpopError {
    DpopError::InvalidProof(why.into())
}

/// The claims of a proof (§4.2).
#[derive(Deserialize)]
struct ProofClaims {
    jti: String,
    htm: String,
    htu: String,
    iat: i64,
    ath: Option<String>,
    nonce: Option<String>,
}

/// `ath`: base64url SHA-256 of an access token (§4.2).
pub fn access_token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha256(access_token.as_bytes()))
}

impl Provider {
    /// Checks a proof (§4.3) for `request`, and its `ath` against
    /// `access_token` when one is presented with it; records its `jti`.
    /// Returns the thumbprint of the key it proves.
    pub fn check_proof(
        &self,
        request: &ProofRequest,
        access_token: Option<&str>,
    ) -> Result<Jkt, DpopError> {
        let (alg, jwk) = proof_header(&request.proof)?;
        let key = DecodingKey::from_jwk(&jwk)
            .map_err(|_| invalid("the DPoP proof's jwk is not a usable public key"))?;
        let mut validation = Validation::new(alg);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<ProofClaims>(&request.proof, &key, &validation)
            .map_err(|_| invalid("the DPoP proof's signature or claims are invalid"))?
            .claims;
        if claims.jti.is_empty() || claims.jti.len() > 256 {
            return Err(invalid("the DPoP proof's jti is missing or too long"));
        }
        if claims.htm != request.method {
            return Err(invalid(format!(
                "htm must be the request's method, {}",
                request.method
            )));
        }
        let expected = format!("{}{}", self.ctx.issuer, request.path);
        if !same_target(&claims.htu, &expected) {
            return Err(invalid(format!("htu must be {expected}")));
        }
        let now = self.ctx.now();
        let iat = time::OffsetDateTime::from_unix_timestamp(claims.iat)
            .map_err(|_| invalid("the DPoP proof's iat is not a time"))?;
        if iat < now - WINDOW || iat > now + WINDOW {
            return Err(invalid(
                "the DPoP proof's iat is too far from the server's time",
            ));
        }
        if let Some(token) = access_token {
            let expected = access_token_hash(token);
            if !claims
                .ath
                .as_deref()
                .is_some_and(|ath| constant_time_eq(ath.as_bytes(), expected.as_bytes()))
            {
                return Err(invalid(
                    "ath must be the hash of the access token presented with the proof",
                ));
            }
        }
        if self.ctx.settings.oauth.dpop_nonce_secs > 0
            && !claims
                .nonce
                .as_deref()
                .is_some_and(|n| self.is_dpop_nonce(n))
        {
            return Err(DpopError::UseNonce);
        }
        let jkt = Jkt(jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|_| invalid("the DPoP proof's jwk has no thumbprint"))?);
        // Remembered until its iat leaves the window: a proof older than
        // that is refused by the check above, replayed or not.
        let seen = TokenHash(sha256(format!("{} {}", jkt.0, claims.jti).as_bytes()));
        let new = self
            .ctx
            .store
            .write(|tx| tx.remember_dpop_proof(&seen, iat + WINDOW))?;
        if !new {
            return Err(invalid("the DPoP proof was already used"));
        }
        Ok(jkt)
    }

    /// The nonce proofs must carry now (§8), when nonces are asked for: a
    /// MAC of the current time slot under the key file's key, so that
    /// every replica makes and accepts the same without storing any.
    pub fn dpop_nonce(&self) -> Option<String> {
        let slot = self.nonce_slot()?;
        Some(self.nonce_for(slot))
    }

    fn nonce_slot(&self) -> Option<i64> {
        let secs = i64::try_from(self.ctx.settings.oauth.dpop_nonce_secs).ok()?;
        (secs > 0).then(|| self.ctx.now().unix_timestamp().div_euclid(secs))
    }

    fn nonce_for(&self, slot: i64) -> String {
        let mac = self
            .ctx
            .sealer
            .mac("dpop-nonce", slot.to_string().as_bytes());
        format!("{slot}.{mac}")
    }

    /// The current nonce or the one before it (a client that got it just
    /// before the slot changed).
    fn is_dpop_nonce(&self, nonce: &str) -> bool {
        let Some(slot) = self.nonce_slot() else {
            return false;
        };
        [slot, slot - 1]
            .into_iter()
            .any(|slot| constant_time_eq(self.nonce_for(slot).as_bytes(), nonce.as_bytes()))
    }
}

/// The `alg` and public `jwk` of a proof's header, checked as §4.3 asks:
/// `typ` is `dpop+jwt`, `alg` asymmetric and supported, `jwk` public.
fn proof_header(proof: &str) -> Result<(Algorithm, Jwk), DpopError> {
    let mut parts = proof.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("the DPoP proof is not a compact JWS"));
    };
    let header: Map<String, Value> = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| invalid("the DPoP proof's header is not JSON"))?;
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err(invalid("the DPoP proof's typ must be dpop+jwt"));
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .filter(|alg| ALGS.contains(alg))
        .and_then(|alg| alg.parse::<Algorithm>().ok())
        .ok_or_else(|| {
            invalid(format!(
                "the DPoP proof's alg must be one of {}",
                ALGS.join(", ")
            ))
        })?;
    let jwk = header
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("the DPoP proof's header must carry its public key as jwk"))?;
    if PRIVATE_MEMBERS
        .iter()
        .any(|member| jwk.contains_key(*member))
    {
        return Err(invalid(
            "the DPoP proof's jwk must be a public key, without private members",
        ));
    }
    let jwk: Jwk = serde_json::from_value(Value::Object(jwk.clone()))
        .map_err(|_| invalid("the DPoP proof's jwk is not a JWK"))?;
    Ok((alg, jwk))
}

/// Whether `htu` names `expected`, ignoring query and fragment (§4.3),
/// after RFC 3986 syntax-based normalisation (case of scheme and host,
/// default port, percent-encoding), which URL parsing does.
fn same_target(htu: &str, expected: &str) -> bool {
    let strip = |raw: &str| {
        url::Url::parse(raw).ok().map(|mut url| {
            url.set_query(None);
            url.set_fragment(None);
            url
        })
    };
    match (strip(htu), strip(expected)) {
        (Some(htu), Some(expected)) => htu == expected,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htu_ignores_query_fragment_and_letter_case_of_scheme_and_host() {
        let expected = "https://id.example.com/oauth2/token";
        for same in [
            "https://id.example.com/oauth2/token",
            "HTTPS://ID.Example.com/oauth2/token",
            "https://id.example.com:443/oauth2/token",
            "https://id.example.com/oauth2/token?x=1#y",
        ] {
            assert!(same_target(same, expected), "{same}");
        }
        for other in [
            "https://id.example.com/oauth2/userinfo",
            "http://id.example.com/oauth2/token",
            "https://id.example.com:8443/oauth2/token",
            "https://evil.example.com/oauth2/token",
            "/oauth2/token",
        ] {
            assert!(!same_target(other, expected), "{other}");
        }
    }

    #[test]
    fn ath_is_the_base64url_sha256_of_the_token() {
        // RFC 9449 §7.1's example: the token and its ath.
        assert_eq!(
            access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }
}
