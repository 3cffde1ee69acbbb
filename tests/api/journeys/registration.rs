//! Registration: email verification, policy, terms, non-enumeration, and
//! switching it off.

use super::*;

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
