//! Bearer tokens (RFC 6750) as an extractor: the access token in the
//! `Authorization` header or, outside GET, in the form body, never both
//! (§2); and the `WWW-Authenticate` challenges of §3.

use crate::secret::Token;
use actix_web::dev::Payload;
use actix_web::http::{Method, StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use serde::Deserialize;
use std::future::Future;
use std::pin::Pin;

/// The access token a request presents: a `Token`, so a credential that
/// redacts itself.
#[derive(Debug)]
pub struct Bearer(Token);

impl Bearer {
    /// The token as presented.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

/// Why a protected resource refuses a request (RFC 6750 §3.1).
#[derive(Debug)]
pub enum BearerError {
    /// No token: the bare challenge (§3.1: no error code).
    Missing,
    /// The token sent by more than one method.
    InvalidRequest,
    /// Malformed, unknown, expired or revoked, with the reason.
    InvalidToken(&'static str),
    /// The token lacks the scope named.
    InsufficientScope(&'static str),
}

impl std::fmt::Display for BearerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing => f.write_str("no access token"),
            Self::InvalidRequest => f.write_str("the access token sent twice"),
            Self::InvalidToken(why) => f.write_str(why),
            Self::InsufficientScope(scope) => write!(f, "the token lacks the {scope} scope"),
        }
    }
}

impl ResponseError for BearerError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Missing | Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Self::InvalidRequest => StatusCode::BAD_REQUEST,
            Self::InsufficientScope(_) => StatusCode::FORBIDDEN,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let realm = "Bearer realm=\"tessera\"";
        let challenge = match self {
            Self::Missing => realm.to_owned(),
            Self::InvalidRequest => format!("{realm}, error=\"invalid_request\""),
            Self::InvalidToken(why) => {
                format!("{realm}, error=\"invalid_token\", error_description=\"{why}\"")
            }
            Self::InsufficientScope(scope) => {
                format!("{realm}, error=\"insufficient_scope\", scope=\"{scope}\"")
            }
        };
        HttpResponse::build(self.status_code())
            .insert_header((header::WWW_AUTHENTICATE, challenge))
            .finish()
    }
}

/// The form-encoded body parameter (§2.2).
#[derive(Deserialize)]
struct BodyToken {
    access_token: Option<Token>,
}

/// The access token of an `Authorization: Bearer` header, if any.
pub(crate) fn header_token(req: &HttpRequest) -> Option<Token> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| super::credentials(value, "Bearer"))
        .map(|token| Token::from_presented(token.trim()))
}

impl FromRequest for Bearer {
    type Error = BearerError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, BearerError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let in_header = header_token(req);
        // §2.2: the body only with a method that gives it meaning, never
        // GET; a body that is not a form carries no token.
        let body = (req.method() != Method::GET)
            .then(|| web::Form::<BodyToken>::from_request(req, payload));
        Box::pin(async move {
            let in_body = match body {
                Some(form) => form.await.ok().and_then(|form| form.0.access_token),
                None => None,
            };
            match (in_header, in_body) {
                (Some(_), Some(_)) => Err(BearerError::InvalidRequest),
                (Some(token), None) | (None, Some(token)) => Ok(Bearer(token)),
                (None, None) => Err(BearerError::Missing),
            }
        })
    }
}
