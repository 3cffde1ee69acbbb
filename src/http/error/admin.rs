//! Errors of the admin API in the RFC shape the design asks of it:
//! `{"error", "error_description"}` (as RFC 6749 §5.2), with a Bearer
//! challenge (RFC 6750 §3) on a 401 and on a token's missing scope.

use super::{ApiError, Cause};
use crate::accounts::AccountError;
use crate::admin::{Refusal, SCOPE};
use crate::journeys::ResetLinkError;
use crate::keys::SigningKeyError;
use crate::oauth::clients::ClientError;
use crate::store::StoreError;
use crate::telemetry::BlockingError;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;

/// An error of `/admin/api/`.
#[derive(Debug)]
pub struct AdminError {
    inner: ApiError,
    /// `WWW-Authenticate`, for a refused or missing credential.
    challenge: Option<String>,
}

#[derive(Serialize)]
struct AdminErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

const REALM: &str = "Bearer realm=\"tessera\"";

impl AdminError {
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        ApiError::new(status, code, description).into()
    }

    /// 401: no credentials at all.
    pub fn unauthenticated() -> Self {
        Self {
            challenge: Some(REALM.to_owned()),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Send an administrator's session (cookie or X-Session-Token) or an access token with the tessera:admin scope (Authorization: Bearer).",
            )
        }
    }

    /// 400 `invalid_request`.
    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 404 `not_found`.
    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", description)
    }

    /// 409 `managed_by_config`: the config file declares what `refusal`
    /// names.
    fn managed(refusal: String) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "managed_by_config",
            format!("{refusal}: change it there (it applies at the next start)."),
        )
    }

    /// 403 `cross_origin_request`: a cookie session without proof that
    /// tessera's own page sent the request.
    pub fn cross_origin() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "cross_origin_request",
            "A request authenticated by the session cookie must come from tessera's own pages: send Origin (the issuer's) or X-CSRF-Token, or send the session token in X-Session-Token instead.",
        )
    }
}

impl From<ApiError> for AdminError {
    fn from(inner: ApiError) -> Self {
        Self {
            inner,
            challenge: None,
        }
    }
}

impl From<Refusal> for AdminError {
    fn from(refusal: Refusal) -> Self {
        let description = refusal.to_string();
        let (status, code, challenge) = match refusal {
            Refusal::InvalidToken(why) => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                Some(format!(
                    "{REALM}, error=\"invalid_token\", error_description=\"{why}\""
                )),
            ),
            Refusal::InvalidProof(why) => (
                StatusCode::UNAUTHORIZED,
                "invalid_dpop_proof",
                Some(format!(
                    "DPoP algs=\"{}\", error=\"invalid_dpop_proof\", error_description=\"{}\"",
                    crate::oauth::dpop::ALGS.join(" "),
                    why.replace(['"', '\\'], "'")
                )),
            ),
            Refusal::MissingScope => (
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                Some(format!(
                    "{REALM}, error=\"insufficient_scope\", scope=\"{SCOPE}\""
                )),
            ),
            Refusal::NotAdmin(_) | Refusal::WrongJourney { .. } => {
                (StatusCode::FORBIDDEN, "forbidden", None)
            }
            Refusal::ReauthRequired { .. } => (StatusCode::FORBIDDEN, "reauth_required", None),
            Refusal::Store(err) => return ApiError::internal(err).into(),
        };
        Self {
            challenge,
            ..Self::new(status, code, description)
        }
    }
}

impl From<AccountError> for AdminError {
    fn from(err: AccountError) -> Self {
        let description = err.to_string();
        match err {
            AccountError::InvalidUsername(_)
            | AccountError::EmptyPassword
            | AccountError::InvalidEmail(_)
            | AccountError::InvalidCursor
            | AccountError::WeakPassword(_) => Self::bad_request(description),
            AccountError::ManagedByConfig(_) => Self::managed(description),
            AccountError::UsernameTaken(_)
            | AccountError::EmailTaken(_)
            | AccountError::LastAdministrator(_) => {
                Self::new(StatusCode::CONFLICT, "conflict", description)
            }
            AccountError::NotFound(_) | AccountError::NoSuchId(_) => Self::not_found(description),
            AccountError::Hash(err) => ApiError::internal(err).into(),
            AccountError::Store(err) => ApiError::internal(err).into(),
        }
    }
}

impl From<ResetLinkError> for AdminError {
    fn from(err: ResetLinkError) -> Self {
        let description = err.to_string();
        match err {
            ResetLinkError::NoSuchId(_) => Self::not_found(description),
            ResetLinkError::ManagedByConfig(_) => Self::managed(description),
            ResetLinkError::NoEmail(_)
            | ResetLinkError::Disabled(_)
            | ResetLinkError::NoJourney => Self::new(StatusCode::CONFLICT, "conflict", description),
            ResetLinkError::Store(err) => ApiError::internal(err).into(),
        }
    }
}

impl From<ClientError> for AdminError {
    fn from(err: ClientError) -> Self {
        let description = err.to_string();
        match err {
            // RFC 7591 §3.2.2's code for metadata that is not acceptable.
            ClientError::Invalid { .. } | ClientError::Unreadable(_) => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_client_metadata",
                description,
            ),
            ClientError::Public(_) => Self::bad_request(description),
            ClientError::Exists(_) => Self::new(StatusCode::CONFLICT, "conflict", description),
            ClientError::NotFound(_) => Self::not_found(description),
            ClientError::ManagedByConfig(_) => Self::managed(description),
            ClientError::Store(err) => ApiError::internal(err).into(),
        }
    }
}

impl From<SigningKeyError> for AdminError {
    fn from(err: SigningKeyError) -> Self {
        ApiError::internal(err).into()
    }
}

impl From<StoreError> for AdminError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NoBackup(why) => Self::new(StatusCode::CONFLICT, "not_supported", why),
            err => ApiError::internal(err).into(),
        }
    }
}

impl From<BlockingError> for AdminError {
    fn from(err: BlockingError) -> Self {
        ApiError::internal(err).into()
    }
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        self.inner.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.inner.status);
        if let Some(secs) = self.inner.retry_after {
            response.insert_header((header::RETRY_AFTER, secs));
        }
        if let Some(challenge) = &self.challenge {
            response.insert_header((header::WWW_AUTHENTICATE, challenge.as_str()));
        }
        let mut response = response.json(AdminErrorBody {
            error: self.inner.code,
            error_description: &self.inner.message,
        });
        Cause::attach(&mut response, self.inner.cause.as_ref());
        response
    }
}
