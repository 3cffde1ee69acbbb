//! Extractors that make a handler's requirements show in its signature:
//! the caller's session (`SessionAuth`, `MaybeSession`) and forms whose
//! CSRF token is checked (`CsrfForm`, `JourneyForm`), API calls from
//! tessera's own origin (`SameOrigin`), administrators (`AdminCaller`,
//! `RecentAdmin`); and facts about the caller (its address, `ClientIp`; the
//! token it presents).

mod admin;
mod csrf;
mod session;

pub use admin::{AdminCaller, RecentAdmin, audited_admin};
pub use csrf::{CsrfForm, JourneyForm, PageForm, SameOrigin, journey_cookie};
pub use session::{MaybeSession, SessionAuth};

use super::paths;
use crate::context::Context;
use crate::journeys::Client;
use crate::secret::Token;
use actix_web::http::header;
use actix_web::{HttpRequest, web};
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

type Boxed<T, E> = Pin<Box<dyn Future<Output = Result<T, E>>>>;

fn context(req: &HttpRequest) -> Option<web::Data<Context>> {
    req.app_data::<web::Data<Context>>().cloned()
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

/// The client's address ([`client_address`]), for what a handler's domain
/// call records (the audit log).
pub struct ClientIp(pub Option<String>);

impl ClientIp {
    /// The address, as the domain takes it.
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl actix_web::FromRequest for ClientIp {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let ip = context(req)
            .and_then(|ctx| client_address(req, &ctx.settings.server.trusted_proxies))
            .map(|ip| ip.to_string());
        std::future::ready(Ok(Self(ip)))
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
