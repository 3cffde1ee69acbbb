//! The OAuth 2.0 surface: authorization (with consent), token, revocation,
//! introspection, metadata and JWKS. Errors are the RFCs' JSON, or for the
//! authorization endpoint a redirect to the client (or an error page when
//! the client or redirect URI cannot be trusted).

mod authorize;
mod bearer;
mod client_auth;
mod metadata;
mod oidc;
mod token;

use super::paths;
use crate::http::error::Cause;
use crate::oauth::{ErrorKind, OAuthError};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError, web};
use serde::Serialize;

/// Registers the OAuth routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        paths::OAUTH_AUTHORIZE,
        web::get().to(authorize::get_authorize),
    )
    .route(
        paths::OAUTH_AUTHORIZE,
        web::post().to(authorize::post_authorize),
    )
    .route(
        paths::OAUTH_CONSENT,
        web::post().to(authorize::post_consent),
    )
    .route(paths::OAUTH_TOKEN, web::post().to(token::post_token))
    .route(paths::OAUTH_REVOKE, web::post().to(token::post_revoke))
    .route(
        paths::OAUTH_INTROSPECT,
        web::post().to(token::post_introspect),
    )
    .route(paths::OAUTH_JWKS, web::get().to(metadata::get_jwks))
    .route(paths::OAUTH_METADATA, web::get().to(metadata::get_metadata))
    .route(
        paths::OIDC_DISCOVERY,
        web::get().to(metadata::get_openid_configuration),
    )
    .route(paths::OAUTH_USERINFO, web::get().to(oidc::userinfo))
    .route(paths::OAUTH_USERINFO, web::post().to(oidc::userinfo))
    .route(paths::OAUTH_LOGOUT, web::get().to(oidc::get_logout))
    .route(paths::OAUTH_LOGOUT, web::post().to(oidc::post_logout))
    .route(
        paths::OAUTH_LOGOUT_CONFIRM,
        web::post().to(oidc::post_logout_confirm),
    );
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match self.kind {
            // RFC 6749 §5.2: 401 when the client tried to authenticate.
            ErrorKind::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorKind::TemporarilyUnavailable { .. } => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        match self.kind {
            ErrorKind::InvalidClient => {
                response.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"tessera\""));
            }
            ErrorKind::TemporarilyUnavailable { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs));
            }
            _ => {}
        }
        let mut response = response
            .insert_header((header::PRAGMA, "no-cache"))
            .json(ErrorBody {
                error: self.kind.code(),
                error_description: &self.description,
            });
        let cause = std::error::Error::source(self).map(Cause::of);
        Cause::attach(&mut response, cause.as_ref());
        response
    }
}

impl From<crate::telemetry::BlockingError> for OAuthError {
    fn from(err: crate::telemetry::BlockingError) -> Self {
        OAuthError::server(err)
    }
}
