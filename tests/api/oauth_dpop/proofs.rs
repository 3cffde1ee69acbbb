//! What the token endpoint checks of a proof (RFC 9449 §4.3): its key
//! (public, asymmetric, by each supported algorithm), its claims (`htm`,
//! `htu`, `iat`), single use, one header, server nonces (§8); and what
//! discovery says of them.

use super::*;

#[tokio::test]
async fn a_replayed_proof_is_refused_at_the_token_endpoint() {
    let app = spawn().await;
    let key = DpopKey::es256();
    let proof = token_proof(&app, &key);
    let (status, body) = client_token(&app, &[&proof]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(
        claims_of(&text(&body, "access_token"))["cnf"]["jkt"],
        key.thumbprint()
    );
    assert_error(
        &client_token(&app, &[&proof]).await,
        StatusCode::BAD_REQUEST,
        "invalid_dpop_proof",
    );
}

#[tokio::test]
async fn proofs_for_another_url_method_or_time_are_refused() {
    let app = spawn().await;
    let key = DpopKey::es256();
    let token_url = app.url("/oauth2/token");
    let userinfo_url = app.url("/oauth2/userinfo");
    let t = now(&app);
    let refused = [
        ProofClaims::new("POST", &userinfo_url, t),
        ProofClaims::new("POST", "https://elsewhere.example.com/oauth2/token", t),
        ProofClaims::new("GET", &token_url, t),
        ProofClaims::new("post", &token_url, t),
        ProofClaims::new("POST", &token_url, t - 120),
        ProofClaims::new("POST", &token_url, t + 120),
    ];
    for claims in &refused {
        let answer = client_token(&app, &[&key.proof(claims)]).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    }
    // §4.3: query and fragment are not compared; a little clock skew is fine.
    let with_query = format!("{token_url}?ignored=1#too");
    for claims in [
        ProofClaims::new("POST", &with_query, t),
        ProofClaims::new("POST", &token_url, t - 30),
        ProofClaims::new("POST", &token_url, t + 30),
    ] {
        let (status, body) = client_token(&app, &[&key.proof(&claims)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

#[tokio::test]
async fn proofs_without_a_public_asymmetric_key_or_as_two_headers_are_refused() {
    let app = spawn().await;
    let key = DpopKey::es256();
    let url = app.url("/oauth2/token");
    let claims = ProofClaims::new("POST", &url, now(&app));
    let jti = |n: u8| format!("jti-{n}");
    let with_private = key.proof_with(&claims, &jti(1), |header| {
        header["jwk"]["d"] = json!("c2VjcmV0");
    });
    let wrong_typ = key.proof_with(&claims, &jti(2), |header| header["typ"] = json!("JWT"));
    let no_jwk = key.proof_with(&claims, &jti(3), |header| {
        header.as_object_mut().expect("object").remove("jwk");
    });
    // alg "none": the header says so, the signature is empty.
    let good = key.proof_with(&claims, &jti(4), |_| {});
    let body = good.split('.').nth(1).expect("claims");
    let none_header =
        serde_json::to_vec(&json!({"typ": "dpop+jwt", "alg": "none", "jwk": key.jwk()}))
            .expect("json");
    use base64::Engine;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let alg_none = format!("{}.{body}.", b64(&none_header));
    // HS256 with a symmetric key in jwk, signed with that key.
    let secret = b"a shared secret anyone could read";
    let hs_header =
        json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct", "k": b64(secret)}});
    let hs_input = format!("{}.{body}", b64(hs_header.to_string().as_bytes()));
    let tag = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret),
        hs_input.as_bytes(),
    );
    let hs256 = format!("{hs_input}.{}", b64(tag.as_ref()));
    // A proof signed by another key than the one its header shows.
    let other = DpopKey::es256();
    let forged = other.proof_with(&claims, &jti(5), |header| header["jwk"] = key.jwk());
    for proof in [
        with_private,
        wrong_typ,
        no_jwk,
        alg_none,
        hs256,
        forged,
        "not.a.jwt".into(),
    ] {
        let answer = client_token(&app, &[&proof]).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    }
    let (one, two) = (token_proof(&app, &key), token_proof(&app, &key));
    let answer = client_token(&app, &[&one, &two]).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_dpop_proof");
}

#[tokio::test]
async fn es384_rs256_ps256_and_eddsa_keys_bind_tokens_by_their_thumbprints() {
    let app = spawn().await;
    for key in [
        DpopKey::es384(),
        DpopKey::rs256(),
        DpopKey::ps256(),
        DpopKey::eddsa(),
    ] {
        let (status, body) = client_token(&app, &[&token_proof(&app, &key)]).await;
        assert_eq!(status, StatusCode::OK, "{} {body}", key.alg());
        assert_eq!(
            claims_of(&text(&body, "access_token"))["cnf"]["jkt"],
            key.thumbprint(),
            "{}",
            key.alg()
        );
    }
}

#[tokio::test]
async fn with_nonces_on_a_proof_without_the_current_nonce_is_answered_with_one() {
    let app = spawn_app_with(&config("dpop_nonce_secs = 60")).await;
    let key = DpopKey::es256();
    let response = token_with(
        &app,
        WEB,
        &[&token_proof(&app, &key)],
        &[("grant_type", "client_credentials")],
    )
    .await;
    let nonce = response.headers()["dpop-nonce"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_error(
        &answer(response).await,
        StatusCode::BAD_REQUEST,
        "use_dpop_nonce",
    );

    let url = app.url("/oauth2/token");
    let made_up = key.proof(&ProofClaims {
        nonce: Some("1.made-up"),
        ..ProofClaims::new("POST", &url, now(&app))
    });
    assert_error(
        &client_token(&app, &[&made_up]).await,
        StatusCode::BAD_REQUEST,
        "use_dpop_nonce",
    );
    let with_nonce = key.proof(&ProofClaims {
        nonce: Some(&nonce),
        ..ProofClaims::new("POST", &url, now(&app))
    });
    let (status, body) = client_token(&app, &[&with_nonce]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = text(&body, "access_token");

    // At UserInfo too (§9), with the nonce in the DPoP challenge's answer.
    let response = userinfo(
        &app,
        &format!("DPoP {access}"),
        Some(&userinfo_proof(&app, &key, &access)),
    )
    .await;
    assert_dpop_refusal(&response, "use_dpop_nonce");
    assert_eq!(response.headers()["dpop-nonce"], nonce.as_str());

    // Two slots later the nonce is stale.
    app.clock.advance(time::Duration::seconds(121));
    let stale = key.proof(&ProofClaims {
        nonce: Some(&nonce),
        ..ProofClaims::new("POST", &url, now(&app))
    });
    assert_error(
        &client_token(&app, &[&stale]).await,
        StatusCode::BAD_REQUEST,
        "use_dpop_nonce",
    );
}

#[tokio::test]
async fn discovery_names_the_algorithms_proofs_may_use() {
    let app = spawn().await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let metadata: Value = app
            .api
            .get(app.url(path))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        assert_eq!(
            metadata["dpop_signing_alg_values_supported"],
            json!(["ES256", "ES384", "RS256", "PS256", "EdDSA"]),
            "{path}"
        );
    }
}
