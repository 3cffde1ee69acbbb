//! The REST surface for native and single-page apps and for services that
//! validate session tokens. JSON in, JSON out, no cookies needed.

mod authenticate;
mod session;

use super::paths;
use actix_web::web;

/// Registers the API's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        paths::API_AUTHENTICATE,
        web::post().to(authenticate::post_authenticate),
    )
    .route(paths::API_SESSION, web::get().to(session::get_session))
    .route(paths::API_VALIDATE, web::post().to(session::post_validate))
    .route(paths::API_LOGOUT, web::post().to(session::post_logout));
}
