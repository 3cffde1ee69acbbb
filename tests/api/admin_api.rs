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
const OPS: Cred = Cred::Basic("ops", "ops-secret-that-is-long-enough-0123456789");
const REPORTER: Cred = Cred::Basic("reporter", "reporter-secret-that-is-long-enough-01234");

fn admin_config(extra: &str) -> String {
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

async fn admin_app() -> TestApp {
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
            .create(tessera::accounts::NewUser {
                username: name.into(),
                password: None,
                email: Some(format!("{name}@corp.example")),
                name: None,
                admin: false,
            })
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
