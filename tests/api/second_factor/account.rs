//! The authenticator app and recovery codes sections of /account: each
//! action, its proof, and its refusals.

use super::*;
use crate::helpers::location;
use crate::totp::{alice, wrong_code};
use time::Duration;

/// Confirms the set-up page's new app with its current code.
async fn confirm(browser: &Browser<'_>, setup: &str, new_phone: &Totp) -> Response {
    let code = code_at(new_phone, browser.app.clock_now());
    browser
        .post(
            "/account/authenticator/confirm",
            &[("ticket", &ticket_on(setup)), ("code", &code)],
        )
        .await
}

#[tokio::test]
async fn adding_an_app_after_a_recent_sign_in_confirms_it_with_a_code_and_shows_the_codes() {
    let app = spawn().await;
    let browser = Browser::alice(&app).await;
    let account = browser.account().await;
    assert!(account.contains("No authenticator app is set up."));
    assert!(account.contains("You have no unused recovery codes."));

    let setup = browser.post("/account/authenticator/setup", &[]).await;
    assert_eq!(setup.status(), StatusCode::OK);
    assert_eq!(setup.headers()["cache-control"], "no-store");
    let setup = setup.text().await.expect("html");
    assert!(setup.contains(r#"<div class="qr-image" role="img""#));
    // Listed as the journeys' `totp_enroll` lists it.
    assert!(setup.contains("otpauth://totp/Acme%20Corp:alice?secret="));
    let phone = app_from_page(&setup);
    assert!(alice(&app).totp.is_none(), "nothing saved before a code");

    let wrong = browser
        .post(
            "/account/authenticator/confirm",
            &[
                ("ticket", &ticket_on(&setup)),
                ("code", &wrong_code(&phone, app.clock_now())),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let again = wrong.text().await.expect("html");
    assert!(again.contains("That code is not right."));
    assert_eq!(
        app_from_page(&again).secret(),
        phone.secret(),
        "the same key"
    );

    let saved = confirm(&browser, &setup, &phone).await;
    assert_eq!(saved.status(), StatusCode::OK);
    assert_eq!(saved.headers()["cache-control"], "no-store");
    let page = saved.text().await.expect("html");
    assert!(page.contains("Your authenticator app is set up."));
    let codes = codes_on(&page);
    assert!(alice(&app).totp.is_some());
    let account = browser.account().await;
    assert!(account.contains("An authenticator app is set up since "));
    assert!(account.contains("10 of your 10 recovery codes are unused."));

    // The app signs in, and so does a code of the set.
    app.clock.advance(Duration::seconds(30));
    let step = after_password(&app, "secure").await;
    let (_, done) = submit_code(&app, "secure", &step, &code_at(&phone, app.clock_now())).await;
    assert!(done["session_token"].is_string(), "{done}");
    let step = after_password(&app, "rescue").await;
    let (_, done) = submit_recovery_code(&app, &step, &codes[9]).await;
    assert!(done["session_token"].is_string(), "{done}");
    assert_eq!(events(&app, "mfa.enroll")[0].details["replaced"], "false");
}

#[tokio::test]
async fn adding_an_app_or_codes_long_after_signing_in_asks_to_sign_in_again() {
    let app = spawn().await;
    let browser = Browser::alice(&app).await;
    app.clock.advance(Duration::seconds(301));
    let account = browser.account().await;
    assert!(
        account.contains(r#"<a href="/login?journey=login&#38;goto=%2Faccount">sign in again</a>"#)
    );
    assert!(!account.contains("Set up an authenticator app</button>"));
    for path in ["/account/authenticator/setup", "/account/recovery-codes"] {
        let refused = browser.post(path, &[]).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(
            refused
                .text()
                .await
                .expect("html")
                .contains("Sign in again first")
        );
    }
    let user = alice(&app);
    assert!(user.totp.is_none() && user.recovery_codes.is_none());
}

#[tokio::test]
async fn every_action_without_the_csrf_token_is_refused() {
    let app = spawn().await;
    let (browser, phone) = Browser::with_app(&app).await;
    app.clock.advance(Duration::seconds(30));
    let code = code_at(&phone, app.clock_now());
    for path in [
        "/account/authenticator/setup",
        "/account/authenticator/confirm",
        "/account/authenticator/remove",
        "/account/recovery-codes",
    ] {
        let refused = browser
            .post_raw(
                path,
                &[("csrf_token", "forged"), ("code", &code), ("ticket", "x")],
            )
            .await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
        let missing = browser
            .post_raw(path, &[("code", &code), ("ticket", "x")])
            .await;
        assert_eq!(missing.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let user = alice(&app);
    assert!(user.totp.is_some() && user.recovery_codes.is_none());
    assert_eq!(
        user.totp.expect("app").last_step,
        u64::try_from((app.clock_now() - Duration::seconds(30)).unix_timestamp()).expect("time")
            / 30,
        "the code was not even checked"
    );
}

#[tokio::test]
async fn replacing_or_removing_the_app_needs_a_right_unused_code() {
    let app = spawn().await;
    let (browser, phone) = Browser::with_app(&app).await;
    for path in [
        "/account/authenticator/setup",
        "/account/authenticator/remove",
    ] {
        let refused = browser.post(path, &[("code", "")]).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(
            refused
                .text()
                .await
                .expect("html")
                .contains("A code is needed")
        );
        let wrong = wrong_code(&phone, app.clock_now());
        let refused = browser.post(path, &[("code", &wrong)]).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(refused.text().await.expect("html").contains("Wrong code"));
        // The enrollment used the current step's code: a replay.
        let used = code_at(&phone, app.clock_now());
        let refused = browser.post(path, &[("code", &used)]).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(
            refused
                .text()
                .await
                .expect("html")
                .contains("Code already used")
        );
    }
    assert!(alice(&app).totp.is_some(), "the app stays");
    let failures = events(&app, "login")
        .into_iter()
        .filter(|event| event.outcome == "failure")
        .count();
    assert_eq!(failures, 4, "wrong and replayed codes are counted");
}

#[tokio::test]
async fn replacing_keeps_the_old_app_until_the_new_one_is_confirmed() {
    let app = spawn().await;
    let (browser, old_phone) = Browser::with_app(&app).await;
    app.clock.advance(Duration::seconds(30));
    let proof = code_at(&old_phone, app.clock_now());
    let setup = browser
        .post("/account/authenticator/setup", &[("code", &proof)])
        .await;
    assert_eq!(setup.status(), StatusCode::OK);
    let setup = setup.text().await.expect("html");
    assert!(setup.contains("Your current app keeps working until the new one is confirmed."));
    let new_phone = app_from_page(&setup);

    // Not confirmed yet: the old app still signs in.
    app.clock.advance(Duration::seconds(30));
    let step = after_password(&app, "secure").await;
    let (_, done) = submit_code(&app, "secure", &step, &code_at(&old_phone, app.clock_now())).await;
    assert!(done["session_token"].is_string(), "{done}");

    app.clock.advance(Duration::seconds(30));
    let saved = confirm(&browser, &setup, &new_phone).await;
    assert_eq!(
        saved.status(),
        StatusCode::OK,
        "the first codes come with it"
    );
    codes_on(&saved.text().await.expect("html"));
    assert_eq!(events(&app, "mfa.enroll")[0].details["replaced"], "true");

    app.clock.advance(Duration::seconds(30));
    let step = after_password(&app, "secure").await;
    let (_, retry) =
        submit_code(&app, "secure", &step, &code_at(&old_phone, app.clock_now())).await;
    assert!(
        retry["message"]
            .as_str()
            .expect("message")
            .contains("not right")
    );
    let (_, done) = submit_code(&app, "secure", &step, &code_at(&new_phone, app.clock_now())).await;
    assert!(done["session_token"].is_string(), "{done}");
}

#[tokio::test]
async fn a_set_up_page_of_another_session_or_too_old_saves_nothing() {
    let app = spawn().await;
    let browser = Browser::alice(&app).await;
    let setup = browser.post("/account/authenticator/setup", &[]).await;
    let setup = setup.text().await.expect("html");
    let phone = app_from_page(&setup);
    let other = Browser::alice(&app).await;
    let refused = confirm(&other, &setup, &phone).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(
        refused
            .text()
            .await
            .expect("html")
            .contains("Set-up expired")
    );
    let forged = browser
        .post(
            "/account/authenticator/confirm",
            &[
                ("ticket", "forged"),
                ("code", &code_at(&phone, app.clock_now())),
            ],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    app.clock.advance(Duration::minutes(11));
    let late = confirm(&browser, &setup, &phone).await;
    assert_eq!(late.status(), StatusCode::BAD_REQUEST);
    assert!(alice(&app).totp.is_none());
}

#[tokio::test]
async fn a_recovery_code_proves_it_once_and_removing_the_app_voids_the_codes() {
    let app = spawn().await;
    let (browser, phone) = Browser::with_app(&app).await;
    app.clock.advance(Duration::seconds(30));
    let codes = browser.new_codes(&code_at(&phone, app.clock_now())).await;
    assert_eq!(
        events(&app, "recovery_codes.generate")[0].details["proof"],
        "totp"
    );
    // A recovery code stands in for the app's code, once.
    let setup = browser
        .post("/account/authenticator/setup", &[("code", &codes[0])])
        .await;
    assert_eq!(setup.status(), StatusCode::OK);
    let replayed = browser
        .post("/account/authenticator/remove", &[("code", &codes[0])])
        .await;
    assert_eq!(replayed.status(), StatusCode::FORBIDDEN);
    assert!(
        replayed
            .text()
            .await
            .expect("html")
            .contains("Code already used")
    );
    let account = browser.account().await;
    assert!(account.contains("9 of your 10 recovery codes are unused."));
    assert!(account.contains("Removing the app also voids your recovery codes."));

    let removed = browser
        .post("/account/authenticator/remove", &[("code", &codes[1])])
        .await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&removed), "/account?done=app_removed");
    let user = alice(&app);
    assert!(user.totp.is_none() && user.recovery_codes.is_none());
    let event = &events(&app, "mfa.remove")[0];
    assert_eq!(event.details["proof"], "recovery_code");
    assert_eq!(event.details["recovery_codes_voided"], "8");

    // Neither the app nor a code signs in any more.
    let step = after_password(&app, "secure").await;
    assert_eq!(step["step"], "totp_enroll", "totp left by not_enrolled");
    let step = after_password(&app, "rescue").await;
    assert_eq!(
        step["step"], "totp_enroll",
        "recovery_code left by not_enrolled"
    );
    let refused = browser
        .post("/account/authenticator/remove", &[("code", &codes[2])])
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn new_codes_with_an_app_need_its_code_and_void_the_old_set() {
    let app = spawn().await;
    let (browser, phone) = Browser::with_app(&app).await;
    let refused = browser
        .post("/account/recovery-codes", &[("code", "")])
        .await;
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "a recent sign-in is not enough"
    );
    app.clock.advance(Duration::seconds(30));
    let old = browser.new_codes(&code_at(&phone, app.clock_now())).await;
    let page = browser
        .post("/account/recovery-codes", &[("code", &old[0])])
        .await;
    let html = page.text().await.expect("html");
    assert!(html.contains("Your previous recovery codes no longer work."));
    let new = codes_on(&html);
    let refused = browser
        .post("/account/recovery-codes", &[("code", &old[1])])
        .await;
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "the old set is void"
    );
    assert!(refused.text().await.expect("html").contains("Wrong code"));
    let step = after_password(&app, "rescue").await;
    let (_, done) = submit_recovery_code(&app, &step, &new[0]).await;
    assert!(done["session_token"].is_string(), "{done}");
}

#[tokio::test]
async fn a_user_who_has_codes_gets_no_new_set_with_a_new_app() {
    let app = spawn().await;
    let browser = Browser::alice(&app).await;
    let codes = browser.new_codes("").await;
    let setup = browser.post("/account/authenticator/setup", &[]).await;
    let setup = setup.text().await.expect("html");
    let saved = confirm(&browser, &setup, &app_from_page(&setup)).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&saved), "/account?done=app_saved");
    let account = browser.page(&location(&saved)).await;
    assert!(account.contains("Your authenticator app is set up."));
    let step = after_password(&app, "rescue").await;
    let (_, done) = submit_recovery_code(&app, &step, &codes[0]).await;
    assert!(done["session_token"].is_string(), "the set is kept: {done}");
}
