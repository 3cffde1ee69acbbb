//! Errors of the OAuth 2.0 and OpenID Connect endpoints: RFC 6749 §5.2
//! JSON (`error`, `error_description`), with the headers each kind asks for.

use super::Cause;
use crate::oauth::{ErrorKind, OAuthError};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

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
            ErrorKind::ServerError
                if std::error::Error::source(self).is_some_and(super::database_unavailable) =>
            {
                StatusCode::SERVICE_UNAVAILABLE
            }
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
