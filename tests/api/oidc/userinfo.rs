//! UserInfo: the claims each scope releases, by GET and by POST, and its
//! error challenges (RFC 6750 §3).

use super::*;

/// oidcc-userinfo-get (through the crate: the token in the header).
#[tokio::test]
async fn userinfo_answers_a_get_with_the_token_in_the_authorization_header() {
    let consented = alice_consented().await;
    let sub = id_claims(&consented.client, &consented.tokens, &consented.nonce)
        .subject()
        .clone();
    // The crate checks that UserInfo's sub is the ID token's.
    let claims: CoreUserInfoClaims = consented
        .client
        .user_info(consented.tokens.access_token().clone(), Some(sub))
        .expect("a userinfo endpoint")
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(
        claims.preferred_username().map(|name| name.as_str()),
        Some("alice")
    );
    assert_eq!(
        claims
            .name()
            .and_then(|name| name.get(None))
            .map(|name| name.as_str()),
        Some("Alice Liddell")
    );
    assert_eq!(
        claims.email().map(|email| email.as_str()),
        Some("alice@example.com")
    );
    assert_eq!(claims.email_verified(), Some(true));
}

/// The claims UserInfo gives with a plain GET, to compare POSTs with.
async fn userinfo_by_get(consented: &Consented) -> Value {
    let response = userinfo_get(&consented.app, consented.tokens.access_token().secret()).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

/// oidcc-userinfo-post-header.
#[tokio::test]
async fn userinfo_answers_a_post_with_the_token_in_the_authorization_header() {
    let consented = alice_consented().await;
    let response = consented
        .app
        .api
        .post(consented.app.url("/oauth2/userinfo"))
        .bearer_auth(consented.tokens.access_token().secret())
        .send()
        .await
        .expect("userinfo");
    assert_eq!(response.status(), StatusCode::OK);
    let claims: Value = response.json().await.expect("json");
    assert_eq!(claims, userinfo_by_get(&consented).await);
    assert_eq!(claims["email"], "alice@example.com");
}

/// oidcc-userinfo-post-body (RFC 6750 §2.2).
#[tokio::test]
async fn userinfo_answers_a_post_with_the_token_in_the_form_body() {
    let consented = alice_consented().await;
    let response = consented
        .app
        .api
        .post(consented.app.url("/oauth2/userinfo"))
        .form(&[("access_token", consented.tokens.access_token().secret())])
        .send()
        .await
        .expect("userinfo");
    assert_eq!(response.status(), StatusCode::OK);
    let claims: Value = response.json().await.expect("json");
    assert_eq!(claims, userinfo_by_get(&consented).await);
    assert_eq!(claims["preferred_username"], "alice");
}

/// oidcc-scope-profile, -email, -address, -phone and -all: each scope
/// releases its claims (OpenID Connect Core §5.4) at UserInfo and in the
/// ID token, and no other scope's.
#[tokio::test]
async fn each_scope_releases_its_claims_at_userinfo_and_in_the_id_token() {
    let app = spawn_app_with(CONFIG).await;
    sign_in(&app, CAROL).await;
    let client = rp(&app, AuthType::BasicAuth).await;
    let profile = ["name", "preferred_username", "updated_at"];
    let email = ["email", "email_verified"];
    let address = ["address"];
    let phone = ["phone_number", "phone_number_verified"];
    let cases: [(&[&str], Vec<&str>); 5] = [
        (&["profile"], profile.to_vec()),
        (&["email"], email.to_vec()),
        (&["address"], address.to_vec()),
        (&["phone"], phone.to_vec()),
        (
            &["profile", "email", "address", "phone"],
            [&profile[..], &email, &address, &phone].concat(),
        ),
    ];
    let every: Vec<&str> = [&profile[..], &email, &address, &phone].concat();
    for (scopes, released) in cases {
        let (request, verifier) = begin(&client);
        let (url, _, nonce) = request
            .add_scopes(scopes.iter().map(|name| scope(name)))
            .url();
        let query = authorize_in_browser(&app, url.as_str()).await;
        let tokens = redeem(&client, &query, verifier).await;
        id_claims(&client, &tokens, &nonce);
        let userinfo: Value = userinfo_get(&app, tokens.access_token().secret())
            .await
            .json()
            .await
            .expect("json");
        // Verified above; its payload as sent, to see which claims it has.
        let id_token = tokens.id_token().expect("an ID token").to_string();
        let payload = id_token.split('.').nth(1).expect("a JWS");
        let id_token: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
                .expect("JSON claims");
        for claim in &every {
            let expected = released.contains(claim);
            assert_eq!(
                userinfo.get(*claim).is_some(),
                expected,
                "{claim} at UserInfo for {scopes:?}: {userinfo}"
            );
            assert_eq!(
                id_token.get(*claim).is_some(),
                expected,
                "{claim} in the ID token for {scopes:?}: {id_token}"
            );
        }
    }

    // All of them, read through the crate.
    let (request, verifier) = begin(&client);
    let (url, _, nonce) = request
        .add_scopes(["profile", "email", "address", "phone"].map(scope))
        .url();
    let query = authorize_in_browser(&app, url.as_str()).await;
    let tokens = redeem(&client, &query, verifier).await;
    let sub = id_claims(&client, &tokens, &nonce).subject().clone();
    let claims: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), Some(sub))
        .expect("a userinfo endpoint")
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(
        claims
            .name()
            .and_then(|name| name.get(None))
            .map(|name| name.as_str()),
        Some("Carol Example")
    );
    assert_eq!(
        claims.email().map(|email| email.as_str()),
        Some("carol@example.com")
    );
    assert_eq!(
        claims.phone_number().map(|phone| phone.as_str()),
        Some("+44 20 7946 0000")
    );
    assert_eq!(
        claims
            .address()
            .and_then(|address| address.formatted.as_ref())
            .map(|formatted| formatted.as_str()),
        Some("1 Rabbit Hole\nOxford OX1 1AA")
    );
    assert!(claims.updated_at().is_some());
}

/// RFC 6750 §3.1: a token that is not one tessera signed.
#[tokio::test]
async fn userinfo_refuses_a_malformed_or_forged_token_with_invalid_token() {
    let consented = alice_consented().await;
    let genuine = consented.tokens.access_token().secret();
    let (body, signature) = genuine.rsplit_once('.').expect("a JWT");
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let forged = format!("{body}.{flipped}{}", &signature[1..]);
    for token in ["not-a-token", forged.as_str()] {
        let (status, header) = challenge(&userinfo_get(&consented.app, token).await);
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token}");
        assert!(header.starts_with("Bearer "), "{header}");
        assert!(header.contains(r#"error="invalid_token""#), "{header}");
    }
}

/// An access token past its lifetime (600 s by default), by the server's
/// clock.
#[tokio::test]
async fn userinfo_refuses_an_expired_access_token_with_invalid_token() {
    let consented = alice_consented().await;
    let token = consented.tokens.access_token().secret();
    assert_eq!(
        userinfo_get(&consented.app, token).await.status(),
        StatusCode::OK
    );
    consented.app.clock.advance(Duration::seconds(601));
    assert!(
        !is_active(&consented.app, RP, token).await,
        "introspection agrees the token expired"
    );
    let (status, header) = challenge(&userinfo_get(&consented.app, token).await);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(header.contains(r#"error="invalid_token""#), "{header}");
}

#[tokio::test]
async fn userinfo_refuses_a_revoked_access_token_with_invalid_token() {
    let consented = alice_consented().await;
    let token = consented.tokens.access_token().secret();
    let revoked = consented
        .app
        .api
        .post(consented.app.url("/oauth2/revoke"))
        .basic_auth("rp", Some(RP_SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoked.status(), StatusCode::OK);
    let (status, header) = challenge(&userinfo_get(&consented.app, token).await);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(header.contains(r#"error="invalid_token""#), "{header}");
}

/// RFC 6750 §3.1: a request without any token gets a challenge without an
/// error code.
#[tokio::test]
async fn userinfo_without_a_token_gets_a_bare_bearer_challenge() {
    let app = spawn_app_with(CONFIG).await;
    for request in [
        app.api.get(app.url("/oauth2/userinfo")),
        app.api.post(app.url("/oauth2/userinfo")),
    ] {
        let (status, header) = challenge(&request.send().await.expect("userinfo"));
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(header.starts_with("Bearer"), "{header}");
        assert!(!header.contains("error="), "{header}");
    }
}

/// RFC 6750 §3.1: a token not granted `openid` may not read UserInfo.
#[tokio::test]
async fn userinfo_refuses_a_token_without_openid_with_insufficient_scope() {
    let app = spawn_app_with(CONFIG).await;
    sign_in(&app, ALICE).await;
    let client = rp(&app, AuthType::BasicAuth).await.disable_openid_scope();
    let (request, verifier) = begin(&client);
    let (url, _, _) = request.add_scope(scope("notes:read")).url();
    let query = authorize_in_browser(&app, url.as_str()).await;
    let tokens = redeem(&client, &query, verifier).await;
    assert!(tokens.id_token().is_none(), "no openid, no ID token");
    let (status, header) = challenge(&userinfo_get(&app, tokens.access_token().secret()).await);
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(header.contains(r#"error="insufficient_scope""#), "{header}");
}

/// RFC 6750 §2: one method per request; a token in both the header and
/// the body is an `invalid_request`.
#[tokio::test]
async fn userinfo_refuses_a_token_sent_in_both_the_header_and_the_body() {
    let consented = alice_consented().await;
    let token = consented.tokens.access_token().secret();
    let response = consented
        .app
        .api
        .post(consented.app.url("/oauth2/userinfo"))
        .bearer_auth(token)
        .form(&[("access_token", token)])
        .send()
        .await
        .expect("userinfo");
    let (status, header) = challenge(&response);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(header.contains(r#"error="invalid_request""#), "{header}");
}

/// RFC 6750 §2.2: the body carries a token only with a method that gives
/// a body meaning, never GET.
#[tokio::test]
async fn userinfo_reads_no_token_from_the_body_of_a_get() {
    let consented = alice_consented().await;
    let response = consented
        .app
        .api
        .get(consented.app.url("/oauth2/userinfo"))
        .form(&[("access_token", consented.tokens.access_token().secret())])
        .send()
        .await
        .expect("userinfo");
    let (status, header) = challenge(&response);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!header.contains("error="), "{header}");
}
