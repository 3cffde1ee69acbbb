//! The OpenID Connect ID token: the claims each scope releases, minting
//! one at the code grant, and reading one back (`id_token_hint`, logout).
//! Here, under OAuth, so that the grant and the authorization request use
//! it and `oidc` (UserInfo, logout) builds on it, with no cycle.
//!
//! Claims of the `profile`, `email`, `address` and `phone` scopes are
//! returned at UserInfo and, for the many relying parties that read only
//! the ID token (oauth2-proxy among them), in the ID token as well; OpenID
//! Connect Core §5.4 allows both.

use super::{Authentication, OAuthError};
use crate::context::Context;
use crate::store::{Client, User};
use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Claims every scope may release, for discovery.
pub const CLAIMS_SUPPORTED: [&str; 19] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "amr",
    "acr",
    "azp",
    "name",
    "preferred_username",
    "updated_at",
    "email",
    "email_verified",
    "address",
    "phone_number",
    "phone_number_verified",
];

/// The claims `scopes` release about `user`.
pub fn user_claims(user: &User, scopes: &[String]) -> Map<String, Value> {
    let has = |scope: &str| scopes.iter().any(|s| s == scope);
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user.id));
    if has("profile") {
        claims.insert("preferred_username".into(), json!(user.username));
        if let Some(name) = &user.name {
            claims.insert("name".into(), json!(name));
        }
        claims.insert("updated_at".into(), json!(user.updated_at.unix_timestamp()));
    }
    if has("email")
        && let Some(email) = &user.email
    {
        claims.insert("email".into(), json!(email));
        claims.insert("email_verified".into(), json!(user.email_verified));
    }
    if has("address")
        && let Some(address) = &user.address
    {
        claims.insert("address".into(), json!({ "formatted": address }));
    }
    if has("phone")
        && let Some(phone) = &user.phone_number
    {
        claims.insert("phone_number".into(), json!(phone));
        claims.insert("phone_number_verified".into(), json!(false));
    }
    claims
}

/// OpenID Connect Core §3.1.3.6: the left half of the hash of the access
/// token, the hash being the one of the ID token's algorithm (SHA-512 for
/// Ed25519).
fn at_hash(access_token: &str, alg: crate::jwa::SigningAlg) -> String {
    let hash = match alg {
        crate::jwa::SigningAlg::EdDSA => &digest::SHA512,
        _ => &digest::SHA256,
    };
    let digest = digest::digest(hash, access_token.as_bytes());
    let digest = digest.as_ref();
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// What an ID token says, as far as tessera reads one back.
#[derive(Debug, Deserialize)]
pub struct IdClaims {
    pub sub: String,
    pub aud: Value,
}

impl IdClaims {
    /// Whether the token was issued to `client_id`.
    pub fn issued_to(&self, client_id: &str) -> bool {
        match &self.aud {
            Value::String(aud) => aud == client_id,
            Value::Array(auds) => auds.iter().any(|aud| aud == client_id),
            _ => false,
        }
    }

    /// The client it was issued to, when it names one.
    pub fn client(&self) -> Option<&str> {
        match &self.aud {
            Value::String(aud) => Some(aud),
            Value::Array(auds) if auds.len() == 1 => auds[0].as_str(),
            _ => None,
        }
    }
}

/// Signs an ID token for `user` and `client`.
pub fn id_token(
    ctx: &Context,
    client: &Client,
    user: &User,
    auth: &Authentication,
    scopes: &[String],
    nonce: Option<&str>,
    access_token: &str,
) -> Result<String, OAuthError> {
    let now = ctx.now();
    let alg = client.signing_alg.unwrap_or(ctx.settings.oauth.signing_alg);
    let mut claims = user_claims(user, scopes);
    claims.insert("iss".into(), json!(ctx.issuer));
    claims.insert("aud".into(), json!(client.client_id));
    claims.insert("azp".into(), json!(client.client_id));
    claims.insert("iat".into(), json!(now.unix_timestamp()));
    claims.insert(
        "exp".into(),
        json!(
            (now + crate::config::seconds(ctx.settings.oauth.access_token_ttl_secs))
                .unix_timestamp()
        ),
    );
    claims.insert("auth_time".into(), json!(auth.auth_time.unix_timestamp()));
    claims.insert("at_hash".into(), json!(at_hash(access_token, alg)));
    if !auth.amr.is_empty() {
        claims.insert("amr".into(), json!(auth.amr));
    }
    if let Some(acr) = &auth.acr {
        claims.insert("acr".into(), json!(acr));
    }
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    let keys = ctx.keys().map_err(OAuthError::server)?;
    keys.sign(alg, crate::keys::ID_TOKEN_TYP, &Value::Object(claims))
        .map_err(OAuthError::server)
}

/// Reads back an ID token tessera issued, even expired (`id_token_hint`,
/// logout): only the signature and issuer are checked.
pub fn read_id_token(ctx: &Context, token: &str) -> Option<IdClaims> {
    ctx.keys().ok()?.verify_id_token(token, &ctx.issuer)
}

#[cfg(test)]
mod tests {
    use super::at_hash;
    use crate::jwa::SigningAlg;

    #[test]
    fn at_hash_is_the_left_half_of_the_access_tokens_hash() {
        // OpenID Connect Core A.3 example: access token and its at_hash.
        assert_eq!(
            at_hash(
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y",
                SigningAlg::RS256
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
