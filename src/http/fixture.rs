//! Fixture mode's endpoints (`[fixture] enabled`, loopback only): mint
//! tokens without a flow, and read what the mailer sent. Registered only
//! when enabled; otherwise these paths do not exist.
//!
//! A loopback bind keeps other machines out, but not a web page in the
//! developer's browser that rebinds its own domain name to 127.0.0.1 (DNS
//! rebinding): such requests carry that domain in `Host`, so only
//! requests addressed to a loopback host are answered.

use super::paths;
use crate::journeys::Engine;
use crate::oauth::fixture::MintRequest;
use crate::oauth::redirect;
use crate::oauth::{OAuthError, Provider};
use crate::telemetry::blocking;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::FIXTURE_TOKEN, web::post().to(post_token))
        .route(paths::FIXTURE_OUTBOX, web::get().to(get_outbox));
}

#[derive(Serialize)]
struct TokenBody {
    access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
    expires_in: i64,
}

/// `POST /fixture/token`: a JSON [`MintRequest`]. Errors are OAuth-shaped
/// (`error`, `error_description`), the body's own included.
async fn post_token(
    req: HttpRequest,
    provider: web::Data<Provider>,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    addressed_to_loopback(&req)?;
    let request: MintRequest = serde_json::from_slice(&body).map_err(|err| {
        OAuthError::invalid_request(format!(
            "the body must be a JSON object with sub, client_id and optionally scope, claims, ttl_secs: {err}"
        ))
    })?;
    let minted = blocking(move || provider.mint(request)).await??;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(TokenBody {
            access_token: minted.access_token,
            id_token: minted.id_token,
            expires_in: minted.expires_in,
        }))
}

/// `GET /fixture/outbox`: every message sent, oldest first.
async fn get_outbox(
    req: HttpRequest,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, OAuthError> {
    addressed_to_loopback(&req)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(engine.mailer.sent().unwrap_or_default()))
}

/// Refuses a request whose `Host` is not `localhost` or a loopback
/// address (with any port). The header itself, not a forwarded one, read
/// by the URL parser as the authority of an `http` URL.
pub(super) fn addressed_to_loopback(req: &HttpRequest) -> Result<(), OAuthError> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or_default();
    let loopback = url::Url::parse(&format!("http://{host}/"))
        .is_ok_and(|url| url.host_str() == Some("localhost") || redirect::is_loopback(&url));
    if loopback {
        Ok(())
    } else {
        Err(OAuthError::invalid_request(
            "fixture endpoints answer only requests addressed to a loopback host (Host: 127.0.0.1:PORT, [::1]:PORT or localhost:PORT)",
        ))
    }
}
