//! What a client's registration decides: undeclared scopes are shown by
//! name, and a client's logo and home page reach the consent page only as
//! https (or loopback) URLs.

use crate::helpers::{ALICE, TestApp, base_config, spawn_app_with};
use reqwest::StatusCode;
use tessera::store::clients;

/// RFC 7636 Appendix B.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

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
    let response = app
        .browser
        .get(app.url("/oauth2/authorize"))
        .query(&[
            ("client_id", "web"),
            ("redirect_uri", "https://web.example.com/callback"),
            ("response_type", "code"),
            ("scope", scope),
            ("state", "s"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .expect("request");
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
            let mut web = clients::get_by_id(tx, "web")?.expect("web is seeded");
            web.logo_uri = Some("javascript:alert(1)".into());
            web.client_uri = Some("http://web.example.com/".into());
            clients::put(tx, &web)
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
        let err = tessera::config::Settings::from_toml(&config)
            .expect_err("refused")
            .to_string();
        assert!(err.contains(&format!("clients[0].{key}")), "{key}: {err}");
    }
    for loopback in ["http://127.0.0.1:9000/", "http://localhost/logo.png"] {
        let config = format!(
            "[[clients]]\nclient_id = \"web\"\nredirect_uris = [\"https://web.example.com/cb\"]\nlogo_uri = {loopback:?}\n{}",
            base_config()
        );
        assert!(
            tessera::config::Settings::from_toml(&config).is_ok(),
            "{loopback}"
        );
    }
}
