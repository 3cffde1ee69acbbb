//! The same journeys in the browser: the QR code page, enrollment, codes.

use super::*;

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
