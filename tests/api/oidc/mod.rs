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
//!
//! One file per group of modules; this module holds the relying party,
//! the configuration and the steps they share (each file takes them with
//! `use super::*`).

mod code_flow;
mod logout;
mod prompts;
mod requests;
mod token_exchange;
mod userinfo;

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
