//! Shared test helpers: spawn a real server on port 0 and one helper per
//! endpoint. The submodules hold what several test files need beyond that:
//! HTTP headers and cookies (`http`), pages and forms (`html`), the OAuth
//! client side (`oauth`) and the resource server's offline check of a
//! token (`oidc`). Test files keep only what is theirs alone.

pub mod dpop;
pub mod html;
pub mod http;
pub mod oauth;
pub mod oidc;
/// The throwaway PostgreSQL server the store's own tests use (one file for
/// both; each uses part of it).
#[allow(dead_code)]
#[path = "../../../src/store/postgres/testing.rs"]
pub mod postgres;

pub use html::{csrf_token, form_action, input_value, shown_number_in};
pub use http::{location, new_browser, set_cookie};

use reqwest::redirect::Policy;
use reqwest::{Client, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use tessera::app::Application;
use tessera::clock::ManualClock;
use tessera::config::Settings;
use tessera::context::Context;

/// Users every test server starts with.
pub const ALICE: (&str, &str) = ("alice", "correct horse battery staple");
pub const BOB: (&str, &str) = ("bob", "hunter2 but longer");

/// Cheap argon2 parameters and two seeded users, in memory, on port 0.
pub fn base_config() -> String {
    format!(
        r#"
[server]
bind = "127.0.0.1:0"
workers = 2

[storage]
path = ":memory:"

[log]
level = "warn"

[passwords]
memory_kib = 256
iterations = 1

[[users]]
username = "{}"
password = "{}"
email = "alice@example.com"
name = "Alice Liddell"

[[users]]
username = "{}"
password = "{}"
"#,
        ALICE.0, ALICE.1, BOB.0, BOB.1
    )
}

/// A running server with its clock, context and two HTTP clients.
pub struct TestApp {
    pub address: String,
    pub clock: Arc<ManualClock>,
    pub ctx: actix_web::web::Data<Context>,
    pub engine: actix_web::web::Data<tessera::journeys::Engine>,
    /// Keeps no cookies; for the REST API.
    pub api: Client,
    /// Keeps cookies like a browser; never follows redirects.
    pub browser: Client,
    /// Where the server's outbox writes mail (`mail.outbox_dir`).
    pub outbox: tempfile::TempDir,
}

/// A server with the base config.
pub async fn spawn_app() -> TestApp {
    spawn_app_with("").await
}

/// A server with the base config plus `extra` TOML: top-level keys or
/// sections the base lacks (TOML forbids repeating a section; for other
/// `[server]` or `[storage]` settings use `spawn_app_from`).
pub async fn spawn_app_with(extra: &str) -> TestApp {
    spawn_app_from(&format!("{extra}\n{}", base_config())).await
}

/// A server from a complete TOML config.
pub async fn spawn_app_from(toml: &str) -> TestApp {
    let outbox = tempfile::tempdir().expect("outbox dir");
    let mut settings = Settings::from_toml(toml).expect("test config is valid");
    on_the_tested_backend(&mut settings);
    if settings.mail.outbox_dir.is_none() && settings.mail.smtp_url.is_none() {
        settings.mail.outbox_dir = Some(outbox.path().to_owned());
    }
    tessera::telemetry::init(&settings.log);
    let clock = Arc::new(ManualClock::new());
    let app = Application::build_with_clock(settings, clock.clone()).expect("server builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let ctx = app.context();
    let engine = app.engine();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        clock,
        ctx,
        engine,
        api: Client::builder()
            .redirect(Policy::none())
            .build()
            .expect("client"),
        browser: Client::builder()
            .redirect(Policy::none())
            .cookie_store(true)
            .build()
            .expect("client"),
        outbox,
    }
}

/// With `TESSERA_TEST_STORAGE=postgres` (as `.ci/run` runs the suite a
/// second time), a server whose store would live in memory gets a fresh
/// PostgreSQL database instead, so the same tests prove both backends.
fn on_the_tested_backend(settings: &mut Settings) {
    use base64::Engine;
    match std::env::var("TESSERA_TEST_STORAGE").as_deref() {
        Ok("postgres") if settings.store_file().is_none() && settings.storage.url.is_none() => {
            settings.storage.path = None;
            settings.storage.url = Some(postgres::database().into());
            let mut key = [0u8; 32];
            aws_lc_rs::rand::fill(&mut key).expect("a random sealing key");
            let key = base64::engine::general_purpose::STANDARD.encode(key);
            settings.storage.key = Some(key.into());
        }
        Ok("postgres") | Ok("redb") | Err(_) => {}
        Ok(other) => panic!("TESSERA_TEST_STORAGE is `redb` or `postgres`, not `{other}`"),
    }
}

impl TestApp {
    /// Every message in the outbox, oldest first, as raw `.eml` text.
    pub fn mails(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(self.outbox.path())
            .map(|dir| {
                dir.filter_map(|entry| entry.ok())
                    .map(|e| e.path())
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|path| std::fs::read_to_string(path).expect("read mail"))
            .collect()
    }

    /// The messages sent to `address`, oldest first.
    pub fn mails_to(&self, address: &str) -> Vec<String> {
        self.mails()
            .into_iter()
            .filter(|mail| mail.lines().any(|line| line == format!("To: {address}")))
            .collect()
    }

    /// Waits (mail is delivered by a background thread, in order) until
    /// `address` has at least `count` messages; returns them all.
    pub async fn wait_for_mails_to(&self, address: &str, count: usize) -> Vec<String> {
        for _ in 0..500 {
            let mails = self.mails_to(address);
            if mails.len() >= count {
                return mails;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("{address} did not get {count} messages");
    }

    /// The code in message number `nth` (from 1) to `address`.
    pub async fn code_for(&self, address: &str, nth: usize) -> String {
        let mails = self.wait_for_mails_to(address, nth).await;
        let mail = &mails[nth - 1];
        mail.lines()
            .find_map(|line| line.strip_prefix("Your code is "))
            .unwrap_or_else(|| panic!("no code in {mail}"))
            .trim()
            .to_owned()
    }

    /// Continues a REST journey with `input`; returns status and body.
    pub async fn submit(&self, auth_id: &Value, input: Value) -> (u16, Value) {
        let response = self
            .authenticate(json!({"auth_id": auth_id, "input": input}))
            .await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("json"))
    }

    /// The server's (manual) clock reading.
    pub fn clock_now(&self) -> time::OffsetDateTime {
        use tessera::clock::Clock;
        self.clock.now()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// The published JWKS (`GET /oauth2/jwks`), as JSON or a `JwkSet`.
    pub async fn jwks<T: serde::de::DeserializeOwned>(&self) -> T {
        self.api
            .get(self.url("/oauth2/jwks"))
            .send()
            .await
            .expect("jwks request")
            .json()
            .await
            .expect("a JWKS")
    }

    /// `POST /api/authenticate?journey=login` with a JSON body.
    pub async fn authenticate(&self, body: Value) -> Response {
        self.authenticate_journey("login", body).await
    }

    pub async fn authenticate_journey(&self, journey: &str, body: Value) -> Response {
        self.api
            .post(self.url(&format!("/api/authenticate?journey={journey}")))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// Starts the login journey over REST; returns the step.
    pub async fn start_journey(&self) -> Value {
        self.start_named("login").await
    }

    /// Starts the named journey over REST; returns the step.
    pub async fn start_named(&self, journey: &str) -> Value {
        self.authenticate_journey(journey, json!({}))
            .await
            .json()
            .await
            .expect("json")
    }

    /// `POST` a raw body with a content type, with the API client.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: String) -> Response {
        self.api
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request")
    }

    /// The public id of the session behind a token.
    pub async fn session_id(&self, token: &str) -> String {
        let session: Value = self.get_session(token).await.json().await.expect("json");
        session["session_id"]
            .as_str()
            .expect("session_id")
            .to_owned()
    }

    /// Logs in through the REST journey in two steps; returns the token.
    pub async fn login_rest(&self, (username, password): (&str, &str)) -> String {
        let started: Value = self
            .authenticate(json!({}))
            .await
            .json()
            .await
            .expect("json");
        let auth_id = started["auth_id"].as_str().expect("auth_id");
        let response = self
            .authenticate(json!({
                "auth_id": auth_id,
                "input": {"username": username, "password": password}
            }))
            .await;
        assert_eq!(response.status(), 200, "login of {username} should succeed");
        let body: Value = response.json().await.expect("json");
        body["session_token"].as_str().expect("token").to_owned()
    }

    /// `GET /api/session` with the token in `X-Session-Token`.
    pub async fn get_session(&self, token: &str) -> Response {
        self.api
            .get(self.url("/api/session"))
            .header("X-Session-Token", token)
            .send()
            .await
            .expect("request")
    }

    /// `POST /api/sessions/validate`; returns the JSON answer.
    pub async fn validate(&self, token: &str) -> Value {
        let response = self
            .api
            .post(self.url("/api/sessions/validate"))
            .json(&json!({ "token": token }))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        response.json().await.expect("json")
    }

    /// `POST /api/logout` with the token in `X-Session-Token`.
    pub async fn logout_rest(&self, token: &str) -> Response {
        self.api
            .post(self.url("/api/logout"))
            .header("X-Session-Token", token)
            .send()
            .await
            .expect("request")
    }

    /// `POST /api/authenticate?journey=NAME` as a device with this user
    /// agent; returns the JSON answer, whatever its status.
    pub async fn authenticate_from(&self, journey: &str, user_agent: &str, body: Value) -> Value {
        self.api
            .post(self.url(&format!("/api/authenticate?journey={journey}")))
            .header("user-agent", user_agent)
            .json(&body)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json")
    }

    /// `GET /api/push` with the token in `X-Session-Token`; returns the
    /// pending requests.
    pub async fn push_requests(&self, token: &str) -> Vec<Value> {
        let response = self
            .api
            .get(self.url("/api/push"))
            .header("X-Session-Token", token)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        body["requests"].as_array().expect("requests").clone()
    }

    /// `POST /api/push/{id}` with `answer` and the token in
    /// `X-Session-Token`.
    pub async fn answer_push(&self, token: &str, id: &str, answer: Value) -> Response {
        self.api
            .post(self.url(&format!("/api/push/{id}")))
            .header("X-Session-Token", token)
            .json(&answer)
            .send()
            .await
            .expect("request")
    }

    /// `GET /login/poll` with a browser; returns `answered`.
    pub async fn poll(&self, browser: &Client) -> bool {
        let response = browser
            .get(self.url("/login/poll"))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        body["answered"].as_bool().expect("answered")
    }

    /// `GET` a page with the browser client.
    pub async fn get_page(&self, path: &str) -> Response {
        self.browser
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    /// `POST` a form with the browser client.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.browser
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// Submits the form on `html` (its action and CSRF token) with `fields`.
    pub async fn submit_form(&self, html: &str, fields: &[(&str, &str)]) -> Response {
        self.submit_form_from(&self.browser, html, fields).await
    }

    /// Submits the form on `html` with `fields` from another browser.
    pub async fn submit_form_from(
        &self,
        browser: &reqwest::Client,
        html: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        let csrf = csrf_token(html);
        let mut form = vec![("csrf_token", csrf.as_str())];
        form.extend_from_slice(fields);
        browser
            .post(self.url(&form_action(html)))
            .form(&form)
            .send()
            .await
            .expect("request")
    }

    /// Opens `/login{query}` in `app.browser`, fills the credentials and
    /// submits them.
    pub async fn login_html(&self, query: &str, user: (&str, &str)) -> Response {
        self.login_html_in(&self.browser, query, user).await
    }

    /// Opens `/login{query}` in `browser`, fills the credentials and submits
    /// them; returns the answer to the credentials.
    pub async fn login_html_in(
        &self,
        browser: &Client,
        query: &str,
        (username, password): (&str, &str),
    ) -> Response {
        let page = browser
            .get(self.url(&format!("/login{query}")))
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("html");
        browser
            .post(self.url(&form_action(&page)))
            .form(&[
                ("csrf_token", csrf_token(&page).as_str()),
                ("username", username),
                ("password", password),
            ])
            .send()
            .await
            .expect("request")
    }
}

/// A push answer that approves, picking `number`.
pub fn approve_with(number: u64) -> Value {
    json!({"decision": "approve", "number": number})
}

/// The number a REST `push_approval` step shows.
pub fn shown_number(step: &Value) -> u64 {
    step["display"]
        .as_array()
        .and_then(|items| items.iter().find(|item| item["kind"] == "match_number"))
        .and_then(|item| item["number"].as_u64())
        .unwrap_or_else(|| panic!("a number to match in {step}"))
}
