//! OpenID Connect on top of the OAuth server: UserInfo, RP-initiated
//! logout and the delivery of back-channel logout tokens. The ID token itself, and the claims each scope releases, are
//! `oauth::id_token`'s: the code grant mints it and `id_token_hint` is read
//! back during authorization, so OAuth needs it without depending on this
//! module.

pub mod backchannel;
pub mod logout;

use crate::oauth::Provider;
use crate::oauth::dpop::{DpopError, ProofRequest};
use crate::oauth::id_token::user_claims;
use crate::oauth::tokens::AccessTokenError;
use crate::store::StoreError;
use serde_json::{Map, Value};

/// Why UserInfo refuses a request (RFC 6750 §3.1).
#[derive(Debug, thiserror::Error)]
pub enum UserInfoError {
    /// No token was sent.
    #[error("no access token")]
    Missing,
    /// Malformed, unknown, expired, revoked, or its user is gone.
    #[error("{0}")]
    InvalidToken(&'static str),
    /// RFC 9449 §7.1 `invalid_dpop_proof`: the proof sent with a
    /// DPoP-bound token, with the reason.
    #[error("{0}")]
    InvalidProof(String),
    /// RFC 9449 §9 `use_dpop_nonce`: the proof lacks the server's nonce.
    #[error("the DPoP proof must carry the server's nonce")]
    UseNonce,
    /// The token was not granted `openid`.
    #[error("the access token was not granted the openid scope")]
    InsufficientScope,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// OpenID Connect Core §5.3: the claims an access token may read; a
/// DPoP-bound token with its `proof` (RFC 9449 §7).
pub fn userinfo(
    provider: &Provider,
    token: &str,
    proof: Option<&ProofRequest>,
) -> Result<Map<String, Value>, UserInfoError> {
    let claims = provider
        .verify_access(token, proof)
        .map_err(|err| match err {
            AccessTokenError::Invalid(why) => UserInfoError::InvalidToken(why),
            AccessTokenError::Proof(DpopError::InvalidProof(why)) => {
                UserInfoError::InvalidProof(why)
            }
            AccessTokenError::Proof(DpopError::UseNonce) => UserInfoError::UseNonce,
            AccessTokenError::Proof(DpopError::Store(err)) | AccessTokenError::Store(err) => {
                UserInfoError::Store(err)
            }
        })?;
    let scopes: Vec<String> = claims.scope.split(' ').map(str::to_owned).collect();
    if !scopes.iter().any(|s| s == "openid") {
        return Err(UserInfoError::InsufficientScope);
    }
    let user = provider
        .ctx
        .store
        .read(|tx| tx.user(&claims.sub))?
        .filter(|user| !user.disabled)
        .ok_or(UserInfoError::InvalidToken(
            "the user of this token is gone",
        ))?;
    Ok(user_claims(&user, &scopes))
}
