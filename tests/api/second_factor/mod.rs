//! Recovery codes and the second factor on /account: the `recovery_code`
//! node, the `totp` node's switch to a recovery code, and adding,
//! replacing and removing an authenticator app and making new codes on the
//! account page, with the proofs each needs.

mod account;
mod node;

use crate::helpers::{ALICE, TestApp, csrf_token, spawn_app_with};
use crate::totp::{JOURNEYS, after_password, code_at, scan, submit_code};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tessera::audit::{Entry, Query};
use totp_rs::{Algorithm, Builder, Secret, Totp};

/// The TOTP test journeys, and `rescue`: the password, then a recovery
/// code; a user without one goes to enrollment.
fn journeys() -> String {
    format!(
        r#"{JOURNEYS}
[journeys.rescue]
start = "password"
[journeys.rescue.nodes.password]
type = "username_password"
next = {{ success = "recovery", failure = "failure" }}
[journeys.rescue.nodes.recovery]
type = "recovery_code"
next = {{ success = "success", failure = "failure", not_enrolled = "enroll" }}
[journeys.rescue.nodes.enroll]
type = "totp_enroll"
next = {{ success = "success", failure = "failure" }}
"#
    )
}

async fn spawn() -> TestApp {
    spawn_app_with(&journeys()).await
}

/// A browser signed in with a session token: it sends the cookie.
struct Browser<'a> {
    app: &'a TestApp,
    token: String,
}

impl<'a> Browser<'a> {
    /// Alice, signed in just now with her password.
    async fn alice(app: &'a TestApp) -> Self {
        Self {
            token: app.login_rest(ALICE).await,
            app,
        }
    }

    /// Alice, signed in just now through `secure` with an app she enrolls
    /// there.
    async fn with_app(app: &'a TestApp) -> (Self, Totp) {
        let step = after_password(app, "secure").await;
        let phone = scan(&step);
        let (_, done) = submit_code(app, "secure", &step, &code_at(&phone, app.clock_now())).await;
        let token = done["session_token"].as_str().expect("token").to_owned();
        (Self { app, token }, phone)
    }

    async fn account(&self) -> String {
        self.page("/account").await
    }

    /// A page of the account's, as HTML.
    async fn page(&self, path: &str) -> String {
        let page = self
            .app
            .api
            .get(self.app.url(path))
            .header("cookie", format!("tessera_session={}", self.token))
            .send()
            .await
            .expect("request");
        assert_eq!(page.status(), StatusCode::OK);
        page.text().await.expect("html")
    }

    /// Posts `form` to `path` with the account page's CSRF token.
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        let csrf = csrf_token(&self.account().await);
        let mut fields = vec![("csrf_token", csrf.as_str())];
        fields.extend_from_slice(form);
        self.post_raw(path, &fields).await
    }

    /// Posts `form` as it is, CSRF token or not.
    async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.app
            .api
            .post(self.app.url(path))
            .header("cookie", format!("tessera_session={}", self.token))
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// A new set of recovery codes, proven by `code` (empty: a recent
    /// sign-in), read from the page that shows them.
    async fn new_codes(&self, code: &str) -> Vec<String> {
        let page = self
            .post("/account/recovery-codes", &[("code", code)])
            .await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()["cache-control"], "no-store");
        codes_on(&page.text().await.expect("html"))
    }
}

/// The recovery codes a page shows.
fn codes_on(html: &str) -> Vec<String> {
    let start = html.find(r#"<ol class="recovery-codes">"#).expect("codes");
    let list = &html[start..start + html[start..].find("</ol>").expect("end")];
    let codes: Vec<String> = list
        .split(r#"<code class="secret">"#)
        .skip(1)
        .map(|item| item[..item.find('<').expect("end of code")].to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "{list}");
    codes
}

/// The app a person sets up from the key on an account set-up page.
fn app_from_page(html: &str) -> Totp {
    let marker = r#"<code class="secret">"#;
    let start = html.find(marker).expect("the key on the page") + marker.len();
    let end = start + html[start..].find('<').expect("end of key");
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_secret(Secret::try_from_base32(&html[start..end]).expect("base32"))
        .build()
        .expect("a valid TOTP")
}

/// The value of the page's hidden `ticket` input.
fn ticket_on(html: &str) -> String {
    crate::helpers::input_value(html, "ticket")
}

/// Submits a recovery code to a REST step; returns status and body.
async fn submit_recovery_code(app: &TestApp, step: &Value, code: &str) -> (u16, Value) {
    app.submit(&step["auth_id"], json!({"recovery_code": code}))
        .await
}

/// The audit log's events of a type, newest first.
fn events(app: &TestApp, kind: &str) -> Vec<Entry> {
    let query = Query {
        kind: Some(kind.into()),
        ..Query::default()
    };
    tessera::audit::query(&app.ctx, &query)
        .expect("audit")
        .items
}
