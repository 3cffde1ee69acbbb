//! The caller's session as extractors: `MaybeSession` when a handler
//! works either way, `SessionAuth` when it needs one. The session is looked
//! up once per request, however many extractors ask for it.

use super::{Boxed, context, presented_token};
use crate::http::error::{ApiError, PageError};
use crate::http::{is_api, paths};
use crate::secret::Token;
use crate::sessions::{self, ActiveSession};
use crate::telemetry::blocking;
use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use std::rc::Rc;
use tokio::sync::OnceCell;

/// The live session a request carries, with the token it presented.
type Found = Option<(Token, ActiveSession)>;

/// The lookup shared by the extractors of one request: validating twice
/// would also touch the session twice.
#[derive(Clone, Default)]
struct Lookup(Rc<OnceCell<Found>>);

/// The caller's live session, looked up at most once per request.
pub(super) async fn session_of(req: &HttpRequest) -> Result<Found, ApiError> {
    let lookup = {
        let mut extensions = req.extensions_mut();
        extensions.get_or_insert_with(Lookup::default).clone()
    };
    let found = lookup
        .0
        .get_or_try_init(|| async {
            let Some(ctx) = context(req) else {
                return Err(ApiError::internal("application context missing"));
            };
            let Some(token) = presented_token(req, &ctx) else {
                return Ok(None);
            };
            let checked = token.clone();
            let active = blocking(move || sessions::validate(&ctx, &checked)).await??;
            Ok(active.map(|active| (token, active)))
        })
        .await?;
    Ok(found.clone())
}

/// The caller's live session, if any, with the token it presented.
pub struct MaybeSession(pub Found);

impl FromRequest for MaybeSession {
    type Error = ApiError;
    type Future = Boxed<Self, ApiError>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(MaybeSession(session_of(&req).await?)) })
    }
}

/// A required session. Without one, the REST API answers 401 JSON and a
/// page sends the browser to sign in and come back.
pub struct SessionAuth {
    pub token: Token,
    pub active: ActiveSession,
}

impl FromRequest for SessionAuth {
    type Error = actix_web::Error;
    type Future = Boxed<Self, actix_web::Error>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let api = is_api(&req);
            match session_of(&req).await {
                Ok(Some((token, active))) => Ok(SessionAuth { token, active }),
                Ok(None) if api => Err(ApiError::unauthenticated().into()),
                Ok(None) => Err(SignInFirst::back_to(&req).into()),
                Err(err) if api => Err(err.into()),
                Err(err) => Err(PageError::internal("session lookup failed")
                    .caused_by(err.into_cause())
                    .into()),
            }
        })
    }
}

/// Redirects to the login page, coming back to `goto` afterwards.
#[derive(Debug)]
pub struct SignInFirst {
    goto: String,
}

impl SignInFirst {
    /// Back to the page requested, or to the account page.
    fn back_to(req: &HttpRequest) -> Self {
        let goto = req
            .uri()
            .path_and_query()
            .map_or(paths::ACCOUNT, |pq| pq.as_str())
            .to_owned();
        Self { goto }
    }
}

impl std::fmt::Display for SignInFirst {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sign-in required")
    }
}

impl ResponseError for SignInFirst {
    fn status_code(&self) -> StatusCode {
        StatusCode::SEE_OTHER
    }

    fn error_response(&self) -> HttpResponse {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("goto", &self.goto)
            .finish();
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("{}?{query}", paths::LOGIN)))
            .finish()
    }
}
