//! Client authentication at the token, revocation and introspection
//! endpoints: `client_secret_basic` (RFC 6749 §2.3.1, the id and secret
//! form-urlencoded inside Basic) or `client_secret_post`, or a public
//! client's bare `client_id`. One method per request (§2.3). `ClientAuth`
//! puts it in the signature of the handlers that need it.

use crate::context::Context;
use crate::http::extract::client_address;
use crate::oauth::params::{ClientId, ClientSecret};
use crate::oauth::{OAuthError, clients};
use crate::store::Client;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;

/// A request from an authenticated client: the client, the rest of its
/// form, and its address, which counts its failures (the lockout) and
/// goes into what it changes records (the audit log).
pub struct ClientAuth<T> {
    pub client: Client,
    pub form: T,
    pub address: Option<String>,
}

/// The form as posted: the `client_secret_post` credentials (or a public
/// client's id) and the rest. No `Debug`: the rest may hold secrets too.
#[derive(Deserialize)]
struct Posted<T> {
    client_id: Option<String>,
    client_secret: Option<ClientSecret>,
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
            let ctx = req
                .app_data::<web::Data<Context>>()
                .cloned()
                .ok_or_else(|| OAuthError::server("application context missing"))?;
            let address =
                client_address(&req, &ctx.settings.server.trusted_proxies).map(|ip| ip.to_string());
            let client = authenticate(
                &ctx,
                &req,
                client_id.as_deref(),
                client_secret,
                address.as_deref(),
            )?;
            Ok(ClientAuth {
                client,
                form,
                address,
            })
        })
    }
}

fn authenticate(
    ctx: &Context,
    req: &HttpRequest,
    form_id: Option<&str>,
    form_secret: Option<ClientSecret>,
    address: Option<&str>,
) -> Result<Client, OAuthError> {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let (id, secret) = presented(authorization, form_id, form_secret)?;
    // An id of another shape names no client: refused as an unknown one.
    let id = ClientId::parse(&id).ok_or_else(OAuthError::invalid_client)?;
    // On the worker, not the blocking pool: two store reads and an HMAC
    // take microseconds, and a hand-off costs 30-50 µs of CPU per request
    // (README "Performance"). A failure's counter is a volatile write (no
    // fsync); only the one-time rehash of a pre-schema-3 MAC flushes.
    clients::authenticate(ctx, &id, secret.as_ref(), address)
}

/// The client id and secret a request presents, from its `Authorization`
/// header (when it is Basic) or its form; one method only (§2.3).
fn presented(
    authorization: Option<&str>,
    form_id: Option<&str>,
    form_secret: Option<ClientSecret>,
) -> Result<(String, Option<ClientSecret>), OAuthError> {
    match authorization.and_then(|value| super::credentials(value, "Basic")) {
        Some(encoded) => {
            if form_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method: Basic or client_secret, not both",
                ));
            }
            let (id, secret) = basic_credentials(encoded)?;
            if form_id.is_some_and(|form_id| form_id != id) {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the Basic credentials",
                ));
            }
            Ok((id, Some(secret)))
        }
        None => {
            let id = form_id.ok_or_else(OAuthError::invalid_client)?;
            Ok((id.to_owned(), form_secret))
        }
    }
}

/// RFC 6749 §2.3.1: base64 of `id:secret`, each form-urlencoded first
/// (so that either may hold a `:`). Anything else is `invalid_client`.
fn basic_credentials(encoded: &str) -> Result<(String, ClientSecret), OAuthError> {
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(OAuthError::invalid_client)?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(OAuthError::invalid_client)?;
    Ok((form_decode(id)?, ClientSecret::from(form_decode(secret)?)))
}

fn form_decode(value: &str) -> Result<String, OAuthError> {
    let plus_as_space = value.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| OAuthError::invalid_client())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Basic credentials as RFC 6749 §2.3.1 has a client send them.
    fn basic(id: &str, secret: &str) -> String {
        let encode = |value: &str| {
            url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>()
        };
        STANDARD.encode(format!("{}:{}", encode(id), encode(secret)))
    }

    fn code(result: Result<impl Sized, OAuthError>) -> &'static str {
        result.err().map_or("accepted", |error| error.kind.code())
    }

    proptest! {
        #[test]
        fn arbitrary_basic_credentials_never_panic(encoded in any::<String>()) {
            let _ = basic_credentials(&encoded);
        }

        #[test]
        fn arbitrary_base64_never_panics(bytes in any::<Vec<u8>>()) {
            let _ = basic_credentials(&STANDARD.encode(bytes));
        }

        #[test]
        fn encoded_credentials_round_trip(id in any::<String>(), secret in any::<String>()) {
            let (decoded_id, decoded_secret) = basic_credentials(&basic(&id, &secret))
                .map_err(|error| TestCaseError::fail(error.description))?;
            prop_assert_eq!(decoded_id, id);
            prop_assert_eq!(decoded_secret.expose(), secret.as_str());
        }
    }

    #[test]
    fn basic_credentials_that_do_not_decode_are_invalid_client() {
        assert_eq!(code(basic_credentials("not base64!")), "invalid_client");
        assert_eq!(
            code(basic_credentials(&STANDARD.encode("no-colon"))),
            "invalid_client"
        );
        assert_eq!(
            code(basic_credentials(&STANDARD.encode([0xff, b':']))),
            "invalid_client"
        );
        assert_eq!(
            code(basic_credentials(&STANDARD.encode("id:%FF"))),
            "invalid_client"
        );
        let (id, secret) = basic_credentials(&STANDARD.encode("a+b%3Ac:s%3As")).expect("decodes");
        assert_eq!((id.as_str(), secret.expose()), ("a b:c", "s:s"));
    }

    #[test]
    fn a_request_presents_its_credentials_one_way() {
        let header = format!("Basic {}", basic("notes", "s3cret"));
        let secret = || Some(ClientSecret::from("s3cret".to_owned()));
        assert_eq!(code(presented(Some(&header), None, None)), "accepted");
        assert_eq!(
            code(presented(Some(&header), Some("notes"), None)),
            "accepted"
        );
        assert_eq!(
            code(presented(Some(&header), None, secret())),
            "invalid_request"
        );
        assert_eq!(
            code(presented(Some(&header), Some("other"), None)),
            "invalid_request"
        );
        assert_eq!(code(presented(None, None, secret())), "invalid_client");
        let lower = format!("basic {}", basic("notes", "s3cret"));
        assert_eq!(code(presented(Some(&lower), None, None)), "accepted");
        let (id, posted) = presented(Some("Bearer x"), Some("notes"), secret()).expect("posted");
        assert_eq!((id.as_str(), posted), ("notes", secret()));
    }
}
