//! The admin pages (`/admin`): who gets in (an administrator's session;
//! others sign in or get a 403 page), each page's main path over the same
//! domain calls as the admin API, CSRF on every form, re-authentication
//! for deleting a user and rotating keys, config-managed records shown
//! read-only, and paging.

mod audit;

use crate::helpers::html::unescape;
use crate::helpers::oauth::{Cred, token};
use crate::helpers::{ALICE, TestApp, csrf_token, location, spawn_app_with};
use reqwest::{Response, StatusCode};
use tessera::accounts::NewUser;
use tessera::audit::Caller;
use tessera::secret::SecretString;

const ROOT: (&str, &str) = ("root", "root password that is long enough");
const CAROL_PASSWORD: &str = "a password long enough for tests";

async fn admin_app() -> TestApp {
    admin_app_with("").await
}

/// The admin pages' app, with `extra` config.
async fn admin_app_with(extra: &str) -> TestApp {
    spawn_app_with(&format!(
        r#"
{extra}

[oauth]
signing_alg = "EdDSA"

[[users]]
username = "{}"
password = "{}"
admin = true

[[clients]]
client_id = "declared"
client_secret = "declared-secret-that-is-long-enough-0123"
grant_types = ["client_credentials"]
"#,
        ROOT.0, ROOT.1
    ))
    .await
}

/// The admin app with its browser signed in as root.
async fn signed_in_admin() -> TestApp {
    signed_in_admin_with("").await
}

/// The admin app with `extra` config and its browser signed in as root.
pub async fn signed_in_admin_with(extra: &str) -> TestApp {
    let app = admin_app_with(extra).await;
    let response = app.login_html("", ROOT).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    app
}

pub async fn page(app: &TestApp, path: &str) -> String {
    let response = app.get_page(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.expect("html")
}

/// Posts `fields` to `path` with the CSRF token of the page at `from`.
pub async fn act(app: &TestApp, from: &str, path: &str, fields: &[(&str, &str)]) -> Response {
    let csrf = csrf_token(&page(app, from).await);
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    app.post_form(path, &form).await
}

pub fn create_user(app: &TestApp, username: &str) -> String {
    app.engine
        .accounts
        .create(
            NewUser {
                username: username.into(),
                password: Some(SecretString::new(CAROL_PASSWORD)),
                email: None,
                name: None,
                admin: false,
            },
            &Caller::cli(),
        )
        .expect("user created")
        .id
}

fn user_id(app: &TestApp, username: &str) -> String {
    app.engine
        .accounts
        .get_by_username(username)
        .expect("user")
        .id
}

#[tokio::test]
async fn without_a_session_an_admin_page_sends_the_browser_to_sign_in_and_come_back() {
    let app = admin_app().await;
    let response = app.get_page("/admin/users?q=al").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login?goto=%2Fadmin%2Fusers%3Fq%3Dal");

    let response = app
        .login_html("?goto=%2Fadmin%2Fusers%3Fq%3Dal", ROOT)
        .await;
    assert_eq!(location(&response), app.url("/admin/users?q=al"));
    assert!(page(&app, "/admin/users?q=al").await.contains("alice"));
}

#[tokio::test]
async fn a_signed_in_user_without_the_admin_role_gets_a_403_page_and_changes_nothing() {
    let app = admin_app().await;
    app.login_html("", ALICE).await;
    for path in ["/admin", "/admin/users", "/admin/clients", "/admin/keys"] {
        let response = app.get_page(path).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Not an administrator")
        );
    }
    let response = act(
        &app,
        "/account",
        "/admin/users",
        &[("username", "mallory"), ("password", CAROL_PASSWORD)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(app.engine.accounts.get_by_username("mallory").is_err());
}

#[tokio::test]
async fn a_form_without_or_with_a_wrong_csrf_token_is_refused() {
    let app = signed_in_admin().await;
    let id = user_id(&app, "bob");
    for csrf in [None, Some("forged")] {
        let mut form = vec![("username", "mallory"), ("password", CAROL_PASSWORD)];
        form.extend(csrf.map(|csrf| ("csrf_token", csrf)));
        let response = app.post_form("/admin/users", &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let mut status = vec![("disabled", "true")];
        status.extend(csrf.map(|csrf| ("csrf_token", csrf)));
        let response = app
            .post_form(&format!("/admin/users/{id}/status"), &status)
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    assert!(app.engine.accounts.get_by_username("mallory").is_err());
    assert!(!app.engine.accounts.get(&id).unwrap().unwrap().disabled);
}

#[tokio::test]
async fn an_admin_searches_creates_edits_disables_and_enables_a_user_and_sets_a_password() {
    let app = signed_in_admin().await;
    let found = page(&app, "/admin/users?q=ali").await;
    assert!(found.contains(">alice</a>"));
    assert!(!found.contains(">bob</a>"));

    let response = act(
        &app,
        "/admin/users",
        "/admin/users",
        &[
            ("username", "carol"),
            ("password", CAROL_PASSWORD),
            ("email", "carol@example.com"),
            ("name", ""),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let carol = user_id(&app, "carol");
    let path = format!("/admin/users/{carol}");
    assert_eq!(location(&response), format!("{path}?done=user_created"));
    let shown = page(&app, &location(&response)).await;
    assert!(shown.contains("The user was created."));
    assert!(shown.contains("carol@example.com"));

    let response = act(
        &app,
        &path,
        &format!("{path}/profile"),
        &[
            ("email", "carol@example.org"),
            ("name", "Carol"),
            ("admin", "on"),
        ],
    )
    .await;
    assert_eq!(location(&response), format!("{path}?done=user_saved"));
    let user = app.engine.accounts.get(&carol).unwrap().unwrap();
    assert_eq!(user.email.as_deref(), Some("carol@example.org"));
    assert_eq!(user.name.as_deref(), Some("Carol"));
    assert!(user.admin);

    let token = app.login_rest(("carol", CAROL_PASSWORD)).await;
    let response = act(
        &app,
        &path,
        &format!("{path}/status"),
        &[("disabled", "true")],
    )
    .await;
    assert_eq!(location(&response), format!("{path}?done=user_disabled"));
    assert!(app.engine.accounts.get(&carol).unwrap().unwrap().disabled);
    assert_eq!(app.validate(&token).await["valid"], false);
    assert!(page(&app, &path).await.contains("Enable the account"));
    act(
        &app,
        &path,
        &format!("{path}/status"),
        &[("disabled", "false")],
    )
    .await;
    assert!(!app.engine.accounts.get(&carol).unwrap().unwrap().disabled);

    let weak = act(
        &app,
        &path,
        &format!("{path}/password"),
        &[("password", "short")],
    )
    .await;
    assert_eq!(weak.status(), StatusCode::BAD_REQUEST);
    let new_password = "a brand new password, long enough";
    let response = act(
        &app,
        &path,
        &format!("{path}/password"),
        &[("password", new_password)],
    )
    .await;
    assert_eq!(location(&response), format!("{path}?done=password_set"));
    app.login_rest(("carol", new_password)).await;

    // Each change is in the audit log, by root, from the browser's address;
    // the refused weak password is not.
    let audit: serde_json::Value = app
        .get_page("/admin/api/audit?type=admin&subject=carol")
        .await
        .json()
        .await
        .expect("json");
    let actions: Vec<_> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|event| {
            assert_eq!(event["actor"], "user:root", "{event}");
            assert_eq!(event["client_ip"], "127.0.0.1", "{event}");
            event["type"].as_str().expect("type").to_owned()
        })
        .collect();
    let mut expected = vec!["admin.user.update"; 4];
    expected.push("admin.user.create");
    assert_eq!(actions, expected);
}

#[tokio::test]
async fn an_admin_sees_a_users_sessions_and_ends_one() {
    let app = signed_in_admin().await;
    let token = app.login_rest(ALICE).await;
    let sid = app.session_id(&token).await;
    let path = format!("/admin/users/{}", user_id(&app, "alice"));
    assert!(page(&app, &path).await.contains(&sid));

    let response = act(
        &app,
        &path,
        &format!("{path}/sessions/end"),
        &[("session_id", &sid)],
    )
    .await;
    assert_eq!(location(&response), format!("{path}?done=session_ended"));
    assert_eq!(app.validate(&token).await["valid"], false);
    assert!(!page(&app, &path).await.contains(&sid));
}

#[tokio::test]
async fn deleting_a_user_with_a_stale_sign_in_goes_through_signing_in_again() {
    let app = signed_in_admin().await;
    let carol = create_user(&app, "carol");
    let path = format!("/admin/users/{carol}");
    app.clock.advance(time::Duration::minutes(6));

    let response = act(&app, &path, &format!("{path}/delete"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let again = location(&response);
    assert_eq!(
        again,
        format!("/login?journey=login&goto=%2Fadmin%2Fusers%2F{carol}")
    );
    assert!(app.engine.accounts.get(&carol).unwrap().is_some());

    let response = app
        .login_html(again.trim_start_matches("/login"), ROOT)
        .await;
    assert_eq!(location(&response), app.url(&path));
    let response = act(&app, &path, &format!("{path}/delete"), &[]).await;
    assert_eq!(location(&response), "/admin/users?done=user_deleted");
    assert!(app.engine.accounts.get(&carol).unwrap().is_none());
    assert!(
        page(&app, "/admin/users?done=user_deleted")
            .await
            .contains("The user was deleted.")
    );
}

#[tokio::test]
async fn a_user_the_config_declares_is_shown_read_only_and_a_forged_change_is_refused() {
    let app = signed_in_admin().await;
    let alice = user_id(&app, "alice");
    let path = format!("/admin/users/{alice}");
    let shown = page(&app, &path).await;
    assert!(shown.contains("declared in the config file"));
    for action in ["/profile", "/status", "/password", "/delete"] {
        assert!(!shown.contains(&format!("{path}{action}")), "{action}");
    }
    for (action, fields) in [
        ("/profile", vec![("email", "mallory@example.com")]),
        ("/status", vec![("disabled", "true")]),
        (
            "/password",
            vec![("password", "a password set by a forgery")],
        ),
        ("/delete", vec![]),
    ] {
        let response = act(&app, "/admin/users", &format!("{path}{action}"), &fields).await;
        assert_eq!(response.status(), StatusCode::CONFLICT, "{action}");
    }
    let user = app.engine.accounts.get(&alice).unwrap().unwrap();
    assert_eq!(user.email.as_deref(), Some("alice@example.com"));
    assert!(!user.disabled);
}

#[tokio::test]
async fn a_new_clients_secret_is_shown_once_and_the_client_is_edited_rotated_and_deleted() {
    let app = signed_in_admin().await;
    let response = act(
        &app,
        "/admin/clients",
        "/admin/clients",
        &[
            ("client_id", "reports"),
            ("name", "Reports"),
            ("redirect_uris", ""),
            ("scopes", "openid"),
            ("grant_types", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let shown = response.text().await.unwrap();
    assert!(shown.contains("shown only this once"));
    let secret = secret_on(&shown);
    let cred = Cred::Basic("reports", Box::leak(secret.clone().into_boxed_str()));
    let grant = [("grant_type", "client_credentials")];
    assert_eq!(token(&app, cred, &grant).await.0, StatusCode::OK);
    let path = "/admin/clients/reports";
    assert!(!page(&app, path).await.contains(&secret));

    let response = act(
        &app,
        path,
        path,
        &[
            ("name", "Reports"),
            (
                "redirect_uris",
                "https://reports.example.com/cb\nhttps://reports.example.com/cb2",
            ),
            ("scopes", "openid profile"),
            ("grant_types", "authorization_code client_credentials"),
            ("first_party", "on"),
        ],
    )
    .await;
    assert_eq!(location(&response), format!("{path}?done=client_saved"));
    let client = tessera::oauth::clients::get(&app.ctx, "reports")
        .unwrap()
        .unwrap();
    assert_eq!(client.redirect_uris.len(), 2);
    assert_eq!(client.scopes, ["openid", "profile"]);
    assert!(client.first_party);
    assert!(
        client
            .grant_types
            .contains(&"authorization_code".to_owned())
    );

    let rotated = act(&app, path, &format!("{path}/secret"), &[]).await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let new_secret = secret_on(&rotated.text().await.unwrap());
    assert_ne!(new_secret, secret);
    assert_eq!(token(&app, cred, &grant).await.0, StatusCode::UNAUTHORIZED);
    let new_cred = Cred::Basic("reports", Box::leak(new_secret.into_boxed_str()));
    assert_eq!(token(&app, new_cred, &grant).await.0, StatusCode::OK);

    let response = act(&app, path, &format!("{path}/delete"), &[]).await;
    assert_eq!(location(&response), "/admin/clients?done=client_deleted");
    assert!(
        tessera::oauth::clients::get(&app.ctx, "reports")
            .unwrap()
            .is_none()
    );
}

fn secret_on(html: &str) -> String {
    let marker = r#"<code id="client-secret" class="secret">"#;
    let start = html.find(marker).expect("secret on the page") + marker.len();
    let end = html[start..].find('<').unwrap() + start;
    unescape(&html[start..end])
}

#[tokio::test]
async fn a_client_the_config_declares_is_shown_read_only_and_a_forged_change_is_refused() {
    let app = signed_in_admin().await;
    let path = "/admin/clients/declared";
    let shown = page(&app, path).await;
    assert!(shown.contains("declared in the config file"));
    assert!(!shown.contains(&format!("{path}/secret")));
    for action in ["", "/secret", "/delete"] {
        let response = act(
            &app,
            "/admin/clients",
            &format!("{path}{action}"),
            &[("scopes", "openid")],
        )
        .await;
        assert_eq!(response.status(), StatusCode::CONFLICT, "{action}");
    }
    assert!(
        tessera::oauth::clients::get(&app.ctx, "declared")
            .unwrap()
            .is_some()
    );
}

/// The kids the keys page shows as active.
fn active_kids(html: &str) -> Vec<String> {
    html.split("<tr>")
        .filter(|row| row.contains("<td>active</td>"))
        .filter_map(|row| {
            let start = row.find("<code>")? + "<code>".len();
            Some(row[start..start + row[start..].find('<')?].to_owned())
        })
        .collect()
}

#[tokio::test]
async fn rotating_the_signing_key_needs_a_recent_sign_in_and_shows_the_new_key() {
    let app = signed_in_admin().await;
    let before = active_kids(&page(&app, "/admin/keys").await);
    assert_eq!(before.len(), 1, "one active EdDSA key");

    app.clock.advance(time::Duration::minutes(6));
    let response = act(&app, "/admin/keys", "/admin/keys/rotate", &[]).await;
    assert_eq!(
        location(&response),
        "/login?journey=login&goto=%2Fadmin%2Fkeys"
    );
    assert_eq!(active_kids(&page(&app, "/admin/keys").await), before);

    app.login_html("?goto=%2Fadmin%2Fkeys", ROOT).await;
    let response = act(&app, "/admin/keys", "/admin/keys/rotate", &[]).await;
    assert_eq!(location(&response), "/admin/keys?done=key_rotated");
    let shown = page(&app, "/admin/keys?done=key_rotated").await;
    let after = active_kids(&shown);
    assert_eq!(after.len(), 1);
    assert_ne!(after, before);
    assert!(shown.contains(&before[0]), "the old key is still listed");
}

#[tokio::test]
async fn the_users_and_clients_lists_page_past_the_first_page() {
    let app = signed_in_admin().await;
    for n in 0..55 {
        create_user(&app, &format!("user{n:02}"));
        let seed = serde_json::from_value(serde_json::json!({
            "client_id": format!("client{n:02}"),
            "grant_types": ["client_credentials"],
        }))
        .unwrap();
        tessera::oauth::clients::create(&app.ctx, &seed, true, &Caller::cli()).unwrap();
    }
    for (first, word) in [
        ("/admin/users?q=user", "user"),
        ("/admin/clients", "client"),
    ] {
        let one = page(&app, first).await;
        let next = unescape(&next_link(&one).expect("a next page"));
        let two = page(&app, &next).await;
        let listed = |html: &str| {
            (0..55)
                .filter(|n| html.contains(&format!(">{word}{n:02}</a>")))
                .collect::<Vec<_>>()
        };
        let (one, two_listed) = (listed(&one), listed(&two));
        assert_eq!(one.len(), 50, "{first}");
        assert!(one.iter().all(|n| !two_listed.contains(n)));
        assert_eq!(one.len() + two_listed.len(), 55, "{first}");
        assert!(next_link(&two).is_none());
    }
}

fn next_link(html: &str) -> Option<String> {
    let end = html.find(r#"" rel="next""#)?;
    let start = html[..end].rfind("href=\"")? + "href=\"".len();
    Some(html[start..end].to_owned())
}
