//! Client authentication at the token, revocation and introspection
//! endpoints: `client_secret_basic` (RFC 6749 §2.3.1, the id and secret
//! form-urlencoded inside Basic) or `client_secret_post`, or a public
//! client's bare `client_id`. One method per request (§2.3). `ClientAuth`
//! puts it in the signature of the handlers that need it.

use crate::context::Context;
use crate::http::extract::client_address;
use crate::oauth::{OAuthError, clients};
use crate::store::Client;
use crate::telemetry::blocking;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;

/// A request from an authenticated client: the client, and the rest of
/// its form. The client's address counts its failures (the lockout).
pub struct ClientAuth<T> {
    pub client: Client,
    pub form: T,
}

/// The form as posted: the `client_secret_post` credentials (or a public
/// client's id) and the rest. No `Debug`: it holds the secret.
#[derive(Deserialize)]
struct Posted<T> {
    client_id: Option<String>,
    client_secret: Option<String>,
    #[serde(flatten)]
    form: T,
}

impl<T: DeserializeOwned + 'static> FromRequest for ClientAuth<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let posted = web::Form::<Posted<T>>::from_request(&req, payload);
        Box::pin(async move {
            let Posted {
                client_id,
                client_secret,
                form,
            } = posted.await?.into_inner();
            let client = authenticate(&req, client_id.as_deref(), client_secret.as_deref()).await?;
            Ok(ClientAuth { client, form })
        })
    }
}

async fn authenticate(
    req: &HttpRequest,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<Client, OAuthError> {
    let (id, secret) = presented(req, form_id, form_secret)?;
    let ctx = req
        .app_data::<web::Data<Context>>()
        .cloned()
        .ok_or_else(|| OAuthError::server("application context missing"))?;
    let address =
        client_address(req, &ctx.settings.server.trusted_proxies).map(|ip| ip.to_string());
    blocking(move || clients::authenticate(&ctx, &id, secret.as_deref(), address.as_deref()))
        .await?
}

/// The client id and secret a request presents.
pub fn presented(
    req: &HttpRequest,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<(String, Option<String>), OAuthError> {
    let basic = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "));
    match basic {
        Some(encoded) => {
            if form_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method: Basic or client_secret, not both",
                ));
            }
            let decoded = STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(OAuthError::invalid_client)?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(OAuthError::invalid_client)?;
            let id = form_decode(id)?;
            if form_id.is_some_and(|form_id| form_id != id) {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the Basic credentials",
                ));
            }
            Ok((id, Some(form_decode(secret)?)))
        }
        None => {
            let id = form_id.ok_or_else(OAuthError::invalid_client)?;
            Ok((id.to_owned(), form_secret.map(str::to_owned)))
        }
    }
}

fn form_decode(value: &str) -> Result<String, OAuthError> {
    let plus_as_space = value.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| OAuthError::invalid_client())
}
