//! The REST surface for native and single-page apps and for services that
//! validate session tokens, and for answering push requests from a native
//! app. JSON in, JSON out, no cookies needed.

mod authenticate;
mod push;
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
    .route(paths::API_LOGOUT, web::post().to(session::post_logout))
    .route(paths::API_PUSH, web::get().to(push::get_push))
    .route(
        paths::API_PUSH_ANSWER,
        web::post().to(push::post_push_answer),
    );
}
