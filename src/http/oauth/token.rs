//! `/oauth2/token`, `/oauth2/revoke` (RFC 7009) and `/oauth2/introspect`
//! (RFC 7662). Every answer carries `Cache-Control: no-store`.

use super::client_auth;
use crate::context::Context;
use crate::http::extract::client_address;
use crate::oauth::grants::{self, TokenRequest};
use crate::oauth::tokens;
use crate::oauth::{OAuthError, clients};
use crate::telemetry::blocking;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

/// Every parameter these endpoints read, client credentials included.
#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    client_id: Option<String>,
    client_secret: Option<String>,
    token: Option<String>,
    #[serde(flatten)]
    request: TokenRequest,
}

/// Authenticates the client of a request.
async fn client_of(
    req: &HttpRequest,
    ctx: &web::Data<Context>,
    form: &TokenForm,
) -> Result<crate::store::Client, OAuthError> {
    let (id, secret) = client_auth::presented(
        req,
        form.client_id.as_deref(),
        form.client_secret.as_deref(),
    )?;
    let address =
        client_address(req, &ctx.settings.server.trusted_proxies).map(|ip| ip.to_string());
    let ctx = ctx.clone();
    blocking(move || clients::authenticate(&ctx, &id, secret.as_deref(), address.as_deref()))
        .await?
}

fn no_store(mut response: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    response
}

/// `POST /oauth2/token`.
pub async fn post_token(
    req: HttpRequest,
    ctx: web::Data<Context>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, OAuthError> {
    let form = form.into_inner();
    let client = client_of(&req, &ctx, &form).await?;
    let ctx = ctx.clone();
    let response = blocking(move || grants::exchange(&ctx, &client, &form.request)).await??;
    Ok(no_store(HttpResponse::Ok()).json(response))
}

/// `POST /oauth2/revoke`: 200 whether or not the token was known (RFC 7009
/// §2.2), so nobody learns which tokens exist.
pub async fn post_revoke(
    req: HttpRequest,
    ctx: web::Data<Context>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, OAuthError> {
    let form = form.into_inner();
    let client = client_of(&req, &ctx, &form).await?;
    let token = form
        .token
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let ctx = ctx.clone();
    blocking(move || tokens::revoke(&ctx, &client, &token)).await??;
    Ok(no_store(HttpResponse::Ok()).finish())
}

/// `POST /oauth2/introspect`: for confidential clients (resource servers).
pub async fn post_introspect(
    req: HttpRequest,
    ctx: web::Data<Context>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, OAuthError> {
    let form = form.into_inner();
    let client = client_of(&req, &ctx, &form).await?;
    if client.secret_hash.is_none() {
        // RFC 7662 §2.1: the endpoint requires authorization.
        return Err(OAuthError::invalid_client());
    }
    let token = form
        .token
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let ctx = ctx.clone();
    let answer = blocking(move || tokens::introspect(&ctx, &client, &token)).await??;
    Ok(no_store(HttpResponse::Ok()).json(answer))
}
