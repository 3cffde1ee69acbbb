//! TOTP (RFC 6238) in config-declared journeys, over REST and HTML: an
//! authenticator app is enrolled from the QR step, then asked for at every
//! sign-in. Codes are computed as the app would, from the otpauth URI (or
//! the key) the step shows, at the server's manual clock.

mod html;
mod rest;
mod stored;

use crate::helpers::{ALICE, TestApp, csrf_token, form_action, location, spawn_app_with};
use base64::Engine;
use serde_json::{Value, json};
use tessera::secret::Token;
use tessera::store::User;
use time::{Duration, OffsetDateTime};
use totp_rs::{Algorithm, Builder, Secret, Totp};

/// Password, then the app's code; users without an app enroll one.
/// `again`: enrollment straight after the password. `replace`: enrollment
/// after a code from the current app.
pub(crate) const JOURNEYS: &str = r#"
[journeys.secure]
start = "password"
[journeys.secure.nodes.password]
type = "username_password"
next = { success = "otp", failure = "failure" }
[journeys.secure.nodes.otp]
type = "totp"
next = { success = "success", failure = "failure", not_enrolled = "enroll" }
[journeys.secure.nodes.enroll]
type = "totp_enroll"
issuer = "Acme Corp"
next = { success = "success", failure = "failure" }

[journeys.again]
start = "password"
[journeys.again.nodes.password]
type = "username_password"
next = { success = "enroll", failure = "failure" }
[journeys.again.nodes.enroll]
type = "totp_enroll"
next = { success = "success", failure = "failure" }

[journeys.replace]
start = "password"
[journeys.replace.nodes.password]
type = "username_password"
next = { success = "otp", failure = "failure" }
[journeys.replace.nodes.otp]
type = "totp"
next = { success = "enroll", failure = "failure", not_enrolled = "failure" }
[journeys.replace.nodes.enroll]
type = "totp_enroll"
next = { success = "success", failure = "failure" }
"#;

async fn spawn() -> TestApp {
    spawn_app_with(JOURNEYS).await
}

/// Starts `journey` over REST with Alice's password; returns the next step.
pub(crate) async fn after_password(app: &TestApp, journey: &str) -> Value {
    let response = app
        .authenticate_journey(
            journey,
            json!({"input": {"username": ALICE.0, "password": ALICE.1}}),
        )
        .await;
    assert_eq!(response.status(), 200, "the password is right");
    response.json().await.expect("json")
}

/// Submits a code to the step of `auth_id`; returns status and body.
pub(crate) async fn submit_code(
    app: &TestApp,
    journey: &str,
    step: &Value,
    code: &str,
) -> (u16, Value) {
    let response = app
        .authenticate_journey(
            journey,
            json!({"auth_id": step["auth_id"], "input": {"code": code}}),
        )
        .await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

/// The step's QR code display.
fn qr_code(step: &Value) -> &Value {
    step["display"]
        .as_array()
        .expect("display")
        .iter()
        .find(|item| item["kind"] == "qr_code")
        .expect("a QR code")
}

/// The app that scanned the step's QR code, read from its otpauth URI.
pub(crate) fn scan(step: &Value) -> Totp {
    Totp::from_url(qr_code(step)["uri"].as_str().expect("uri")).expect("an otpauth URI")
}

/// The app's code at `at`.
pub(crate) fn code_at(app: &Totp, at: OffsetDateTime) -> String {
    app.generate(u64::try_from(at.unix_timestamp()).expect("after 1970"))
        .to_string()
}

/// A code the app shows at none of the steps around `at`.
pub(crate) fn wrong_code(app: &Totp, at: OffsetDateTime) -> String {
    let near: Vec<String> = [-30, 0, 30]
        .iter()
        .map(|secs| code_at(app, at + Duration::seconds(*secs)))
        .collect();
    (0..)
        .map(|n| format!("{n:06}"))
        .find(|code| !near.contains(code))
        .expect("a free code")
}

/// Enrolls Alice's app through `secure` over REST.
pub(crate) async fn enroll(app: &TestApp) -> Totp {
    let step = after_password(app, "secure").await;
    let phone = scan(&step);
    let (status, body) = submit_code(app, "secure", &step, &code_at(&phone, app.clock_now())).await;
    assert_eq!(status, 200);
    assert!(body["session_token"].is_string(), "{body}");
    phone
}

pub(crate) fn alice(app: &TestApp) -> User {
    app.ctx
        .store
        .read(|tx| tx.user_by_username(ALICE.0))
        .expect("store")
        .expect("alice")
}
