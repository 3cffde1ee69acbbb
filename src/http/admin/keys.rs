//! `/admin/api/keys`: the signing keys with their status, and rotation,
//! which signs the next token with the new key.

use super::Items;
use crate::http::error::AdminError;
use crate::http::extract::{AdminCaller, RecentAdmin};
use crate::http::paths;
use crate::jwa::SigningAlg;
use crate::keys::{KeyInfo, KeyStatus};
use crate::oauth::Provider;
use crate::telemetry::blocking;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Registers the routes under `/admin/api/keys`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::ADMIN_KEYS, web::get().to(get_keys))
        .route(paths::ADMIN_KEYS_ROTATE, web::post().to(post_rotate));
}

/// A key as the API shows one: never its private half.
#[derive(Serialize)]
struct KeyResponse {
    kid: String,
    alg: SigningAlg,
    status: KeyStatus,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    retired_at: Option<OffsetDateTime>,
    /// When a retired key leaves the JWKS.
    #[serde(with = "time::serde::rfc3339::option")]
    published_until: Option<OffsetDateTime>,
}

impl From<KeyInfo> for KeyResponse {
    fn from(key: KeyInfo) -> Self {
        Self {
            kid: key.kid,
            alg: key.alg,
            status: key.status,
            created_at: key.created_at,
            retired_at: key.retired_at,
            published_until: key.published_until,
        }
    }
}

/// `GET /admin/api/keys`: every key, newest first.
pub async fn get_keys(
    _: AdminCaller,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, AdminError> {
    let keys = blocking(move || provider.key_statuses()).await??;
    Ok(HttpResponse::Ok().json(Items::<KeyResponse>::all(keys)))
}

/// `POST /admin/api/keys/rotate` body: the algorithm, by default the
/// configured one.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    alg: Option<SigningAlg>,
}

/// `POST /admin/api/keys/rotate`: 201 with the new key. A sensitive
/// action: a session must have signed in recently. The body may be empty.
pub async fn post_rotate(
    RecentAdmin(by): RecentAdmin,
    provider: web::Data<Provider>,
    body: web::Bytes,
) -> Result<HttpResponse, AdminError> {
    let RotateBody { alg } = if body.iter().all(u8::is_ascii_whitespace) {
        RotateBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|err| {
            AdminError::bad_request(format!(
                "The body must be {{\"alg\": \"RS256\" | \"ES256\" | \"EdDSA\"}} or empty: {err}."
            ))
        })?
    };
    let key = blocking(move || provider.rotate_key(alg, &by)).await??;
    Ok(HttpResponse::Created().json(KeyResponse::from(key)))
}
