//! The OpenID Connect ID token: the claims each scope releases, minting
//! one at the code grant, and reading one back (`id_token_hint`, logout).
//! Here, under OAuth, so that the grant and the authorization request use
//! it and `oidc` (UserInfo, logout) builds on it, with no cycle.
//!
//! Its sibling, the back-channel logout token, is signed here too, with
//! the same keys.
//!
//! Claims of the `profile`, `email`, `address` and `phone` scopes are
//! returned at UserInfo and, for the many relying parties that read only
//! the ID token (oauth2-proxy among them), in the ID token as well; OpenID
//! Connect Core §5.4 allows both.

use super::{Authentication, OAuthError};
use crate::keys::ID_TOKEN_TYP;
use crate::oauth::Provider;
use crate::store::{Client, User};
use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// The `typ` of logout tokens (OpenID Connect Back-Channel Logout 1.0
/// §2.4, as §4.1 recommends), so that one never passes for an ID token.
pub const LOGOUT_TOKEN_TYP: &str = "logout+jwt";
/// The one member of a logout token's `events` (§2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long a logout token is good for: it is sent at once, and signed
/// again for each retry.
const LOGOUT_TOKEN_TTL: time::Duration = time::Duration::minutes(2);

/// Claims every scope may release, for discovery.
pub const CLAIMS_SUPPORTED: [&str; 20] = [
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
    "sid",
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
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct IdClaims {
    pub sub: String,
    pub aud: Audience,
}

/// RFC 7519 §4.1.3: `aud` is one string or an array of them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl IdClaims {
    /// Whether the token was issued to `client_id`.
    pub fn issued_to(&self, client_id: &str) -> bool {
        match &self.aud {
            Audience::One(aud) => aud == client_id,
            Audience::Many(auds) => auds.iter().any(|aud| aud == client_id),
        }
    }

    /// The client it was issued to, when it names exactly one.
    pub fn client(&self) -> Option<&str> {
        match &self.aud {
            Audience::One(aud) => Some(aud),
            Audience::Many(auds) => match auds.as_slice() {
                [only] => Some(only),
                _ => None,
            },
        }
    }
}

impl Provider {
    /// Signs an ID token for `user` and `client`.
    pub fn id_token(
        &self,
        client: &Client,
        user: &User,
        auth: &Authentication,
        scopes: &[String],
        nonce: Option<&str>,
        access_token: &str,
    ) -> Result<String, OAuthError> {
        let expires =
            self.ctx.now() + crate::config::seconds(self.ctx.settings.oauth.access_token_ttl_secs);
        let about = user_claims(user, scopes);
        let claims = self.id_claims(client, about, auth, nonce, access_token, expires);
        self.sign_as(client, ID_TOKEN_TYP, &Value::Object(claims))
    }

    /// The claims of an ID token issued to `client` with the access token
    /// `access_token`: `about` (the subject's claims), then the standard
    /// ones.
    pub(super) fn id_claims(
        &self,
        client: &Client,
        mut about: Map<String, Value>,
        auth: &Authentication,
        nonce: Option<&str>,
        access_token: &str,
        expires: OffsetDateTime,
    ) -> Map<String, Value> {
        let alg = self.signing_alg(client);
        about.insert("iss".into(), json!(self.ctx.issuer));
        about.insert("aud".into(), json!(client.client_id));
        about.insert("azp".into(), json!(client.client_id));
        about.insert("iat".into(), json!(self.ctx.now().unix_timestamp()));
        about.insert("exp".into(), json!(expires.unix_timestamp()));
        about.insert("auth_time".into(), json!(auth.auth_time.unix_timestamp()));
        about.insert("at_hash".into(), json!(at_hash(access_token, alg)));
        if !auth.amr.is_empty() {
            about.insert("amr".into(), json!(amr_claim(&auth.amr)));
        }
        if let Some(acr) = &auth.acr {
            about.insert("acr".into(), json!(acr));
        }
        if let Some(nonce) = nonce {
            about.insert("nonce".into(), json!(nonce));
        }
        if let Some(sid) = &auth.sid {
            about.insert("sid".into(), json!(sid));
        }
        about
    }

    /// Signs the logout token telling `client` that the session `sid` of
    /// the user `sub` ended (Back-Channel Logout 1.0 §2.4), with the keys
    /// and algorithm of its ID tokens. `jti` stays the same across retries
    /// of one notice, so a client can tell a retry of a token it took.
    /// Never a `nonce`: §2.4 forbids it, so that a logout token cannot
    /// pass for an ID token.
    pub fn logout_token(
        &self,
        client: &Client,
        sub: &str,
        sid: &str,
        jti: &str,
    ) -> Result<String, OAuthError> {
        let now = self.ctx.now();
        let claims = json!({
            "iss": self.ctx.issuer,
            "aud": client.client_id,
            "iat": now.unix_timestamp(),
            "exp": (now + LOGOUT_TOKEN_TTL).unix_timestamp(),
            "jti": jti,
            "sub": sub,
            "sid": sid,
            "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
        });
        self.sign_as(client, LOGOUT_TOKEN_TYP, &claims)
    }

    /// Reads back an ID token tessera issued, even expired (`id_token_hint`,
    /// logout): only the signature and issuer are checked.
    pub fn read_id_token(&self, token: &str) -> Option<IdClaims> {
        self.keys().verify_id_token(token, &self.ctx.issuer)
    }
}

/// The `amr` claim of a session's methods. Where tessera names a method
/// more precisely than the RFC 8176 §2 registry, the claim gives the
/// registered value it is a case of: a recovery code is a one-time password
/// (`otp`), as the session, `/account` and the audit log keep telling it
/// from a mailed code. Each value once, in the order first completed.
fn amr_claim(methods: &[String]) -> Vec<&str> {
    let mut claim = Vec::new();
    for method in methods {
        let value = match method.as_str() {
            crate::accounts::recovery_codes::METHOD => "otp",
            other => other,
        };
        if !claim.contains(&value) {
            claim.push(value);
        }
    }
    claim
}

#[cfg(test)]
mod tests {
    use super::{Audience, IdClaims, amr_claim, at_hash};
    use crate::jwa::SigningAlg;
    use crate::keys::{ACCESS_TOKEN_TYP, ID_TOKEN_TYP, KeyRing};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use proptest::prelude::*;

    fn audience() -> impl Strategy<Value = Audience> {
        prop_oneof![
            any::<String>().prop_map(Audience::One),
            proptest::collection::vec(any::<String>(), 0..4).prop_map(Audience::Many),
        ]
    }

    #[test]
    fn a_recovery_code_is_claimed_as_a_one_time_password_once() {
        let methods = ["pwd", "otp", "recovery_code"].map(String::from);
        assert_eq!(amr_claim(&methods), ["pwd", "otp"]);
        let methods = ["pwd", "recovery_code"].map(String::from);
        assert_eq!(amr_claim(&methods), ["pwd", "otp"]);
    }

    proptest! {
        #[test]
        fn arbitrary_claims_never_panic(json in any::<String>()) {
            if let Ok(claims) = serde_json::from_str::<IdClaims>(&json) {
                let _ = (claims.client(), claims.issued_to("notes"));
            }
        }

        #[test]
        fn claims_round_trip_and_name_their_audience(sub in any::<String>(), aud in audience()) {
            let claims = IdClaims { sub, aud };
            let json = serde_json::to_string(&claims).expect("serializes");
            let read: IdClaims = serde_json::from_str(&json).expect("reads back");
            prop_assert_eq!(&read, &claims);
            if let Some(client) = read.client() {
                prop_assert!(read.issued_to(client));
            }
        }
    }

    const ISSUER: &str = "https://id.example";

    /// Base64url segments of arbitrary bytes: the shape of a JWT.
    fn jwt_shaped() -> impl Strategy<Value = String> {
        proptest::collection::vec(any::<Vec<u8>>(), 1..4).prop_map(|parts| {
            let parts: Vec<String> = parts
                .iter()
                .map(|part| URL_SAFE_NO_PAD.encode(part))
                .collect();
            parts.join(".")
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn arbitrary_hints_are_never_read_back(token in any::<String>(), shaped in jwt_shaped()) {
            let ring = KeyRing::single(SigningAlg::EdDSA);
            prop_assert!(ring.verify_id_token::<IdClaims>(&token, ISSUER).is_none());
            prop_assert!(ring.verify_id_token::<IdClaims>(&shaped, ISSUER).is_none());
        }

        #[test]
        fn signed_id_tokens_read_back_as_signed(sub in any::<String>(), aud in audience()) {
            let ring = KeyRing::single(SigningAlg::EdDSA);
            let claims = IdClaims { sub, aud };
            let mut body = serde_json::to_value(&claims).expect("serializes");
            body["iss"] = ISSUER.into();
            let token = ring.sign(SigningAlg::EdDSA, ID_TOKEN_TYP, &body).expect("signs");
            prop_assert_eq!(ring.verify_id_token::<IdClaims>(&token, ISSUER), Some(claims));
            prop_assert!(ring.verify_id_token::<IdClaims>(&token, "https://other.example").is_none());
        }
    }

    #[test]
    fn only_an_id_token_with_our_key_and_algorithm_is_read_back() {
        let ring = KeyRing::single(SigningAlg::EdDSA);
        let claims = serde_json::json!({ "iss": ISSUER, "sub": "u", "aud": "notes" });
        let access = ring
            .sign(SigningAlg::EdDSA, ACCESS_TOKEN_TYP, &claims)
            .expect("signs");
        assert!(ring.verify_id_token::<IdClaims>(&access, ISSUER).is_none());
        let id = ring
            .sign(SigningAlg::EdDSA, ID_TOKEN_TYP, &claims)
            .expect("signs");
        let (_, rest) = id.split_once('.').expect("a JWT");
        for forged in [
            r#"{"alg":"none","typ":"JWT","kid":"k1"}"#,
            r#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#,
            r#"{"alg":"EdDSA","typ":"JWT","kid":"k2"}"#,
            r#"{"alg":"EdDSA","typ":"JWT"}"#,
        ] {
            let token = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(forged));
            assert!(
                ring.verify_id_token::<IdClaims>(&token, ISSUER).is_none(),
                "{forged}"
            );
        }
        assert!(ring.verify_id_token::<IdClaims>(&id, ISSUER).is_some());
    }

    #[test]
    fn the_audience_is_one_client_or_a_list() {
        let read = |json: &str| serde_json::from_str::<IdClaims>(json).ok();
        let one = read(r#"{"sub":"u","aud":"notes"}"#).expect("one");
        assert_eq!(
            (one.client(), one.issued_to("notes")),
            (Some("notes"), true)
        );
        let many = read(r#"{"sub":"u","aud":["notes","wiki"]}"#).expect("many");
        assert_eq!((many.client(), many.issued_to("wiki")), (None, true));
        assert!(!many.issued_to("other"));
        assert!(read(r#"{"sub":"u","aud":7}"#).is_none());
        assert!(read(r#"{"sub":"u"}"#).is_none());
    }

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
