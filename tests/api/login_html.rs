//! The login journey as HTML pages, the account page and sign-out.

use crate::helpers::{
    ALICE, BOB, csrf_token, form_action, location, set_cookie, spawn_app, spawn_app_with,
};

#[tokio::test]
async fn the_login_page_has_labelled_inputs_named_after_the_fields_and_a_csrf_token() {
    let app = spawn_app().await;
    let response = app.get_page("/login").await;
    assert_eq!(response.status(), 200);
    let journey_cookie = set_cookie(response.headers(), "tessera_journey").expect("journey cookie");
    assert!(journey_cookie.contains("HttpOnly"));
    let html = response.text().await.expect("html");
    assert!(html.contains(r#"<label for="field-username">Username</label>"#));
    assert!(html.contains(r#"id="field-username" name="username" type="text""#));
    assert!(html.contains(r#"<label for="field-password">Password</label>"#));
    assert!(html.contains(r#"id="field-password" name="password" type="password""#));
    assert!(html.contains(r#"autocomplete="current-password""#));
    assert!(csrf_token(&html).len() >= 43);
    assert!(html.contains(r#"<link rel="stylesheet" href="/static/style.css">"#));
}

#[tokio::test]
async fn the_stylesheet_is_served_from_the_binary() {
    let app = spawn_app().await;
    let response = app.get_page("/static/style.css").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/css")
    );
    assert!(response.text().await.expect("css").contains("--accent"));
}

#[tokio::test]
async fn signing_in_with_the_form_sets_the_session_cookie_and_lands_on_the_account_page() {
    let app = spawn_app().await;
    let response = app.login_html("", ALICE).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), app.url("/account"));
    let cookie = set_cookie(response.headers(), "tessera_session").expect("session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
        assert!(
            cookie.contains(attribute),
            "{attribute} missing in {cookie}"
        );
    }
    assert!(!cookie.contains("Secure"), "http issuer: no Secure flag");
    let cleared =
        set_cookie(response.headers(), "tessera_journey").expect("journey cookie cleared");
    assert!(cleared.contains("Max-Age=0"));

    let account = app.get_page("/account").await;
    assert_eq!(account.status(), 200);
    let html = account.text().await.expect("html");
    assert!(html.contains("alice@example.com"));
    assert!(html.contains("Alice Liddell"));
    assert!(html.contains("This session"));
}

#[tokio::test]
async fn the_session_cookie_is_secure_with_an_https_issuer_and_carries_the_configured_domain() {
    let app = spawn_app_with(
        "issuer = \"https://id.example.com\"\n[sessions]\ncookie_domain = \"example.com\"\ncookie_name = \"sid\"",
    )
    .await;
    // A browser would not send Secure cookies back over plain http, so read
    // the Set-Cookie of a REST login, which sets the same cookie.
    let response = app
        .authenticate(serde_json::json!({"input": {"username": ALICE.0, "password": ALICE.1}}))
        .await;
    assert_eq!(response.status(), 200);
    let cookie =
        set_cookie(response.headers(), "sid").expect("session cookie under its configured name");
    assert!(cookie.contains("Secure"));
    assert!(cookie.contains("Domain=example.com"));
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again_with_an_error_and_the_username_kept() {
    let app = spawn_app().await;
    let response = app.login_html("", (ALICE.0, "wrong")).await;
    assert_eq!(response.status(), 401);
    assert!(set_cookie(response.headers(), "tessera_session").is_none());
    let html = response.text().await.expect("html");
    assert!(html.contains(r#"role="alert""#));
    assert!(html.contains("Invalid username or password."));
    assert!(html.contains(r#"autocomplete="username" value="alice""#));
    assert!(
        !html.contains("value=\"wrong\""),
        "passwords are never echoed"
    );
    // The fresh form works.
    let csrf = csrf_token(&html);
    let retry = app
        .post_form(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("username", ALICE.0),
                ("password", ALICE.1),
            ],
        )
        .await;
    assert_eq!(retry.status(), 303);
}

#[tokio::test]
async fn a_form_with_a_wrong_or_missing_csrf_token_is_refused() {
    let app = spawn_app().await;
    let page = app.get_page("/login").await.text().await.expect("html");
    let _ = csrf_token(&page);
    for csrf in ["", "forged-token"] {
        let response = app
            .post_form(
                "/login",
                &[
                    ("csrf_token", csrf),
                    ("username", ALICE.0),
                    ("password", ALICE.1),
                ],
            )
            .await;
        assert_eq!(response.status(), 403, "csrf {csrf:?}");
        assert!(set_cookie(response.headers(), "tessera_session").is_none());
    }
}

#[tokio::test]
async fn a_form_posted_without_the_journey_cookie_is_refused() {
    let app = spawn_app().await;
    let page = app.get_page("/login").await.text().await.expect("html");
    let csrf = csrf_token(&page);
    // Another client: a cross-site attacker has the token but not the cookie.
    let response = app
        .api
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", ALICE.0),
            ("password", ALICE.1),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn a_goto_on_tessera_is_followed_and_one_elsewhere_is_ignored() {
    let app = spawn_app().await;
    let response = app.login_html("?goto=%2Faccount%3Fx%3D1", ALICE).await;
    assert_eq!(location(&response), app.url("/account?x=1"));
    let other = spawn_app().await;
    let response = other
        .login_html("?goto=https%3A%2F%2Fevil.example%2F", BOB)
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), other.url("/account"));
}

#[tokio::test]
async fn a_goto_to_a_return_origin_sends_the_browser_back_to_that_app() {
    let app = spawn_app_with("[sessions]\nreturn_origins = [\"https://wiki.example.com\"]\n").await;
    let response = app
        .login_html("?goto=https%3A%2F%2Fwiki.example.com%2Fpage", ALICE)
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "https://wiki.example.com/page");
    let response = app
        .login_html("?goto=https%3A%2F%2Fother.example.com%2Fpage", BOB)
        .await;
    assert_eq!(location(&response), app.url("/account"));
}

#[tokio::test]
async fn the_goto_survives_a_failed_attempt() {
    let app = spawn_app().await;
    let failed = app
        .login_html("?goto=%2Faccount%3Fnext%3D1", (ALICE.0, "wrong"))
        .await;
    let html = failed.text().await.expect("html");
    let action = form_action(&html);
    assert_eq!(action, "/login?goto=%2Faccount%3Fnext%3D1");
    let retry = app
        .post_form(
            &action,
            &[
                ("csrf_token", &csrf_token(&html)),
                ("username", ALICE.0),
                ("password", ALICE.1),
            ],
        )
        .await;
    assert_eq!(location(&retry), app.url("/account?next=1"));
}

#[tokio::test]
async fn the_account_page_without_a_session_sends_the_browser_to_sign_in_and_back() {
    let app = spawn_app().await;
    let response = app.get_page("/account").await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/login?goto=%2Faccount");
}

#[tokio::test]
async fn an_account_form_without_a_csrf_token_is_refused_like_a_forged_one() {
    let app = spawn_app().await;
    let other_token = app.login_rest(ALICE).await;
    app.login_html("", ALICE).await;
    let other_id = app.session_id(&other_token).await;
    let refused = app
        .post_form("/account/sessions/end", &[("session_id", &other_id)])
        .await;
    assert_eq!(refused.status(), 403);
    assert_eq!(app.validate(&other_token).await["valid"], true);
}

#[tokio::test]
async fn an_account_form_without_a_session_sends_the_browser_to_sign_in_whatever_its_csrf_token() {
    let app = spawn_app().await;
    for csrf in ["", "forged"] {
        let response = app
            .post_form(
                "/account/sessions/end",
                &[("csrf_token", csrf), ("session_id", "any")],
            )
            .await;
        assert_eq!(response.status(), 303, "csrf {csrf:?}");
        assert!(location(&response).starts_with("/login?goto="));
    }
}

#[tokio::test]
async fn the_account_page_lists_sessions_and_ends_another_one() {
    let app = spawn_app().await;
    let other_token = app.login_rest(ALICE).await;
    app.login_html("", ALICE).await;
    let html = app.get_page("/account").await.text().await.expect("html");
    assert_eq!(html.matches(r#"name="session_id""#).count(), 2);
    let other_id = app.session_id(&other_token).await;
    let csrf = csrf_token(&html);
    let forged = app
        .post_form(
            "/account/sessions/end",
            &[("csrf_token", "forged"), ("session_id", &other_id)],
        )
        .await;
    assert_eq!(forged.status(), 403);
    assert_eq!(app.validate(&other_token).await["valid"], true);

    let ended = app
        .post_form(
            "/account/sessions/end",
            &[("csrf_token", &csrf), ("session_id", &other_id)],
        )
        .await;
    assert_eq!(ended.status(), 303);
    assert_eq!(location(&ended), "/account");
    assert_eq!(app.validate(&other_token).await["valid"], false);
    let html = app.get_page("/account").await.text().await.expect("html");
    assert_eq!(html.matches(r#"name="session_id""#).count(), 1);
}

#[tokio::test]
async fn a_user_cannot_end_someone_elses_session() {
    let app = spawn_app().await;
    let bobs_token = app.login_rest(BOB).await;
    let bobs_id = app.session_id(&bobs_token).await;
    app.login_html("", ALICE).await;
    let html = app.get_page("/account").await.text().await.expect("html");
    app.post_form(
        "/account/sessions/end",
        &[("csrf_token", &csrf_token(&html)), ("session_id", &bobs_id)],
    )
    .await;
    assert_eq!(app.validate(&bobs_token).await["valid"], true);
}

#[tokio::test]
async fn get_logout_only_asks_and_post_logout_with_csrf_signs_out() {
    let app = spawn_app().await;
    app.login_html("", ALICE).await;
    let confirm = app.get_page("/logout").await;
    assert_eq!(confirm.status(), 200);
    let html = confirm.text().await.expect("html");
    assert!(html.contains("Sign out?"));
    assert_eq!(
        app.get_page("/account").await.status(),
        200,
        "GET /logout signs nobody out"
    );

    let forged = app.post_form("/logout", &[("csrf_token", "forged")]).await;
    assert_eq!(forged.status(), 403);
    assert_eq!(app.get_page("/account").await.status(), 200);

    let response = app
        .post_form("/logout", &[("csrf_token", &csrf_token(&html))])
        .await;
    assert_eq!(response.status(), 200);
    let cleared = set_cookie(response.headers(), "tessera_session").expect("cookie cleared");
    assert!(cleared.contains("Max-Age=0"));
    assert!(
        response
            .text()
            .await
            .expect("html")
            .contains("You have signed out")
    );
    assert_eq!(app.get_page("/account").await.status(), 303);
}

#[tokio::test]
async fn pages_carry_security_headers() {
    let app = spawn_app().await;
    let response = app.get_page("/login").await;
    let headers = response.headers();
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .expect("ascii")
            .contains("frame-ancestors 'none'")
    );
    assert!(headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn an_unknown_journey_page_is_a_404_page() {
    let app = spawn_app().await;
    let response = app.get_page("/login?journey=teleport").await;
    assert_eq!(response.status(), 404);
    assert!(
        response
            .text()
            .await
            .expect("html")
            .contains("Unknown sign-in journey")
    );
}
