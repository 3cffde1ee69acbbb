//! Redirect URI validation and the authorization response (RFC 9700 §4.1,
//! §4.4, §4.11.2).

use super::*;

#[tokio::test]
async fn a_manipulated_redirect_uri_gets_an_error_page_and_never_a_redirect() {
    let app = spawn().await;
    let manipulated = [
        "https://evil.example.com/callback",
        "https://web.example.com/callback/evil",
        "https://web.example.com/callback/",
        "https://web.example.com/callback?next=https://evil.example.com/",
        "https://web.example.com:8443/callback",
        "https://web.example.com/callback#fragment",
        "http://web.example.com/callback",
        "https://web.example.com.evil.example/callback",
        "https://evil.example.com@web.example.com/callback",
        "https://WEB.example.com/callback",
        "//evil.example.com/callback",
        "",
    ];
    // Signed out: refused before the browser is sent to sign in.
    for uri in manipulated {
        let request = AuthRequest::new("web", WEB_REDIRECT, "openid").set("redirect_uri", uri);
        let response = send_authorize(&app, &app.api, &request).await;
        assert_error_page(response, &format!("signed out, `{uri}`")).await;
    }
    // Signed in: no code goes anywhere either.
    app.login_html("", ALICE).await;
    for uri in manipulated {
        let request = AuthRequest::new("web", WEB_REDIRECT, "openid").set("redirect_uri", uri);
        let response = send_authorize(&app, &app.browser, &request).await;
        assert_error_page(response, &format!("signed in, `{uri}`")).await;
    }
}

#[tokio::test]
async fn a_loopback_redirect_uri_may_use_any_port_and_nothing_else_may_change() {
    let app = spawn_signed_in().await;
    for uri in [
        "http://127.0.0.1/callback",
        "http://127.0.0.1:1024/callback",
        NATIVE_REDIRECT,
        "http://127.0.0.1:65535/callback",
    ] {
        let request = AuthRequest::new("native", uri, "openid");
        let code = authorize(&app, &request).await;
        let (status, body) = redeem(&app, NATIVE, &code, &request).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    }
    for uri in [
        "http://localhost:53682/callback",
        "http://127.0.0.2:53682/callback",
        "http://[::1]:53682/callback",
        "https://127.0.0.1:53682/callback",
        "http://127.0.0.1:53682/callback/evil",
        "http://127.0.0.1:53682/callback?x=1",
        "http://127.0.0.1:53682/callback#x",
        "http://evil@127.0.0.1:53682/callback",
        "http://127.0.0.1.evil.example:53682/callback",
    ] {
        let request =
            AuthRequest::new("native", NATIVE_REDIRECT, "openid").set("redirect_uri", uri);
        let response = send_authorize(&app, &app.browser, &request).await;
        assert_error_page(response, uri).await;
    }
}

#[tokio::test]
async fn an_unknown_or_missing_client_gets_an_error_page_and_never_a_redirect() {
    let app = spawn_signed_in().await;
    let unknown = AuthRequest::new("evil", "https://evil.example.com/callback", "openid");
    assert_error_page(
        send_authorize(&app, &app.browser, &unknown).await,
        "unknown client",
    )
    .await;
    // A client without redirect URIs (client_credentials only).
    let service = AuthRequest::new("service", "https://evil.example.com/callback", "notes:read");
    assert_error_page(
        send_authorize(&app, &app.browser, &service).await,
        "service client",
    )
    .await;
    let nameless = AuthRequest::new("web", WEB_REDIRECT, "openid").without("client_id");
    assert_error_page(
        send_authorize(&app, &app.browser, &nameless).await,
        "no client_id",
    )
    .await;
}

#[tokio::test]
async fn errors_after_the_client_and_redirect_uri_are_trusted_go_back_with_state_and_iss() {
    let app = spawn_signed_in().await;
    let base = || AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let cases = [
        // RFC 9700 §2.1.2: no implicit grant, no hybrid.
        (
            base().set("response_type", "token"),
            "unsupported_response_type",
        ),
        (
            base().set("response_type", "code token"),
            "unsupported_response_type",
        ),
        (
            base().set("response_type", "id_token"),
            "unsupported_response_type",
        ),
        (base().without("response_type"), "invalid_request"),
        // A scope the client is not registered for, or that does not exist.
        (base().set("scope", "openid notes:write"), "invalid_scope"),
        (base().set("scope", "openid admin"), "invalid_scope"),
        (base().without("scope"), "invalid_scope"),
    ];
    for (request, error) in cases {
        let response = send_authorize(&app, &app.browser, &request).await;
        let params = callback(&response, WEB_REDIRECT);
        assert_eq!(
            params.get("error").map(String::as_str),
            Some(error),
            "{params:?}"
        );
        assert!(
            params
                .get("error_description")
                .is_some_and(|d| !d.is_empty()),
            "{params:?}"
        );
        assert_eq!(params.get("state"), Some(&request.state), "{params:?}");
        assert_eq!(params.get("iss"), Some(&app.address), "{params:?}");
        assert_eq!(params.get("code"), None, "{params:?}");
    }
}

/// OpenID Connect Core §6: every other parameter may sit inside the request
/// object, so its refusal comes before any of them is judged (here: no
/// response_type, scope or code_challenge outside it).
#[tokio::test]
async fn a_request_object_or_uri_is_refused_before_any_other_parameter_is_judged() {
    let app = spawn().await;
    let bare = || {
        AuthRequest::new("web", WEB_REDIRECT, "openid")
            .without("response_type")
            .without("scope")
            .without("code_challenge")
            .without("code_challenge_method")
    };
    for (name, value, error) in [
        (
            "request",
            "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ3ZWIifQ.",
            "request_not_supported",
        ),
        (
            "request_uri",
            "https://web.example.com/request.jwt",
            "request_uri_not_supported",
        ),
    ] {
        let request = bare().set(name, value);
        let response = send_authorize(&app, &app.browser, &request).await;
        let params = callback(&response, WEB_REDIRECT);
        assert_eq!(
            params.get("error").map(String::as_str),
            Some(error),
            "{params:?}"
        );
        assert_eq!(params.get("state"), Some(&request.state), "{params:?}");
        assert_eq!(params.get("iss"), Some(&app.address), "{params:?}");
        // RFC 6749 §4.1.2.1: an unverified redirect URI still gets the page.
        let unverified = bare()
            .set("redirect_uri", "https://evil.example.com/callback")
            .set(name, value);
        assert_error_page(
            send_authorize(&app, &app.browser, &unverified).await,
            &format!("{name} with an unregistered redirect_uri"),
        )
        .await;
    }
}

#[tokio::test]
async fn every_authorization_response_names_the_issuer_and_metadata_says_so() {
    // RFC 9700 §4.4 (mix-up): RFC 9207 `iss`, matching the metadata.
    let app = spawn_signed_in().await;
    let metadata: Value = app
        .api
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(metadata["issuer"], app.address.as_str());
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(metadata["response_types_supported"], json!(["code"]));
    let grants = metadata["grant_types_supported"]
        .as_array()
        .expect("grants");
    assert!(!grants.contains(&json!("password")));
    assert!(!grants.contains(&json!("implicit")));

    let request = AuthRequest::new("native", NATIVE_REDIRECT, "openid");
    let params = authorize_in(&app, &app.browser, &request).await;
    assert_eq!(params["iss"], metadata["issuer"].as_str().expect("issuer"));
}
