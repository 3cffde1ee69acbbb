//! Client authentication and what a client may ask the token endpoint (RFC
//! 6749 §2.3, §5.2).

use super::*;

#[tokio::test]
async fn a_wrong_client_secret_gets_401_invalid_client_with_www_authenticate() {
    let app = spawn().await;
    let form = [("grant_type", "client_credentials")];
    let attempts = [
        (
            "basic, wrong secret",
            Cred::Basic("web", "web-secret-that-is-long-enough-012345678X"),
        ),
        ("basic, unknown client", Cred::Basic("nobody", WEB_SECRET)),
        (
            "basic, another client's secret",
            Cred::Basic("web", SERVICE_SECRET),
        ),
        ("no secret for a confidential client", Cred::Public("web")),
        (
            "a secret for a public client",
            Cred::Basic("native", "made-up"),
        ),
    ];
    for (what, cred) in attempts {
        let response = post_as(&app, "/oauth2/token", cred, &form).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert!(
            response.headers().get("www-authenticate").is_some(),
            "{what}: WWW-Authenticate"
        );
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"], "invalid_client", "{what}: {body}");
        assert!(body.get("access_token").is_none());
    }
    // client_secret_post with a wrong secret.
    let response = app
        .api
        .post(app.url("/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "web"),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get("www-authenticate").is_some());
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "invalid_client");
    // The right secret works.
    let (status, body) = token(&app, WEB, &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn credentials_sent_both_in_basic_and_in_the_body_are_refused() {
    let app = spawn().await;
    let response = app
        .api
        .post(app.url("/oauth2/token"))
        .basic_auth("web", Some(WEB_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "web"),
            ("client_secret", WEB_SECRET),
        ])
        .send()
        .await
        .expect("request");
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_error(&(status, body), StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn a_public_client_cannot_use_client_credentials() {
    let app = spawn().await;
    let answer = token(&app, NATIVE, &[("grant_type", "client_credentials")]).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "unauthorized_client");
}

#[tokio::test]
async fn a_public_client_cannot_introspect() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("native", NATIVE_REDIRECT, "openid notes:read");
    let (access, _) = tokens_for(&app, NATIVE, &request).await;
    let response = post_as(&app, "/oauth2/introspect", NATIVE, &[("token", &access)]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "invalid_client", "{body}");
    assert!(body.get("active").is_none(), "{body}");
}

#[tokio::test]
async fn a_client_acting_for_itself_cannot_pass_for_a_user() {
    // RFC 9700 §4.15: client_credentials tokens carry no user scopes, and
    // their subject is the client.
    let app = spawn().await;
    for (cred, scope) in [
        (SERVICE, "openid"),
        (WEB, "openid"),
        (WEB, "profile notes:read"),
        (SERVICE, "email"),
    ] {
        let answer = token(
            &app,
            cred,
            &[("grant_type", "client_credentials"), ("scope", scope)],
        )
        .await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_scope");
    }
    let (status, body) = token(&app, SERVICE, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("refresh_token").is_none());
    let claims = verify_offline(
        &app,
        &text(&body, "access_token"),
        "service",
        Algorithm::RS256,
    )
    .await
    .expect("valid");
    assert_eq!(claims["sub"], "service");
    assert_eq!(claims["client_id"], "service");
    assert_eq!(claims["scope"], "notes:read notes:write");
}

#[tokio::test]
async fn the_resource_owner_password_grant_is_not_available() {
    // RFC 9700 §2.4.
    let app = spawn().await;
    let answer = token(
        &app,
        WEB,
        &[
            ("grant_type", "password"),
            ("username", ALICE.0),
            ("password", ALICE.1),
        ],
    )
    .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "unsupported_grant_type");
}

#[tokio::test]
async fn the_token_endpoint_judges_a_request_in_rfc_order() {
    // RFC 6749 §5.2: grant_type first, then whether the client may use
    // the grant, then the grant's own parameters; a malformed scope only
    // where the grant reaches it.
    let app = spawn().await;
    type Case = (Cred, &'static [(&'static str, &'static str)], &'static str);
    let cases: [Case; 5] = [
        (SERVICE, &[("code", "c")], "invalid_request"),
        (
            SERVICE,
            &[("grant_type", "authorization_code")],
            "unauthorized_client",
        ),
        (
            NATIVE,
            &[("grant_type", "client_credentials"), ("scope", "a\"b")],
            "unauthorized_client",
        ),
        (
            WEB,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "unknown"),
                ("scope", "a\"b"),
            ],
            "invalid_grant",
        ),
        (
            WEB,
            &[("grant_type", "client_credentials"), ("scope", "a\"b")],
            "invalid_scope",
        ),
    ];
    for (cred, form, expected) in cases {
        let answer = token(&app, cred, form).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, expected);
    }
}

#[tokio::test]
async fn a_token_request_that_is_not_a_form_gets_an_oauth_json_error() {
    let app = spawn().await;
    let response = app
        .api
        .post(app.url("/oauth2/token"))
        .basic_auth("web", Some(WEB_SECRET))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("RFC 6749 JSON");
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn revocation_and_introspection_authenticate_the_client_as_the_token_endpoint_does() {
    let app = spawn().await;
    let form = [("token", "anything")];
    for path in ["/oauth2/revoke", "/oauth2/introspect"] {
        let wrong = Cred::Basic("web", "web-secret-that-is-long-enough-012345678X");
        let response = post_as(&app, path, wrong, &form).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert!(
            response.headers().get("www-authenticate").is_some(),
            "{path}"
        );
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"], "invalid_client", "{path}: {body}");

        let response = post_as(&app, path, Cred::Basic("web", WEB_SECRET), &form).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}
