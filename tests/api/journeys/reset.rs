//! Password reset by email code, over REST and in the browser.

use super::*;

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
