//! `/admin/keys`: the signing keys with their status, and rotation.

use super::{ActionForm, AdminPage, Done, DoneQuery};
use crate::context::Context;
use crate::http::error::{PageError, render};
use crate::http::extract::CsrfForm;
use crate::http::pages::account::display_time;
use crate::http::paths;
use crate::keys::{KeyInfo, KeyStatus};
use crate::oauth::Provider;
use crate::telemetry::blocking;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::ADMIN_KEYS_PAGE, web::get().to(get_keys))
        .route(paths::ADMIN_KEYS_ROTATE_PAGE, web::post().to(post_rotate));
}

struct KeyRow {
    kid: String,
    alg: &'static str,
    active: bool,
    created: String,
    retired: String,
    published_until: String,
}

impl From<KeyInfo> for KeyRow {
    fn from(key: KeyInfo) -> Self {
        Self {
            alg: key.alg.as_str(),
            active: key.status == KeyStatus::Active,
            created: display_time(key.created_at),
            retired: key.retired_at.map(display_time).unwrap_or_default(),
            published_until: key.published_until.map(display_time).unwrap_or_default(),
            kid: key.kid,
        }
    }
}

#[derive(Template)]
#[template(path = "admin_keys.html")]
struct KeysPage {
    csrf_token: String,
    done: Option<&'static str>,
    keys: Vec<KeyRow>,
    alg: &'static str,
}

/// `GET /admin/keys`.
pub async fn get_keys(
    page: AdminPage,
    ctx: web::Data<Context>,
    provider: web::Data<Provider>,
    done: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let keys = blocking(move || provider.key_statuses()).await??;
    render(
        StatusCode::OK,
        &KeysPage {
            csrf_token: page.csrf_token,
            done: done.message(),
            keys: keys.into_iter().map(KeyRow::from).collect(),
            alg: ctx.settings.oauth.signing_alg.as_str(),
        },
    )
}

/// `POST /admin/keys/rotate`: needs a recent sign-in; the configured
/// algorithm's new key signs the next token.
pub async fn post_rotate(
    page: AdminPage,
    ctx: web::Data<Context>,
    provider: web::Data<Provider>,
    _: CsrfForm<ActionForm>,
) -> actix_web::Result<HttpResponse> {
    page.check_recent(&ctx, paths::ADMIN_KEYS_PAGE)?;
    blocking(move || provider.rotate_key(None, &page.by))
        .await
        .map_err(PageError::from)?
        .map_err(PageError::internal)?;
    Ok(Done::KeyRotated.at(paths::ADMIN_KEYS_PAGE))
}
