//! DPoP proofs (RFC 9449 §4.3, §7.1) as a resource server checks them for
//! a DPoP-bound access token: a JWS of `typ` `dpop+jwt`, signed with an
//! asymmetric algorithm by the public `jwk` in its header, naming this
//! request (`htm`, `htu` without query and fragment) and this token
//! (`ath`), made within a minute of now, never seen before; and its key
//! must be the one the token is bound to (`cnf.jkt`, the key's RFC 7638
//! thumbprint). The replay cache is this process's memory: enough for one
//! instance; several instances behind a load balancer would share it (or
//! ask tessera for nonces).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// The algorithms proofs may use, as the `DPoP algs` challenge names them.
pub const ALGS: &str = "ES256 ES384 RS256 PS256 EdDSA";
/// How far a proof's `iat` may be from our clock, either way.
const WINDOW_SECS: i64 = 60;

#[derive(Deserialize)]
struct ProofClaims {
    jti: String,
    htm: String,
    htu: String,
    iat: i64,
    ath: Option<String>,
}

/// Checks proofs for requests to `base_url`, remembering each used one.
pub struct Proofs {
    base_url: String,
    /// `jkt jti` → until when it counts as used (unix seconds).
    seen: Mutex<HashMap<String, i64>>,
}

impl Proofs {
    /// A checker for the API at `base_url` (scheme, host and port).
    pub fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Checks `proof` for `method` on `path` with `access_token`, bound to
    /// `jkt`; the reason when it fails.
    pub fn check(
        &self,
        proof: &str,
        method: &str,
        path: &str,
        access_token: &str,
        jkt: &str,
    ) -> Result<(), &'static str> {
        let (alg, jwk) = header(proof)?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| "the proof's jwk is unusable")?;
        let mut validation = Validation::new(alg);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<ProofClaims>(proof, &key, &validation)
            .map_err(|_| "the proof's signature or claims are invalid")?
            .claims;
        let thumbprint = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|_| "the proof's jwk has no thumbprint")?;
        if thumbprint != jkt {
            return Err("the proof's key is not the one the token is bound to");
        }
        if claims.htm != method {
            return Err("htm is not this request's method");
        }
        if !same_target(&claims.htu, &format!("{}{path}", self.base_url)) {
            return Err("htu is not this request's URL");
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        if (claims.iat - now).abs() > WINDOW_SECS {
            return Err("the proof's iat is too far from now");
        }
        let ath = URL_SAFE_NO_PAD.encode(sha256(access_token.as_bytes()));
        if claims.ath.as_deref() != Some(ath.as_str()) {
            return Err("ath is not the hash of the access token");
        }
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        seen.retain(|_, until| *until > now);
        let fresh = seen
            .insert(format!("{jkt} {}", claims.jti), claims.iat + WINDOW_SECS)
            .is_none();
        if fresh {
            Ok(())
        } else {
            Err("the proof was already used")
        }
    }
}

/// The `alg` and public `jwk` of a proof's header, as §4.3 requires them.
fn header(proof: &str) -> Result<(Algorithm, Jwk), &'static str> {
    let header = proof.split('.').next().unwrap_or_default();
    let header: Map<String, Value> = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or("the proof's header is not JSON")?;
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err("the proof's typ is not dpop+jwt");
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .filter(|alg| ALGS.split(' ').any(|supported| supported == *alg))
        .and_then(|alg| alg.parse().ok())
        .ok_or("the proof's alg is not supported")?;
    let jwk = header
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or("the proof carries no jwk")?;
    if ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]
        .iter()
        .any(|private| jwk.contains_key(*private))
    {
        return Err("the proof's jwk is not a public key");
    }
    let jwk = serde_json::from_value(Value::Object(jwk.clone()))
        .map_err(|_| "the proof's jwk is not a JWK")?;
    Ok((alg, jwk))
}

/// Whether two URLs are the same once query and fragment are dropped and
/// both are normalised (scheme and host case, default port).
fn same_target(htu: &str, expected: &str) -> bool {
    let strip = |raw: &str| {
        url::Url::parse(raw).ok().map(|mut url| {
            url.set_query(None);
            url.set_fragment(None);
            url
        })
    };
    matches!((strip(htu), strip(expected)), (Some(a), Some(b)) if a == b)
}

fn sha256(data: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data)
        .as_ref()
        .to_vec()
}
