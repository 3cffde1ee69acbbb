//! RFC 8414 metadata and the JWKS, built from the route constants so that
//! they name exactly the endpoints that exist.

use crate::config::SigningAlg;
use crate::context::Context;
use crate::http::error::ApiError;
use crate::http::paths;
use crate::oauth::scopes;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::json;

/// `GET /.well-known/oauth-authorization-server`.
pub async fn get_metadata(ctx: web::Data<Context>) -> HttpResponse {
    let url = |path: &str| format!("{}{path}", ctx.issuer);
    let auth_methods = ["client_secret_basic", "client_secret_post", "none"];
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(json!({
            "issuer": ctx.issuer,
            "authorization_endpoint": url(paths::OAUTH_AUTHORIZE),
            "token_endpoint": url(paths::OAUTH_TOKEN),
            "jwks_uri": url(paths::OAUTH_JWKS),
            "revocation_endpoint": url(paths::OAUTH_REVOKE),
            "introspection_endpoint": url(paths::OAUTH_INTROSPECT),
            "scopes_supported": scopes::all(&ctx.settings),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": crate::oauth::clients::GRANT_TYPES,
            "token_endpoint_auth_methods_supported": auth_methods,
            "revocation_endpoint_auth_methods_supported": auth_methods,
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": true,
            "token_endpoint_auth_signing_alg_values_supported": SigningAlg::ALL.map(SigningAlg::as_str),
        }))
}

/// `GET /oauth2/jwks`: cacheable for a few minutes, so a rotation (which
/// takes effect at the next start) reaches resource servers soon.
pub async fn get_jwks(ctx: web::Data<Context>) -> Result<HttpResponse, ApiError> {
    let keys = ctx.keys().map_err(|err| ApiError::internal(&err))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(keys.jwks()))
}
