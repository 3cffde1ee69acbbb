//! tessera as an OpenID Provider, checked against the OpenID Foundation's
//! Basic OP certification plan (`oidcc-basic-certification-test-plan`):
//! one test per module that applies (the module is named above each test),
//! plus RP-initiated logout and the session token exchange. The relying
//! party is `openidconnect`, a crate nobody here wrote: it discovers the
//! provider, builds the authorization requests, redeems codes, verifies ID
//! tokens against the JWKS (signature, `iss`, `aud`, `exp`, `nonce`) and
//! calls UserInfo. Plain requests are made only where the crate has no
//! API: the browser's pages and forms, UserInfo by POST and its error
//! challenges, introspection, revocation (see below), token exchange.
//!
//! Plain http: the issuer here is `http://127.0.0.1:PORT`. openidconnect 4
//! (through oauth2 5) insists on https in one place only, the RFC 7009
//! revocation endpoint (`revoke_token` returns
//! `ConfigurationError::InsecureUrl`, and nothing turns that off); issuer,
//! discovery, JWKS, authorization, token, UserInfo and end-session URLs
//! may be http, so nothing needs configuring, and tokens are revoked here
//! with a plain request.

use crate::helpers::html::{assert_error_page, hidden_fields};
// The adapter the helpers give oauth2 5 serves openidconnect 4, whose
// `AsyncHttpClient`, `HttpRequest` and `HttpResponse` are oauth2's.
use crate::helpers::oauth::{Cred, authorize_in_browser, http, is_active, sign_in};
use crate::helpers::oidc::verify_offline;
use crate::helpers::{ALICE, BOB, TestApp, location, spawn_app_with};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod,
    CoreErrorResponseType, CoreIdToken, CoreIdTokenClaims, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreResponseType, CoreSubjectIdentifierType, CoreTokenResponse,
    CoreUserInfoClaims,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AuthType, AuthenticationContextClass, AuthorizationCode,
    ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, HttpRequest,
    IssuerUrl, LanguageTag, LoginHint, LogoutRequest, Nonce, NonceVerifier, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout,
    RedirectUrl, RequestTokenError, ResponseTypes, Scope, SubjectIdentifier, TokenResponse,
};
use reqwest::StatusCode;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;
use time::Duration;
use url::Url;

const RP_SECRET: &str = "rp-secret-that-is-long-enough-0123456789ab";
/// `rp` at the token and introspection endpoints.
const RP: Cred = Cred::Basic("rp", RP_SECRET);
const RP_CALLBACK: &str = "https://rp.example.com/callback";
const RP_SIGNED_OUT: &str = "https://rp.example.com/signed-out";
const CAROL: (&str, &str) = ("carol", "through the looking glass");
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const SESSION_TOKEN_TYPE: &str = "urn:tessera:params:oauth:token-type:session";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// `rp`: a confidential third-party relying party (consent asked).
/// `app`: tessera's own public app, which may exchange session tokens.
/// `native`: a public first-party app that may not. carol has every claim
/// the `address` and `phone` scopes release (the base users have none).
const CONFIG: &str = r#"
[oauth.scopes]
"notes:read" = "Read your notes"

[[clients]]
client_id = "rp"
name = "Relying Party"
client_secret = "rp-secret-that-is-long-enough-0123456789ab"
redirect_uris = ["https://rp.example.com/callback"]
post_logout_redirect_uris = ["https://rp.example.com/signed-out"]
scopes = ["openid", "profile", "email", "address", "phone", "offline_access", "notes:read"]
grant_types = ["authorization_code", "refresh_token"]

[[clients]]
client_id = "app"
name = "Notes App"
redirect_uris = ["http://127.0.0.1/callback"]
scopes = ["openid", "profile", "email", "offline_access"]
grant_types = ["authorization_code", "refresh_token"]
first_party = true
token_exchange = true

[[clients]]
client_id = "native"
redirect_uris = ["http://127.0.0.1/callback"]
scopes = ["openid", "profile"]
grant_types = ["authorization_code"]
first_party = true

[[users]]
username = "carol"
password = "through the looking glass"
email = "carol@example.com"
name = "Carol Example"
phone_number = "+44 20 7946 0000"
address = "1 Rabbit Hole\nOxford OX1 1AA"
"#;

/// The relying party as openidconnect builds it from discovery.
type Rp = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// An authentication request being built.
type AuthRequest<'a> =
    openidconnect::AuthorizationRequest<'a, CoreAuthDisplay, CoreAuthPrompt, CoreResponseType>;

fn issuer(app: &TestApp) -> IssuerUrl {
    IssuerUrl::new(app.address.clone()).expect("issuer URL")
}

/// Discovery with the RP-Initiated Logout metadata (`end_session_endpoint`).
async fn discover(app: &TestApp) -> ProviderMetadataWithLogout {
    ProviderMetadataWithLogout::discover_async(issuer(app), &http)
        .await
        .expect("discovery")
}

/// The `rp` client, authenticating at the token endpoint with `auth`.
async fn rp(app: &TestApp, auth: AuthType) -> Rp {
    CoreClient::from_provider_metadata(
        discover(app).await,
        ClientId::new("rp".into()),
        Some(ClientSecret::new(RP_SECRET.into())),
    )
    .set_redirect_uri(RedirectUrl::new(RP_CALLBACK.into()).expect("url"))
    .set_auth_type(auth)
}

/// A code flow request with PKCE (S256), a fresh `state` and `nonce`, and
/// the `openid` scope the crate always adds.
fn begin(client: &Rp) -> (AuthRequest<'_>, PkceCodeVerifier) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    (request, verifier)
}

fn scope(name: &str) -> Scope {
    Scope::new(name.into())
}

/// `GET` with the browser (which keeps cookies and follows nothing).
async fn open(app: &TestApp, url: &Url) -> reqwest::Response {
    app.browser.get(url.as_str()).send().await.expect("request")
}

/// The query of a redirect back to the relying party.
fn callback(response: &reqwest::Response) -> HashMap<String, String> {
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "a redirect");
    let back = location(response);
    assert!(back.starts_with(RP_CALLBACK), "back to the RP: {back}");
    Url::parse(&back)
        .expect("redirect URL")
        .query_pairs()
        .into_owned()
        .collect()
}

/// Follows `url` from a browser that must sign in: the login page, as
/// `user`, back to the authorization endpoint, consent if asked; returns
/// the query sent back to the relying party.
async fn sign_in_through(app: &TestApp, url: &Url, user: (&str, &str)) -> HashMap<String, String> {
    let response = open(app, url).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let login = location(&response);
    assert!(login.starts_with("/login?"), "sent to sign in: {login}");
    let signed_in = app.login_html(&login["/login".len()..], user).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER, "signed in");
    authorize_in_browser(app, &location(&signed_in)).await
}

/// Redeems the code of `query` with the crate.
async fn redeem(
    client: &Rp,
    query: &HashMap<String, String>,
    verifier: PkceCodeVerifier,
) -> CoreTokenResponse {
    client
        .exchange_code(AuthorizationCode::new(
            query.get("code").expect("a code").clone(),
        ))
        .expect("a token endpoint")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("tokens")
}

/// Verifies an ID token as openidconnect does (signature against the
/// discovered JWKS, `iss`, `aud`, `exp`, `nonce`), and its `at_hash`
/// against the access token it came with (OpenID Connect Core §3.1.3.8).
fn verified<'t>(
    client: &Rp,
    id_token: &'t CoreIdToken,
    access_token: &AccessToken,
    nonce: impl NonceVerifier,
) -> &'t CoreIdTokenClaims {
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, nonce)
        .expect("the ID token verifies");
    let expected = claims.access_token_hash().expect("at_hash");
    let actual = AccessTokenHash::from_token(
        access_token,
        id_token.signing_alg().expect("a signed ID token"),
        id_token
            .signing_key(&verifier)
            .expect("its key is published"),
    )
    .expect("hash");
    assert_eq!(&actual, expected, "at_hash is the access token's");
    claims
}

/// The verified claims of a token response's ID token.
fn id_claims<'t>(
    client: &Rp,
    tokens: &'t CoreTokenResponse,
    nonce: impl NonceVerifier,
) -> &'t CoreIdTokenClaims {
    let id_token = tokens.id_token().expect("an ID token");
    verified(client, id_token, tokens.access_token(), nonce)
}

/// For ID tokens of requests without a nonce: there must be none.
fn no_nonce(nonce: Option<&Nonce>) -> Result<(), String> {
    match nonce {
        None => Ok(()),
        Some(_) => Err("a nonce nobody sent".into()),
    }
}

/// The id of the user a session token belongs to.
async fn user_id(app: &TestApp, session_token: &str) -> String {
    let session: Value = app
        .get_session(session_token)
        .await
        .json()
        .await
        .expect("json");
    session["user"]["id"].as_str().expect("user id").to_owned()
}

/// A server with alice signed in on the browser, who allowed `rp` the
/// `profile` and `email` scopes; the client, her session token, and the
/// tokens of that first flow (with its nonce).
struct Consented {
    app: TestApp,
    client: Rp,
    session: String,
    tokens: CoreTokenResponse,
    nonce: Nonce,
}

async fn alice_consented() -> Consented {
    let app = spawn_app_with(CONFIG).await;
    let session = sign_in(&app, ALICE).await;
    let client = rp(&app, AuthType::BasicAuth).await;
    let (request, verifier) = begin(&client);
    let (url, _, nonce) = request
        .add_scope(scope("profile"))
        .add_scope(scope("email"))
        .url();
    let query = authorize_in_browser(&app, url.as_str()).await;
    let tokens = redeem(&client, &query, verifier).await;
    Consented {
        app,
        client,
        session,
        tokens,
        nonce,
    }
}

/// The consented scopes again, for a user who consented: a code at once;
/// the callback's query and the request's nonce.
async fn code_at_once(
    consented: &Consented,
    request: AuthRequest<'_>,
) -> (HashMap<String, String>, Nonce) {
    let (url, state, nonce) = request
        .add_scope(scope("profile"))
        .add_scope(scope("email"))
        .url();
    let query = callback(&open(&consented.app, &url).await);
    assert_eq!(query.get("state"), Some(state.secret()));
    (query, nonce)
}

/// The status and `WWW-Authenticate` challenge of a UserInfo answer.
fn challenge(response: &reqwest::Response) -> (StatusCode, String) {
    let header = response
        .headers()
        .get("www-authenticate")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (response.status(), header)
}

async fn userinfo_get(app: &TestApp, token: &str) -> reqwest::Response {
    app.api
        .get(app.url("/oauth2/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .expect("userinfo")
}

// --- Discovery --------------------------------------------------------------

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

// --- UserInfo ---------------------------------------------------------------

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

// --- prompt -----------------------------------------------------------------

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

// --- Request objects ----------------------------------------------------------

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

// --- RP-Initiated Logout ------------------------------------------------------

/// The end-session URL discovery names.
async fn end_session(app: &TestApp) -> LogoutRequest {
    discover(app)
        .await
        .additional_metadata()
        .end_session_endpoint
        .clone()
        .expect("end_session_endpoint")
        .into()
}

fn signed_out_uri() -> PostLogoutRedirectUrl {
    PostLogoutRedirectUrl::new(RP_SIGNED_OUT.into()).expect("url")
}

/// RP-Initiated Logout 1.0 §2-3: a hint for the signed-in user ends the
/// session at once and goes back with `state`.
#[tokio::test]
async fn logout_with_an_id_token_hint_ends_the_session_and_returns_with_state() {
    let consented = alice_consented().await;
    let app = &consented.app;
    let url = end_session(app)
        .await
        .set_id_token_hint(consented.tokens.id_token().expect("an ID token"))
        .set_post_logout_redirect_uri(signed_out_uri())
        .set_state(CsrfToken::new("logout-state".into()))
        .http_get_url();
    let response = open(app, &url).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        format!("{RP_SIGNED_OUT}?state=logout-state")
    );
    assert_eq!(
        app.get_session(&consented.session).await.status(),
        StatusCode::UNAUTHORIZED,
        "the session is revoked"
    );
    let session = app.get_page("/api/session").await;
    assert_eq!(session.status(), StatusCode::UNAUTHORIZED);
}

/// Without a hint, nothing proves the request came from an app the user
/// uses: tessera asks first.
#[tokio::test]
async fn logout_without_an_id_token_hint_asks_for_confirmation_first() {
    let consented = alice_consented().await;
    let app = &consented.app;
    let url = end_session(app)
        .await
        .set_client_id(ClientId::new("rp".into()))
        .set_post_logout_redirect_uri(signed_out_uri())
        .set_state(CsrfToken::new("logout-state".into()))
        .http_get_url();
    let response = open(app, &url).await;
    assert_eq!(response.status(), StatusCode::OK, "a confirmation page");
    let html = response.text().await.expect("html");
    assert!(
        html.contains(r#"<form method="post" action="/oauth2/logout/confirm">"#),
        "{html}"
    );
    assert_eq!(
        app.get_session(&consented.session).await.status(),
        StatusCode::OK,
        "still signed in until confirmed"
    );

    let confirmed = app
        .browser
        .post(app.url("/oauth2/logout/confirm"))
        .form(&hidden_fields(&html))
        .send()
        .await
        .expect("confirm");
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&confirmed),
        format!("{RP_SIGNED_OUT}?state=logout-state")
    );
    assert_eq!(
        app.get_session(&consented.session).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn logout_to_an_unregistered_post_logout_redirect_uri_gets_an_error_page() {
    let consented = alice_consented().await;
    let app = &consented.app;
    let url = end_session(app)
        .await
        .set_id_token_hint(consented.tokens.id_token().expect("an ID token"))
        .set_post_logout_redirect_uri(
            PostLogoutRedirectUrl::new("https://attacker.example.com/".into()).expect("url"),
        )
        .http_get_url();
    let page = assert_error_page(open(app, &url).await, "not registered").await;
    assert!(page.contains("not registered"), "{page}");
    assert_eq!(
        app.get_session(&consented.session).await.status(),
        StatusCode::OK,
        "still signed in"
    );
}

// --- RFC 8693 token exchange ----------------------------------------------------

/// `POST /oauth2/token` with a session token as the subject, for the public
/// client `client_id`.
async fn exchange(
    app: &TestApp,
    client_id: &str,
    subject_token: &str,
    scope: &str,
) -> (StatusCode, Value) {
    let response = app
        .api
        .post(app.url("/oauth2/token"))
        .form(&[
            ("grant_type", TOKEN_EXCHANGE),
            ("client_id", client_id),
            ("subject_token", subject_token),
            ("subject_token_type", SESSION_TOKEN_TYPE),
            ("scope", scope),
        ])
        .send()
        .await
        .expect("token");
    let status = response.status();
    (status, response.json().await.expect("json"))
}

#[tokio::test]
async fn a_first_party_app_exchanges_a_session_token_for_an_access_and_id_token() {
    let app = spawn_app_with(CONFIG).await;
    let session = app.login_rest(ALICE).await;
    let alice_id = user_id(&app, &session).await;
    let (status, body) = exchange(&app, "app", &session, "openid profile").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["issued_token_type"], ACCESS_TOKEN_TYPE);
    assert_eq!(body["token_type"], "Bearer");
    let access = body["access_token"].as_str().expect("access_token");
    let claims = verify_offline(&app, access, "app", Algorithm::RS256)
        .await
        .expect("the token verifies offline");
    assert_eq!(claims["sub"], alice_id.as_str());
    assert_eq!(claims["client_id"], "app");

    let client: Rp =
        CoreClient::from_provider_metadata(discover(&app).await, ClientId::new("app".into()), None);
    let id_token =
        CoreIdToken::from_str(body["id_token"].as_str().expect("id_token")).expect("an ID token");
    let id = verified(
        &client,
        &id_token,
        &AccessToken::new(access.to_owned()),
        no_nonce,
    );
    assert_eq!(id.subject(), &SubjectIdentifier::new(alice_id));
    assert_eq!(
        id.preferred_username().map(|name| name.as_str()),
        Some("alice")
    );
    assert!(
        id.auth_method_refs()
            .expect("amr")
            .iter()
            .any(|method| method.as_str() == "pwd")
    );
}

#[tokio::test]
async fn a_client_not_allowed_to_exchange_session_tokens_gets_unauthorized_client() {
    let app = spawn_app_with(CONFIG).await;
    let session = app.login_rest(ALICE).await;
    let (status, body) = exchange(&app, "native", &session, "openid").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "unauthorized_client");
    assert!(body.get("access_token").is_none());
}

#[tokio::test]
async fn an_invalid_session_token_cannot_be_exchanged() {
    let app = spawn_app_with(CONFIG).await;
    let session = app.login_rest(ALICE).await;
    app.logout_rest(&session).await;
    for token in ["not-a-session-token", session.as_str()] {
        let (status, body) = exchange(&app, "app", token, "openid").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"], "invalid_grant");
    }
}
