//! TOTP (RFC 6238) in config-declared journeys, over REST and HTML: an
//! authenticator app is enrolled from the QR step, then asked for at every
//! sign-in. Codes are computed as the app would, from the otpauth URI (or
//! the key) the step shows, at the server's manual clock.

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
const JOURNEYS: &str = r#"
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
async fn after_password(app: &TestApp, journey: &str) -> Value {
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
async fn submit_code(app: &TestApp, journey: &str, step: &Value, code: &str) -> (u16, Value) {
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
fn scan(step: &Value) -> Totp {
    Totp::from_url(qr_code(step)["uri"].as_str().expect("uri")).expect("an otpauth URI")
}

/// The app's code at `at`.
fn code_at(app: &Totp, at: OffsetDateTime) -> String {
    app.generate(u64::try_from(at.unix_timestamp()).expect("after 1970"))
        .to_string()
}

/// A code the app shows at none of the steps around `at`.
fn wrong_code(app: &Totp, at: OffsetDateTime) -> String {
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
async fn enroll(app: &TestApp) -> Totp {
    let step = after_password(app, "secure").await;
    let phone = scan(&step);
    let (status, body) = submit_code(app, "secure", &step, &code_at(&phone, app.clock_now())).await;
    assert_eq!(status, 200);
    assert!(body["session_token"].is_string(), "{body}");
    phone
}

fn alice(app: &TestApp) -> User {
    app.ctx
        .store
        .read(|tx| tx.user_by_username(ALICE.0))
        .expect("store")
        .expect("alice")
}

#[tokio::test]
async fn a_user_without_an_app_goes_from_the_totp_step_to_enrollment_with_a_qr_code() {
    let app = spawn().await;
    let step = after_password(&app, "secure").await;
    assert_eq!(step["step"], "totp_enroll");
    assert_eq!(
        step["fields"],
        json!([{"name": "code", "kind": "code", "label": "Code from the app"}])
    );
    let qr = qr_code(&step);
    let svg = qr["svg"].as_str().expect("svg");
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{svg}");
    let secret = qr["secret"].as_str().expect("secret");
    assert_eq!(secret.len(), 32, "160 bits in base32");
    assert_eq!(
        qr["uri"],
        format!(
            "otpauth://totp/Acme%20Corp:alice?secret={secret}&issuer=Acme%20Corp\
             &algorithm=SHA1&digits=6&period=30"
        )
    );
    let phone = scan(&step);
    assert_eq!(phone.issuer(), Some("Acme Corp"));
    assert_eq!(phone.account_name(), "alice");
    assert_eq!(phone.secret().to_base32(), secret);
    assert!(alice(&app).totp.is_none(), "nothing is saved before a code");
}

#[tokio::test]
async fn enrolling_with_the_apps_code_signs_in_and_later_sign_ins_ask_for_a_code() {
    let app = spawn().await;
    let step = after_password(&app, "secure").await;
    let phone = scan(&step);
    let (status, retry) =
        submit_code(&app, "secure", &step, &wrong_code(&phone, app.clock_now())).await;
    assert_eq!(status, 200);
    assert_eq!(retry["step"], "totp_enroll");
    assert!(
        retry["message"]
            .as_str()
            .expect("message")
            .contains("not right")
    );
    assert!(alice(&app).totp.is_none(), "a wrong code saves nothing");

    let (status, done) =
        submit_code(&app, "secure", &step, &code_at(&phone, app.clock_now())).await;
    assert_eq!(status, 200);
    let token = done["session_token"].as_str().expect("token");
    let session: Value = app.get_session(token).await.json().await.expect("json");
    assert_eq!(session["amr"], json!(["pwd", "totp"]));

    app.clock.advance(Duration::seconds(30));
    let step = after_password(&app, "secure").await;
    assert_eq!(step["step"], "totp");
    assert_eq!(
        step["fields"],
        json!([{"name": "code", "kind": "code", "label": "Code"}])
    );
    let (status, done) =
        submit_code(&app, "secure", &step, &code_at(&phone, app.clock_now())).await;
    assert_eq!(status, 200);
    assert!(done["session_token"].is_string(), "{done}");
}

#[tokio::test]
async fn a_wrong_code_is_retried_and_running_out_of_attempts_ends_the_journey() {
    let app = spawn().await;
    let phone = enroll(&app).await;
    app.clock.advance(Duration::seconds(30));
    let step = after_password(&app, "secure").await;
    let wrong = wrong_code(&phone, app.clock_now());
    for _ in 0..4 {
        let (status, retry) = submit_code(&app, "secure", &step, &wrong).await;
        assert_eq!(status, 200);
        assert_eq!(retry["step"], "totp");
        assert_eq!(
            retry["message"],
            "That code is not right. Check your authenticator app and try again."
        );
    }
    let (status, failed) = submit_code(&app, "secure", &step, &wrong).await;
    assert_eq!(status, 401);
    assert_eq!(failed["error"], "authentication_failed");
    assert!(
        failed["message"]
            .as_str()
            .expect("message")
            .contains("Too many attempts")
    );
    let right = code_at(&phone, app.clock_now());
    let (status, _) = submit_code(&app, "secure", &step, &right).await;
    assert_eq!(status, 400, "the failed journey is over");
}

#[tokio::test]
async fn a_code_is_accepted_once_and_refused_when_replayed() {
    let app = spawn().await;
    let phone = enroll(&app).await;
    // The enrollment used this step's code.
    let step = after_password(&app, "secure").await;
    let enrollment_code = code_at(&phone, app.clock_now());
    let (status, retry) = submit_code(&app, "secure", &step, &enrollment_code).await;
    assert_eq!(status, 200);
    assert!(
        retry["message"]
            .as_str()
            .expect("message")
            .contains("already been used")
    );

    app.clock.advance(Duration::seconds(30));
    let code = code_at(&phone, app.clock_now());
    let (_, done) = submit_code(&app, "secure", &step, &code).await;
    assert!(done["session_token"].is_string(), "{done}");
    let step = after_password(&app, "secure").await;
    let (status, replayed) = submit_code(&app, "secure", &step, &code).await;
    assert_eq!(status, 200);
    assert_eq!(replayed["step"], "totp");
    assert!(
        replayed["message"]
            .as_str()
            .expect("message")
            .contains("already been used")
    );
}

#[tokio::test]
async fn codes_one_step_off_the_clock_are_accepted_and_two_steps_off_are_refused() {
    let app = spawn().await;
    let phone = enroll(&app).await;
    app.clock.advance(Duration::minutes(10));
    let now = app.clock_now();
    let step = after_password(&app, "secure").await;
    for secs in [-60, 60] {
        let (status, retry) = submit_code(
            &app,
            "secure",
            &step,
            &code_at(&phone, now + Duration::seconds(secs)),
        )
        .await;
        assert_eq!(status, 200, "{secs} s off");
        assert_eq!(retry["step"], "totp", "{secs} s off is refused");
    }
    let (_, done) = submit_code(
        &app,
        "secure",
        &step,
        &code_at(&phone, now - Duration::seconds(30)),
    )
    .await;
    assert!(done["session_token"].is_string(), "a step behind: {done}");
    let step = after_password(&app, "secure").await;
    let (_, done) = submit_code(
        &app,
        "secure",
        &step,
        &code_at(&phone, now + Duration::seconds(30)),
    )
    .await;
    assert!(done["session_token"].is_string(), "a step ahead: {done}");
}

#[tokio::test]
async fn the_store_holds_the_secret_only_sealed_during_and_after_enrollment() {
    let app = spawn().await;
    let step = after_password(&app, "secure").await;
    let phone = scan(&step);
    let raw = phone.secret().as_bytes().to_vec();
    let plain_forms = [
        phone.secret().to_base32(),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw),
        base64::engine::general_purpose::STANDARD.encode(&raw),
        serde_json::to_string(&raw).expect("json"),
    ];
    let auth_id = Token::from_presented(step["auth_id"].as_str().expect("auth_id"));
    let pending = app
        .ctx
        .store
        .read(|tx| tx.journey(&auth_id.hash()))
        .expect("store")
        .expect("journey");
    let pending = serde_json::to_string(&pending).expect("json");
    for plain in &plain_forms {
        assert!(
            !pending.contains(plain.as_str()),
            "journey state holds {plain}"
        );
    }

    let (_, done) = submit_code(&app, "secure", &step, &code_at(&phone, app.clock_now())).await;
    assert!(done["session_token"].is_string());
    let user = alice(&app);
    let record = serde_json::to_string(&user).expect("json");
    for plain in &plain_forms {
        assert!(
            !record.contains(plain.as_str()),
            "user record holds {plain}"
        );
    }
    let sealed = user.totp.expect("enrolled").sealed_secret;
    assert_eq!(
        app.ctx.sealer.open(&sealed).expect("opens with the key"),
        raw
    );
}

#[tokio::test]
async fn wrong_codes_lock_the_account_across_journeys_until_the_lock_ends() {
    let app = spawn_app_with(&format!(
        "[lockout]\nmax_failures = 3\nduration_secs = 900\n{JOURNEYS}"
    ))
    .await;
    let phone = enroll(&app).await;
    app.clock.advance(Duration::seconds(30));
    let wrong = wrong_code(&phone, app.clock_now());
    let first = after_password(&app, "secure").await;
    for _ in 0..2 {
        let (status, _) = submit_code(&app, "secure", &first, &wrong).await;
        assert_eq!(status, 200);
    }
    // A fresh journey brings no fresh attempts: the third failure locks.
    let second = after_password(&app, "secure").await;
    let (status, _) = submit_code(&app, "secure", &second, &wrong).await;
    assert_eq!(status, 200);
    let right = code_at(&phone, app.clock_now());
    let (status, locked) = submit_code(&app, "secure", &second, &right).await;
    assert_eq!(status, 401, "even the right code fails while locked");
    assert_eq!(
        locked["message"],
        "Too many wrong codes for this account. Try again in 15 minutes."
    );
    let third = after_password(&app, "secure").await;
    let (status, _) = submit_code(&app, "secure", &third, &right).await;
    assert_eq!(status, 401, "a new journey is locked too");

    app.clock.advance(Duration::seconds(901));
    let step = after_password(&app, "secure").await;
    let (_, done) = submit_code(&app, "secure", &step, &code_at(&phone, app.clock_now())).await;
    assert!(done["session_token"].is_string(), "unlocked: {done}");
}

#[tokio::test]
async fn an_enrolled_app_is_only_replaced_after_a_code_from_it() {
    let app = spawn().await;
    let old_phone = enroll(&app).await;
    let sealed_before = alice(&app).totp.expect("enrolled").sealed_secret;

    let response = app
        .authenticate_journey(
            "again",
            json!({"input": {"username": ALICE.0, "password": ALICE.1}}),
        )
        .await;
    assert_eq!(response.status(), 401);
    let refused: Value = response.json().await.expect("json");
    assert!(
        refused["message"]
            .as_str()
            .expect("message")
            .contains("already has an authenticator app")
    );
    assert_eq!(alice(&app).totp.expect("kept").sealed_secret, sealed_before);

    app.clock.advance(Duration::seconds(30));
    let step = after_password(&app, "replace").await;
    let (_, enrollment) = submit_code(
        &app,
        "replace",
        &step,
        &code_at(&old_phone, app.clock_now()),
    )
    .await;
    assert_eq!(enrollment["step"], "totp_enroll");
    assert!(
        qr_code(&enrollment)["uri"]
            .as_str()
            .expect("uri")
            .starts_with("otpauth://totp/tessera:alice?")
    );
    let new_phone = scan(&enrollment);
    let (_, done) = submit_code(
        &app,
        "replace",
        &enrollment,
        &code_at(&new_phone, app.clock_now()),
    )
    .await;
    assert!(done["session_token"].is_string(), "{done}");

    app.clock.advance(Duration::seconds(30));
    let step = after_password(&app, "secure").await;
    let (_, retry) =
        submit_code(&app, "secure", &step, &code_at(&old_phone, app.clock_now())).await;
    assert_eq!(retry["step"], "totp", "the old app no longer works");
    let (_, done) = submit_code(&app, "secure", &step, &code_at(&new_phone, app.clock_now())).await;
    assert!(done["session_token"].is_string(), "{done}");
}

/// The app a person sets up by typing in the key shown on the page.
fn typed_in(html: &str) -> Totp {
    let marker = r#"<code class="secret">"#;
    let start = html.find(marker).expect("the key on the page") + marker.len();
    let end = start + html[start..].find('<').expect("end of key");
    let secret = Secret::try_from_base32(&html[start..end]).expect("base32");
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_secret(secret)
        .build()
        .expect("a valid TOTP")
}

#[tokio::test]
async fn the_html_journey_shows_the_qr_code_enrolls_and_then_asks_for_the_code() {
    let app = spawn().await;
    let response = app.login_html("?journey=secure", ALICE).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("html");
    assert!(html.contains(r#"<div class="qr-image" role="img""#));
    assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(
        !html.contains("<?xml"),
        "the SVG is inlined without its XML declaration"
    );
    assert!(html.contains(r#"href="otpauth://totp/Acme%20Corp:alice?secret="#));
    assert!(html.contains(r#"name="code" type="text""#));
    assert!(html.contains(r#"autocomplete="one-time-code""#));
    assert!(html.contains(r#"inputmode="numeric""#));
    let phone = typed_in(&html);
    let action = form_action(&html);
    assert_eq!(action, "/login?journey=secure");

    let wrong = wrong_code(&phone, app.clock_now());
    let retry = app
        .post_form(
            &action,
            &[("csrf_token", &csrf_token(&html)), ("code", &wrong)],
        )
        .await;
    assert_eq!(retry.status(), 200);
    let html = retry.text().await.expect("html");
    assert!(html.contains(r#"role="alert""#) && html.contains("That code is not right"));

    let code = code_at(&phone, app.clock_now());
    let enrolled = app
        .post_form(
            &action,
            &[("csrf_token", &csrf_token(&html)), ("code", &code)],
        )
        .await;
    assert_eq!(enrolled.status(), 303);
    assert_eq!(location(&enrolled), app.url("/account"));

    app.clock.advance(Duration::seconds(30));
    let response = app.login_html("?journey=secure", ALICE).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("html");
    assert!(!html.contains("<svg"), "no new QR code once enrolled");
    assert!(html.contains("Enter the 6-digit code your authenticator app shows."));
    let code = code_at(&phone, app.clock_now());
    let signed_in = app
        .post_form(
            &action,
            &[("csrf_token", &csrf_token(&html)), ("code", &code)],
        )
        .await;
    assert_eq!(signed_in.status(), 303);
    let account = app.get_page("/account").await.text().await.expect("html");
    assert!(account.contains("authenticator app"));
}

#[tokio::test]
async fn an_administrator_reset_lets_the_user_enrol_a_new_app() {
    let app = spawn().await;
    enroll(&app).await;
    assert!(alice(&app).totp.is_some());
    let ctx = app.ctx.clone();
    let had = tokio::task::spawn_blocking(move || {
        tessera::accounts::reset_totp(&ctx, ALICE.0).expect("reset")
    })
    .await
    .expect("join");
    assert!(had);
    assert!(alice(&app).totp.is_none());
    app.clock.advance(Duration::seconds(30));
    let step = after_password(&app, "secure").await;
    assert_eq!(step["step"], "totp_enroll", "a new app is enrolled");
}
