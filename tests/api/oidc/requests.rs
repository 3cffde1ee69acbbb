//! What an authentication request may carry and what the provider refuses or
//! ignores; codes, redirect URIs and refresh as a relying party meets them.

use super::*;

/// oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported
/// (discovery says `request_parameter_supported: false`).
#[tokio::test]
async fn a_request_object_is_refused_with_request_not_supported() {
    let app = spawn_app_with(CONFIG).await;
    let client = rp(&app, AuthType::BasicAuth).await;
    let (request, _) = begin(&client);
    // An unsigned request object: {"alg":"none"}.{"iss":"rp","aud":issuer}.
    let (url, state, _) = request
        .add_extra_param(
            "request",
            "eyJhbGciOiJub25lIn0.eyJpc3MiOiJycCIsImF1ZCI6Imlzc3VlciJ9.",
        )
        .url();
    let query = callback(&open(&app, &url).await);
    assert_eq!(
        query.get("error").map(String::as_str),
        Some("request_not_supported")
    );
    assert_eq!(query.get("state"), Some(state.secret()));
}

/// oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported.
#[tokio::test]
async fn a_request_uri_is_refused_with_request_uri_not_supported() {
    let app = spawn_app_with(CONFIG).await;
    let client = rp(&app, AuthType::BasicAuth).await;
    let (request, _) = begin(&client);
    let (url, state, _) = request
        .add_extra_param("request_uri", "https://rp.example.com/request.jwt")
        .url();
    let query = callback(&open(&app, &url).await);
    assert_eq!(
        query.get("error").map(String::as_str),
        Some("request_uri_not_supported")
    );
    assert_eq!(query.get("state"), Some(state.secret()));
}

// --- Parameters the provider may ignore ---------------------------------------

/// oidcc-ui-locales, oidcc-claims-locales, oidcc-display-page,
/// oidcc-display-popup, oidcc-ensure-request-with-acr-values-succeeds,
/// oidcc-ensure-request-with-unknown-parameter-succeeds and (the claims
/// parameter being unsupported, so ignored) oidcc-claims-essential.
#[tokio::test]
async fn ui_locales_claims_locales_display_acr_values_claims_and_unknown_parameters_are_accepted() {
    let consented = alice_consented().await;
    for display in [CoreAuthDisplay::Page, CoreAuthDisplay::Popup] {
        let (request, verifier) = begin(&consented.client);
        let (url, _, nonce) = request
            .add_ui_locale(LanguageTag::new("fr-CA".into()))
            .add_ui_locale(LanguageTag::new("en".into()))
            .add_claims_locale(LanguageTag::new("de".into()))
            .set_display(display)
            .add_auth_context_value(AuthenticationContextClass::new(
                "urn:mace:incommon:iap:silver".into(),
            ))
            .add_extra_param("claims", r#"{"userinfo":{"name":{"essential":true}}}"#)
            .add_extra_param("tessera_unknown_parameter", "ignored")
            .add_scope(scope("profile"))
            .add_scope(scope("email"))
            .url();
        let query = callback(&open(&consented.app, &url).await);
        assert!(!query.contains_key("error"), "{query:?}");
        let tokens = redeem(&consented.client, &query, verifier).await;
        id_claims(&consented.client, &tokens, &nonce);
    }
}

// --- Codes ------------------------------------------------------------------

/// A second redemption of `query`'s code: refused with `invalid_grant`,
/// and the access token of the first is revoked.
async fn assert_reuse_refused(consented: &Consented, query: &HashMap<String, String>) {
    let again = consented
        .client
        .exchange_code(AuthorizationCode::new(query["code"].clone()))
        .expect("a token endpoint")
        .request_async(&http)
        .await;
    match again {
        Err(RequestTokenError::ServerResponse(error)) => {
            assert_eq!(*error.error(), CoreErrorResponseType::InvalidGrant);
        }
        other => panic!("expected invalid_grant, got {other:?}"),
    }
}

/// oidcc-codereuse.
#[tokio::test]
async fn a_reused_code_is_refused_and_revokes_the_access_token_it_gave() {
    let consented = alice_consented().await;
    let (request, verifier) = begin(&consented.client);
    let (query, _) = code_at_once(&consented, request).await;
    let tokens = redeem(&consented.client, &query, verifier).await;
    let access = tokens.access_token().secret();
    assert!(is_active(&consented.app, RP, access).await);
    assert_reuse_refused(&consented, &query).await;
    assert!(!is_active(&consented.app, RP, access).await, "revoked");
}

/// oidcc-codereuse-30seconds (the code lives 60 s).
#[tokio::test]
async fn a_code_reused_thirty_seconds_later_is_refused_and_revokes_its_access_token() {
    let consented = alice_consented().await;
    let (request, verifier) = begin(&consented.client);
    let (query, _) = code_at_once(&consented, request).await;
    let tokens = redeem(&consented.client, &query, verifier).await;
    let access = tokens.access_token().secret();
    consented.app.clock.advance(Duration::seconds(30));
    assert!(is_active(&consented.app, RP, access).await);
    assert_reuse_refused(&consented, &query).await;
    assert!(!is_active(&consented.app, RP, access).await, "revoked");
}

// --- Redirect URIs ----------------------------------------------------------

/// oidcc-ensure-registered-redirect-uri.
#[tokio::test]
async fn an_unregistered_redirect_uri_gets_an_error_page_and_never_a_redirect() {
    let consented = alice_consented().await;
    let elsewhere = RedirectUrl::new("https://attacker.example.com/callback".into()).expect("url");
    let (request, _) = begin(&consented.client);
    let (url, _, _) = request.set_redirect_uri(Cow::Owned(elsewhere)).url();
    let page = assert_error_page(open(&consented.app, &url).await, "not registered").await;
    assert!(page.contains("not registered"), "{page}");
}

/// oidcc-ensure-redirect-uri-in-authorization-request: OpenID Connect
/// Core §3.1.2.1 makes `redirect_uri` REQUIRED, even for a client with
/// one registered URI (which RFC 6749 §3.1.2.3 alone would allow).
#[tokio::test]
async fn an_openid_request_without_redirect_uri_gets_an_error_page() {
    let consented = alice_consented().await;
    let (request, _) = begin(&consented.client);
    let (url, _, _) = request
        .add_scope(scope("profile"))
        .add_scope(scope("email"))
        .url();
    let mut without = url.clone();
    without
        .query_pairs_mut()
        .clear()
        .extend_pairs(url.query_pairs().filter(|(name, _)| name != "redirect_uri"));
    let page = assert_error_page(open(&consented.app, &without).await, "redirect_uri").await;
    assert!(page.contains("redirect_uri"), "{page}");
}

// --- Refresh ------------------------------------------------------------------

/// oidcc-refresh-token; OpenID Connect Core §12.2.
#[tokio::test]
async fn a_refresh_gives_a_new_id_token_with_the_same_subject_and_auth_time_and_no_nonce() {
    let consented = alice_consented().await;
    let first = id_claims(&consented.client, &consented.tokens, &consented.nonce);
    consented.app.clock.advance(Duration::seconds(60));
    let refreshed = consented
        .client
        .exchange_refresh_token(consented.tokens.refresh_token().expect("a refresh token"))
        .expect("a token endpoint")
        .request_async(&http)
        .await
        .expect("refresh");
    let second = id_claims(&consented.client, &refreshed, no_nonce);
    assert_eq!(second.subject(), first.subject());
    assert_eq!(second.audiences(), first.audiences());
    assert_eq!(second.issuer(), first.issuer());
    assert_eq!(
        second.auth_time(),
        first.auth_time(),
        "the original sign-in"
    );
    assert_eq!(
        second.issue_time().timestamp(),
        consented.app.clock_now().unix_timestamp(),
        "issued now"
    );
    assert!(second.issue_time() > first.issue_time());
}
