//! Errors of the REST API: `{"error", "message"}` in JSON.

use super::RETRY_AFTER_OUTAGE_SECS;
use super::{Cause, Failure};
use crate::accounts::AccountError;
use crate::journeys::JourneyError;
use crate::store::{self, StoreError};
use crate::telemetry::BlockingError;
use actix_web::error::{JsonPayloadError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;

/// An error answered in JSON.
#[derive(Debug)]
pub struct ApiError {
    pub(super) status: StatusCode,
    pub(super) code: &'static str,
    pub(super) message: String,
    /// Seconds for `Retry-After` (RFC 9110 §10.2.3), on a 429 or a 503.
    pub(super) retry_after: Option<u64>,
    /// The internal cause of a 500, logged and not shown.
    pub(super) cause: Option<Cause>,
}

#[derive(Serialize)]
struct ApiErrorBody<'a> {
    error: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            cause: None,
        }
    }

    /// 429 `too_many_requests`, with `Retry-After`.
    pub fn too_many_requests(message: impl Into<String>, retry_after_secs: u64) -> Self {
        Self {
            retry_after: Some(retry_after_secs),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message)
        }
    }

    /// 400 `invalid_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 401 `unauthenticated`: no valid session.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "No valid session: send the session token in the X-Session-Token header or the session cookie.",
        )
    }

    /// 500, with the cause logged (in the request's log line) and not shown;
    /// 503 with `Retry-After` when the cause is an unavailable database.
    pub fn internal(cause: impl Into<Failure>) -> Self {
        let cause = cause.into();
        if store::is_unavailable(&*cause) {
            return Self {
                cause: Some(Cause::of(&*cause)),
                retry_after: Some(RETRY_AFTER_OUTAGE_SECS),
                ..Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "tessera cannot reach its database right now; try again in a moment.",
                )
            };
        }
        Self {
            cause: Some(Cause::of(&*cause)),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "tessera could not complete the request; the server log has details.",
            )
        }
    }

    /// What the log is to be told about this error, if anything.
    pub fn into_cause(self) -> Option<Cause> {
        self.cause
    }

    /// The answer to a JSON body that cannot be read.
    pub fn from_json(err: &JsonPayloadError) -> Self {
        let (status, code, message) = match err {
            JsonPayloadError::ContentType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send a JSON body with Content-Type: application/json.".to_owned(),
            ),
            JsonPayloadError::Overflow { limit }
            | JsonPayloadError::OverflowKnownLength { limit, .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The body is larger than the {limit} bytes accepted."),
            ),
            JsonPayloadError::Deserialize(err) => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("The JSON body cannot be read: {err}."),
            ),
            other => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                other.to_string(),
            ),
        };
        Self::new(status, code, message)
    }

    /// The answer to a query string that cannot be read.
    pub fn from_query(err: &QueryPayloadError) -> Self {
        Self::bad_request(format!("The query string cannot be read: {err}."))
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after {
            response.insert_header((actix_web::http::header::RETRY_AFTER, secs));
        }
        let mut response = response.json(ApiErrorBody {
            error: self.code,
            message: &self.message,
        });
        Cause::attach(&mut response, self.cause.as_ref());
        response
    }
}

impl From<JourneyError> for ApiError {
    fn from(err: JourneyError) -> Self {
        match err {
            JourneyError::UnknownJourney { name } => Self::new(
                StatusCode::NOT_FOUND,
                "unknown_journey",
                format!("There is no journey named `{name}`."),
            ),
            JourneyError::RegistrationClosed { name } => Self::new(
                StatusCode::NOT_FOUND,
                "registration_closed",
                format!(
                    "The journey `{name}` registers accounts, and accounts on this server are created by its administrators."
                ),
            ),
            JourneyError::Expired => Self::new(
                StatusCode::BAD_REQUEST,
                "journey_expired",
                "This auth_id has expired or its journey has finished; start again by posting an empty JSON object ({}).",
            ),
            JourneyError::InvalidInput(message) => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_input", message)
            }
            JourneyError::Failed { message } => {
                Self::new(StatusCode::UNAUTHORIZED, "authentication_failed", message)
            }
            JourneyError::SessionRequired => Self::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "This journey steps up an existing session: send its token in X-Session-Token.",
            ),
            err @ JourneyError::Throttled { retry_after_secs } => {
                Self::too_many_requests(err.to_string(), retry_after_secs)
            }
            JourneyError::Account(
                err @ (AccountError::UsernameTaken(_) | AccountError::EmailTaken(_)),
            ) => Self::new(StatusCode::CONFLICT, "conflict", err.to_string()),
            JourneyError::Account(err) => Self::internal(err),
            JourneyError::Store(err) => Self::internal(err),
            JourneyError::Seal(err) => Self::internal(err),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        Self::internal(err)
    }
}

impl From<BlockingError> for ApiError {
    fn from(err: BlockingError) -> Self {
        Self::internal(err)
    }
}
