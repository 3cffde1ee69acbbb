//! The login journey through `POST /api/authenticate`.

use crate::helpers::{ALICE, BOB, TestApp, set_cookie, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use time::Duration;

#[tokio::test]
async fn starting_the_login_journey_returns_the_credentials_step_and_its_fields() {
    let app = spawn_app().await;
    let response = app.authenticate(json!({})).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["step"], "credentials");
    assert_eq!(body["journey"], "login");
    assert!(body["auth_id"].as_str().expect("auth_id").len() >= 43);
    assert_eq!(
        body["fields"],
        json!([
            {"name": "username", "kind": "text", "label": "Username"},
            {"name": "password", "kind": "password", "label": "Password"}
        ])
    );
    assert_eq!(body["message"], Value::Null);
}

#[tokio::test]
async fn correct_credentials_finish_the_journey_with_a_token_and_a_cookie() {
    let app = spawn_app().await;
    let started = app.start_journey().await;
    let response = app
        .authenticate(json!({
            "auth_id": started["auth_id"],
            "input": {"username": ALICE.0, "password": ALICE.1}
        }))
        .await;
    assert_eq!(response.status(), 200);
    let cookie = set_cookie(response.headers(), "tessera_session").expect("session cookie");
    let body: Value = response.json().await.expect("json");
    let token = body["session_token"].as_str().expect("token");
    assert_eq!(token.len(), 43, "256 bits, base64url");
    assert!(cookie.starts_with(&format!("tessera_session={token};")));
    assert_eq!(body["success_url"], app.url("/account"));
    let expires = time::OffsetDateTime::parse(
        body["expires_at"].as_str().expect("expires_at"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("RFC 3339");
    assert_eq!(expires, app.clock_now() + Duration::minutes(30));
}

#[tokio::test]
async fn input_sent_without_an_auth_id_starts_and_submits_at_once() {
    let app = spawn_app().await;
    let response = app
        .authenticate(json!({"input": {"username": BOB.0, "password": BOB.1}}))
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert!(body["session_token"].is_string());
}

#[tokio::test]
async fn usernames_are_matched_without_regard_to_case_or_surrounding_space() {
    let app = spawn_app().await;
    let response = app
        .authenticate(json!({"input": {"username": "  ALICE ", "password": ALICE.1}}))
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_fail_identically() {
    let app = spawn_app().await;
    let wrong = app
        .authenticate(json!({"input": {"username": ALICE.0, "password": "nope"}}))
        .await;
    let unknown = app
        .authenticate(json!({"input": {"username": "mallory", "password": "nope"}}))
        .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    let wrong: Value = wrong.json().await.expect("json");
    let unknown: Value = unknown.json().await.expect("json");
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["error"], "authentication_failed");
    assert_eq!(wrong["message"], "Invalid username or password.");
}

#[tokio::test]
async fn a_finished_journey_cannot_be_replayed() {
    let app = spawn_app().await;
    let started = app.start_journey().await;
    let submit = json!({
        "auth_id": started["auth_id"],
        "input": {"username": ALICE.0, "password": ALICE.1}
    });
    assert_eq!(app.authenticate(submit.clone()).await.status(), 200);
    let replay = app.authenticate(submit).await;
    assert_eq!(replay.status(), 400);
    let body: Value = replay.json().await.expect("json");
    assert_eq!(body["error"], "journey_expired");
}

#[tokio::test]
async fn a_failed_journey_cannot_be_continued() {
    let app = spawn_app().await;
    let started = app.start_journey().await;
    let wrong =
        json!({"auth_id": started["auth_id"], "input": {"username": ALICE.0, "password": "x"}});
    assert_eq!(app.authenticate(wrong).await.status(), 401);
    let right =
        json!({"auth_id": started["auth_id"], "input": {"username": ALICE.0, "password": ALICE.1}});
    let response = app.authenticate(right).await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn an_auth_id_expires_after_the_journey_ttl() {
    let app = spawn_app_with("[journeys]\nttl_secs = 60").await;
    let started = app.start_journey().await;
    app.clock.advance(Duration::seconds(61));
    let response = app
        .authenticate(json!({
            "auth_id": started["auth_id"],
            "input": {"username": ALICE.0, "password": ALICE.1}
        }))
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "journey_expired");
}

#[tokio::test]
async fn an_unknown_auth_id_is_rejected() {
    let app = spawn_app().await;
    let response = app
        .authenticate(json!({"auth_id": "made-up", "input": {"username": "a", "password": "b"}}))
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "journey_expired");
}

#[tokio::test]
async fn a_missing_field_is_an_input_error_and_the_step_can_be_retried() {
    let app = spawn_app().await;
    let started = app.start_journey().await;
    let response = app
        .authenticate(json!({"auth_id": started["auth_id"], "input": {"username": ALICE.0}}))
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "invalid_input");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("password")
    );
    let retry = app
        .authenticate(json!({
            "auth_id": started["auth_id"],
            "input": {"username": ALICE.0, "password": ALICE.1}
        }))
        .await;
    assert_eq!(retry.status(), 200);
}

#[tokio::test]
async fn an_unknown_journey_is_a_404_that_names_it() {
    let app = spawn_app().await;
    let response = app.authenticate_journey("teleport", json!({})).await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "unknown_journey");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("teleport")
    );
}

/// The `success_url` of a one-shot REST sign-in as alice with `goto`.
async fn success_url(app: &TestApp, goto: &str) -> String {
    let response = app
        .api
        .post(app.url("/api/authenticate"))
        .query(&[("journey", "login"), ("goto", goto)])
        .json(&json!({"input": {"username": ALICE.0, "password": ALICE.1}}))
        .send()
        .await
        .expect("request");
    let body: Value = response.json().await.expect("json");
    body["success_url"]
        .as_str()
        .expect("a success_url")
        .to_owned()
}

#[tokio::test]
async fn a_goto_on_tessera_becomes_the_success_url_and_any_other_is_ignored() {
    let app = spawn_app().await;
    for (goto, expected) in [
        ("/account?tab=sessions", app.url("/account?tab=sessions")),
        ("https://evil.example/phish", app.url("/account")),
        ("//evil.example/phish", app.url("/account")),
    ] {
        assert_eq!(success_url(&app, goto).await, expected, "goto {goto}");
    }
}

/// A client whose URIs name two origins, and a first-party app that shares
/// the session cookie.
const RETURN_ORIGINS: &str = r#"
[sessions]
return_origins = ["https://wiki.example.com"]

[[clients]]
client_id = "notes"
redirect_uris = ["http://127.0.0.1:9000/callback"]
post_logout_redirect_uris = ["https://notes.example.net/bye"]
scopes = ["openid"]
grant_types = ["authorization_code"]
"#;

#[tokio::test]
async fn a_goto_to_a_client_or_return_origin_becomes_the_success_url_and_no_other_origin_does() {
    let app = spawn_app_with(RETURN_ORIGINS).await;
    for (goto, expected) in [
        (
            "http://127.0.0.1:9000/notes/7",
            "http://127.0.0.1:9000/notes/7",
        ),
        ("https://notes.example.net/", "https://notes.example.net/"),
        (
            "https://wiki.example.com/page?x=1",
            "https://wiki.example.com/page?x=1",
        ),
        ("http://127.0.0.1:9001/notes", &app.url("/account")),
        ("http://wiki.example.com/", &app.url("/account")),
        (
            "https://wiki.example.com.evil.example/",
            &app.url("/account"),
        ),
    ] {
        assert_eq!(success_url(&app, goto).await, expected, "goto {goto}");
    }
}

#[tokio::test]
async fn a_disabled_user_cannot_log_in() {
    let app = spawn_app_with(
        "[[users]]\nusername = \"carol\"\npassword = \"carol's password\"\ndisabled = true\n",
    )
    .await;
    let response = app
        .authenticate(json!({"input": {"username": "carol", "password": "carol's password"}}))
        .await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.expect("json");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("disabled")
    );
}

#[tokio::test]
async fn repeated_failures_lock_a_username_whether_or_not_it_exists() {
    let app =
        spawn_app_with("[lockout]\nmax_failures = 3\nwindow_secs = 60\nduration_secs = 300").await;
    for username in [ALICE.0, "nobody"] {
        for attempt in 1..=3 {
            let response = app
                .authenticate(json!({"input": {"username": username, "password": "wrong"}}))
                .await;
            assert_eq!(response.status(), 401, "{username} attempt {attempt}");
        }
        let locked = app
            .authenticate(json!({"input": {"username": username, "password": ALICE.1}}))
            .await;
        assert_eq!(locked.status(), 401);
        let body: Value = locked.json().await.expect("json");
        assert!(
            body["message"]
                .as_str()
                .expect("message")
                .contains("Too many failed sign-in attempts"),
            "{username}: {body}"
        );
    }
    // Other accounts are not affected, and the lock ends on time.
    let bob = app
        .authenticate(json!({"input": {"username": BOB.0, "password": BOB.1}}))
        .await;
    assert_eq!(bob.status(), 200);
    app.clock.advance(Duration::seconds(301));
    let alice = app
        .authenticate(json!({"input": {"username": ALICE.0, "password": ALICE.1}}))
        .await;
    assert_eq!(alice.status(), 200);
}

#[tokio::test]
async fn failures_spread_beyond_the_window_do_not_lock() {
    let app =
        spawn_app_with("[lockout]\nmax_failures = 2\nwindow_secs = 60\nduration_secs = 300").await;
    let wrong = json!({"input": {"username": ALICE.0, "password": "wrong"}});
    assert_eq!(app.authenticate(wrong.clone()).await.status(), 401);
    app.clock.advance(Duration::seconds(61));
    assert_eq!(app.authenticate(wrong).await.status(), 401);
    let right = app
        .authenticate(json!({"input": {"username": ALICE.0, "password": ALICE.1}}))
        .await;
    assert_eq!(right.status(), 200);
}

/// A server hashing 12 passwords at once, as one on many cores or several
/// replicas do, with the base config's hashing replaced by `hashing` and
/// at most `max_failures` failures a minute.
async fn spawn_hashing_in_parallel(hashing: &str, max_failures: u32) -> crate::helpers::TestApp {
    let config = crate::helpers::base_config().replace(
        "memory_kib = 256\niterations = 1",
        &format!("{hashing}\nmax_concurrent = 12"),
    );
    crate::helpers::spawn_app_from(&format!(
        "{config}\n[lockout]\nmax_failures = {max_failures}\nwindow_secs = 60\nduration_secs = 300"
    ))
    .await
}

#[tokio::test]
async fn parallel_guesses_get_no_more_answers_than_the_lockout_allows() {
    // Every guess hashed at once: the lock is decided after the hash.
    let app = spawn_hashing_in_parallel("memory_kib = 256\niterations = 1", 3).await;
    let guesses = (0..12).map(|i| {
        app.authenticate(json!({"input": {"username": ALICE.0, "password": format!("guess {i}")}}))
    });
    let mut checked = 0;
    for response in futures_util::future::join_all(guesses).await {
        assert_eq!(response.status(), 401);
        let body: Value = response.json().await.expect("json");
        if body["message"] == "Invalid username or password." {
            checked += 1;
        }
    }
    assert_eq!(
        checked, 3,
        "only max_failures guesses may be answered before the lock"
    );
}

#[tokio::test]
async fn parallel_right_passwords_all_sign_in_however_low_the_lockout() {
    // Each hash as costly as by default, so that the logins overlap.
    let app = spawn_hashing_in_parallel("memory_kib = 19456\niterations = 2", 2).await;
    let logins = (0..12)
        .map(|_| app.authenticate(json!({"input": {"username": ALICE.0, "password": ALICE.1}})));
    for response in futures_util::future::join_all(logins).await {
        assert_eq!(
            response.status(),
            200,
            "a right password is never locked out"
        );
    }
}

async fn attempt_from(app: &crate::helpers::TestApp, forwarded: &str, password: &str) -> u16 {
    app.api
        .post(app.url("/api/authenticate"))
        .header("x-forwarded-for", forwarded)
        .json(&json!({"input": {"username": BOB.0, "password": password}}))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_is_throttled_on_its_own() {
    let config = crate::helpers::base_config().replace(
        "workers = 2",
        "workers = 2\ntrusted_proxies = [\"127.0.0.1\"]",
    );
    let app = crate::helpers::spawn_app_from(&format!(
        "{config}\n[lockout]\nmax_failures_per_address = 2\n"
    ))
    .await;
    for _ in 0..2 {
        assert_eq!(attempt_from(&app, "198.51.100.1", "wrong").await, 401);
    }
    assert_eq!(
        attempt_from(&app, "198.51.100.1", BOB.1).await,
        401,
        "that client is locked out"
    );
    assert_eq!(
        attempt_from(&app, "198.51.100.2", BOB.1).await,
        200,
        "another is not"
    );
}

#[tokio::test]
async fn without_trusted_proxies_a_forwarded_header_changes_nothing() {
    let app = spawn_app_with("[lockout]\nmax_failures_per_address = 2").await;
    assert_eq!(attempt_from(&app, "198.51.100.1", "wrong").await, 401);
    assert_eq!(attempt_from(&app, "198.51.100.2", "wrong").await, 401);
    assert_eq!(
        attempt_from(&app, "198.51.100.3", BOB.1).await,
        401,
        "the peer address counts, whatever the header claims"
    );
}

#[tokio::test]
async fn concurrent_submissions_of_one_journey_yield_a_single_session() {
    let app = spawn_app().await;
    let started = app.start_journey().await;
    let submit = json!({
        "auth_id": started["auth_id"],
        "input": {"username": ALICE.0, "password": ALICE.1}
    });
    let answers =
        futures_util::future::join_all((0..16).map(|_| app.authenticate(submit.clone()))).await;
    let sessions = answers.iter().filter(|r| r.status() == 200).count();
    assert_eq!(sessions, 1, "the journey is taken once, whatever the race");
}
