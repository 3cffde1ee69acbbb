//! The OAuth 2.0 surface: authorization (with consent), pushed
//! authorization requests, device authorization and its verification
//! page, token, revocation,
//! introspection, metadata and JWKS. Errors are the RFCs' JSON
//! (`http::error`), or for the authorization endpoint a redirect to the
//! client (or an error page when the client or redirect URI cannot be
//! trusted).

mod authorize;
mod bearer;
mod client_auth;
mod device;
mod dpop;
mod metadata;
mod oidc;
mod par;
mod registration;
mod token;

use super::paths;
use actix_web::web;
pub(crate) use bearer::{dpop_token, header_token};

/// Registers the OAuth routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        paths::OAUTH_AUTHORIZE,
        web::get().to(authorize::get_authorize),
    )
    .route(
        paths::OAUTH_AUTHORIZE,
        web::post().to(authorize::post_authorize),
    )
    .route(
        paths::OAUTH_CONSENT,
        web::post().to(authorize::post_consent),
    )
    .route(paths::OAUTH_TOKEN, web::post().to(token::post_token))
    .route(paths::OAUTH_PAR, web::post().to(par::post_par))
    .route(
        paths::OAUTH_DEVICE_AUTHORIZATION,
        web::post().to(device::post_device_authorization),
    )
    .route(paths::DEVICE, web::get().to(device::get_device))
    .route(paths::DEVICE, web::post().to(device::post_device))
    .route(paths::OAUTH_REVOKE, web::post().to(token::post_revoke))
    .route(
        paths::OAUTH_INTROSPECT,
        web::post().to(token::post_introspect),
    )
    .route(paths::OAUTH_JWKS, web::get().to(metadata::get_jwks))
    .route(paths::OAUTH_METADATA, web::get().to(metadata::get_metadata))
    .route(
        paths::OIDC_DISCOVERY,
        web::get().to(metadata::get_openid_configuration),
    )
    .route(paths::OAUTH_USERINFO, web::get().to(oidc::userinfo))
    .route(paths::OAUTH_USERINFO, web::post().to(oidc::userinfo))
    .route(paths::OAUTH_LOGOUT, web::get().to(oidc::get_logout))
    .route(paths::OAUTH_LOGOUT, web::post().to(oidc::post_logout))
    .route(
        paths::OAUTH_LOGOUT_CONFIRM,
        web::post().to(oidc::post_logout_confirm),
    )
    .route(
        paths::OAUTH_REGISTER,
        web::post().to(registration::post_register),
    )
    .service(
        web::resource(paths::OAUTH_REGISTRATION)
            .route(web::get().to(registration::get_registration))
            .route(web::put().to(registration::put_registration))
            .route(web::delete().to(registration::delete_registration)),
    );
}

/// The credentials of an `Authorization` header of `scheme`; the scheme
/// is matched without regard to case (RFC 9110 §11.1).
fn credentials<'a>(authorization: &'a str, scheme: &str) -> Option<&'a str> {
    let (given, credentials) = authorization.split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then_some(credentials)
}

#[cfg(test)]
mod tests {
    use super::credentials;

    #[test]
    fn authorization_schemes_match_in_any_case() {
        assert_eq!(credentials("Bearer abc", "Bearer"), Some("abc"));
        assert_eq!(credentials("bearer abc", "Bearer"), Some("abc"));
        assert_eq!(credentials("BASIC abc", "Basic"), Some("abc"));
        assert_eq!(credentials("Basic abc", "Bearer"), None);
        assert_eq!(credentials("Bearerabc", "Bearer"), None);
        assert_eq!(credentials("DPoP abc", "Bearer"), None);
    }
}
