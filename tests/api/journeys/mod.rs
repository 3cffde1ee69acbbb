//! Registration, one-time codes, password reset, step-up and journeys
//! declared in config, through REST and HTML.

mod codes;
mod registration;
mod reset;
mod step_up;

use crate::helpers::{ALICE, BOB, location, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use time::Duration;

pub(crate) const DAVE: (&str, &str, &str) =
    ("dave", "dave@example.com", "a long and unusual passphrase");

/// Registers dave over REST up to the code step; returns the auth_id.
pub(crate) async fn register_until_code(app: &crate::helpers::TestApp, email: &str) -> Value {
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

/// Resets alice's password over REST, naming her by `name`.
pub(crate) async fn reset(
    app: &crate::helpers::TestApp,
    name: &str,
    new_password: &str,
) -> (u16, Value) {
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
