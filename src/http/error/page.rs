//! Errors shown to browsers: an HTML page with a title and a message.

use super::{Cause, Failure};
use crate::accounts::AccountError;
use crate::journeys::JourneyError;
use crate::store::StoreError;
use crate::telemetry::BlockingError;
use actix_web::error::{QueryPayloadError, UrlencodedError};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use std::fmt;

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
    /// 503 when the database cannot be used just now.
    pub fn internal(cause: impl Into<Failure>) -> Self {
        let cause = cause.into();
        if super::database_unavailable(&*cause) {
            return Self {
                cause: Some(Cause::of(&*cause)),
                ..Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Temporarily unavailable",
                    "tessera cannot reach its database just now. Please try again in a moment.",
                )
            };
        }
        Self {
            cause: Some(Cause::of(&*cause)),
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

/// What a sign-in page does about a journey error: the page surface's one
/// reading of [`JourneyError`], as `ApiError::from` is the REST API's.
#[derive(Debug)]
pub enum JourneyRecovery {
    /// The step on screen again, with the message: the input can be fixed.
    Retry { status: StatusCode, message: String },
    /// The journey afresh, with the message.
    Restart { status: StatusCode, message: String },
    /// A step-up journey: sign in first, then come back.
    SignInFirst,
    /// Nothing to recover: an error page.
    Fail(PageError),
}

impl From<JourneyError> for JourneyRecovery {
    fn from(err: JourneyError) -> Self {
        let retry = |status, err: &JourneyError| Self::Retry {
            status,
            message: err.to_string(),
        };
        let restart = |status, message: String| Self::Restart { status, message };
        match err {
            JourneyError::InvalidInput(_) => retry(StatusCode::BAD_REQUEST, &err),
            JourneyError::Throttled { .. } => retry(StatusCode::TOO_MANY_REQUESTS, &err),
            JourneyError::Failed { message } => restart(StatusCode::UNAUTHORIZED, message),
            JourneyError::Expired => restart(
                StatusCode::BAD_REQUEST,
                "Your sign-in took too long and has expired. Please try again.".into(),
            ),
            // Taken meanwhile by another registration: start over.
            JourneyError::Account(
                err @ (AccountError::UsernameTaken(_) | AccountError::EmailTaken(_)),
            ) => restart(
                StatusCode::CONFLICT,
                format!("{}. Choose another.", capitalize(&err.to_string())),
            ),
            JourneyError::SessionRequired => Self::SignInFirst,
            JourneyError::UnknownJourney { name } => Self::Fail(PageError::new(
                StatusCode::NOT_FOUND,
                "Unknown sign-in journey",
                format!("There is no journey named “{name}”. Check the link you followed."),
            )),
            JourneyError::RegistrationClosed { .. } => Self::Fail(PageError::new(
                StatusCode::NOT_FOUND,
                "Registration is closed",
                "Accounts on this server are created by its administrators. Ask them for one.",
            )),
            err @ (JourneyError::Account(_) | JourneyError::Store(_) | JourneyError::Seal(_)) => {
                Self::Fail(PageError::internal(err))
            }
        }
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
