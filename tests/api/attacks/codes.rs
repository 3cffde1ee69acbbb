//! Authorization codes (RFC 9700 §4.2.4, §4.5; RFC 6749 §4.1.2, §4.1.3).

use super::*;

#[tokio::test]
async fn a_replayed_code_is_refused_and_revokes_the_tokens_it_issued() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read offline_access");
    let code = authorize(&app, &request).await;
    let (status, first) = redeem(&app, WEB, &code, &request).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let access = text(&first, "access_token");
    let refresh_1 = text(&first, "refresh_token");
    assert!(is_active(&app, SERVICE, &access).await);
    // The client has since rotated its refresh token once.
    let (status, rotated) = refresh(&app, WEB, &refresh_1).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let refresh_2 = text(&rotated, "refresh_token");

    let replay = redeem(&app, WEB, &code, &request).await;
    assert_error(&replay, StatusCode::BAD_REQUEST, "invalid_grant");

    assert!(
        !is_active(&app, SERVICE, &access).await,
        "the access token the code issued is revoked"
    );
    assert!(!is_active(&app, WEB, &refresh_2).await);
    assert_error(
        &refresh(&app, WEB, &refresh_2).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert_error(
        &refresh(&app, WEB, &refresh_1).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
}

#[tokio::test]
async fn a_replayed_code_also_revokes_the_access_tokens_refreshed_from_it() {
    // RFC 6749 §4.1.2: revoke "all tokens previously issued based on that
    // authorization code". An attacker who redeemed a stolen code first and
    // refreshed keeps a valid access token after the replay is detected.
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let code = authorize(&app, &request).await;
    let (status, first) = redeem(&app, WEB, &code, &request).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, rotated) = refresh(&app, WEB, &text(&first, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let refreshed_access = text(&rotated, "access_token");
    assert!(is_active(&app, SERVICE, &refreshed_access).await);

    let replay = redeem(&app, WEB, &code, &request).await;
    assert_error(&replay, StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(
        !is_active(&app, SERVICE, &refreshed_access).await,
        "the access token refreshed from the replayed code's grant is revoked"
    );
}

#[tokio::test]
async fn a_code_redeemed_twice_at_once_issues_tokens_once_and_then_revokes_them() {
    // Two redemptions in flight at once both pass the first read; the one
    // that loses the write transaction is a replay too.
    let app = spawn_signed_in().await;
    for attempt in 0..20 {
        let request = AuthRequest::new("native", NATIVE_REDIRECT, "openid notes:read");
        let code = authorize(&app, &request).await;
        let (a, b) = tokio::join!(
            redeem(&app, NATIVE, &code, &request),
            redeem(&app, NATIVE, &code, &request)
        );
        let winners: Vec<&Value> = [&a, &b]
            .into_iter()
            .filter(|(status, _)| *status == StatusCode::OK)
            .map(|(_, body)| body)
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "attempt {attempt}: one redemption wins: {a:?} {b:?}"
        );
        let loser = if a.0 == StatusCode::OK { &b } else { &a };
        assert_error(loser, StatusCode::BAD_REQUEST, "invalid_grant");
        let access = text(winners[0], "access_token");
        assert!(
            !is_active(&app, SERVICE, &access).await,
            "attempt {attempt}: the replay revoked the access token"
        );
        assert_error(
            &refresh(&app, NATIVE, &text(winners[0], "refresh_token")).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        );
    }
}

#[tokio::test]
async fn a_code_presented_by_another_client_is_refused_and_still_works_for_its_own() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("native", NATIVE_REDIRECT, "openid notes:read");
    let code = authorize(&app, &request).await;
    // `web` authenticates properly and knows the verifier and redirect URI.
    let stolen = redeem(&app, WEB, &code, &request).await;
    assert_error(&stolen, StatusCode::BAD_REQUEST, "invalid_grant");
    let legacy = token(
        &app,
        LEGACY,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", NATIVE_REDIRECT),
        ],
    )
    .await;
    assert_error(&legacy, StatusCode::BAD_REQUEST, "invalid_grant");
    // tessera refuses without burning the code: its own client redeems it.
    let (status, body) = redeem(&app, NATIVE, &code, &request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = verify_offline(
        &app,
        &text(&body, "access_token"),
        "native",
        Algorithm::RS256,
    )
    .await
    .expect("a valid access token");
    assert_eq!(claims["client_id"], "native");
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let app = spawn_signed_in().await;
    let fresh_request = AuthRequest::new("native", NATIVE_REDIRECT, "openid");
    let fresh_code = authorize(&app, &fresh_request).await;
    app.clock.advance(Duration::seconds(30));
    let (status, body) = redeem(&app, NATIVE, &fresh_code, &fresh_request).await;
    assert_eq!(status, StatusCode::OK, "30 s old: {body}");

    let request = AuthRequest::new("native", NATIVE_REDIRECT, "openid");
    let code = authorize(&app, &request).await;
    app.clock.advance(Duration::seconds(61));
    let answer = redeem(&app, NATIVE, &code, &request).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_redirect_uri_that_differs_at_the_token_endpoint_is_refused() {
    let app = spawn_signed_in().await;
    for (client, cred, redirect, other) in [
        (
            "native",
            NATIVE,
            NATIVE_REDIRECT,
            "http://127.0.0.1:53683/callback",
        ),
        (
            "native",
            NATIVE,
            NATIVE_REDIRECT,
            "http://127.0.0.1/callback",
        ),
        (
            "web",
            WEB,
            WEB_REDIRECT,
            "https://evil.example.com/callback",
        ),
        (
            "web",
            WEB,
            WEB_REDIRECT,
            "https://web.example.com/callback/",
        ),
    ] {
        let request = AuthRequest::new(client, redirect, "openid");
        let code = authorize(&app, &request).await;
        let mut elsewhere = request.clone();
        elsewhere.redirect_uri = other.to_owned();
        let answer = redeem(&app, cred, &code, &elsewhere).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_grant");
        // The redirect URI of the request, and only it, redeems the code.
        let (status, body) = redeem(&app, cred, &code, &request).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

#[tokio::test]
async fn a_redirect_uri_sent_at_authorization_must_be_sent_again_at_the_token_endpoint() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid");
    let code = authorize(&app, &request).await;
    let answer = token(
        &app,
        WEB,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &request.verifier),
        ],
    )
    .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_request");
    // Named again, the same code still works (the refusal did not burn it).
    let (status, body) = redeem(&app, WEB, &code, &request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
