//! The audit log (`GET /admin/api/audit`): each security event leaves an
//! entry after the real action, with who, what, from where and how it
//! went; no secret ever reaches it; filters, pages, the JSON-lines export
//! and retention work; only administrators read it.

use crate::admin_api::{Auth, admin_send};
use crate::helpers::oauth::{AuthRequest, Cred, post_as, refresh, sign_in, tokens_for};
use crate::helpers::{ALICE, BOB, TestApp, csrf_token, spawn_app_with};
use crate::journeys::{DAVE, register_until_code, reset};
use crate::totp::{JOURNEYS, after_password, code_at, scan, submit_code};
use reqwest::Method;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;

const ROOT: (&str, &str) = ("root", "root password that is long enough");
const WEB: Cred = Cred::Basic("web", crate::oauth::WEB_SECRET);
const WEB_REDIRECT: &str = "https://web.example.com/callback";

/// An administrator, the `web` client, the TOTP journeys, and a lockout
/// after two failures.
fn config(extra: &str) -> String {
    format!(
        r#"
{extra}
{JOURNEYS}
{clients}

[lockout]
max_failures = 2

[[users]]
username = "{}"
password = "{}"
admin = true
"#,
        ROOT.0,
        ROOT.1,
        clients = crate::oauth::CLIENTS,
    )
}

async fn spawn() -> TestApp {
    spawn_app_with(&config("")).await
}

/// `GET /admin/api/audit?{query}` as `token`'s user.
async fn audit_get(app: &TestApp, token: &str, query: &str) -> reqwest::Response {
    app.api
        .get(app.url(&format!("/admin/api/audit?{query}")))
        .header("X-Session-Token", token)
        .send()
        .await
        .expect("request")
}

/// One page of the log, as the administrator sees it.
async fn page(app: &TestApp, query: &str) -> Value {
    let root = app.login_rest(ROOT).await;
    let response = audit_get(app, &root, query).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

/// The whole log as JSON lines (the administrator's own sign-in included).
async fn export(app: &TestApp) -> String {
    let root = app.login_rest(ROOT).await;
    let response = audit_get(app, &root, "format=jsonl").await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().expect("ascii");
    assert!(
        content_type.starts_with("application/jsonl"),
        "{content_type}"
    );
    response.text().await.expect("text")
}

/// The events of `kind` about `subject`, newest first.
async fn events(app: &TestApp, kind: &str, subject: &str) -> Vec<Value> {
    let body = page(app, &format!("type={kind}&subject={subject}&limit=1000")).await;
    body["items"].as_array().expect("items").clone()
}

/// Asserts the fields every event has, and those the test expects.
fn assert_event(event: &Value, kind: &str, outcome: &str, actor: &str, subject: &str) {
    assert_eq!(event["type"], kind, "{event}");
    assert_eq!(event["outcome"], outcome, "{event}");
    assert_eq!(event["actor"], actor, "{event}");
    assert_eq!(event["subject"], subject, "{event}");
    assert_eq!(event["client_ip"], "127.0.0.1", "{event}");
    assert!(event["id"].is_string(), "{event}");
    assert!(event["time"].is_string(), "{event}");
}

/// Asserts that none of `secrets` appears anywhere in the log.
async fn assert_no_secret(app: &TestApp, secrets: &[&str]) {
    let log = export(app).await;
    for secret in secrets {
        assert!(
            !log.contains(secret),
            "`{secret}` is in the audit log:\n{log}"
        );
    }
}

async fn wrong_password(app: &TestApp, username: &str) -> StatusCode {
    app.authenticate(json!({"input": {"username": username, "password": "not the password"}}))
        .await
        .status()
}

#[tokio::test]
async fn failed_and_successful_sign_ins_are_recorded_with_who_and_from_where() {
    let app = spawn().await;
    assert_eq!(
        wrong_password(&app, ALICE.0).await,
        StatusCode::UNAUTHORIZED
    );
    // A password typed in the username field names no account.
    let typed = app
        .authenticate(json!({"input": {"username": "hunter2secret", "password": "x"}}))
        .await;
    assert_eq!(typed.status(), StatusCode::UNAUTHORIZED);
    let token = app.login_rest(ALICE).await;

    let logins = events(&app, "login", "alice").await;
    assert_eq!(logins.len(), 2, "{logins:?}");
    assert_event(&logins[0], "login", "success", "user:alice", "user:alice");
    assert_eq!(logins[0]["details"]["journey"], "login");
    assert_eq!(logins[0]["details"]["methods"], "pwd");
    assert_eq!(
        logins[0]["details"]["session"],
        app.session_id(&token).await
    );
    assert_event(&logins[1], "login", "failure", "anonymous", "user:alice");
    assert_eq!(logins[1]["details"]["reason"], "invalid_credentials");

    let anonymous = page(&app, "type=login&actor=anonymous").await;
    let unknown: Vec<&Value> = anonymous["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|event| event["subject"].is_null())
        .collect();
    assert_eq!(unknown.len(), 1, "{anonymous}");
    assert_no_secret(
        &app,
        &["hunter2secret", "not the password", ALICE.1, &token],
    )
    .await;
}

#[tokio::test]
async fn a_lockout_is_recorded_once_and_attempts_refused_while_locked_are_not() {
    let app = spawn().await;
    for _ in 0..4 {
        wrong_password(&app, BOB.0).await;
    }
    let lockouts = events(&app, "lockout", "bob").await;
    assert_eq!(lockouts.len(), 1, "{lockouts:?}");
    assert_event(&lockouts[0], "lockout", "failure", "anonymous", "user:bob");
    assert_eq!(lockouts[0]["details"]["counter"], "username");
    assert!(lockouts[0]["details"]["until"].is_string());
    // The two that counted; the two refused while locked add nothing.
    assert_eq!(events(&app, "login", "bob").await.len(), 2);
}

#[tokio::test]
async fn a_registration_is_recorded_with_the_sign_in_it_ends_with() {
    let app = spawn().await;
    let auth_id = register_until_code(&app, DAVE.1).await;
    let code = app.code_for(DAVE.1, 1).await;
    let (status, done) = app.submit(&auth_id, json!({"code": code})).await;
    assert_eq!(status, 200, "{done}");

    let registered = events(&app, "registration", "dave").await;
    assert_eq!(registered.len(), 1);
    assert_event(
        &registered[0],
        "registration",
        "success",
        "user:dave",
        "user:dave",
    );
    assert_eq!(registered[0]["details"]["journey"], "register");
    let logins = events(&app, "login", "dave").await;
    assert_eq!(logins[0]["details"]["methods"], "pwd otp");
    let token = done["session_token"].as_str().expect("token");
    assert_no_secret(&app, &[DAVE.2, &code, token]).await;
}

#[tokio::test]
async fn a_password_reset_is_recorded_with_the_sessions_it_ended() {
    let app = spawn().await;
    app.login_rest(ALICE).await;
    let new_password = "a completely new secret";
    let (status, _) = reset(&app, "alice@example.com", new_password).await;
    assert_eq!(status, 200);

    let resets = events(&app, "password", "alice").await;
    assert_eq!(resets.len(), 1, "{resets:?}");
    assert_event(
        &resets[0],
        "password.reset",
        "success",
        "user:alice",
        "user:alice",
    );
    assert_eq!(resets[0]["details"]["sessions_ended"], "1");
    let code = app.code_for("alice@example.com", 1).await;
    assert_no_secret(&app, &[new_password, &code]).await;
}

#[tokio::test]
async fn a_totp_enrollment_and_a_wrong_code_are_recorded() {
    let app = spawn().await;
    let step = after_password(&app, "secure").await;
    let phone = scan(&step);
    let secret = step["display"]
        .as_array()
        .expect("display")
        .iter()
        .find_map(|item| item["secret"].as_str())
        .expect("the key, to type in")
        .to_owned();
    let code = code_at(&phone, app.clock_now());
    let (status, _) = submit_code(&app, "secure", &step, &code).await;
    assert_eq!(status, 200);
    let enrolled = events(&app, "mfa", "alice").await;
    assert_eq!(enrolled.len(), 1);
    assert_event(
        &enrolled[0],
        "mfa.enroll",
        "success",
        "user:alice",
        "user:alice",
    );
    assert_eq!(enrolled[0]["details"]["method"], "totp");
    assert_eq!(enrolled[0]["details"]["replaced"], "false");

    // The next sign-in replays the code: refused, and recorded.
    let step = after_password(&app, "secure").await;
    let (status, _) = submit_code(&app, "secure", &step, &code).await;
    assert_eq!(status, 200, "asked again");
    let refused = page(&app, "type=login&subject=alice").await;
    let refused = &refused["items"][0];
    assert_event(refused, "login", "failure", "anonymous", "user:alice");
    assert_eq!(refused["details"]["method"], "totp");
    assert_eq!(refused["details"]["reason"], "replayed_code");
    assert_no_secret(&app, &[&code, &secret]).await;
}

#[tokio::test]
async fn consent_granted_and_withdrawn_and_a_logout_are_recorded() {
    let app = spawn().await;
    let session = sign_in(&app, ALICE).await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read offline_access");
    let (access, refresh_token) = tokens_for(&app, WEB, &request).await;
    let granted = events(&app, "consent.grant", "alice").await;
    assert_eq!(granted.len(), 1);
    assert_event(
        &granted[0],
        "consent.grant",
        "success",
        "user:alice",
        "user:alice",
    );
    assert_eq!(granted[0]["details"]["client"], "web");
    assert_eq!(
        granted[0]["details"]["scope"],
        "notes:read offline_access openid"
    );

    let account = app.get_page("/account").await.text().await.expect("html");
    let withdrawn = app
        .post_form(
            "/account/consents/revoke",
            &[("csrf_token", &csrf_token(&account)), ("client_id", "web")],
        )
        .await;
    assert_eq!(withdrawn.status(), 303);
    let revoked = events(&app, "consent.revoke", "alice").await;
    assert_eq!(revoked.len(), 1);
    assert_event(
        &revoked[0],
        "consent.revoke",
        "success",
        "user:alice",
        "user:alice",
    );
    assert_eq!(revoked[0]["details"]["refresh_token_families_revoked"], "1");

    assert_eq!(app.logout_rest(&session).await.status(), 204);
    let logouts = events(&app, "logout", "alice").await;
    assert_eq!(logouts.len(), 1);
    assert_event(&logouts[0], "logout", "success", "user:alice", "user:alice");
    assert_no_secret(
        &app,
        &[&session, &access, &refresh_token, crate::oauth::WEB_SECRET],
    )
    .await;
}

#[tokio::test]
async fn a_revocation_and_a_refresh_token_reuse_are_recorded() {
    let app = spawn().await;
    sign_in(&app, ALICE).await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid offline_access");
    let (_, revoked) = tokens_for(&app, WEB, &request).await;
    let response = post_as(&app, "/oauth2/revoke", WEB, &[("token", &revoked)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let revocations = events(&app, "token.revoke", "alice").await;
    assert_eq!(revocations.len(), 1);
    assert_event(
        &revocations[0],
        "token.revoke",
        "success",
        "client:web",
        "user:alice",
    );
    assert_eq!(revocations[0]["details"]["token_type"], "refresh_token");

    let (_, first) = tokens_for(
        &app,
        WEB,
        &AuthRequest::new("web", WEB_REDIRECT, "openid offline_access"),
    )
    .await;
    let (status, _) = refresh(&app, WEB, &first).await;
    assert_eq!(status, StatusCode::OK);
    app.clock.advance(Duration::minutes(10));
    let (status, _) = refresh(&app, WEB, &first).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let reuse = events(&app, "refresh_token.reuse", "alice").await;
    assert_eq!(reuse.len(), 1);
    assert_event(
        &reuse[0],
        "refresh_token.reuse",
        "failure",
        "client:web",
        "user:alice",
    );
    assert_no_secret(&app, &[&revoked, &first]).await;
}

#[tokio::test]
async fn filters_narrow_the_log_and_cursors_page_through_it_once() {
    let app = spawn().await;
    for _ in 0..3 {
        app.login_rest(ALICE).await;
        app.login_rest(BOB).await;
    }
    app.clock.advance(Duration::seconds(1));
    let rfc3339 = time::format_description::well_known::Rfc3339;
    let since = app.clock_now().format(&rfc3339).expect("time");
    app.login_rest(BOB).await;

    let by_actor = page(&app, "actor=alice").await;
    let by_actor = by_actor["items"].as_array().expect("items");
    assert_eq!(by_actor.len(), 3);
    assert!(by_actor.iter().all(|event| event["actor"] == "user:alice"));
    let whole = page(&app, "actor=user:bob&type=login").await;
    assert_eq!(whole["items"].as_array().expect("items").len(), 4);
    // Only bob's last sign-in is at or after `since`.
    let query = format!("type=login&actor=bob&since={}", since.replace('+', "%2B"));
    let recent = page(&app, &query).await;
    assert_eq!(
        recent["items"].as_array().expect("items").len(),
        1,
        "{recent}"
    );

    let all = page(&app, "limit=1000").await["items"].clone();
    let mut paged = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let body = page(&app, &query).await;
        let items = body["items"].as_array().expect("items");
        assert!(items.len() <= 2);
        paged.extend(items.iter().map(|event| event["id"].clone()));
        match body["next_cursor"].as_str() {
            Some(cursor) => query = format!("limit=2&cursor={cursor}"),
            None => break,
        }
    }
    // Each page signed root in once more: the newest events are newer than
    // the first full listing, so compare what it listed.
    let listed: Vec<Value> = all
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    assert!(
        listed.iter().all(|id| paged.contains(id)),
        "{listed:?} in {paged:?}"
    );
    let mut unique = paged.clone();
    unique.dedup();
    assert_eq!(unique.len(), paged.len(), "no event twice");
}

#[tokio::test]
async fn the_export_is_one_json_object_a_line_newest_first() {
    let app = spawn().await;
    app.login_rest(ALICE).await;
    wrong_password(&app, BOB.0).await;
    let log = export(&app).await;
    let events: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON object a line"))
        .collect();
    // Root's sign-in for the export, bob's failure, alice's sign-in.
    assert_eq!(events.len(), 3, "{log}");
    assert_eq!(events[1]["subject"], "user:bob");
    assert_eq!(events[2]["subject"], "user:alice");
    assert!(log.ends_with('\n'));
}

#[tokio::test]
async fn events_older_than_the_retention_are_purged_and_younger_ones_kept() {
    let app = spawn_app_with(&config("[audit]\nretention_days = 30")).await;
    app.login_rest(ALICE).await;
    app.clock.advance(Duration::days(31));
    app.login_rest(BOB).await;
    assert_eq!(tessera::audit::purge_expired(&app.ctx).expect("purge"), 1);
    assert!(events(&app, "login", "alice").await.is_empty());
    assert_eq!(events(&app, "login", "bob").await.len(), 1);
}

#[tokio::test]
async fn a_retention_of_zero_keeps_every_event() {
    let app = spawn_app_with(&config("[audit]\nretention_days = 0")).await;
    app.login_rest(ALICE).await;
    app.clock.advance(Duration::days(10_000));
    assert_eq!(tessera::audit::purge_expired(&app.ctx).expect("purge"), 0);
    assert_eq!(events(&app, "login", "alice").await.len(), 1);
}

#[tokio::test]
async fn every_administrators_action_through_the_api_is_recorded_with_who_and_on_what() {
    let app = spawn().await;
    let root = app.login_rest(ROOT).await;
    let send = async |method, path: String, body| {
        let (status, body) = admin_send(&app, Auth::Session(&root), method, &path, body).await;
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    };
    let erin = json!({"username": "erin", "password": "a long enough passphrase"});
    let created = send(Method::POST, "/users".into(), Some(erin)).await;
    let erin = format!("/users/{}", created["id"].as_str().expect("id"));
    send(Method::PATCH, erin.clone(), Some(json!({"name": "Erin"}))).await;
    send(Method::DELETE, erin, None).await;
    let svc = json!({"client_id": "svc", "scopes": ["reports:read"], "grant_types": ["client_credentials"]});
    send(Method::POST, "/clients".into(), Some(svc)).await;
    send(Method::POST, "/clients/svc/secret".into(), None).await;
    let renamed = json!({"name": "Service"});
    send(Method::PATCH, "/clients/svc".into(), Some(renamed)).await;
    send(Method::DELETE, "/clients/svc".into(), None).await;
    let key = send(Method::POST, "/keys/rotate".into(), None).await;

    let actions = page(&app, "type=admin&limit=100").await;
    let actions = actions["items"].as_array().expect("items");
    let kid = format!("key:{}", key["kid"].as_str().expect("kid"));
    let expected = [
        ("admin.key.rotate", kid.as_str()),
        ("admin.client.delete", "client:svc"),
        ("admin.client.update", "client:svc"),
        ("admin.client.secret.rotate", "client:svc"),
        ("admin.client.create", "client:svc"),
        ("admin.user.delete", "user:erin"),
        ("admin.user.update", "user:erin"),
        ("admin.user.create", "user:erin"),
    ];
    assert_eq!(actions.len(), expected.len(), "{actions:#?}");
    for (event, (kind, subject)) in actions.iter().zip(expected) {
        assert_event(event, kind, "success", "user:root", subject);
    }
    // The update names what it changed, and never the values.
    assert_eq!(actions[6]["details"], json!({"changed": "name"}));
}

#[tokio::test]
async fn the_log_is_refused_to_callers_who_are_not_administrators() {
    let app = spawn().await;
    let alice = app.login_rest(ALICE).await;
    let response = audit_get(&app, &alice, "").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "forbidden");
    let anonymous = app
        .api
        .get(app.url("/admin/api/audit?format=jsonl"))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn malformed_parameters_are_a_400_in_the_api_shape() {
    let app = spawn().await;
    let root = app.login_rest(ROOT).await;
    for query in [
        "since=yesterday",
        "cursor=not-a-cursor",
        "format=csv",
        "limit=many",
    ] {
        let response = audit_get(&app, &root, query).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: Value = response.json().await.expect("json");
        assert!(body["error"].is_string(), "{query}: {body}");
        assert!(body["error_description"].is_string(), "{query}: {body}");
    }
}
