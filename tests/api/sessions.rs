//! Session endpoints, lifetimes and revocation.

use crate::helpers::{ALICE, BOB, set_cookie, spawn_app, spawn_app_with};
use serde_json::Value;
use time::Duration;

#[tokio::test]
async fn the_current_session_is_found_by_header_and_by_cookie() {
    let app = spawn_app().await;
    let token = app.login_rest(ALICE).await;
    let by_header = app.get_session(&token).await;
    assert_eq!(by_header.status(), 200);
    let body: Value = by_header.json().await.expect("json");
    assert_eq!(body["user"]["username"], "alice");
    assert_eq!(body["user"]["email"], "alice@example.com");
    assert_eq!(body["user"]["name"], "Alice Liddell");
    assert_eq!(body["journey"], "login");
    assert_eq!(body["amr"], serde_json::json!(["pwd"]));
    for key in [
        "created_at",
        "expires_at",
        "auth_time",
        "last_used_at",
        "session_id",
    ] {
        assert!(body[key].is_string(), "{key}");
    }

    let by_cookie = app
        .api
        .get(app.url("/api/session"))
        .header("cookie", format!("tessera_session={token}"))
        .send()
        .await
        .expect("request");
    assert_eq!(by_cookie.status(), 200);
}

#[tokio::test]
async fn no_or_a_bad_token_gets_401_from_the_current_session() {
    let app = spawn_app().await;
    let none = app
        .api
        .get(app.url("/api/session"))
        .send()
        .await
        .expect("request");
    assert_eq!(none.status(), 401);
    let body: Value = none.json().await.expect("json");
    assert_eq!(body["error"], "unauthenticated");
    assert_eq!(app.get_session("not-a-token").await.status(), 401);
}

#[tokio::test]
async fn another_service_validates_tokens() {
    let app = spawn_app().await;
    let token = app.login_rest(BOB).await;
    let valid = app.validate(&token).await;
    assert_eq!(valid["valid"], true);
    assert_eq!(valid["username"], "bob");
    assert!(valid["user_id"].is_string());
    assert!(valid["expires_at"].is_string());
    assert_eq!(
        app.validate("forged").await,
        serde_json::json!({"valid": false})
    );
}

#[tokio::test]
async fn api_logout_revokes_the_session_and_clears_the_cookie() {
    let app = spawn_app().await;
    let token = app.login_rest(ALICE).await;
    let response = app.logout_rest(&token).await;
    assert_eq!(response.status(), 204);
    let cleared = set_cookie(response.headers(), "tessera_session").expect("cookie cleared");
    assert!(cleared.contains("Max-Age=0"));
    assert_eq!(app.validate(&token).await["valid"], false);
    assert_eq!(app.get_session(&token).await.status(), 401);
    assert_eq!(
        app.logout_rest(&token).await.status(),
        204,
        "logout is idempotent"
    );
}

#[tokio::test]
async fn a_session_ends_after_the_idle_timeout() {
    let app =
        spawn_app_with("[sessions]\nidle_timeout_secs = 600\nabsolute_lifetime_secs = 3600").await;
    let token = app.login_rest(ALICE).await;
    app.clock.advance(Duration::seconds(599));
    assert_eq!(app.validate(&token).await["valid"], true);
    app.clock.advance(Duration::seconds(599));
    assert_eq!(
        app.validate(&token).await["valid"],
        true,
        "use resets the idle timer"
    );
    app.clock.advance(Duration::seconds(601));
    assert_eq!(app.validate(&token).await["valid"], false);
}

#[tokio::test]
async fn a_session_in_use_still_ends_at_its_absolute_lifetime() {
    let app =
        spawn_app_with("[sessions]\nidle_timeout_secs = 600\nabsolute_lifetime_secs = 1500").await;
    let token = app.login_rest(ALICE).await;
    for _ in 0..2 {
        app.clock.advance(Duration::seconds(500));
        assert_eq!(app.validate(&token).await["valid"], true);
    }
    app.clock.advance(Duration::seconds(501));
    assert_eq!(app.validate(&token).await["valid"], false);
}

#[tokio::test]
async fn validation_records_the_last_use_only_coarsely() {
    let app = spawn_app().await;
    let token = app.login_rest(ALICE).await;
    let first: Value = app.get_session(&token).await.json().await.expect("json");
    app.clock.advance(Duration::seconds(30));
    let soon: Value = app.get_session(&token).await.json().await.expect("json");
    assert_eq!(
        soon["last_used_at"], first["last_used_at"],
        "no write within a minute"
    );
    app.clock.advance(Duration::seconds(31));
    let later: Value = app.get_session(&token).await.json().await.expect("json");
    assert_ne!(later["last_used_at"], first["last_used_at"]);
}

#[tokio::test]
async fn every_login_issues_a_fresh_token_and_retires_the_one_presented() {
    let app = spawn_app().await;
    let first = app.login_rest(ALICE).await;
    let response = app
        .api
        .post(app.url("/api/authenticate"))
        .header("X-Session-Token", &first)
        .json(&serde_json::json!({"input": {"username": ALICE.0, "password": ALICE.1}}))
        .send()
        .await
        .expect("request");
    let second: Value = response.json().await.expect("json");
    let second = second["session_token"].as_str().expect("token");
    assert_ne!(second, first);
    assert_eq!(app.validate(&first).await["valid"], false);
    assert_eq!(app.validate(second).await["valid"], true);
}

#[tokio::test]
async fn expired_sessions_and_journeys_are_purged_from_the_store() {
    let app =
        spawn_app_with("[sessions]\nidle_timeout_secs = 600\nabsolute_lifetime_secs = 3600").await;
    let token = app.login_rest(ALICE).await;
    app.authenticate(serde_json::json!({})).await;
    app.clock.advance(Duration::seconds(3601));
    let engine = app.engine.clone();
    let (sessions, journeys) = tokio::task::spawn_blocking(move || {
        (
            tessera::sessions::purge_expired(&engine.ctx).expect("purge sessions"),
            engine.purge_expired().expect("purge journeys"),
        )
    })
    .await
    .expect("join");
    assert_eq!(sessions, 1);
    assert_eq!(journeys, 1);
    assert_eq!(app.validate(&token).await["valid"], false);
}

#[tokio::test]
async fn the_health_check_answers_200() {
    let app = spawn_app().await;
    let response = app
        .api
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.expect("json")["status"],
        "ok"
    );
}

#[tokio::test]
async fn api_logout_by_cookie_from_another_origin_is_refused() {
    let app = spawn_app().await;
    let token = app.login_rest(ALICE).await;
    let cookie = format!("tessera_session={token}");
    let foreign = app
        .api
        .post(app.url("/api/logout"))
        .header("cookie", &cookie)
        .header("origin", "http://127.0.0.1:9000")
        .header("sec-fetch-site", "same-site")
        .send()
        .await
        .expect("request");
    assert_eq!(foreign.status(), 403);
    assert_eq!(
        foreign.json::<Value>().await.expect("json")["error"],
        "cross_origin_request"
    );
    assert_eq!(app.validate(&token).await["valid"], true);

    let own = app
        .api
        .post(app.url("/api/logout"))
        .header("cookie", &cookie)
        .header("origin", &app.address)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .expect("request");
    assert_eq!(own.status(), 204);
    assert_eq!(app.validate(&token).await["valid"], false);
}

#[tokio::test]
async fn a_password_changed_by_seeding_ends_the_sessions_made_with_the_old_one() {
    let app = spawn_app().await;
    let alice = app.login_rest(ALICE).await;
    let bob = app.login_rest(BOB).await;
    let engine = app.engine.clone();
    tokio::task::spawn_blocking(move || {
        let mut seeds = engine.ctx.settings.users.clone();
        seeds[0].password = Some(tessera::secret::SecretString::new("a brand new password"));
        engine.accounts.seed(&seeds).expect("seed")
    })
    .await
    .expect("join");
    assert_eq!(app.validate(&alice).await["valid"], false);
    assert_eq!(
        app.validate(&bob).await["valid"],
        true,
        "unchanged users keep their sessions"
    );
}
