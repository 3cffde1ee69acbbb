//! The client against a real tessera started in-process (port 0, in
//! memory). The test plays the browser: it receives the authorization URL
//! instead of a browser window, signs alice in on tessera's login page, and
//! follows the redirect to the client's loopback listener.

#[path = "../common/in_process.rs"]
mod in_process;

use super::Error;
use super::client::{NativeClient, RENEW_MARGIN_SECS};
use super::token_file;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tessera::app::Application;
use tessera::clock::SystemClock;
use tessera::config::Settings;

const SCOPE: &str = "openid profile offline_access notes:read";
const API_SECRET: &str = "notes-api-secret-0123456789abcdef";

/// tessera with alice, the native client, the same with access tokens
/// shorter than the renewal margin, and a resource server that may
/// introspect; devices poll every second. Returns its URL.
fn start_tessera() -> String {
    let client = r#"
redirect_uris = ["http://127.0.0.1/callback"]
scopes = ["openid", "profile", "offline_access", "notes:read"]
grant_types = ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"]
first_party = true
token_exchange = true"#;
    let config = format!(
        r#"
[oauth]
device_poll_interval_secs = 1
[[users]]
username = "alice"
password = "alice-password"
[[clients]]
client_id = "notes-cli"{client}
[[clients]]
client_id = "notes-cli-short"{client}
access_token_ttl_secs = {short}
[[clients]]
client_id = "notes-api"
client_secret = "{API_SECRET}"
scopes = ["notes:read"]
grant_types = ["client_credentials"]
resource_server = true
"#,
        short = RENEW_MARGIN_SECS / 2
    );
    in_process::start_tessera(&config)
}

async fn client(tessera: &str, client_id: &str, token_file: &Path) -> NativeClient {
    NativeClient::discover(tessera, client_id, SCOPE, token_file.to_owned())
        .await
        .expect("discovery")
}

/// Runs the browser login; `browser` gets the authorization URL and acts
/// as the user's browser would.
async fn browser_login<F>(
    client: &NativeClient,
    browser: impl FnOnce(String) -> F,
) -> Result<(), Error>
where
    F: Future<Output = ()>,
{
    let (opened, url) = tokio::sync::oneshot::channel();
    let login = client.login_in_browser(move |url| {
        opened.send(url.to_owned()).expect("the test is waiting");
    });
    let act = async move { browser(url.await.expect("a URL to open")).await };
    // A guard, not a measurement: a broken flow fails instead of hanging.
    let (result, ()) =
        tokio::time::timeout(Duration::from_secs(60), async { tokio::join!(login, act) })
            .await
            .expect("the login ends");
    result
}

/// A browser: cookies, redirects followed.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client")
}

/// The value after `marker` up to the next quote, unescaped.
fn attribute_after(html: &str, marker: &str) -> String {
    let start = html.find(marker).expect(marker) + marker.len();
    let end = html[start..].find('"').expect("closing quote") + start;
    html[start..end].replace("&amp;", "&").replace("&#38;", "&")
}

/// Opens `url`, signs alice in on tessera's login page, and follows the
/// redirects to the loopback listener; returns its answer.
async fn sign_in_as_alice(url: String) -> reqwest::Response {
    let browser = browser();
    let login = browser.get(url).send().await.expect("authorize");
    let page_url = login.url().clone();
    let page = login.text().await.expect("login page");
    let action = attribute_after(&page, r#"<form method="post" action=""#);
    browser
        .post(page_url.join(&action).expect("form action"))
        .form(&[
            (
                "csrf_token",
                attribute_after(&page, r#"name="csrf_token" value=""#).as_str(),
            ),
            ("username", "alice"),
            ("password", "alice-password"),
        ])
        .send()
        .await
        .expect("sign-in")
}

/// The `redirect_uri` an authorization URL names.
fn redirect_uri_of(url: &str) -> String {
    let url = url::Url::parse(url).expect("URL");
    url.query_pairs()
        .find(|(name, _)| name == "redirect_uri")
        .map(|(_, value)| value.into_owned())
        .expect("redirect_uri")
}

fn saved(path: &Path) -> token_file::Tokens {
    token_file::load(path)
        .expect("readable")
        .expect("saved tokens")
}

async fn introspect(tessera: &str, token: &str) -> bool {
    let answer: Value = reqwest::Client::new()
        .post(format!("{tessera}/oauth2/introspect"))
        .basic_auth("notes-api", Some(API_SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .expect("introspection")
        .json()
        .await
        .expect("json");
    answer["active"].as_bool().expect("active")
}

async fn userinfo(tessera: &str, client: &NativeClient) -> Value {
    let response = client
        .get(&format!("{tessera}/oauth2/userinfo"))
        .await
        .expect("userinfo");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

#[tokio::test]
async fn browser_login_saves_tokens_only_their_user_can_read_and_they_work() {
    let tessera = start_tessera();
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("tokens.json");
    let client = client(&tessera, "notes-cli", &file).await;

    browser_login(&client, |url| async move {
        let back = sign_in_as_alice(url).await;
        assert_eq!(back.status(), StatusCode::OK);
        assert!(back.text().await.expect("page").contains("Signed in"));
    })
    .await
    .expect("login");

    let mode = std::fs::metadata(&file).expect("file").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let tokens = saved(&file);
    assert!(tokens.refresh_token.is_some() && tokens.session_token.is_none());
    assert_eq!(
        userinfo(&tessera, &client).await["preferred_username"],
        "alice"
    );
}

#[tokio::test]
async fn a_callback_with_another_state_is_refused_and_the_login_goes_on() {
    let tessera = start_tessera();
    let dir = tempfile::tempdir().expect("dir");
    let client = client(&tessera, "notes-cli", &dir.path().join("tokens.json")).await;

    browser_login(&client, |url| async move {
        let forged = reqwest::Client::new()
            .get(redirect_uri_of(&url))
            .query(&[("code", "attackers-code"), ("state", "attackers-state")])
            .send()
            .await
            .expect("forged callback");
        assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
        assert_eq!(sign_in_as_alice(url).await.status(), StatusCode::OK);
    })
    .await
    .expect("the real sign-in still completes");
}

#[tokio::test]
async fn a_denied_authorization_ends_the_login_with_its_error() {
    let tessera = start_tessera();
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("tokens.json");
    let client = client(&tessera, "notes-cli", &file).await;

    let result = browser_login(&client, |url| async move {
        let state = url::Url::parse(&url)
            .expect("URL")
            .query_pairs()
            .find(|(name, _)| name == "state")
            .map(|(_, value)| value.into_owned())
            .expect("state");
        let denied = reqwest::Client::new()
            .get(redirect_uri_of(&url))
            .query(&[
                ("error", "access_denied"),
                ("state", &state),
                ("iss", &tessera),
            ])
            .send()
            .await
            .expect("callback");
        assert_eq!(denied.status(), StatusCode::OK);
    })
    .await;
    let error = result.expect_err("no login").to_string();
    assert!(error.contains("access_denied"), "{error}");
    assert!(token_file::load(&file).expect("readable").is_none());
}

#[tokio::test]
async fn an_access_token_near_its_expiry_is_renewed_before_use_and_a_fresh_one_is_not() {
    let tessera = start_tessera();
    let dir = tempfile::tempdir().expect("dir");
    for (client_id, renewed) in [("notes-cli", false), ("notes-cli-short", true)] {
        let file = dir.path().join(client_id);
        let client = client(&tessera, client_id, &file).await;
        browser_login(&client, |url| async move {
            sign_in_as_alice(url).await;
        })
        .await
        .expect("login");
        let before = saved(&file);

        userinfo(&tessera, &client).await;
        let after = saved(&file);
        assert_eq!(
            after.access_token != before.access_token,
            renewed,
            "{client_id}"
        );
        // Refresh tokens rotate (README "Tokens"): the new one is saved.
        assert_eq!(
            after.refresh_token != before.refresh_token,
            renewed,
            "{client_id}"
        );
    }
}

#[tokio::test]
async fn logout_revokes_the_tokens_and_deletes_the_file() {
    let tessera = start_tessera();
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("tokens.json");
    let client = client(&tessera, "notes-cli", &file).await;
    browser_login(&client, |url| async move {
        sign_in_as_alice(url).await;
    })
    .await
    .expect("login");
    let tokens = saved(&file);
    let refresh = tokens.refresh_token.expect("refresh token");
    assert!(introspect(&tessera, &tokens.access_token).await);

    client.logout().await.expect("logout");

    assert!(!introspect(&tessera, &tokens.access_token).await);
    // Only its client may ask about a refresh token: by using it.
    let refreshed = reqwest::Client::new()
        .post(format!("{tessera}/oauth2/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", "notes-cli"),
        ])
        .send()
        .await
        .expect("refresh");
    assert_eq!(refreshed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        refreshed.json::<Value>().await.expect("json")["error"],
        "invalid_grant"
    );
    assert!(!file.exists());
}

#[tokio::test]
async fn embedded_login_exchanges_the_session_renews_by_exchange_and_logout_ends_the_session() {
    let tessera = start_tessera();
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("tokens.json");
    let client = client(&tessera, "notes-cli-short", &file).await;

    let mut asked = Vec::new();
    client
        .login_embedded(|field| {
            asked.push(field.name.clone());
            Ok(match field.name.as_str() {
                "username" => "alice".to_owned(),
                _ => "alice-password".to_owned(),
            })
        })
        .await
        .expect("embedded login");
    assert_eq!(asked, ["username", "password"]);
    let before = saved(&file);
    let session = before.session_token.clone().expect("the session is kept");
    assert!(before.refresh_token.is_none());
    assert_eq!(
        std::fs::metadata(&file).expect("file").permissions().mode() & 0o777,
        0o600
    );

    // Short-lived: renewed by exchanging the session again.
    assert_eq!(
        userinfo(&tessera, &client).await["preferred_username"],
        "alice"
    );
    let after = saved(&file);
    assert_ne!(after.access_token, before.access_token);

    client.logout().await.expect("logout");
    assert!(!introspect(&tessera, &after.access_token).await);
    let validation: Value = reqwest::Client::new()
        .post(format!("{tessera}/api/sessions/validate"))
        .json(&json!({ "token": session }))
        .send()
        .await
        .expect("validate")
        .json()
        .await
        .expect("json");
    assert_eq!(validation["valid"], false);
}

#[tokio::test]
async fn a_wrong_password_in_the_embedded_login_is_an_error_and_saves_nothing() {
    let tessera = start_tessera();
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("tokens.json");
    let client = client(&tessera, "notes-cli", &file).await;

    let result = client
        .login_embedded(|field| Ok(format!("wrong-{}", field.name)))
        .await;
    assert!(result.is_err());
    assert!(!file.exists());
}

#[tokio::test]
async fn the_shipped_config_signs_alice_in_with_tokens_for_the_notes_api() {
    let mut settings =
        Settings::from_toml(include_str!("../examples.toml")).expect("examples/examples.toml");
    settings.server.bind = "127.0.0.1:0".into();
    let app = Application::build_with_clock(settings, Arc::new(SystemClock)).expect("tessera");
    let tessera = app.issuer().to_owned();
    tokio::spawn(app.run_until_stopped());
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("tokens.json");
    let client = NativeClient::discover(
        &tessera,
        "notes-cli",
        "openid profile offline_access notes:read",
        file.clone(),
    )
    .await
    .expect("discovery");

    client
        .login_embedded(|field| {
            Ok(match field.name.as_str() {
                "username" => "alice".to_owned(),
                _ => "tea-party-at-four".to_owned(),
            })
        })
        .await
        .expect("login");
    assert_eq!(userinfo(&tessera, &client).await["name"], "Alice Liddell");
    let access = saved(&file).access_token;
    let payload = access.split('.').nth(1).expect("a JWT");
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .expect("base64"),
    )
    .expect("claims");
    assert_eq!(claims["aud"], json!(["notes-cli", "notes-api"]));
}

#[tokio::test]
async fn device_login_polls_while_alice_allows_it_in_a_browser_and_saves_the_tokens() {
    let tessera = start_tessera();
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("tokens.json");
    let client = client(&tessera, "notes-cli", &file).await;

    let (shown, complete) = tokio::sync::oneshot::channel();
    let login = client.login_on_device(move |codes| {
        let url = codes
            .verification_uri_complete
            .clone()
            .expect("a complete URI");
        assert!(url.starts_with(&codes.verification_uri));
        shown.send(url).expect("the test is waiting");
    });
    // Alice, on another device: signs in, confirms the code, allows.
    let allow = async {
        let url = complete.await.expect("a URL to open");
        let browser = browser();
        let login = browser.get(url).send().await.expect("device page");
        let login_url = login.url().clone();
        let page = login.text().await.expect("login page");
        let form = |page: &str, marker: &str| attribute_after(page, marker);
        let signed_in = browser
            .post(
                login_url
                    .join(&form(&page, r#"<form method="post" action=""#))
                    .expect("url"),
            )
            .form(&[
                (
                    "csrf_token",
                    form(&page, r#"name="csrf_token" value=""#).as_str(),
                ),
                ("username", "alice"),
                ("password", "alice-password"),
            ])
            .send()
            .await
            .expect("sign-in");
        let device_url = signed_in.url().clone();
        let page = signed_in.text().await.expect("device page");
        let user_code = form(&page, r#"name="user_code" value=""#);
        let csrf = form(&page, r#"name="csrf_token" value=""#);
        let consent = browser
            .post(device_url.clone())
            .form(&[("csrf_token", csrf.as_str()), ("user_code", &user_code)])
            .send()
            .await
            .expect("code entered")
            .text()
            .await
            .expect("consent page");
        assert!(consent.contains(&user_code), "the code to compare");
        let done = browser
            .post(device_url)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("user_code", &user_code),
                ("decision", "allow"),
            ])
            .send()
            .await
            .expect("allowed");
        assert_eq!(done.status(), StatusCode::OK);
    };
    // A guard, not a measurement: a broken flow fails instead of hanging.
    let (result, ()) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(login, allow)
    })
    .await
    .expect("the login ends");
    result.expect("device login");

    assert!(saved(&file).refresh_token.is_some());
    assert_eq!(
        userinfo(&tessera, &client).await["preferred_username"],
        "alice"
    );
}
