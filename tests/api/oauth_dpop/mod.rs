//! DPoP (RFC 9449) over HTTP, with real keys: a token request with a proof
//! gets an access token bound to the proof's key (`cnf.jkt`, the key's
//! RFC 7638 thumbprint as the test computes it); UserInfo then wants the
//! token with the `DPoP` scheme and a proof for it; every part of a proof
//! is checked, replays too; public clients' refresh tokens, codes bound by
//! `dpop_jkt` and clients registered `dpop_bound_access_tokens` need the
//! key; server nonces are asked for when configured.

mod binding;
mod proofs;
mod resources;

use crate::admin_api::{Auth, admin_send};
use crate::helpers::dpop::{DpopKey, ProofClaims, claims_of};
use crate::helpers::oauth::{
    AuthRequest, Cred, assert_error, authorize, callback, introspect, sign_in, text,
};
use crate::helpers::{ALICE, TestApp, spawn_app_with};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

const WEB_SECRET: &str = "web-secret-that-is-long-enough-0123456789";
const WEB: Cred = Cred::Basic("web", WEB_SECRET);
const APP: Cred = Cred::Public("app");
const STRICT: Cred = Cred::Public("strict");
const CALLBACK: &str = "https://app.example.com/callback";
const INITIAL: &str = "an-initial-access-token-long-enough-0123456789";
const ROOT: (&str, &str) = ("root", "root password that is long enough");

/// `app` (public), `web` (confidential, also a resource server) and
/// `strict` (public, registered `dpop_bound_access_tokens`), all first
/// party so that no consent is asked; `top` goes before them.
fn config(top: &str) -> String {
    format!(
        r#"
[oauth]
initial_access_token = "{INITIAL}"
scopes = {{ notes = "Read your notes" }}
{top}

[[clients]]
client_id = "app"
redirect_uris = ["{CALLBACK}"]
scopes = ["openid", "profile"]
first_party = true

[[clients]]
client_id = "web"
client_secret = "{WEB_SECRET}"
redirect_uris = ["{CALLBACK}"]
scopes = ["openid", "profile", "notes"]
grant_types = ["authorization_code", "refresh_token", "client_credentials"]
first_party = true
resource_server = true

[[clients]]
client_id = "strict"
redirect_uris = ["{CALLBACK}"]
scopes = ["openid"]
first_party = true
dpop_bound_access_tokens = true

[[clients]]
client_id = "ops"
client_secret = "{WEB_SECRET}"
scopes = ["tessera:admin"]
grant_types = ["client_credentials"]

[[users]]
username = "{}"
password = "{}"
admin = true
"#,
        ROOT.0, ROOT.1
    )
}

async fn spawn() -> TestApp {
    spawn_app_with(&config("")).await
}

fn now(app: &TestApp) -> i64 {
    app.clock_now().unix_timestamp()
}

/// A proof for `POST /oauth2/token` made now.
fn token_proof(app: &TestApp, key: &DpopKey) -> String {
    let url = app.url("/oauth2/token");
    key.proof(&ProofClaims::new("POST", &url, now(app)))
}

/// `POST /oauth2/token` as `cred` with `proofs` as DPoP headers.
async fn token_with(app: &TestApp, cred: Cred, proofs: &[&str], form: &[(&str, &str)]) -> Response {
    let mut form = form.to_vec();
    let mut request = app.api.post(app.url("/oauth2/token"));
    match cred {
        Cred::Public(id) => form.push(("client_id", id)),
        Cred::Basic(id, secret) => request = request.basic_auth(id, Some(secret)),
    }
    for proof in proofs {
        request = request.header("DPoP", *proof);
    }
    request.form(&form).send().await.expect("request")
}

async fn answer(response: Response) -> (StatusCode, Value) {
    (response.status(), response.json().await.expect("json"))
}

/// A client_credentials request by `web` with `proofs`.
async fn client_token(app: &TestApp, proofs: &[&str]) -> (StatusCode, Value) {
    let form = [("grant_type", "client_credentials"), ("scope", "notes")];
    answer(token_with(app, WEB, proofs, &form).await).await
}

/// A code for `request` from alice's browser, redeemed as `cred` with `proofs`.
async fn code_tokens(
    app: &TestApp,
    cred: Cred,
    request: &AuthRequest,
    proofs: &[&str],
) -> (StatusCode, Value) {
    let code = authorize(app, request).await;
    redeem_with(app, cred, &code, request, proofs).await
}

async fn redeem_with(
    app: &TestApp,
    cred: Cred,
    code: &str,
    request: &AuthRequest,
    proofs: &[&str],
) -> (StatusCode, Value) {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &request.redirect_uri),
        ("code_verifier", &request.verifier),
    ];
    answer(token_with(app, cred, proofs, &form).await).await
}

async fn refresh_with(
    app: &TestApp,
    cred: Cred,
    refresh_token: &str,
    proofs: &[&str],
) -> (StatusCode, Value) {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    answer(token_with(app, cred, proofs, &form).await).await
}

/// `GET /oauth2/userinfo` with `authorization` and a DPoP header if given.
async fn userinfo(app: &TestApp, authorization: &str, proof: Option<&str>) -> Response {
    let mut request = app
        .api
        .get(app.url("/oauth2/userinfo"))
        .header("Authorization", authorization);
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    request.send().await.expect("request")
}

/// A proof for `GET /oauth2/userinfo` with `token`.
fn userinfo_proof(app: &TestApp, key: &DpopKey, token: &str) -> String {
    let url = app.url("/oauth2/userinfo");
    key.proof(&ProofClaims {
        access_token: Some(token),
        ..ProofClaims::new("GET", &url, now(app))
    })
}

/// The `WWW-Authenticate` challenges of a response, joined.
fn challenges(response: &Response) -> String {
    response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().expect("ascii"))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The 401 of a resource with `error` on the DPoP challenge.
#[track_caller]
fn assert_dpop_refusal(response: &Response, error: &str) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenges = challenges(response);
    assert!(
        challenges.contains(&format!(
            "DPoP algs=\"ES256 ES384 RS256 PS256 EdDSA\", error=\"{error}\""
        )),
        "{challenges}"
    );
}
