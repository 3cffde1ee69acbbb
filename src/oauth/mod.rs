//! The OAuth 2.0 authorization server: clients, scopes, signing keys,
//! the authorization code flow with PKCE and consent, the device
//! authorization grant, DPoP, and the token, revocation and introspection
//! endpoints' decisions. Synchronous domain
//! code: `http/oauth` parses requests and renders what this decides.

pub mod authorize;
pub mod authorize_params;
pub mod client_metadata;
pub mod clients;
pub mod consents;
pub mod device;
pub mod dpop;
pub mod error;
pub mod exchange;
pub mod fixture;
pub mod grants;
pub mod id_token;
pub mod par;
pub mod params;
pub mod pkce;
mod provider;
pub mod redirect;
pub mod registration;
pub mod scopes;
pub mod token_request;
pub mod tokens;

pub use error::{ErrorKind, OAuthError};
pub use provider::{KEY_REFRESH, Provider};

/// How the user of a grant authenticated: carried from the session into
/// codes and refresh tokens, for `auth_time` and the ID token's `amr`/`acr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    pub auth_time: time::OffsetDateTime,
    /// RFC 8176 methods completed.
    pub amr: Vec<String>,
    /// The journey that authenticated the user.
    pub acr: Option<String>,
    /// The public id of the session the user authenticated in: the ID
    /// token's `sid` (OpenID Connect Back-Channel Logout 1.0 §2.4), which
    /// names the session, never its token. None for tokens minted without
    /// one (fixture mode).
    pub sid: Option<String>,
}

impl Authentication {
    /// How a session was made.
    pub fn of(session: &crate::store::Session) -> Self {
        Self {
            auth_time: session.auth_time,
            amr: session.amr.clone(),
            acr: Some(session.journey.clone()),
            sid: Some(session.id.clone()),
        }
    }
}
