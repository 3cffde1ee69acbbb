//! Cross-site request forgery, refused before the handler runs. Forms from
//! tessera's own pages carry a `csrf_token`: a MAC of the token the form
//! acts for (the session, or the journey on screen), both HttpOnly
//! cookies, so a page of another site cannot know it. API calls carry no
//! form token; when their session rides in a cookie, their origin is
//! checked instead (`SameOrigin`).

use super::session::session_of;
use super::{Boxed, context};
use crate::context::Context;
use crate::http::error::{ApiError, PageError};
use crate::http::paths::{JOURNEY_COOKIE, SESSION_HEADER};
use crate::secret::Token;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, web};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// A form posted from one of tessera's pages.
pub trait PageForm: DeserializeOwned + 'static {
    /// What a user whose form was refused should do.
    const ADVICE: &'static str;
}

/// The form as posted: the CSRF token and the rest. A missing token is
/// refused like a wrong one.
#[derive(Deserialize)]
struct Posted<T> {
    #[serde(default)]
    csrf_token: String,
    #[serde(flatten)]
    form: T,
}

/// A form acting for the caller's session, its CSRF token checked against
/// that session: 403 when it differs. Without a live session there is
/// nothing to act for and nothing to check; handlers that need one take
/// `SessionAuth` too, which answers first.
pub struct CsrfForm<T>(pub T);

impl<T: PageForm> FromRequest for CsrfForm<T> {
    type Error = actix_web::Error;
    type Future = Boxed<Self, actix_web::Error>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let posted = web::Form::<Posted<T>>::from_request(&req, payload);
        Box::pin(async move {
            let Posted { csrf_token, form } = posted.await?.into_inner();
            let ctx =
                context(&req).ok_or_else(|| PageError::internal("application context missing"))?;
            let session = session_of(&req).await.map_err(|err| {
                PageError::internal("session lookup failed").caused_by(err.into_cause())
            })?;
            match session {
                Some((token, _)) if !ctx.verify_csrf(&token, &csrf_token) => Err(PageError::new(
                    StatusCode::FORBIDDEN,
                    "Request refused",
                    format!(
                        "This form was not sent from tessera's own page. {}",
                        T::ADVICE
                    ),
                )
                .into()),
                _ => Ok(CsrfForm(form)),
            }
        })
    }
}

/// A step of a sign-in journey posted from its page. `auth_id` is the
/// journey on screen (its cookie) only when the form's CSRF token was made
/// for it; the page answers a refused form by starting over.
pub struct JourneyForm {
    pub auth_id: Option<Token>,
    /// The step's input, without the CSRF token.
    pub values: BTreeMap<String, String>,
}

/// The journey on screen, from its cookie.
pub fn journey_cookie(req: &HttpRequest) -> Option<Token> {
    req.cookie(JOURNEY_COOKIE)
        .map(|cookie| Token::from_presented(cookie.value()))
}

impl FromRequest for JourneyForm {
    type Error = actix_web::Error;
    type Future = Boxed<Self, actix_web::Error>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let posted = web::Form::<Posted<BTreeMap<String, String>>>::from_request(&req, payload);
        Box::pin(async move {
            let Posted { csrf_token, form } = posted.await?.into_inner();
            let Some(ctx) = context(&req) else {
                return Err(PageError::internal("application context missing").into());
            };
            let auth_id =
                journey_cookie(&req).filter(|auth_id| ctx.verify_csrf(auth_id, &csrf_token));
            Ok(JourneyForm {
                auth_id,
                values: form,
            })
        })
    }
}

/// A state-changing API call that, if its session rides in a cookie, comes
/// from tessera's own pages: 403 `cross_origin_request` otherwise. Checked
/// after the session is looked up, so that a handler that needs one
/// (`SessionAuth`, taken first) answers 401 first.
pub struct SameOrigin;

/// Whether a request that carries the session in a cookie comes from
/// tessera's own pages. SameSite=Lax cookies still ride along with requests
/// from other origins of the same site (other ports on 127.0.0.1, sibling
/// hosts under `cookie_domain`), so state-changing API calls authenticated
/// by cookie check `Origin` and `Sec-Fetch-Site`. Requests without either
/// header do not come from a browser page and pass; so do requests that
/// send `X-Session-Token`, which no page of another origin can set without
/// a CORS preflight.
fn same_origin(req: &HttpRequest, ctx: &Context) -> bool {
    if req.headers().contains_key(SESSION_HEADER) {
        return true;
    }
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    match header("origin") {
        Some(origin) => url::Url::parse(&ctx.issuer)
            .is_ok_and(|issuer| issuer.origin().ascii_serialization() == origin),
        None => true,
    }
}

impl FromRequest for SameOrigin {
    type Error = ApiError;
    type Future = Boxed<Self, ApiError>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            // The outcome is the session extractors' to report.
            let _ = session_of(&req).await;
            let Some(ctx) = context(&req) else {
                return Err(ApiError::internal("application context missing"));
            };
            if !same_origin(&req, &ctx) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "cross_origin_request",
                    "A page of another origin cannot make this request; send the session token in X-Session-Token.",
                ));
            }
            Ok(SameOrigin)
        })
    }
}
