//! The app and a real tessera, both in-process on port 0; reqwest plays the
//! browser (a cookie jar, redirects followed by hand to see each one).

#[path = "../common/in_process.rs"]
mod in_process;

use super::{Config, serve};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use std::net::TcpListener;
use std::time::Duration;

const PASSWORD: &str = "alice-password";

/// Binds the app's socket first: tessera's config must name its origin.
fn app_socket() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("address"));
    (listener, origin)
}

/// tessera with alice, trusting `return_origins`; returns its URL.
fn start_tessera(return_origins: &[&str]) -> String {
    in_process::start_tessera(&format!(
        r#"
[sessions]
return_origins = {return_origins:?}
[[users]]
username = "alice"
password = "{PASSWORD}"
"#
    ))
}

fn start_app(listener: TcpListener, origin: &str, tessera: &str, cache_ttl: Duration) {
    let config = Config {
        tessera: tessera.to_owned(),
        public_url: origin.to_owned(),
        cache_ttl,
    };
    tokio::spawn(serve(listener, config).expect("serve"));
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("client")
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The value after `marker` up to the next quote, in a page.
fn attribute_after(html: &str, marker: &str) -> String {
    let start = html.find(marker).expect(marker) + marker.len();
    let end = html[start..].find('"').expect("closing quote") + start;
    html[start..end].replace("&amp;", "&").replace("&#38;", "&")
}

/// Fills in and submits tessera's login page at `url` as alice; returns
/// tessera's answer.
async fn sign_in_at(browser: &reqwest::Client, tessera: &str, url: &str) -> reqwest::Response {
    let page = browser
        .get(url)
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("html");
    let action = attribute_after(&page, r#"<form method="post" action=""#);
    let csrf = attribute_after(&page, r#"name="csrf_token" value=""#);
    browser
        .post(format!("{tessera}{action}"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", "alice"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("sign-in")
}

#[tokio::test]
async fn a_browser_without_a_session_signs_in_at_tessera_and_comes_back_greeted() {
    let (listener, origin) = app_socket();
    let tessera = start_tessera(&[&origin]);
    start_app(listener, &origin, &tessera, Duration::from_secs(5));
    let browser = browser();

    let first = browser.get(format!("{origin}/")).send().await.expect("app");
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let login = location(&first);
    let goto = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("goto", &format!("{origin}/"))
        .finish();
    assert_eq!(login, format!("{tessera}/login?{goto}"));

    let signed_in = sign_in_at(&browser, &tessera, &login).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&signed_in),
        format!("{origin}/"),
        "back to the app"
    );

    let home = browser.get(format!("{origin}/")).send().await.expect("app");
    assert_eq!(home.status(), StatusCode::OK);
    let html = home.text().await.expect("html");
    assert!(
        html.contains("signed in as <strong>alice</strong>"),
        "{html}"
    );
    assert!(
        html.contains(&format!(r#"href="{tessera}/logout""#)),
        "{html}"
    );
}

#[tokio::test]
async fn without_return_origins_tessera_keeps_the_browser_after_sign_in() {
    let (listener, origin) = app_socket();
    let tessera = start_tessera(&[]);
    start_app(listener, &origin, &tessera, Duration::from_secs(5));
    let browser = browser();

    let first = browser.get(format!("{origin}/")).send().await.expect("app");
    let signed_in = sign_in_at(&browser, &tessera, &location(&first)).await;
    assert_eq!(location(&signed_in), format!("{tessera}/account"));
}

#[tokio::test]
async fn a_forged_session_cookie_is_sent_to_sign_in() {
    let (listener, origin) = app_socket();
    let tessera = start_tessera(&[&origin]);
    start_app(listener, &origin, &tessera, Duration::from_secs(5));

    let response = browser()
        .get(format!("{origin}/"))
        .header("cookie", "tessera_session=forged-token")
        .send()
        .await
        .expect("app");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with(&format!("{tessera}/login?goto=")));
}

/// Signs alice in through the REST journey; returns her session token.
async fn rest_sign_in(tessera: &str) -> String {
    let login: Value = reqwest::Client::new()
        .post(format!("{tessera}/api/authenticate?journey=login"))
        .json(&json!({"input": {"username": "alice", "password": PASSWORD}}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    login["session_token"].as_str().expect("token").to_owned()
}

async fn home_status(origin: &str, token: &str) -> StatusCode {
    browser()
        .get(format!("{origin}/"))
        .header("cookie", format!("tessera_session={token}"))
        .send()
        .await
        .expect("app")
        .status()
}

#[tokio::test]
async fn a_cached_answer_outlives_sign_out_only_until_its_ttl() {
    let (cached_socket, cached) = app_socket();
    let (uncached_socket, uncached) = app_socket();
    let tessera = start_tessera(&[]);
    start_app(cached_socket, &cached, &tessera, Duration::from_secs(3600));
    start_app(uncached_socket, &uncached, &tessera, Duration::ZERO);
    let token = rest_sign_in(&tessera).await;
    assert_eq!(home_status(&cached, &token).await, StatusCode::OK);
    assert_eq!(home_status(&uncached, &token).await, StatusCode::OK);

    let signed_out = reqwest::Client::new()
        .post(format!("{tessera}/api/logout"))
        .header("x-session-token", &token)
        .send()
        .await
        .expect("logout");
    assert_eq!(signed_out.status(), StatusCode::NO_CONTENT);

    // The app with a cache trusts its answer for the TTL; without one it
    // asks tessera each time.
    assert_eq!(home_status(&cached, &token).await, StatusCode::OK);
    assert_eq!(home_status(&uncached, &token).await, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_unreachable_tessera_is_a_502_not_a_sign_in_loop() {
    let (listener, origin) = app_socket();
    start_app(
        listener,
        &origin,
        "http://127.0.0.1:9",
        Duration::from_secs(5),
    );
    assert_eq!(
        home_status(&origin, "some-token").await,
        StatusCode::BAD_GATEWAY
    );
}
