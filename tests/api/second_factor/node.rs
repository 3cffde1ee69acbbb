//! Recovery codes at sign-in: the `recovery_code` node, and the `totp`
//! node's `use_recovery_code` action.

use super::*;
use crate::totp::{alice, wrong_code};
use time::Duration;

#[tokio::test]
async fn each_recovery_code_signs_in_once_and_the_session_records_the_method() {
    let app = spawn().await;
    let codes = Browser::alice(&app).await.new_codes("").await;
    let step = after_password(&app, "rescue").await;
    assert_eq!(step["step"], "recovery_code");
    assert_eq!(
        step["fields"],
        json!([{"name": "recovery_code", "kind": "password", "label": "Recovery code"}])
    );
    let (status, done) = submit_recovery_code(&app, &step, &codes[0]).await;
    assert_eq!(status, 200);
    let token = done["session_token"].as_str().expect("a session");
    let session: Value = app.get_session(token).await.json().await.expect("json");
    assert_eq!(session["amr"], json!(["pwd", "recovery_code"]));
    let login = &events(&app, "login")[0];
    assert_eq!(login.details["methods"], "pwd recovery_code");

    // Typed loosely: case and separators do not matter.
    let step = after_password(&app, "rescue").await;
    let (_, retry) = submit_recovery_code(&app, &step, &codes[0].to_uppercase()).await;
    assert_eq!(
        retry["message"],
        "That recovery code has already been used. Use another one."
    );
    let (_, retry) = submit_recovery_code(&app, &step, "abcd-efgh-jk").await;
    assert_eq!(
        retry["message"],
        "That recovery code is not right. Check it and try again."
    );
    let (_, done) = submit_recovery_code(&app, &step, &codes[1].replace('-', " ")).await;
    assert!(done["session_token"].is_string(), "{done}");
    let stored = alice(&app).recovery_codes.expect("codes");
    assert_eq!(
        stored.codes.iter().filter(|c| c.used_at.is_some()).count(),
        2
    );
    assert!(
        !serde_json::to_string(&stored)
            .expect("json")
            .contains(&codes[2]),
        "only hashes are stored"
    );
    let refused = &events(&app, "login")[0];
    assert!(
        !format!("{:?}", refused.details).contains(&codes[0]),
        "no code in the audit log"
    );
}

#[tokio::test]
async fn a_code_sent_twice_at_once_signs_in_only_once() {
    let app = spawn().await;
    let codes = Browser::alice(&app).await.new_codes("").await;
    let first = after_password(&app, "rescue").await;
    let second = after_password(&app, "rescue").await;
    let (a, b) = tokio::join!(
        submit_recovery_code(&app, &first, &codes[0]),
        submit_recovery_code(&app, &second, &codes[0]),
    );
    let signed_in = [&a.1, &b.1]
        .iter()
        .filter(|body| body["session_token"].is_string())
        .count();
    assert_eq!(signed_in, 1, "{a:?} {b:?}");
}

#[tokio::test]
async fn a_user_without_unused_codes_leaves_the_recovery_code_node_by_not_enrolled() {
    let app = spawn().await;
    let step = after_password(&app, "rescue").await;
    assert_eq!(step["step"], "totp_enroll", "no codes at all");
}

#[tokio::test]
async fn a_new_set_voids_the_old_one() {
    let app = spawn().await;
    let browser = Browser::alice(&app).await;
    let old = browser.new_codes("").await;
    let new = browser.new_codes("").await;
    assert!(old.iter().all(|code| !new.contains(code)));
    let step = after_password(&app, "rescue").await;
    let (_, retry) = submit_recovery_code(&app, &step, &old[3]).await;
    assert_eq!(
        retry["message"],
        "That recovery code is not right. Check it and try again."
    );
    let (_, done) = submit_recovery_code(&app, &step, &new[3]).await;
    assert!(done["session_token"].is_string(), "{done}");
    let generated = events(&app, "recovery_codes.generate");
    assert_eq!(generated.len(), 2);
    assert_eq!(generated[0].details["replaced"], "true");
    assert_eq!(generated[0].details["proof"], "recent_sign_in");
}

#[tokio::test]
async fn the_totp_step_offers_a_recovery_code_instead_and_back() {
    let app = spawn().await;
    let (browser, phone) = Browser::with_app(&app).await;
    app.clock.advance(Duration::seconds(30));
    let step = after_password(&app, "secure").await;
    assert_eq!(step["actions"], json!([]), "no codes yet: nothing to offer");
    let codes = browser.new_codes(&code_at(&phone, app.clock_now())).await;

    let step = after_password(&app, "secure").await;
    assert_eq!(step["step"], "totp");
    assert_eq!(
        step["actions"],
        json!([{"name": "use_recovery_code", "label": "Use a recovery code instead"}])
    );
    let (_, switched) = app
        .submit(&step["auth_id"], json!({"action": "use_recovery_code"}))
        .await;
    assert_eq!(switched["step"], "totp");
    assert_eq!(switched["fields"][0]["name"], "recovery_code");
    assert_eq!(switched["actions"][0]["name"], "use_app");
    let (_, back) = app
        .submit(&step["auth_id"], json!({"action": "use_app"}))
        .await;
    assert_eq!(back["fields"][0]["name"], "code");
    app.submit(&step["auth_id"], json!({"action": "use_recovery_code"}))
        .await;
    let (status, done) = submit_recovery_code(&app, &step, &codes[5]).await;
    assert_eq!(status, 200);
    let token = done["session_token"].as_str().expect("a session");
    let session: Value = app.get_session(token).await.json().await.expect("json");
    assert_eq!(session["amr"], json!(["pwd", "recovery_code"]));
}

#[tokio::test]
async fn the_totp_step_shows_the_switch_as_a_button_in_the_browser() {
    let app = spawn().await;
    let (browser, phone) = Browser::with_app(&app).await;
    app.clock.advance(Duration::seconds(30));
    browser.new_codes(&code_at(&phone, app.clock_now())).await;
    let page = app.login_html("?journey=secure", ALICE).await;
    let html = page.text().await.expect("html");
    assert!(
        html.contains(r#"name="action" value="use_recovery_code""#),
        "{html}"
    );
    let switched = app
        .submit_form(&html, &[("action", "use_recovery_code")])
        .await;
    let html = switched.text().await.expect("html");
    assert!(
        html.contains(r#"name="recovery_code" type="password""#),
        "{html}"
    );
}

#[tokio::test]
async fn wrong_recovery_codes_count_against_the_same_lock_as_totp_codes() {
    let app = spawn_app_with(&format!("[lockout]\nmax_failures = 3\n{}", journeys())).await;
    let (browser, phone) = Browser::with_app(&app).await;
    app.clock.advance(Duration::seconds(30));
    let codes = browser.new_codes(&code_at(&phone, app.clock_now())).await;
    app.clock.advance(Duration::seconds(30));
    let step = after_password(&app, "secure").await;
    let wrong = wrong_code(&phone, app.clock_now());
    for _ in 0..2 {
        let (_, retry) = submit_code(&app, "secure", &step, &wrong).await;
        assert!(
            retry["message"]
                .as_str()
                .expect("message")
                .contains("not right")
        );
    }
    // The third failure, with a recovery code, locks the account.
    let step = after_password(&app, "rescue").await;
    let (status, _) = submit_recovery_code(&app, &step, "abcd-efgh-jk").await;
    assert_eq!(status, 200);
    let (status, failed) = submit_recovery_code(&app, &step, &codes[0]).await;
    assert_eq!(
        status, 401,
        "a right code is refused while locked: {failed}"
    );
    assert!(
        failed["message"]
            .as_str()
            .expect("message")
            .contains("Too many wrong codes")
    );
    let step = after_password(&app, "secure").await;
    let right = code_at(&phone, app.clock_now());
    let (status, _) = submit_code(&app, "secure", &step, &right).await;
    assert_eq!(status, 401, "and so is the app's");
    let refused = events(&app, "login")
        .into_iter()
        .find(|event| event.outcome == "failure")
        .expect("a refused code");
    assert_eq!(refused.details["method"], "recovery_code");
}

#[tokio::test]
async fn resetting_the_app_from_the_command_line_voids_the_recovery_codes() {
    let app = spawn().await;
    let (browser, phone) = Browser::with_app(&app).await;
    app.clock.advance(Duration::seconds(30));
    browser.new_codes(&code_at(&phone, app.clock_now())).await;
    let had = app
        .engine
        .accounts
        .reset_totp(ALICE.0, &tessera::audit::Caller::cli())
        .expect("reset");
    assert!(had);
    assert!(alice(&app).recovery_codes.is_none());
    let step = after_password(&app, "rescue").await;
    assert_eq!(step["step"], "totp_enroll", "not_enrolled");
    let reset = &events(&app, "admin.user.totp.reset")[0];
    assert_eq!(reset.details["recovery_codes_voided"], "10");
}

#[tokio::test]
async fn a_recovery_code_at_the_totp_step_lets_the_journey_replace_the_app() {
    let app = spawn().await;
    let (browser, phone) = Browser::with_app(&app).await;
    app.clock.advance(Duration::seconds(30));
    let codes = browser.new_codes(&code_at(&phone, app.clock_now())).await;
    let sealed_before = alice(&app).totp.expect("enrolled").sealed_secret;
    // `replace`: the password, a code, then enrollment.
    let step = after_password(&app, "replace").await;
    app.submit(&step["auth_id"], json!({"action": "use_recovery_code"}))
        .await;
    let (_, enroll) = submit_recovery_code(&app, &step, &codes[0]).await;
    assert_eq!(enroll["step"], "totp_enroll", "{enroll}");
    let new_phone = scan(&enroll);
    let (_, done) = submit_code(
        &app,
        "replace",
        &enroll,
        &code_at(&new_phone, app.clock_now()),
    )
    .await;
    assert!(done["session_token"].is_string(), "{done}");
    assert_ne!(
        alice(&app).totp.expect("enrolled").sealed_secret,
        sealed_before
    );
}
