//! OAuth 2.0 errors, named and documented as the RFCs do; `http/oauth`
//! maps each to its status and to a JSON body or a redirect.

use std::error::Error;
use std::sync::Arc;

/// An error of the authorization or token endpoint (RFC 6749 §4.1.2.1,
/// §5.2; RFC 7009; RFC 7662).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {description}", code = self.kind.code())]
pub struct OAuthError {
    pub kind: ErrorKind,
    /// `error_description`: for the developer, never containing secrets.
    pub description: String,
    /// What caused a `server_error`: for the server's log (HTTP writes it
    /// in the request's log line), never for the client.
    #[source]
    pub source: Option<Arc<dyn Error + Send + Sync>>,
}

/// Two errors are equal when they say the same on the wire.
impl PartialEq for OAuthError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.description == other.description
    }
}

impl Eq for OAuthError {}

/// The RFC error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is missing a parameter, includes an invalid value, or is
    /// otherwise malformed.
    InvalidRequest,
    /// Client authentication failed (unknown client, no or wrong
    /// credentials, unsupported method).
    InvalidClient,
    /// The grant (code, refresh token) is invalid, expired, revoked, does
    /// not match the redirect URI, or was issued to another client.
    InvalidGrant,
    /// The client is not authorized to use this grant or response type.
    UnauthorizedClient,
    /// The grant type is not supported.
    UnsupportedGrantType,
    /// The response type is not supported.
    UnsupportedResponseType,
    /// The scope is invalid, unknown, or exceeds what was granted.
    InvalidScope,
    /// The resource owner or authorization server denied the request.
    AccessDenied,
    /// An unexpected condition prevented the request.
    ServerError,
    /// OpenID Connect Core §3.1.2.6: `prompt=none`, but the user must sign in.
    LoginRequired,
    /// `prompt=none`, but the user must consent.
    ConsentRequired,
    /// `prompt=none`, but the user must interact in another way.
    InteractionRequired,
    /// The `request` parameter (a request object) is not supported.
    RequestNotSupported,
    /// The `request_uri` parameter is not supported.
    RequestUriNotSupported,
    /// RFC 8628 §3.5: "The authorization request is still pending as the
    /// end user hasn't yet completed the user-interaction steps".
    AuthorizationPending,
    /// RFC 8628 §3.5: "A variant of `authorization_pending`, the
    /// authorization request is still pending and polling should continue,
    /// but the interval MUST be increased by 5 seconds for this and all
    /// subsequent requests."
    SlowDown,
    /// RFC 8628 §3.5: "The `device_code` has expired, and the device
    /// authorization session has concluded."
    ExpiredToken,
    /// RFC 6749 §4.1.2.1: "The authorization server is currently unable to
    /// handle the request". Answered (429 with `Retry-After`, RFC 6585 §4)
    /// at the token, revocation and introspection endpoints to a client
    /// that failed to authenticate too often from one address (RFC 6749
    /// §2.3.1 asks for brute-force protection): it may try again after
    /// `retry_after_secs`.
    TemporarilyUnavailable { retry_after_secs: u64 },
    /// The same code, answered 503: the database is unavailable (a replica
    /// lost it for a moment), so every client may try again soon.
    DatabaseUnavailable,
    /// RFC 9449 §5: "The DPoP proof JWT is invalid." Also a proof that is
    /// missing where the client or the grant requires one.
    InvalidDpopProof,
    /// RFC 9449 §8: "the authorization server requires nonce in DPoP
    /// proof"; the current nonce is in the `DPoP-Nonce` header.
    UseDpopNonce,
}

impl ErrorKind {
    /// The wire string.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::InvalidClient => "invalid_client",
            ErrorKind::InvalidGrant => "invalid_grant",
            ErrorKind::UnauthorizedClient => "unauthorized_client",
            ErrorKind::UnsupportedGrantType => "unsupported_grant_type",
            ErrorKind::UnsupportedResponseType => "unsupported_response_type",
            ErrorKind::InvalidScope => "invalid_scope",
            ErrorKind::AccessDenied => "access_denied",
            ErrorKind::ServerError => "server_error",
            ErrorKind::LoginRequired => "login_required",
            ErrorKind::ConsentRequired => "consent_required",
            ErrorKind::InteractionRequired => "interaction_required",
            ErrorKind::RequestNotSupported => "request_not_supported",
            ErrorKind::RequestUriNotSupported => "request_uri_not_supported",
            ErrorKind::AuthorizationPending => "authorization_pending",
            ErrorKind::SlowDown => "slow_down",
            ErrorKind::ExpiredToken => "expired_token",
            ErrorKind::TemporarilyUnavailable { .. } | ErrorKind::DatabaseUnavailable => {
                "temporarily_unavailable"
            }
            ErrorKind::InvalidDpopProof => "invalid_dpop_proof",
            ErrorKind::UseDpopNonce => "use_dpop_nonce",
        }
    }
}

impl OAuthError {
    pub fn new(kind: ErrorKind, description: impl Into<String>) -> Self {
        Self {
            kind,
            description: description.into(),
            source: None,
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidGrant, description)
    }

    pub fn invalid_client() -> Self {
        Self::new(ErrorKind::InvalidClient, "client authentication failed")
    }

    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidScope, description)
    }

    /// Client authentication from this address is refused for
    /// `retry_after_secs`.
    pub fn client_locked(retry_after_secs: u64) -> Self {
        Self::new(
            ErrorKind::TemporarilyUnavailable { retry_after_secs },
            format!(
                "too many failed client authentications from this address; \
                 try again in {retry_after_secs} seconds"
            ),
        )
    }

    /// A server-side failure; its cause is kept for the log, not sent.
    /// An unavailable database is `temporarily_unavailable` instead.
    pub fn server(cause: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        let cause = cause.into();
        let error = if crate::store::is_unavailable(&*cause) {
            Self::new(
                ErrorKind::DatabaseUnavailable,
                "the server cannot reach its database; try again in a moment",
            )
        } else {
            Self::new(
                ErrorKind::ServerError,
                "the server could not complete the request",
            )
        };
        Self {
            source: Some(Arc::from(cause)),
            ..error
        }
    }
}

impl From<crate::store::StoreError> for OAuthError {
    fn from(err: crate::store::StoreError) -> Self {
        Self::server(err)
    }
}
