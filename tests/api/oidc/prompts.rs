//! When the provider asks the user to sign in again, or not: `prompt`,
//! `max_age` and the hints.

use super::*;

/// oidcc-prompt-login: sign in again even with a session; `auth_time` moves.
#[tokio::test]
async fn prompt_login_makes_a_signed_in_user_sign_in_again() {
    let consented = alice_consented().await;
    let app = &consented.app;
    let first = id_claims(&consented.client, &consented.tokens, &consented.nonce)
        .auth_time()
        .expect("auth_time");
    app.clock.advance(Duration::seconds(10));

    let (request, verifier) = begin(&consented.client);
    let (url, state, nonce) = request
        .add_prompt(CoreAuthPrompt::Login)
        .add_scope(scope("profile"))
        .add_scope(scope("email"))
        .url();
    let signed_in_again_at = app.clock_now().unix_timestamp();
    let query = sign_in_through(app, &url, ALICE).await;
    assert_eq!(query.get("state"), Some(state.secret()));
    let tokens = redeem(&consented.client, &query, verifier).await;
    let second = id_claims(&consented.client, &tokens, &nonce)
        .auth_time()
        .expect("auth_time");
    assert!(second > first, "a newer auth_time");
    assert_eq!(second.timestamp(), signed_in_again_at);
}

/// oidcc-prompt-none-not-logged-in.
#[tokio::test]
async fn prompt_none_without_a_session_redirects_with_login_required() {
    let app = spawn_app_with(CONFIG).await;
    let client = rp(&app, AuthType::BasicAuth).await;
    let (request, _) = begin(&client);
    let (url, state, _) = request.add_prompt(CoreAuthPrompt::None).url();
    let query = callback(&open(&app, &url).await);
    assert_eq!(
        query.get("error").map(String::as_str),
        Some("login_required")
    );
    assert_eq!(query.get("state"), Some(state.secret()));
    assert_eq!(query.get("iss"), Some(&app.address));
    assert!(!query.contains_key("code"));
}

/// oidcc-prompt-none-logged-in.
#[tokio::test]
async fn prompt_none_with_a_session_and_consent_returns_a_code_without_any_page() {
    let consented = alice_consented().await;
    let (request, verifier) = begin(&consented.client);
    let (url, state, nonce) = request
        .add_prompt(CoreAuthPrompt::None)
        .add_scope(scope("profile"))
        .add_scope(scope("email"))
        .url();
    let query = callback(&open(&consented.app, &url).await);
    assert_eq!(query.get("state"), Some(state.secret()));
    let tokens = redeem(&consented.client, &query, verifier).await;
    id_claims(&consented.client, &tokens, &nonce);
}

#[tokio::test]
async fn prompt_none_when_consent_is_needed_redirects_with_consent_required() {
    let app = spawn_app_with(CONFIG).await;
    sign_in(&app, ALICE).await;
    let client = rp(&app, AuthType::BasicAuth).await;
    let (request, _) = begin(&client);
    let (url, state, _) = request.add_prompt(CoreAuthPrompt::None).url();
    let query = callback(&open(&app, &url).await);
    assert_eq!(
        query.get("error").map(String::as_str),
        Some("consent_required")
    );
    assert_eq!(query.get("state"), Some(state.secret()));
}

/// OpenID Connect Core §3.1.2.1: `consent` asks again even when given.
#[tokio::test]
async fn prompt_consent_shows_the_consent_page_again() {
    let consented = alice_consented().await;
    let (request, verifier) = begin(&consented.client);
    let (url, _, nonce) = request
        .add_prompt(CoreAuthPrompt::Consent)
        .add_scope(scope("profile"))
        .add_scope(scope("email"))
        .url();
    let response = open(&consented.app, &url).await;
    assert_eq!(response.status(), StatusCode::OK, "the consent page");
    let html = response.text().await.expect("html");
    assert!(html.contains("to use your account?"), "{html}");
    let query = authorize_in_browser(&consented.app, url.as_str()).await;
    let tokens = redeem(&consented.client, &query, verifier).await;
    id_claims(&consented.client, &tokens, &nonce);
}

// --- max_age ----------------------------------------------------------------

/// oidcc-max-age-1.
#[tokio::test]
async fn max_age_1_after_more_than_a_second_makes_the_user_sign_in_again() {
    let consented = alice_consented().await;
    let app = &consented.app;
    app.clock.advance(Duration::seconds(2));
    let (request, verifier) = begin(&consented.client);
    let (url, _, nonce) = request
        .set_max_age(std::time::Duration::from_secs(1))
        .add_scope(scope("profile"))
        .add_scope(scope("email"))
        .url();
    let signed_in_again_at = app.clock_now().unix_timestamp();
    let query = sign_in_through(app, &url, ALICE).await;
    let tokens = redeem(&consented.client, &query, verifier).await;
    let auth_time = id_claims(&consented.client, &tokens, &nonce)
        .auth_time()
        .expect("auth_time, required with max_age");
    assert_eq!(auth_time.timestamp(), signed_in_again_at);
}

/// OpenID Connect Core §3.1.2.1 compares the exact elapsed time: one
/// second is not more than `max_age=1`, 1.9 seconds is.
#[tokio::test]
async fn max_age_compares_the_exact_time_since_sign_in_not_whole_seconds() {
    let consented = alice_consented().await;
    let app = &consented.app;
    let with_max_age_1 = || {
        let (request, _) = begin(&consented.client);
        request
            .set_max_age(std::time::Duration::from_secs(1))
            .add_scope(scope("profile"))
            .add_scope(scope("email"))
            .url()
            .0
    };
    app.clock.advance(Duration::seconds(1));
    let query = callback(&open(app, &with_max_age_1()).await);
    assert!(query.contains_key("code"), "exactly 1 s: {query:?}");
    app.clock.advance(Duration::milliseconds(900));
    let response = open(app, &with_max_age_1()).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let login = location(&response);
    assert!(
        login.starts_with("/login?"),
        "1.9 s: sign in again: {login}"
    );
}

/// oidcc-max-age-10000.
#[tokio::test]
async fn max_age_10000_does_not_ask_a_recently_signed_in_user_to_sign_in() {
    let consented = alice_consented().await;
    let first = id_claims(&consented.client, &consented.tokens, &consented.nonce)
        .auth_time()
        .expect("auth_time");
    consented.app.clock.advance(Duration::seconds(2));
    let (request, verifier) = begin(&consented.client);
    let (url, _, nonce) = request
        .set_max_age(std::time::Duration::from_secs(10000))
        .add_scope(scope("profile"))
        .add_scope(scope("email"))
        .url();
    let query = callback(&open(&consented.app, &url).await);
    let tokens = redeem(&consented.client, &query, verifier).await;
    let auth_time = id_claims(&consented.client, &tokens, &nonce)
        .auth_time()
        .expect("auth_time, required with max_age");
    assert_eq!(auth_time, first, "the same sign-in");
}

// --- Hints ------------------------------------------------------------------

/// oidcc-id-token-hint.
#[tokio::test]
async fn id_token_hint_of_the_signed_in_user_with_prompt_none_returns_a_code() {
    let consented = alice_consented().await;
    let hint = consented.tokens.id_token().expect("an ID token");
    let sub = hint
        .clone()
        .into_claims(&consented.client.id_token_verifier(), &consented.nonce)
        .expect("verifies")
        .subject()
        .clone();
    let (request, verifier) = begin(&consented.client);
    let (query, nonce) = code_at_once(
        &consented,
        request
            .set_id_token_hint(hint)
            .add_prompt(CoreAuthPrompt::None),
    )
    .await;
    assert!(!query.contains_key("error"), "{query:?}");
    let tokens = redeem(&consented.client, &query, verifier).await;
    let claims = id_claims(&consented.client, &tokens, &nonce);
    assert_eq!(claims.subject(), &sub);
}

#[tokio::test]
async fn id_token_hint_of_another_user_with_prompt_none_redirects_with_login_required() {
    let consented = alice_consented().await;
    // bob signs in on the same browser: alice's hint no longer matches.
    sign_in(&consented.app, BOB).await;
    let hint = consented.tokens.id_token().expect("alice's ID token");
    let (request, _) = begin(&consented.client);
    let (url, state, _) = request
        .set_id_token_hint(hint)
        .add_prompt(CoreAuthPrompt::None)
        .url();
    let query = callback(&open(&consented.app, &url).await);
    assert_eq!(
        query.get("error").map(String::as_str),
        Some("login_required")
    );
    assert_eq!(query.get("state"), Some(state.secret()));
    assert!(!query.contains_key("code"));
}

/// oidcc-login-hint.
#[tokio::test]
async fn login_hint_pre_fills_the_username_on_the_login_page() {
    let app = spawn_app_with(CONFIG).await;
    let client = rp(&app, AuthType::BasicAuth).await;
    let (request, verifier) = begin(&client);
    let (url, _, nonce) = request.set_login_hint(LoginHint::new("alice".into())).url();
    let response = open(&app, &url).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let login = location(&response);
    let page = app.get_page(&login).await.text().await.expect("login page");
    assert!(page.contains(r#"value="alice""#), "{page}");
    let query = sign_in_through(&app, &url, ALICE).await;
    let tokens = redeem(&client, &query, verifier).await;
    id_claims(&client, &tokens, &nonce);
}
