//! Fixture mode: `POST /fixture/token` mints real tokens without a flow,
//! `GET /fixture/outbox` shows what the mailer sent; neither exists
//! unless `[fixture] enabled`.

use crate::helpers::oauth::{Cred, post_as};
use crate::helpers::oidc::verify_offline;
use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use jsonwebtoken::Algorithm;
use reqwest::StatusCode;
use serde_json::{Value, json};

const FIXTURE: &str = r#"
[fixture]
enabled = true

[oauth.scopes]
"notes:read" = "Read your notes"

[[clients]]
client_id = "notes"
client_secret = "notes-secret-notes-secret-notes-secret"
redirect_uris = ["http://127.0.0.1:9000/callback"]
scopes = ["openid", "profile", "notes:read"]
"#;

async fn mint(app: &TestApp, request: Value) -> (StatusCode, Value) {
    let response = app
        .api
        .post(app.url("/fixture/token"))
        .json(&request)
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.expect("json"))
}

async fn introspect(app: &TestApp, token: &str) -> Value {
    post_as(
        app,
        "/oauth2/introspect",
        Cred::Basic("notes", "notes-secret-notes-secret-notes-secret"),
        &[("token", token)],
    )
    .await
    .json()
    .await
    .expect("json")
}

/// The claims of a JWT, unverified (the tests verify separately).
fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

#[tokio::test]
async fn minted_tokens_for_a_user_verify_at_the_jwks_and_introspect_as_issued_ones() {
    let app = spawn_app_with(FIXTURE).await;
    let (status, minted) = mint(
        &app,
        json!({
            "sub": "alice",
            "client_id": "notes",
            "scope": "openid profile notes:read",
            "claims": {"tenant": "acme"},
            "ttl_secs": 120
        }),
    )
    .await;
    assert_eq!(status, 200, "{minted}");
    assert_eq!(minted["expires_in"], 120);

    let access = minted["access_token"].as_str().expect("access token");
    let claims = verify_offline(&app, access, "notes", Algorithm::RS256)
        .await
        .expect("verifies offline against the JWKS");
    let alice = app
        .engine
        .accounts
        .get_by_username("alice")
        .expect("alice")
        .id;
    assert_eq!(
        claims["sub"], alice,
        "a username is resolved to the user id"
    );
    assert_eq!(claims["scope"], "notes:read openid profile");
    assert_eq!(claims["client_id"], "notes");
    assert_eq!(claims["tenant"], "acme");
    assert_eq!(
        claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
        120
    );

    let id_token = minted["id_token"].as_str().expect("an ID token for openid");
    let id = claims_of(id_token);
    assert_eq!(id["aud"], "notes");
    assert_eq!(id["sub"], alice);
    assert_eq!(
        id["preferred_username"], "alice",
        "profile claims follow the scope"
    );
    assert_eq!(id["tenant"], "acme");
    assert_eq!(id["iss"], app.address);

    let introspection = introspect(&app, access).await;
    assert_eq!(introspection["active"], true, "{introspection}");
    assert_eq!(introspection["username"], "alice");
}

#[tokio::test]
async fn any_subject_any_scope_and_expired_or_wrong_tokens_can_be_minted() {
    let app = spawn_app_with(FIXTURE).await;
    let (status, minted) = mint(
        &app,
        json!({"sub": "service-42", "client_id": "notes", "scope": "undeclared:scope"}),
    )
    .await;
    assert_eq!(status, 200, "{minted}");
    assert!(minted.get("id_token").is_none(), "no openid, no ID token");
    let access = minted["access_token"].as_str().expect("access token");
    let claims = verify_offline(&app, access, "notes", Algorithm::RS256)
        .await
        .expect("verifies");
    assert_eq!(
        claims["sub"], "service-42",
        "an unknown subject is used as given"
    );
    assert_eq!(claims["scope"], "undeclared:scope");

    let (_, expired) = mint(
        &app,
        // Well past the verifier's 60-second leeway, whatever second it is.
        json!({"sub": "alice", "client_id": "notes", "ttl_secs": -3600}),
    )
    .await;
    let expired = expired["access_token"].as_str().expect("access token");
    let refused = verify_offline(&app, expired, "notes", Algorithm::RS256).await;
    assert!(refused.expect_err("expired").contains("Expired"));
    assert_eq!(introspect(&app, expired).await["active"], false);

    let (_, unregistered) = mint(&app, json!({"sub": "alice", "client_id": "reports"})).await;
    let unregistered = unregistered["access_token"].as_str().expect("access token");
    verify_offline(&app, unregistered, "reports", Algorithm::RS256)
        .await
        .expect("an unregistered client_id is the audience itself");

    let (_, foreign) = mint(
        &app,
        json!({"sub": "alice", "client_id": "notes", "claims": {"aud": "elsewhere"}}),
    )
    .await;
    let foreign = foreign["access_token"].as_str().expect("access token");
    assert!(
        verify_offline(&app, foreign, "notes", Algorithm::RS256)
            .await
            .is_err(),
        "extra claims replace tessera's own: here the audience"
    );
}

#[tokio::test]
async fn bad_mint_requests_get_oauth_errors() {
    let app = spawn_app_with(FIXTURE).await;
    for (request, error) in [
        (
            json!({"sub": "alice", "client_id": "no spaces"}),
            "invalid_request",
        ),
        (json!({"client_id": "notes"}), "invalid_request"),
        (
            json!({"sub": "alice", "client_id": "notes", "scope": "bad\"scope"}),
            "invalid_scope",
        ),
        (
            json!({"sub": "alice", "client_id": "notes", "ttl_secs": i64::MAX}),
            "invalid_request",
        ),
        (
            json!({"sub": "alice", "client_id": "notes", "admin": true}),
            "invalid_request",
        ),
    ] {
        let (status, body) = mint(&app, request.clone()).await;
        assert_eq!(status, 400, "{request} -> {body}");
        assert_eq!(body["error"], error, "{request} -> {body}");
        assert!(body["error_description"].is_string(), "{body}");
    }
    let response = app
        .post_raw("/fixture/token", "application/json", "{not json".into())
        .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn the_outbox_shows_every_message_sent_newest_last() {
    let app = spawn_app_with(FIXTURE).await;
    let outbox = |app: &TestApp| {
        let request = app.api.get(app.url("/fixture/outbox")).send();
        async move { request.await.expect("request").json::<Vec<Value>>().await }
    };
    assert_eq!(outbox(&app).await.expect("json"), Vec::<Value>::new());

    for address in ["dave@example.com", "erin@example.com"] {
        let started = app.start_named("register").await;
        let name = address.split('@').next().expect("local part");
        let (status, body) = app
            .submit(
                &started["auth_id"],
                json!({"username": name, "email": address, "password": "a long passphrase 1"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let sent = outbox(&app).await.expect("json");
    let to: Vec<&str> = sent.iter().map(|m| m["to"].as_str().expect("to")).collect();
    assert_eq!(to, ["dave@example.com", "erin@example.com"]);
    let body = sent[0]["body"].as_str().expect("body");
    let code = body
        .lines()
        .find_map(|line| line.strip_prefix("Your code is "))
        .expect("the code is in the body");
    assert_eq!(code.trim().len(), 6);
    assert!(sent[0]["subject"].is_string() && sent[0]["sent_at"].is_string());
}

#[tokio::test]
async fn requests_addressed_to_another_host_are_refused_against_dns_rebinding() {
    let app = spawn_app_with(FIXTURE).await;
    let port = app.address.rsplit(':').next().expect("port").to_owned();
    for host in [
        "evil.example",
        "evil.example:80",
        "127.0.0.1.evil.example",
        "localhost@evil.example",
    ] {
        let token = app
            .api
            .post(app.url("/fixture/token"))
            .header("host", host)
            .json(&json!({"sub": "alice", "client_id": "notes"}))
            .send()
            .await
            .expect("request");
        assert_eq!(token.status(), 400, "{host}");
        let outbox = app
            .api
            .get(app.url("/fixture/outbox"))
            .header("host", host)
            .send()
            .await
            .expect("request");
        assert_eq!(outbox.status(), 400, "{host}");
    }
    for host in [format!("localhost:{port}"), format!("[::1]:{port}")] {
        let outbox = app
            .api
            .get(app.url("/fixture/outbox"))
            .header("host", &host)
            .send()
            .await
            .expect("request");
        assert_eq!(outbox.status(), 200, "{host}");
    }
}

#[tokio::test]
async fn without_fixture_mode_the_endpoints_do_not_exist() {
    let app = spawn_app().await;
    let response = app
        .api
        .post(app.url("/fixture/token"))
        .json(&json!({"sub": "alice", "client_id": "notes"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 404);
    let response = app
        .api
        .get(app.url("/fixture/outbox"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 404);
}
