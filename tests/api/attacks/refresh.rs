//! Refresh tokens (RFC 9700 §4.14).

use super::*;

#[tokio::test]
async fn a_rotated_refresh_token_reused_after_the_grace_period_revokes_the_whole_family() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read offline_access");
    let (_, refresh_1) = tokens_for(&app, WEB, &request).await;
    let (status, second) = refresh(&app, WEB, &refresh_1).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let refresh_2 = text(&second, "refresh_token");
    assert_ne!(refresh_2, refresh_1, "rotated at every use");
    let (status, third) = refresh(&app, WEB, &refresh_2).await;
    assert_eq!(status, StatusCode::OK, "{third}");
    let newest = text(&third, "refresh_token");
    assert!(is_active(&app, WEB, &newest).await);

    app.clock.advance(Duration::seconds(6));
    // A thief replays the first token.
    assert_error(
        &refresh(&app, WEB, &refresh_1).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    // The whole family is gone, the legitimate client's newest token too.
    assert!(!is_active(&app, WEB, &newest).await);
    assert_error(
        &refresh(&app, WEB, &newest).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert_error(
        &refresh(&app, WEB, &refresh_2).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
}

#[tokio::test]
async fn a_rotated_refresh_token_still_works_within_the_grace_period() {
    // A client that lost the response to its refresh may retry.
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let (_, refresh_1) = tokens_for(&app, WEB, &request).await;
    let (status, lost) = refresh(&app, WEB, &refresh_1).await;
    assert_eq!(status, StatusCode::OK, "{lost}");
    app.clock.advance(Duration::seconds(4));
    let (status, retried) = refresh(&app, WEB, &refresh_1).await;
    assert_eq!(status, StatusCode::OK, "within the grace period: {retried}");
    let (status, next) = refresh(&app, WEB, &text(&retried, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{next}");
}

#[tokio::test]
async fn a_rotated_refresh_token_works_only_once_within_the_grace_period() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let (_, refresh_1) = tokens_for(&app, WEB, &request).await;
    let (status, first) = refresh(&app, WEB, &refresh_1).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, retried) = refresh(&app, WEB, &refresh_1).await;
    assert_eq!(status, StatusCode::OK, "the one retry: {retried}");
    // A thief racing the client within the grace period gets nothing.
    let stolen = refresh(&app, WEB, &refresh_1).await;
    assert_error(&stolen, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn asking_for_more_scope_at_refresh_is_refused_with_invalid_scope() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let (_, refresh_token) = tokens_for(&app, WEB, &request).await;
    for scope in [
        "openid notes:read email",
        "profile",
        "notes:write",
        "openid notes:read offline_access",
    ] {
        let answer = token(
            &app,
            WEB,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_token),
                ("scope", scope),
            ],
        )
        .await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_scope");
    }
    // Narrowing is allowed, and the token says so.
    let (status, body) = token(
        &app,
        WEB,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh_token),
            ("scope", "notes:read"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "notes:read");
    let claims = verify_offline(&app, &text(&body, "access_token"), "web", Algorithm::RS256)
        .await
        .expect("valid");
    assert_eq!(claims["scope"], "notes:read");
}

#[tokio::test]
async fn a_refresh_token_presented_by_another_client_is_refused() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("native", NATIVE_REDIRECT, "openid notes:read");
    let (_, refresh_token) = tokens_for(&app, NATIVE, &request).await;
    let answer = refresh(&app, WEB, &refresh_token).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_grant");
    let (status, body) = refresh(&app, NATIVE, &refresh_token).await;
    assert_eq!(status, StatusCode::OK, "still its own client's: {body}");
}

#[tokio::test]
async fn a_client_cannot_revoke_another_clients_tokens() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("native", NATIVE_REDIRECT, "openid notes:read");
    let (access, refresh_token) = tokens_for(&app, NATIVE, &request).await;
    for victim in [&access, &refresh_token] {
        let response = post_as(&app, "/oauth2/revoke", WEB, &[("token", victim)]).await;
        assert!(!response.status().is_server_error());
    }
    assert!(is_active(&app, SERVICE, &access).await);
    let (status, body) = refresh(&app, NATIVE, &refresh_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_replay_within_the_grace_period_is_caught_when_the_rightful_successor_comes_back() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read offline_access");
    let (_, r0) = tokens_for(&app, WEB, &request).await;
    let (status, legit) = refresh(&app, WEB, &r0).await;
    assert_eq!(status, StatusCode::OK);
    let r1 = text(&legit, "refresh_token");
    // Within the grace period a thief replays r0 and gets a successor.
    let (status, stolen) = refresh(&app, WEB, &r0).await;
    assert_eq!(status, StatusCode::OK, "{stolen}");
    let r1_thief = text(&stolen, "refresh_token");
    // The rightful client's r1 comes back: reuse, the family ends.
    assert_error(
        &refresh(&app, WEB, &r1).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert_error(
        &refresh(&app, WEB, &r1_thief).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
}
