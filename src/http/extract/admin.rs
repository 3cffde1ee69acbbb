//! The administrator behind an admin API call, as extractors: `AdminCaller`
//! for any administration, `RecentAdmin` for the most sensitive actions
//! (deleting a user, rotating keys), which also need a recent sign-in.
//!
//! Three ways in, decided by `admin::by_session` and `admin::by_token`:
//! `Authorization: Bearer` with an access token granted `tessera:admin`
//! (it wins when present), or an administrator's session in
//! `X-Session-Token` or the session cookie. A state-changing call whose
//! session rides in the cookie must also prove that tessera's own page
//! sent it, since browsers attach the cookie to requests from other sites
//! of the same site (other ports, sibling hosts): an `X-CSRF-Token` header
//! (the CSRF token of the session, as the pages' forms carry it), or an
//! `Origin` header equal to the issuer's origin. Unlike `SameOrigin`, a
//! call with neither is refused: administration is worth the stricter rule.

use super::session::session_of;
use super::{Boxed, client_address, context};
use crate::admin::{self, Administrator, Refusal};
use crate::audit;
use crate::context::Context;
use crate::http::error::{AdminError, ApiError};
use crate::http::oauth::{dpop_token, header_token};
use crate::http::paths::{CSRF_HEADER, SESSION_HEADER};
use crate::oauth::Provider;
use crate::secret::Token;
use crate::telemetry::blocking;
use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, web};

/// An administrator (see the module docs for how a caller proves it), as
/// the audit log names them, with their address.
pub struct AdminCaller(pub audit::Caller);

/// An administrator whose session authenticated within
/// `[admin] reauth_secs` (a Bearer token passes: it has no sign-in to
/// repeat); 403 `reauth_required` otherwise.
pub struct RecentAdmin(pub audit::Caller);

impl FromRequest for AdminCaller {
    type Error = AdminError;
    type Future = Boxed<Self, AdminError>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let administrator = administrator(&req).await?;
            Ok(AdminCaller(audited_admin(&req, &administrator)))
        })
    }
}

impl FromRequest for RecentAdmin {
    type Error = AdminError;
    type Future = Boxed<Self, AdminError>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let administrator = administrator(&req).await?;
            administrator.check_recent(&*core(&req)?)?;
            Ok(RecentAdmin(audited_admin(&req, &administrator)))
        })
    }
}

/// `admin` as the audit log names them, asking from the client's address.
pub fn audited_admin(req: &HttpRequest, admin: &Administrator) -> audit::Caller {
    let ip = context(req)
        .and_then(|ctx| client_address(req, &ctx.settings.server.trusted_proxies))
        .map(|ip| ip.to_string());
    admin.audited_as(ip.as_deref())
}

fn core(req: &HttpRequest) -> Result<web::Data<Context>, AdminError> {
    context(req).ok_or_else(|| ApiError::internal("application context missing").into())
}

/// The administrator behind `req`, or why there is none.
async fn administrator(req: &HttpRequest) -> Result<Administrator, AdminError> {
    let ctx = core(req)?;
    if req.headers().contains_key(header::AUTHORIZATION) {
        // A DPoP-bound token comes with the DPoP scheme and its proof (RFC
        // 9449 §7.1).
        let (token, proof) = match (header_token(req), dpop_token(req)) {
            (Some(token), _) => (token, None),
            (None, Some(Ok((token, proof)))) => (token, Some(proof)),
            (None, Some(Err(why))) => return Err(Refusal::InvalidProof(why.into()).into()),
            (None, None) => {
                return Err(AdminError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_request",
                    "The Authorization header must be `Bearer ACCESS_TOKEN` (or `DPoP ACCESS_TOKEN` with a DPoP proof).",
                ));
            }
        };
        let provider = req
            .app_data::<web::Data<Provider>>()
            .cloned()
            .ok_or_else(|| ApiError::internal("OAuth provider missing"))?;
        let admin =
            blocking(move || admin::by_token(&provider, token.expose(), proof.as_ref())).await??;
        return Ok(admin);
    }
    let Some((token, active)) = session_of(req).await? else {
        return Err(AdminError::unauthenticated());
    };
    let admin = admin::by_session(&ctx, &active)?;
    if !req.method().is_safe() && !sent_by_own_page(req, &ctx, &token) {
        return Err(AdminError::cross_origin());
    }
    Ok(admin)
}

/// Whether a state-changing call on `session` comes from tessera's own
/// pages, or does not ride on the cookie at all.
fn sent_by_own_page(req: &HttpRequest, ctx: &Context, session: &Token) -> bool {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if header(SESSION_HEADER).is_some() {
        return true;
    }
    if header(CSRF_HEADER).is_some_and(|submitted| ctx.verify_csrf(session, submitted)) {
        return true;
    }
    let same_site = header("sec-fetch-site").is_none_or(|site| site == "same-origin");
    same_site
        && header("origin").is_some_and(|origin| {
            url::Url::parse(&ctx.issuer)
                .is_ok_and(|issuer| issuer.origin().ascii_serialization() == origin)
        })
}
