//! The device authorization grant (RFC 8628) over HTTP: a device asks for
//! codes, the user signs in at `/device`, confirms the device on the
//! consent page, and the device polls the token endpoint, which answers
//! each RFC 8628 §3.5 error in turn; the `oauth2` crate's device flow runs
//! against it too.

use crate::helpers::dpop::{DpopKey, ProofClaims, claims_of};
use crate::helpers::oauth::{Cred, assert_error, http, post_as, sign_in, text, token};
use crate::helpers::oidc::verify_offline;
use crate::helpers::{ALICE, TestApp, csrf_token, form_action, input_value, location};
use crate::helpers::{html::hidden_fields, spawn_app_with};
use jsonwebtoken::Algorithm;
use oauth2::basic::BasicClient;
use oauth2::{
    ClientId, DeviceAuthorizationUrl, Scope, StandardDeviceAuthorizationResponse, TokenResponse,
    TokenUrl,
};
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use time::Duration;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const TV: Cred = Cred::Public("tv");
const CONSOLE_SECRET: &str = "console-secret-that-is-long-enough-012345";
const CONSOLE: Cred = Cred::Basic("console", CONSOLE_SECRET);
const ROOT: (&str, &str) = ("root", "root password that is long enough");

/// `tv` (public) and `console` (confidential) may use the device grant;
/// `web` may not; `vault` requires its own journey, `secure` (a password
/// step, standing for a stronger journey).
fn config() -> String {
    format!(
        r#"
[journeys.secure]
start = "password"
[journeys.secure.nodes.password]
type = "username_password"
next = {{ success = "success", failure = "failure" }}

[oauth.scopes]
"notes:read" = "Read your notes"

[[clients]]
client_id = "tv"
name = "Living Room TV"
scopes = ["openid", "profile", "notes:read", "offline_access"]
grant_types = ["{DEVICE_GRANT}", "refresh_token"]

[[clients]]
client_id = "console"
name = "Game Console"
client_secret = "{CONSOLE_SECRET}"
scopes = ["notes:read"]
grant_types = ["{DEVICE_GRANT}"]

[[clients]]
client_id = "vault"
scopes = ["notes:read"]
grant_types = ["{DEVICE_GRANT}"]
journey = "secure"

[[clients]]
client_id = "web"
client_secret = "web-secret-that-is-long-enough-0123456789"
redirect_uris = ["https://web.example.com/callback"]
scopes = ["openid", "notes:read"]

[[users]]
username = "{}"
password = "{}"
admin = true
"#,
        ROOT.0, ROOT.1
    )
}

async fn spawn() -> TestApp {
    spawn_app_with(&config()).await
}

/// `POST /oauth2/device_authorization` as `cred` for `scope`.
async fn device_authorization(app: &TestApp, cred: Cred, scope: &str) -> (StatusCode, Value) {
    let response = post_as(
        app,
        "/oauth2/device_authorization",
        cred,
        &[("scope", scope)],
    )
    .await;
    let status = response.status();
    (status, response.json().await.expect("json"))
}

/// Codes for `tv`, which must be given.
async fn codes(app: &TestApp) -> Value {
    let (status, body) = device_authorization(app, TV, "openid notes:read offline_access").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// One poll of the token endpoint with `device_code`.
async fn poll(app: &TestApp, cred: Cred, device_code: &str) -> (StatusCode, Value) {
    token(
        app,
        cred,
        &[("grant_type", DEVICE_GRANT), ("device_code", device_code)],
    )
    .await
}

/// Opens `/device?user_code=…` in alice's signed-in browser and submits
/// the code as the form shows it.
async fn enter_code(app: &TestApp, user_code: &str) -> Response {
    let page = app
        .get_page(&format!("/device?user_code={user_code}"))
        .await
        .text()
        .await
        .expect("html");
    app.submit_form(&page, &[("user_code", &input_value(&page, "user_code"))])
        .await
}

/// Submits the device's consent page with `decision`.
async fn decide(app: &TestApp, browser: &Client, page: &str, decision: &str) -> Response {
    let mut form = hidden_fields(page);
    form.push(("decision".into(), decision.into()));
    browser
        .post(app.url(&form_action(page)))
        .form(&form)
        .send()
        .await
        .expect("request")
}

/// Alice, signed in, enters the code and decides.
async fn approve(app: &TestApp, user_code: &str, decision: &str) -> String {
    let confirm = enter_code(app, user_code).await;
    assert_eq!(confirm.status(), StatusCode::OK);
    let page = confirm.text().await.expect("html");
    let done = decide(app, &app.browser, &page, decision).await;
    assert_eq!(done.status(), StatusCode::OK);
    done.text().await.expect("html")
}

#[tokio::test]
async fn a_device_is_signed_in_through_the_verification_page_and_gets_its_tokens_once() {
    let app = spawn().await;
    let response = post_as(
        &app,
        "/oauth2/device_authorization",
        TV,
        &[("scope", "openid notes:read offline_access")],
    )
    .await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    let codes: Value = response.json().await.expect("json");
    let user_code = text(&codes, "user_code");
    let device_code = text(&codes, "device_code");
    // RFC 8628 §6.1: eight unambiguous letters in two groups.
    assert_eq!(user_code.len(), 9, "{user_code}");
    assert!(
        user_code
            .chars()
            .all(|c| c == '-' || "BCDFGHJKLMNPQRSTVWXZ".contains(c)),
        "{user_code}"
    );
    assert!(device_code.len() >= 43, "256 bits: {device_code}");
    assert_eq!(codes["verification_uri"], app.url("/device"));
    assert_eq!(codes["expires_in"], 600);
    assert_eq!(codes["interval"], 5);
    let complete = text(&codes, "verification_uri_complete");
    assert_eq!(complete, app.url(&format!("/device?user_code={user_code}")));

    assert_error(
        &poll(&app, TV, &device_code).await,
        StatusCode::BAD_REQUEST,
        "authorization_pending",
    );

    // No session: through the login journey and back to the page.
    let first = app.browser.get(&complete).send().await.expect("request");
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let login = location(&first);
    assert!(login.starts_with("/login?goto="), "{login}");
    let signed_in = app.login_html(&login["/login".len()..], ALICE).await;
    let back = location(&signed_in);
    assert!(back.contains("/device?user_code="), "{back}");
    let page = app
        .browser
        .get(app.url(&back.replace(&app.address, "")))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("html");
    assert_eq!(input_value(&page, "user_code"), user_code, "filled in");

    // Typed in lower case and without the dash, the code still finds it.
    let typed = user_code.replace('-', "").to_lowercase();
    let confirm = app.submit_form(&page, &[("user_code", &typed)]).await;
    assert_eq!(confirm.status(), StatusCode::OK);
    let consent = confirm.text().await.expect("html");
    assert!(consent.contains("Living Room TV"), "{consent}");
    assert!(
        consent.contains(&user_code),
        "the code to compare: {consent}"
    );
    assert!(consent.contains(r#"action="/device""#), "{consent}");
    assert!(consent.contains("Read your notes"), "{consent}");
    let done = decide(&app, &app.browser, &consent, "allow").await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.expect("html").contains("signed in"));

    app.clock.advance(Duration::seconds(5));
    let (status, tokens) = poll(&app, TV, &device_code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "notes:read offline_access openid");
    assert!(tokens["refresh_token"].is_string(), "tv may refresh");
    assert!(tokens["id_token"].is_string(), "openid was granted");
    let claims = verify_offline(&app, &text(&tokens, "access_token"), "tv", Algorithm::RS256)
        .await
        .expect("the token verifies offline");
    assert_eq!(claims["client_id"], "tv");

    // Exactly once: the next poll finds the code spent.
    app.clock.advance(Duration::seconds(5));
    assert_error(
        &poll(&app, TV, &device_code).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    // The refresh token works as any other.
    let (status, refreshed) = token(
        &app,
        TV,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &text(&tokens, "refresh_token")),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
}

#[tokio::test]
async fn polling_faster_than_the_interval_is_told_to_slow_down_and_the_interval_grows() {
    let app = spawn().await;
    let device_code = text(&codes(&app).await, "device_code");
    let pending = |answer: &(StatusCode, Value)| {
        assert_error(answer, StatusCode::BAD_REQUEST, "authorization_pending")
    };
    let slow_down =
        |answer: &(StatusCode, Value)| assert_error(answer, StatusCode::BAD_REQUEST, "slow_down");
    pending(&poll(&app, TV, &device_code).await);
    slow_down(&poll(&app, TV, &device_code).await);
    // The interval is 10 seconds now: 5 later is still too soon (and 15 now).
    app.clock.advance(Duration::seconds(5));
    slow_down(&poll(&app, TV, &device_code).await);
    app.clock.advance(Duration::seconds(14));
    slow_down(&poll(&app, TV, &device_code).await);
    app.clock.advance(Duration::seconds(20));
    pending(&poll(&app, TV, &device_code).await);
}

#[tokio::test]
async fn a_denied_device_hears_access_denied_and_gets_nothing() {
    let app = spawn().await;
    let codes = codes(&app).await;
    sign_in(&app, ALICE).await;
    let done = approve(&app, &text(&codes, "user_code"), "deny").await;
    assert!(done.contains("not signed in"), "{done}");
    let device_code = text(&codes, "device_code");
    assert_error(
        &poll(&app, TV, &device_code).await,
        StatusCode::BAD_REQUEST,
        "access_denied",
    );
    // A decided code is no longer found on the page.
    let again = enter_code(&app, &text(&codes, "user_code")).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);

    let denied = audit_events(&app, "consent.grant").await;
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!(denied[0]["outcome"], "failure");
    assert_eq!(denied[0]["details"]["client"], "tv");
    assert_eq!(denied[0]["details"]["reason"], "denied");
}

#[tokio::test]
async fn an_allowed_device_is_audited_as_a_consent_without_its_codes() {
    let app = spawn().await;
    let codes = codes(&app).await;
    sign_in(&app, ALICE).await;
    approve(&app, &text(&codes, "user_code"), "allow").await;
    let granted = audit_events(&app, "consent.grant").await;
    assert_eq!(granted.len(), 1, "{granted:?}");
    assert_eq!(granted[0]["outcome"], "success");
    assert_eq!(granted[0]["actor"], "user:alice");
    assert_eq!(granted[0]["details"]["client"], "tv");
    assert_eq!(
        granted[0]["details"]["scope"],
        "notes:read offline_access openid"
    );
    let log = granted[0].to_string();
    assert!(!log.contains(&text(&codes, "user_code")), "{log}");
    assert!(!log.contains(&text(&codes, "device_code")), "{log}");
}

#[tokio::test]
async fn an_expired_device_code_hears_expired_token_and_its_user_code_is_unknown() {
    let app = spawn().await;
    let codes = codes(&app).await;
    app.clock.advance(Duration::seconds(600));
    assert_error(
        &poll(&app, TV, &text(&codes, "device_code")).await,
        StatusCode::BAD_REQUEST,
        "expired_token",
    );
    sign_in(&app, ALICE).await;
    let late = enter_code(&app, &text(&codes, "user_code")).await;
    assert_eq!(late.status(), StatusCode::BAD_REQUEST);
    assert!(late.text().await.expect("html").contains("expired"));
}

#[tokio::test]
async fn unknown_device_codes_and_those_of_another_client_are_invalid_grants() {
    let app = spawn().await;
    let device_code = text(&codes(&app).await, "device_code");
    assert_error(
        &poll(&app, TV, "not-a-device-code").await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert_error(
        &poll(&app, CONSOLE, &device_code).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert_error(
        &token(&app, TV, &[("grant_type", DEVICE_GRANT)]).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
}

#[tokio::test]
async fn clients_without_the_grant_or_asking_for_other_scopes_are_refused() {
    let app = spawn().await;
    let web = Cred::Basic("web", "web-secret-that-is-long-enough-0123456789");
    let refused = device_authorization(&app, web, "notes:read").await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "unauthorized_client");
    assert_error(
        &poll(&app, web, "anything").await,
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
    );
    assert_error(
        &device_authorization(&app, CONSOLE, "openid").await,
        StatusCode::BAD_REQUEST,
        "invalid_scope",
    );
    assert_error(
        &device_authorization(&app, CONSOLE, "").await,
        StatusCode::BAD_REQUEST,
        "invalid_scope",
    );
    let wrong_secret = Cred::Basic("console", "not-the-secret");
    let (status, body) = device_authorization(&app, wrong_secret, "notes:read").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");
    // A confidential client authenticates, and polls, with its secret.
    let (status, codes) = device_authorization(&app, CONSOLE, "notes:read").await;
    assert_eq!(status, StatusCode::OK, "{codes}");
    assert_error(
        &poll(&app, CONSOLE, &text(&codes, "device_code")).await,
        StatusCode::BAD_REQUEST,
        "authorization_pending",
    );
}

#[tokio::test]
async fn wrong_user_codes_are_throttled_and_then_even_the_right_one_is_refused() {
    let app = spawn().await;
    let codes = codes(&app).await;
    sign_in(&app, ALICE).await;
    // The sign-in lockout's limit (5 by default) counts wrong codes too.
    for wrong in ["BCDF-GHJK", "ZZZZ-ZZZZ", "not a code", "", "BCDF-GHJL"] {
        let refused = enter_code(&app, wrong).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{wrong}");
    }
    let locked = enter_code(&app, &text(&codes, "user_code")).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.headers().contains_key("retry-after"));
    assert!(
        !locked
            .text()
            .await
            .expect("html")
            .contains("Living Room TV")
    );
    // Once the lock is over (and the first code expired), a right code works.
    app.clock.advance(Duration::minutes(16));
    let fresh = self::codes(&app).await;
    assert_eq!(
        enter_code(&app, &text(&fresh, "user_code")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_decision_needs_the_form_token_and_a_known_code() {
    let app = spawn().await;
    let codes = codes(&app).await;
    sign_in(&app, ALICE).await;
    let user_code = text(&codes, "user_code");
    let forged = app
        .post_form(
            "/device",
            &[("user_code", user_code.as_str()), ("decision", "allow")],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let page = app.get_page("/device").await.text().await.expect("html");
    let guessed = app
        .post_form(
            "/device",
            &[
                ("csrf_token", &csrf_token(&page)),
                ("user_code", "BCDF-GHJK"),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(guessed.status(), StatusCode::BAD_REQUEST);
    assert_error(
        &poll(&app, TV, &text(&codes, "device_code")).await,
        StatusCode::BAD_REQUEST,
        "authorization_pending",
    );
}

#[tokio::test]
async fn a_client_that_requires_its_journey_sends_a_weaker_session_to_sign_in_with_it() {
    let app = spawn().await;
    let (status, codes) = device_authorization(&app, Cred::Public("vault"), "notes:read").await;
    assert_eq!(status, StatusCode::OK, "{codes}");
    let user_code = text(&codes, "user_code");
    sign_in(&app, ALICE).await;
    let refused = enter_code(&app, &user_code).await;
    assert_eq!(refused.status(), StatusCode::SEE_OTHER);
    let login = location(&refused);
    assert!(login.starts_with("/login?journey=secure&goto="), "{login}");
    let signed_in = app.login_html(&login["/login".len()..], ALICE).await;
    let back = location(&signed_in);
    assert!(back.contains("/device?user_code="), "{back}");
    // The session of the client's journey passes; the code is still good.
    let confirm = enter_code(&app, &user_code).await;
    assert_eq!(confirm.status(), StatusCode::OK);
    assert!(confirm.text().await.expect("html").contains("vault"));
}

#[tokio::test]
async fn discovery_advertises_the_device_endpoint_and_grant() {
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
            metadata["device_authorization_endpoint"],
            app.url("/oauth2/device_authorization"),
            "{path}"
        );
        let grants = metadata["grant_types_supported"].to_string();
        assert!(grants.contains(DEVICE_GRANT), "{path}: {grants}");
    }
}

#[tokio::test]
async fn the_oauth2_crate_signs_a_device_in_by_polling() {
    let app = spawn().await;
    sign_in(&app, ALICE).await;
    let client = BasicClient::new(ClientId::new("tv".into()))
        .set_auth_type(oauth2::AuthType::RequestBody)
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(app.url("/oauth2/device_authorization")).expect("url"),
        )
        .set_token_uri(TokenUrl::new(app.url("/oauth2/token")).expect("url"));
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("notes:read".into()))
        .request_async(&http)
        .await
        .expect("device authorization");
    let user_code = details.user_code().secret().clone();
    assert_eq!(
        details.verification_uri().as_str(),
        app.url("/device").as_str()
    );

    // The crate polls, then sleeps the interval: the first sleep is where
    // the user approves; every sleep moves the server's clock instead of
    // waiting.
    let approved = AtomicBool::new(false);
    let tokens = client
        .exchange_device_access_token(&details)
        .request_async(
            &http,
            |wait| {
                let (app, approved, user_code) = (&app, &approved, &user_code);
                async move {
                    if !approved.swap(true, Ordering::SeqCst) {
                        approve(app, user_code, "allow").await;
                    }
                    app.clock
                        .advance(Duration::try_from(wait).expect("a short wait"));
                }
            },
            None,
        )
        .await
        .expect("tokens after polling");
    assert!(approved.load(Ordering::SeqCst), "it polled before approval");
    let claims = verify_offline(&app, tokens.access_token().secret(), "tv", Algorithm::RS256)
        .await
        .expect("the token verifies offline");
    assert_eq!(claims["scope"], "notes:read");
}

/// The audit log's events of `kind`, newest first, as root reads them.
async fn audit_events(app: &TestApp, kind: &str) -> Vec<Value> {
    let root = app.login_rest(ROOT).await;
    let page: Value = app
        .api
        .get(app.url(&format!("/admin/api/audit?type={kind}")))
        .header("X-Session-Token", root)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    page["items"].as_array().expect("items").clone()
}

/// `POST /oauth2/token` as `tv` with a DPoP proof of `key` (RFC 9449).
async fn token_with_proof(
    app: &TestApp,
    key: &DpopKey,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let url = app.url("/oauth2/token");
    let proof = key.proof(&ProofClaims::new(
        "POST",
        &url,
        app.clock_now().unix_timestamp(),
    ));
    let mut form = form.to_vec();
    form.push(("client_id", "tv"));
    let response = app
        .api
        .post(url)
        .header("DPoP", proof)
        .form(&form)
        .send()
        .await
        .expect("request");
    (response.status(), response.json().await.expect("json"))
}

#[tokio::test]
async fn a_device_polling_with_a_dpop_proof_gets_tokens_bound_to_its_key() {
    let app = spawn().await;
    sign_in(&app, ALICE).await;
    let codes = codes(&app).await;
    approve(&app, &text(&codes, "user_code"), "allow").await;
    let key = DpopKey::es256();
    let device_code = text(&codes, "device_code");
    let (status, body) = token_with_proof(
        &app,
        &key,
        &[("grant_type", DEVICE_GRANT), ("device_code", &device_code)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(
        claims_of(&text(&body, "access_token"))["cnf"]["jkt"],
        key.thumbprint()
    );
    // tv is a public client: its refresh token needs the same key.
    let refresh = text(&body, "refresh_token");
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ];
    let stolen = token_with_proof(&app, &DpopKey::es256(), &form).await;
    assert_error(&stolen, StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    let (status, body) = token_with_proof(&app, &key, &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
