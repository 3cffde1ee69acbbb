//! Everything actix: handlers parse the request, make one domain call and
//! render the result. Routes are registered per surface (pages, api).

pub mod admin;
pub mod api;
pub mod cookies;
pub mod error;
pub mod extract;
mod fixture;
pub mod middleware;
pub mod oauth;
pub mod pages;
pub mod paths;

use crate::context::Context;
use crate::telemetry::CpuGate;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use error::{AdminError, ApiError, PageError};

/// Registers every route, the shared state, the body limits and the
/// extractor error shapes.
pub fn configure(
    ctx: web::Data<Context>,
    journeys: web::Data<crate::journeys::Engine>,
    provider: web::Data<crate::oauth::Provider>,
    gate: web::Data<CpuGate>,
) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let limit = ctx.settings.server.max_body_bytes;
        if ctx.settings.fixture.enabled {
            cfg.configure(fixture::configure);
        }
        cfg.app_data(ctx)
            .app_data(journeys)
            .app_data(provider)
            .app_data(gate)
            .app_data(web::PayloadConfig::new(limit))
            .app_data(
                web::JsonConfig::default()
                    .limit(limit)
                    .error_handler(|err, req| {
                        let err = ApiError::from_json(&err);
                        if is_admin_api(req) {
                            AdminError::from(err).into()
                        } else {
                            err.into()
                        }
                    }),
            )
            .app_data(
                web::FormConfig::default()
                    .limit(limit)
                    .error_handler(|err, req| {
                        if is_oauth_api(req) {
                            crate::oauth::OAuthError::invalid_request(format!(
                                "the request body must be a form (application/x-www-form-urlencoded): {err}"
                            ))
                            .into()
                        } else {
                            PageError::from_form(&err).into()
                        }
                    }),
            )
            .app_data(web::QueryConfig::default().error_handler(|err, req| {
                if is_admin_api(req) {
                    AdminError::from(ApiError::from_query(&err)).into()
                } else if is_api(req) {
                    ApiError::from_query(&err).into()
                } else {
                    PageError::from_query(&err).into()
                }
            }))
            .configure(pages::configure)
            .configure(api::configure)
            .configure(oauth::configure)
            .configure(admin::configure)
            .default_service(web::to(not_found));
    }
}

/// The OAuth endpoints that answer machines, in RFC JSON.
pub(crate) fn is_oauth_api(req: &HttpRequest) -> bool {
    [
        paths::OAUTH_TOKEN,
        paths::OAUTH_REVOKE,
        paths::OAUTH_INTROSPECT,
    ]
    .contains(&req.path())
}

pub(crate) fn is_api(req: &HttpRequest) -> bool {
    req.path().starts_with(paths::API_PREFIX)
}

/// The admin API, whose errors are `{"error", "error_description"}`.
pub(crate) fn is_admin_api(req: &HttpRequest) -> bool {
    let path = req.path();
    path.strip_prefix(paths::ADMIN_API_PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// 404 in the surface's own format.
async fn not_found(req: HttpRequest) -> HttpResponse {
    let missing = format!("No endpoint {} {}.", req.method(), req.path());
    if is_admin_api(&req) {
        AdminError::not_found(missing).error_response()
    } else if is_api(&req) {
        ApiError::new(actix_web::http::StatusCode::NOT_FOUND, "not_found", missing).error_response()
    } else {
        PageError::not_found().error_response()
    }
}
