//! What needs the key besides the access token: public clients' refresh
//! tokens (RFC 9449 §5), codes bound by `dpop_jkt` or by a proof sent with
//! the pushed request (§10), and every request of a client registered
//! `dpop_bound_access_tokens` (§5.2), in config, by the admin API or by
//! dynamic registration.

use super::*;

#[tokio::test]
async fn a_public_clients_refresh_token_is_renewed_only_with_its_key() {
    let app = spawn().await;
    sign_in(&app, ALICE).await;
    let key = DpopKey::es256();
    let request = AuthRequest::new("app", CALLBACK, "openid");
    let (status, body) = code_tokens(&app, APP, &request, &[&token_proof(&app, &key)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let refresh = text(&body, "refresh_token");

    let other = DpopKey::es256();
    let stolen = refresh_with(&app, APP, &refresh, &[&token_proof(&app, &other)]).await;
    assert_error(&stolen, StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    let bare = refresh_with(&app, APP, &refresh, &[]).await;
    assert_error(&bare, StatusCode::BAD_REQUEST, "invalid_dpop_proof");

    // The refusals rotated nothing: the key holder renews, and the
    // successor stays bound.
    let (status, body) = refresh_with(&app, APP, &refresh, &[&token_proof(&app, &key)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(
        claims_of(&text(&body, "access_token"))["cnf"]["jkt"],
        key.thumbprint()
    );
    let next = text(&body, "refresh_token");
    let stolen = refresh_with(&app, APP, &next, &[&token_proof(&app, &other)]).await;
    assert_error(&stolen, StatusCode::BAD_REQUEST, "invalid_dpop_proof");
}

#[tokio::test]
async fn a_confidential_clients_refresh_token_is_not_bound_to_the_key() {
    let app = spawn().await;
    sign_in(&app, ALICE).await;
    let key = DpopKey::es256();
    let request = AuthRequest::new("web", CALLBACK, "openid");
    let (status, body) = code_tokens(&app, WEB, &request, &[&token_proof(&app, &key)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    // RFC 9449 §5: client authentication already constrains it; a new key
    // binds the new access token.
    let other = DpopKey::es256();
    let refresh = text(&body, "refresh_token");
    let (status, body) = refresh_with(&app, WEB, &refresh, &[&token_proof(&app, &other)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        claims_of(&text(&body, "access_token"))["cnf"]["jkt"],
        other.thumbprint()
    );
}

#[tokio::test]
async fn a_code_bound_by_dpop_jkt_is_redeemed_only_with_that_key() {
    let app = spawn().await;
    sign_in(&app, ALICE).await;
    let key = DpopKey::es256();
    let request = AuthRequest::new("app", CALLBACK, "openid").set("dpop_jkt", &key.thumbprint());
    let code = authorize(&app, &request).await;
    let other = DpopKey::es256();
    let wrong = redeem_with(&app, APP, &code, &request, &[&token_proof(&app, &other)]).await;
    assert_error(&wrong, StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    let none = redeem_with(&app, APP, &code, &request, &[]).await;
    assert_error(&none, StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    let (status, body) = redeem_with(&app, APP, &code, &request, &[&token_proof(&app, &key)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        claims_of(&text(&body, "access_token"))["cnf"]["jkt"],
        key.thumbprint()
    );

    // A dpop_jkt that is no thumbprint is refused at the authorization endpoint.
    let malformed = AuthRequest::new("app", CALLBACK, "openid").set("dpop_jkt", "short");
    let response = app
        .browser
        .get(app.url("/oauth2/authorize"))
        .query(&malformed.params)
        .send()
        .await
        .expect("request");
    let back = callback(&response, CALLBACK);
    assert_eq!(back["error"], "invalid_request");
}

#[tokio::test]
async fn a_proof_with_a_pushed_request_binds_its_code_to_the_key() {
    let app = spawn().await;
    sign_in(&app, ALICE).await;
    let key = DpopKey::es256();
    let par = app.url("/oauth2/par");
    let request = AuthRequest::new("web", CALLBACK, "openid");
    let push = |proof: String, extra: Option<(&'static str, String)>| {
        let mut form: Vec<(String, String)> = request
            .params
            .iter()
            .filter(|(name, _)| name != "client_id")
            .cloned()
            .collect();
        form.extend(extra.map(|(n, v)| (n.to_owned(), v)));
        app.api
            .post(&par)
            .basic_auth("web", Some(WEB_SECRET))
            .header("DPoP", proof)
            .form(&form)
            .send()
    };
    // A dpop_jkt naming another key than the proof's is refused.
    let other = DpopKey::es256();
    let proof = key.proof(&ProofClaims::new("POST", &par, now(&app)));
    let mismatch = answer(
        push(proof, Some(("dpop_jkt", other.thumbprint())))
            .await
            .expect("request"),
    )
    .await;
    assert_error(&mismatch, StatusCode::BAD_REQUEST, "invalid_dpop_proof");

    let proof = key.proof(&ProofClaims::new("POST", &par, now(&app)));
    let (status, pushed) = answer(push(proof, None).await.expect("request")).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    let by_reference = AuthRequest {
        params: vec![
            ("client_id".into(), "web".into()),
            ("request_uri".into(), text(&pushed, "request_uri")),
        ],
        ..request.clone()
    };
    let code = authorize(&app, &by_reference).await;
    let wrong = redeem_with(&app, WEB, &code, &request, &[&token_proof(&app, &other)]).await;
    assert_error(&wrong, StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    let (status, body) = redeem_with(&app, WEB, &code, &request, &[&token_proof(&app, &key)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "DPoP");
}

#[tokio::test]
async fn a_client_registered_dpop_bound_must_always_send_a_proof() {
    let app = spawn().await;
    sign_in(&app, ALICE).await;
    let request = AuthRequest::new("strict", CALLBACK, "openid");
    let code = authorize(&app, &request).await;
    let bare = redeem_with(&app, STRICT, &code, &request, &[]).await;
    assert_error(&bare, StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    let key = DpopKey::es256();
    let (status, body) =
        redeem_with(&app, STRICT, &code, &request, &[&token_proof(&app, &key)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "DPoP");

    // Dynamic registration (RFC 7591) takes the same metadata.
    let registered: Value = app
        .api
        .post(app.url("/oauth2/register"))
        .bearer_auth(INITIAL)
        .json(&json!({
            "redirect_uris": [CALLBACK],
            "token_endpoint_auth_method": "none",
            "dpop_bound_access_tokens": true,
        }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(registered["dpop_bound_access_tokens"], true, "{registered}");
}

#[tokio::test]
async fn an_administrator_sets_whether_a_client_must_send_proofs() {
    let app = spawn().await;
    let root = app.login_rest(ROOT).await;
    let (status, created) = admin_send(
        &app,
        Auth::Session(&root),
        Method::POST,
        "/clients",
        Some(json!({
            "client_id": "service",
            "scopes": ["notes"],
            "grant_types": ["client_credentials"],
            "dpop_bound_access_tokens": true,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["dpop_bound_access_tokens"], true);
    // Cred holds 'static credentials; this test's server outlives nothing.
    let secret: &'static str = text(&created, "client_secret").leak();
    let service = Cred::Basic("service", secret);
    let form = [("grant_type", "client_credentials")];
    let bare = answer(token_with(&app, service, &[], &form).await).await;
    assert_error(&bare, StatusCode::BAD_REQUEST, "invalid_dpop_proof");

    let (status, changed) = admin_send(
        &app,
        Auth::Session(&root),
        Method::PATCH,
        "/clients/service",
        Some(json!({"dpop_bound_access_tokens": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["dpop_bound_access_tokens"], false);
    let (status, body) = answer(token_with(&app, service, &[], &form).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
}
