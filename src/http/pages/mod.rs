//! The HTML surface: sign-in journeys, the account page, sign-out, the
//! stylesheet and the health check.

pub mod account;
pub mod login;
pub mod logout;
pub mod passkeys;
pub mod second_factor;

use super::error::PageError;
use super::paths;
use crate::context::Context;
use crate::telemetry::blocking;
use actix_web::http::header;
use actix_web::{HttpResponse, web};

/// The one stylesheet, compiled into the binary.
const STYLESHEET: &str = include_str!("../../../static/style.css");
/// The journey pages' little script (device characteristics, push polling).
const JOURNEY_SCRIPT: &str = include_str!("../../../static/journey.js");

/// Registers the pages' routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::HOME, web::get().to(get_home))
        .route(paths::HEALTHZ, web::get().to(get_healthz))
        .route(paths::STYLESHEET, web::get().to(get_stylesheet))
        .route(paths::LOGIN, web::get().to(login::get_login))
        .route(paths::LOGIN, web::post().to(login::post_login))
        .route(paths::LOGIN_POLL, web::get().to(login::get_login_poll))
        .route(paths::REGISTER, web::get().to(login::get_register))
        .route(
            paths::RESET_PASSWORD,
            web::get().to(login::get_reset_password),
        )
        .route(paths::JOURNEY_SCRIPT, web::get().to(get_journey_script))
        .route(paths::LOGOUT, web::get().to(logout::get_logout))
        .route(paths::LOGOUT, web::post().to(logout::post_logout))
        .route(paths::ACCOUNT, web::get().to(account::get_account))
        .route(
            paths::ACCOUNT_PASSWORD,
            web::post().to(account::post_change_password),
        )
        .route(
            paths::ACCOUNT_END_SESSION,
            web::post().to(account::post_end_session),
        )
        .route(
            paths::ACCOUNT_END_OTHER_SESSIONS,
            web::post().to(account::post_end_other_sessions),
        )
        .route(
            paths::ACCOUNT_PUSH,
            web::post().to(account::post_push_answer),
        )
        .route(
            paths::ACCOUNT_RENAME_DEVICE,
            web::post().to(account::post_rename_device),
        )
        .route(
            paths::ACCOUNT_FORGET_DEVICE,
            web::post().to(account::post_forget_device),
        )
        .route(
            paths::ACCOUNT_REVOKE_CONSENT,
            web::post().to(account::post_revoke_consent),
        )
        .route(
            paths::ACCOUNT_APP_SETUP,
            web::post().to(second_factor::post_app_setup),
        )
        .route(
            paths::ACCOUNT_APP_CONFIRM,
            web::post().to(second_factor::post_app_confirm),
        )
        .route(
            paths::ACCOUNT_APP_REMOVE,
            web::post().to(second_factor::post_app_remove),
        )
        .route(
            paths::ACCOUNT_RECOVERY_CODES,
            web::post().to(second_factor::post_recovery_codes),
        )
        .configure(passkeys::configure);
}

async fn get_home() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, paths::ACCOUNT))
        .finish()
}

async fn get_stylesheet() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLESHEET)
}

async fn get_journey_script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", JOURNEY_SCRIPT)
}

fn asset(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

/// `GET /healthz`: 200 when the store answers.
async fn get_healthz(ctx: web::Data<Context>) -> Result<HttpResponse, PageError> {
    let ctx = ctx.into_inner();
    blocking(move || ctx.store.read(|_| Ok(()))).await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ok" })))
}
