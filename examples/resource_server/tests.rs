//! The notes API against a real tessera started in-process (port 0, in
//! memory): the tokens are tessera's own, the refusals are checked on the
//! wire, and a JWKS relay in front of tessera counts the key fetches.

#[path = "../common/in_process.rs"]
mod in_process;

#[path = "dpop_tests.rs"]
mod dpop;

use super::serve;
use super::verifier::Verifier;
use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tessera::app::Application;
use tessera::clock::{Clock, ManualClock, SystemClock};
use tessera::config::Settings;

const AUDIENCE: &str = "notes-api";
const SECRET: &str = "test-secret-0123456789abcdef-0123456789";

/// tessera's users and clients: a writer, a reader, a client of another
/// API and a native app.
fn tessera_config() -> String {
    format!(
        r#"
[[users]]
username = "alice"
password = "alice-password"
[oauth.scopes]
"notes:read" = "Read your notes"
"notes:write" = "Write notes"
[[clients]]
client_id = "writer"
client_secret = "{SECRET}"
scopes = ["notes:read", "notes:write"]
grant_types = ["client_credentials"]
audience = ["{AUDIENCE}"]
[[clients]]
client_id = "reader"
client_secret = "{SECRET}"
scopes = ["notes:read"]
grant_types = ["client_credentials"]
audience = ["{AUDIENCE}"]
[[clients]]
client_id = "elsewhere"
client_secret = "{SECRET}"
scopes = ["notes:read"]
grant_types = ["client_credentials"]
audience = ["another-api"]
[[clients]]
client_id = "notes-app"
redirect_uris = ["com.example.notes:/callback"]
scopes = ["openid", "notes:read"]
first_party = true
token_exchange = true
"#
    )
}

/// Starts tessera with `top` (e.g. a fixed `issuer`) on `clock`; returns
/// where it listens.
fn start_tessera(top: &str, clock: Arc<dyn Clock>) -> String {
    in_process::start_tessera_with(top, &tessera_config(), clock)
}

/// Starts the notes API with `verifier`; returns its base URL.
fn start_api(verifier: Verifier) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(serve(listener, verifier, super::Proofs::new(&url)).expect("serve"));
    url
}

/// tessera and the notes API in front of it, set up by discovery.
async fn start_both() -> (String, String) {
    let issuer = in_process::start_tessera(&tessera_config());
    let verifier = Verifier::discover(&issuer, AUDIENCE)
        .await
        .expect("discovery");
    (issuer, start_api(verifier))
}

/// A `client_credentials` access token of `client`.
async fn client_token(issuer: &str, client: &str, scope: &str) -> String {
    let response: Value = reqwest::Client::new()
        .post(format!("{issuer}/oauth2/token"))
        .basic_auth(client, Some(SECRET))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token response");
    response["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("a token: {response}"))
        .to_owned()
}

async fn get_notes(api: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{api}/notes"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request")
}

async fn post_note(api: &str, token: &str, text: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{api}/notes"))
        .bearer_auth(token)
        .json(&json!({ "text": text }))
        .send()
        .await
        .expect("request")
}

fn challenge(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("www-authenticate")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A 401 `invalid_token` whose description contains `why`.
fn assert_invalid_token(response: &reqwest::Response, why: &str) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{why}");
    let challenge = challenge(response);
    assert!(
        challenge.starts_with(r#"Bearer realm="notes", error="invalid_token""#)
            && challenge.contains(why),
        "{challenge}"
    );
}

/// `token` with its header replaced by `header` (the signature no longer
/// matches, which only matters once a key is found).
fn with_header(token: &str, header: Value) -> String {
    let rest = token.split_once('.').expect("a JWT").1;
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
}

#[tokio::test]
async fn a_writer_adds_a_note_and_reads_it_back() {
    let (issuer, api) = start_both().await;
    let token = client_token(&issuer, "writer", "notes:read notes:write").await;

    let created = post_note(&api, &token, "buy tea").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let listed = get_notes(&api, Some(&token)).await;
    assert_eq!(listed.status(), StatusCode::OK);
    assert_eq!(
        listed.json::<Value>().await.expect("json"),
        json!([{ "text": "buy tea" }])
    );
}

#[tokio::test]
async fn a_note_that_is_not_json_is_a_400_invalid_request() {
    let (issuer, api) = start_both().await;
    let token = client_token(&issuer, "writer", "notes:write").await;
    let response = reqwest::Client::new()
        .post(format!("{api}/notes"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.expect("json")["error"],
        "invalid_request"
    );
}

#[tokio::test]
async fn a_request_without_a_token_is_challenged_without_an_error_code() {
    let (_, api) = start_both().await;
    for authorization in [None, Some("Basic d3JpdGVyOnNlY3JldA==")] {
        let mut request = reqwest::Client::new().get(format!("{api}/notes"));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        // RFC 6750 §3.1: no error code when the request has no token.
        assert_eq!(challenge(&response), r#"Bearer realm="notes""#);
    }
}

#[tokio::test]
async fn a_token_without_the_routes_scope_gets_403_naming_the_scope() {
    let (issuer, api) = start_both().await;
    let token = client_token(&issuer, "reader", "notes:read").await;

    assert_eq!(get_notes(&api, Some(&token)).await.status(), StatusCode::OK);
    let response = post_note(&api, &token, "hello").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        challenge(&response),
        r#"Bearer realm="notes", error="insufficient_scope", scope="notes:write""#
    );
}

#[tokio::test]
async fn a_token_meant_for_another_api_is_an_invalid_token() {
    let (issuer, api) = start_both().await;
    let token = client_token(&issuer, "elsewhere", "notes:read").await;
    assert_invalid_token(
        &get_notes(&api, Some(&token)).await,
        "not meant for this API",
    );
}

#[tokio::test]
async fn a_token_from_another_issuer_is_an_invalid_token() {
    let issuer = in_process::start_tessera(&tessera_config());
    // Same keys, but this API trusts another issuer.
    let verifier = Verifier::new(
        reqwest::Client::new(),
        "https://id.example.com",
        AUDIENCE,
        &format!("{issuer}/oauth2/jwks"),
    )
    .await
    .expect("verifier");
    let api = start_api(verifier);
    let token = client_token(&issuer, "writer", "notes:read").await;
    assert_invalid_token(&get_notes(&api, Some(&token)).await, "another issuer");
}

#[tokio::test]
async fn an_expired_token_is_an_invalid_token() {
    // tessera's clock runs an hour behind: its tokens (600 s) are born expired.
    let clock = Arc::new(ManualClock::at(
        time::OffsetDateTime::now_utc() - time::Duration::hours(1),
    ));
    let issuer = start_tessera("", clock.clone());
    let api = start_api(
        Verifier::discover(&issuer, AUDIENCE)
            .await
            .expect("verifier"),
    );

    let expired = client_token(&issuer, "reader", "notes:read").await;
    assert_invalid_token(&get_notes(&api, Some(&expired)).await, "expired");

    clock.advance(time::Duration::hours(1));
    let fresh = client_token(&issuer, "reader", "notes:read").await;
    assert_eq!(get_notes(&api, Some(&fresh)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_id_token_of_the_same_audience_is_not_an_access_token() {
    let issuer = in_process::start_tessera(&tessera_config());
    // The native app's tokens are meant for itself: aud = notes-app.
    let api = start_api(
        Verifier::discover(&issuer, "notes-app")
            .await
            .expect("verifier"),
    );
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{issuer}/api/authenticate?journey=login"))
        .json(&json!({"input": {"username": "alice", "password": "alice-password"}}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let tokens: Value = http
        .post(format!("{issuer}/oauth2/token"))
        .form(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("client_id", "notes-app"),
            (
                "subject_token",
                login["session_token"].as_str().expect("session"),
            ),
            (
                "subject_token_type",
                "urn:tessera:params:oauth:token-type:session",
            ),
            ("scope", "openid notes:read"),
        ])
        .send()
        .await
        .expect("exchange")
        .json()
        .await
        .expect("json");

    let access = tokens["access_token"].as_str().expect("access token");
    assert_eq!(get_notes(&api, Some(access)).await.status(), StatusCode::OK);
    let id_token = tokens["id_token"].as_str().expect("ID token");
    assert_invalid_token(
        &get_notes(&api, Some(id_token)).await,
        "not an access token",
    );
}

#[tokio::test]
async fn forged_and_malformed_tokens_are_invalid_tokens() {
    let (issuer, api) = start_both().await;
    let token = client_token(&issuer, "writer", "notes:read").await;
    let header = jsonwebtoken::decode_header(&token).expect("header");
    let kid = header.kid.expect("kid");
    let (head, rest) = token.split_once('.').expect("JWT");
    let (payload, signature) = rest.split_once('.').expect("JWT");
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("claims");
    claims["scope"] = json!("notes:read notes:write admin");
    let widened = format!(
        "{head}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );

    for (forged, why) in [
        ("not-a-jwt".to_owned(), "not a JWT"),
        (widened, "signature is invalid"),
        (
            // RFC 8725 §3.1: the key decides the algorithm, not the token.
            with_header(&token, json!({"typ": "at+jwt", "alg": "HS256", "kid": kid})),
            "algorithm",
        ),
        (
            with_header(&token, json!({"typ": "at+jwt", "alg": "none", "kid": kid})),
            "not a JWT",
        ),
        (
            with_header(&token, json!({"typ": "at+jwt", "alg": "RS256"})),
            "names no key",
        ),
    ] {
        assert_invalid_token(&get_notes(&api, Some(&forged)).await, why);
    }
}

/// A relay for tessera's JWKS that counts what it serves; `upstream` can
/// be switched, as if tessera had rotated its keys.
struct JwksRelay {
    upstream: Mutex<String>,
    fetches: AtomicUsize,
}

impl JwksRelay {
    fn start(upstream: &str) -> (Arc<Self>, String) {
        let relay = Arc::new(Self {
            upstream: Mutex::new(upstream.to_owned()),
            fetches: AtomicUsize::new(0),
        });
        let state = web::Data::from(relay.clone());
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/jwks", listener.local_addr().expect("address"));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .route("/jwks", web::get().to(relay_jwks))
        })
        .workers(1)
        .listen(listener)
        .expect("listen")
        .run();
        tokio::spawn(server);
        (relay, url)
    }

    fn switch_to(&self, upstream: &str) {
        *self.upstream.lock().expect("lock") = upstream.to_owned();
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

async fn relay_jwks(relay: web::Data<JwksRelay>) -> HttpResponse {
    relay.fetches.fetch_add(1, Ordering::SeqCst);
    let upstream = relay.upstream.lock().expect("lock").clone();
    let body = async {
        reqwest::get(upstream)
            .await?
            .error_for_status()?
            .text()
            .await
    };
    match body.await {
        Ok(jwks) => HttpResponse::Ok()
            .content_type("application/json")
            .body(jwks),
        Err(_) => HttpResponse::BadGateway().finish(),
    }
}

/// Two tessera servers with one issuer name and different keys: the second
/// is the first after a key rotation. Returns both base URLs, the relay
/// (serving the first's JWKS) and the API verifying through it.
async fn rotating_issuer() -> (String, String, Arc<JwksRelay>, String) {
    let top = r#"issuer = "http://tessera.test""#;
    let before = start_tessera(top, Arc::new(SystemClock));
    let after = start_tessera(top, Arc::new(SystemClock));
    let (relay, jwks_uri) = JwksRelay::start(&format!("{before}/oauth2/jwks"));
    let verifier = Verifier::new(
        reqwest::Client::new(),
        "http://tessera.test",
        AUDIENCE,
        &jwks_uri,
    )
    .await
    .expect("verifier");
    let api = start_api(verifier);
    (before, after, relay, api)
}

#[tokio::test]
async fn a_new_signing_key_is_fetched_once_on_its_first_token() {
    let (before, after, relay, api) = rotating_issuer().await;
    let old = client_token(&before, "reader", "notes:read").await;
    for _ in 0..5 {
        assert_eq!(get_notes(&api, Some(&old)).await.status(), StatusCode::OK);
    }
    assert_eq!(relay.fetches(), 1, "fetched once, never per request");

    relay.switch_to(&format!("{after}/oauth2/jwks"));
    let new = client_token(&after, "reader", "notes:read").await;
    for _ in 0..5 {
        assert_eq!(get_notes(&api, Some(&new)).await.status(), StatusCode::OK);
    }
    assert_eq!(relay.fetches(), 2, "one refetch for the new kid");
}

#[tokio::test]
async fn a_flood_of_unknown_kids_costs_one_jwks_fetch() {
    let (before, _, relay, api) = rotating_issuer().await;
    let token = client_token(&before, "reader", "notes:read").await;
    let floods = (0..20).map(|n| {
        let bogus = with_header(
            &token,
            json!({"typ": "at+jwt", "alg": "RS256", "kid": format!("bogus-{n}")}),
        );
        let api = api.clone();
        async move { get_notes(&api, Some(&bogus)).await }
    });
    for response in futures_util::future::join_all(floods).await {
        assert_invalid_token(&response, "unknown");
    }
    assert_eq!(relay.fetches(), 2, "the first fetch and one refetch");
    assert_eq!(get_notes(&api, Some(&token)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_kid_while_the_jwks_is_unreachable_is_503() {
    let (_, after, relay, api) = rotating_issuer().await;
    relay.switch_to("http://127.0.0.1:9/nothing-listens-here");
    let new = client_token(&after, "reader", "notes:read").await;
    let response = get_notes(&api, Some(&new)).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response.json::<Value>().await.expect("json")["error"],
        "temporarily_unavailable"
    );
}

#[tokio::test]
async fn the_shipped_config_gives_notes_writer_tokens_for_this_api() {
    let mut settings =
        Settings::from_toml(include_str!("../examples.toml")).expect("examples/examples.toml");
    settings.server.bind = "127.0.0.1:0".into();
    let app = Application::build_with_clock(settings, Arc::new(SystemClock)).expect("tessera");
    let issuer = app.issuer().to_owned();
    tokio::spawn(app.run_until_stopped());
    let api = start_api(
        Verifier::discover(&issuer, "notes-api")
            .await
            .expect("verifier"),
    );

    // The header's curl command.
    let response: Value = reqwest::Client::new()
        .post(format!("{issuer}/oauth2/token"))
        .basic_auth("notes-writer", Some("notes-writer-secret-0123456789abcdef"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "notes:read notes:write"),
        ])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("json");
    let token = response["access_token"].as_str().expect("a token");
    assert_eq!(
        post_note(&api, token, "buy tea").await.status(),
        StatusCode::CREATED
    );
}
