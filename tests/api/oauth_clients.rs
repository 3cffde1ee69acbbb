//! What a client's registration decides and how its credentials are
//! guarded: failed client authentication is throttled per client and
//! address, undeclared scopes are shown by name, and a client's logo and
//! home page reach the consent page only as https (or loopback) URLs.

use crate::helpers::oauth::{AuthRequest, assert_error, send_authorize};
use crate::helpers::{ALICE, TestApp, base_config, spawn_app_from, spawn_app_with};
use reqwest::{Response, StatusCode};
use serde_json::Value;
use tessera::config::Settings;
use time::Duration;

/// Loads `toml` as the server does: syntactic checks, then the domain's.
fn settings_from_toml(toml: &str) -> Result<Settings, String> {
    let settings = Settings::from_toml(toml).map_err(|err| err.to_string())?;
    tessera::app::check_settings(&settings).map_err(|err| err.to_string())?;
    Ok(settings)
}

const SERVICE_SECRET: &str = "service-secret-that-is-long-enough-012345";
const OTHER_SECRET: &str = "other-secret-that-is-long-enough-01234567";
/// An attacker's address and the service's own, as a trusted proxy
/// forwards them.
const ATTACKER: &str = "198.51.100.66";
const SERVICE_HOST: &str = "203.0.113.10";

/// `service` and `other`: service clients behind a trusted proxy; three
/// failures from one address lock that address out for the client.
async fn spawn_throttled() -> TestApp {
    let config = base_config().replace(
        "workers = 2",
        "workers = 2\ntrusted_proxies = [\"127.0.0.1\"]",
    );
    spawn_app_from(&format!(
        r#"
[oauth]
client_auth_max_failures = 3

[oauth.scopes]
"reports:read" = "Read reports"

[[clients]]
client_id = "service"
client_secret = "{SERVICE_SECRET}"
scopes = ["reports:read"]
grant_types = ["client_credentials"]
resource_server = true

[[clients]]
client_id = "other"
client_secret = "{OTHER_SECRET}"
scopes = ["reports:read"]
grant_types = ["client_credentials"]
{config}"#
    ))
    .await
}

/// `POST` to an OAuth endpoint as `client_id` with `secret`, from `address`.
async fn post_from(
    app: &TestApp,
    path: &str,
    address: &str,
    (client_id, secret): (&str, &str),
    form: &[(&str, &str)],
) -> Response {
    app.api
        .post(app.url(path))
        .header("x-forwarded-for", address)
        .basic_auth(client_id, Some(secret))
        .form(form)
        .send()
        .await
        .expect("request")
}

/// A client_credentials token request; its status.
async fn token_from(app: &TestApp, address: &str, client: (&str, &str)) -> StatusCode {
    let form = [("grant_type", "client_credentials")];
    post_from(app, "/oauth2/token", address, client, &form)
        .await
        .status()
}

/// A 429 with `Retry-After` and an RFC 6749 error body; the seconds to wait.
async fn assert_throttled(response: Response) -> i64 {
    let status = response.status();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let retry_after: i64 = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .expect("Retry-After in seconds");
    assert!(retry_after > 0, "{retry_after}");
    let body: Value = response.json().await.expect("json");
    assert_error(&(status, body), status, "temporarily_unavailable");
    retry_after
}

#[tokio::test]
async fn wrong_client_secrets_lock_out_that_address_but_never_the_client_elsewhere() {
    let app = spawn_throttled().await;
    let wrong = ("service", "service-secret-guess");
    for _ in 0..3 {
        assert_eq!(
            token_from(&app, ATTACKER, wrong).await,
            StatusCode::UNAUTHORIZED
        );
    }
    let form = [("grant_type", "client_credentials")];
    let refused = post_from(&app, "/oauth2/token", ATTACKER, wrong, &form).await;
    let retry_after = assert_throttled(refused).await;
    // Now even the right secret is refused there, at every endpoint that
    // authenticates clients: a guess that happens to be right says nothing.
    let right = ("service", SERVICE_SECRET);
    for path in ["/oauth2/token", "/oauth2/introspect", "/oauth2/revoke"] {
        let form = [("grant_type", "client_credentials"), ("token", "t")];
        assert_throttled(post_from(&app, path, ATTACKER, right, &form).await).await;
    }
    assert_eq!(
        token_from(&app, SERVICE_HOST, right).await,
        StatusCode::OK,
        "the service works from its own address"
    );
    assert_eq!(
        token_from(&app, ATTACKER, ("other", OTHER_SECRET)).await,
        StatusCode::OK,
        "another client from the attacker's address is not affected"
    );
    app.clock.advance(Duration::seconds(retry_after));
    assert_eq!(
        token_from(&app, ATTACKER, right).await,
        StatusCode::OK,
        "the lock ends after Retry-After"
    );
}

#[tokio::test]
async fn parallel_wrong_client_secrets_get_no_more_answers_than_the_limit() {
    let app = spawn_throttled().await;
    let guesses = (0..20).map(|i| {
        let app = &app;
        async move {
            let guess = format!("guess-{i}");
            token_from(app, ATTACKER, ("service", &guess)).await
        }
    });
    let answers = futures_util::future::join_all(guesses).await;
    let checked = answers
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = answers
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(
        (checked, throttled),
        (3, 17),
        "only client_auth_max_failures guesses are answered"
    );
}

#[tokio::test]
async fn a_client_auth_limit_of_zero_is_refused_naming_the_key() {
    let config = format!("[oauth]\nclient_auth_max_failures = 0\n{}", base_config());
    let err = settings_from_toml(&config)
        .expect_err("zero would lock out every client")
        .to_string();
    assert!(err.contains("oauth.client_auth_max_failures"), "{err}");
}

/// `web`: a third-party client that may ask for `notes:read`, which no
/// `[oauth.scopes]` declares.
const UNDECLARED: &str = r#"
[[clients]]
client_id = "web"
name = "Web Notes"
client_secret = "web-secret-that-is-long-enough-0123456789"
redirect_uris = ["https://web.example.com/callback"]
scopes = ["openid", "notes:read"]
logo_uri = "https://web.example.com/logo.png"
client_uri = "https://web.example.com/"
"#;

/// The consent page alice sees for `web` asking for `scope`.
async fn consent_page(app: &TestApp, scope: &str) -> String {
    let signed_in = app.login_html("", ALICE).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER, "alice signs in");
    let request = AuthRequest::new("web", "https://web.example.com/callback", scope);
    let response = send_authorize(app, &app.browser, &request).await;
    assert_eq!(response.status(), StatusCode::OK, "the consent page");
    response.text().await.expect("html")
}

#[tokio::test]
async fn an_undeclared_scope_is_allowed_and_shown_on_the_consent_page_by_its_name() {
    let app = spawn_app_with(UNDECLARED).await;
    let page = consent_page(&app, "openid notes:read").await;
    assert!(
        page.contains("<li>notes:read <code"),
        "the scope's name stands for its description: {page}"
    );
}

#[tokio::test]
async fn the_consent_page_shows_a_clients_https_logo_and_home_page() {
    let app = spawn_app_with(UNDECLARED).await;
    let page = consent_page(&app, "openid").await;
    assert!(
        page.contains(r#"src="https://web.example.com/logo.png""#),
        "{page}"
    );
    assert!(
        page.contains(r#"href="https://web.example.com/""#),
        "{page}"
    );
}

#[tokio::test]
async fn the_consent_page_never_renders_a_stored_logo_or_home_page_that_is_not_https() {
    let app = spawn_app_with(UNDECLARED).await;
    // A store written before registration checked these URLs.
    app.ctx
        .store
        .write(|tx| {
            let mut web = tx.client("web")?.expect("web is seeded");
            web.logo_uri = Some("javascript:alert(1)".into());
            web.client_uri = Some("http://web.example.com/".into());
            tx.put_client(&web)
        })
        .expect("store");
    let page = consent_page(&app, "openid").await;
    assert!(!page.contains("javascript:"), "{page}");
    assert!(!page.contains("http://web.example.com"), "{page}");
    assert!(!page.contains("client-logo"), "no image at all: {page}");
    assert!(page.contains("Web Notes"), "the name alone: {page}");
}

#[tokio::test]
async fn a_logo_or_home_page_that_is_not_https_is_refused_naming_the_key() {
    for (key, value) in [
        ("logo_uri", "javascript:alert(1)"),
        ("client_uri", "javascript:alert(1)"),
        ("logo_uri", "data:image/svg+xml,<svg onload=alert(1)>"),
        ("client_uri", "http://web.example.com/"),
    ] {
        let config = format!(
            "[[clients]]\nclient_id = \"web\"\nredirect_uris = [\"https://web.example.com/cb\"]\n{key} = {value:?}\n{}",
            base_config()
        );
        let err = settings_from_toml(&config)
            .expect_err("refused")
            .to_string();
        assert!(err.contains(&format!("clients[0].{key}")), "{key}: {err}");
    }
    for loopback in ["http://127.0.0.1:9000/", "http://localhost/logo.png"] {
        let config = format!(
            "[[clients]]\nclient_id = \"web\"\nredirect_uris = [\"https://web.example.com/cb\"]\nlogo_uri = {loopback:?}\n{}",
            base_config()
        );
        assert!(settings_from_toml(&config).is_ok(), "{loopback}");
    }
}
