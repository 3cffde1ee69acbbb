//! Extractors that make a handler's requirements show in its signature:
//! `ApiSession` (401 JSON without one), `PageSession` (redirect to /login
//! without one), `MaybeSession`, and `ClientFacts` about the caller.

use super::error::{ApiError, PageError};
use super::paths;
use crate::context::Context;
use crate::journeys::Client;
use crate::secret::Token;
use crate::sessions::{self, ActiveSession};
use crate::telemetry::blocking;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

/// The session token a request carries: the `X-Session-Token` header, or
/// else the session cookie.
pub fn presented_token(req: &HttpRequest, ctx: &Context) -> Option<Token> {
    let header = req
        .headers()
        .get(paths::SESSION_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty());
    let value = match header {
        Some(value) => value.to_owned(),
        None => req
            .cookie(&ctx.settings.sessions.cookie_name)?
            .value()
            .to_owned(),
    };
    (!value.is_empty()).then(|| Token::from_presented(value))
}

/// Whether a request that carries the session in a cookie comes from
/// tessera's own pages. SameSite=Lax cookies still ride along with requests
/// from other origins of the same site (other ports on 127.0.0.1, sibling
/// hosts under `cookie_domain`), so state-changing API calls authenticated
/// by cookie check `Origin` and `Sec-Fetch-Site`. Requests without either
/// header do not come from a browser page and pass; so do requests that
/// send `X-Session-Token`, which no page of another origin can set without
/// a CORS preflight.
pub fn same_origin(req: &HttpRequest, ctx: &Context) -> bool {
    if req.headers().contains_key(paths::SESSION_HEADER) {
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

/// The caller's live session, if any, with the token it presented.
pub struct MaybeSession(pub Option<(Token, ActiveSession)>);

type Boxed<T, E> = Pin<Box<dyn Future<Output = Result<T, E>>>>;

fn context(req: &HttpRequest) -> Option<web::Data<Context>> {
    req.app_data::<web::Data<Context>>().cloned()
}

async fn lookup(req: HttpRequest) -> Result<Option<(Token, ActiveSession)>, ApiError> {
    let Some(ctx) = context(&req) else {
        return Err(ApiError::internal(&"application context missing"));
    };
    let Some(token) = presented_token(&req, &ctx) else {
        return Ok(None);
    };
    let checked = token.clone();
    let active = blocking(move || sessions::validate(&ctx, &checked)).await??;
    Ok(active.map(|active| (token, active)))
}

impl FromRequest for MaybeSession {
    type Error = ApiError;
    type Future = Boxed<Self, ApiError>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(MaybeSession(lookup(req).await?)) })
    }
}

/// A required session, for the REST API: 401 JSON without one.
pub struct ApiSession {
    pub token: Token,
    pub active: ActiveSession,
}

impl FromRequest for ApiSession {
    type Error = ApiError;
    type Future = Boxed<Self, ApiError>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match lookup(req).await? {
                Some((token, active)) => Ok(ApiSession { token, active }),
                None => Err(ApiError::unauthenticated()),
            }
        })
    }
}

/// A required session, for pages: without one the browser is sent to sign
/// in and brought back.
pub struct PageSession {
    pub token: Token,
    pub active: ActiveSession,
}

/// Refuses a form whose CSRF token does not match the session's. The
/// token is derived from the session token (an HttpOnly cookie), so
/// another site cannot know it. `advice` tells the user what to do.
pub fn check_csrf(
    ctx: &Context,
    token: &Token,
    submitted: &str,
    advice: &str,
) -> Result<(), PageError> {
    if ctx.verify_csrf(token, submitted) {
        return Ok(());
    }
    Err(PageError::new(
        actix_web::http::StatusCode::FORBIDDEN,
        "Request refused",
        format!("This form was not sent from tessera's own page. {advice}"),
    ))
}

/// Redirects to the login page, coming back to `goto` afterwards.
#[derive(Debug)]
pub struct SignInFirst {
    goto: String,
}

impl std::fmt::Display for SignInFirst {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sign-in required")
    }
}

impl ResponseError for SignInFirst {
    fn status_code(&self) -> actix_web::http::StatusCode {
        actix_web::http::StatusCode::SEE_OTHER
    }

    fn error_response(&self) -> HttpResponse {
        let query = goto_query(&self.goto);
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("{}?{query}", paths::LOGIN)))
            .finish()
    }
}

fn goto_query(goto: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("goto", goto)
        .finish()
}

impl FromRequest for PageSession {
    type Error = actix_web::Error;
    type Future = Boxed<Self, actix_web::Error>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let goto = req
                .uri()
                .path_and_query()
                .map_or(paths::ACCOUNT, |pq| pq.as_str())
                .to_owned();
            match lookup(req).await {
                Ok(Some((token, active))) => Ok(PageSession { token, active }),
                Ok(None) => Err(SignInFirst { goto }.into()),
                Err(_) => Err(PageError::internal(&"session lookup failed").into()),
            }
        })
    }
}

/// What the engine uses and records about the caller.
pub fn client_facts(req: &HttpRequest, ctx: &Context) -> Client {
    let header = |name| {
        req.headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    Client {
        user_agent: header(header::USER_AGENT),
        accept_language: header(header::ACCEPT_LANGUAGE),
        ip: client_address(req, &ctx.settings.server.trusted_proxies).map(|ip| ip.to_string()),
        session: presented_token(req, ctx),
    }
}

/// The client's address: the peer's, or behind trusted proxies the
/// rightmost `X-Forwarded-For` entry that is not one of them (entries
/// further left are whatever the client claimed).
pub fn client_address(req: &HttpRequest, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|entry| entry.trim().parse().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !trusted.contains(ip))
            .unwrap_or(peer),
    )
}
