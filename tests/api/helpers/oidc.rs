//! The resource server's side of a token: verifying a JWT access token
//! offline against the published JWKS.

use super::TestApp;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

/// Verifies an access token as a resource server does, offline: the key by
/// `kid` from the JWKS, only the algorithm `alg` the caller expects (never
/// the one the token names: RFC 8725 §3.1), `typ: at+jwt` (RFC 9068 §4),
/// and `iss`, `aud`, `exp`, `sub`. Returns the claims, or why not.
pub async fn verify_offline(
    app: &TestApp,
    token: &str,
    audience: &str,
    alg: Algorithm,
) -> Result<Value, String> {
    let jwks: JwkSet = app.jwks().await;
    let header = jsonwebtoken::decode_header(token).map_err(|err| err.to_string())?;
    if header.typ.as_deref() != Some("at+jwt") {
        return Err(format!("typ is {:?}, not at+jwt", header.typ));
    }
    let kid = header.kid.ok_or("no kid in the header")?;
    let jwk = jwks.find(&kid).ok_or("the kid is not in the JWKS")?;
    let key = DecodingKey::from_jwk(jwk).map_err(|err| err.to_string())?;
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[&app.address]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|err| err.to_string())
}
