//! Passkeys over HTTP: added on /account after a step-up, listed, renamed
//! and removed there, and used by the `passkey` journey node as a first
//! factor (HTML and REST) and as a second factor, with a software
//! authenticator ([`authenticator`]); and with webauthn-rs's own soft
//! passkey, which cannot keep resident keys, as a second factor.

mod authenticator;

use crate::helpers::{ALICE, BOB, TestApp, csrf_token, location, spawn_app_with};
use authenticator::SoftPasskey;
use serde_json::{Value, json};
use tessera::secret::Token;
use time::Duration;

/// The test servers' relying party (their issuer is on 127.0.0.1, which
/// WebAuthn refuses), and journeys with the node first and second.
const CONFIG: &str = r#"
[passkeys]
rp_id = "localhost"
origins = ["http://localhost:8080"]  # authenticator::ORIGIN

[journeys.passkey]
start = "key"
[journeys.passkey.nodes.key]
type = "passkey"
next = { success = "success", failure = "failure", not_enrolled = "failure" }

[journeys.second]
start = "password"
[journeys.second.nodes.password]
type = "username_password"
next = { success = "key", failure = "failure" }
[journeys.second.nodes.key]
type = "passkey"
next = { success = "success", failure = "failure", not_enrolled = "success" }
"#;

async fn spawn() -> TestApp {
    spawn_app_with(CONFIG).await
}

/// The account page in the app's browser.
async fn account(app: &TestApp) -> String {
    app.get_page("/account").await.text().await.unwrap()
}

/// Begins a registration from the account page; the response.
async fn begin(app: &TestApp, csrf: &str, name: &str) -> reqwest::Response {
    app.post_form(
        "/account/passkeys/begin",
        &[("csrf_token", csrf), ("name", name)],
    )
    .await
}

/// Signs alice in (HTML) and adds a passkey named `name`.
async fn register(app: &TestApp, name: &str) -> SoftPasskey {
    let signed_in = app.login_html("", ALICE).await;
    assert_eq!(signed_in.status(), 303);
    let csrf = csrf_token(&account(app).await);
    let begun = begin(app, &csrf, name).await;
    assert_eq!(begun.status(), 200);
    let options: Value = begun.json().await.unwrap();
    let (passkey, answer) = SoftPasskey::create(&options);
    let finished = app
        .post_form(
            "/account/passkeys/finish",
            &[("csrf_token", &csrf), ("credential", &answer)],
        )
        .await;
    assert_eq!(finished.status(), 303, "{}", finished.text().await.unwrap());
    passkey
}

/// The REST step's `assertion` field.
fn assertion_field(step: &Value) -> &Value {
    let field = &step["fields"][0];
    assert_eq!(field["name"], "assertion", "{step}");
    assert_eq!(field["kind"], "webauthn");
    field
}

/// Signs in over REST with the `passkey` journey; the final status and body.
async fn sign_in_rest(app: &TestApp, passkey: &mut SoftPasskey) -> (u16, Value) {
    let step = app.start_named("passkey").await;
    let answer = passkey.get(&assertion_field(&step)["options"]);
    app.submit_to("passkey", &step["auth_id"], json!({"assertion": answer}))
        .await
}

impl TestApp {
    /// Continues the REST journey `journey` with `input`.
    async fn submit_to(&self, journey: &str, auth_id: &Value, input: Value) -> (u16, Value) {
        let response = self
            .authenticate_journey(journey, json!({"auth_id": auth_id, "input": input}))
            .await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// The methods of the session behind `token`.
    fn amr_of(&self, token: &str) -> Vec<String> {
        let hash = Token::from_presented(token).hash();
        self.ctx
            .store
            .read(|tx| tx.session(&hash))
            .unwrap()
            .expect("session")
            .amr
    }

    fn alice_id(&self) -> String {
        self.ctx
            .store
            .read(|tx| tx.user_by_username("alice"))
            .unwrap()
            .unwrap()
            .id
    }
}

#[tokio::test]
async fn a_passkey_added_after_a_recent_sign_in_is_listed_on_the_account_page() {
    let app = spawn().await;
    let passkey = register(&app, "Work laptop").await;
    let page = account(&app).await;
    assert!(page.contains("Work laptop"), "{page}");
    assert!(page.contains("last used never"), "{page}");
    // The user handle is random, not the username or the user id.
    let handle = String::from_utf8_lossy(&passkey.user_handle).into_owned();
    assert_eq!(passkey.user_handle.len(), 16);
    assert!(!handle.contains("alice"));
    assert_ne!(handle, app.alice_id());
}

#[tokio::test]
async fn adding_a_passkey_needs_a_recent_sign_in() {
    let app = spawn().await;
    app.login_html("", ALICE).await;
    app.clock.advance(Duration::minutes(10));
    let page = account(&app).await;
    assert!(page.contains("sign in again"), "{page}");
    assert!(!page.contains("data-passkey-register"));
    let refused = begin(&app, &csrf_token(&page), "late").await;
    assert_eq!(refused.status(), 403);
    // The page's link signs in again and comes back.
    let link = crate::helpers::html::unescape(&attribute_of_link(&page, "sign in again"));
    assert!(link.starts_with("/login?journey=login&goto="), "{link}");
    let again = app.login_html(&link["/login".len()..], ALICE).await;
    assert_eq!(again.status(), 303);
    let page = account(&app).await;
    assert_eq!(begin(&app, &csrf_token(&page), "now").await.status(), 200);
}

#[tokio::test]
async fn a_registration_not_finished_within_five_minutes_is_refused() {
    let app = spawn_app_with(&format!("{CONFIG}\n[admin]\nreauth_secs = 3600\n")).await;
    app.login_html("", ALICE).await;
    let csrf = csrf_token(&account(&app).await);
    let options: Value = begin(&app, &csrf, "slow").await.json().await.unwrap();
    let (_, answer) = SoftPasskey::create(&options);
    app.clock.advance(Duration::minutes(6));
    let late = app
        .post_form(
            "/account/passkeys/finish",
            &[("csrf_token", &csrf), ("credential", &answer)],
        )
        .await;
    assert_eq!(late.status(), 400);
    assert!(
        app.engine
            .passkeys
            .list(&app.alice_id())
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn adding_a_passkey_needs_the_csrf_token() {
    let app = spawn().await;
    app.login_html("", ALICE).await;
    let refused = begin(&app, "forged", "key").await;
    assert_eq!(refused.status(), 403);
    let without = app
        .post_form("/account/passkeys/begin", &[("name", "key")])
        .await;
    assert_eq!(without.status(), 403);
}

#[tokio::test]
async fn a_registration_is_finished_once_and_only_by_a_valid_answer() {
    let app = spawn().await;
    app.login_html("", ALICE).await;
    let csrf = csrf_token(&account(&app).await);
    let options: Value = begin(&app, &csrf, "key").await.json().await.unwrap();
    let (_, answer) = SoftPasskey::create(&options);
    let garbage = app
        .post_form(
            "/account/passkeys/finish",
            &[("csrf_token", &csrf), ("credential", "{not json")],
        )
        .await;
    assert_eq!(garbage.status(), 400);
    // The begun state was used up by the refused attempt.
    let late = app
        .post_form(
            "/account/passkeys/finish",
            &[("csrf_token", &csrf), ("credential", &answer)],
        )
        .await;
    assert_eq!(late.status(), 400);
    assert!(!account(&app).await.contains("last used never"));
}

#[tokio::test]
async fn a_passkey_is_renamed_and_removed_from_the_account_page() {
    let app = spawn().await;
    let mut passkey = register(&app, "Old name").await;
    let id = app.engine.passkeys.list(&app.alice_id()).unwrap()[0]
        .id
        .clone();
    let csrf = csrf_token(&account(&app).await);
    let renamed = app
        .post_form(
            "/account/passkeys/rename",
            &[
                ("csrf_token", &csrf),
                ("passkey_id", &id),
                ("name", "New name"),
            ],
        )
        .await;
    assert_eq!(location(&renamed), "/account#passkeys");
    let page = account(&app).await;
    assert!(page.contains("New name") && !page.contains("Old name"));
    let forged = app
        .post_form(
            "/account/passkeys/remove",
            &[("csrf_token", "forged"), ("passkey_id", &id)],
        )
        .await;
    assert_eq!(forged.status(), 403);
    let removed = app
        .post_form(
            "/account/passkeys/remove",
            &[("csrf_token", &csrf), ("passkey_id", &id)],
        )
        .await;
    assert_eq!(removed.status(), 303);
    assert!(!account(&app).await.contains("New name"));
    // A removed passkey no longer signs in.
    let (status, body) = sign_in_rest(&app, &mut passkey).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["session_token"].is_null(), "{body}");
    assert!(body["message"].as_str().unwrap().contains("not accepted"));
    let kinds: Vec<String> = app
        .ctx
        .store
        .read(|tx| tx.audit_events(&Default::default(), 100))
        .unwrap()
        .into_iter()
        .map(|entry| entry.event.kind)
        .collect();
    for kind in ["passkey.register", "passkey.rename", "passkey.remove"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
}

#[tokio::test]
async fn a_passkey_signs_in_without_a_username_over_rest_and_keeps_its_counter() {
    let app = spawn().await;
    let mut passkey = register(&app, "key").await;
    let (status, body) = sign_in_rest(&app, &mut passkey).await;
    assert_eq!(status, 200, "{body}");
    let token = body["session_token"].as_str().unwrap();
    let session: Value = app.get_session(token).await.json().await.unwrap();
    assert_eq!(session["user"]["username"], "alice");
    assert_eq!(app.amr_of(token), ["hwk", "user"]);
    let (status, _) = sign_in_rest(&app, &mut passkey).await;
    assert_eq!(status, 200);
    let stored = &app.engine.passkeys.list(&app.alice_id()).unwrap()[0];
    assert_eq!(
        stored.credential["cred"]["counter"], 2,
        "{}",
        stored.credential
    );
    assert!(stored.last_used_at.is_some());
}

#[tokio::test]
async fn a_replayed_or_wrong_assertion_is_refused() {
    let app = spawn().await;
    let mut passkey = register(&app, "key").await;
    let step = app.start_named("passkey").await;
    let options = assertion_field(&step)["options"].clone();
    let answer = passkey.get(&options);
    let (status, _) = app
        .submit_to("passkey", &step["auth_id"], json!({"assertion": answer}))
        .await;
    assert_eq!(status, 200);
    // The same answer in a new journey: another challenge.
    let again = app.start_named("passkey").await;
    let (status, body) = app
        .submit_to("passkey", &again["auth_id"], json!({"assertion": answer}))
        .await;
    assert_eq!(status, 200, "a retry, not the end: {body}");
    assert!(body["session_token"].is_null());
    assert!(body["message"].as_str().unwrap().contains("not accepted"));
    // An old counter for the new challenge: a cloned authenticator.
    passkey.counter = 0;
    let cloned = passkey.get(&assertion_field(&body)["options"]);
    let (status, body) = app
        .submit_to("passkey", &again["auth_id"], json!({"assertion": cloned}))
        .await;
    assert!(body["session_token"].is_null(), "{status} {body}");
    // Not WebAuthn at all.
    let (status, body) = app
        .submit_to("passkey", &again["auth_id"], json!({"assertion": "{}"}))
        .await;
    assert!(body["session_token"].is_null(), "{status} {body}");
}

#[tokio::test]
async fn a_passkey_signs_in_from_the_journey_page() {
    let app = spawn().await;
    let mut passkey = register(&app, "key").await;
    let browser = crate::helpers::new_browser("a second browser");
    let page = browser
        .get(app.url("/login?journey=passkey"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("/static/passkeys.js"), "{page}");
    let options = crate::helpers::html::unescape(&attribute(&page, "data-webauthn"));
    let options: Value = serde_json::from_str(&options).unwrap();
    let answer = passkey.get(&options);
    let done = browser
        .post(app.url(&crate::helpers::form_action(&page)))
        .form(&[
            ("csrf_token", csrf_token(&page).as_str()),
            ("assertion", &answer),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    assert!(location(&done).ends_with("/account"), "{}", location(&done));
}

#[tokio::test]
async fn a_passkey_is_a_second_factor_after_the_password() {
    let app = spawn().await;
    let mut passkey = register(&app, "key").await;
    let step = app.start_named("second").await;
    let (status, step) = app
        .submit_to(
            "second",
            &step["auth_id"],
            json!({"username": ALICE.0, "password": ALICE.1}),
        )
        .await;
    assert_eq!(status, 200);
    let options = &assertion_field(&step)["options"];
    let allowed = &options["publicKey"]["allowCredentials"];
    assert_eq!(allowed.as_array().unwrap().len(), 1, "{options}");
    let answer = passkey.get(options);
    let (status, body) = app
        .submit_to("second", &step["auth_id"], json!({"assertion": answer}))
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["session_token"].as_str().unwrap();
    assert_eq!(app.amr_of(token), ["pwd", "hwk", "user"]);
}

#[tokio::test]
async fn a_user_without_a_passkey_leaves_the_second_factor_by_not_enrolled() {
    let app = spawn().await;
    let step = app.start_named("second").await;
    let (status, body) = app
        .submit_to(
            "second",
            &step["auth_id"],
            json!({"username": BOB.0, "password": BOB.1}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["session_token"]
        .as_str()
        .expect("not_enrolled leads to success");
    assert_eq!(app.amr_of(token), ["pwd"]);
}

#[tokio::test]
async fn another_users_passkey_is_no_second_factor() {
    let app = spawn().await;
    let mut passkey = register(&app, "alice's key").await;
    let step = app.start_named("second").await;
    let (_, step) = app
        .submit_to(
            "second",
            &step["auth_id"],
            json!({"username": BOB.0, "password": BOB.1}),
        )
        .await;
    // Bob has none: the step is skipped, and alice's answer is never asked.
    assert!(step["session_token"].is_string());
    let session_token = step["session_token"].as_str().unwrap();
    assert!(!app.amr_of(session_token).contains(&"hwk".to_owned()));
    let _ = passkey.get(&json!({"publicKey": {"challenge": "AA"}}));
}

#[tokio::test]
async fn a_disabled_users_passkey_does_not_sign_in() {
    let app = spawn().await;
    let mut passkey = register(&app, "key").await;
    let id = app.alice_id();
    app.ctx
        .store
        .write(|tx| {
            let mut user = tx.user(&id)?.unwrap();
            user.disabled = true;
            tx.put_user(&user)
        })
        .unwrap();
    let (status, body) = sign_in_rest(&app, &mut passkey).await;
    assert_eq!(status, 401, "{body}");
}

/// The `href` of the link whose text is `text`.
fn attribute_of_link(html: &str, text: &str) -> String {
    let end = html.find(&format!("\">{text}</a>")).expect(text);
    let start = html[..end].rfind("href=\"").unwrap() + "href=\"".len();
    html[start..end].to_owned()
}

/// The value of the first `name="…"` attribute in `html`.
fn attribute(html: &str, name: &str) -> String {
    let start = html.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn deleting_a_user_deletes_their_passkeys() {
    let app = spawn().await;
    let mut passkey = register(&app, "key").await;
    let id = app.alice_id();
    // Seeded users belong to the config file; let the administration have her.
    app.ctx
        .store
        .write(|tx| {
            let mut user = tx.user(&id)?.unwrap();
            user.managed_by_config = false;
            tx.put_user(&user)
        })
        .unwrap();
    app.engine
        .accounts
        .delete_by_id(&id, &tessera::audit::Caller::cli())
        .unwrap();
    assert_eq!(app.ctx.store.read(|tx| tx.passkeys_of(&id)).unwrap(), None);
    let (_, body) = sign_in_rest(&app, &mut passkey).await;
    assert!(body["session_token"].is_null(), "{body}");
}

#[tokio::test]
async fn an_issuer_on_an_ip_address_cannot_use_passkeys_and_says_so() {
    // No [passkeys]: the relying party would be the issuer's 127.0.0.1.
    let journey_only = CONFIG.split("\n[journeys.passkey]").nth(1).unwrap();
    let app = spawn_app_with(&format!("[journeys.passkey]{journey_only}")).await;
    app.login_html("", ALICE).await;
    let page = account(&app).await;
    assert!(
        page.contains("Passkeys cannot be added on this server"),
        "{page}"
    );
    assert!(page.contains("IP address"), "{page}");
    let csrf = csrf_token(&page);
    assert_eq!(begin(&app, &csrf, "key").await.status(), 409);
    let refused = app.authenticate_journey("passkey", json!({})).await;
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Passkeys cannot be used"),
        "{body}"
    );
}

#[tokio::test]
async fn the_id_token_of_a_passkey_session_names_the_passkey_methods() {
    let app = spawn_app_with(&format!(
        r#"{CONFIG}
[[clients]]
client_id = "app"
redirect_uris = ["http://127.0.0.1/callback"]
scopes = ["openid"]
grant_types = ["authorization_code"]
first_party = true
token_exchange = true
"#
    ))
    .await;
    let mut passkey = register(&app, "key").await;
    let (_, body) = sign_in_rest(&app, &mut passkey).await;
    let session = body["session_token"].as_str().unwrap();
    let response = app
        .api
        .post(app.url("/oauth2/token"))
        .form(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("client_id", "app"),
            ("subject_token", session),
            (
                "subject_token_type",
                "urn:tessera:params:oauth:token-type:session",
            ),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();
    let tokens: Value = response.json().await.unwrap();
    let id_token = tokens["id_token"].as_str().expect("an ID token");
    let payload = id_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["amr"], json!(["hwk", "user"]), "{claims}");
}

/// Begins a registration as the account page's form does, with `code` in
/// the form's code field when given.
async fn begin_with(app: &TestApp, code: Option<&str>) -> reqwest::Response {
    let csrf = csrf_token(&account(app).await);
    let mut form = vec![("csrf_token", csrf.as_str()), ("name", "Laptop")];
    form.extend(code.map(|code| ("code", code)));
    app.post_form("/account/passkeys/begin", &form).await
}

#[tokio::test]
async fn with_an_authenticator_app_adding_a_passkey_also_needs_its_code() {
    let app = spawn_app_with(&format!("{CONFIG}{}", crate::totp::JOURNEYS)).await;
    let phone = crate::totp::enroll(&app).await;
    app.login_html("", ALICE).await;
    let page = account(&app).await;
    assert!(page.contains(r#"<input id="passkey-code" name="code""#));

    // A recent sign-in alone would let a stolen session add a way in that
    // skips the app.
    for code in [None, Some("")] {
        let refused = begin_with(&app, code).await;
        assert!(refused.status().is_client_error(), "{code:?}");
    }
    let wrong = crate::totp::wrong_code(&phone, app.clock_now());
    let refused = begin_with(&app, Some(&wrong)).await;
    assert!(refused.status().is_client_error());
    // The next step's code: the enrolment used this one.
    app.clock.advance(Duration::seconds(30));
    let right = crate::totp::code_at(&phone, app.clock_now());
    let begun = begin_with(&app, Some(&right)).await;
    assert_eq!(begun.status(), 200);
    let options: Value = begun.json().await.unwrap();
    assert!(options["publicKey"]["challenge"].is_string(), "{options}");
}

#[tokio::test]
async fn removing_a_passkey_needs_a_recent_sign_in() {
    let app = spawn().await;
    register(&app, "Laptop").await;
    let id = app.engine.passkeys.list(&app.alice_id()).unwrap()[0]
        .id
        .clone();
    app.clock.advance(Duration::minutes(10));
    let csrf = csrf_token(&account(&app).await);
    let refused = app
        .post_form(
            "/account/passkeys/remove",
            &[("csrf_token", &csrf), ("passkey_id", &id)],
        )
        .await;
    assert_eq!(refused.status(), 403);
    assert_eq!(app.engine.passkeys.list(&app.alice_id()).unwrap().len(), 1);
}

/// webauthn-rs's own software passkey (`webauthn-authenticator-rs`), an
/// authenticator nobody here wrote, registers on /account and is the
/// second factor of a REST sign-in. It has no user to verify, so it is told
/// to claim verification, as a platform authenticator does after a
/// fingerprint; it keeps no resident keys, so the first-factor tests use
/// the test authenticator.
#[tokio::test]
async fn a_passkey_made_by_webauthn_rs_own_software_authenticator_signs_in() {
    use webauthn_authenticator_rs::WebauthnAuthenticator;
    use webauthn_authenticator_rs::softpasskey::SoftPasskey as Independent;
    let origin = url::Url::parse(authenticator::ORIGIN).unwrap();
    let app = spawn().await;
    app.login_html("", ALICE).await;
    let csrf = csrf_token(&account(&app).await);
    let mut options: Value = begin(&app, &csrf, "Soft key").await.json().await.unwrap();
    // It cannot keep resident keys, so it is asked for a plain credential:
    // one that works where the user is named first, as here.
    let selection = &mut options["publicKey"]["authenticatorSelection"];
    selection["requireResidentKey"] = json!(false);
    selection["residentKey"] = json!("discouraged");
    let mut key = Independent::new(true);
    let made = key
        .do_registration(origin.clone(), serde_json::from_value(options).unwrap())
        .expect("the soft key makes a passkey");
    let finished = app
        .post_form(
            "/account/passkeys/finish",
            &[
                ("csrf_token", &csrf),
                ("credential", &serde_json::to_string(&made).unwrap()),
            ],
        )
        .await;
    assert_eq!(finished.status(), 303);
    assert_eq!(app.engine.passkeys.list(&app.alice_id()).unwrap().len(), 1);

    let step = app.start_named("second").await;
    let (_, step) = app
        .submit_to(
            "second",
            &step["auth_id"],
            json!({"username": ALICE.0, "password": ALICE.1}),
        )
        .await;
    let options = assertion_field(&step)["options"].clone();
    let assertion = key
        .do_authentication(origin, serde_json::from_value(options).unwrap())
        .expect("the soft key signs the challenge");
    let answer = serde_json::to_string(&assertion).unwrap();
    let (status, body) = app
        .submit_to("second", &step["auth_id"], json!({"assertion": answer}))
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["session_token"].as_str().expect("signed in");
    assert!(app.amr_of(token).contains(&"user".to_owned()));
}
