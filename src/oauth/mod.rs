//! The OAuth 2.0 authorization server: clients, scopes, signing keys,
//! the authorization code flow with PKCE and consent, and the token,
//! revocation and introspection endpoints' decisions. Synchronous domain
//! code: `http/oauth` parses requests and renders what this decides.

pub mod authorize;
pub mod clients;
pub mod error;
pub mod keys;
pub mod scopes;
pub mod tokens;

pub use error::{ErrorKind, OAuthError};
