//! OpenID Connect endpoints: UserInfo (with RFC 6750 errors) and
//! RP-initiated logout.

use super::bearer::{AccessRefusal, Bearer, BearerError};
use super::dpop::with_nonce;
use crate::context::Context;
use crate::http::cookies;
use crate::http::error::{Cause, PageError, render};
use crate::http::extract::{ClientIp, CsrfForm, MaybeSession, PageForm, SessionAuth};
use crate::oauth::Provider;
use crate::oidc::logout::{self, LogoutParams, LogoutPlan};
use crate::oidc::{self as domain, UserInfoError};
use crate::sessions;
use crate::telemetry::blocking;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError, web};
use askama::Template;
use serde::Deserialize;

/// A refusal in RFC 6750 §3's shape (RFC 9449 §7.1 with the `DPoP`
/// scheme); a store failure is a bare 500.
fn userinfo_error(err: UserInfoError, dpop: bool) -> HttpResponse {
    let error = match err {
        UserInfoError::Missing => BearerError::Missing,
        UserInfoError::InvalidToken(why) => BearerError::InvalidToken(why),
        UserInfoError::InvalidProof(why) => BearerError::InvalidDpopProof(why),
        UserInfoError::UseNonce => BearerError::UseDpopNonce,
        UserInfoError::InsufficientScope => BearerError::InsufficientScope("openid"),
        UserInfoError::Store(err) => return server_failure(&err),
    };
    AccessRefusal { error, dpop }.error_response()
}

/// `GET` and `POST /oauth2/userinfo`: the claims the access token may read.
/// A DPoP-bound token comes with the `DPoP` scheme and a proof; when nonces
/// are on, every answer carries the current one (RFC 9449 §9).
pub async fn userinfo(
    provider: web::Data<Provider>,
    token: Result<Bearer, AccessRefusal>,
) -> HttpResponse {
    let answer = provider.clone();
    let response = match token {
        Err(refusal) => refusal.error_response(),
        Ok(token) => {
            let dpop = token.proof().is_some();
            match blocking(move || domain::userinfo(&provider, token.expose(), token.proof())).await
            {
                Ok(Ok(claims)) => HttpResponse::Ok().json(claims),
                Ok(Err(err)) => userinfo_error(err, dpop),
                Err(err) => server_failure(&err),
            }
        }
    };
    with_nonce(&answer, response)
}

/// A bare 500 (RFC 6750 defines no body for it), its cause kept for the
/// request's log line.
fn server_failure(cause: &(dyn std::error::Error + 'static)) -> HttpResponse {
    let mut response = HttpResponse::InternalServerError().finish();
    Cause::attach(&mut response, Some(&Cause::of(cause)));
    response
}

#[derive(Template)]
#[template(path = "logout_confirm.html")]
struct ConfirmPage {
    client_name: Option<String>,
    username: String,
    csrf_token: String,
    hidden: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "signed_out.html")]
struct SignedOutPage;

fn hidden(params: &LogoutParams) -> Vec<(&'static str, String)> {
    [
        ("id_token_hint", &params.id_token_hint),
        ("client_id", &params.client_id),
        ("post_logout_redirect_uri", &params.post_logout_redirect_uri),
        ("state", &params.state),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.clone().map(|value| (name, value)))
    .collect()
}

async fn planned(
    provider: &web::Data<Provider>,
    params: &LogoutParams,
) -> Result<LogoutPlan, PageError> {
    let (provider, params) = (provider.clone(), params.clone());
    blocking(move || logout::plan(&provider, &params))
        .await?
        .map_err(|message| {
            PageError::new(
                StatusCode::BAD_REQUEST,
                "This sign-out link is not valid",
                message,
            )
        })
}

/// Signed out: the cookie cleared, then the client's page or ours.
fn signed_out(ctx: &Context, plan: &LogoutPlan) -> Result<HttpResponse, PageError> {
    let mut response = match &plan.redirect {
        Some(location) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, location.as_str()))
            .finish(),
        None => render(StatusCode::OK, &SignedOutPage)?,
    };
    response
        .add_cookie(&cookies::clear_session(ctx))
        .map_err(PageError::internal)?;
    Ok(response)
}

async fn end_session(
    ctx: &web::Data<Context>,
    token: crate::secret::Token,
    ip: ClientIp,
) -> Result<(), PageError> {
    let ctx = ctx.clone();
    blocking(move || sessions::revoke(&ctx, &token, ip.as_deref())).await??;
    Ok(())
}

async fn logout_request(
    ctx: web::Data<Context>,
    provider: web::Data<Provider>,
    session: MaybeSession,
    params: LogoutParams,
    ip: ClientIp,
) -> Result<HttpResponse, PageError> {
    let plan = planned(&provider, &params).await?;
    let Some((token, active)) = session.0 else {
        return signed_out(&ctx, &plan);
    };
    if plan.hinted_subject.as_deref() == Some(active.user.id.as_str()) {
        end_session(&ctx, token, ip).await?;
        return signed_out(&ctx, &plan);
    }
    // Not provably from an app the user signed in to: ask first, so that
    // no page can sign anyone out by linking here.
    render(
        StatusCode::OK,
        &ConfirmPage {
            client_name: plan.client_name,
            username: active.user.username,
            csrf_token: ctx.csrf_token(&token),
            hidden: hidden(&params),
        },
    )
}

/// `GET /oauth2/logout`.
pub async fn get_logout(
    ctx: web::Data<Context>,
    provider: web::Data<Provider>,
    session: MaybeSession,
    query: web::Query<LogoutParams>,
    ip: ClientIp,
) -> Result<HttpResponse, PageError> {
    logout_request(ctx, provider, session, query.into_inner(), ip).await
}

/// `POST /oauth2/logout` (form).
pub async fn post_logout(
    ctx: web::Data<Context>,
    provider: web::Data<Provider>,
    session: MaybeSession,
    form: web::Form<LogoutParams>,
    ip: ClientIp,
) -> Result<HttpResponse, PageError> {
    logout_request(ctx, provider, session, form.into_inner(), ip).await
}

/// The confirmation: the logout request, carried through the page.
#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    #[serde(flatten)]
    params: LogoutParams,
}

impl PageForm for ConfirmForm {
    const ADVICE: &'static str = "Sign out from your account page.";
}

/// `POST /oauth2/logout/confirm`: the user confirmed on tessera's page.
pub async fn post_logout_confirm(
    ctx: web::Data<Context>,
    provider: web::Data<Provider>,
    auth: SessionAuth,
    CsrfForm(form): CsrfForm<ConfirmForm>,
    ip: ClientIp,
) -> Result<HttpResponse, PageError> {
    let plan = planned(&provider, &form.params).await?;
    end_session(&ctx, auth.token, ip).await?;
    signed_out(&ctx, &plan)
}
