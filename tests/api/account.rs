//! Self-service on /account: changing the password, ending every other
//! session, and naming remembered devices.

use crate::helpers::{ALICE, TestApp, csrf_token, location, spawn_app, spawn_app_with};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tessera::accounts::NewUser;
use tessera::audit::{Caller, Entry, Query};
use tessera::secret::SecretString;
use time::Duration;

/// An account made by an administrator, so not managed by the config.
const CAROL: (&str, &str) = ("carol", "a long enough passphrase");
const CAROL_MAIL: &str = "carol@example.com";
const NEW_PASSWORD: &str = "another long passphrase";

fn create_carol(app: &TestApp) {
    let carol = NewUser {
        username: CAROL.0.into(),
        password: Some(SecretString::new(CAROL.1)),
        email: Some(CAROL_MAIL.into()),
        name: None,
        admin: false,
    };
    app.engine
        .accounts
        .create(carol, &Caller::cli())
        .expect("carol");
}

/// A browser of `app` signed in with `token`: it sends the session cookie.
struct Browser<'a> {
    app: &'a TestApp,
    token: String,
}

impl<'a> Browser<'a> {
    async fn sign_in(app: &'a TestApp, user: (&str, &str)) -> Self {
        Self {
            token: app.login_rest(user).await,
            app,
        }
    }

    fn cookie(&self) -> String {
        format!("tessera_session={}", self.token)
    }

    async fn get(&self, path: &str) -> Response {
        self.app
            .api
            .get(self.app.url(path))
            .header("cookie", self.cookie())
            .send()
            .await
            .expect("request")
    }

    /// The account page's HTML.
    async fn account(&self) -> String {
        let page = self.get("/account").await;
        assert_eq!(page.status(), StatusCode::OK);
        page.text().await.expect("html")
    }

    /// Posts `form` to `path` with the account page's CSRF token.
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        let csrf = csrf_token(&self.account().await);
        let mut fields = vec![("csrf_token", csrf.as_str())];
        fields.extend_from_slice(form);
        self.post_raw(path, &fields).await
    }

    /// Posts `form` as it is, CSRF token or not.
    async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.app
            .api
            .post(self.app.url(path))
            .header("cookie", self.cookie())
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// Changes the password from `current` to `new`, signing out the other
    /// sessions.
    async fn change_password(&self, current: &str, new: &str) -> Response {
        self.post(
            "/account/password",
            &[
                ("current_password", current),
                ("new_password", new),
                ("new_password_confirm", new),
                ("end_other_sessions", "on"),
            ],
        )
        .await
    }
}

/// The status of a REST sign-in.
async fn sign_in(app: &TestApp, (username, password): (&str, &str)) -> u16 {
    app.authenticate(json!({"input": {"username": username, "password": password}}))
        .await
        .status()
        .as_u16()
}

/// The audit log's events of a type, newest first.
fn events(app: &TestApp, kind: &str) -> Vec<Entry> {
    let query = Query {
        kind: Some(kind.into()),
        ..Query::default()
    };
    tessera::audit::query(&app.ctx, &query)
        .expect("audit")
        .items
}

/// An error page with `status` that says `says`.
async fn assert_refused(response: Response, status: StatusCode, says: &str) {
    assert_eq!(response.status(), status);
    let html = response.text().await.expect("html");
    assert!(html.contains(says), "{says:?} not in {html}");
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions_keeps_this_one_and_tells_the_user() {
    let app = spawn_app().await;
    create_carol(&app);
    let other = app.login_rest(CAROL).await;
    let browser = Browser::sign_in(&app, CAROL).await;

    let changed = browser.change_password(CAROL.1, NEW_PASSWORD).await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&changed),
        "/account?done=password_changed_others_ended"
    );
    let shown = browser
        .get(&location(&changed))
        .await
        .text()
        .await
        .expect("html");
    assert!(shown.contains("Your password was changed, and your other sessions were ended."));
    assert_eq!(app.validate(&other).await["valid"], false);
    assert_eq!(app.validate(&browser.token).await["valid"], true);
    assert_eq!(sign_in(&app, CAROL).await, 401, "the old password");
    assert_eq!(sign_in(&app, (CAROL.0, NEW_PASSWORD)).await, 200);

    let event = &events(&app, "password.change")[0];
    assert_eq!(event.outcome, "success");
    assert_eq!(event.actor, "user:carol");
    assert_eq!(event.details["proof"], "password");
    assert_eq!(event.details["sessions_ended"], "1");

    let notice = app.wait_for_mails_to(CAROL_MAIL, 1).await.remove(0);
    assert!(
        notice.contains("Subject: Your password was changed"),
        "{notice}"
    );
    assert!(notice.contains("from the address 127.0.0.1"), "{notice}");
    assert!(!notice.contains(NEW_PASSWORD) && !notice.contains(CAROL.1));
}

#[tokio::test]
async fn unchecking_sign_out_keeps_the_other_sessions() {
    let app = spawn_app().await;
    create_carol(&app);
    let other = app.login_rest(CAROL).await;
    let browser = Browser::sign_in(&app, CAROL).await;
    let changed = browser
        .post(
            "/account/password",
            &[
                ("current_password", CAROL.1),
                ("new_password", NEW_PASSWORD),
                ("new_password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&changed), "/account?done=password_changed");
    assert_eq!(app.validate(&other).await["valid"], true);
    assert_eq!(
        events(&app, "password.change")[0].details["sessions_ended"],
        "0"
    );
}

#[tokio::test]
async fn a_wrong_current_password_is_refused_and_counts_against_the_lockout() {
    let app = spawn_app_with("[lockout]\nmax_failures = 2").await;
    create_carol(&app);
    let browser = Browser::sign_in(&app, CAROL).await;
    let wrong = browser
        .change_password("not my password", NEW_PASSWORD)
        .await;
    assert_refused(wrong, StatusCode::FORBIDDEN, "Wrong current password").await;
    let failed = events(&app, "login");
    assert_eq!(failed[0].outcome, "failure", "audited as a failed sign-in");

    let locking = browser.change_password("still not it", NEW_PASSWORD).await;
    assert_eq!(locking.status(), StatusCode::FORBIDDEN);
    assert_eq!(sign_in(&app, CAROL).await, 401, "two failures lock carol");
    let locked = browser.change_password(CAROL.1, NEW_PASSWORD).await;
    assert_refused(
        locked,
        StatusCode::TOO_MANY_REQUESTS,
        "Too many wrong passwords",
    )
    .await;
    assert!(events(&app, "password.change").is_empty());
}

#[tokio::test]
async fn a_weak_or_mistyped_new_password_is_refused() {
    let app = spawn_app().await;
    create_carol(&app);
    let browser = Browser::sign_in(&app, CAROL).await;
    let weak = browser.change_password(CAROL.1, "password123").await;
    assert_refused(weak, StatusCode::BAD_REQUEST, "most common").await;
    let short = browser.change_password(CAROL.1, "short").await;
    assert_refused(short, StatusCode::BAD_REQUEST, "at least 8 characters").await;
    let mistyped = browser
        .post(
            "/account/password",
            &[
                ("current_password", CAROL.1),
                ("new_password", NEW_PASSWORD),
                ("new_password_confirm", "another long passphrasf"),
            ],
        )
        .await;
    assert_refused(
        mistyped,
        StatusCode::BAD_REQUEST,
        "The new passwords differ",
    )
    .await;
    assert_eq!(sign_in(&app, CAROL).await, 200, "the password is unchanged");
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
async fn without_the_current_password_only_a_recent_sign_in_or_step_up_may_change_it() {
    let app = spawn_app_with(STEP_UP).await;
    create_carol(&app);
    let browser = Browser::sign_in(&app, CAROL).await;
    assert!(browser.account().await.contains("You signed in recently"));
    app.clock.advance(Duration::seconds(301));
    let account = browser.account().await;
    assert!(!account.contains("You signed in recently"));
    let stale = browser.change_password("", NEW_PASSWORD).await;
    assert_refused(stale, StatusCode::FORBIDDEN, "enter your current password").await;

    // A step-up renews the session's sign-in.
    let started = app
        .api
        .post(app.url("/api/authenticate?journey=confirm"))
        .header("X-Session-Token", &browser.token)
        .json(&json!({}))
        .send()
        .await
        .expect("request")
        .json::<Value>()
        .await
        .expect("json");
    let code = app.code_for(CAROL_MAIL, 1).await;
    let stepped_up = app
        .api
        .post(app.url("/api/authenticate"))
        .header("X-Session-Token", &browser.token)
        .json(&json!({"auth_id": started["auth_id"], "input": {"code": code}}))
        .send()
        .await
        .expect("request");
    assert_eq!(stepped_up.status(), 200);
    let changed = browser.change_password("", NEW_PASSWORD).await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert_eq!(sign_in(&app, (CAROL.0, NEW_PASSWORD)).await, 200);
    let event = &events(&app, "password.change")[0];
    assert_eq!(event.details["proof"], "recent_sign_in");
}

#[tokio::test]
async fn the_password_form_without_or_with_a_forged_csrf_token_is_refused() {
    let app = spawn_app().await;
    create_carol(&app);
    let browser = Browser::sign_in(&app, CAROL).await;
    let form = [
        ("current_password", CAROL.1),
        ("new_password", NEW_PASSWORD),
        ("new_password_confirm", NEW_PASSWORD),
    ];
    let missing = browser.post_raw("/account/password", &form).await;
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let mut forged = vec![("csrf_token", "forged")];
    forged.extend_from_slice(&form);
    let forged = browser.post_raw("/account/password", &forged).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(sign_in(&app, CAROL).await, 200, "the password is unchanged");
}

#[tokio::test]
async fn a_user_declared_in_the_config_is_sent_to_the_file_for_the_password() {
    let app = spawn_app().await;
    let browser = Browser::sign_in(&app, ALICE).await;
    let account = browser.account().await;
    assert!(account.contains("declared in tessera's config file"));
    assert!(!account.contains(r#"action="/account/password""#));
    let refused = browser.change_password(ALICE.1, NEW_PASSWORD).await;
    assert_refused(refused, StatusCode::CONFLICT, "config file").await;
    assert_eq!(sign_in(&app, ALICE).await, 200);
}

#[tokio::test]
async fn ending_all_other_sessions_keeps_this_one_and_records_each() {
    let app = spawn_app().await;
    let phone = app.login_rest(ALICE).await;
    let tablet = app.login_rest(ALICE).await;
    let bob = app.login_rest(crate::helpers::BOB).await;
    let mut others = vec![app.session_id(&phone).await, app.session_id(&tablet).await];
    others.sort_unstable();
    let browser = Browser::sign_in(&app, ALICE).await;
    assert!(browser.account().await.contains("End all other sessions"));

    let forged = browser
        .post_raw("/account/sessions/end-others", &[("csrf_token", "forged")])
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.validate(&phone).await["valid"], true);

    let ended = browser.post("/account/sessions/end-others", &[]).await;
    assert_eq!(ended.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&ended), "/account?done=others_ended");
    for other in [&phone, &tablet] {
        assert_eq!(app.validate(other).await["valid"], false);
    }
    assert_eq!(app.validate(&browser.token).await["valid"], true);
    assert_eq!(app.validate(&bob).await["valid"], true, "another user's");
    let account = browser.account().await;
    assert!(!account.contains("End all other sessions"), "none left");

    let revoked = events(&app, "session.revoke");
    let mut ids: Vec<String> = revoked
        .iter()
        .map(|event| event.details["session"].clone())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, others);
    assert!(
        revoked
            .iter()
            .all(|e| e.actor == "user:alice" && e.subject.as_deref() == Some("user:alice"))
    );
}

#[tokio::test]
async fn sessions_tell_devices_apart_by_browser_system_address_and_times() {
    let app = spawn_app().await;
    let phone_ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1";
    let started = app
        .authenticate_from(
            "login",
            phone_ua,
            json!({"input": {"username": ALICE.0, "password": ALICE.1}}),
        )
        .await;
    assert!(started["session_token"].is_string(), "{started}");
    let signed_in = app.clock_now();
    app.clock.advance(Duration::minutes(5));
    let browser = Browser::sign_in(&app, ALICE).await;
    let account = browser.account().await;
    let shown = tessera::http::pages::account::display_time;
    assert!(
        account.contains("<strong>Safari 17 on iOS 17</strong>"),
        "{account}"
    );
    assert!(account.contains(&format!(
        "Signed in {} with password from 127.0.0.1 · last active {}",
        shown(signed_in),
        shown(signed_in)
    )));
}
