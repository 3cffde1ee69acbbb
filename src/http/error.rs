//! The one mapping from errors to responses. JSON for the REST API
//! (`{"error", "message"}`), an HTML page for browsers. The client sees the
//! external message; the internal cause travels in the response's
//! extensions as a [`Cause`], and `middleware::request_log` writes it once,
//! in the request's log line, with the request id.

use crate::accounts::AccountError;
use crate::journeys::JourneyError;
use crate::store::StoreError;
use crate::telemetry::BlockingError;
use actix_web::error::{JsonPayloadError, QueryPayloadError, UrlencodedError};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use serde::Serialize;
use std::fmt;

/// Why a request failed on the server side, for the log and never for the
/// client: set in a response's extensions by the error mapping, read by
/// `middleware::request_log`.
#[derive(Debug, Clone)]
pub struct Cause(pub String);

impl Cause {
    /// An error and its sources, outermost first, joined by `: `.
    pub fn of(err: &(dyn std::error::Error + 'static)) -> Self {
        let mut text = err.to_string();
        let mut source = err.source();
        while let Some(err) = source {
            text.push_str(": ");
            text.push_str(&err.to_string());
            source = err.source();
        }
        Cause(text)
    }

    /// Records `cause` on `response`, for the request's log line.
    pub fn attach(response: &mut HttpResponse, cause: Option<&Cause>) {
        if let Some(cause) = cause {
            response.extensions_mut().insert(cause.clone());
        }
    }
}

/// Anything that says why the server failed: an error (with its sources)
/// or a message.
pub type Failure = Box<dyn std::error::Error + Send + Sync>;

/// An error answered in JSON.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Seconds for `Retry-After` (RFC 9110 §10.2.3), on a 429.
    retry_after: Option<u64>,
    /// The internal cause of a 500, logged and not shown.
    cause: Option<Cause>,
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

    /// 500, with the cause logged (in the request's log line) and not shown.
    pub fn internal(cause: impl Into<Failure>) -> Self {
        Self {
            cause: Some(Cause::of(&*cause.into())),
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

/// An error shown to a browser as a page.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    title: &'static str,
    message: String,
    /// The internal cause of a 500, logged and not shown.
    cause: Option<Cause>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

impl PageError {
    pub fn new(status: StatusCode, title: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            title,
            message: message.into(),
            cause: None,
        }
    }

    /// The same page, with a more precise internal cause (when there is
    /// one) for the request's log line.
    pub fn caused_by(self, cause: Option<Cause>) -> Self {
        Self {
            cause: cause.or(self.cause),
            ..self
        }
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Page not found",
            "There is nothing at this address.",
        )
    }

    /// 500, with the cause logged (in the request's log line) and not shown.
    pub fn internal(cause: impl Into<Failure>) -> Self {
        Self {
            cause: Some(Cause::of(&*cause.into())),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "tessera could not complete the request. Please try again; if it keeps failing, the server log has details.",
            )
        }
    }

    /// The page for a form that cannot be read.
    pub fn from_form(err: &UrlencodedError) -> Self {
        let status = match err {
            UrlencodedError::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            UrlencodedError::Overflow { .. } | UrlencodedError::UnknownLength => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            _ => StatusCode::BAD_REQUEST,
        };
        Self::new(
            status,
            "The form could not be read",
            "Go back, reload the page and submit the form again.",
        )
    }

    /// The page for a query string that cannot be read.
    pub fn from_query(err: &QueryPayloadError) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "This link is malformed",
            err.to_string(),
        )
    }
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.title, self.message)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let page = ErrorPage {
            title: self.title,
            message: &self.message,
        };
        match page.render() {
            Ok(html) => {
                let mut response = HttpResponse::build(self.status)
                    .content_type(mime_html())
                    .body(html);
                Cause::attach(&mut response, self.cause.as_ref());
                response
            }
            Err(err) => {
                let mut response = HttpResponse::build(self.status).body(self.message.clone());
                let cause = Cause(format!("error page failed to render: {err}"));
                Cause::attach(&mut response, Some(self.cause.as_ref().unwrap_or(&cause)));
                response
            }
        }
    }
}

impl From<StoreError> for PageError {
    fn from(err: StoreError) -> Self {
        Self::internal(err)
    }
}

impl From<BlockingError> for PageError {
    fn from(err: BlockingError) -> Self {
        Self::internal(err)
    }
}

impl From<askama::Error> for PageError {
    fn from(err: askama::Error) -> Self {
        Self::internal(err)
    }
}

/// `text/html; charset=utf-8`.
pub fn mime_html() -> &'static str {
    "text/html; charset=utf-8"
}

/// Renders a page with a status.
pub fn render(status: StatusCode, page: &impl Template) -> Result<HttpResponse, PageError> {
    Ok(HttpResponse::build(status)
        .content_type(mime_html())
        .body(page.render()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::OAuthError;

    #[derive(Debug, thiserror::Error)]
    #[error("the store failed")]
    struct Outer(#[source] std::io::Error);

    fn logged_cause(response: &HttpResponse) -> Option<String> {
        response.extensions().get::<Cause>().map(|c| c.0.clone())
    }

    #[test]
    fn an_oauth_server_error_hands_its_whole_cause_to_the_log_and_none_to_the_client() {
        let err = OAuthError::server(Outer(std::io::Error::other("disk full")));
        let response = err.error_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            logged_cause(&response).as_deref(),
            Some("the store failed: disk full")
        );
    }

    #[test]
    fn api_and_page_failures_hand_the_error_and_its_sources_to_the_log() {
        let api = ApiError::internal(Outer(std::io::Error::other("disk full")));
        let page = PageError::internal(Outer(std::io::Error::other("disk full")));
        for response in [api.error_response(), page.error_response()] {
            assert_eq!(
                logged_cause(&response).as_deref(),
                Some("the store failed: disk full")
            );
        }
    }

    #[test]
    fn a_page_failure_keeps_the_more_precise_cause_of_the_api_failure_under_it() {
        let api = ApiError::internal(Outer(std::io::Error::other("disk full")));
        let page = PageError::internal("session lookup failed").caused_by(api.into_cause());
        assert_eq!(
            logged_cause(&page.error_response()).as_deref(),
            Some("the store failed: disk full")
        );
        let page = PageError::internal("session lookup failed").caused_by(None);
        assert_eq!(
            logged_cause(&page.error_response()).as_deref(),
            Some("session lookup failed")
        );
    }

    #[test]
    fn a_refusal_by_the_client_is_not_a_failure_to_log() {
        assert_eq!(
            logged_cause(&OAuthError::invalid_client().error_response()),
            None
        );
        assert_eq!(
            logged_cause(&ApiError::unauthenticated().error_response()),
            None
        );
    }
}
