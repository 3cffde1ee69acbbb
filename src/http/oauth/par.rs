//! `POST /oauth2/par` (RFC 9126): the authorization request, pushed by
//! the client, authenticated as at the token endpoint; `201 Created` with
//! its `request_uri`, or an RFC 6749 §5.2 error.

use super::client_auth::ClientAuth;
use super::dpop::{DpopProof, with_nonce};
use super::token::no_store;
use crate::journeys::Engine;
use crate::oauth::authorize_params::AuthorizeParams;
use crate::oauth::{OAuthError, Provider};
use crate::telemetry::blocking;
use actix_web::{HttpResponse, web};

/// `POST /oauth2/par`. A `DPoP` proof binds the code to its key (RFC
/// 9449 §10.1); answers carry the server's nonce when it asks for one.
pub async fn post_par(
    provider: web::Data<Provider>,
    journeys: web::Data<Engine>,
    DpopProof(proof): DpopProof,
    ClientAuth { client, form, .. }: ClientAuth<AuthorizeParams>,
) -> HttpResponse {
    let answer = provider.clone();
    let pushed =
        blocking(move || provider.push(journeys.registry(), &client, form, proof.as_ref()))
            .await
            .map_err(OAuthError::from)
            .and_then(|pushed| pushed);
    let response = match pushed {
        Ok(pushed) => no_store(HttpResponse::Created()).json(pushed),
        Err(err) => actix_web::ResponseError::error_response(&err),
    };
    with_nonce(&answer, response)
}
