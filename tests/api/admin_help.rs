//! Helping a user back in, through the admin API and the admin pages:
//! unlocking an account that failed attempts locked, and mailing a link
//! that starts the password reset journey.

use crate::admin_api::{self, Auth, ROOT, admin_send, answer, assert_refused, create_user};
use crate::admin_pages;
use crate::helpers::{ALICE, TestApp, csrf_token, location, spawn_app_with};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera::accounts::lockout;
use tessera::store::LoginThrottle;

const CAROL: (&str, &str) = ("carol", "a long enough passphrase");

/// The admin API's app, locking a username after three failures.
async fn strict_app() -> TestApp {
    spawn_app_with(&admin_api::admin_config(
        "[lockout]\nmax_failures = 3\nwindow_secs = 60\nduration_secs = 300",
    ))
    .await
}

/// alice's account id (she is declared in the config).
fn alice_id(app: &TestApp) -> String {
    app.engine
        .accounts
        .get_by_username(ALICE.0)
        .expect("alice")
        .id
}

/// The status of a REST sign-in.
async fn sign_in(app: &TestApp, (username, password): (&str, &str)) -> StatusCode {
    app.authenticate(json!({"input": {"username": username, "password": password}}))
        .await
        .status()
}

/// Fails `username`'s sign-in three times, which locks it.
async fn lock_out(app: &TestApp, username: &str) {
    for _ in 0..3 {
        assert_eq!(sign_in(app, (username, "not the password")).await, 401);
    }
}

/// The admin API's view of the user `id`.
async fn user(app: &TestApp, root: &str, id: &str) -> Value {
    let (status, user) =
        answer(admin_api::admin_get(app, Auth::Session(root), &format!("/users/{id}")).await).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    user
}

/// The newest `admin.*` event of the audit log.
async fn last_admin_event(app: &TestApp, root: &str) -> Value {
    let (status, page) =
        answer(admin_api::admin_get(app, Auth::Session(root), "/audit?type=admin&limit=1").await)
            .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"][0].clone()
}

#[tokio::test]
async fn an_administrator_unlocks_an_account_that_failed_sign_ins_locked() {
    let app = strict_app().await;
    let root = app.login_rest(ROOT).await;
    // alice is declared in the config: her lock is not, so it can be lifted.
    let id = alice_id(&app);
    assert_eq!(user(&app, &root, &id).await["locked_until"], Value::Null);
    lock_out(&app, ALICE.0).await;
    assert_eq!(sign_in(&app, ALICE).await, 401, "locked out");
    assert!(user(&app, &root, &id).await["locked_until"].is_string());

    let path = format!("/users/{id}/unlock");
    let (status, unlocked) =
        admin_send(&app, Auth::Session(&root), Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{unlocked}");
    assert_eq!(unlocked["locked_until"], Value::Null);
    assert_eq!(sign_in(&app, ALICE).await, 200);

    let event = last_admin_event(&app, &root).await;
    assert_eq!(event["type"], "admin.user.unlock");
    assert_eq!(event["actor"], "user:root");
    assert_eq!(event["subject"], "user:alice");
    assert_eq!(event["details"], json!({"was_locked": "true"}));
}

#[tokio::test]
async fn unlocking_also_forgets_failed_authenticator_codes() {
    let app = strict_app().await;
    let root = app.login_rest(ROOT).await;
    let id = alice_id(&app);
    let until = app.clock_now() + time::Duration::minutes(5);
    let throttle = LoginThrottle {
        failures: 3,
        window_started_at: app.clock_now(),
        locked_until: Some(until),
    };
    app.ctx
        .store
        .write(|tx| tx.put_throttle(&lockout::totp_key(&id), &throttle))
        .expect("locked");
    assert!(user(&app, &root, &id).await["locked_until"].is_string());
    let path = format!("/users/{id}/unlock");
    let (status, unlocked) =
        admin_send(&app, Auth::Session(&root), Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{unlocked}");
    assert_eq!(unlocked["locked_until"], Value::Null);
    let left = app
        .ctx
        .store
        .read(|tx| tx.throttle(&lockout::totp_key(&id)))
        .expect("read");
    assert!(left.is_none(), "{left:?}");
}

#[tokio::test]
async fn unlocking_an_unknown_user_is_a_404_and_needs_an_administrator() {
    let app = strict_app().await;
    let root = app.login_rest(ROOT).await;
    let unknown = admin_send(
        &app,
        Auth::Session(&root),
        Method::POST,
        "/users/nobody/unlock",
        None,
    )
    .await;
    assert_refused(&unknown, StatusCode::NOT_FOUND, "not_found");
    let alice = app.login_rest(ALICE).await;
    let id = alice_id(&app);
    let path = format!("/users/{id}/unlock");
    let refused = admin_send(&app, Auth::Session(&alice), Method::POST, &path, None).await;
    assert_refused(&refused, StatusCode::FORBIDDEN, "forbidden");
}

/// The link in the newest mail to `address`.
async fn reset_link(app: &TestApp, address: &str, nth: usize) -> String {
    let mails = app.wait_for_mails_to(address, nth).await;
    let mail = &mails[nth - 1];
    assert!(mail.contains("Subject: Choose a new password"), "{mail}");
    mail.lines()
        .map(str::trim)
        .find(|line| line.starts_with("http"))
        .unwrap_or_else(|| panic!("no link in {mail}"))
        .to_owned()
}

#[tokio::test]
async fn a_reset_link_mailed_by_an_administrator_starts_the_reset_journey_for_the_user() {
    let app = admin_api::admin_app().await;
    let root = app.login_rest(ROOT).await;
    let id = create_user(&app, &root, CAROL.0, CAROL.1).await;
    let path = format!("/users/{id}/reset-password");
    let (status, sent) = admin_send(&app, Auth::Session(&root), Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    assert_eq!(sent["sent_to"], "carol@example.org");

    let link = reset_link(&app, "carol@example.org", 1).await;
    assert_eq!(link, app.url("/reset-password?login_hint=carol"));
    let page = app.get_page("/reset-password?login_hint=carol").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(
        html.contains(r#"value="carol""#),
        "username filled in: {html}"
    );
    // The journey proves the address with a code of its own.
    let next = app.submit_form(&html, &[("username", "carol")]).await;
    assert_eq!(next.status(), StatusCode::OK);
    app.code_for("carol@example.org", 2).await;
    // Until a new password is chosen, the current one keeps working.
    assert_eq!(sign_in(&app, CAROL).await, 200);

    let event = last_admin_event(&app, &root).await;
    assert_eq!(event["type"], "admin.user.password.reset_link");
    assert_eq!(event["subject"], "user:carol");
}

#[tokio::test]
async fn no_reset_link_goes_to_a_user_without_an_address_disabled_or_declared_in_the_config() {
    let app = admin_api::admin_app().await;
    let root = app.login_rest(ROOT).await;
    let send = async |id: &str| {
        let path = format!("/users/{id}/reset-password");
        admin_send(&app, Auth::Session(&root), Method::POST, &path, None).await
    };
    let id = create_user(&app, &root, CAROL.0, CAROL.1).await;
    let user_path = format!("/users/{id}");
    let no_email = json!({"email": null});
    let (status, _) = admin_send(
        &app,
        Auth::Session(&root),
        Method::PATCH,
        &user_path,
        Some(no_email),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_refused(&send(&id).await, StatusCode::CONFLICT, "conflict");

    let disabled = json!({"email": "carol@example.org", "disabled": true});
    let (status, _) = admin_send(
        &app,
        Auth::Session(&root),
        Method::PATCH,
        &user_path,
        Some(disabled),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_refused(&send(&id).await, StatusCode::CONFLICT, "conflict");

    let alice = alice_id(&app);
    assert_refused(
        &send(&alice).await,
        StatusCode::CONFLICT,
        "managed_by_config",
    );
    assert_refused(&send("nobody").await, StatusCode::NOT_FOUND, "not_found");
    assert!(app.mails_to("carol@example.org").is_empty());
    assert!(app.mails_to("alice@example.com").is_empty());
}

#[tokio::test]
async fn the_user_page_shows_a_lock_and_its_unlock_button_lifts_it() {
    let app = admin_pages::signed_in_admin_with("[lockout]\nmax_failures = 3").await;
    let id = alice_id(&app);
    let user_page = format!("/admin/users/{id}");
    let unlock = format!("/admin/users/{id}/unlock");
    assert!(!admin_pages::page(&app, &user_page).await.contains(&unlock));
    lock_out(&app, ALICE.0).await;
    let html = admin_pages::page(&app, &user_page).await;
    assert!(html.contains("locked by failed attempts until"), "{html}");
    assert!(html.contains(&unlock));

    let refused = app.post_form(&unlock, &[]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN, "no CSRF token");
    assert_eq!(sign_in(&app, ALICE).await, 401);

    let response = admin_pages::act(&app, &user_page, &unlock, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        format!("{user_page}?done=user_unlocked")
    );
    let html = admin_pages::page(&app, &location(&response)).await;
    assert!(html.contains("it can sign in"), "{html}");
    assert!(html.contains("not locked"));
    assert_eq!(sign_in(&app, ALICE).await, 200);
}

#[tokio::test]
async fn the_user_page_mails_a_reset_link_to_a_user_with_an_address() {
    let app = admin_pages::signed_in_admin_with("").await;
    let id = admin_pages::create_user(&app, CAROL.0);
    let user_page = format!("/admin/users/{id}");
    let reset = format!("/admin/users/{id}/reset-password");
    let html = admin_pages::page(&app, &user_page).await;
    assert!(html.contains("has no email address"), "{html}");
    assert!(!html.contains(&reset));

    let csrf = csrf_token(&html);
    let profile = format!("/admin/users/{id}/profile");
    let form = [
        ("csrf_token", csrf.as_str()),
        ("email", "carol@example.org"),
    ];
    assert_eq!(
        app.post_form(&profile, &form).await.status(),
        StatusCode::SEE_OTHER
    );
    let html = admin_pages::page(&app, &user_page).await;
    assert!(html.contains(&reset), "{html}");

    let response = admin_pages::act(&app, &user_page, &reset, &[]).await;
    assert_eq!(location(&response), format!("{user_page}?done=reset_sent"));
    assert_eq!(
        reset_link(&app, "carol@example.org", 1).await,
        app.url("/reset-password?login_hint=carol")
    );
}
