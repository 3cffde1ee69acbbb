//! UserInfo with DPoP-bound tokens (RFC 9449 §7): the `DPoP` scheme and a
//! proof of the token's key for the request and the token (`ath`); a bound
//! token as a bearer token, or an unbound one with the DPoP scheme, is
//! refused, with both challenges. The admin API takes them the same way.

use super::*;

#[tokio::test]
async fn a_proof_binds_the_access_token_to_its_key_and_userinfo_wants_both() {
    let app = spawn().await;
    sign_in(&app, ALICE).await;
    let key = DpopKey::es256();
    let request = AuthRequest::new("app", CALLBACK, "openid profile");
    let (status, body) = code_tokens(&app, APP, &request, &[&token_proof(&app, &key)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let access = text(&body, "access_token");
    let claims = claims_of(&access);
    assert_eq!(claims["cnf"], json!({"jkt": key.thumbprint()}));
    assert_eq!(claims["client_id"], "app");

    let introspected = introspect(&app, WEB, &access).await;
    assert_eq!(introspected["active"], true);
    assert_eq!(introspected["token_type"], "DPoP");
    assert_eq!(introspected["cnf"]["jkt"], key.thumbprint());

    let dpop = format!("DPoP {access}");
    let ok = userinfo(&app, &dpop, Some(&userinfo_proof(&app, &key, &access))).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let info: Value = ok.json().await.expect("json");
    assert_eq!(info["sub"], claims["sub"]);

    // RFC 9449 §7.2: a bound token is no bearer token.
    let bearer = userinfo(&app, &format!("Bearer {access}"), None).await;
    assert_eq!(bearer.status(), StatusCode::UNAUTHORIZED);
    let said = challenges(&bearer);
    assert!(
        said.contains("Bearer realm=\"tessera\", error=\"invalid_token\""),
        "{said}"
    );
    assert!(said.contains("DPoP algs=\""), "{said}");

    // The scheme without a proof, a proof without ath, an ath of another
    // token, a proof by another key.
    assert_dpop_refusal(&userinfo(&app, &dpop, None).await, "invalid_dpop_proof");
    let url = app.url("/oauth2/userinfo");
    let no_ath = key.proof(&ProofClaims::new("GET", &url, now(&app)));
    assert_dpop_refusal(
        &userinfo(&app, &dpop, Some(&no_ath)).await,
        "invalid_dpop_proof",
    );
    let other_ath = userinfo_proof(&app, &key, "another-token");
    assert_dpop_refusal(
        &userinfo(&app, &dpop, Some(&other_ath)).await,
        "invalid_dpop_proof",
    );
    let stolen = userinfo_proof(&app, &DpopKey::es256(), &access);
    assert_dpop_refusal(
        &userinfo(&app, &dpop, Some(&stolen)).await,
        "invalid_dpop_proof",
    );

    // A replay of a proof that worked.
    let proof = userinfo_proof(&app, &key, &access);
    assert_eq!(
        userinfo(&app, &dpop, Some(&proof)).await.status(),
        StatusCode::OK
    );
    assert_dpop_refusal(
        &userinfo(&app, &dpop, Some(&proof)).await,
        "invalid_dpop_proof",
    );
}

#[tokio::test]
async fn without_a_proof_tokens_stay_bearer_tokens() {
    let app = spawn().await;
    let (status, body) = client_token(&app, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    let access = text(&body, "access_token");
    assert_eq!(claims_of(&access).get("cnf"), None);
    let introspected = introspect(&app, WEB, &access).await;
    assert_eq!(introspected["token_type"], "Bearer");
    assert_eq!(introspected.get("cnf"), None);
    // An unbound token with the DPoP scheme is refused: nothing binds it.
    let key = DpopKey::es256();
    let response = userinfo(
        &app,
        &format!("DPoP {access}"),
        Some(&userinfo_proof(&app, &key, &access)),
    )
    .await;
    assert_dpop_refusal(&response, "invalid_token");
}

#[tokio::test]
async fn the_admin_api_takes_a_dpop_bound_token_with_a_proof_only() {
    let app = spawn().await;
    let key = DpopKey::es256();
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "tessera:admin"),
    ];
    let ops = Cred::Basic("ops", WEB_SECRET);
    let (status, body) =
        answer(token_with(&app, ops, &[&token_proof(&app, &key)], &form).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = text(&body, "access_token");
    let url = app.url("/admin/api/users");
    let call = |authorization: String, proof: Option<String>| {
        let mut request = app.api.get(&url).header("Authorization", authorization);
        if let Some(proof) = proof {
            request = request.header("DPoP", proof);
        }
        request.send()
    };
    let proof = key.proof(&ProofClaims {
        access_token: Some(&access),
        ..ProofClaims::new("GET", &url, now(&app))
    });
    let ok = call(format!("DPoP {access}"), Some(proof.clone()))
        .await
        .expect("request");
    assert_eq!(ok.status(), StatusCode::OK);

    let bearer = answer(
        call(format!("Bearer {access}"), None)
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(bearer.0, StatusCode::UNAUTHORIZED, "{}", bearer.1);
    assert_eq!(bearer.1["error"], "invalid_token");
    let replayed = call(format!("DPoP {access}"), Some(proof))
        .await
        .expect("request");
    assert_dpop_refusal(&replayed, "invalid_dpop_proof");
    let missing = call(format!("DPoP {access}"), None).await.expect("request");
    assert_dpop_refusal(&missing, "invalid_dpop_proof");
}
