//! RFC 8693 token exchange: a first-party app trades a session token for
//! OAuth tokens.

use super::*;

/// `POST /oauth2/token` with a session token as the subject, for the public
/// client `client_id`.
async fn exchange(
    app: &TestApp,
    client_id: &str,
    subject_token: &str,
    scope: &str,
) -> (StatusCode, Value) {
    let response = app
        .api
        .post(app.url("/oauth2/token"))
        .form(&[
            ("grant_type", TOKEN_EXCHANGE),
            ("client_id", client_id),
            ("subject_token", subject_token),
            ("subject_token_type", SESSION_TOKEN_TYPE),
            ("scope", scope),
        ])
        .send()
        .await
        .expect("token");
    let status = response.status();
    (status, response.json().await.expect("json"))
}

#[tokio::test]
async fn a_first_party_app_exchanges_a_session_token_for_an_access_and_id_token() {
    let app = spawn_app_with(CONFIG).await;
    let session = app.login_rest(ALICE).await;
    let alice_id = user_id(&app, &session).await;
    let (status, body) = exchange(&app, "app", &session, "openid profile").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["issued_token_type"], ACCESS_TOKEN_TYPE);
    assert_eq!(body["token_type"], "Bearer");
    let access = body["access_token"].as_str().expect("access_token");
    let claims = verify_offline(&app, access, "app", Algorithm::RS256)
        .await
        .expect("the token verifies offline");
    assert_eq!(claims["sub"], alice_id.as_str());
    assert_eq!(claims["client_id"], "app");

    let client: Rp =
        CoreClient::from_provider_metadata(discover(&app).await, ClientId::new("app".into()), None);
    let id_token =
        CoreIdToken::from_str(body["id_token"].as_str().expect("id_token")).expect("an ID token");
    let id = verified(
        &client,
        &id_token,
        &AccessToken::new(access.to_owned()),
        no_nonce,
    );
    assert_eq!(id.subject(), &SubjectIdentifier::new(alice_id));
    assert_eq!(
        id.preferred_username().map(|name| name.as_str()),
        Some("alice")
    );
    assert!(
        id.auth_method_refs()
            .expect("amr")
            .iter()
            .any(|method| method.as_str() == "pwd")
    );
}

#[tokio::test]
async fn a_client_not_allowed_to_exchange_session_tokens_gets_unauthorized_client() {
    let app = spawn_app_with(CONFIG).await;
    let session = app.login_rest(ALICE).await;
    let (status, body) = exchange(&app, "native", &session, "openid").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "unauthorized_client");
    assert!(body.get("access_token").is_none());
}

#[tokio::test]
async fn an_invalid_session_token_cannot_be_exchanged() {
    let app = spawn_app_with(CONFIG).await;
    let session = app.login_rest(ALICE).await;
    app.logout_rest(&session).await;
    for token in ["not-a-session-token", session.as_str()] {
        let (status, body) = exchange(&app, "app", token, "openid").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"], "invalid_grant");
    }
}
