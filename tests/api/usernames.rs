//! Usernames (design.md "Usernames"): look-alikes cannot become new
//! accounts, sign-in finds the account whatever width or case is typed, and
//! registration reveals no username before the email is proven.

use crate::helpers::{ALICE, TestApp, location, spawn_app, spawn_app_with};
use serde_json::{Value, json};

const PASSPHRASE: &str = "a long and unusual passphrase";

/// Registers `username` with `email` over REST, up to the code step.
async fn register(app: &TestApp, username: &str, email: &str) -> (u16, Value) {
    let started = app.start_named("register").await;
    app.submit(
        &started["auth_id"],
        json!({"username": username, "email": email, "password": PASSPHRASE}),
    )
    .await
}

/// The parts of a step that must not depend on whether a name is taken.
fn shape(step: &Value) -> Value {
    let mut step = step.clone();
    step.as_object_mut().expect("object").remove("auth_id");
    step
}

#[tokio::test]
async fn invisible_and_mixed_script_look_alikes_are_refused_at_registration() {
    let app = spawn_app().await;
    for (username, expected) in [
        ("alice\u{200b}", "invisible"),
        ("\u{430}lice", "mixes scripts"),
    ] {
        let (status, step) = register(&app, username, "eve@example.com").await;
        assert_eq!(status, 200, "{step}");
        assert_eq!(step["step"], "register", "{username:?}");
        let message = step["message"].as_str().expect("message");
        assert!(message.contains(expected), "{username:?}: {message}");
    }
    assert!(app.mails_to("eve@example.com").is_empty());
}

#[tokio::test]
async fn width_and_composition_variants_of_a_taken_name_end_as_taken_after_the_code() {
    let app = spawn_app_with(&format!(
        "[[users]]\nusername = \"jos\u{e9}\"\npassword = \"{PASSPHRASE}\"\n"
    ))
    .await;
    for (nth, (variant, canonical)) in [("ａｌｉｃｅ", "alice"), ("jose\u{301}", "jos\u{e9}")]
        .into_iter()
        .enumerate()
    {
        let email = format!("new{nth}@example.com");
        let (status, step) = register(&app, variant, &email).await;
        assert_eq!(status, 200, "{step}");
        assert_eq!(
            step["step"], "one_time_code",
            "nothing said before the code"
        );
        let code = app.code_for(&email, 1).await;
        let (status, step) = app.submit(&step["auth_id"], json!({"code": code})).await;
        assert_eq!(status, 200, "{step}");
        assert_eq!(step["step"], "register");
        let message = step["message"].as_str().expect("message");
        assert!(
            message.contains(&format!("“{canonical}” is taken")),
            "{message}"
        );
    }
}

#[tokio::test]
async fn a_taken_and_a_free_username_get_the_same_answer_until_the_code() {
    let app = spawn_app().await;
    let started = app.start_named("register").await;
    let (taken_status, taken) = register(&app, "Alice", "carol@example.com").await;
    let (free_status, free) = register(&app, "carol", "carol2@example.com").await;
    assert_eq!(taken_status, free_status);
    assert_eq!(taken["step"], "one_time_code");
    // Same step, fields and message, but for the (masked) address typed.
    let masked = |step: &Value| shape(step).to_string().replace("c•••2@", "c•••l@");
    assert_eq!(masked(&taken), masked(&free));
    assert_eq!(app.code_for("carol@example.com", 1).await.len(), 6);
    assert_eq!(app.code_for("carol2@example.com", 1).await.len(), 6);

    // Refusals before the code do not depend on the name either.
    let (_, taken) = app
        .submit(
            &started["auth_id"],
            json!({"username": "alice", "email": "x@example.com", "password": "short"}),
        )
        .await;
    let started = app.start_named("register").await;
    let (_, free) = app
        .submit(
            &started["auth_id"],
            json!({"username": "zed", "email": "x@example.com", "password": "short"}),
        )
        .await;
    assert_eq!(shape(&taken), shape(&free));
}

#[tokio::test]
async fn a_taken_username_found_after_the_code_is_replaced_without_a_second_code() {
    let app = spawn_app().await;
    let (_, step) = register(&app, "ALICE", "carol@example.com").await;
    let code = app.code_for("carol@example.com", 1).await;
    let (_, step) = app.submit(&step["auth_id"], json!({"code": code})).await;
    assert_eq!(step["step"], "register");
    let fields: Vec<&str> = step["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["name"].as_str().expect("name"))
        .collect();
    assert_eq!(fields, ["username"], "only a new name is asked for");

    let (_, again) = app
        .submit(&step["auth_id"], json!({"username": "Ｂｏｂ"}))
        .await;
    assert!(
        again["message"]
            .as_str()
            .is_some_and(|m| m.contains("“Bob” is taken")),
        "{again}"
    );
    let (status, done) = app
        .submit(&step["auth_id"], json!({"username": "carol"}))
        .await;
    assert_eq!(status, 200, "{done}");
    let token = done["session_token"].as_str().expect("a session");
    let session: Value = app.get_session(token).await.json().await.expect("json");
    assert_eq!(session["user"]["username"], "carol");
    assert_eq!(session["user"]["email"], "carol@example.com");
    assert_eq!(app.mails_to("carol@example.com").len(), 1, "one code only");
    app.login_rest(("carol", PASSPHRASE)).await;
}

#[tokio::test]
async fn a_full_width_upper_case_name_signs_in_as_alice_over_rest_and_html() {
    let app = spawn_app().await;
    let token = app.login_rest(("ＡＬＩＣＥ", ALICE.1)).await;
    let session: Value = app.get_session(&token).await.json().await.expect("json");
    assert_eq!(session["user"]["username"], "alice");

    let response = app.login_html("", ("ＡＬＩＣＥ", ALICE.1)).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), app.url("/account"));
    let account = app.get_page("/account").await.text().await.expect("html");
    assert!(account.contains("alice@example.com"), "{account}");
}

#[tokio::test]
async fn registration_attempts_are_throttled_per_client_address() {
    let app = spawn_app_with("[lockout]\nmax_registrations_per_address = 3\n").await;
    for n in 0..3 {
        let (status, step) = register(&app, &format!("user{n}"), "x@example.com").await;
        assert_eq!(status, 200, "attempt {n}: {step}");
    }
    let started = app.start_named("register").await;
    let response = app
        .authenticate_journey(
            "register",
            json!({"auth_id": started["auth_id"], "input": {"username": "user4", "email": "y@example.com", "password": PASSPHRASE}}),
        )
        .await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!(retry_after > 0 && retry_after <= 15 * 60, "{retry_after}");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "too_many_requests");
    assert!(app.mails_to("y@example.com").is_empty());

    let html = app.get_page("/register").await.text().await.expect("html");
    let page = app
        .submit_form(
            &html,
            &[
                ("username", "user5"),
                ("email", "z@example.com"),
                ("password", PASSPHRASE),
            ],
        )
        .await;
    assert_eq!(page.status(), 429);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("Too many attempts from your network"),
        "{html}"
    );
    // Signing in is counted apart.
    app.login_rest(ALICE).await;
}

#[tokio::test]
async fn a_taken_username_in_the_browser_is_replaced_on_a_page_asking_for_the_name_only() {
    let app = spawn_app().await;
    let html = app.get_page("/register").await.text().await.expect("html");
    let page = app
        .submit_form(
            &html,
            &[
                ("username", "Alice"),
                ("email", "carol@example.com"),
                ("password", PASSPHRASE),
                ("name", ""),
            ],
        )
        .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("We sent a 6-digit code"), "{html}");
    let code = app.code_for("carol@example.com", 1).await;
    let page = app.submit_form(&html, &[("code", &code)]).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("is taken. Choose another."), "{html}");
    assert!(html.contains(r#"name="username""#), "{html}");
    assert!(!html.contains(r#"name="password""#), "{html}");
    assert!(!html.contains(r#"name="email""#), "{html}");
    let done = app.submit_form(&html, &[("username", "carol")]).await;
    assert_eq!(done.status(), 303);
    assert_eq!(location(&done), app.url("/account"));
}

#[tokio::test]
async fn a_registration_journey_without_a_code_says_taken_only_when_the_account_would_be_made() {
    let app = spawn_app_with(
        r#"
[journeys.register]
start = "details"
[journeys.register.nodes.details]
type = "register"
next = { success = "success", failure = "failure" }
"#,
    )
    .await;
    let (status, step) = register(&app, "ａｌｉｃｅ", "carol@example.com").await;
    assert_eq!(status, 200, "{step}");
    assert_eq!(step["step"], "register");
    assert!(
        step["message"]
            .as_str()
            .is_some_and(|m| m.contains("“alice” is taken")),
        "{step}"
    );
    assert_eq!(step["fields"].as_array().map(Vec::len), Some(1));
    let (status, done) = app
        .submit(&step["auth_id"], json!({"username": "carol"}))
        .await;
    assert_eq!(status, 200, "{done}");
    assert!(done["session_token"].is_string(), "{done}");
}

#[tokio::test]
async fn a_password_reset_for_a_full_width_name_reaches_alice() {
    let app = spawn_app().await;
    let started = app.start_named("reset_password").await;
    let (status, step) = app
        .submit(&started["auth_id"], json!({"username": "ＡＬＩＣＥ"}))
        .await;
    assert_eq!(status, 200, "{step}");
    assert_eq!(step["step"], "one_time_code");
    let code = app.code_for("alice@example.com", 1).await;
    let (status, step) = app.submit(&step["auth_id"], json!({"code": code})).await;
    assert_eq!(status, 200, "{step}");
    assert_eq!(step["step"], "set_password");
}
