//! The cookies tessera sets: the session cookie and the journey cookie.
//! Both are HttpOnly, SameSite=Lax, Path=/, Secure when the issuer is https
//! (or as configured), with the configured Domain.

use super::paths::JOURNEY_COOKIE;
use crate::context::Context;
use crate::secret::Token;
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use time::OffsetDateTime;

fn base<'c>(ctx: &Context, name: String, value: String) -> Cookie<'c> {
    let mut cookie = Cookie::build(name, value)
        .http_only(true)
        .secure(ctx.settings.cookie_secure(&ctx.issuer))
        .same_site(SameSite::Lax)
        .path("/")
        .finish();
    if let Some(domain) = &ctx.settings.sessions.cookie_domain {
        cookie.set_domain(domain.clone());
    }
    cookie
}

fn max_age(until: OffsetDateTime, now: OffsetDateTime) -> CookieDuration {
    CookieDuration::seconds((until - now).whole_seconds().max(0))
}

/// The session cookie, kept by the browser until the session's absolute end.
pub fn session<'c>(ctx: &Context, token: &Token, absolute_end: OffsetDateTime) -> Cookie<'c> {
    let mut cookie = base(
        ctx,
        ctx.settings.sessions.cookie_name.clone(),
        token.expose().to_owned(),
    );
    cookie.set_max_age(max_age(absolute_end, ctx.now()));
    cookie
}

/// Tells the browser to drop the session cookie.
pub fn clear_session<'c>(ctx: &Context) -> Cookie<'c> {
    let mut cookie = base(
        ctx,
        ctx.settings.sessions.cookie_name.clone(),
        String::new(),
    );
    cookie.make_removal();
    cookie
}

/// The journey cookie, holding the `auth_id` of the journey on screen.
pub fn journey<'c>(ctx: &Context, auth_id: &Token) -> Cookie<'c> {
    let mut cookie = base(ctx, JOURNEY_COOKIE.to_owned(), auth_id.expose().to_owned());
    cookie.set_max_age(max_age(ctx.now() + ctx.settings.journey_ttl(), ctx.now()));
    cookie
}

/// Tells the browser to drop the journey cookie.
pub fn clear_journey<'c>(ctx: &Context) -> Cookie<'c> {
    let mut cookie = base(ctx, JOURNEY_COOKIE.to_owned(), String::new());
    cookie.make_removal();
    cookie
}
