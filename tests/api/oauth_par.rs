//! Pushed authorization requests (RFC 9126) over HTTP: the client pushes
//! its request, authenticated, and the browser brings only `client_id` and
//! the `request_uri`; the reference works once, for its client, for a
//! minute; clients (or the whole server) may accept pushed requests only.

use crate::admin_api::{Auth, admin_send};
use crate::helpers::html::assert_error_page;
use crate::helpers::oauth::{
    AuthRequest, Cred, assert_error, callback, decide, is_consent_page, post_as, redeem,
    send_authorize, sign_in,
};
use crate::helpers::{ALICE, TestApp, location, spawn_app_with};
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{Value, json};
use time::Duration;

const WEB_SECRET: &str = "web-secret-that-is-long-enough-0123456789";
const WEB: Cred = Cred::Basic("web", WEB_SECRET);
const STRICT: Cred = Cred::Basic("strict", WEB_SECRET);
const CALLBACK: &str = "https://web.example.com/callback";
const PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
const ROOT: (&str, &str) = ("root", "root password that is long enough");

/// `web` (third party, consent asked) and `strict`, which accepts pushed
/// requests only, and an administrator; `top` goes before them (an
/// `[oauth]` section).
fn config(top: &str) -> String {
    format!(
        r#"
{top}
[[clients]]
client_id = "web"
client_secret = "{WEB_SECRET}"
redirect_uris = ["{CALLBACK}"]
scopes = ["openid", "profile", "email"]

[[clients]]
client_id = "strict"
client_secret = "{WEB_SECRET}"
redirect_uris = ["{CALLBACK}"]
scopes = ["openid"]
require_pushed_authorization_requests = true

[[users]]
username = "{}"
password = "{}"
admin = true
"#,
        ROOT.0, ROOT.1
    )
}

async fn spawn() -> TestApp {
    spawn_app_with(&config("")).await
}

/// Pushes `request` as `cred`; the status and the JSON answer.
async fn push(app: &TestApp, cred: Cred, request: &AuthRequest) -> (StatusCode, Value) {
    let form: Vec<(&str, &str)> = request
        .params
        .iter()
        .filter(|(name, _)| name != "client_id")
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let response = post_as(app, "/oauth2/par", cred, &form).await;
    let status = response.status();
    (status, response.json().await.expect("json"))
}

/// Pushes `request`, which must be accepted; returns its `request_uri`.
async fn pushed(app: &TestApp, cred: Cred, request: &AuthRequest) -> String {
    let (status, body) = push(app, cred, request).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["request_uri"]
        .as_str()
        .expect("request_uri")
        .to_owned()
}

/// `GET /oauth2/authorize?client_id=…&request_uri=…&{extra}` in `browser`.
async fn authorize_by_reference(
    app: &TestApp,
    browser: &Client,
    client_id: &str,
    request_uri: &str,
    extra: &[(&str, &str)],
) -> Response {
    let mut query = vec![("client_id", client_id), ("request_uri", request_uri)];
    query.extend_from_slice(extra);
    browser
        .get(app.url("/oauth2/authorize"))
        .query(&query)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn a_pushed_request_signs_in_by_reference_and_its_reference_works_once() {
    let app = spawn().await;
    let request = AuthRequest::new("web", CALLBACK, "openid profile");
    let response = post_as(
        &app,
        "/oauth2/par",
        WEB,
        &request
            .params
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["expires_in"], 300);
    let request_uri = body["request_uri"]
        .as_str()
        .expect("request_uri")
        .to_owned();
    assert!(request_uri.starts_with(PREFIX), "{request_uri}");
    assert!(
        request_uri.len() >= PREFIX.len() + 43,
        "256 bits: {request_uri}"
    );

    // No session: through sign-in, and back with only the reference. The
    // outer scope is ignored (RFC 9126 §4): only the pushed one counts.
    let first = authorize_by_reference(
        &app,
        &app.browser,
        "web",
        &request_uri,
        &[("scope", "email")],
    )
    .await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let login = location(&first);
    assert!(login.contains("request_uri%3Durn"), "{login}");
    let signed_in = app.login_html(&login["/login".len()..], ALICE).await;
    let back = app
        .browser
        .get(location(&signed_in))
        .send()
        .await
        .expect("request");
    assert_eq!(back.status(), StatusCode::OK);
    let page = back.text().await.expect("html");
    assert!(is_consent_page(&page), "{page}");
    assert!(
        page.contains("profile") && !page.contains(">email<"),
        "{page}"
    );
    let params = callback(&decide(&app, &app.browser, &page, "allow").await, CALLBACK);
    assert_eq!(params.get("state"), Some(&request.state));
    let code = params.get("code").expect("a code");
    let (status, tokens) = redeem(&app, WEB, code, &request).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["scope"], "openid profile");

    let again = authorize_by_reference(&app, &app.browser, "web", &request_uri, &[]).await;
    assert_error_page(again, "a used request_uri").await;
}

#[tokio::test]
async fn unknown_expired_and_other_clients_references_get_an_error_page() {
    let app = spawn().await;
    sign_in(&app, ALICE).await;
    let unknown =
        authorize_by_reference(&app, &app.browser, "web", &format!("{PREFIX}nope"), &[]).await;
    assert_error_page(unknown, "an unknown request_uri").await;

    let request_uri = pushed(&app, WEB, &AuthRequest::new("web", CALLBACK, "openid")).await;
    let other = authorize_by_reference(&app, &app.browser, "strict", &request_uri, &[]).await;
    assert_error_page(other, "another client's request_uri").await;
    let missing = app
        .browser
        .get(app.url("/oauth2/authorize"))
        .query(&[("request_uri", &request_uri)])
        .send()
        .await
        .expect("request");
    assert_error_page(missing, "a request_uri without client_id").await;

    app.clock.advance(Duration::seconds(300));
    let expired = authorize_by_reference(&app, &app.browser, "web", &request_uri, &[]).await;
    assert_error_page(expired, "an expired request_uri").await;
}

#[tokio::test]
async fn a_pushed_request_is_checked_as_the_authorization_endpoint_would() {
    let app = spawn().await;
    let request = AuthRequest::new("web", CALLBACK, "openid");
    let (status, body) = push(&app, Cred::Basic("web", "wrong-secret"), &request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");
    assert_error(
        &push(
            &app,
            WEB,
            &request.clone().set("request_uri", &format!("{PREFIX}x")),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert_error(
        &push(
            &app,
            WEB,
            &request
                .clone()
                .set("redirect_uri", "https://evil.example/cb"),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert_error(
        &push(&app, WEB, &request.clone().set("scope", "openid admin")).await,
        StatusCode::BAD_REQUEST,
        "invalid_scope",
    );
    assert_error(
        &push(&app, WEB, &request.clone().without("code_challenge")).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
}

#[tokio::test]
async fn a_client_that_requires_pushed_requests_refuses_others_and_accepts_its_own() {
    let app = spawn().await;
    sign_in(&app, ALICE).await;
    let request = AuthRequest::new("strict", CALLBACK, "openid");
    let plain = send_authorize(&app, &app.browser, &request).await;
    let params = callback(&plain, CALLBACK);
    assert_eq!(
        params.get("error").map(String::as_str),
        Some("invalid_request")
    );

    let request_uri = pushed(&app, STRICT, &request).await;
    let page = authorize_by_reference(&app, &app.browser, "strict", &request_uri, &[])
        .await
        .text()
        .await
        .expect("html");
    assert!(is_consent_page(&page), "{page}");
    let params = callback(&decide(&app, &app.browser, &page, "allow").await, CALLBACK);
    assert!(params.contains_key("code"), "{params:?}");
}

#[tokio::test]
async fn an_administrator_can_require_pushed_requests_of_a_client_it_registers() {
    let app = spawn().await;
    let root = app.login_rest(ROOT).await;
    let (status, created) = admin_send(
        &app,
        Auth::Session(&root),
        Method::POST,
        "/clients",
        Some(json!({
            "client_id": "later",
            "redirect_uris": [CALLBACK],
            "scopes": ["openid"],
            "require_pushed_authorization_requests": true,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["require_pushed_authorization_requests"], true);
    sign_in(&app, ALICE).await;
    let request = AuthRequest::new("later", CALLBACK, "openid");
    let plain = callback(
        &send_authorize(&app, &app.browser, &request).await,
        CALLBACK,
    );
    assert_eq!(
        plain.get("error").map(String::as_str),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn the_server_may_require_pushed_requests_of_every_client_and_says_so() {
    let app = spawn_app_with(&config(
        "[oauth]\nrequire_pushed_authorization_requests = true",
    ))
    .await;
    sign_in(&app, ALICE).await;
    let request = AuthRequest::new("web", CALLBACK, "openid");
    let plain = callback(
        &send_authorize(&app, &app.browser, &request).await,
        CALLBACK,
    );
    assert_eq!(
        plain.get("error").map(String::as_str),
        Some("invalid_request")
    );
    let metadata: Value = app
        .api
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(metadata["require_pushed_authorization_requests"], true);
}

#[tokio::test]
async fn a_denied_pushed_request_cannot_be_used_again() {
    let app = spawn().await;
    sign_in(&app, ALICE).await;
    let request_uri = pushed(&app, WEB, &AuthRequest::new("web", CALLBACK, "openid")).await;
    let page = authorize_by_reference(&app, &app.browser, "web", &request_uri, &[])
        .await
        .text()
        .await
        .expect("html");
    let denied = callback(&decide(&app, &app.browser, &page, "deny").await, CALLBACK);
    assert_eq!(
        denied.get("error").map(String::as_str),
        Some("access_denied")
    );
    let again = authorize_by_reference(&app, &app.browser, "web", &request_uri, &[]).await;
    assert_error_page(again, "a denied request_uri").await;
}

#[tokio::test]
async fn prompt_login_in_a_pushed_request_signs_in_again_once_and_goes_on() {
    let app = spawn().await;
    sign_in(&app, ALICE).await;
    app.clock.advance(Duration::seconds(30));
    let request = AuthRequest::new("web", CALLBACK, "openid").set("prompt", "login");
    let request_uri = pushed(&app, WEB, &request).await;
    let first = authorize_by_reference(&app, &app.browser, "web", &request_uri, &[]).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let login = location(&first);
    assert!(login.starts_with("/login?"), "sign in again: {login}");
    let signed_in = app.login_html(&login["/login".len()..], ALICE).await;
    let back = app
        .browser
        .get(location(&signed_in))
        .send()
        .await
        .expect("request");
    assert_eq!(
        back.status(),
        StatusCode::OK,
        "the consent page, not sign-in again"
    );
    assert!(is_consent_page(&back.text().await.expect("html")));
}

#[tokio::test]
async fn discovery_names_the_endpoint_and_request_objects_stay_unsupported() {
    let app = spawn().await;
    let metadata: Value = app
        .api
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(
        metadata["pushed_authorization_request_endpoint"],
        app.url("/oauth2/par")
    );
    assert_eq!(metadata["require_pushed_authorization_requests"], false);
    // Only pushed references: no request objects by reference.
    assert_eq!(metadata["request_uri_parameter_supported"], false);
}
