//! One-time codes and throttling: attempts, expiry, cool-down, hashing,
//! and failures counted per address.

use super::*;

#[tokio::test]
async fn starting_journey_after_journey_gives_no_fresh_guesses_at_a_code() {
    let app = spawn_app_with("[lockout]\nmax_failures = 3").await;
    let mut last = Value::Null;
    for _ in 0..3 {
        let started = app.start_named("reset_password").await;
        let (_, step) = app
            .submit(&started["auth_id"], json!({"username": "alice"}))
            .await;
        let (_, answer) = app
            .submit(&step["auth_id"], json!({"code": "000000"}))
            .await;
        last = answer;
    }
    assert!(
        last["message"]
            .as_str()
            .expect("message")
            .contains("not right"),
        "{last}"
    );
    let started = app.start_named("reset_password").await;
    let (_, step) = app
        .submit(&started["auth_id"], json!({"username": "alice"}))
        .await;
    let code = app.code_for("alice@example.com", 3).await;
    let (status, answer) = app.submit(&step["auth_id"], json!({"code": code})).await;
    assert_eq!(status, 200);
    assert!(
        answer["message"]
            .as_str()
            .expect("message")
            .contains("Too many wrong codes"),
        "even the right code waits out the lock: {answer}"
    );
}

#[tokio::test]
async fn wrong_codes_are_retried_until_the_attempts_run_out() {
    let app = spawn_app().await;
    let auth_id = register_until_code(&app, DAVE.1).await;
    for _ in 0..4 {
        let (status, step) = app.submit(&auth_id, json!({"code": "000000"})).await;
        assert_eq!(status, 200);
        assert!(
            step["message"]
                .as_str()
                .expect("message")
                .contains("not right")
        );
    }
    let (status, body) = app.submit(&auth_id, json!({"code": "000000"})).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "authentication_failed");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("Too many attempts")
    );
    let code = app.code_for(DAVE.1, 1).await;
    let (status, _) = app.submit(&auth_id, json!({"code": code})).await;
    assert_eq!(status, 400, "the journey is over");
}

#[tokio::test]
async fn a_code_expires_and_a_new_one_can_be_asked_for_after_a_cool_down() {
    let app = spawn_app_with("[journeys]\nttl_secs = 3600").await;
    let auth_id = register_until_code(&app, DAVE.1).await;
    let first = app.code_for(DAVE.1, 1).await;
    let (_, step) = app.submit(&auth_id, json!({"action": "resend"})).await;
    assert!(step["message"].as_str().expect("message").contains("Wait"));

    app.clock.advance(Duration::seconds(601));
    let (_, step) = app.submit(&auth_id, json!({"code": first})).await;
    assert!(
        step["message"]
            .as_str()
            .expect("message")
            .contains("expired")
    );
    let (_, step) = app.submit(&auth_id, json!({"action": "resend"})).await;
    assert_eq!(step["message"], "We sent a new code.");
    // Mail is delivered in order: had the cool-down resend sent anything,
    // message 2 would hold a code that no longer matches.
    let second = app.code_for(DAVE.1, 2).await;
    if second != first {
        let (_, step) = app.submit(&auth_id, json!({"code": first})).await;
        assert!(step["message"].is_string(), "the old code no longer works");
    }
    let (status, done) = app.submit(&auth_id, json!({"code": second})).await;
    assert_eq!(status, 200);
    assert!(done["session_token"].is_string());
}

#[tokio::test]
async fn the_store_keeps_no_code_in_the_clear() {
    let app = spawn_app().await;
    let auth_id = register_until_code(&app, DAVE.1).await;
    let code = app.code_for(DAVE.1, 1).await;
    let hash = tessera::secret::Token::from_presented(auth_id.as_str().expect("auth_id")).hash();
    let ctx = app.ctx.clone();
    let state = tokio::task::spawn_blocking(move || {
        ctx.store
            .read(|tx| tx.journey(&hash))
            .expect("read")
            .expect("journey state")
    })
    .await
    .expect("join");
    let stored = serde_json::to_string(&state).expect("json");
    assert!(
        stored.contains("verify_email"),
        "sanity: the code node's data is there"
    );
    assert!(
        !stored.contains(&code),
        "code stored in the clear: {stored}"
    );
}

#[tokio::test]
async fn failures_from_one_address_are_throttled_across_usernames() {
    let app = spawn_app_with("[lockout]\nmax_failures_per_address = 3").await;
    for username in ["x", "y", "z"] {
        let response = app
            .authenticate(json!({"input": {"username": username, "password": "wrong"}}))
            .await;
        assert_eq!(response.status(), 401);
    }
    let response = app
        .authenticate(json!({"input": {"username": BOB.0, "password": BOB.1}}))
        .await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.expect("json");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("from your network")
    );
}
