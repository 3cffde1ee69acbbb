//! OpenID Connect Back-Channel Logout 1.0: ID tokens name their session
//! (`sid`), and when the session ends, however it ends, each client that
//! got an ID token in it and registered a `backchannel_logout_uri` is sent
//! a signed logout token. Each test runs the client's receiver: a plain
//! HTTP listener on a port of its own that records what it is sent and
//! answers as told, and checks the token as a relying party must (§2.6):
//! signature against the JWKS, `typ`, `iss`, `aud`, `iat`/`exp`, `events`,
//! `sid`, `sub`, no `nonce`.

use crate::admin_api::{Auth, admin_send, client_token};
use crate::helpers::oauth::{AuthRequest, Cred, authorize, redeem, refresh, text, token};
use crate::helpers::{ALICE, TestApp, csrf_token, new_browser, spawn_app_with};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use time::Duration;

const CALLBACK: &str = "https://rp.example.com/callback";
const RP: Cred = Cred::Basic("rp", "rp-secret-that-is-long-enough-0123456789ab");
const QUIET: Cred = Cred::Basic("quiet", "quiet-secret-that-is-long-enough-012345678");
const WIKI: Cred = Cred::Basic("wiki", "wiki-secret-that-is-long-enough-0123456789");
const OPS: Cred = Cred::Basic("ops", "ops-secret-that-is-long-enough-0123456789");
const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// What a receiver was sent: the content type and the `logout_token`.
#[derive(Debug, Clone)]
struct Received {
    content_type: String,
    logout_token: String,
}

/// A client's back-channel logout endpoint: answers each request with the
/// next status of its script (the last one over and over), and a
/// `location` if it has one.
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn answering(script: &[u16]) -> Self {
        Self::serve(script, None)
    }

    /// Answers every request with a 303 to `to`.
    fn redirecting(to: &str) -> Self {
        Self::serve(&[303], Some(to.to_owned()))
    }

    fn serve(script: &[u16], location: Option<String>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "http://{}/backchannel",
            listener.local_addr().expect("addr")
        );
        let received = Arc::new(Mutex::new(Vec::new()));
        let (log, script) = (received.clone(), script.to_vec());
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { continue };
                let Some(request) = read_form(&mut stream) else {
                    continue;
                };
                log.lock().unwrap().push(request);
                let status = script[n.min(script.len() - 1)];
                let location = location
                    .as_ref()
                    .map(|to| format!("location: {to}\r\n"))
                    .unwrap_or_default();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} Whatever\r\n{location}content-length: 0\r\nconnection: close\r\n\r\n"
                );
            }
        });
        Self { url, received }
    }

    fn ok() -> Self {
        Self::answering(&[200])
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (a bounded while) until it has been sent `count` requests.
    async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..1000 {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the receiver was not sent {count} logout tokens");
    }
}

/// Reads one HTTP/1.1 request with a form body.
fn read_form(stream: &mut std::net::TcpStream) -> Option<Received> {
    let mut reader = BufReader::new(stream);
    let mut content_type = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.to_ascii_lowercase().as_str() {
                "content-type" => content_type = value.trim().to_owned(),
                "content-length" => length = value.trim().parse().ok()?,
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let logout_token = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == "logout_token")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    Some(Received {
        content_type,
        logout_token,
    })
}

/// `rp` and `wiki` take logout tokens at their receivers; `quiet` got no
/// `backchannel_logout_uri`. All are first-party (no consent page); `ops`
/// may use the admin API.
fn config(rp: &Receiver, wiki: &Receiver) -> String {
    format!(
        r#"
[oauth]
signing_alg = "EdDSA"

[oauth.scopes]
"wiki:read" = "Read the wiki"

[sessions]
idle_timeout_secs = 600

[[users]]
username = "root"
password = "root password that is long enough"
admin = true

[[clients]]
client_id = "rp"
client_secret = "rp-secret-that-is-long-enough-0123456789ab"
redirect_uris = ["{CALLBACK}"]
post_logout_redirect_uris = ["https://rp.example.com/signed-out"]
scopes = ["openid", "profile", "offline_access"]
first_party = true
backchannel_logout_uri = "{}"
backchannel_logout_session_required = true

[[clients]]
client_id = "wiki"
client_secret = "wiki-secret-that-is-long-enough-0123456789"
redirect_uris = ["{CALLBACK}"]
scopes = ["openid", "profile", "wiki:read"]
first_party = true
backchannel_logout_uri = "{}"

[[clients]]
client_id = "quiet"
client_secret = "quiet-secret-that-is-long-enough-012345678"
redirect_uris = ["{CALLBACK}"]
scopes = ["openid", "profile"]
first_party = true

[[clients]]
client_id = "ops"
client_secret = "ops-secret-that-is-long-enough-0123456789"
scopes = ["tessera:admin"]
grant_types = ["client_credentials"]
"#,
        rp.url, wiki.url
    )
}

/// A server whose `rp` and `wiki` listen at `rp` and `wiki`, with alice
/// signed in on the browser; her session token.
async fn signed_in(rp: &Receiver, wiki: &Receiver) -> (TestApp, String) {
    let app = spawn_app_with(&config(rp, wiki)).await;
    let session = crate::helpers::oauth::sign_in(&app, ALICE).await;
    (app, session)
}

/// The tokens the code flow gives `cred` for `scope` in alice's browser.
async fn code_flow(app: &TestApp, client_id: &str, cred: Cred, scope: &str) -> Value {
    let request = AuthRequest::new(client_id, CALLBACK, scope).set("nonce", "n-0S6_WzA2Mj");
    let code = authorize(app, &request).await;
    let (status, body) = redeem(app, cred, &code, &request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The claims of a JWT, unverified (the ID token's, to compare with).
fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("json")
}

/// Checks a logout token as a relying party must (Back-Channel Logout
/// 1.0 §2.6): returns its claims.
async fn verified_logout_token(app: &TestApp, received: &Received, client_id: &str) -> Value {
    assert_eq!(received.content_type, "application/x-www-form-urlencoded");
    let jwks: JwkSet = app.jwks().await;
    let token = &received.logout_token;
    let header = jsonwebtoken::decode_header(token).expect("a JWT");
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    assert_eq!(header.alg, Algorithm::EdDSA);
    let jwk = jwks
        .find(header.kid.as_deref().expect("kid"))
        .expect("its key is published");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[&app.address]);
    validation.set_audience(&[client_id]);
    validation.set_required_spec_claims(&["iss", "aud", "exp", "iat"]);
    let claims = jsonwebtoken::decode::<Value>(
        token,
        &DecodingKey::from_jwk(jwk).expect("key"),
        &validation,
    )
    .expect("the logout token verifies")
    .claims;
    assert_eq!(claims["events"], json!({ EVENT: {} }));
    assert!(claims.get("nonce").is_none(), "no nonce: {claims}");
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!(iat < exp && exp - iat <= 300, "short-lived: {claims}");
    assert!(!claims["jti"].as_str().unwrap_or_default().is_empty());
    claims
}

/// Moves the server's clock on (retries wait 10 s, doubling, by it) until
/// `receiver` has been sent `count` attempts; a bounded while.
async fn retried(app: &TestApp, receiver: &Receiver, count: usize) {
    for _ in 0..1000 {
        if receiver.received().len() >= count {
            return;
        }
        app.clock.advance(Duration::seconds(10));
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the receiver was not sent {count} attempts");
}

/// Whether nothing is waiting to be sent: every notice delivered or given
/// up on.
fn outbox_is_empty(app: &TestApp) -> bool {
    let later = app.clock_now() + Duration::days(1);
    app.ctx
        .store
        .read(|tx| tx.logout_notices_due(later, 10))
        .expect("read")
        .is_empty()
}

/// Waits (a bounded while) until the outbox is empty.
async fn wait_until_sent(app: &TestApp) {
    for _ in 0..1000 {
        if outbox_is_empty(app) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("logout notices are still waiting");
}

#[tokio::test]
async fn discovery_advertises_back_channel_logout_with_sid() {
    let (rp, wiki) = (Receiver::ok(), Receiver::ok());
    let app = spawn_app_with(&config(&rp, &wiki)).await;
    let document: Value = app
        .api
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json");
    assert_eq!(document["backchannel_logout_supported"], true);
    assert_eq!(document["backchannel_logout_session_supported"], true);
    assert!(
        document["claims_supported"]
            .as_array()
            .expect("claims")
            .contains(&json!("sid"))
    );
}

/// §2.4, §2.5: the ID token's `sid` names the session (its public id, not
/// its token), and signing out sends `rp` one logout token for it; `wiki`,
/// which got only an access token in the session, and `quiet`, which has
/// no URI, are sent nothing.
#[tokio::test]
async fn signing_out_sends_a_logout_token_to_each_client_given_an_id_token() {
    let (rp, wiki) = (Receiver::ok(), Receiver::ok());
    let (app, session) = signed_in(&rp, &wiki).await;
    let tokens = code_flow(&app, "rp", RP, "openid profile").await;
    let id_token = claims_of(&text(&tokens, "id_token"));
    let session_id = app.session_id(&session).await;
    assert_eq!(id_token["sid"], session_id.as_str());
    assert_ne!(id_token["sid"], session.as_str());
    code_flow(&app, "quiet", QUIET, "openid").await;
    let no_id_token = code_flow(&app, "wiki", WIKI, "wiki:read").await;
    assert!(no_id_token.get("id_token").is_none());

    assert_eq!(app.logout_rest(&session).await.status(), 204);
    let received = rp.wait_for(1).await;
    let claims = verified_logout_token(&app, &received[0], "rp").await;
    assert_eq!(claims["sid"], id_token["sid"]);
    assert_eq!(claims["sub"], id_token["sub"]);
    wait_until_sent(&app).await;
    assert_eq!(rp.received().len(), 1, "one token per client and session");
    assert!(wiki.received().is_empty(), "no ID token, no logout token");
}

/// OpenID Connect Core §12.2 with §2.4: a refreshed ID token is of the
/// same session, and a token exchange of a session names it too.
#[tokio::test]
async fn refreshed_id_tokens_keep_the_sid_of_the_session_they_began_in() {
    let (rp, wiki) = (Receiver::ok(), Receiver::ok());
    let (app, session) = signed_in(&rp, &wiki).await;
    let tokens = code_flow(&app, "rp", RP, "openid offline_access").await;
    let first = claims_of(&text(&tokens, "id_token"));
    let (status, refreshed) = refresh(&app, RP, &text(&tokens, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let again = claims_of(&text(&refreshed, "id_token"));
    assert_eq!(again["sid"], app.session_id(&session).await.as_str());
    assert_eq!(again["sid"], first["sid"]);
}

/// RP-Initiated Logout ends the session as any sign-out does: the RP that
/// asked is told over the back channel too.
#[tokio::test]
async fn rp_initiated_logout_sends_the_logout_token() {
    let (rp, wiki) = (Receiver::ok(), Receiver::ok());
    let (app, session) = signed_in(&rp, &wiki).await;
    let tokens = code_flow(&app, "rp", RP, "openid").await;
    let id_token = text(&tokens, "id_token");
    let response = app
        .browser
        .get(app.url("/oauth2/logout"))
        .query(&[
            ("id_token_hint", id_token.as_str()),
            (
                "post_logout_redirect_uri",
                "https://rp.example.com/signed-out",
            ),
        ])
        .send()
        .await
        .expect("logout");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get_session(&session).await.status(), 401);
    let received = rp.wait_for(1).await;
    let claims = verified_logout_token(&app, &received[0], "rp").await;
    assert_eq!(claims["sid"], claims_of(&id_token)["sid"]);
}

/// An administrator ending one session, then deleting the user, tells the
/// clients of each session that ended.
#[tokio::test]
async fn sessions_ended_by_an_administrator_send_logout_tokens() {
    let (rp, wiki) = (Receiver::ok(), Receiver::ok());
    let app = spawn_app_with(&config(&rp, &wiki)).await;
    let admin = client_token(&app, OPS, "tessera:admin").await;
    // The config manages alice: a user administration may delete.
    let dora = ("dora", "violets are blue and long enough");
    let (status, body) = admin_send(
        &app,
        Auth::Bearer(&admin),
        Method::POST,
        "/users",
        Some(json!({"username": dora.0, "password": dora.1})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let user_id = text(&body, "id");

    let session = crate::helpers::oauth::sign_in(&app, dora).await;
    let first = claims_of(&text(
        &code_flow(&app, "rp", RP, "openid").await,
        "id_token",
    ));
    let path = format!(
        "/users/{user_id}/sessions/{}",
        app.session_id(&session).await
    );
    let (status, _) = admin_send(&app, Auth::Bearer(&admin), Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let received = rp.wait_for(1).await;
    let claims = verified_logout_token(&app, &received[0], "rp").await;
    assert_eq!(claims["sid"], first["sid"]);
    assert_eq!(claims["sub"], user_id.as_str());

    // Signed in again: deleting the user ends that session too.
    let session = crate::helpers::oauth::sign_in(&app, dora).await;
    let second = claims_of(&text(
        &code_flow(&app, "rp", RP, "openid").await,
        "id_token",
    ));
    assert_eq!(second["sid"], app.session_id(&session).await.as_str());
    let path = format!("/users/{user_id}");
    let (status, _) = admin_send(&app, Auth::Bearer(&admin), Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let received = rp.wait_for(2).await;
    let claims = verified_logout_token(&app, &received[1], "rp").await;
    assert_eq!(claims["sid"], second["sid"]);
    assert_eq!(claims["sub"], user_id.as_str());
}

/// **End all other sessions** on `/account` tells the clients of each.
#[tokio::test]
async fn ending_the_other_sessions_on_the_account_page_sends_their_logout_tokens() {
    let (rp, wiki) = (Receiver::ok(), Receiver::ok());
    let (app, session) = signed_in(&rp, &wiki).await;
    let id_token = claims_of(&text(
        &code_flow(&app, "rp", RP, "openid").await,
        "id_token",
    ));
    let laptop = new_browser("laptop");
    let signed_in = app.login_html_in(&laptop, "", ALICE).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let page = laptop
        .get(app.url("/account"))
        .send()
        .await
        .expect("account")
        .text()
        .await
        .expect("html");
    let ended = laptop
        .post(app.url("/account/sessions/end-others"))
        .form(&[("csrf_token", csrf_token(&page))])
        .send()
        .await
        .expect("end others");
    assert_eq!(ended.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get_session(&session).await.status(), 401);
    let received = rp.wait_for(1).await;
    let claims = verified_logout_token(&app, &received[0], "rp").await;
    assert_eq!(claims["sid"], id_token["sid"]);
}

/// A session that ends by itself is told about when the purge removes it.
#[tokio::test]
async fn an_expired_session_sends_its_logout_token_when_purged() {
    let (rp, wiki) = (Receiver::ok(), Receiver::ok());
    let (app, _session) = signed_in(&rp, &wiki).await;
    let id_token = claims_of(&text(
        &code_flow(&app, "rp", RP, "openid").await,
        "id_token",
    ));
    app.clock.advance(Duration::seconds(601));
    assert_eq!(
        tessera::sessions::purge_expired(&app.ctx).expect("purge"),
        1
    );
    let received = rp.wait_for(1).await;
    let claims = verified_logout_token(&app, &received[0], "rp").await;
    assert_eq!(claims["sid"], id_token["sid"]);
}

/// §2.8: anything but 200 or 204 is a failure; tessera tries again later,
/// with the same `jti`, until the client takes the token.
#[tokio::test]
async fn a_refused_logout_token_is_sent_again_until_the_client_takes_it() {
    let (rp, wiki) = (Receiver::answering(&[500, 503, 204]), Receiver::ok());
    let (app, session) = signed_in(&rp, &wiki).await;
    code_flow(&app, "rp", RP, "openid").await;
    assert_eq!(app.logout_rest(&session).await.status(), 204);
    rp.wait_for(1).await;
    retried(&app, &rp, 3).await;
    wait_until_sent(&app).await;
    let received = rp.received();
    assert_eq!(received.len(), 3, "delivered: no more attempts");
    let mut jtis = Vec::new();
    for token in &received {
        jtis.push(verified_logout_token(&app, token, "rp").await["jti"].clone());
    }
    assert!(jtis.iter().all(|jti| *jti == jtis[0]), "{jtis:?}");
}

/// §2.5: the token goes to the registered URI alone: a redirect is a
/// failed attempt, retried there, never followed.
#[tokio::test]
async fn a_redirect_from_the_logout_uri_is_not_followed() {
    let elsewhere = Receiver::ok();
    let (rp, wiki) = (Receiver::redirecting(&elsewhere.url), Receiver::ok());
    let (app, session) = signed_in(&rp, &wiki).await;
    code_flow(&app, "rp", RP, "openid").await;
    assert_eq!(app.logout_rest(&session).await.status(), 204);
    rp.wait_for(1).await;
    retried(&app, &rp, 2).await;
    assert!(elsewhere.received().is_empty(), "the redirect was followed");
}

/// A client that never takes the token is given up on after the last
/// attempt, and the audit log says so.
#[tokio::test]
async fn a_client_that_never_takes_the_token_is_given_up_on_and_audited() {
    let (rp, wiki) = (Receiver::answering(&[500]), Receiver::ok());
    let (app, session) = signed_in(&rp, &wiki).await;
    code_flow(&app, "rp", RP, "openid").await;
    assert_eq!(app.logout_rest(&session).await.status(), 204);
    rp.wait_for(1).await;
    retried(&app, &rp, 5).await;
    wait_until_sent(&app).await;
    let admin = client_token(&app, OPS, "tessera:admin").await;
    let (status, page) = admin_send(
        &app,
        Auth::Bearer(&admin),
        Method::GET,
        "/audit?type=backchannel_logout",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let events = page["items"].as_array().expect("items");
    assert_eq!(events.len(), 1, "{page}");
    assert_eq!(events[0]["outcome"], "failure");
    assert_eq!(events[0]["subject"], "client:rp");
    assert_eq!(events[0]["details"]["attempts"], "5");
    assert_eq!(events[0]["details"]["reason"], "the client answered 500");
    assert_eq!(rp.received().len(), 5);
}

/// The metadata is checked wherever a client comes from: an https URL
/// (http on loopback only for clients an administrator vets), no fragment.
#[tokio::test]
async fn a_backchannel_logout_uri_must_be_an_absolute_https_url_without_fragment() {
    let (rp, wiki) = (Receiver::ok(), Receiver::ok());
    let app = spawn_app_with(&config(&rp, &wiki)).await;
    let admin = client_token(&app, OPS, "tessera:admin").await;
    let create = |uri: &str| {
        json!({
            "client_id": format!("c{}", uri.len()),
            "redirect_uris": [CALLBACK],
            "backchannel_logout_uri": uri,
            "backchannel_logout_session_required": true,
        })
    };
    for bad in [
        "http://rp.example.com/bc",
        "https://rp.example.com/bc#here",
        "/bc",
    ] {
        let (status, body) = admin_send(
            &app,
            Auth::Bearer(&admin),
            Method::POST,
            "/clients",
            Some(create(bad)),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"], "invalid_client_metadata", "{body}");
    }
    let good = "https://rp.example.com/bc?tenant=7";
    let (status, body) = admin_send(
        &app,
        Auth::Bearer(&admin),
        Method::POST,
        "/clients",
        Some(create(good)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["backchannel_logout_uri"], good);
    assert_eq!(body["backchannel_logout_session_required"], true);
}

/// RFC 7591 registration takes the metadata too, https only: tessera
/// would otherwise post to its own machine for a client nobody vetted.
#[tokio::test]
async fn a_self_registered_client_registers_an_https_backchannel_logout_uri_only() {
    let initial = "initial-access-token-for-the-tests-0123456789";
    let app = spawn_app_with(&format!("[oauth]\ninitial_access_token = \"{initial}\"\n")).await;
    let register = |uri: &str| {
        app.api
            .post(app.url("/oauth2/register"))
            .bearer_auth(initial)
            .json(&json!({
                "redirect_uris": [CALLBACK],
                "scope": "openid",
                "backchannel_logout_uri": uri,
                "backchannel_logout_session_required": true,
            }))
            .send()
    };
    // Not http, and not tessera's own machine or network.
    for uri in [
        "http://127.0.0.1:9/bc",
        "https://127.0.0.1:9/bc",
        "https://localhost/bc",
        "https://intranet/bc",
        "https://10.0.0.5/bc",
        "https://192.168.1.1/bc",
        "https://169.254.169.254/latest",
        "https://[::1]/bc",
        "https://[fd00::1]/bc",
        "https://[::ffff:10.0.0.5]/bc",
    ] {
        let refused = register(uri).await.expect("register");
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{uri}");
        let body: Value = refused.json().await.expect("json");
        assert_eq!(body["error"], "invalid_client_metadata", "{uri}: {body}");
    }
    let registered = register("https://rp.example.com/bc")
        .await
        .expect("register");
    assert_eq!(registered.status(), StatusCode::CREATED);
    let body: Value = registered.json().await.expect("json");
    assert_eq!(body["backchannel_logout_uri"], "https://rp.example.com/bc");
    assert_eq!(body["backchannel_logout_session_required"], true);
}

/// A token exchange of a session (native apps) names the session too, and
/// its end tells the app.
#[tokio::test]
async fn a_session_exchanged_for_an_id_token_tells_the_app_when_it_ends() {
    let (rp, wiki) = (Receiver::ok(), Receiver::ok());
    let extra = config(&rp, &wiki).replace(
        "backchannel_logout_session_required = true",
        "backchannel_logout_session_required = true\ntoken_exchange = true",
    );
    let app = spawn_app_with(&extra).await;
    let session = app.login_rest(ALICE).await;
    let (status, body) = token(
        &app,
        RP,
        &[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("subject_token", &session),
            (
                "subject_token_type",
                "urn:tessera:params:oauth:token-type:session",
            ),
            ("scope", "openid"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id_token = claims_of(&text(&body, "id_token"));
    assert_eq!(id_token["sid"], app.session_id(&session).await.as_str());
    assert_eq!(app.logout_rest(&session).await.status(), 204);
    let received = rp.wait_for(1).await;
    let claims = verified_logout_token(&app, &received[0], "rp").await;
    assert_eq!(claims["sid"], id_token["sid"]);
}
