//! The OAuth client's side of the protocol, spoken by hand: authorization
//! requests with PKCE, the browser through login and consent, the token
//! endpoint, introspection; and the HTTP adapter the client crates
//! (`oauth2`, `openidconnect`) run on.

use super::TestApp;
use super::html::hidden_fields;
use super::http::{location, session_cookie};
use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use url::Url;

/// oauth2's HTTP client interface, on our reqwest (also openidconnect's,
/// which re-exports oauth2's request and response types).
pub async fn http(request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let mut built = oauth2::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        built = built.header(name, value);
    }
    Ok(built
        .body(response.bytes().await?.to_vec())
        .expect("a response from parts"))
}

/// Signs `user` in on `app.browser`'s login page; returns the session token
/// its cookie carries.
pub async fn sign_in(app: &TestApp, user: (&str, &str)) -> String {
    let response = app.login_html("", user).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "signed in");
    session_cookie(&response)
}

/// How a client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy)]
pub enum Cred {
    /// A public client: `client_id` in the body, no secret.
    Public(&'static str),
    /// `client_secret_basic`.
    Basic(&'static str, &'static str),
}
/// 256 fresh bits, base64url: a PKCE verifier, a state, a nonce.
pub fn fresh() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    URL_SAFE_NO_PAD.encode(digest(
        &SHA256,
        format!("{n}:{nanos}:{}", std::process::id()).as_bytes(),
    ))
}

/// RFC 7636 S256.
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()))
}

/// An authorization request with PKCE (S256) and a fresh state.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub params: Vec<(String, String)>,
    pub verifier: String,
    pub state: String,
    pub redirect_uri: String,
}

impl AuthRequest {
    pub fn new(client_id: &str, redirect_uri: &str, scope: &str) -> Self {
        let verifier = fresh();
        let state = fresh();
        let params = [
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("response_type", "code"),
            ("scope", scope),
            ("state", &state),
            ("code_challenge", &challenge_of(&verifier)),
            ("code_challenge_method", "S256"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
        Self {
            params,
            verifier,
            state,
            redirect_uri: redirect_uri.to_owned(),
        }
    }

    /// The same request with `name` set to `value` (the redirect URI the
    /// callback is expected at does not change).
    pub fn set(mut self, name: &str, value: &str) -> Self {
        self = self.without(name);
        self.params.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn without(mut self, name: &str) -> Self {
        self.params.retain(|(n, _)| n != name);
        self
    }
}

/// `GET /oauth2/authorize` with `browser`.
pub async fn send_authorize(app: &TestApp, browser: &Client, request: &AuthRequest) -> Response {
    browser
        .get(app.url("/oauth2/authorize"))
        .query(&request.params)
        .send()
        .await
        .expect("request")
}

/// The parameters of a 303 back to exactly `redirect_uri` (scheme, host,
/// port and path).
pub fn callback(response: &Response, redirect_uri: &str) -> BTreeMap<String, String> {
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "a 303 back to the client"
    );
    let location = location(response);
    let url = Url::parse(&location).unwrap_or_else(|err| panic!("Location `{location}`: {err}"));
    let expected = Url::parse(redirect_uri).expect("redirect URI");
    assert_eq!(
        &url[..url::Position::AfterPath],
        &expected[..url::Position::AfterPath],
        "back to the redirect URI of the request, nowhere else"
    );
    assert_eq!(url.fragment(), None);
    url.query_pairs().into_owned().collect()
}

/// Submits the consent form of `page` with `decision`, its fields as shown.
pub async fn decide(app: &TestApp, browser: &Client, page: &str, decision: &str) -> Response {
    let mut form = hidden_fields(page);
    form.push(("decision".into(), decision.into()));
    post_consent(app, browser, &form).await
}

pub async fn post_consent(app: &TestApp, browser: &Client, form: &[(String, String)]) -> Response {
    browser
        .post(app.url("/oauth2/consent"))
        .form(form)
        .send()
        .await
        .expect("request")
}

/// Whether a page is tessera's consent form.
pub fn is_consent_page(html: &str) -> bool {
    html.contains(r#"action="/oauth2/consent""#)
        && html.contains(r#"name="decision" value="allow""#)
        && html.contains(r#"name="decision" value="deny""#)
}

/// Runs `request` in a signed-in `browser`, allowing consent if asked;
/// checks that the callback carries the request's `state` and the issuer,
/// and returns its parameters.
pub async fn authorize_in(
    app: &TestApp,
    browser: &Client,
    request: &AuthRequest,
) -> BTreeMap<String, String> {
    let mut response = send_authorize(app, browser, request).await;
    if response.status() == StatusCode::OK {
        let page = response.text().await.expect("html");
        assert!(is_consent_page(&page), "a consent page: {page}");
        response = decide(app, browser, &page, "allow").await;
    }
    let params = callback(&response, &request.redirect_uri);
    assert_eq!(params.get("error"), None, "{params:?}");
    assert_eq!(
        params.get("state"),
        Some(&request.state),
        "state comes back"
    );
    assert_eq!(params.get("iss"), Some(&app.address), "iss is the issuer");
    params
}

/// Follows an authorization URL in the signed-in `app.browser`, allowing
/// consent if asked; returns the query of the final redirect to the client.
pub async fn authorize_in_browser(app: &TestApp, url: &str) -> HashMap<String, String> {
    let mut response = app.browser.get(url).send().await.expect("request");
    if response.status() == StatusCode::OK {
        let page = response.text().await.expect("consent page");
        assert!(is_consent_page(&page), "a consent page: {page}");
        response = decide(app, &app.browser, &page, "allow").await;
    }
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "a redirect back to the client"
    );
    let back = Url::parse(&location(&response)).expect("redirect URL");
    back.query_pairs().into_owned().collect()
}

/// A code for `request` from alice's browser.
pub async fn authorize(app: &TestApp, request: &AuthRequest) -> String {
    authorize_in(app, &app.browser, request).await["code"].clone()
}

/// `POST` a form to an OAuth endpoint, authenticated as `cred`.
pub async fn post_as(app: &TestApp, path: &str, cred: Cred, form: &[(&str, &str)]) -> Response {
    let mut form = form.to_vec();
    let mut request = app.api.post(app.url(path));
    match cred {
        Cred::Public(id) => form.push(("client_id", id)),
        Cred::Basic(id, secret) => request = request.basic_auth(id, Some(secret)),
    }
    request.form(&form).send().await.expect("request")
}

/// `POST /oauth2/token`; the status and the JSON answer.
pub async fn token(app: &TestApp, cred: Cred, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = post_as(app, "/oauth2/token", cred, form).await;
    let status = response.status();
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store"),
        "token responses are never cached"
    );
    (status, response.json().await.expect("json"))
}

/// Redeems `code` as the client of `request` would: its redirect URI and
/// its verifier.
pub async fn redeem(
    app: &TestApp,
    cred: Cred,
    code: &str,
    request: &AuthRequest,
) -> (StatusCode, Value) {
    token(
        app,
        cred,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &request.redirect_uri),
            ("code_verifier", &request.verifier),
        ],
    )
    .await
}

pub async fn refresh(app: &TestApp, cred: Cred, refresh_token: &str) -> (StatusCode, Value) {
    token(
        app,
        cred,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// Tokens for `request` (which must succeed): access and refresh token.
pub async fn tokens_for(app: &TestApp, cred: Cred, request: &AuthRequest) -> (String, String) {
    let code = authorize(app, request).await;
    let (status, body) = redeem(app, cred, &code, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (text(&body, "access_token"), text(&body, "refresh_token"))
}

pub fn text(body: &Value, key: &str) -> String {
    body[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` in {body}"))
        .to_owned()
}

/// An RFC 6749 §5.2 error answer.
#[track_caller]
pub fn assert_error(answer: &(StatusCode, Value), status: StatusCode, error: &str) {
    let (got, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    assert!(body.get("access_token").is_none(), "{body}");
}

/// RFC 7662 introspection by `cred` (a resource server, or the client a
/// token was issued to: a refresh token concerns only that client).
pub async fn introspect(app: &TestApp, cred: Cred, token: &str) -> Value {
    let response = post_as(app, "/oauth2/introspect", cred, &[("token", token)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

/// Whether introspection by `cred` says `token` is active.
pub async fn is_active(app: &TestApp, cred: Cred, token: &str) -> bool {
    introspect(app, cred, token).await["active"]
        .as_bool()
        .expect("`active`")
}
