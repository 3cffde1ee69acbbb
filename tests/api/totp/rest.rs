//! Enrollment and sign-in codes over the REST journey: the clock window,
//! replay, attempts and the lock across journeys.

use super::*;

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
