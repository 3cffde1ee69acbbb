//! The OAuth 2.0 authorization server driven by `oauth2`, a client crate
//! nobody here wrote, with access tokens verified offline against the JWKS
//! as a resource server would.

use crate::helpers::oauth::{authorize_in_browser, http};
use crate::helpers::oidc::verify_offline;
use crate::helpers::{ALICE, TestApp, csrf_token, location, spawn_app_with};
use jsonwebtoken::Algorithm;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IntrospectionUrl,
    PkceCodeChallenge, RedirectUrl, RefreshToken, RevocationUrl, Scope, StandardRevocableToken,
    TokenIntrospectionResponse, TokenResponse, TokenUrl,
};
use serde_json::Value;

pub const CLIENTS: &str = r#"
[oauth.scopes]
"notes:read" = "Read your notes"

[[clients]]
client_id = "web"
name = "Notes Web"
client_secret = "web-secret-that-is-long-enough-0123456789"
redirect_uris = ["https://web.example.com/callback"]
scopes = ["openid", "profile", "email", "offline_access", "notes:read"]
grant_types = ["authorization_code", "refresh_token", "client_credentials"]
audience = ["https://api.example.com"]

[[clients]]
client_id = "native"
name = "Notes App"
redirect_uris = ["http://127.0.0.1/callback"]
scopes = ["openid", "notes:read", "offline_access"]
grant_types = ["authorization_code", "refresh_token"]
first_party = true
"#;

pub const WEB_SECRET: &str = "web-secret-that-is-long-enough-0123456789";

/// RFC 7009 revocation by the web client.
pub async fn revoke(app: &TestApp, token: &str) {
    let response = app
        .api
        .post(app.url("/oauth2/revoke"))
        .basic_auth("web", Some(WEB_SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .expect("revoke");
    assert_eq!(response.status(), 200);
}

fn web_client(
    app: &TestApp,
) -> oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
    oauth2::EndpointSet,
    oauth2::EndpointSet,
> {
    BasicClient::new(ClientId::new("web".into()))
        .set_client_secret(ClientSecret::new(WEB_SECRET.into()))
        .set_auth_uri(AuthUrl::new(app.url("/oauth2/authorize")).expect("url"))
        .set_token_uri(TokenUrl::new(app.url("/oauth2/token")).expect("url"))
        .set_redirect_uri(RedirectUrl::new("https://web.example.com/callback".into()).expect("url"))
        .set_revocation_url(RevocationUrl::new(app.url("/oauth2/revoke")).expect("url"))
        .set_introspection_url(IntrospectionUrl::new(app.url("/oauth2/introspect")).expect("url"))
}

#[tokio::test]
async fn a_confidential_web_client_completes_the_code_flow_refreshes_and_revokes() {
    let app = spawn_app_with(CLIENTS).await;
    let client = web_client(&app);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("notes:read".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();

    // Centralized login: no session, so the browser is sent to sign in.
    let first = app
        .browser
        .get(url.as_str())
        .send()
        .await
        .expect("authorize");
    assert_eq!(first.status(), 303);
    let login = location(&first);
    assert!(login.starts_with("/login?journey=login&goto="), "{login}");
    assert!(
        login.contains("%2Foauth2%2Fauthorize%3Fclient_id%3Dweb"),
        "{login}"
    );
    let signed_in = app.login_html(&login["/login".len()..], ALICE).await;
    let back_to_authorize = location(&signed_in);
    assert!(
        back_to_authorize.starts_with(&app.url("/oauth2/authorize?")),
        "{back_to_authorize}"
    );

    let query = authorize_in_browser(&app, &back_to_authorize).await;
    assert_eq!(query.get("state"), Some(state.secret()));
    assert_eq!(query.get("iss"), Some(&app.address), "RFC 9207 iss");
    let code = query.get("code").expect("a code").clone();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let claims = verify_offline(
        &app,
        tokens.access_token().secret(),
        "https://api.example.com",
        Algorithm::RS256,
    )
    .await
    .expect("the token verifies offline");
    assert_eq!(claims["client_id"], "web");
    assert_eq!(claims["scope"], "notes:read offline_access");
    assert!(claims["sub"].is_string() && claims["jti"].is_string() && claims["auth_time"].is_i64());
    let refresh = tokens.refresh_token().expect("a refresh token").clone();

    let refreshed = client
        .exchange_refresh_token(&refresh)
        .request_async(&http)
        .await
        .expect("refresh");
    let rotated = refreshed
        .refresh_token()
        .expect("a rotated refresh token")
        .clone();
    assert_ne!(rotated.secret(), refresh.secret(), "refresh tokens rotate");
    verify_offline(
        &app,
        refreshed.access_token().secret(),
        "https://api.example.com",
        Algorithm::RS256,
    )
    .await
    .expect("the token verifies offline");

    let active = client
        .introspect(refreshed.access_token())
        .request_async(&http)
        .await
        .expect("introspect");
    assert!(active.active());
    // oauth2 refuses revocation over plain http, so revoke by hand (RFC 7009).
    revoke(&app, refreshed.access_token().secret()).await;
    let inactive = client
        .introspect(refreshed.access_token())
        .request_async(&http)
        .await
        .expect("introspect");
    assert!(!inactive.active(), "a revoked access token is inactive");

    revoke(&app, rotated.secret()).await;
    let after = client
        .exchange_refresh_token(&rotated)
        .request_async(&http)
        .await;
    assert!(after.is_err(), "a revoked refresh token is refused");
}

#[tokio::test]
async fn a_public_native_client_uses_pkce_on_a_loopback_port_without_a_consent_page() {
    let app = spawn_app_with(CLIENTS).await;
    app.login_html("", ALICE).await;
    let client = BasicClient::new(ClientId::new("native".into()))
        .set_auth_uri(AuthUrl::new(app.url("/oauth2/authorize")).expect("url"))
        .set_token_uri(TokenUrl::new(app.url("/oauth2/token")).expect("url"))
        .set_redirect_uri(RedirectUrl::new("http://127.0.0.1:53117/callback".into()).expect("url"));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("notes:read".into()))
        .set_pkce_challenge(challenge)
        .url();
    let response = app
        .browser
        .get(url.as_str())
        .send()
        .await
        .expect("authorize");
    assert_eq!(response.status(), 303, "first-party: consent is implied");
    let back = url::Url::parse(&location(&response)).expect("url");
    assert_eq!(back.port(), Some(53117));
    let code = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .expect("code")
        .1
        .into_owned();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let claims = verify_offline(
        &app,
        tokens.access_token().secret(),
        "native",
        Algorithm::RS256,
    )
    .await
    .expect("the token verifies offline");
    assert_eq!(claims["client_id"], "native");
    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().expect("refresh token"))
        .request_async(&http)
        .await
        .expect("a public client refreshes with its client_id");
    assert!(refreshed.refresh_token().is_some());
}

#[tokio::test]
async fn a_service_gets_a_token_with_client_credentials() {
    let app = spawn_app_with(CLIENTS).await;
    let tokens = web_client(&app)
        .exchange_client_credentials()
        .add_scope(Scope::new("notes:read".into()))
        .request_async(&http)
        .await
        .expect("client credentials");
    assert!(tokens.refresh_token().is_none());
    let claims = verify_offline(
        &app,
        tokens.access_token().secret(),
        "https://api.example.com",
        Algorithm::RS256,
    )
    .await
    .expect("the token verifies offline");
    assert_eq!(claims["sub"], "web");
    assert_eq!(claims["scope"], "notes:read");
    assert!(claims.get("auth_time").is_none());
    let refused = web_client(&app)
        .exchange_client_credentials()
        .add_scope(Scope::new("openid".into()))
        .request_async(&http)
        .await;
    assert!(refused.is_err(), "user scopes cannot be had without a user");
}

#[tokio::test]
async fn the_metadata_names_every_endpoint_and_the_jwks_is_cacheable() {
    let app = spawn_app_with(CLIENTS).await;
    let metadata: Value = app
        .api
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .expect("metadata")
        .json()
        .await
        .expect("json");
    assert_eq!(metadata["issuer"], app.address);
    for (key, path) in [
        ("authorization_endpoint", "/oauth2/authorize"),
        ("token_endpoint", "/oauth2/token"),
        ("jwks_uri", "/oauth2/jwks"),
        ("revocation_endpoint", "/oauth2/revoke"),
        ("introspection_endpoint", "/oauth2/introspect"),
    ] {
        assert_eq!(metadata[key], app.url(path), "{key}");
    }
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        metadata["response_types_supported"],
        serde_json::json!(["code"])
    );
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );
    assert!(
        metadata["scopes_supported"]
            .as_array()
            .expect("scopes")
            .contains(&Value::from("notes:read"))
    );

    let jwks = app
        .api
        .get(app.url("/oauth2/jwks"))
        .send()
        .await
        .expect("jwks");
    assert!(
        jwks.headers()["cache-control"]
            .to_str()
            .expect("ascii")
            .contains("max-age")
    );
    let jwks: Value = jwks.json().await.expect("json");
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["use"], "sig");
    assert!(key["kid"].is_string() && key["n"].is_string() && key["e"].is_string());
    assert!(key.get("d").is_none(), "no private part is published");
}

#[tokio::test]
async fn es256_and_eddsa_are_selectable_per_client() {
    let app = spawn_app_with(&format!(
        "{}\n[[clients]]\nclient_id = \"edge\"\nclient_secret = \"{WEB_SECRET}\"\nscopes = [\"notes:read\"]\ngrant_types = [\"client_credentials\"]\nsigning_alg = \"EdDSA\"\n[[clients]]\nclient_id = \"ec\"\nclient_secret = \"{WEB_SECRET}\"\nscopes = [\"notes:read\"]\ngrant_types = [\"client_credentials\"]\nsigning_alg = \"ES256\"\n",
        CLIENTS
    ))
    .await;
    for (client_id, alg) in [("edge", Algorithm::EdDSA), ("ec", Algorithm::ES256)] {
        let response: Value = app
            .api
            .post(app.url("/oauth2/token"))
            .basic_auth(client_id, Some(WEB_SECRET))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("json");
        let token = response["access_token"].as_str().expect("access_token");
        assert_eq!(jsonwebtoken::decode_header(token).expect("header").alg, alg);
        verify_offline(&app, token, client_id, alg)
            .await
            .expect("the token verifies offline");
    }
}

#[tokio::test]
async fn withdrawing_consent_on_the_account_page_revokes_the_clients_refresh_tokens() {
    let app = spawn_app_with(CLIENTS).await;
    app.login_html("", ALICE).await;
    let client = web_client(&app);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("notes:read".into()))
        .set_pkce_challenge(challenge)
        .url();
    let query = authorize_in_browser(&app, url.as_str()).await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(query["code"].clone()))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("tokens");
    let refresh: RefreshToken = tokens.refresh_token().expect("refresh").clone();

    let account = app.get_page("/account").await.text().await.expect("html");
    assert!(account.contains("Notes Web"));
    assert!(account.contains("Read your notes"));
    let withdrawn = app
        .post_form(
            "/account/consents/revoke",
            &[("csrf_token", &csrf_token(&account)), ("client_id", "web")],
        )
        .await;
    assert_eq!(withdrawn.status(), 303);
    assert!(
        client
            .exchange_refresh_token(&refresh)
            .request_async(&http)
            .await
            .is_err()
    );
    let account = app.get_page("/account").await.text().await.expect("html");
    assert!(!account.contains("Notes Web"));
    // The next authorization asks again.
    let again = app
        .browser
        .get(url.as_str())
        .send()
        .await
        .expect("authorize");
    assert_eq!(again.status(), 200, "the consent page again");
}
