//! Client authentication at the token, revocation and introspection
//! endpoints: `client_secret_basic` (RFC 6749 §2.3.1, the id and secret
//! form-urlencoded inside Basic) or `client_secret_post`, or a public
//! client's bare `client_id`. One method per request (§2.3).

use crate::oauth::OAuthError;
use actix_web::HttpRequest;
use actix_web::http::header;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

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
