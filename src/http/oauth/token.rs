//! `/oauth2/token`, `/oauth2/revoke` (RFC 7009) and `/oauth2/introspect`
//! (RFC 7662). Every answer carries `Cache-Control: no-store`.

use super::client_auth::ClientAuth;
use super::dpop::{DpopProof, with_nonce};
use crate::oauth::token_request::{TokenParams, TokenRequest};
use crate::oauth::{OAuthError, Provider};
use crate::secret::Token;
use crate::telemetry::blocking;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

/// Every parameter these endpoints read besides the client's credentials.
#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    token: Option<Token>,
    #[serde(flatten)]
    request: TokenParams,
}

/// An answer no cache may keep (RFC 6749 §5.1).
pub(super) fn no_store(
    mut response: actix_web::HttpResponseBuilder,
) -> actix_web::HttpResponseBuilder {
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    response
}

/// `POST /oauth2/token`. With a `DPoP` proof the access token is bound to
/// its key (RFC 9449 §5); answers carry the server's nonce when it asks
/// for one.
pub async fn post_token(
    provider: web::Data<Provider>,
    DpopProof(proof): DpopProof,
    ClientAuth {
        client,
        form,
        address,
    }: ClientAuth<TokenForm>,
) -> HttpResponse {
    let response = match token_response(provider.clone(), client, form, address, proof).await {
        Ok(response) => response,
        Err(err) => actix_web::ResponseError::error_response(&err),
    };
    with_nonce(&provider, response)
}

async fn token_response(
    provider: web::Data<Provider>,
    client: crate::store::Client,
    form: TokenForm,
    address: Option<String>,
    proof: Option<crate::oauth::dpop::ProofRequest>,
) -> Result<HttpResponse, OAuthError> {
    let request = TokenRequest::parse(form.request, |grant| {
        crate::oauth::grants::may_use(&client, grant)
    })?;
    let response =
        blocking(move || provider.exchange(&client, &request, address.as_deref(), proof.as_ref()))
            .await??;
    Ok(no_store(HttpResponse::Ok()).json(response))
}

/// `POST /oauth2/revoke`: 200 whether or not the token was known (RFC 7009
/// §2.2), so nobody learns which tokens exist.
pub async fn post_revoke(
    provider: web::Data<Provider>,
    ClientAuth {
        client,
        form,
        address,
    }: ClientAuth<TokenForm>,
) -> Result<HttpResponse, OAuthError> {
    let token = form
        .token
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    blocking(move || provider.revoke(&client, &token, address.as_deref())).await??;
    Ok(no_store(HttpResponse::Ok()).finish())
}

/// `POST /oauth2/introspect`: for confidential clients (resource servers).
pub async fn post_introspect(
    provider: web::Data<Provider>,
    ClientAuth { client, form, .. }: ClientAuth<TokenForm>,
) -> Result<HttpResponse, OAuthError> {
    if client.secret_hash.is_none() {
        // RFC 7662 §2.1: the endpoint requires authorization.
        return Err(OAuthError::invalid_client());
    }
    let token = form
        .token
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    // On the worker, as client authentication: an RSA verification and
    // two store reads take tens of microseconds, less than the hand-off
    // to the blocking pool costs (README "Performance").
    let answer = provider.introspect(&client, &token)?;
    Ok(no_store(HttpResponse::Ok()).json(answer))
}
