//! DPoP (RFC 9449) over HTTP, with real keys: a token request with a proof
//! gets an access token bound to the proof's key (`cnf.jkt`, the key's
//! RFC 7638 thumbprint as the test computes it); UserInfo then wants the
//! token with the `DPoP` scheme and a proof for it; every part of a proof
//! is checked, replays too; public clients' refresh tokens, codes bound by
//! `dpop_jkt` and clients registered `dpop_bound_access_tokens` need the
//! key; server nonces are asked for when configured.

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
            "DPoP algs=\"ES256 ES384 RS256 PS256 PS384 EdDSA\", error=\"{error}\""
        )),
        "{challenges}"
    );
}

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
async fn rs256_and_eddsa_keys_bind_tokens_by_their_thumbprints() {
    let app = spawn().await;
    for key in [DpopKey::rs256(), DpopKey::eddsa()] {
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
            json!(["ES256", "ES384", "RS256", "PS256", "PS384", "EdDSA"]),
            "{path}"
        );
    }
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
