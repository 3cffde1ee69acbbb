//! The one mapping from errors to responses, a file per surface: JSON for
//! the REST API (`{"error", "message"}`), an HTML page for browsers, and
//! the RFCs' JSON for OAuth and OpenID Connect and for the admin API. The client sees the
//! external message; the internal cause travels in the response's
//! extensions as a [`Cause`], and `middleware::request_log` writes it once,
//! in the request's log line, with the request id.

mod admin;
mod api;
mod oauth;
mod page;

pub use admin::AdminError;
pub use api::ApiError;
pub use page::{JourneyRecovery, PageError, mime_html, render};

use actix_web::HttpResponse;

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

/// The `Retry-After` of a 503 for an unavailable database: a replica's
/// connection comes back as soon as the database does.
const RETRY_AFTER_OUTAGE_SECS: u64 = 1;

/// Anything that says why the server failed: an error (with its sources)
/// or a message.
pub type Failure = Box<dyn std::error::Error + Send + Sync>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::OAuthError;
    use actix_web::ResponseError;
    use actix_web::http::StatusCode;

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
    fn an_unavailable_database_under_any_wrapper_is_a_503_to_retry_and_its_cause_is_logged() {
        use crate::store::{StoreError, Unavailable};
        let outage = || {
            // Wrapped as the domain wraps store errors: transparently.
            crate::journeys::JourneyError::Store(StoreError::Unavailable(Unavailable(
                "connection refused".into(),
            )))
        };
        let oauth = OAuthError::server(outage()).error_response();
        assert_eq!(oauth.status(), StatusCode::SERVICE_UNAVAILABLE);
        let api = ApiError::internal(outage()).error_response();
        assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
        for response in [&oauth, &api] {
            assert_eq!(
                response.headers().get("retry-after").map(|v| v.as_bytes()),
                Some(&b"1"[..])
            );
            assert_eq!(
                logged_cause(response).as_deref(),
                Some("the database is unavailable: connection refused")
            );
        }
        let page = PageError::internal(outage()).error_response();
        assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
        // Any other store failure stays a 500.
        let broken = StoreError::Backend("disk full".into());
        assert_eq!(
            ApiError::internal(broken).error_response().status(),
            StatusCode::INTERNAL_SERVER_ERROR
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
