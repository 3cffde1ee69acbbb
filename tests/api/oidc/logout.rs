//! RP-Initiated Logout 1.0.

use super::*;

/// The end-session URL discovery names.
async fn end_session(app: &TestApp) -> LogoutRequest {
    discover(app)
        .await
        .additional_metadata()
        .end_session_endpoint
        .clone()
        .expect("end_session_endpoint")
        .into()
}

fn signed_out_uri() -> PostLogoutRedirectUrl {
    PostLogoutRedirectUrl::new(RP_SIGNED_OUT.into()).expect("url")
}

/// RP-Initiated Logout 1.0 §2-3: a hint for the signed-in user ends the
/// session at once and goes back with `state`.
#[tokio::test]
async fn logout_with_an_id_token_hint_ends_the_session_and_returns_with_state() {
    let consented = alice_consented().await;
    let app = &consented.app;
    let url = end_session(app)
        .await
        .set_id_token_hint(consented.tokens.id_token().expect("an ID token"))
        .set_post_logout_redirect_uri(signed_out_uri())
        .set_state(CsrfToken::new("logout-state".into()))
        .http_get_url();
    let response = open(app, &url).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        format!("{RP_SIGNED_OUT}?state=logout-state")
    );
    assert_eq!(
        app.get_session(&consented.session).await.status(),
        StatusCode::UNAUTHORIZED,
        "the session is revoked"
    );
    let session = app.get_page("/api/session").await;
    assert_eq!(session.status(), StatusCode::UNAUTHORIZED);
}

/// Without a hint, nothing proves the request came from an app the user
/// uses: tessera asks first.
#[tokio::test]
async fn logout_without_an_id_token_hint_asks_for_confirmation_first() {
    let consented = alice_consented().await;
    let app = &consented.app;
    let url = end_session(app)
        .await
        .set_client_id(ClientId::new("rp".into()))
        .set_post_logout_redirect_uri(signed_out_uri())
        .set_state(CsrfToken::new("logout-state".into()))
        .http_get_url();
    let response = open(app, &url).await;
    assert_eq!(response.status(), StatusCode::OK, "a confirmation page");
    let html = response.text().await.expect("html");
    assert!(
        html.contains(r#"<form method="post" action="/oauth2/logout/confirm">"#),
        "{html}"
    );
    assert_eq!(
        app.get_session(&consented.session).await.status(),
        StatusCode::OK,
        "still signed in until confirmed"
    );

    let confirmed = app
        .browser
        .post(app.url("/oauth2/logout/confirm"))
        .form(&hidden_fields(&html))
        .send()
        .await
        .expect("confirm");
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&confirmed),
        format!("{RP_SIGNED_OUT}?state=logout-state")
    );
    assert_eq!(
        app.get_session(&consented.session).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn logout_to_an_unregistered_post_logout_redirect_uri_gets_an_error_page() {
    let consented = alice_consented().await;
    let app = &consented.app;
    let url = end_session(app)
        .await
        .set_id_token_hint(consented.tokens.id_token().expect("an ID token"))
        .set_post_logout_redirect_uri(
            PostLogoutRedirectUrl::new("https://attacker.example.com/".into()).expect("url"),
        )
        .http_get_url();
    let page = assert_error_page(open(app, &url).await, "not registered").await;
    assert!(page.contains("not registered"), "{page}");
    assert_eq!(
        app.get_session(&consented.session).await.status(),
        StatusCode::OK,
        "still signed in"
    );
}
