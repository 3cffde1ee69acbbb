//! The attacks RFC 9700 (OAuth 2.0 Security Best Current Practice) names
//! that concern tessera as an authorization server, each tried over HTTP
//! against the real server and each refused. Access tokens are checked the
//! way a resource server checks them: offline, against the JWKS.
//! (Revoking a consent on /account is tested with the account page.)
//!
//! One file per family of attack; this module holds what they share: the
//! clients they attack (`CLIENTS`), how each authenticates, and the
//! imports each family takes with `use super::*`.

mod access_tokens;
mod client_auth;
mod codes;
mod consent;
mod pkce;
mod redirects;
mod refresh;

use crate::helpers::html::{assert_error_page, hidden_fields};
use crate::helpers::oauth::{
    AuthRequest, Cred, assert_error, authorize, authorize_in, callback, decide, fresh, is_active,
    is_consent_page, post_as, post_consent, redeem, refresh, send_authorize, text, token,
    tokens_for,
};
use crate::helpers::oidc::verify_offline;
use crate::helpers::{ALICE, BOB, TestApp, csrf_token, location, new_browser, spawn_app_with};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use time::Duration;
use url::Url;

const WEB_SECRET: &str = "web-secret-that-is-long-enough-0123456789";
const LEGACY_SECRET: &str = "legacy-secret-that-is-long-enough-0123456";
const SERVICE_SECRET: &str = "service-secret-that-is-long-enough-012345";
const WEB_REDIRECT: &str = "https://web.example.com/callback";
const LEGACY_REDIRECT: &str = "https://legacy.example.com/callback";
/// The native app's loopback listener: registered without a port.
const NATIVE_REDIRECT: &str = "http://127.0.0.1:53682/callback";

/// `web`: a confidential third-party client. `native`: a public first-party
/// app on loopback. `legacy`: confidential, PKCE not required. `service`:
/// client_credentials only, and the resource server that introspects.
const CLIENTS: &str = r#"
[oauth]
code_ttl_secs = 60
refresh_reuse_grace_secs = 5

[oauth.scopes]
"notes:read" = "Read your notes"
"notes:write" = "Change your notes"

[[clients]]
client_id = "web"
name = "Web Notes"
client_secret = "web-secret-that-is-long-enough-0123456789"
redirect_uris = ["https://web.example.com/callback"]
scopes = ["openid", "profile", "email", "offline_access", "notes:read"]
grant_types = ["authorization_code", "refresh_token", "client_credentials"]

[[clients]]
client_id = "native"
redirect_uris = ["http://127.0.0.1/callback"]
scopes = ["openid", "notes:read", "offline_access"]
grant_types = ["authorization_code", "refresh_token"]
first_party = true

[[clients]]
client_id = "legacy"
client_secret = "legacy-secret-that-is-long-enough-0123456"
redirect_uris = ["https://legacy.example.com/callback"]
scopes = ["openid", "notes:read"]
grant_types = ["authorization_code"]
require_pkce = false

[[clients]]
client_id = "service"
client_secret = "service-secret-that-is-long-enough-012345"
scopes = ["notes:read", "notes:write"]
grant_types = ["client_credentials"]
resource_server = true
"#;

const WEB: Cred = Cred::Basic("web", WEB_SECRET);
const NATIVE: Cred = Cred::Public("native");
const LEGACY: Cred = Cred::Basic("legacy", LEGACY_SECRET);
const SERVICE: Cred = Cred::Basic("service", SERVICE_SECRET);

async fn spawn() -> TestApp {
    spawn_app_with(CLIENTS).await
}

/// A server with alice signed in on `app.browser`.
async fn spawn_signed_in() -> TestApp {
    let app = spawn().await;
    let response = app.login_html("", ALICE).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "alice signs in");
    app
}
