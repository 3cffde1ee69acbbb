//! `POST /oauth2/par` (RFC 9126): the authorization request, pushed by
//! the client, authenticated as at the token endpoint; `201 Created` with
//! its `request_uri`, or an RFC 6749 §5.2 error.

use super::client_auth::ClientAuth;
use super::token::no_store;
use crate::journeys::Engine;
use crate::oauth::authorize_params::AuthorizeParams;
use crate::oauth::{OAuthError, Provider};
use crate::telemetry::blocking;
use actix_web::{HttpResponse, web};

/// `POST /oauth2/par`.
pub async fn post_par(
    provider: web::Data<Provider>,
    journeys: web::Data<Engine>,
    ClientAuth { client, form, .. }: ClientAuth<AuthorizeParams>,
) -> Result<HttpResponse, OAuthError> {
    let pushed = blocking(move || provider.push(journeys.registry(), &client, form)).await??;
    Ok(no_store(HttpResponse::Created()).json(pushed))
}
