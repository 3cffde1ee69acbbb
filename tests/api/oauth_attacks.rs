//! The attacks RFC 9700 (OAuth 2.0 Security Best Current Practice) names
//! that concern tessera as an authorization server, each tried over HTTP
//! against the real server and each refused. Access tokens are checked the
//! way a resource server checks them: offline, against the JWKS.
//! (Revoking a consent on /account is tested with the account page.)

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

// --- Redirect URI validation (RFC 9700 §4.1, §4.11.2) ---------------------

#[tokio::test]
async fn a_manipulated_redirect_uri_gets_an_error_page_and_never_a_redirect() {
    let app = spawn().await;
    let manipulated = [
        "https://evil.example.com/callback",
        "https://web.example.com/callback/evil",
        "https://web.example.com/callback/",
        "https://web.example.com/callback?next=https://evil.example.com/",
        "https://web.example.com:8443/callback",
        "https://web.example.com/callback#fragment",
        "http://web.example.com/callback",
        "https://web.example.com.evil.example/callback",
        "https://evil.example.com@web.example.com/callback",
        "https://WEB.example.com/callback",
        "//evil.example.com/callback",
        "",
    ];
    // Signed out: refused before the browser is sent to sign in.
    for uri in manipulated {
        let request = AuthRequest::new("web", WEB_REDIRECT, "openid").set("redirect_uri", uri);
        let response = send_authorize(&app, &app.api, &request).await;
        assert_error_page(response, &format!("signed out, `{uri}`")).await;
    }
    // Signed in: no code goes anywhere either.
    app.login_html("", ALICE).await;
    for uri in manipulated {
        let request = AuthRequest::new("web", WEB_REDIRECT, "openid").set("redirect_uri", uri);
        let response = send_authorize(&app, &app.browser, &request).await;
        assert_error_page(response, &format!("signed in, `{uri}`")).await;
    }
}

#[tokio::test]
async fn a_loopback_redirect_uri_may_use_any_port_and_nothing_else_may_change() {
    let app = spawn_signed_in().await;
    for uri in [
        "http://127.0.0.1/callback",
        "http://127.0.0.1:1024/callback",
        NATIVE_REDIRECT,
        "http://127.0.0.1:65535/callback",
    ] {
        let request = AuthRequest::new("native", uri, "openid");
        let code = authorize(&app, &request).await;
        let (status, body) = redeem(&app, NATIVE, &code, &request).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    }
    for uri in [
        "http://localhost:53682/callback",
        "http://127.0.0.2:53682/callback",
        "http://[::1]:53682/callback",
        "https://127.0.0.1:53682/callback",
        "http://127.0.0.1:53682/callback/evil",
        "http://127.0.0.1:53682/callback?x=1",
        "http://127.0.0.1:53682/callback#x",
        "http://evil@127.0.0.1:53682/callback",
        "http://127.0.0.1.evil.example:53682/callback",
    ] {
        let request =
            AuthRequest::new("native", NATIVE_REDIRECT, "openid").set("redirect_uri", uri);
        let response = send_authorize(&app, &app.browser, &request).await;
        assert_error_page(response, uri).await;
    }
}

#[tokio::test]
async fn an_unknown_or_missing_client_gets_an_error_page_and_never_a_redirect() {
    let app = spawn_signed_in().await;
    let unknown = AuthRequest::new("evil", "https://evil.example.com/callback", "openid");
    assert_error_page(
        send_authorize(&app, &app.browser, &unknown).await,
        "unknown client",
    )
    .await;
    // A client without redirect URIs (client_credentials only).
    let service = AuthRequest::new("service", "https://evil.example.com/callback", "notes:read");
    assert_error_page(
        send_authorize(&app, &app.browser, &service).await,
        "service client",
    )
    .await;
    let nameless = AuthRequest::new("web", WEB_REDIRECT, "openid").without("client_id");
    assert_error_page(
        send_authorize(&app, &app.browser, &nameless).await,
        "no client_id",
    )
    .await;
}

#[tokio::test]
async fn errors_after_the_client_and_redirect_uri_are_trusted_go_back_with_state_and_iss() {
    let app = spawn_signed_in().await;
    let base = || AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let cases = [
        // RFC 9700 §2.1.2: no implicit grant, no hybrid.
        (
            base().set("response_type", "token"),
            "unsupported_response_type",
        ),
        (
            base().set("response_type", "code token"),
            "unsupported_response_type",
        ),
        (
            base().set("response_type", "id_token"),
            "unsupported_response_type",
        ),
        (base().without("response_type"), "invalid_request"),
        // A scope the client is not registered for, or that does not exist.
        (base().set("scope", "openid notes:write"), "invalid_scope"),
        (base().set("scope", "openid admin"), "invalid_scope"),
        (base().without("scope"), "invalid_scope"),
    ];
    for (request, error) in cases {
        let response = send_authorize(&app, &app.browser, &request).await;
        let params = callback(&response, WEB_REDIRECT);
        assert_eq!(
            params.get("error").map(String::as_str),
            Some(error),
            "{params:?}"
        );
        assert!(
            params
                .get("error_description")
                .is_some_and(|d| !d.is_empty()),
            "{params:?}"
        );
        assert_eq!(params.get("state"), Some(&request.state), "{params:?}");
        assert_eq!(params.get("iss"), Some(&app.address), "{params:?}");
        assert_eq!(params.get("code"), None, "{params:?}");
    }
}

/// OpenID Connect Core §6: every other parameter may sit inside the request
/// object, so its refusal comes before any of them is judged (here: no
/// response_type, scope or code_challenge outside it).
#[tokio::test]
async fn a_request_object_or_uri_is_refused_before_any_other_parameter_is_judged() {
    let app = spawn().await;
    let bare = || {
        AuthRequest::new("web", WEB_REDIRECT, "openid")
            .without("response_type")
            .without("scope")
            .without("code_challenge")
            .without("code_challenge_method")
    };
    for (name, value, error) in [
        (
            "request",
            "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ3ZWIifQ.",
            "request_not_supported",
        ),
        (
            "request_uri",
            "https://web.example.com/request.jwt",
            "request_uri_not_supported",
        ),
    ] {
        let request = bare().set(name, value);
        let response = send_authorize(&app, &app.browser, &request).await;
        let params = callback(&response, WEB_REDIRECT);
        assert_eq!(
            params.get("error").map(String::as_str),
            Some(error),
            "{params:?}"
        );
        assert_eq!(params.get("state"), Some(&request.state), "{params:?}");
        assert_eq!(params.get("iss"), Some(&app.address), "{params:?}");
        // RFC 6749 §4.1.2.1: an unverified redirect URI still gets the page.
        let unverified = bare()
            .set("redirect_uri", "https://evil.example.com/callback")
            .set(name, value);
        assert_error_page(
            send_authorize(&app, &app.browser, &unverified).await,
            &format!("{name} with an unregistered redirect_uri"),
        )
        .await;
    }
}

#[tokio::test]
async fn every_authorization_response_names_the_issuer_and_metadata_says_so() {
    // RFC 9700 §4.4 (mix-up): RFC 9207 `iss`, matching the metadata.
    let app = spawn_signed_in().await;
    let metadata: Value = app
        .api
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(metadata["issuer"], app.address.as_str());
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(metadata["response_types_supported"], json!(["code"]));
    let grants = metadata["grant_types_supported"]
        .as_array()
        .expect("grants");
    assert!(!grants.contains(&json!("password")));
    assert!(!grants.contains(&json!("implicit")));

    let request = AuthRequest::new("native", NATIVE_REDIRECT, "openid");
    let params = authorize_in(&app, &app.browser, &request).await;
    assert_eq!(params["iss"], metadata["issuer"].as_str().expect("issuer"));
}

// --- PKCE (RFC 9700 §2.1.1, §4.5, §4.8) -----------------------------------

#[tokio::test]
async fn a_request_without_a_code_challenge_is_sent_back_with_invalid_request() {
    let app = spawn_signed_in().await;
    for (client, redirect) in [("native", NATIVE_REDIRECT), ("web", WEB_REDIRECT)] {
        let request = AuthRequest::new(client, redirect, "openid")
            .without("code_challenge")
            .without("code_challenge_method");
        let response = send_authorize(&app, &app.browser, &request).await;
        let params = callback(&response, redirect);
        assert_eq!(
            params.get("error").map(String::as_str),
            Some("invalid_request"),
            "{client}"
        );
        assert_eq!(params.get("code"), None);
        assert_eq!(params.get("state"), Some(&request.state));
        assert_eq!(params.get("iss"), Some(&app.address));
    }
}

#[tokio::test]
async fn the_plain_pkce_method_is_refused() {
    let app = spawn_signed_in().await;
    let base = || AuthRequest::new("native", NATIVE_REDIRECT, "openid");
    for request in [
        {
            let r = base();
            let verifier = r.verifier.clone();
            r.set("code_challenge", &verifier)
                .set("code_challenge_method", "plain")
        },
        // No method means plain (RFC 7636 §4.3).
        base().without("code_challenge_method"),
        base().set("code_challenge_method", "s256"),
        base().set("code_challenge_method", "S512"),
        base().set("code_challenge", "too-short"),
    ] {
        let response = send_authorize(&app, &app.browser, &request).await;
        let params = callback(&response, NATIVE_REDIRECT);
        assert_eq!(
            params.get("error").map(String::as_str),
            Some("invalid_request"),
            "{:?}",
            request.params
        );
        assert_eq!(params.get("code"), None);
    }
}

#[tokio::test]
async fn a_token_request_without_the_code_verifier_is_refused_with_invalid_grant() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("native", NATIVE_REDIRECT, "openid");
    let code = authorize(&app, &request).await;
    let answer = token(
        &app,
        NATIVE,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", NATIVE_REDIRECT),
        ],
    )
    .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_wrong_code_verifier_is_refused_with_invalid_grant() {
    let app = spawn_signed_in().await;
    for (client, cred, redirect) in [
        ("native", NATIVE, NATIVE_REDIRECT),
        ("web", WEB, WEB_REDIRECT),
    ] {
        let request = AuthRequest::new(client, redirect, "openid");
        let code = authorize(&app, &request).await;
        // An attacker who injects a stolen code has their own verifier.
        let mut injected = request.clone();
        injected.verifier = fresh();
        let answer = redeem(&app, cred, &code, &injected).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_grant");
    }
}

#[tokio::test]
async fn a_code_verifier_for_a_code_issued_without_a_challenge_is_refused() {
    // RFC 9700 §4.8.2 (PKCE downgrade): the code was issued without a
    // challenge, so a verifier at the token endpoint means an attacker
    // stripped the challenge from the request.
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("legacy", LEGACY_REDIRECT, "openid")
        .without("code_challenge")
        .without("code_challenge_method");
    let code = authorize(&app, &request).await;
    let answer = redeem(&app, LEGACY, &code, &request).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_grant");
    // The same code without a verifier is what the client may redeem.
    let (status, body) = token(
        &app,
        LEGACY,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", LEGACY_REDIRECT),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

// --- Authorization codes (RFC 9700 §4.2.4, §4.5; RFC 6749 §4.1.2) ---------

#[tokio::test]
async fn a_replayed_code_is_refused_and_revokes_the_tokens_it_issued() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read offline_access");
    let code = authorize(&app, &request).await;
    let (status, first) = redeem(&app, WEB, &code, &request).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let access = text(&first, "access_token");
    let refresh_1 = text(&first, "refresh_token");
    assert!(is_active(&app, SERVICE, &access).await);
    // The client has since rotated its refresh token once.
    let (status, rotated) = refresh(&app, WEB, &refresh_1).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let refresh_2 = text(&rotated, "refresh_token");

    let replay = redeem(&app, WEB, &code, &request).await;
    assert_error(&replay, StatusCode::BAD_REQUEST, "invalid_grant");

    assert!(
        !is_active(&app, SERVICE, &access).await,
        "the access token the code issued is revoked"
    );
    assert!(!is_active(&app, WEB, &refresh_2).await);
    assert_error(
        &refresh(&app, WEB, &refresh_2).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert_error(
        &refresh(&app, WEB, &refresh_1).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
}

#[tokio::test]
async fn a_replayed_code_also_revokes_the_access_tokens_refreshed_from_it() {
    // RFC 6749 §4.1.2: revoke "all tokens previously issued based on that
    // authorization code". An attacker who redeemed a stolen code first and
    // refreshed keeps a valid access token after the replay is detected.
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let code = authorize(&app, &request).await;
    let (status, first) = redeem(&app, WEB, &code, &request).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, rotated) = refresh(&app, WEB, &text(&first, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let refreshed_access = text(&rotated, "access_token");
    assert!(is_active(&app, SERVICE, &refreshed_access).await);

    let replay = redeem(&app, WEB, &code, &request).await;
    assert_error(&replay, StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(
        !is_active(&app, SERVICE, &refreshed_access).await,
        "the access token refreshed from the replayed code's grant is revoked"
    );
}

#[tokio::test]
async fn a_code_redeemed_twice_at_once_issues_tokens_once_and_then_revokes_them() {
    // Two redemptions in flight at once both pass the first read; the one
    // that loses the write transaction is a replay too.
    let app = spawn_signed_in().await;
    for attempt in 0..20 {
        let request = AuthRequest::new("native", NATIVE_REDIRECT, "openid notes:read");
        let code = authorize(&app, &request).await;
        let (a, b) = tokio::join!(
            redeem(&app, NATIVE, &code, &request),
            redeem(&app, NATIVE, &code, &request)
        );
        let winners: Vec<&Value> = [&a, &b]
            .into_iter()
            .filter(|(status, _)| *status == StatusCode::OK)
            .map(|(_, body)| body)
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "attempt {attempt}: one redemption wins: {a:?} {b:?}"
        );
        let loser = if a.0 == StatusCode::OK { &b } else { &a };
        assert_error(loser, StatusCode::BAD_REQUEST, "invalid_grant");
        let access = text(winners[0], "access_token");
        assert!(
            !is_active(&app, SERVICE, &access).await,
            "attempt {attempt}: the replay revoked the access token"
        );
        assert_error(
            &refresh(&app, NATIVE, &text(winners[0], "refresh_token")).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        );
    }
}

#[tokio::test]
async fn a_code_presented_by_another_client_is_refused_and_still_works_for_its_own() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("native", NATIVE_REDIRECT, "openid notes:read");
    let code = authorize(&app, &request).await;
    // `web` authenticates properly and knows the verifier and redirect URI.
    let stolen = redeem(&app, WEB, &code, &request).await;
    assert_error(&stolen, StatusCode::BAD_REQUEST, "invalid_grant");
    let legacy = token(
        &app,
        LEGACY,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", NATIVE_REDIRECT),
        ],
    )
    .await;
    assert_error(&legacy, StatusCode::BAD_REQUEST, "invalid_grant");
    // tessera refuses without burning the code: its own client redeems it.
    let (status, body) = redeem(&app, NATIVE, &code, &request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = verify_offline(
        &app,
        &text(&body, "access_token"),
        "native",
        Algorithm::RS256,
    )
    .await
    .expect("a valid access token");
    assert_eq!(claims["client_id"], "native");
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let app = spawn_signed_in().await;
    let fresh_request = AuthRequest::new("native", NATIVE_REDIRECT, "openid");
    let fresh_code = authorize(&app, &fresh_request).await;
    app.clock.advance(Duration::seconds(30));
    let (status, body) = redeem(&app, NATIVE, &fresh_code, &fresh_request).await;
    assert_eq!(status, StatusCode::OK, "30 s old: {body}");

    let request = AuthRequest::new("native", NATIVE_REDIRECT, "openid");
    let code = authorize(&app, &request).await;
    app.clock.advance(Duration::seconds(61));
    let answer = redeem(&app, NATIVE, &code, &request).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_redirect_uri_that_differs_at_the_token_endpoint_is_refused() {
    let app = spawn_signed_in().await;
    for (client, cred, redirect, other) in [
        (
            "native",
            NATIVE,
            NATIVE_REDIRECT,
            "http://127.0.0.1:53683/callback",
        ),
        (
            "native",
            NATIVE,
            NATIVE_REDIRECT,
            "http://127.0.0.1/callback",
        ),
        (
            "web",
            WEB,
            WEB_REDIRECT,
            "https://evil.example.com/callback",
        ),
        (
            "web",
            WEB,
            WEB_REDIRECT,
            "https://web.example.com/callback/",
        ),
    ] {
        let request = AuthRequest::new(client, redirect, "openid");
        let code = authorize(&app, &request).await;
        let mut elsewhere = request.clone();
        elsewhere.redirect_uri = other.to_owned();
        let answer = redeem(&app, cred, &code, &elsewhere).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_grant");
        // The redirect URI of the request, and only it, redeems the code.
        let (status, body) = redeem(&app, cred, &code, &request).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

// --- Refresh tokens (RFC 9700 §4.14) --------------------------------------

#[tokio::test]
async fn a_rotated_refresh_token_reused_after_the_grace_period_revokes_the_whole_family() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read offline_access");
    let (_, refresh_1) = tokens_for(&app, WEB, &request).await;
    let (status, second) = refresh(&app, WEB, &refresh_1).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let refresh_2 = text(&second, "refresh_token");
    assert_ne!(refresh_2, refresh_1, "rotated at every use");
    let (status, third) = refresh(&app, WEB, &refresh_2).await;
    assert_eq!(status, StatusCode::OK, "{third}");
    let newest = text(&third, "refresh_token");
    assert!(is_active(&app, WEB, &newest).await);

    app.clock.advance(Duration::seconds(6));
    // A thief replays the first token.
    assert_error(
        &refresh(&app, WEB, &refresh_1).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    // The whole family is gone, the legitimate client's newest token too.
    assert!(!is_active(&app, WEB, &newest).await);
    assert_error(
        &refresh(&app, WEB, &newest).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert_error(
        &refresh(&app, WEB, &refresh_2).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
}

#[tokio::test]
async fn a_rotated_refresh_token_still_works_within_the_grace_period() {
    // A client that lost the response to its refresh may retry.
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let (_, refresh_1) = tokens_for(&app, WEB, &request).await;
    let (status, lost) = refresh(&app, WEB, &refresh_1).await;
    assert_eq!(status, StatusCode::OK, "{lost}");
    app.clock.advance(Duration::seconds(4));
    let (status, retried) = refresh(&app, WEB, &refresh_1).await;
    assert_eq!(status, StatusCode::OK, "within the grace period: {retried}");
    let (status, next) = refresh(&app, WEB, &text(&retried, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{next}");
}

#[tokio::test]
async fn a_rotated_refresh_token_works_only_once_within_the_grace_period() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let (_, refresh_1) = tokens_for(&app, WEB, &request).await;
    let (status, first) = refresh(&app, WEB, &refresh_1).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, retried) = refresh(&app, WEB, &refresh_1).await;
    assert_eq!(status, StatusCode::OK, "the one retry: {retried}");
    // A thief racing the client within the grace period gets nothing.
    let stolen = refresh(&app, WEB, &refresh_1).await;
    assert_error(&stolen, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn asking_for_more_scope_at_refresh_is_refused_with_invalid_scope() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let (_, refresh_token) = tokens_for(&app, WEB, &request).await;
    for scope in [
        "openid notes:read email",
        "profile",
        "notes:write",
        "openid notes:read offline_access",
    ] {
        let answer = token(
            &app,
            WEB,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_token),
                ("scope", scope),
            ],
        )
        .await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_scope");
    }
    // Narrowing is allowed, and the token says so.
    let (status, body) = token(
        &app,
        WEB,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh_token),
            ("scope", "notes:read"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "notes:read");
    let claims = verify_offline(&app, &text(&body, "access_token"), "web", Algorithm::RS256)
        .await
        .expect("valid");
    assert_eq!(claims["scope"], "notes:read");
}

#[tokio::test]
async fn a_refresh_token_presented_by_another_client_is_refused() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("native", NATIVE_REDIRECT, "openid notes:read");
    let (_, refresh_token) = tokens_for(&app, NATIVE, &request).await;
    let answer = refresh(&app, WEB, &refresh_token).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_grant");
    let (status, body) = refresh(&app, NATIVE, &refresh_token).await;
    assert_eq!(status, StatusCode::OK, "still its own client's: {body}");
}

#[tokio::test]
async fn a_client_cannot_revoke_another_clients_tokens() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("native", NATIVE_REDIRECT, "openid notes:read");
    let (access, refresh_token) = tokens_for(&app, NATIVE, &request).await;
    for victim in [&access, &refresh_token] {
        let response = post_as(&app, "/oauth2/revoke", WEB, &[("token", victim)]).await;
        assert!(!response.status().is_server_error());
    }
    assert!(is_active(&app, SERVICE, &access).await);
    let (status, body) = refresh(&app, NATIVE, &refresh_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

// --- Client authentication (RFC 6749 §2.3, §5.2) --------------------------

#[tokio::test]
async fn a_wrong_client_secret_gets_401_invalid_client_with_www_authenticate() {
    let app = spawn().await;
    let form = [("grant_type", "client_credentials")];
    let attempts = [
        (
            "basic, wrong secret",
            Cred::Basic("web", "web-secret-that-is-long-enough-012345678X"),
        ),
        ("basic, unknown client", Cred::Basic("nobody", WEB_SECRET)),
        (
            "basic, another client's secret",
            Cred::Basic("web", SERVICE_SECRET),
        ),
        ("no secret for a confidential client", Cred::Public("web")),
        (
            "a secret for a public client",
            Cred::Basic("native", "made-up"),
        ),
    ];
    for (what, cred) in attempts {
        let response = post_as(&app, "/oauth2/token", cred, &form).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert!(
            response.headers().get("www-authenticate").is_some(),
            "{what}: WWW-Authenticate"
        );
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"], "invalid_client", "{what}: {body}");
        assert!(body.get("access_token").is_none());
    }
    // client_secret_post with a wrong secret.
    let response = app
        .api
        .post(app.url("/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "web"),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get("www-authenticate").is_some());
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "invalid_client");
    // The right secret works.
    let (status, body) = token(&app, WEB, &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn credentials_sent_both_in_basic_and_in_the_body_are_refused() {
    let app = spawn().await;
    let response = app
        .api
        .post(app.url("/oauth2/token"))
        .basic_auth("web", Some(WEB_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "web"),
            ("client_secret", WEB_SECRET),
        ])
        .send()
        .await
        .expect("request");
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_error(&(status, body), StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn a_public_client_cannot_use_client_credentials() {
    let app = spawn().await;
    let answer = token(&app, NATIVE, &[("grant_type", "client_credentials")]).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "unauthorized_client");
}

#[tokio::test]
async fn a_public_client_cannot_introspect() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("native", NATIVE_REDIRECT, "openid notes:read");
    let (access, _) = tokens_for(&app, NATIVE, &request).await;
    let response = post_as(&app, "/oauth2/introspect", NATIVE, &[("token", &access)]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "invalid_client", "{body}");
    assert!(body.get("active").is_none(), "{body}");
}

#[tokio::test]
async fn a_client_acting_for_itself_cannot_pass_for_a_user() {
    // RFC 9700 §4.15: client_credentials tokens carry no user scopes, and
    // their subject is the client.
    let app = spawn().await;
    for (cred, scope) in [
        (SERVICE, "openid"),
        (WEB, "openid"),
        (WEB, "profile notes:read"),
        (SERVICE, "email"),
    ] {
        let answer = token(
            &app,
            cred,
            &[("grant_type", "client_credentials"), ("scope", scope)],
        )
        .await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_scope");
    }
    let (status, body) = token(&app, SERVICE, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("refresh_token").is_none());
    let claims = verify_offline(
        &app,
        &text(&body, "access_token"),
        "service",
        Algorithm::RS256,
    )
    .await
    .expect("valid");
    assert_eq!(claims["sub"], "service");
    assert_eq!(claims["client_id"], "service");
    assert_eq!(claims["scope"], "notes:read notes:write");
}

#[tokio::test]
async fn the_resource_owner_password_grant_is_not_available() {
    // RFC 9700 §2.4.
    let app = spawn().await;
    let answer = token(
        &app,
        WEB,
        &[
            ("grant_type", "password"),
            ("username", ALICE.0),
            ("password", ALICE.1),
        ],
    )
    .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "unsupported_grant_type");
}

// --- Consent and the browser (RFC 9700 §4.7, §4.11, §4.12, §4.16) ---------

#[tokio::test]
async fn a_consent_posted_with_a_wrong_csrf_token_is_refused_and_issues_no_code() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let page = send_authorize(&app, &app.browser, &request)
        .await
        .text()
        .await
        .expect("html");
    assert!(is_consent_page(&page));
    let real = csrf_token(&page);

    // Bob's own consent page gives him a token for his session only.
    let bob = new_browser("bob's browser");
    assert_eq!(
        app.login_html_in(&bob, "", BOB).await.status(),
        StatusCode::SEE_OTHER
    );
    let bob_page = send_authorize(&app, &bob, &request)
        .await
        .text()
        .await
        .expect("html");
    let bobs = csrf_token(&bob_page);
    assert_ne!(bobs, real);

    let mut flipped = real.clone();
    let last = if flipped.pop() == Some('A') { 'B' } else { 'A' };
    flipped.push(last);
    for forged in [Some(flipped.as_str()), Some(""), Some(bobs.as_str()), None] {
        let mut form: Vec<(String, String)> = hidden_fields(&page)
            .into_iter()
            .filter(|(name, _)| name != "csrf_token")
            .collect();
        if let Some(forged) = forged {
            form.push(("csrf_token".into(), forged.into()));
        }
        form.push(("decision".into(), "allow".into()));
        let response = post_consent(&app, &app.browser, &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{forged:?}");
        assert!(response.headers().get("location").is_none(), "{forged:?}");
    }
    // Without any session (a cross-site post without cookies): sign in first.
    let mut form = hidden_fields(&page);
    form.push(("decision".into(), "allow".into()));
    let response = post_consent(&app, &app.api, &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&response).starts_with("/login?"),
        "{}",
        location(&response)
    );

    // Nothing was granted: the next request still asks.
    let again = send_authorize(&app, &app.browser, &request).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert!(is_consent_page(&again.text().await.expect("html")));
}

#[tokio::test]
async fn denying_consent_sends_access_denied_back_and_remembers_nothing() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let page = send_authorize(&app, &app.browser, &request)
        .await
        .text()
        .await
        .expect("html");
    let response = decide(&app, &app.browser, &page, "deny").await;
    let params = callback(&response, WEB_REDIRECT);
    assert_eq!(
        params.get("error").map(String::as_str),
        Some("access_denied")
    );
    assert_eq!(params.get("code"), None);
    assert_eq!(params.get("state"), Some(&request.state));
    assert_eq!(params.get("iss"), Some(&app.address));
    let again = send_authorize(&app, &app.browser, &request).await;
    assert_eq!(again.status(), StatusCode::OK, "asked again");
}

#[tokio::test]
async fn the_consent_page_cannot_be_framed_cached_or_leak_a_referrer() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let response = send_authorize(&app, &app.browser, &request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("x-frame-options"), "DENY");
    assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert_eq!(header("cache-control"), "no-store");
}

#[tokio::test]
async fn redirects_after_a_posted_form_are_303_so_nothing_is_posted_again() {
    // RFC 9700 §4.12: a 307 would make the browser re-post the password or
    // the consent form to wherever the redirect leads.
    let app = spawn().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid");
    let to_login = send_authorize(&app, &app.browser, &request).await;
    let login = location(&to_login);
    let signed_in = app.login_html(&login["/login".len()..], ALICE).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let page = app
        .get_page(&location(&signed_in)[app.address.len()..])
        .await
        .text()
        .await
        .expect("html");
    let consented = decide(&app, &app.browser, &page, "allow").await;
    assert_eq!(consented.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn without_a_session_authorize_signs_in_and_comes_back_to_itself_only() {
    let app = spawn().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let response = send_authorize(&app, &app.browser, &request).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let login = location(&response);
    let login_url = Url::parse(&app.url(&login)).expect("url");
    assert_eq!(login_url.path(), "/login", "{login}");
    let query: BTreeMap<String, String> = login_url.query_pairs().into_owned().collect();
    assert_eq!(query.get("journey").map(String::as_str), Some("login"));
    let goto = query.get("goto").expect("goto");
    assert!(goto.starts_with(&app.url("/oauth2/authorize?")), "{goto}");
    let carried: BTreeMap<String, String> = Url::parse(goto)
        .expect("goto url")
        .query_pairs()
        .into_owned()
        .collect();
    let sent: BTreeMap<String, String> = request.params.iter().cloned().collect();
    assert_eq!(
        carried, sent,
        "the request is carried through sign-in intact"
    );

    let signed_in = app.login_html(&login["/login".len()..], ALICE).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let back = Url::parse(&location(&signed_in)).expect("absolute");
    let origin = Url::parse(&app.address).expect("issuer");
    assert_eq!(back.origin(), origin.origin(), "same origin: {back}");
    assert_eq!(back.path(), "/oauth2/authorize");

    let page = app
        .get_page(&back[url::Position::BeforePath..])
        .await
        .text()
        .await
        .expect("html");
    assert!(is_consent_page(&page));
    let params = callback(
        &decide(&app, &app.browser, &page, "allow").await,
        WEB_REDIRECT,
    );
    assert_eq!(params.get("state"), Some(&request.state));
    assert!(params.contains_key("code"));
}

#[tokio::test]
async fn a_login_goto_that_leads_elsewhere_lands_on_the_account_page() {
    let app = spawn().await;
    let authorize = AuthRequest::new("web", WEB_REDIRECT, "openid");
    let evil_authorize = format!(
        "https://evil.example.com/oauth2/authorize?client_id=web&state={}",
        authorize.state
    );
    for goto in [
        evil_authorize.as_str(),
        "//evil.example.com/oauth2/authorize",
        "/\\evil.example.com/oauth2/authorize",
        "https:evil.example.com",
        "javascript:alert(1)",
    ] {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("journey", "login")
            .append_pair("goto", goto)
            .finish();
        let browser = new_browser("a phished browser");
        let response = app
            .login_html_in(&browser, &format!("?{query}"), ALICE)
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{goto}");
        assert_eq!(location(&response), app.url("/account"), "{goto}");
    }
}

#[tokio::test]
async fn a_first_party_client_never_shows_the_consent_page() {
    let app = spawn_signed_in().await;
    for scope in ["openid", "openid notes:read offline_access", "notes:read"] {
        let request = AuthRequest::new("native", NATIVE_REDIRECT, scope);
        let response = send_authorize(&app, &app.browser, &request).await;
        let params = callback(&response, NATIVE_REDIRECT);
        assert!(params.contains_key("code"), "{scope}: {params:?}");
    }
}

#[tokio::test]
async fn a_third_party_client_asks_only_for_new_scopes_the_second_time() {
    let app = spawn_signed_in().await;
    let first = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let page = send_authorize(&app, &app.browser, &first)
        .await
        .text()
        .await
        .expect("html");
    assert!(is_consent_page(&page));
    assert!(page.contains("Web Notes"));
    assert!(page.contains("Read your notes"));
    assert!(!page.contains("(allowed before)"));
    callback(
        &decide(&app, &app.browser, &page, "allow").await,
        WEB_REDIRECT,
    );

    // The same scopes again: straight back with a code.
    let same = AuthRequest::new("web", WEB_REDIRECT, "notes:read openid");
    let params = callback(
        &send_authorize(&app, &app.browser, &same).await,
        WEB_REDIRECT,
    );
    assert!(params.contains_key("code"), "{params:?}");

    // One more scope: asked for that one only; the others are marked.
    let more = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read email");
    let response = send_authorize(&app, &app.browser, &more).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.expect("html");
    let items: Vec<&str> = page
        .split("<li>")
        .skip(1)
        .map(|item| &item[..item.find("</li>").expect("end of item")])
        .collect();
    let item = |scope: &str| {
        *items
            .iter()
            .find(|item| item.contains(&format!(">{scope}</code>")))
            .unwrap_or_else(|| panic!("{scope} listed: {items:?}"))
    };
    assert!(!item("email").contains("(allowed before)"), "email is new");
    assert!(item("openid").contains("(allowed before)"));
    assert!(item("notes:read").contains("(allowed before)"));
    callback(
        &decide(&app, &app.browser, &page, "allow").await,
        WEB_REDIRECT,
    );
    let params = callback(
        &send_authorize(&app, &app.browser, &more).await,
        WEB_REDIRECT,
    );
    assert!(params.contains_key("code"));

    // Alice's consent is hers: Bob is asked.
    let bob = new_browser("bob's browser");
    assert_eq!(
        app.login_html_in(&bob, "", BOB).await.status(),
        StatusCode::SEE_OTHER
    );
    let bobs = send_authorize(&app, &bob, &same).await;
    assert_eq!(bobs.status(), StatusCode::OK);
    assert!(is_consent_page(&bobs.text().await.expect("html")));
}

// --- Access tokens as a resource server sees them (RFC 9068, RFC 9700 §4.9)

#[tokio::test]
async fn access_tokens_verify_offline_against_the_jwks_with_the_expected_claims() {
    let app = spawn_signed_in().await;
    let session: Value = app
        .browser
        .get(app.url("/api/session"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let alice_id = session["user"]["id"].as_str().expect("id").to_owned();

    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let code = authorize(&app, &request).await;
    let (status, body) = redeem(&app, WEB, &code, &request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    let access = text(&body, "access_token");

    let header = jsonwebtoken::decode_header(&access).expect("JWT header");
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, Algorithm::RS256);
    let claims = verify_offline(&app, &access, "web", Algorithm::RS256)
        .await
        .expect("a resource server accepts it");
    assert_eq!(claims["iss"], app.address.as_str());
    assert_eq!(claims["sub"], alice_id.as_str());
    assert_eq!(claims["aud"], json!(["web"]));
    assert_eq!(claims["client_id"], "web");
    assert_eq!(claims["scope"], "notes:read openid");
    let now = app.clock_now().unix_timestamp();
    let exp = claims["exp"].as_i64().expect("exp");
    assert!(exp > now && exp <= now + 600, "exp {exp}, now {now}");
    assert!(claims["iat"].as_i64().expect("iat") <= now);
    let jti = claims["jti"].as_str().expect("jti");
    assert!(jti.len() >= 16);

    // Another token has another jti.
    let (_, other) = refresh(&app, WEB, &text(&body, "refresh_token")).await;
    let other = verify_offline(&app, &text(&other, "access_token"), "web", Algorithm::RS256)
        .await
        .expect("valid");
    assert_ne!(other["jti"], jti);

    // A resource server of another audience refuses it.
    assert!(
        verify_offline(&app, &access, "native", Algorithm::RS256)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn forged_access_tokens_fail_offline_and_are_inactive_at_introspection() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let (access, _) = tokens_for(&app, WEB, &request).await;
    assert!(is_active(&app, SERVICE, &access).await);
    let parts: Vec<&str> = access.split('.').collect();
    assert_eq!(parts.len(), 3);
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
    claims["scope"] = json!("notes:read notes:write openid");
    let widened = URL_SAFE_NO_PAD.encode(claims.to_string());
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("json");
    let mut none_header = header.clone();
    none_header["alg"] = json!("none");
    let none_header = URL_SAFE_NO_PAD.encode(none_header.to_string());

    for (what, forged) in [
        (
            "payload changed",
            format!("{}.{widened}.{}", parts[0], parts[2]),
        ),
        ("alg none", format!("{none_header}.{widened}.")),
        ("signature stripped", format!("{}.{}.", parts[0], parts[1])),
    ] {
        assert!(
            verify_offline(&app, &forged, "web", Algorithm::RS256)
                .await
                .is_err(),
            "{what}"
        );
        assert!(!is_active(&app, SERVICE, &forged).await, "{what}");
    }
}

#[tokio::test]
async fn a_redirect_uri_sent_at_authorization_must_be_sent_again_at_the_token_endpoint() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid");
    let code = authorize(&app, &request).await;
    let answer = token(
        &app,
        WEB,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &request.verifier),
        ],
    )
    .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_request");
    // Named again, the same code still works (the refusal did not burn it).
    let (status, body) = redeem(&app, WEB, &code, &request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

// --- Findings of the OAuth/OIDC review -----------------------------------

const MFA_CLIENT: &str = r#"
[journeys.secure]
start = "password"
[journeys.secure.nodes.password]
type = "username_password"
next = { success = "code", failure = "failure" }
[journeys.secure.nodes.code]
type = "one_time_code"
next = { success = "success", failure = "failure" }

[[clients]]
client_id = "bank"
client_secret = "bank-secret-that-is-long-enough-0123456789"
redirect_uris = ["https://bank.example.com/callback"]
scopes = ["openid"]
first_party = true
journey = "secure"
"#;

#[tokio::test]
async fn a_session_from_a_weaker_journey_does_not_pass_a_client_that_requires_its_own() {
    let app = spawn_app_with(&format!("{MFA_CLIENT}\n{CLIENTS}")).await;
    // Signed in with the password alone (the built-in `login`).
    app.login_html("", ALICE).await;
    for extra in ["", "&acr_values=login"] {
        let request = AuthRequest::new("bank", "https://bank.example.com/callback", "openid");
        let mut url = Url::parse(&app.url("/oauth2/authorize")).expect("url");
        url.query_pairs_mut().extend_pairs(&request.params);
        let response = app
            .browser
            .get(format!("{url}{extra}"))
            .send()
            .await
            .expect("authorize");
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let login = location(&response);
        assert!(
            login.starts_with("/login?journey=secure&"),
            "sign in again with the client's journey ({extra}): {login}"
        );
    }
}

#[tokio::test]
async fn a_replay_within_the_grace_period_is_caught_when_the_rightful_successor_comes_back() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read offline_access");
    let (_, r0) = tokens_for(&app, WEB, &request).await;
    let (status, legit) = refresh(&app, WEB, &r0).await;
    assert_eq!(status, StatusCode::OK);
    let r1 = text(&legit, "refresh_token");
    // Within the grace period a thief replays r0 and gets a successor.
    let (status, stolen) = refresh(&app, WEB, &r0).await;
    assert_eq!(status, StatusCode::OK, "{stolen}");
    let r1_thief = text(&stolen, "refresh_token");
    // The rightful client's r1 comes back: reuse, the family ends.
    assert_error(
        &refresh(&app, WEB, &r1).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert_error(
        &refresh(&app, WEB, &r1_thief).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
}

#[tokio::test]
async fn an_access_token_is_not_accepted_as_an_id_token_hint() {
    let app = spawn_app_with(&CLIENTS.replace(
        "redirect_uris = [\"https://web.example.com/callback\"]",
        "redirect_uris = [\"https://web.example.com/callback\"]\npost_logout_redirect_uris = [\"https://web.example.com/bye\"]",
    ))
    .await;
    app.login_html("", ALICE).await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let (access, _) = tokens_for(&app, WEB, &request).await;
    let response = app
        .browser
        .get(app.url("/oauth2/logout"))
        .query(&[
            ("id_token_hint", access.as_str()),
            ("post_logout_redirect_uri", "https://web.example.com/bye"),
        ])
        .send()
        .await
        .expect("logout");
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "no silent sign-out"
    );
    assert!(response.headers().get("location").is_none());
    assert_eq!(
        app.get_page("/account").await.status(),
        StatusCode::OK,
        "still signed in"
    );
}

#[tokio::test]
async fn a_client_learns_nothing_about_another_clients_tokens_at_introspection() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new(
        "native",
        NATIVE_REDIRECT,
        "openid notes:read offline_access",
    );
    let (access, refresh_token) = tokens_for(&app, NATIVE, &request).await;
    for token in [&access, &refresh_token] {
        let response = post_as(&app, "/oauth2/introspect", WEB, &[("token", token)]).await;
        let body: Value = response.json().await.expect("json");
        assert_eq!(body, json!({"active": false}));
    }
    assert!(
        is_active(&app, SERVICE, &access).await,
        "the resource server still sees it"
    );
}

#[tokio::test]
async fn a_token_request_that_is_not_a_form_gets_an_oauth_json_error() {
    let app = spawn().await;
    let response = app
        .api
        .post(app.url("/oauth2/token"))
        .basic_auth("web", Some(WEB_SECRET))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("RFC 6749 JSON");
    assert_eq!(body["error"], "invalid_request");
}
