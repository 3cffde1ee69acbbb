//! Discovery and the code flow: the OP certification plan's first modules,
//! through the login and consent pages.

use super::*;

/// oidcc-server's discovery step (and oidcc-discovery-*).
#[tokio::test]
async fn discovery_names_the_issuer_every_endpoint_and_what_the_provider_supports() {
    let app = spawn_app_with(CONFIG).await;
    // openidconnect checks that the document names the issuer it asked.
    let metadata = CoreProviderMetadata::discover_async(issuer(&app), &http)
        .await
        .expect("discovery");
    assert_eq!(metadata.issuer().as_str(), app.address);
    assert_eq!(
        metadata.authorization_endpoint().as_str(),
        app.url("/oauth2/authorize")
    );
    assert_eq!(
        metadata.token_endpoint().map(|url| url.as_str().to_owned()),
        Some(app.url("/oauth2/token"))
    );
    assert_eq!(
        metadata
            .userinfo_endpoint()
            .map(|url| url.as_str().to_owned()),
        Some(app.url("/oauth2/userinfo"))
    );
    assert_eq!(metadata.jwks_uri().as_str(), app.url("/oauth2/jwks"));
    assert!(
        !metadata.jwks().keys().is_empty(),
        "the crate fetched the JWKS"
    );
    assert!(
        metadata
            .response_types_supported()
            .contains(&ResponseTypes::new(vec![CoreResponseType::Code]))
    );
    assert_eq!(
        metadata.subject_types_supported(),
        &vec![CoreSubjectIdentifierType::Public]
    );
    assert!(
        metadata
            .id_token_signing_alg_values_supported()
            .contains(&CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256),
        "RS256, which OpenID Connect requires"
    );
    assert_eq!(metadata.request_parameter_supported(), Some(false));
    assert_eq!(metadata.request_uri_parameter_supported(), Some(false));
    assert_eq!(metadata.claims_parameter_supported(), Some(false));
    assert!(
        metadata
            .scopes_supported()
            .expect("scopes_supported")
            .contains(&scope("openid"))
    );
    let methods = metadata
        .token_endpoint_auth_methods_supported()
        .expect("token_endpoint_auth_methods_supported");
    assert!(methods.contains(&CoreClientAuthMethod::ClientSecretBasic));
    assert!(methods.contains(&CoreClientAuthMethod::ClientSecretPost));
    let claims: Vec<&str> = metadata
        .claims_supported()
        .expect("claims_supported")
        .iter()
        .map(|claim| claim.as_str())
        .collect();
    for claim in ["sub", "iss", "auth_time", "name", "email", "address"] {
        assert!(claims.contains(&claim), "{claim} in {claims:?}");
    }

    let with_logout = discover(&app).await;
    assert_eq!(
        with_logout
            .additional_metadata()
            .end_session_endpoint
            .as_ref()
            .map(|url| url.as_str().to_owned()),
        Some(app.url("/oauth2/logout")),
        "RP-Initiated Logout's end_session_endpoint"
    );
}

// --- The code flow ----------------------------------------------------------

/// The happy path, through the login and consent pages, authenticating at
/// the token endpoint with `auth`; the token request is recorded to check
/// where the secret went.
async fn code_flow_authenticating_with(auth: AuthType) {
    let app = spawn_app_with(CONFIG).await;
    let client = rp(&app, auth.clone()).await;
    let (request, verifier) = begin(&client);
    let (url, state, nonce) = request
        .add_scope(scope("profile"))
        .add_scope(scope("email"))
        .url();
    let signed_in_at = app.clock_now().unix_timestamp();
    let query = sign_in_through(&app, &url, ALICE).await;
    assert_eq!(query.get("state"), Some(state.secret()));
    assert_eq!(query.get("iss"), Some(&app.address), "RFC 9207 iss");

    let sent: Mutex<Vec<(Option<String>, String)>> = Mutex::new(Vec::new());
    let recording = |request: HttpRequest| {
        let authorization = request
            .headers()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = String::from_utf8_lossy(request.body()).into_owned();
        sent.lock().unwrap().push((authorization, body));
        http(request)
    };
    let tokens = client
        .exchange_code(AuthorizationCode::new(query["code"].clone()))
        .expect("a token endpoint")
        .set_pkce_verifier(verifier)
        .request_async(&recording)
        .await
        .expect("tokens");
    let (authorization, body) = sent.lock().unwrap().pop().expect("a token request");
    match auth {
        AuthType::BasicAuth => {
            assert!(
                authorization.is_some_and(|value| value.starts_with("Basic ")),
                "client_secret_basic"
            );
            assert!(!body.contains("client_secret"), "{body}");
        }
        _ => {
            assert!(
                authorization.is_none(),
                "client_secret_post sends no header"
            );
            assert!(body.contains("client_id=rp"), "{body}");
            assert!(body.contains("client_secret="), "{body}");
        }
    }

    let claims = id_claims(&client, &tokens, &nonce);
    let session: Value = app
        .browser
        .get(app.url("/api/session"))
        .send()
        .await
        .expect("session")
        .json()
        .await
        .expect("json");
    let alice_id = session["user"]["id"].as_str().expect("user id");
    assert_eq!(claims.subject().as_str(), alice_id, "sub is the user's id");
    assert_ne!(claims.subject().as_str(), "alice", "not the username");
    assert_eq!(claims.issuer().as_str(), app.address);
    assert_eq!(
        claims
            .audiences()
            .iter()
            .map(|aud| aud.as_str())
            .collect::<Vec<_>>(),
        ["rp"]
    );
    assert_eq!(
        claims.auth_time().map(|at| at.timestamp()),
        Some(signed_in_at),
        "auth_time is when alice signed in"
    );
    let amr: Vec<&str> = claims
        .auth_method_refs()
        .expect("amr")
        .iter()
        .map(|method| method.as_str())
        .collect();
    assert!(amr.contains(&"pwd"), "{amr:?}");
    assert_eq!(
        claims.auth_context_ref().map(|acr| acr.as_str()),
        Some("login"),
        "acr names the journey"
    );
    assert_eq!(
        claims.email().map(|email| email.as_str()),
        Some("alice@example.com")
    );
    assert_eq!(
        claims
            .name()
            .and_then(|name| name.get(None))
            .map(|name| name.as_str()),
        Some("Alice Liddell")
    );
    // The access token is the RFC 9068 JWT a resource server checks offline.
    let access = verify_offline(&app, tokens.access_token().secret(), "rp", Algorithm::RS256)
        .await
        .expect("the token verifies offline");
    assert_eq!(access["sub"], alice_id);
}

/// oidcc-server (with PKCE: oidcc-ensure-request-with-valid-pkce-succeeds).
#[tokio::test]
async fn the_code_flow_with_pkce_and_nonce_gives_a_verified_id_token_with_client_secret_basic() {
    code_flow_authenticating_with(AuthType::BasicAuth).await;
}

/// oidcc-server-client-secret-post.
#[tokio::test]
async fn the_code_flow_gives_a_verified_id_token_with_client_secret_post() {
    code_flow_authenticating_with(AuthType::RequestBody).await;
}

/// oidcc-ensure-request-without-nonce-succeeds-for-code-flow.
#[tokio::test]
async fn a_code_flow_request_without_a_nonce_succeeds_and_its_id_token_has_none() {
    let consented = alice_consented().await;
    let (request, verifier) = begin(&consented.client);
    let (url, _, _) = request
        .add_scope(scope("profile"))
        .add_scope(scope("email"))
        .url();
    let mut without = url.clone();
    without
        .query_pairs_mut()
        .clear()
        .extend_pairs(url.query_pairs().filter(|(name, _)| name != "nonce"));
    let query = callback(&open(&consented.app, &without).await);
    let tokens = redeem(&consented.client, &query, verifier).await;
    id_claims(&consented.client, &tokens, no_nonce);
}

/// oidcc-ensure-post-request-succeeds: the request as a posted form.
#[tokio::test]
async fn an_authorization_request_posted_as_a_form_succeeds() {
    let consented = alice_consented().await;
    let (request, verifier) = begin(&consented.client);
    let (url, state, nonce) = request
        .add_scope(scope("profile"))
        .add_scope(scope("email"))
        .url();
    let form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let response = consented
        .app
        .browser
        .post(consented.app.url("/oauth2/authorize"))
        .form(&form)
        .send()
        .await
        .expect("authorize");
    let query = callback(&response);
    assert_eq!(query.get("state"), Some(state.secret()));
    let tokens = redeem(&consented.client, &query, verifier).await;
    id_claims(&consented.client, &tokens, &nonce);
}

/// oidcc-response-type-missing.
#[tokio::test]
async fn a_request_without_response_type_is_sent_back_with_an_error() {
    let consented = alice_consented().await;
    let (request, _) = begin(&consented.client);
    let (url, state, _) = request.url();
    let mut without = url.clone();
    without.query_pairs_mut().clear().extend_pairs(
        url.query_pairs()
            .filter(|(name, _)| name != "response_type"),
    );
    let query = callback(&open(&consented.app, &without).await);
    assert!(!query.contains_key("code"));
    assert_eq!(
        query.get("error").map(String::as_str),
        Some("invalid_request")
    );
    assert_eq!(query.get("state"), Some(state.secret()));
}
