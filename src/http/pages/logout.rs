//! `/logout`: a confirmation page (GET) and the sign-out itself (POST with
//! CSRF), so that no image tag or link on another site can sign anyone out.

use crate::context::Context;
use crate::http::cookies;
use crate::http::error::{PageError, render};
use crate::http::extract::{ClientIp, CsrfForm, MaybeSession, PageForm};
use crate::http::paths;
use crate::sessions;
use crate::telemetry::blocking;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "logout.html")]
struct ConfirmPage {
    username: String,
    csrf_token: String,
}

#[derive(Template)]
#[template(path = "signed_out.html")]
struct SignedOutPage;

/// `GET /logout`: asks to confirm, or goes to sign-in when signed out.
pub async fn get_logout(
    ctx: web::Data<Context>,
    session: MaybeSession,
) -> Result<HttpResponse, PageError> {
    match session.0 {
        Some((token, active)) => render(
            StatusCode::OK,
            &ConfirmPage {
                username: active.user.username,
                csrf_token: ctx.csrf_token(&token),
            },
        ),
        None => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, paths::LOGIN))
            .finish()),
    }
}

/// The sign-out form: nothing but its CSRF token.
#[derive(Deserialize)]
pub struct LogoutForm {}

impl PageForm for LogoutForm {
    const ADVICE: &'static str = "Use the Sign out button on your account page.";
}

/// `POST /logout`: ends the session and clears the cookie.
pub async fn post_logout(
    ctx: web::Data<Context>,
    session: MaybeSession,
    _form: CsrfForm<LogoutForm>,
    ip: ClientIp,
) -> Result<HttpResponse, PageError> {
    if let Some((token, _)) = session.0 {
        let ctx = ctx.clone();
        blocking(move || sessions::revoke(&ctx, &token, ip.as_deref())).await??;
    }
    let mut response = render(StatusCode::OK, &SignedOutPage)?;
    response
        .add_cookie(&cookies::clear_session(&ctx))
        .map_err(PageError::internal)?;
    Ok(response)
}
