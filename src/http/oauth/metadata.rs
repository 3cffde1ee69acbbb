//! RFC 8414 metadata and the JWKS, built from the route constants so that
//! they name exactly the endpoints that exist.

use crate::context::Context;
use crate::http::paths;
use crate::oauth::params::GrantType;
use crate::oauth::{Provider, scopes};
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};

/// What both metadata documents say of the authorization server.
fn server_metadata(ctx: &Context) -> Map<String, Value> {
    let url = |path: &str| format!("{}{path}", ctx.issuer);
    let auth_methods = ["client_secret_basic", "client_secret_post", "none"];
    let grants = GrantType::ALL.map(GrantType::as_str);
    let document = json!({
        "issuer": ctx.issuer,
        "authorization_endpoint": url(paths::OAUTH_AUTHORIZE),
        "token_endpoint": url(paths::OAUTH_TOKEN),
        "device_authorization_endpoint": url(paths::OAUTH_DEVICE_AUTHORIZATION),
        "pushed_authorization_request_endpoint": url(paths::OAUTH_PAR),
        "require_pushed_authorization_requests": ctx.settings.oauth.require_pushed_authorization_requests,
        "jwks_uri": url(paths::OAUTH_JWKS),
        "revocation_endpoint": url(paths::OAUTH_REVOKE),
        "introspection_endpoint": url(paths::OAUTH_INTROSPECT),
        "registration_endpoint": url(paths::OAUTH_REGISTER),
        "scopes_supported": scopes::all(&ctx.settings),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grants,
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "dpop_signing_alg_values_supported": crate::oauth::dpop::ALGS,
    });
    match document {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn cacheable(document: Map<String, Value>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(Value::Object(document))
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
pub async fn get_metadata(ctx: web::Data<Context>) -> HttpResponse {
    cacheable(server_metadata(&ctx))
}

/// `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0).
/// The request-object parameters are said false explicitly: omitted, some
/// of them would count as supported. `request_uri` takes only the
/// references of pushed requests (RFC 9126), not request objects by
/// reference, which is what `request_uri_parameter_supported` is about.
pub async fn get_openid_configuration(
    ctx: web::Data<Context>,
    provider: web::Data<Provider>,
    journeys: web::Data<crate::journeys::Engine>,
) -> HttpResponse {
    let url = |path: &str| format!("{}{path}", ctx.issuer);
    let mut document = server_metadata(&ctx);
    let oidc = json!({
        "userinfo_endpoint": url(paths::OAUTH_USERINFO),
        "end_session_endpoint": url(paths::OAUTH_LOGOUT),
        // OpenID Connect Back-Channel Logout 1.0 §2.1: logout tokens carry `sid`.
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": provider.keys().algorithms(),
        "claims_supported": crate::oauth::id_token::CLAIMS_SUPPORTED,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "acr_values_supported": journeys.registry().names(),
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
    });
    if let Value::Object(oidc) = oidc {
        document.extend(oidc);
    }
    cacheable(document)
}

/// `GET /oauth2/jwks`: cacheable for a few minutes, so a rotation (which
/// takes effect at the next start) reaches resource servers soon.
pub async fn get_jwks(provider: web::Data<Provider>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(provider.keys().jwks())
}
