//! PKCE (RFC 9700 §2.1.1, §4.5, §4.8).

use super::*;

#[tokio::test]
async fn a_request_without_a_code_challenge_is_sent_back_with_invalid_request() {
    let app = spawn_signed_in().await;
    for (client, redirect) in [("native", NATIVE_REDIRECT), ("web", WEB_REDIRECT)] {
        let request = AuthRequest::new(client, redirect, "openid")
            .without("code_challenge")
            .without("code_challenge_method");
        let response = send_authorize(&app, &app.browser, &request).await;
        let params = callback(&response, redirect);
        assert_eq!(
            params.get("error").map(String::as_str),
            Some("invalid_request"),
            "{client}"
        );
        assert_eq!(params.get("code"), None);
        assert_eq!(params.get("state"), Some(&request.state));
        assert_eq!(params.get("iss"), Some(&app.address));
    }
}

#[tokio::test]
async fn the_plain_pkce_method_is_refused() {
    let app = spawn_signed_in().await;
    let base = || AuthRequest::new("native", NATIVE_REDIRECT, "openid");
    for request in [
        {
            let r = base();
            let verifier = r.verifier.clone();
            r.set("code_challenge", &verifier)
                .set("code_challenge_method", "plain")
        },
        // No method means plain (RFC 7636 §4.3).
        base().without("code_challenge_method"),
        base().set("code_challenge_method", "s256"),
        base().set("code_challenge_method", "S512"),
        base().set("code_challenge", "too-short"),
    ] {
        let response = send_authorize(&app, &app.browser, &request).await;
        let params = callback(&response, NATIVE_REDIRECT);
        assert_eq!(
            params.get("error").map(String::as_str),
            Some("invalid_request"),
            "{:?}",
            request.params
        );
        assert_eq!(params.get("code"), None);
    }
}

#[tokio::test]
async fn a_token_request_without_the_code_verifier_is_refused_with_invalid_grant() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("native", NATIVE_REDIRECT, "openid");
    let code = authorize(&app, &request).await;
    let answer = token(
        &app,
        NATIVE,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", NATIVE_REDIRECT),
        ],
    )
    .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_wrong_code_verifier_is_refused_with_invalid_grant() {
    let app = spawn_signed_in().await;
    for (client, cred, redirect) in [
        ("native", NATIVE, NATIVE_REDIRECT),
        ("web", WEB, WEB_REDIRECT),
    ] {
        let request = AuthRequest::new(client, redirect, "openid");
        let code = authorize(&app, &request).await;
        // An attacker who injects a stolen code has their own verifier.
        let mut injected = request.clone();
        injected.verifier = fresh();
        let answer = redeem(&app, cred, &code, &injected).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_grant");
    }
}

#[tokio::test]
async fn a_code_verifier_for_a_code_issued_without_a_challenge_is_refused() {
    // RFC 9700 §4.8.2 (PKCE downgrade): the code was issued without a
    // challenge, so a verifier at the token endpoint means an attacker
    // stripped the challenge from the request.
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("legacy", LEGACY_REDIRECT, "openid")
        .without("code_challenge")
        .without("code_challenge_method");
    let code = authorize(&app, &request).await;
    let answer = redeem(&app, LEGACY, &code, &request).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_grant");
    // The same code without a verifier is what the client may redeem.
    let (status, body) = token(
        &app,
        LEGACY,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", LEGACY_REDIRECT),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
