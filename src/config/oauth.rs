//! `[oauth]` and `[[clients]]`: the authorization server's settings.

use super::{ConfigError, MAX_SECONDS, Settings, invalid};
use crate::jwa::SigningAlg;
use crate::secret::SecretString;
use serde::Deserialize;
use std::collections::BTreeMap;

/// `[oauth]`: the authorization server.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuthSettings {
    /// Algorithm of tokens for clients that name none.
    pub signing_alg: SigningAlg,
    /// Lifetime of access tokens (a client may set its own).
    pub access_token_ttl_secs: u64,
    /// Lifetime of refresh tokens (a client may set its own).
    pub refresh_token_ttl_secs: u64,
    /// How long after a rotation the previous refresh token still works,
    /// for a client that lost the response; past it, reuse revokes the family.
    pub refresh_reuse_grace_secs: u64,
    /// Lifetime of authorization codes (at most 60).
    pub code_ttl_secs: u64,
    /// Scopes beyond the built-in ones, with the description shown on the
    /// consent page: `"notes:read" = "Read your notes"`. A client may also
    /// name scopes not declared here; they are shown by name.
    pub scopes: BTreeMap<String, String>,
    /// Failed authentications of one client from one address, within
    /// `lockout.window_secs`, after which that address must wait
    /// `lockout.duration_secs` (429 with `Retry-After`) at the token,
    /// revocation and introspection endpoints. Other addresses are not
    /// affected, so nobody can lock a client out from elsewhere.
    pub client_auth_max_failures: u32,
    /// A bearer token that lets clients register themselves (RFC 7591
    /// §3); administrators can also mint tokens of limited use.
    pub initial_access_token: Option<SecretString>,
    /// Lifetime of a device authorization (RFC 8628): how long the user
    /// has to enter the user code, and the device to poll.
    pub device_code_ttl_secs: u64,
    /// The least number of seconds a device waits between two polls of
    /// the token endpoint (RFC 8628 §3.2 `interval`); each `slow_down`
    /// adds 5 for that device.
    pub device_poll_interval_secs: u64,
    /// Every client must push its authorization requests first (RFC 9126
    /// §5); a client may also require it of itself alone.
    pub require_pushed_authorization_requests: bool,
    /// DPoP (RFC 9449 §8): when above 0, every DPoP proof must carry a
    /// server nonce, which changes every this many seconds (the previous
    /// one stays good for as long); 0 asks for none.
    pub dpop_nonce_secs: u64,
}

impl Default for OAuthSettings {
    fn default() -> Self {
        Self {
            signing_alg: SigningAlg::RS256,
            access_token_ttl_secs: 600,
            refresh_token_ttl_secs: 30 * 24 * 60 * 60,
            refresh_reuse_grace_secs: 5,
            code_ttl_secs: 60,
            scopes: BTreeMap::new(),
            client_auth_max_failures: 10,
            initial_access_token: None,
            device_code_ttl_secs: 600,
            device_poll_interval_secs: 5,
            require_pushed_authorization_requests: false,
            dpop_nonce_secs: 0,
        }
    }
}

/// A `[[clients]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedClient {
    pub client_id: String,
    /// Omitted: a public client, which must use PKCE.
    pub client_secret: Option<SecretString>,
    /// Shown on the consent page; defaults to the client_id.
    pub name: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Scopes the client may ask for.
    #[serde(default = "default_client_scopes")]
    pub scopes: Vec<String>,
    #[serde(default = "default_grant_types")]
    pub grant_types: Vec<String>,
    /// Implied consent: the client is part of the same service.
    #[serde(default)]
    pub first_party: bool,
    pub logo_uri: Option<String>,
    pub client_uri: Option<String>,
    /// PKCE for this confidential client too (always for public clients).
    #[serde(default = "default_true")]
    pub require_pkce: bool,
    /// `aud` of its access tokens; defaults to the client_id.
    #[serde(default)]
    pub audience: Vec<String>,
    pub access_token_ttl_secs: Option<u64>,
    pub refresh_token_ttl_secs: Option<u64>,
    pub signing_alg: Option<SigningAlg>,
    /// The journey its users sign in with; defaults to `login`.
    pub journey: Option<String>,
    /// Refuse OpenID Connect requests without a `nonce`.
    #[serde(default)]
    pub require_nonce: bool,
    /// Native apps signed in through the REST journey may exchange their
    /// session token for this (first-party) client's tokens (RFC 8693).
    #[serde(default)]
    pub token_exchange: bool,
    /// A resource server: may introspect any access token. Other clients
    /// learn only about their own tokens and those naming them in `aud`.
    #[serde(default)]
    pub resource_server: bool,
    /// Its authorization requests must be pushed first (RFC 9126 §5).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// Where it takes back-channel logout tokens when a session it got an
    /// ID token in ends (OpenID Connect Back-Channel Logout 1.0 §2.2).
    pub backchannel_logout_uri: Option<String>,
    /// It wants `sid` in logout tokens (tessera always sends it).
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
    /// Its access tokens are always DPoP-bound (RFC 9449 §5.2): token
    /// requests without a DPoP proof are refused.
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
}

fn default_client_scopes() -> Vec<String> {
    vec!["openid".into(), "profile".into(), "email".into()]
}

fn default_grant_types() -> Vec<String> {
    vec!["authorization_code".into(), "refresh_token".into()]
}

fn default_true() -> bool {
    true
}
impl Settings {
    pub(super) fn validate_oauth(&self) -> Result<(), ConfigError> {
        let o = &self.oauth;
        for (key, value) in [
            ("oauth.access_token_ttl_secs", o.access_token_ttl_secs),
            ("oauth.refresh_token_ttl_secs", o.refresh_token_ttl_secs),
            ("oauth.code_ttl_secs", o.code_ttl_secs),
        ] {
            if value == 0 || value > MAX_SECONDS {
                return Err(invalid(
                    key,
                    "must be a positive number of seconds, at most 10 years",
                ));
            }
        }
        if o.code_ttl_secs > 60 {
            // RFC 9700 §4.5 / issue: codes live a minute at most.
            return Err(invalid("oauth.code_ttl_secs", "must be at most 60"));
        }
        if o.refresh_reuse_grace_secs > 60 {
            return Err(invalid(
                "oauth.refresh_reuse_grace_secs",
                "must be at most 60",
            ));
        }
        // It never expires and never runs out: it must not be guessable.
        if let Some(token) = &o.initial_access_token
            && token.expose().len() < 32
        {
            return Err(invalid(
                "oauth.initial_access_token",
                "must be at least 32 characters: generate one with `openssl rand -base64 32`",
            ));
        }
        if o.device_code_ttl_secs == 0 || o.device_code_ttl_secs > 3600 {
            return Err(invalid(
                "oauth.device_code_ttl_secs",
                "must be a positive number of seconds, at most 3600",
            ));
        }
        if o.device_poll_interval_secs == 0 || o.device_poll_interval_secs > 60 {
            return Err(invalid(
                "oauth.device_poll_interval_secs",
                "must be between 1 and 60 seconds",
            ));
        }
        if o.dpop_nonce_secs > 3600 {
            return Err(invalid(
                "oauth.dpop_nonce_secs",
                "must be at most 3600 seconds (0: no nonces)",
            ));
        }
        if o.client_auth_max_failures == 0 {
            return Err(invalid(
                "oauth.client_auth_max_failures",
                "must be at least 1",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, client) in self.clients.iter().enumerate() {
            if !seen.insert(client.client_id.clone()) {
                return Err(invalid(
                    format!("clients[{i}].client_id"),
                    "is declared twice",
                ));
            }
        }
        Ok(())
    }
}
