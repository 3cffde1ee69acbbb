//! Registration, one-time codes, password reset, step-up and journeys
//! declared in config, through REST and HTML.

use crate::helpers::{ALICE, BOB, location, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use time::Duration;

const DAVE: (&str, &str, &str) = ("dave", "dave@example.com", "a long and unusual passphrase");

/// Registers dave over REST up to the code step; returns the auth_id.
async fn register_until_code(app: &crate::helpers::TestApp, email: &str) -> Value {
    let started = app.start_named("register").await;
    assert_eq!(started["step"], "register");
    let (status, step) = app
        .submit(
            &started["auth_id"],
            json!({"username": DAVE.0, "email": email, "password": DAVE.2, "name": "Dave"}),
        )
        .await;
    assert_eq!(status, 200, "{step}");
    assert_eq!(step["step"], "one_time_code");
    step["auth_id"].clone()
}

#[tokio::test]
async fn registration_over_rest_verifies_the_email_with_a_code_from_the_outbox() {
    let app = spawn_app().await;
    let started = app.start_named("register").await;
    let names: Vec<&str> = started["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["username", "email", "password", "name"]);

    let auth_id = register_until_code(&app, DAVE.1).await;
    let code = app.code_for(DAVE.1, 1).await;
    assert_eq!(code.len(), 6);
    let (status, done) = app.submit(&auth_id, json!({"code": code})).await;
    assert_eq!(status, 200, "{done}");
    let token = done["session_token"].as_str().expect("token");
    let session: Value = app.get_session(token).await.json().await.expect("json");
    assert_eq!(session["user"]["username"], "dave");
    assert_eq!(session["user"]["email"], DAVE.1);
    assert_eq!(session["journey"], "register");
    assert_eq!(session["amr"], json!(["pwd", "otp"]));
    // The new account signs in with its password.
    app.login_rest((DAVE.0, DAVE.2)).await;
}

#[tokio::test]
async fn no_account_exists_until_the_email_is_verified() {
    let app = spawn_app().await;
    register_until_code(&app, DAVE.1).await;
    let response = app
        .authenticate(json!({"input": {"username": DAVE.0, "password": DAVE.2}}))
        .await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn registration_in_the_browser_ends_on_the_account_page() {
    let app = spawn_app().await;
    let page = app.get_page("/register").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("Create an account"));
    assert!(html.contains(r#"name="email" type="email""#));
    let response = app
        .submit_form(
            &html,
            &[
                ("username", DAVE.0),
                ("email", DAVE.1),
                ("password", DAVE.2),
                ("name", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("html");
    assert!(
        html.contains("We sent a 6-digit code to d•••e@example.com"),
        "{html}"
    );
    assert!(html.contains(r#"inputmode="numeric""#));
    assert!(html.contains(r#"value="resend""#), "a resend button");
    let code = app.code_for(DAVE.1, 1).await;
    let done = app.submit_form(&html, &[("code", &code)]).await;
    assert_eq!(done.status(), 303);
    assert_eq!(location(&done), app.url("/account"));
    let account = app.get_page("/account").await.text().await.expect("html");
    assert!(account.contains("dave@example.com"));
}

#[tokio::test]
async fn registration_refuses_weak_passwords_and_bad_emails_and_can_be_corrected() {
    let app = spawn_app().await;
    let started = app.start_named("register").await;
    let auth_id = &started["auth_id"];
    for (input, expected) in [
        (
            json!({"username": DAVE.0, "email": DAVE.1, "password": "short"}),
            "at least 8 characters",
        ),
        (
            json!({"username": DAVE.0, "email": DAVE.1, "password": "dave-and-more"}),
            "username",
        ),
        (
            json!({"username": DAVE.0, "email": "not-an-email", "password": DAVE.2}),
            "valid email",
        ),
    ] {
        let (status, step) = app.submit(auth_id, input.clone()).await;
        assert_eq!(status, 200, "{input}");
        assert_eq!(step["step"], "register");
        let message = step["message"].as_str().expect("message");
        assert!(message.contains(expected), "{input}: {message}");
    }
    let (_, step) = app
        .submit(
            auth_id,
            json!({"username": DAVE.0, "email": DAVE.1, "password": DAVE.2}),
        )
        .await;
    assert_eq!(step["step"], "one_time_code");
}

#[tokio::test]
async fn registering_a_known_email_mails_its_owner_instead_of_revealing_it() {
    let app = spawn_app().await;
    let auth_id = register_until_code(&app, "ALICE@example.com").await;
    let mails = app.wait_for_mails_to("ALICE@example.com", 1).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("You already have an account"));
    assert!(!mails[0].contains("Your code is"));
    let (status, step) = app.submit(&auth_id, json!({"code": "000000"})).await;
    assert_eq!(status, 200);
    assert!(
        step["message"]
            .as_str()
            .expect("message")
            .contains("not right")
    );
}

#[tokio::test]
async fn terms_must_be_accepted_when_configured() {
    let app = spawn_app_with(
        r#"
[journeys.register]
title = "Join"
start = "details"
[journeys.register.nodes.details]
type = "register"
terms_text = "I accept the house rules"
terms_url = "https://example.com/rules"
next = { success = "success", failure = "failure" }
"#,
    )
    .await;
    let started = app.start_named("register").await;
    let terms = &started["fields"][4];
    assert_eq!(terms["name"], "accept_terms");
    assert_eq!(terms["kind"], "checkbox");
    assert_eq!(terms["link"], "https://example.com/rules");
    let details = json!({"username": DAVE.0, "email": DAVE.1, "password": DAVE.2});
    let (_, step) = app.submit(&started["auth_id"], details.clone()).await;
    assert!(
        step["message"]
            .as_str()
            .expect("message")
            .contains("Accept the terms")
    );
    let mut accepted = details;
    accepted["accept_terms"] = json!("yes");
    let (status, done) = app.submit(&started["auth_id"], accepted).await;
    assert_eq!(status, 200);
    assert!(done["session_token"].is_string(), "{done}");
}

#[tokio::test]
async fn self_registration_can_be_switched_off() {
    let app = spawn_app_with("[accounts]\nself_registration = false").await;
    let page = app.get_page("/register").await;
    assert_eq!(page.status(), 404);
    assert!(
        page.text()
            .await
            .expect("html")
            .contains("Registration is closed")
    );
    let response = app.authenticate_journey("register", json!({})).await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "registration_closed");
    let login = app.get_page("/login").await.text().await.expect("html");
    assert!(!login.contains("Create an account"));
}

#[tokio::test]
async fn the_login_page_links_to_password_reset_and_registration() {
    let app = spawn_app().await;
    let html = app.get_page("/login").await.text().await.expect("html");
    assert!(html.contains(r#"href="/reset-password""#));
    assert!(html.contains(r#"href="/register""#));
}

/// Resets alice's password over REST, naming her by `name`.
async fn reset(app: &crate::helpers::TestApp, name: &str, new_password: &str) -> (u16, Value) {
    let started = app.start_named("reset_password").await;
    assert_eq!(started["step"], "identify");
    let (_, step) = app
        .submit(&started["auth_id"], json!({"username": name}))
        .await;
    assert_eq!(step["step"], "one_time_code");
    let code = app.code_for("alice@example.com", 1).await;
    let (_, step) = app.submit(&step["auth_id"], json!({"code": code})).await;
    assert_eq!(step["step"], "set_password");
    app.submit(
        &step["auth_id"],
        json!({"password": new_password, "password_confirm": new_password}),
    )
    .await
}

#[tokio::test]
async fn a_password_reset_by_email_code_ends_the_old_sessions_and_signs_in() {
    let app = spawn_app().await;
    let old_session = app.login_rest(ALICE).await;
    let (status, done) = reset(&app, "alice@example.com", "a completely new secret").await;
    assert_eq!(status, 200, "{done}");
    assert!(done["session_token"].is_string());
    assert_eq!(app.validate(&old_session).await["valid"], false);
    let old = app
        .authenticate(json!({"input": {"username": ALICE.0, "password": ALICE.1}}))
        .await;
    assert_eq!(old.status(), 401);
    app.login_rest((ALICE.0, "a completely new secret")).await;
}

#[tokio::test]
async fn a_reset_also_accepts_the_username() {
    let app = spawn_app().await;
    let (status, _) = reset(&app, "Alice", "a completely new secret").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_reset_for_an_unknown_account_looks_the_same_and_sends_nothing() {
    let app = spawn_app().await;
    let started = app.start_named("reset_password").await;
    let (status, step) = app
        .submit(
            &started["auth_id"],
            json!({"username": "nobody@example.com"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(step["step"], "one_time_code");
    let unknown_text = step["display"][0]["text"].clone();
    assert!(
        unknown_text
            .as_str()
            .expect("text")
            .contains("If the account has an email address")
    );
    let (_, step) = app
        .submit(&step["auth_id"], json!({"code": "123456"}))
        .await;
    assert!(
        step["message"]
            .as_str()
            .expect("message")
            .contains("not right")
    );

    // A known name shows exactly the same step, and only it gets mail
    // (delivered in order, so nothing for the unknown name is still due).
    let started = app.start_named("reset_password").await;
    let (_, known) = app
        .submit(&started["auth_id"], json!({"username": "alice"}))
        .await;
    assert_eq!(known["display"][0]["text"], unknown_text);
    app.wait_for_mails_to("alice@example.com", 1).await;
    assert_eq!(app.mails().len(), 1);
}

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
async fn an_email_with_a_display_name_or_brackets_is_refused_at_registration() {
    let app = spawn_app().await;
    let started = app.start_named("register").await;
    let (_, step) = app
        .submit(
            &started["auth_id"],
            json!({"username": DAVE.0, "email": "\"victim@corp.com\"<attacker@evil.com>", "password": DAVE.2}),
        )
        .await;
    assert_eq!(step["step"], "register");
    assert!(
        step["message"]
            .as_str()
            .expect("message")
            .contains("valid email")
    );
}

#[tokio::test]
async fn a_reset_refuses_mismatched_or_weak_new_passwords() {
    let app = spawn_app().await;
    let started = app.start_named("reset_password").await;
    let (_, step) = app
        .submit(&started["auth_id"], json!({"username": ALICE.0}))
        .await;
    let code = app.code_for("alice@example.com", 1).await;
    let (_, step) = app.submit(&step["auth_id"], json!({"code": code})).await;
    let auth_id = step["auth_id"].clone();
    let (_, step) = app
        .submit(
            &auth_id,
            json!({"password": "one long secret", "password_confirm": "another"}),
        )
        .await;
    assert!(
        step["message"]
            .as_str()
            .expect("message")
            .contains("differ")
    );
    let (_, step) = app
        .submit(
            &auth_id,
            json!({"password": "qwerty123", "password_confirm": "qwerty123"}),
        )
        .await;
    assert!(
        step["message"]
            .as_str()
            .expect("message")
            .contains("common")
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

const STEP_UP: &str = r#"
[journeys.confirm]
title = "Confirm it's you"
step_up = true
start = "code"
[journeys.confirm.nodes.code]
type = "one_time_code"
next = { success = "success", failure = "failure" }
"#;

#[tokio::test]
async fn a_step_up_journey_adds_methods_to_the_session_it_runs_on() {
    let app = spawn_app_with(STEP_UP).await;
    let token = app.login_rest(ALICE).await;
    let started: Value = app
        .api
        .post(app.url("/api/authenticate?journey=confirm"))
        .header("X-Session-Token", &token)
        .json(&json!({}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(started["step"], "one_time_code");
    let code = app.code_for("alice@example.com", 1).await;
    let done: Value = app
        .api
        .post(app.url("/api/authenticate"))
        .header("X-Session-Token", &token)
        .json(&json!({"auth_id": started["auth_id"], "input": {"code": code}}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(
        done["session_token"],
        token.as_str(),
        "same session, same token"
    );
    let session: Value = app.get_session(&token).await.json().await.expect("json");
    assert_eq!(session["amr"], json!(["pwd", "otp"]));
    assert_eq!(
        session["journey"], "login",
        "the session keeps its identity"
    );
}

#[tokio::test]
async fn a_step_up_journey_needs_a_session() {
    let app = spawn_app_with(STEP_UP).await;
    let response = app.authenticate_journey("confirm", json!({})).await;
    assert_eq!(response.status(), 401);
    let page = app.get_page("/login?journey=confirm").await;
    assert_eq!(page.status(), 303);
    assert!(location(&page).starts_with("/login?goto="));
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

#[tokio::test]
async fn a_password_reset_in_the_browser_ends_signed_in_with_the_new_password() {
    let app = spawn_app().await;
    let html = app
        .get_page("/reset-password")
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("Reset your password"));
    assert!(html.contains("Username or email"));
    let html = app
        .submit_form(&html, &[("username", "alice")])
        .await
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("If the account has an email address"),
        "{html}"
    );
    let code = app.code_for("alice@example.com", 1).await;
    let html = app
        .submit_form(&html, &[("code", &code)])
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("Repeat the new password"), "{html}");
    assert!(html.contains(r#"autocomplete="new-password""#));
    let new = "a fresh and long secret";
    let done = app
        .submit_form(&html, &[("password", new), ("password_confirm", new)])
        .await;
    assert_eq!(done.status(), 303);
    assert_eq!(location(&done), app.url("/account"));
    app.login_rest((ALICE.0, new)).await;
}

#[tokio::test]
async fn registration_without_verification_refuses_a_taken_email_without_a_500() {
    let app = spawn_app_with(
        r#"
[journeys.register]
start = "details"
[journeys.register.nodes.details]
type = "register"
next = { success = "success", failure = "failure" }
"#,
    )
    .await;
    let taken = json!({"username": DAVE.0, "email": "alice@example.com", "password": DAVE.2});
    let started = app.start_named("register").await;
    let (status, body) = app.submit(&started["auth_id"], taken).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "conflict");

    let html = app.get_page("/register").await.text().await.expect("html");
    let response = app
        .submit_form(
            &html,
            &[
                ("username", DAVE.0),
                ("email", "alice@example.com"),
                ("password", DAVE.2),
            ],
        )
        .await;
    assert_eq!(response.status(), 409);
    assert!(
        response
            .text()
            .await
            .expect("html")
            .contains("belongs to another account")
    );
}
