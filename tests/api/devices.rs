//! `device_profile` and `remember_device`: a new device needs a push
//! approval and is then remembered; a known one signs in without; /account
//! lists remembered devices and forgets them.

use crate::helpers::{
    ALICE, TestApp, approve_with, csrf_token, input_value, location, new_browser, set_cookie,
    shown_number, shown_number_in, spawn_app_with,
};
use reqwest::Client;
use serde_json::{Value, json};
use time::Duration;

/// Password; a known device is done, a new one needs approval and is then
/// remembered.
const DEVICE_CHECK: &str = r#"
[journeys.device_check]
start = "password"
[journeys.device_check.nodes.password]
type = "username_password"
next = { success = "device", failure = "failure" }
[journeys.device_check.nodes.device]
type = "device_profile"
next = { known_device = "success", new_device = "push" }
[journeys.device_check.nodes.push]
type = "push_approval"
next = { approved = "remember", denied = "failure", expired = "failure" }
[journeys.device_check.nodes.remember]
type = "remember_device"
next = { success = "success" }
"#;

const CHROME_120: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.71 Safari/537.36";
const CHROME_121: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.6167.85 Safari/537.36";

fn laptop() -> Value {
    json!({"screen": "1920x1080x24", "timezone": "Europe/London", "platform": "Linux x86_64"})
}

/// Runs `device_check` over REST as Alice from a device; returns the answer
/// after the device step (the push step, or the session).
async fn device_check(app: &TestApp, user_agent: &str, device: Value) -> Value {
    let step = app
        .authenticate_from(
            "device_check",
            user_agent,
            json!({"input": {"username": ALICE.0, "password": ALICE.1}}),
        )
        .await;
    assert_eq!(step["step"], "device_profile", "{step}");
    app.authenticate_from(
        "device_check",
        user_agent,
        json!({"auth_id": step["auth_id"], "input": device}),
    )
    .await
}

/// Approves the one waiting request from `phone` and finishes the journey.
async fn approve(app: &TestApp, phone: &str, step: &Value) -> Value {
    assert_eq!(step["step"], "push_approval", "{step}");
    let requests = app.push_requests(phone).await;
    let id = requests[0]["id"].as_str().expect("id");
    let approve = approve_with(shown_number(step));
    assert_eq!(app.answer_push(phone, id, approve).await.status(), 204);
    let done = app
        .authenticate_journey("device_check", json!({"auth_id": step["auth_id"]}))
        .await
        .json::<Value>()
        .await
        .expect("json");
    assert!(done["session_token"].is_string(), "{done}");
    done
}

/// A new device approved once, so that it is remembered.
async fn remember_laptop(app: &TestApp, phone: &str) {
    let step = device_check(app, CHROME_120, laptop()).await;
    approve(app, phone, &step).await;
}

async fn page(app: &TestApp, browser: &Client, path: &str) -> String {
    browser
        .get(app.url(path))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("html")
}

#[tokio::test]
async fn a_new_device_needs_a_push_and_is_then_remembered_so_the_next_sign_in_needs_none() {
    let app = spawn_app_with(DEVICE_CHECK).await;
    let phone = app.login_rest(ALICE).await;
    let first = device_check(&app, CHROME_120, laptop()).await;
    assert_eq!(first["step"], "push_approval");
    let done = approve(&app, &phone, &first).await;
    let token = done["session_token"].as_str().expect("token");
    assert_eq!(app.validate(token).await["amr"], json!(["pwd", "push"]));

    // The same laptop after a browser update.
    let again = device_check(&app, CHROME_121, laptop()).await;
    let token = again["session_token"].as_str().expect("signed in at once");
    assert_eq!(app.validate(token).await["amr"], json!(["pwd"]));
    assert!(app.push_requests(&phone).await.is_empty(), "no push asked");
}

#[tokio::test]
async fn another_device_of_the_same_user_is_new() {
    let app = spawn_app_with(DEVICE_CHECK).await;
    let phone = app.login_rest(ALICE).await;
    remember_laptop(&app, &phone).await;
    let other_screen =
        json!({"screen": "2560x1440x24", "timezone": "Europe/London", "platform": "Linux x86_64"});
    assert_eq!(
        device_check(&app, CHROME_120, other_screen).await["step"],
        "push_approval"
    );
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
    assert_eq!(
        device_check(&app, firefox, laptop()).await["step"],
        "push_approval"
    );
}

#[tokio::test]
async fn the_device_step_reports_optional_hidden_fields_over_rest_and_all_of_them_count() {
    let app = spawn_app_with(DEVICE_CHECK).await;
    let phone = app.login_rest(ALICE).await;
    let step = app
        .authenticate_from(
            "device_check",
            CHROME_120,
            json!({"input": {"username": ALICE.0, "password": ALICE.1}}),
        )
        .await;
    assert_eq!(
        step["fields"],
        json!([
            {"name": "screen", "kind": "hidden", "label": "Screen", "optional": true},
            {"name": "timezone", "kind": "hidden", "label": "Time zone", "optional": true},
            {"name": "platform", "kind": "hidden", "label": "Platform", "optional": true}
        ])
    );

    // Without any field: profiled from the headers alone, and remembered.
    let bare = device_check(&app, CHROME_120, json!({})).await;
    approve(&app, &phone, &bare).await;
    assert!(device_check(&app, CHROME_120, json!({})).await["session_token"].is_string());
    // A field the remembered profile did not have makes it another device.
    let with_timezone = device_check(&app, CHROME_120, json!({"timezone": "Europe/Paris"})).await;
    assert_eq!(with_timezone["step"], "push_approval");
}

/// Signs alice in from `browser` up to the device step; returns its page.
async fn to_device_step(app: &TestApp, browser: &Client) -> String {
    let login = page(app, browser, "/login?journey=device_check").await;
    app.submit_form_from(
        browser,
        &login,
        &[("username", ALICE.0), ("password", ALICE.1)],
    )
    .await
    .text()
    .await
    .expect("html")
}

#[tokio::test]
async fn in_the_browser_the_device_step_is_a_self_submitting_hidden_form_and_the_device_is_listed()
{
    let app = spawn_app_with(DEVICE_CHECK).await;
    let phone = app.login_rest(ALICE).await;
    let laptop_browser = new_browser(CHROME_120);
    let device_step = to_device_step(&app, &laptop_browser).await;
    assert!(device_step.contains("data-auto-submit"));
    for name in ["screen", "timezone", "platform"] {
        assert!(
            device_step.contains(&format!(
                r#"<input type="hidden" name="{name}" value="" data-device="{name}">"#
            )),
            "{name}"
        );
    }
    assert!(device_step.contains(r#"<script src="/static/journey.js" defer></script>"#));

    let fields = [
        ("screen", "1920x1080x24"),
        ("timezone", "Europe/London"),
        ("platform", "Linux x86_64"),
    ];
    let waiting = app
        .submit_form_from(&laptop_browser, &device_step, &fields)
        .await
        .text()
        .await
        .expect("html");
    assert!(waiting.contains(r#"data-poll="/login/poll""#));
    let id = app.push_requests(&phone).await[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let approve = approve_with(shown_number_in(&waiting));
    app.answer_push(&phone, &id, approve).await;
    let done = app.submit_form_from(&laptop_browser, &waiting, &[]).await;
    assert_eq!(done.status(), 303);
    assert!(set_cookie(done.headers(), "tessera_session").is_some());

    let account = page(&app, &laptop_browser, "/account").await;
    assert!(account.contains("Remembered devices"));
    assert!(account.contains("<strong>Chrome 120 on Linux</strong>"));
    assert!(account.contains(r#"aria-label="Forget Chrome 120 on Linux"#));

    // The same browser, the same answers: known, signed in after the
    // device step.
    let device_step = to_device_step(&app, &laptop_browser).await;
    let known = app
        .submit_form_from(&laptop_browser, &device_step, &fields)
        .await;
    assert_eq!(known.status(), 303);
    assert_eq!(location(&known), app.url("/account"));
}

#[tokio::test]
async fn forgetting_a_device_on_the_account_page_makes_it_new_again() {
    let app = spawn_app_with(DEVICE_CHECK).await;
    let phone = app.login_rest(ALICE).await;
    remember_laptop(&app, &phone).await;
    app.login_html("", ALICE).await;
    let account = app.get_page("/account").await.text().await.expect("html");
    let device_id = input_value(&account, "device_id");

    let forged = app
        .post_form(
            "/account/devices/forget",
            &[("csrf_token", "forged"), ("device_id", &device_id)],
        )
        .await;
    assert_eq!(forged.status(), 403);
    assert!(device_check(&app, CHROME_120, laptop()).await["session_token"].is_string());

    let forgotten = app
        .post_form(
            "/account/devices/forget",
            &[
                ("csrf_token", &csrf_token(&account)),
                ("device_id", &device_id),
            ],
        )
        .await;
    assert_eq!(forgotten.status(), 303);
    assert_eq!(location(&forgotten), "/account");
    let account = app.get_page("/account").await.text().await.expect("html");
    assert!(!account.contains("Remembered devices"));
    assert_eq!(
        device_check(&app, CHROME_120, laptop()).await["step"],
        "push_approval"
    );
}

#[tokio::test]
async fn signing_in_from_a_known_device_updates_when_it_was_last_seen() {
    let app = spawn_app_with(DEVICE_CHECK).await;
    let phone = app.login_rest(ALICE).await;
    let first_seen = app.clock_now();
    remember_laptop(&app, &phone).await;
    app.clock.advance(Duration::days(2));
    assert!(device_check(&app, CHROME_120, laptop()).await["session_token"].is_string());

    app.login_html("", ALICE).await;
    let account = app.get_page("/account").await.text().await.expect("html");
    let shown = |at: time::OffsetDateTime| tessera::http::pages::account::display_time(at);
    assert!(account.contains(&format!(
        "First seen {} · last seen {}",
        shown(first_seen),
        shown(app.clock_now())
    )));
}

#[tokio::test]
async fn remember_device_without_a_profile_succeeds_and_stores_nothing() {
    let app = spawn_app_with(
        r#"
[journeys.remember_only]
start = "password"
[journeys.remember_only.nodes.password]
type = "username_password"
next = { success = "remember", failure = "failure" }
[journeys.remember_only.nodes.remember]
type = "remember_device"
next = { success = "success" }
"#,
    )
    .await;
    let done = app
        .authenticate_from(
            "remember_only",
            CHROME_120,
            json!({"input": {"username": ALICE.0, "password": ALICE.1}}),
        )
        .await;
    assert!(done["session_token"].is_string(), "{done}");
    app.login_html("", ALICE).await;
    let account = app.get_page("/account").await.text().await.expect("html");
    assert!(!account.contains("Remembered devices"));
}

#[tokio::test]
async fn removing_a_user_removes_their_devices_and_push_requests() {
    let app = spawn_app_with(DEVICE_CHECK).await;
    let phone = app.login_rest(ALICE).await;
    let user_id = app
        .get_session(&phone)
        .await
        .json::<Value>()
        .await
        .expect("json")["user"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    remember_laptop(&app, &phone).await;
    device_check(&app, CHROME_120, json!({"screen": "800x600x8"})).await;
    let stored = || {
        app.ctx
            .store
            .read(|tx| {
                Ok((
                    tx.devices_of(&user_id)?.len(),
                    tx.push_requests_of(&user_id)?.len(),
                ))
            })
            .expect("read")
    };
    assert_eq!(stored(), (1, 1));
    // alice is declared in the config, which would refuse her deletion.
    let mut alice = app.engine.accounts.get_by_username(ALICE.0).expect("alice");
    alice.managed_by_config = false;
    app.ctx
        .store
        .write(|tx| tx.put_user(&alice))
        .expect("unmanaged");
    let by = tessera::audit::Caller::cli();
    app.engine
        .accounts
        .delete_by_id(&alice.id, &by)
        .expect("removed");
    assert_eq!(stored(), (0, 0));
}

/// `POST /account/devices/rename` from `app.browser`.
async fn rename_device(
    app: &TestApp,
    csrf: &str,
    device_id: &str,
    name: &str,
) -> reqwest::Response {
    app.browser
        .post(app.url("/account/devices/rename"))
        .form(&[
            ("csrf_token", csrf),
            ("device_id", device_id),
            ("name", name),
        ])
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn a_remembered_device_shows_the_name_its_user_gives_it() {
    let app = spawn_app_with(DEVICE_CHECK).await;
    let phone = app.login_rest(ALICE).await;
    remember_laptop(&app, &phone).await;
    app.login_html("", ALICE).await;
    let account = app.get_page("/account").await.text().await.expect("html");
    let device_id = input_value(&account, "device_id");
    let csrf = csrf_token(&account);
    assert_eq!(
        rename_device(&app, "forged", &device_id, "Work laptop")
            .await
            .status(),
        403
    );
    let too_long = rename_device(&app, &csrf, &device_id, &"x".repeat(61)).await;
    assert_eq!(too_long.status(), 400);
    assert!(
        too_long
            .text()
            .await
            .expect("html")
            .contains("at most 60 characters")
    );

    let renamed = rename_device(&app, &csrf, &device_id, "  Work laptop ").await;
    assert_eq!(renamed.status(), 303);
    assert_eq!(location(&renamed), "/account?done=device_renamed");
    let account = app
        .get_page("/account?done=device_renamed")
        .await
        .text()
        .await
        .expect("html");
    assert!(
        account.contains("The device&#39;s name was saved.")
            || account.contains("The device's name was saved.")
    );
    assert!(account.contains("<strong>Work laptop</strong>"));
    assert!(account.contains("Chrome 120 on Linux · First seen"));
    assert!(account.contains(r#"name="name" value="Work laptop""#));

    // Signing in from it again keeps the name.
    assert!(device_check(&app, CHROME_121, laptop()).await["session_token"].is_string());
    let account = app.get_page("/account").await.text().await.expect("html");
    assert!(account.contains("<strong>Work laptop</strong>"));

    assert_eq!(
        rename_device(&app, &csrf, &device_id, "").await.status(),
        303
    );
    let account = app.get_page("/account").await.text().await.expect("html");
    assert!(
        account.contains("<strong>Chrome 120 on Linux</strong>"),
        "an empty name shows the label again"
    );
}
