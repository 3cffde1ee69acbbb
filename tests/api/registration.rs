//! Dynamic client registration (RFC 7591) and its management (RFC 7592):
//! who may register, what may be registered, and the registration access
//! token's read, replace and delete; a registered client works at once.

use crate::admin_api::{OPS, admin_config, client_token};
use crate::helpers::oauth::{
    AuthRequest, Cred, authorize, is_consent_page, redeem, sign_in, token, tokens_for,
};
use crate::helpers::{ALICE, TestApp, spawn_app_with};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tessera::audit::Query;
use time::Duration;

const INITIAL: &str = "initial-access-token-for-the-tests-0123456789";
const REDIRECT: &str = "http://127.0.0.1:9000/callback";

fn with_initial_token() -> String {
    format!("[oauth]\ninitial_access_token = \"{INITIAL}\"\n")
}

/// A web app's metadata, as a client library sends it.
fn web_app() -> Value {
    json!({
        "client_name": "Notes",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "openid profile",
        "contacts": ["ops@example.com"],
        "software_id": "ignored-but-accepted"
    })
}

async fn register(app: &TestApp, bearer: Option<&str>, metadata: &Value) -> Response {
    let mut request = app.api.post(app.url("/oauth2/register")).json(metadata);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request")
}

/// Registers `metadata` with the configured initial access token; the
/// answer, which must be 201.
async fn registered(app: &TestApp, metadata: &Value) -> Value {
    let response = register(app, Some(INITIAL), metadata).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(header(&response, "cache-control"), "no-store");
    response.json().await.expect("json")
}

fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A registered client's credentials, as the test helpers take them.
fn basic(body: &Value) -> Cred {
    let leak = |key: &str| -> &'static str {
        Box::leak(body[key].as_str().expect(key).to_owned().into_boxed_str())
    };
    Cred::Basic(leak("client_id"), leak("client_secret"))
}

/// `METHOD registration_client_uri` with the registration access token.
async fn manage(
    app: &TestApp,
    method: reqwest::Method,
    body: &Value,
    token: &str,
    metadata: Option<&Value>,
) -> Response {
    let uri = body["registration_client_uri"].as_str().expect("uri");
    let mut request = app.api.request(method, uri).bearer_auth(token);
    if let Some(metadata) = metadata {
        request = request.json(metadata);
    }
    request.send().await.expect("request")
}

async fn error_of(response: Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.expect("json");
    body["error"].as_str().expect("error").to_owned()
}

#[tokio::test]
async fn a_registered_client_signs_a_user_in_at_once_with_consent_asked() {
    let app = spawn_app_with(&with_initial_token()).await;
    let body = registered(&app, &web_app()).await;

    let client_id = body["client_id"].as_str().expect("client_id");
    assert_eq!(body["client_name"], "Notes");
    assert_eq!(body["redirect_uris"], json!([REDIRECT]));
    assert_eq!(
        body["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(body["response_types"], json!(["code"]));
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(body["scope"], "openid profile");
    assert_eq!(body["client_secret_expires_at"], 0);
    assert!(body["client_id_issued_at"].as_i64().expect("issued at") > 0);
    assert!(body["client_secret"].as_str().expect("secret").len() >= 43);
    assert!(body["registration_access_token"].is_string());
    assert_eq!(
        body["registration_client_uri"],
        app.url(&format!("/oauth2/register/{client_id}"))
    );
    assert!(body.get("contacts").is_none(), "unused metadata is ignored");

    sign_in(&app, ALICE).await;
    let request = AuthRequest::new(client_id, REDIRECT, "openid profile");
    // `authorize` asserts the consent page when it comes: a registered
    // client is never first-party.
    let page = app
        .browser
        .get(app.url(&format!(
            "/oauth2/authorize?{}",
            serde_urlencoded::to_string(&request.params).expect("query")
        )))
        .send()
        .await
        .expect("request");
    assert_eq!(page.status(), StatusCode::OK, "the consent page");
    assert!(is_consent_page(&page.text().await.expect("html")));
    let (access, refresh) = tokens_for(&app, basic(&body), &request).await;
    assert!(!access.is_empty() && !refresh.is_empty());
}

#[tokio::test]
async fn a_public_client_registers_without_a_secret_and_must_use_pkce() {
    let app = spawn_app_with(&with_initial_token()).await;
    let metadata = json!({
        "client_name": "CLI",
        "redirect_uris": ["http://127.0.0.1/callback"],
        "token_endpoint_auth_method": "none"
    });
    let body = registered(&app, &metadata).await;
    assert!(body.get("client_secret").is_none(), "{body}");
    assert!(body.get("client_secret_expires_at").is_none(), "{body}");
    assert_eq!(body["token_endpoint_auth_method"], "none");
    assert_eq!(body["grant_types"], json!(["authorization_code"]));

    let client_id: &'static str = Box::leak(
        body["client_id"]
            .as_str()
            .expect("id")
            .to_owned()
            .into_boxed_str(),
    );
    sign_in(&app, ALICE).await;
    let request = AuthRequest::new(client_id, "http://127.0.0.1:5555/callback", "openid");
    let code = authorize(&app, &request).await;
    let (status, tokens) = redeem(&app, Cred::Public(client_id), &code, &request).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");

    let without_pkce = AuthRequest::new(client_id, "http://127.0.0.1:5555/callback", "openid")
        .without("code_challenge")
        .without("code_challenge_method");
    let response = app
        .browser
        .get(app.url(&format!(
            "/oauth2/authorize?{}",
            serde_urlencoded::to_string(&without_pkce.params).expect("query")
        )))
        .send()
        .await
        .expect("request");
    // Shown, not redirected: see the open-redirector test below.
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.expect("html");
    assert!(page.contains("code_challenge"), "{page}");
}

#[tokio::test]
async fn registering_needs_a_valid_initial_access_token() {
    let app = spawn_app_with(&with_initial_token()).await;

    let none = register(&app, None, &web_app()).await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&none, "www-authenticate"),
        "Bearer realm=\"tessera\""
    );

    let wrong = register(&app, Some("not-the-token"), &web_app()).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&wrong, "www-authenticate").contains("error=\"invalid_token\""));

    let clients = tessera::oauth::clients::list(&app.ctx).expect("clients");
    assert!(clients.is_empty(), "nothing registered: {clients:?}");
}

#[tokio::test]
async fn without_any_initial_access_token_registration_is_closed() {
    let app = spawn_app_with("").await;
    let response = register(&app, Some(INITIAL), &web_app()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn metadata_is_checked_as_strictly_as_a_configured_client() {
    let app = spawn_app_with(&with_initial_token()).await;
    let refused = |change: Value| {
        let mut metadata = web_app();
        for (key, value) in change.as_object().expect("object") {
            metadata[key] = value.clone();
        }
        let app = &app;
        async move { register(app, Some(INITIAL), &metadata).await }
    };
    for (change, error) in [
        (
            json!({"redirect_uris": ["http://app.example.com/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://app.example.com/cb#x"]}),
            "invalid_redirect_uri",
        ),
        (json!({"redirect_uris": []}), "invalid_redirect_uri"),
        (
            json!({"post_logout_redirect_uris": ["javascript:alert(1)"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"logo_uri": "javascript:alert(1)"}),
            "invalid_client_metadata",
        ),
        (
            json!({"client_uri": "http://app.example.com/"}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["client_credentials"], "response_types": []}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["urn:ietf:params:oauth:grant-type:device_code"], "response_types": []}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["password"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["implicit"], "response_types": ["token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"response_types": ["code", "token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["refresh_token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"scope": "openid tessera:admin"}),
            "invalid_client_metadata",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (
            json!({"client_id": "chosen-by-me"}),
            "invalid_client_metadata",
        ),
        (
            json!({"client_name": "x".repeat(101)}),
            "invalid_client_metadata",
        ),
        (
            json!({"client_name": "Notes\u{202E}evil"}),
            "invalid_client_metadata",
        ),
        (
            json!({"logo_uri": "http://127.0.0.1:8080/admin"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": "http://127.0.0.1/cb"}),
            "invalid_client_metadata",
        ),
    ] {
        let response = refused(change.clone()).await;
        assert_eq!(
            error_of(response, StatusCode::BAD_REQUEST).await,
            error,
            "{change}"
        );
    }
    let not_json = app
        .api
        .post(app.url("/oauth2/register"))
        .bearer_auth(INITIAL)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(
        error_of(not_json, StatusCode::BAD_REQUEST).await,
        "invalid_client_metadata"
    );
    assert!(
        tessera::oauth::clients::list(&app.ctx)
            .expect("clients")
            .is_empty()
    );
}

/// The registration access token an answer carries.
fn token_in(answer: &Value) -> String {
    answer["registration_access_token"]
        .as_str()
        .expect("a registration access token in every answer")
        .to_owned()
}

#[tokio::test]
async fn the_registration_access_token_reads_replaces_and_deletes_the_registration() {
    use reqwest::Method;
    let app = spawn_app_with(&with_initial_token()).await;
    let body = registered(&app, &web_app()).await;
    let other = registered(&app, &web_app()).await;
    let first = token_in(&body);
    let client_id = body["client_id"].as_str().expect("id");

    let read = manage(&app, Method::GET, &body, &first, None).await;
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(header(&read, "cache-control"), "no-store");
    let read: Value = read.json().await.expect("json");
    assert_eq!(read["client_name"], "Notes");
    assert_eq!(
        read["registration_client_uri"],
        body["registration_client_uri"]
    );
    assert!(
        read.get("client_secret").is_none(),
        "never kept, never shown"
    );
    // RFC 7592 §3: every answer carries the token, so each is a new one.
    let token = token_in(&read);
    assert_ne!(token, first);
    let stale = manage(&app, Method::GET, &body, &first, None).await;
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);

    for wrong in [token_in(&other), "guess".into(), INITIAL.into()] {
        let refused = manage(&app, Method::GET, &body, &wrong, None).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{wrong}");
        assert!(header(&refused, "www-authenticate").contains("invalid_token"));
    }

    let mut replacement = web_app();
    replacement["client_id"] = json!(client_id);
    replacement["client_name"] = json!("Notes 2");
    replacement["redirect_uris"] = json!(["http://127.0.0.1:9001/callback"]);
    let mut wrong_secret = replacement.clone();
    wrong_secret["client_secret"] = json!("not-the-secret");
    let mut to_public = replacement.clone();
    to_public["token_endpoint_auth_method"] = json!("none");
    let mut to_admin = replacement.clone();
    to_admin["scope"] = json!("openid tessera:admin");
    for refused in [web_app(), wrong_secret, to_public, to_admin] {
        let response = manage(&app, Method::PUT, &body, &token, Some(&refused)).await;
        assert_eq!(
            error_of(response, StatusCode::BAD_REQUEST).await,
            "invalid_client_metadata",
            "{refused}"
        );
    }

    let mut with_secret = replacement.clone();
    with_secret["client_secret"] = body["client_secret"].clone();
    let replaced = manage(&app, Method::PUT, &body, &token, Some(&with_secret)).await;
    assert_eq!(replaced.status(), StatusCode::OK);
    let replaced: Value = replaced.json().await.expect("json");
    assert_eq!(replaced["client_name"], "Notes 2");
    assert_eq!(
        replaced["redirect_uris"],
        json!(["http://127.0.0.1:9001/callback"])
    );
    let token = token_in(&replaced);
    replacement["client_name"] = json!("Notes 3");
    let without_secret = manage(&app, Method::PUT, &body, &token, Some(&replacement)).await;
    assert_eq!(without_secret.status(), StatusCode::OK);
    let token = token_in(&without_secret.json().await.expect("json"));
    let stored = tessera::oauth::clients::get(&app.ctx, client_id)
        .expect("read")
        .expect("client");
    assert_eq!(stored.name, "Notes 3");

    let deleted = manage(&app, Method::DELETE, &body, &token, None).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = manage(&app, Method::GET, &body, &token, None).await;
    assert_eq!(gone.status(), StatusCode::UNAUTHORIZED);
    let (status, answer) = token_of(&app, basic(&body)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(answer["error"], "invalid_client");
}

#[tokio::test]
async fn an_administrators_change_ends_the_clients_self_management() {
    let app = spawn_app_with(&admin_config("[fixture]\nenabled = true\n")).await;
    let response = register(&app, None, &web_app()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.expect("json");
    let client_id = body["client_id"].as_str().expect("id");
    let ops = client_token(&app, OPS, "tessera:admin").await;
    let patched = app
        .api
        .patch(app.url(&format!("/admin/api/clients/{client_id}")))
        .bearer_auth(&ops)
        .json(&json!({"scopes": ["openid"]}))
        .send()
        .await
        .expect("request");
    assert_eq!(patched.status(), StatusCode::OK);
    let patched: Value = patched.json().await.expect("json");
    assert_eq!(patched["self_registered"], false);

    let read = manage(&app, reqwest::Method::GET, &body, &token_in(&body), None).await;
    assert_eq!(
        read.status(),
        StatusCode::UNAUTHORIZED,
        "it could undo the change"
    );
}

#[tokio::test]
async fn a_refused_registration_spends_no_use_and_a_wrong_token_learns_nothing() {
    let app = spawn_app_with(&admin_config("")).await;
    let ops = client_token(&app, OPS, "tessera:admin").await;
    let minted: Value = app
        .api
        .post(app.url("/admin/api/registration-tokens"))
        .bearer_auth(&ops)
        .json(&json!({}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let once = minted["initial_access_token"].as_str().expect("token");

    let mut bad = web_app();
    bad["redirect_uris"] = json!(["http://app.example.com/cb"]);
    let refused = register(&app, Some(once), &bad).await;
    assert_eq!(
        error_of(refused, StatusCode::BAD_REQUEST).await,
        "invalid_redirect_uri"
    );
    let wrong = register(&app, Some("wrong"), &bad).await;
    assert_eq!(
        wrong.status(),
        StatusCode::UNAUTHORIZED,
        "the token comes first"
    );

    let metadata = web_app();
    let (first, second) = tokio::join!(
        register(&app, Some(once), &metadata),
        register(&app, Some(once), &metadata)
    );
    let mut statuses = [first.status(), second.status()];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::CREATED, StatusCode::UNAUTHORIZED],
        "one use, even at once"
    );
}

#[tokio::test]
async fn a_self_registered_client_cannot_make_tessera_an_open_redirector() {
    let app = spawn_app_with(&with_initial_token()).await;
    let mut metadata = web_app();
    metadata["post_logout_redirect_uris"] = json!(["http://127.0.0.1:9000/bye"]);
    let body = registered(&app, &metadata).await;
    let client_id = body["client_id"].as_str().expect("id");
    let authorize = |query: String| {
        app.api
            .get(app.url(&format!("/oauth2/authorize?{query}")))
            .send()
    };

    let bad_scope = AuthRequest::new(client_id, REDIRECT, "openid not-registered");
    let silent = AuthRequest::new(client_id, REDIRECT, "openid").set("prompt", "none");
    for request in [bad_scope, silent] {
        let query = serde_urlencoded::to_string(&request.params).expect("query");
        let response = authorize(query).await.expect("request");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(header(&response, "location"), "", "never a redirect");
    }

    let logout = app
        .api
        .get(app.url(&format!(
            "/oauth2/logout?client_id={client_id}&post_logout_redirect_uri=http://127.0.0.1:9000/bye"
        )))
        .send()
        .await
        .expect("request");
    assert_eq!(header(&logout, "location"), "", "never a redirect");
    assert_eq!(logout.status(), StatusCode::BAD_REQUEST);
}

/// A token request that only a known client gets past authentication
/// with (`invalid_grant` for the made-up code).
async fn token_of(app: &TestApp, cred: Cred) -> (StatusCode, Value) {
    token(
        app,
        cred,
        &[
            ("grant_type", "authorization_code"),
            ("code", "made-up"),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &"v".repeat(43)),
        ],
    )
    .await
}

#[tokio::test]
async fn an_administrator_mints_initial_access_tokens_of_limited_use_and_life() {
    let app = spawn_app_with(&admin_config("")).await;
    let ops = client_token(&app, OPS, "tessera:admin").await;
    let mint = |request: Value| {
        app.api
            .post(app.url("/admin/api/registration-tokens"))
            .bearer_auth(&ops)
            .json(&request)
            .send()
    };

    let minted = mint(json!({"uses": 2})).await.expect("request");
    assert_eq!(minted.status(), StatusCode::CREATED);
    let minted: Value = minted.json().await.expect("json");
    assert_eq!(minted["uses"], 2);
    let twice = minted["initial_access_token"].as_str().expect("token");
    for _ in 0..2 {
        let response = register(&app, Some(twice), &web_app()).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let spent = register(&app, Some(twice), &web_app()).await;
    assert_eq!(spent.status(), StatusCode::UNAUTHORIZED);

    let minted: Value = mint(json!({"expires_in": 60}))
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let short = minted["initial_access_token"].as_str().expect("token");
    app.clock.advance(Duration::seconds(61));
    let expired = register(&app, Some(short), &web_app()).await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);

    for bad in [
        json!({"uses": 0}),
        json!({"uses": 1001}),
        json!({"expires_in": 0}),
        json!({"color": "red"}),
    ] {
        let response = mint(bad.clone()).await.expect("request");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let anonymous = app
        .api
        .post(app.url("/admin/api/registration-tokens"))
        .json(&json!({}))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let names: Vec<String> = tessera::audit::query(&app.ctx, &Query::default())
        .expect("audit")
        .items
        .into_iter()
        .map(|entry| entry.kind)
        .collect();
    assert!(
        names
            .iter()
            .any(|name| name == "admin.registration_token.create"),
        "{names:?}"
    );
    assert_eq!(
        names
            .iter()
            .filter(|name| *name == "client.register")
            .count(),
        2
    );
}

#[tokio::test]
async fn fixture_mode_opens_registration_to_requests_addressed_to_loopback() {
    let app = spawn_app_with("[fixture]\nenabled = true\n").await;
    let open = register(&app, None, &web_app()).await;
    assert_eq!(open.status(), StatusCode::CREATED);

    let rebound = app
        .api
        .post(app.url("/oauth2/register"))
        .header("host", "attacker.example")
        .json(&web_app())
        .send()
        .await
        .expect("request");
    assert_eq!(rebound.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn discovery_names_the_registration_endpoint() {
    let app = spawn_app_with("").await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let document: Value = app
            .api
            .get(app.url(path))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        assert_eq!(
            document["registration_endpoint"],
            app.url("/oauth2/register"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn privileges_a_registration_claims_are_ignored() {
    let app = spawn_app_with(&with_initial_token()).await;
    let mut metadata = web_app();
    for (key, value) in [
        ("first_party", json!(true)),
        ("token_exchange", json!(true)),
        ("resource_server", json!(true)),
        ("require_pkce", json!(false)),
        ("audience", json!(["payments"])),
        ("journey", json!("register")),
        ("access_token_ttl_secs", json!(86400)),
    ] {
        metadata[key] = value;
    }
    let body = registered(&app, &metadata).await;
    let stored = tessera::oauth::clients::get(&app.ctx, body["client_id"].as_str().expect("id"))
        .expect("read")
        .expect("client");
    assert!(!stored.first_party && !stored.token_exchange && !stored.resource_server);
    assert!(stored.require_pkce);
    assert!(stored.audience.is_empty() && stored.journey.is_none());
    assert_eq!(stored.access_token_ttl_secs, None);
}
