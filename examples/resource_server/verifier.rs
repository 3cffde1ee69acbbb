//! Offline validation of tessera access tokens (RFC 9068 JWTs), as a
//! resource server does it: the signing keys come from tessera's JWKS,
//! fetched once and cached; a token signed with a key the cache does not
//! know (tessera rotated its keys) makes one refetch, at most one per
//! [`REFETCH_INTERVAL`], so a flood of made-up `kid`s cannot turn this
//! server into a load generator against tessera. No request to tessera is
//! ever made per token.
//!
//! Web-framework free on purpose, so that the benchmark (`examples/bench`)
//! can include this very file (`#[path]`) and measure validation as the
//! example server does it.

use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// The least time between two JWKS fetches caused by unknown `kid`s.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// Clock skew tolerated on `exp` (and `nbf`) between tessera and us.
const LEEWAY_SECS: u64 = 30;

/// What a valid access token says (RFC 9068 §2.2).
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    /// The user's id, or the client's for `client_credentials`.
    pub sub: String,
    /// Space-separated scopes (RFC 9068 §2.2.3).
    #[serde(default)]
    pub scope: String,
    /// RFC 9449 §6.1: the DPoP key a bound token is bound to.
    #[serde(default)]
    pub cnf: Option<Confirmation>,
}

/// `cnf` of a DPoP-bound token: its key's RFC 7638 thumbprint.
#[derive(Debug, Clone, Deserialize)]
pub struct Confirmation {
    pub jkt: String,
}

impl Claims {
    /// RFC 6750 §3.1 `insufficient_scope` unless the token carries `scope`.
    pub fn require_scope(&self, scope: &'static str) -> Result<(), Rejection> {
        if self.scope.split(' ').any(|granted| granted == scope) {
            Ok(())
        } else {
            Err(Rejection::InsufficientScope(scope))
        }
    }
}

/// Why a request is refused; each maps to an RFC 6750 §3.1 error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// `invalid_token` (401): "expired, revoked, malformed, or invalid for
    /// other reasons". The text says which, for `error_description`.
    InvalidToken(&'static str),
    /// `insufficient_scope` (403): "the request requires higher privileges
    /// than provided by the access token"; names the scope needed.
    InsufficientScope(&'static str),
    /// The token names a key we do not have and tessera's JWKS could not be
    /// fetched: not the client's fault (503).
    KeysUnavailable,
}

/// Why the verifier could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("cannot reach {url}: {source}")]
    Fetch { url: String, source: reqwest::Error },
    #[error("the metadata at {0} names issuer `{1}`, not the one configured")]
    IssuerMismatch(String, String),
}

/// A public key from the JWKS with the one algorithm it may verify.
struct Key {
    decoding: DecodingKey,
    validation: Validation,
}

/// Validates access tokens of one issuer for one audience.
pub struct Verifier {
    http: reqwest::Client,
    jwks_uri: String,
    issuer: String,
    audience: String,
    keys: RwLock<HashMap<String, Key>>,
    /// When an unknown `kid` last made us refetch; held while refetching so
    /// that concurrent requests with the same new `kid` wait for one fetch.
    refetched: tokio::sync::Mutex<Option<Instant>>,
}

impl Verifier {
    /// Finds the JWKS through the issuer's metadata (RFC 8414) and fetches it.
    pub async fn discover(issuer: &str, audience: &str) -> Result<Self, SetupError> {
        #[derive(Deserialize)]
        struct Metadata {
            issuer: String,
            jwks_uri: String,
        }
        let http = reqwest::Client::new();
        let issuer = issuer.trim_end_matches('/');
        let url = format!("{issuer}/.well-known/oauth-authorization-server");
        let metadata: Metadata = get_json(&http, &url).await?;
        // RFC 8414 §3.3: the metadata must name the issuer it was fetched for.
        if metadata.issuer != issuer {
            return Err(SetupError::IssuerMismatch(url, metadata.issuer));
        }
        Self::new(http, issuer, audience, &metadata.jwks_uri).await
    }

    /// A verifier with a configured JWKS location; fetches it once now.
    pub async fn new(
        http: reqwest::Client,
        issuer: &str,
        audience: &str,
        jwks_uri: &str,
    ) -> Result<Self, SetupError> {
        let verifier = Self {
            http,
            jwks_uri: jwks_uri.to_owned(),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            keys: RwLock::new(HashMap::new()),
            refetched: tokio::sync::Mutex::new(None),
        };
        verifier.fetch_keys().await?;
        Ok(verifier)
    }

    /// The claims of `token` if it is a valid access token for us: signed by
    /// a key in the JWKS with that key's algorithm (never the one the token
    /// asks for: RFC 8725 §3.1), `typ` `at+jwt` (RFC 9068 §4, so an ID token
    /// cannot pass for one), our issuer and audience, not expired.
    pub async fn verify(&self, token: &str) -> Result<Claims, Rejection> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| Rejection::InvalidToken("the token is not a JWT"))?;
        if !matches!(header.typ.as_deref(), Some("at+jwt" | "application/at+jwt")) {
            return Err(Rejection::InvalidToken("the token is not an access token"));
        }
        let kid = header
            .kid
            .ok_or(Rejection::InvalidToken("the token names no key"))?;
        if let Some(verdict) = self.check_with_cached_key(token, &kid) {
            return verdict;
        }
        self.refetch_for(&kid).await?;
        self.check_with_cached_key(token, &kid)
            .unwrap_or(Err(Rejection::InvalidToken("the token's key is unknown")))
    }

    /// `None` when no cached key has this `kid`.
    fn check_with_cached_key(&self, token: &str, kid: &str) -> Option<Result<Claims, Rejection>> {
        let keys = self
            .keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = keys.get(kid)?;
        Some(
            jsonwebtoken::decode::<Claims>(token, &key.decoding, &key.validation)
                .map(|data| data.claims)
                .map_err(|err| Rejection::InvalidToken(reason(err.kind()))),
        )
    }

    /// Refetches the JWKS for an unknown `kid`, unless a refetch happened
    /// within [`REFETCH_INTERVAL`] (then the `kid` stays unknown).
    async fn refetch_for(&self, kid: &str) -> Result<(), Rejection> {
        let mut refetched = self.refetched.lock().await;
        if self
            .keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .contains_key(kid)
        {
            return Ok(()); // fetched by the request we waited for
        }
        if refetched.is_some_and(|at| at.elapsed() < REFETCH_INTERVAL) {
            return Ok(());
        }
        *refetched = Some(Instant::now());
        self.fetch_keys().await.map_err(|err| {
            tracing::warn!(%err, "JWKS refetch failed");
            Rejection::KeysUnavailable
        })
    }

    /// Replaces the cached keys with the JWKS's signing keys. A key we cannot
    /// use (another type, no `kid` or `alg`) is skipped, not fatal.
    async fn fetch_keys(&self) -> Result<(), SetupError> {
        #[derive(Deserialize)]
        struct JwkSet {
            keys: Vec<serde_json::Value>,
        }
        let set: JwkSet = get_json(&self.http, &self.jwks_uri).await?;
        let keys: HashMap<String, Key> = set
            .keys
            .into_iter()
            .filter_map(|jwk| serde_json::from_value::<Jwk>(jwk).ok())
            .filter_map(|jwk| self.key_of(&jwk))
            .collect();
        tracing::info!(keys = keys.len(), jwks_uri = %self.jwks_uri, "fetched the JWKS");
        *self
            .keys
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = keys;
        Ok(())
    }

    fn key_of(&self, jwk: &Jwk) -> Option<(String, Key)> {
        if jwk
            .common
            .public_key_use
            .as_ref()
            .is_some_and(|usage| *usage != PublicKeyUse::Signature)
        {
            return None;
        }
        let alg = Algorithm::try_from(jwk.common.key_algorithm?).ok()?;
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        let key = Key {
            decoding: DecodingKey::from_jwk(jwk).ok()?,
            validation,
        };
        Some((jwk.common.key_id.clone()?, key))
    }
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> Result<T, SetupError> {
    let fetch = async {
        http.get(url)
            .timeout(Duration::from_secs(10))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    };
    fetch.await.map_err(|source| SetupError::Fetch {
        url: url.to_owned(),
        source,
    })
}

/// The `error_description` for a token jsonwebtoken refused.
fn reason(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "the token has expired",
        ErrorKind::ImmatureSignature => "the token is not valid yet",
        ErrorKind::InvalidIssuer => "the token is from another issuer",
        ErrorKind::InvalidAudience => "the token is not meant for this API",
        ErrorKind::InvalidSignature => "the token's signature is invalid",
        ErrorKind::InvalidAlgorithm => "the token's algorithm is not its key's",
        ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim",
        _ => "the token is malformed",
    }
}
