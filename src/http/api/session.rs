//! Session endpoints: the current session, validation of a token by another
//! service, and logout.

use crate::context::Context;
use crate::http::cookies;
use crate::http::error::ApiError;
use crate::http::extract::{ClientIp, MaybeSession, SameOrigin, SessionAuth};
use crate::secret::Token;
use crate::sessions::{self, ActiveSession};
use crate::telemetry::blocking;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Serialize)]
struct UserView<'a> {
    id: &'a str,
    username: &'a str,
    email: Option<&'a str>,
    name: Option<&'a str>,
}

#[derive(Serialize)]
struct SessionView<'a> {
    user: UserView<'a>,
    session_id: &'a str,
    journey: &'a str,
    amr: &'a [String],
    #[serde(with = "time::serde::rfc3339")]
    auth_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    last_used_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    absolute_expires_at: OffsetDateTime,
}

/// `GET /api/session`: the caller's session and user.
pub async fn get_session(auth: SessionAuth) -> HttpResponse {
    let ActiveSession {
        session,
        user,
        expires_at,
    } = &auth.active;
    HttpResponse::Ok().json(SessionView {
        user: UserView {
            id: &user.id,
            username: &user.username,
            email: user.email.as_deref(),
            name: user.name.as_deref(),
        },
        session_id: &session.id,
        journey: &session.journey,
        amr: &session.amr,
        auth_time: session.auth_time,
        created_at: session.created_at,
        last_used_at: session.last_used_at,
        expires_at: *expires_at,
        absolute_expires_at: session.absolute_expires_at,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateRequest {
    token: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum ValidateResponse<'a> {
    Valid {
        valid: bool,
        user_id: &'a str,
        username: &'a str,
        session_id: &'a str,
        amr: &'a [String],
        #[serde(with = "time::serde::rfc3339")]
        auth_time: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        expires_at: OffsetDateTime,
    },
    Invalid {
        valid: bool,
    },
}

/// `POST /api/sessions/validate`: whether a token names a live session.
/// An unknown, expired or revoked token is `{"valid": false}` with 200: the
/// request itself was fine.
pub async fn post_validate(
    ctx: web::Data<Context>,
    body: web::Json<ValidateRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = Token::from_presented(body.into_inner().token);
    // The reads on the worker (the hand-off to the blocking pool would cost
    // more than they do: README "Performance"); the rare durable write of
    // the last use off it.
    let active = match sessions::check(&ctx, &token)? {
        Some(checked) if checked.touch_due => {
            let ctx = ctx.clone();
            let session = checked.active.session.clone();
            blocking(move || sessions::touch(&ctx, &token, &session)).await??;
            Some(checked.active)
        }
        checked => checked.map(|checked| checked.active),
    };
    Ok(HttpResponse::Ok().json(match &active {
        Some(active) => ValidateResponse::Valid {
            valid: true,
            user_id: &active.user.id,
            username: &active.user.username,
            session_id: &active.session.id,
            amr: &active.session.amr,
            auth_time: active.session.auth_time,
            expires_at: active.expires_at,
        },
        None => ValidateResponse::Invalid { valid: false },
    }))
}

/// `POST /api/logout`: revokes the caller's session and clears the cookie.
/// Idempotent: without a live session it still answers 204.
pub async fn post_logout(
    ctx: web::Data<Context>,
    session: MaybeSession,
    _: SameOrigin,
    ip: ClientIp,
) -> Result<HttpResponse, ApiError> {
    if let Some((token, _)) = session.0 {
        let ctx = ctx.clone();
        blocking(move || sessions::revoke(&ctx, &token, ip.as_deref())).await??;
    }
    Ok(HttpResponse::NoContent()
        .cookie(cookies::clear_session(&ctx))
        .finish())
}
