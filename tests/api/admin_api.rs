//! The admin API (`/admin/api/`): who gets in (an administrator's session
//! from the admin journey, or a token with `tessera:admin`), the RFC error
//! shape, and each operation, whose changes the running server applies at
//! once.

use crate::helpers::oauth::{Cred, token};
use crate::helpers::{TestApp, spawn_app_from, spawn_app_with};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

/// An administrator and a client allowed the admin scope, both declared in
/// the config, beside the base config's alice and bob.
pub const ROOT: (&str, &str) = ("root", "root password that is long enough");
pub const OPS: Cred = Cred::Basic("ops", "ops-secret-that-is-long-enough-0123456789");
const REPORTER: Cred = Cred::Basic("reporter", "reporter-secret-that-is-long-enough-01234");

pub fn admin_config(extra: &str) -> String {
    format!(
        r#"
{extra}

[oauth]
signing_alg = "EdDSA"

[oauth.scopes]
"reports:read" = "Read reports"

[[users]]
username = "{}"
password = "{}"
admin = true

[[clients]]
client_id = "ops"
client_secret = "ops-secret-that-is-long-enough-0123456789"
scopes = ["tessera:admin"]
grant_types = ["client_credentials"]

[[clients]]
client_id = "reporter"
client_secret = "reporter-secret-that-is-long-enough-01234"
scopes = ["reports:read"]
grant_types = ["client_credentials"]
"#,
        ROOT.0, ROOT.1
    )
}

pub async fn admin_app() -> TestApp {
    spawn_app_with(&admin_config("")).await
}

/// How a request to the admin API authenticates.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    None,
    /// A session token in `X-Session-Token`.
    Session(&'a str),
    /// An access token in `Authorization: Bearer`.
    Bearer(&'a str),
}

impl Auth<'_> {
    fn apply(self, request: RequestBuilder) -> RequestBuilder {
        match self {
            Auth::None => request,
            Auth::Session(token) => request.header("X-Session-Token", token),
            Auth::Bearer(token) => request.bearer_auth(token),
        }
    }
}

/// `GET /admin/api{path}`.
pub async fn admin_get(app: &TestApp, auth: Auth<'_>, path: &str) -> Response {
    auth.apply(app.api.get(app.url(&format!("/admin/api{path}"))))
        .send()
        .await
        .expect("request")
}

/// The status and JSON body of a response.
pub async fn answer(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.expect("json"))
}

/// Asserts an error in the admin API's shape.
pub fn assert_refused(answer: &(StatusCode, Value), status: StatusCode, error: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"], error, "{}", answer.1);
    assert!(
        answer.1["error_description"].is_string(),
        "described: {}",
        answer.1
    );
}

/// An access token of `client_credentials` for `cred` with `scope`.
pub async fn client_token(app: &TestApp, cred: Cred, scope: &str) -> String {
    let (status, body) = token(
        app,
        cred,
        &[("grant_type", "client_credentials"), ("scope", scope)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().expect("token").to_owned()
}

fn usernames(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|user| user["username"].as_str().expect("username").to_owned())
        .collect()
}

#[tokio::test]
async fn a_call_without_credentials_gets_401_with_a_bearer_challenge() {
    let app = admin_app().await;
    let response = admin_get(&app, Auth::None, "/users").await;
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer realm=\"tessera\"")
    );
    assert_refused(
        &answer(response).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
}

#[tokio::test]
async fn a_session_of_a_user_without_the_admin_role_gets_403() {
    let app = admin_app().await;
    let alice = app.login_rest(crate::helpers::ALICE).await;
    let refused = answer(admin_get(&app, Auth::Session(&alice), "/users").await).await;
    assert_refused(&refused, StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn an_administrator_pages_through_users_and_searches_them() {
    let app = admin_app().await;
    for name in ["carol", "dave", "erin"] {
        app.engine
            .accounts
            .create(
                tessera::accounts::NewUser {
                    username: name.into(),
                    password: None,
                    email: Some(format!("{name}@corp.example")),
                    name: None,
                    admin: false,
                },
                &tessera::audit::Caller::cli(),
            )
            .expect("created");
    }
    let root = app.login_rest(ROOT).await;
    let mut seen = Vec::new();
    let mut path = "/users?limit=2".to_owned();
    loop {
        let (status, page) = answer(admin_get(&app, Auth::Session(&root), &path).await).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page["items"].as_array().expect("items").len() <= 2);
        seen.extend(usernames(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/users?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["alice", "bob", "carol", "dave", "erin", "root"]);

    let (_, found) =
        answer(admin_get(&app, Auth::Session(&root), "/users?q=CORP.example").await).await;
    assert_eq!(usernames(&found), ["carol", "dave", "erin"]);
    assert_eq!(found["next_cursor"], Value::Null);
    let alice = &answer(admin_get(&app, Auth::Session(&root), "/users?q=liddell").await)
        .await
        .1["items"][0];
    assert_eq!(alice["username"], "alice");
    assert_eq!(alice["managed_by_config"], true);
    assert_eq!(alice["admin"], false);
    assert!(alice.get("password_hash").is_none(), "{alice}");
}

#[tokio::test]
async fn a_cursor_that_no_page_gave_is_a_400() {
    let app = admin_app().await;
    let root = app.login_rest(ROOT).await;
    let refused = answer(admin_get(&app, Auth::Session(&root), "/users?cursor=%%%").await).await;
    assert_refused(&refused, StatusCode::BAD_REQUEST, "invalid_request");
    let refused = answer(admin_get(&app, Auth::Session(&root), "/users?limit=x").await).await;
    assert_refused(&refused, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn a_client_token_with_the_admin_scope_is_let_in_and_one_without_it_gets_403() {
    let app = admin_app().await;
    let ops = client_token(&app, OPS, "tessera:admin").await;
    let (status, page) = answer(admin_get(&app, Auth::Bearer(&ops), "/users").await).await;
    assert_eq!(status, StatusCode::OK, "{page}");

    let reporter = client_token(&app, REPORTER, "reports:read").await;
    let response = admin_get(&app, Auth::Bearer(&reporter), "/users").await;
    assert!(
        response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("insufficient_scope")),
    );
    assert_refused(
        &answer(response).await,
        StatusCode::FORBIDDEN,
        "insufficient_scope",
    );

    let refused = answer(admin_get(&app, Auth::Bearer("not.a.token"), "/users").await).await;
    assert_refused(&refused, StatusCode::UNAUTHORIZED, "invalid_token");
}

#[tokio::test]
async fn a_session_from_another_journey_than_the_admin_journey_gets_403() {
    let app = spawn_app_with(&admin_config(
        r#"
[admin]
journey = "staff"

[journeys.staff]
start = "credentials"

[journeys.staff.nodes.credentials]
type = "username_password"
next = { success = "success", failure = "failure" }
"#,
    ))
    .await;
    let by_login = app.login_rest(ROOT).await;
    let refused = answer(admin_get(&app, Auth::Session(&by_login), "/users").await).await;
    assert_refused(&refused, StatusCode::FORBIDDEN, "forbidden");
    assert!(
        refused.1["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("staff")),
        "{}",
        refused.1
    );

    let started = app.start_named("staff").await;
    let (status, done) = app
        .submit(
            &started["auth_id"],
            json!({"username": ROOT.0, "password": ROOT.1}),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    let by_staff = done["session_token"].as_str().expect("token");
    let (status, _) = answer(admin_get(&app, Auth::Session(by_staff), "/users").await).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_first_start_administrator_holds_the_admin_role() {
    let app = spawn_app_from(
        r#"
[server]
bind = "127.0.0.1:0"

[storage]
path = ":memory:"

[log]
level = "warn"

[passwords]
memory_kib = 256
iterations = 1
"#,
    )
    .await;
    let admin = app
        .engine
        .accounts
        .get_by_username("admin")
        .expect("bootstrapped");
    assert!(admin.admin);
    assert!(!admin.managed_by_config, "the file does not declare it");
}

#[tokio::test]
async fn config_entries_are_managed_by_the_file_until_they_leave_it() {
    let app = admin_app().await;
    let alice = app.engine.accounts.get_by_username("alice").expect("alice");
    assert!(alice.managed_by_config);
    let ops = tessera::oauth::clients::get(&app.ctx, "ops")
        .expect("read")
        .expect("ops");
    assert!(ops.managed_by_config);

    // A start whose config no longer declares them.
    app.engine.accounts.seed(&[]).expect("seeded");
    tessera::oauth::clients::seed(&app.ctx, &[]).expect("seeded");
    let alice = app.engine.accounts.get_by_username("alice").expect("alice");
    assert!(!alice.managed_by_config);
    let ops = tessera::oauth::clients::get(&app.ctx, "ops")
        .expect("read")
        .expect("ops");
    assert!(!ops.managed_by_config);
}

/// A request to `/admin/api{path}` with a JSON body.
pub async fn admin_send(
    app: &TestApp,
    auth: Auth<'_>,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = auth.apply(
        app.api
            .request(method, app.url(&format!("/admin/api{path}"))),
    );
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let text = response.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("json")
    };
    (status, body)
}

/// Creates `username` with `password` through the API; returns its id.
pub async fn create_user(app: &TestApp, root: &str, username: &str, password: &str) -> String {
    let (status, user) = admin_send(
        app,
        Auth::Session(root),
        reqwest::Method::POST,
        "/users",
        Some(json!({"username": username, "password": password, "email": format!("{username}@example.org")})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    user["id"].as_str().expect("id").to_owned()
}

/// Signs in over REST; returns the status of the attempt.
async fn sign_in_status(app: &TestApp, (username, password): (&str, &str)) -> u16 {
    let started = app.start_journey().await;
    app.submit(
        &started["auth_id"],
        json!({"username": username, "password": password}),
    )
    .await
    .0
}

#[tokio::test]
async fn an_administrator_creates_reads_changes_and_deletes_a_user() {
    use reqwest::Method;
    let app = admin_app().await;
    let root = app.login_rest(ROOT).await;
    let (status, created) = admin_send(
        &app,
        Auth::Session(&root),
        Method::POST,
        "/users",
        Some(json!({"username": "Carol", "password": "a long enough passphrase", "name": "Carol C", "admin": true})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["username"], "Carol");
    assert_eq!(created["admin"], true);
    assert_eq!(created["managed_by_config"], false);
    assert!(created.get("password").is_none() && created.get("password_hash").is_none());
    let id = created["id"].as_str().expect("id");
    let user_path = format!("/users/{id}");

    let (status, read) =
        admin_send(&app, Auth::Session(&root), Method::GET, &user_path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["name"], "Carol C");

    let (status, changed) = admin_send(
        &app,
        Auth::Session(&root),
        Method::PATCH,
        &user_path,
        Some(json!({"email": "carol@example.org", "name": null, "admin": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["email"], "carol@example.org");
    assert_eq!(changed["name"], Value::Null);
    assert_eq!(changed["admin"], false);

    // A new password works on the next sign-in.
    let weak = admin_send(
        &app,
        Auth::Session(&root),
        Method::PATCH,
        &user_path,
        Some(json!({"password": "password"})),
    )
    .await;
    assert_refused(&weak, StatusCode::BAD_REQUEST, "invalid_request");
    let (status, _) = admin_send(
        &app,
        Auth::Session(&root),
        Method::PATCH,
        &user_path,
        Some(json!({"password": "another long passphrase"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        sign_in_status(&app, ("carol", "a long enough passphrase")).await,
        401
    );
    let carol = app.login_rest(("carol", "another long passphrase")).await;

    let (status, _) =
        admin_send(&app, Auth::Session(&root), Method::DELETE, &user_path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.validate(&carol).await["valid"],
        false,
        "her session ended"
    );
    let gone = admin_send(&app, Auth::Session(&root), Method::GET, &user_path, None).await;
    assert_refused(&gone, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn a_disabled_user_cannot_sign_in_and_their_sessions_end() {
    use reqwest::Method;
    let app = admin_app().await;
    let root = app.login_rest(ROOT).await;
    let id = create_user(&app, &root, "dave", "a passphrase long enough").await;
    let dave = app.login_rest(("dave", "a passphrase long enough")).await;
    let (status, _) = admin_send(
        &app,
        Auth::Session(&root),
        Method::PATCH,
        &format!("/users/{id}"),
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.validate(&dave).await["valid"], false);
    assert_eq!(
        sign_in_status(&app, ("dave", "a passphrase long enough")).await,
        401
    );
}

#[tokio::test]
async fn an_administrator_lists_and_ends_a_users_sessions() {
    use reqwest::Method;
    let app = admin_app().await;
    let root = app.login_rest(ROOT).await;
    let id = create_user(&app, &root, "erin", "a passphrase long enough").await;
    let erin = app.login_rest(("erin", "a passphrase long enough")).await;
    let sessions = format!("/users/{id}/sessions");
    let (status, listed) =
        admin_send(&app, Auth::Session(&root), Method::GET, &sessions, None).await;
    assert_eq!(status, StatusCode::OK);
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{listed}");
    assert!(items[0].get("token").is_none());
    let sid = items[0]["id"].as_str().expect("id");
    assert_eq!(sid, app.session_id(&erin).await);

    let one = format!("{sessions}/{sid}");
    let (status, _) = admin_send(&app, Auth::Session(&root), Method::DELETE, &one, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.validate(&erin).await["valid"], false);
    let again = admin_send(&app, Auth::Session(&root), Method::DELETE, &one, None).await;
    assert_refused(&again, StatusCode::NOT_FOUND, "not_found");
    for path in [
        format!("/users/{id}/consents"),
        format!("/users/{id}/devices"),
    ] {
        let (status, listed) =
            admin_send(&app, Auth::Session(&root), Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(listed["items"], json!([]), "{path}");
    }
}

#[tokio::test]
async fn users_and_clients_the_config_declares_are_refused_with_409() {
    use reqwest::Method;
    let app = admin_app().await;
    let ops = client_token(&app, OPS, "tessera:admin").await;
    let alice = app.engine.accounts.get_by_username("alice").expect("alice");
    let path = format!("/users/{}", alice.id);
    for (method, body) in [
        (Method::PATCH, Some(json!({"name": "Mallory"}))),
        (Method::DELETE, None),
    ] {
        let refused = admin_send(&app, Auth::Bearer(&ops), method, &path, body).await;
        assert_refused(&refused, StatusCode::CONFLICT, "managed_by_config");
    }
    for (method, path, body) in [
        (Method::PATCH, "/clients/ops", Some(json!({"scopes": []}))),
        (Method::DELETE, "/clients/ops", None),
        (Method::POST, "/clients/ops/secret", None),
    ] {
        let refused = admin_send(&app, Auth::Bearer(&ops), method, path, body).await;
        assert_refused(&refused, StatusCode::CONFLICT, "managed_by_config");
    }
    let (_, read) = admin_send(&app, Auth::Bearer(&ops), Method::GET, "/clients/ops", None).await;
    assert_eq!(read["managed_by_config"], true);
}

#[tokio::test]
async fn deleting_a_user_needs_a_recent_sign_in_but_not_from_a_token() {
    use reqwest::Method;
    let app = spawn_app_with(&admin_config("[admin]\nreauth_secs = 60\n")).await;
    let root = app.login_rest(ROOT).await;
    let first = create_user(&app, &root, "frank", "a passphrase long enough").await;
    let second = create_user(&app, &root, "grace", "a passphrase long enough").await;
    app.clock.advance(time::Duration::seconds(61));

    let refused = admin_send(
        &app,
        Auth::Session(&root),
        Method::DELETE,
        &format!("/users/{first}"),
        None,
    )
    .await;
    assert_refused(&refused, StatusCode::FORBIDDEN, "reauth_required");
    assert!(
        refused.1["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("journey=login")),
        "{}",
        refused.1
    );
    let rotate = admin_send(
        &app,
        Auth::Session(&root),
        Method::POST,
        "/keys/rotate",
        None,
    )
    .await;
    assert_refused(&rotate, StatusCode::FORBIDDEN, "reauth_required");
    // Less sensitive actions go on.
    let (status, _) = admin_send(&app, Auth::Session(&root), Method::GET, "/users", None).await;
    assert_eq!(status, StatusCode::OK);

    let fresh = app.login_rest(ROOT).await;
    let (status, _) = admin_send(
        &app,
        Auth::Session(&fresh),
        Method::DELETE,
        &format!("/users/{first}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let ops = client_token(&app, OPS, "tessera:admin").await;
    let (status, _) = admin_send(
        &app,
        Auth::Bearer(&ops),
        Method::DELETE,
        &format!("/users/{second}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_cookie_session_changes_nothing_without_the_issuers_origin_or_csrf_token() {
    let app = admin_app().await;
    let cookie = crate::helpers::oauth::sign_in(&app, ROOT).await;
    let create = |origin: Option<&str>, csrf: Option<&str>, name: &str| {
        let mut request = app
            .browser
            .post(app.url("/admin/api/users"))
            .json(&json!({"username": name}));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        request.send()
    };
    let refused = answer(create(None, None, "henry").await.expect("request")).await;
    assert_refused(&refused, StatusCode::FORBIDDEN, "cross_origin_request");
    let refused = answer(
        create(Some("http://127.0.0.1:1"), None, "henry")
            .await
            .expect("request"),
    )
    .await;
    assert_refused(&refused, StatusCode::FORBIDDEN, "cross_origin_request");
    let refused = answer(
        create(None, Some("forged"), "henry")
            .await
            .expect("request"),
    )
    .await;
    assert_refused(&refused, StatusCode::FORBIDDEN, "cross_origin_request");

    let (status, _) = answer(
        create(Some(&app.address), None, "henry")
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let csrf = app
        .ctx
        .csrf_token(&tessera::secret::Token::from_presented(cookie));
    let (status, _) = answer(create(None, Some(&csrf), "irene").await.expect("request")).await;
    assert_eq!(status, StatusCode::CREATED);
    // Reading needs no proof: another site cannot read the answer.
    let (status, _) = answer(
        app.browser
            .get(app.url("/admin/api/users"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_client_registered_through_the_api_works_on_the_next_request() {
    use reqwest::Method;
    let app = admin_app().await;
    let ops = client_token(&app, OPS, "tessera:admin").await;
    let (status, created) = admin_send(
        &app,
        Auth::Bearer(&ops),
        Method::POST,
        "/clients",
        Some(json!({
            "client_id": "billing",
            "scopes": ["reports:read"],
            "grant_types": ["client_credentials"],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["confidential"], true);
    let secret: &'static str = Box::leak(
        created["client_secret"]
            .as_str()
            .expect("secret")
            .to_owned()
            .into_boxed_str(),
    );
    let billing = Cred::Basic("billing", secret);
    client_token(&app, billing, "reports:read").await;

    let (status, listed) =
        admin_send(&app, Auth::Bearer(&ops), Method::GET, "/clients", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        listed["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|c| c.get("client_secret").is_none())
    );

    // A narrower scope list applies to the next token request.
    let (status, changed) = admin_send(
        &app,
        Auth::Bearer(&ops),
        Method::PATCH,
        "/clients/billing",
        Some(json!({"scopes": ["reports:write"], "name": "Billing"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let (status, _) = token(
        &app,
        billing,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "reports:read"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A rotated secret replaces the old one at once.
    let (status, rotated) = admin_send(
        &app,
        Auth::Bearer(&ops),
        Method::POST,
        "/clients/billing/secret",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = token(&app, billing, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let fresh: &'static str = Box::leak(
        rotated["client_secret"]
            .as_str()
            .expect("secret")
            .to_owned()
            .into_boxed_str(),
    );
    client_token(&app, Cred::Basic("billing", fresh), "reports:write").await;

    let (status, _) = admin_send(
        &app,
        Auth::Bearer(&ops),
        Method::DELETE,
        "/clients/billing",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = token(
        &app,
        Cred::Basic("billing", fresh),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_input_gets_a_400_in_the_rfc_shape() {
    use reqwest::Method;
    let app = admin_app().await;
    let ops = client_token(&app, OPS, "tessera:admin").await;
    for (path, body, error) in [
        (
            "/clients",
            json!({"client_id": "x", "client_secret": "mine"}),
            "invalid_client_metadata",
        ),
        (
            "/clients",
            json!({"client_id": "x", "redirect_uris": ["http://evil.example/cb"]}),
            "invalid_client_metadata",
        ),
        (
            "/clients",
            json!({"client_id": "x", "colour": "red"}),
            "invalid_client_metadata",
        ),
        (
            "/clients",
            json!(["not", "an", "object"]),
            "invalid_client_metadata",
        ),
        (
            "/users",
            json!({"username": "has space"}),
            "invalid_request",
        ),
        (
            "/users",
            json!({"username": "jo", "role": "admin"}),
            "invalid_request",
        ),
        (
            "/users",
            json!({"username": "jo", "password": "short"}),
            "invalid_request",
        ),
        ("/keys/rotate", json!({"alg": "HS256"}), "invalid_request"),
    ] {
        let refused = admin_send(
            &app,
            Auth::Bearer(&ops),
            Method::POST,
            path,
            Some(body.clone()),
        )
        .await;
        assert_refused(&refused, StatusCode::BAD_REQUEST, error);
    }
    let taken = admin_send(
        &app,
        Auth::Bearer(&ops),
        Method::POST,
        "/users",
        Some(json!({"username": "ALICE"})),
    )
    .await;
    assert_refused(&taken, StatusCode::CONFLICT, "conflict");
    let response = app
        .api
        .post(app.url("/admin/api/users"))
        .bearer_auth(&ops)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_refused(
        &answer(response).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    let missing = admin_send(&app, Auth::Bearer(&ops), Method::GET, "/nothing-here", None).await;
    assert_refused(&missing, StatusCode::NOT_FOUND, "not_found");
    let missing = admin_send(
        &app,
        Auth::Bearer(&ops),
        Method::GET,
        "/clients/nobody",
        None,
    )
    .await;
    assert_refused(&missing, StatusCode::NOT_FOUND, "not_found");
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .expect("header")
        .kid
        .expect("kid")
}

#[tokio::test]
async fn a_rotated_key_signs_the_next_token_and_the_old_one_stays_published() {
    use reqwest::Method;
    let app = admin_app().await;
    let root = app.login_rest(ROOT).await;
    let before = client_token(&app, REPORTER, "reports:read").await;
    let old = kid_of(&before);

    let (status, key) = admin_send(
        &app,
        Auth::Session(&root),
        Method::POST,
        "/keys/rotate",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["status"], "active");
    let new = key["kid"].as_str().expect("kid").to_owned();
    assert_ne!(new, old);

    let after = client_token(&app, REPORTER, "reports:read").await;
    assert_eq!(kid_of(&after), new);
    let published = published_kids(&app).await;
    assert!(
        published.contains(&old) && published.contains(&new),
        "{published:?}"
    );

    let (_, keys) = admin_send(&app, Auth::Session(&root), Method::GET, "/keys", None).await;
    let retired = keys["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|k| k["kid"] == old.as_str())
        .expect("the old key is listed");
    assert_eq!(retired["status"], "retired");
    assert!(retired["published_until"].is_string(), "{retired}");
}

async fn published_kids(app: &TestApp) -> Vec<String> {
    let jwks: Value = app.jwks().await;
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_retired_key_leaves_the_running_servers_jwks_once_its_tokens_expired() {
    use reqwest::Method;
    let app = spawn_app_with(&admin_config("[sessions]\npurge_interval_secs = 1\n")).await;
    let ops = client_token(&app, OPS, "tessera:admin").await;
    let old = kid_of(&ops);
    let (status, _) =
        admin_send(&app, Auth::Bearer(&ops), Method::POST, "/keys/rotate", None).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(published_kids(&app).await.contains(&old));
    // Past the longest access token lifetime (oauth.access_token_ttl_secs).
    app.clock.advance(time::Duration::seconds(601));
    let mut gone = false;
    // The purge runs every second: wait for it, without assuming when.
    for _ in 0..100 {
        if !published_kids(&app).await.contains(&old) {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gone, "the retired key is still published");
    let fresh = client_token(&app, OPS, "tessera:admin").await;
    let (_, keys) = admin_send(&app, Auth::Bearer(&fresh), Method::GET, "/keys", None).await;
    assert!(
        keys["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|k| k["kid"] != old.as_str()),
        "{keys}"
    );
}

#[tokio::test]
async fn the_last_enabled_administrator_cannot_lose_the_role() {
    use reqwest::Method;
    const CAROL: (&str, &str) = ("carol", "a long enough passphrase");
    let app = crate::helpers::spawn_app().await;
    let new = tessera::accounts::NewUser {
        username: CAROL.0.into(),
        password: Some(tessera::secret::SecretString::new(CAROL.1)),
        email: None,
        name: None,
        admin: true,
    };
    let by = tessera::audit::Caller::cli();
    let carol = app.engine.accounts.create(new, &by).expect("created").id;
    let session = app.login_rest(CAROL).await;
    let carol_path = format!("/users/{carol}");
    for change in [json!({"admin": false}), json!({"disabled": true})] {
        let refused = admin_send(
            &app,
            Auth::Session(&session),
            Method::PATCH,
            &carol_path,
            Some(change),
        )
        .await;
        assert_refused(&refused, StatusCode::CONFLICT, "conflict");
    }
    let refused = admin_send(
        &app,
        Auth::Session(&session),
        Method::DELETE,
        &carol_path,
        None,
    )
    .await;
    assert_refused(&refused, StatusCode::CONFLICT, "conflict");
    assert!(
        refused.1["error_description"]
            .as_str()
            .unwrap()
            .contains("last enabled administrator")
    );

    // With another administrator, the role can go.
    let dave = create_user(&app, &session, "dave", "a long enough passphrase").await;
    let grant = Some(json!({"admin": true}));
    let dave_path = format!("/users/{dave}");
    let (status, _) = admin_send(
        &app,
        Auth::Session(&session),
        Method::PATCH,
        &dave_path,
        grant,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let drop = Some(json!({"admin": false}));
    let (status, carol) = admin_send(
        &app,
        Auth::Session(&session),
        Method::PATCH,
        &carol_path,
        drop,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{carol}");
    assert_eq!(carol["admin"], false);
}

#[tokio::test]
async fn deleting_a_client_withdraws_the_consents_and_tokens_users_granted_it() {
    use crate::helpers::oauth::{AuthRequest, is_active, refresh, tokens_for};
    use reqwest::Method;
    const REDIRECT: &str = "http://127.0.0.1:9000/callback";
    let app = admin_app().await;
    let ops = client_token(&app, OPS, "tessera:admin").await;
    let register = async || {
        let metadata = json!({"client_id": "notes", "redirect_uris": [REDIRECT],
            "scopes": ["openid", "reports:read"]});
        let (status, created) = admin_send(
            &app,
            Auth::Bearer(&ops),
            Method::POST,
            "/clients",
            Some(metadata),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["client_secret"]
            .as_str()
            .expect("secret")
            .to_owned()
    };
    // Cred takes 'static texts, as the tests' constants are.
    let secret = register().await.leak();
    app.login_html("", crate::helpers::ALICE).await;
    let request = AuthRequest::new("notes", REDIRECT, "openid reports:read");
    let (access, refresh_token) = tokens_for(&app, Cred::Basic("notes", secret), &request).await;
    let alice = app
        .engine
        .accounts
        .get_by_username("alice")
        .expect("alice")
        .id;
    let consents = format!("/users/{alice}/consents");
    let (_, granted) = admin_send(&app, Auth::Bearer(&ops), Method::GET, &consents, None).await;
    assert_eq!(
        granted["items"].as_array().map(Vec::len),
        Some(1),
        "{granted}"
    );

    let (status, _) = admin_send(
        &app,
        Auth::Bearer(&ops),
        Method::DELETE,
        "/clients/notes",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, granted) = admin_send(&app, Auth::Bearer(&ops), Method::GET, &consents, None).await;
    assert_eq!(granted["items"], json!([]));

    // A client registered again under the id inherits nothing.
    let again = Cred::Basic("notes", register().await.leak());
    let refreshed = refresh(&app, again, &refresh_token).await;
    assert_eq!(refreshed.0, StatusCode::BAD_REQUEST, "{}", refreshed.1);
    assert_eq!(refreshed.1["error"], "invalid_grant");
    assert!(!is_active(&app, again, &access).await);
}
