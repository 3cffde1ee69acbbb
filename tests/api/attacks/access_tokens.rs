//! Access tokens as a resource server sees them (RFC 9068, RFC 9700 §4.9):
//! offline, at introspection, and never as an ID token hint.

use super::*;

#[tokio::test]
async fn access_tokens_verify_offline_against_the_jwks_with_the_expected_claims() {
    let app = spawn_signed_in().await;
    let session: Value = app
        .browser
        .get(app.url("/api/session"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let alice_id = session["user"]["id"].as_str().expect("id").to_owned();

    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let code = authorize(&app, &request).await;
    let (status, body) = redeem(&app, WEB, &code, &request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    let access = text(&body, "access_token");

    let header = jsonwebtoken::decode_header(&access).expect("JWT header");
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, Algorithm::RS256);
    let claims = verify_offline(&app, &access, "web", Algorithm::RS256)
        .await
        .expect("a resource server accepts it");
    assert_eq!(claims["iss"], app.address.as_str());
    assert_eq!(claims["sub"], alice_id.as_str());
    assert_eq!(claims["aud"], json!(["web"]));
    assert_eq!(claims["client_id"], "web");
    assert_eq!(claims["scope"], "notes:read openid");
    let now = app.clock_now().unix_timestamp();
    let exp = claims["exp"].as_i64().expect("exp");
    assert!(exp > now && exp <= now + 600, "exp {exp}, now {now}");
    assert!(claims["iat"].as_i64().expect("iat") <= now);
    let jti = claims["jti"].as_str().expect("jti");
    assert!(jti.len() >= 16);

    // Another token has another jti.
    let (_, other) = refresh(&app, WEB, &text(&body, "refresh_token")).await;
    let other = verify_offline(&app, &text(&other, "access_token"), "web", Algorithm::RS256)
        .await
        .expect("valid");
    assert_ne!(other["jti"], jti);

    // A resource server of another audience refuses it.
    assert!(
        verify_offline(&app, &access, "native", Algorithm::RS256)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn forged_access_tokens_fail_offline_and_are_inactive_at_introspection() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let (access, _) = tokens_for(&app, WEB, &request).await;
    assert!(is_active(&app, SERVICE, &access).await);
    let parts: Vec<&str> = access.split('.').collect();
    assert_eq!(parts.len(), 3);
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
    claims["scope"] = json!("notes:read notes:write openid");
    let widened = URL_SAFE_NO_PAD.encode(claims.to_string());
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("json");
    let mut none_header = header.clone();
    none_header["alg"] = json!("none");
    let none_header = URL_SAFE_NO_PAD.encode(none_header.to_string());

    for (what, forged) in [
        (
            "payload changed",
            format!("{}.{widened}.{}", parts[0], parts[2]),
        ),
        ("alg none", format!("{none_header}.{widened}.")),
        ("signature stripped", format!("{}.{}.", parts[0], parts[1])),
    ] {
        assert!(
            verify_offline(&app, &forged, "web", Algorithm::RS256)
                .await
                .is_err(),
            "{what}"
        );
        assert!(!is_active(&app, SERVICE, &forged).await, "{what}");
    }
}

#[tokio::test]
async fn an_access_token_is_not_accepted_as_an_id_token_hint() {
    let app = spawn_app_with(&CLIENTS.replace(
        "redirect_uris = [\"https://web.example.com/callback\"]",
        "redirect_uris = [\"https://web.example.com/callback\"]\npost_logout_redirect_uris = [\"https://web.example.com/bye\"]",
    ))
    .await;
    app.login_html("", ALICE).await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let (access, _) = tokens_for(&app, WEB, &request).await;
    let response = app
        .browser
        .get(app.url("/oauth2/logout"))
        .query(&[
            ("id_token_hint", access.as_str()),
            ("post_logout_redirect_uri", "https://web.example.com/bye"),
        ])
        .send()
        .await
        .expect("logout");
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "no silent sign-out"
    );
    assert!(response.headers().get("location").is_none());
    assert_eq!(
        app.get_page("/account").await.status(),
        StatusCode::OK,
        "still signed in"
    );
}

#[tokio::test]
async fn a_client_learns_nothing_about_another_clients_tokens_at_introspection() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new(
        "native",
        NATIVE_REDIRECT,
        "openid notes:read offline_access",
    );
    let (access, refresh_token) = tokens_for(&app, NATIVE, &request).await;
    for token in [&access, &refresh_token] {
        let response = post_as(&app, "/oauth2/introspect", WEB, &[("token", token)]).await;
        let body: Value = response.json().await.expect("json");
        assert_eq!(body, json!({"active": false}));
    }
    assert!(
        is_active(&app, SERVICE, &access).await,
        "the resource server still sees it"
    );
}
