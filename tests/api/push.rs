//! `push_approval`: a sign-in approved (or denied) from a session the user
//! already has, on /account or through `/api/push`, with the waiting step
//! polled over REST and by the page.

use crate::helpers::{
    ALICE, BOB, TestApp, approve_with, csrf_token, form_action, input_value, location, new_browser,
    set_cookie, shown_number, shown_number_in, spawn_app_with,
};
use reqwest::Client;
use serde_json::{Value, json};
use time::Duration;

/// Password, then approval from another session.
const PUSH_JOURNEY: &str = r#"
[journeys.push_login]
start = "password"
[journeys.push_login.nodes.password]
type = "username_password"
next = { success = "push", failure = "failure" }
[journeys.push_login.nodes.push]
type = "push_approval"
next = { approved = "success", denied = "failure", expired = "failure" }
"#;

const LAPTOP: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

/// Signs in with Alice's password over REST; returns the waiting step.
async fn start_rest(app: &TestApp) -> Value {
    let step = app
        .authenticate_from(
            "push_login",
            LAPTOP,
            json!({"input": {"username": ALICE.0, "password": ALICE.1}}),
        )
        .await;
    assert_eq!(step["step"], "push_approval", "{step}");
    step
}

/// Submits the waiting step empty, as a polling REST client does.
async fn poll_rest(app: &TestApp, step: &Value) -> (u16, Value) {
    let response = app
        .authenticate_journey("push_login", json!({"auth_id": step["auth_id"]}))
        .await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

/// The id of the one request waiting for `token`'s user.
async fn only_request(app: &TestApp, token: &str) -> String {
    let requests = app.push_requests(token).await;
    assert_eq!(requests.len(), 1, "{requests:?}");
    requests[0]["id"].as_str().expect("id").to_owned()
}

/// Signs in with Alice's password in `browser`; returns the waiting page.
async fn start_html(app: &TestApp, browser: &Client) -> String {
    let response = app
        .login_html_in(browser, "?journey=push_login", ALICE)
        .await;
    assert_eq!(response.status(), 200);
    response.text().await.expect("html")
}

/// Submits the waiting page's form, as its script or its button does.
async fn submit_waiting(app: &TestApp, browser: &Client, page: &str) -> reqwest::Response {
    browser
        .post(app.url(&form_action(page)))
        .form(&[("csrf_token", csrf_token(page))])
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn a_push_approved_from_another_session_over_rest_finishes_the_sign_in() {
    let app = spawn_app_with(PUSH_JOURNEY).await;
    let phone = app.login_rest(ALICE).await;
    let step = start_rest(&app).await;
    assert_eq!(step["fields"], json!([]));
    assert_eq!(step["poll"], true);
    assert!(
        step["display"][0]["text"]
            .as_str()
            .expect("text")
            .contains("Approve this sign-in on a device where you are signed in")
    );

    let (status, waiting) = poll_rest(&app, &step).await;
    assert_eq!(status, 200);
    assert_eq!(waiting["step"], "push_approval");
    assert_eq!(waiting["message"], "Still waiting for your approval…");

    let requests = app.push_requests(&phone).await;
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request["ip"], "127.0.0.1");
    assert_eq!(request["user_agent"], LAPTOP);
    let at = |key: &str| {
        time::OffsetDateTime::parse(
            request[key].as_str().expect("timestamp"),
            &time::format_description::well_known::Rfc3339,
        )
        .expect("RFC 3339")
    };
    assert_eq!(at("expires_at") - at("created_at"), Duration::seconds(120));

    // The approver picks among numbers, one of which only the signing-in
    // side shows; the request does not say which.
    let number = shown_number(&step);
    let choices = request["choices"].as_array().expect("choices");
    assert_eq!(choices.len(), 3);
    assert!(choices.contains(&json!(number)), "{choices:?}");
    assert!(request.get("number").is_none(), "{request}");
    assert_eq!(
        app.push_requests(&phone).await[0]["choices"],
        json!(choices)
    );

    let id = request["id"].as_str().expect("id");
    assert_eq!(
        app.answer_push(&phone, id, approve_with(number))
            .await
            .status(),
        204
    );
    assert!(app.push_requests(&phone).await.is_empty());

    let (status, done) = poll_rest(&app, &step).await;
    assert_eq!(status, 200, "{done}");
    let token = done["session_token"].as_str().expect("session token");
    assert_eq!(app.validate(token).await["amr"], json!(["pwd", "push"]));
}

#[tokio::test]
async fn a_push_approved_on_the_account_page_finishes_the_sign_in_in_the_browser() {
    let app = spawn_app_with(PUSH_JOURNEY).await;
    app.login_html("", ALICE).await;
    let laptop = new_browser(LAPTOP);
    let waiting = start_html(&app, &laptop).await;
    assert!(waiting.contains("I approved it, continue"));
    assert!(waiting.contains(r#"data-poll="/login/poll""#));
    assert!(waiting.contains(r#"<script src="/static/journey.js" defer></script>"#));
    assert!(!app.poll(&laptop).await);

    let number = shown_number_in(&waiting);
    let account = app.get_page("/account").await.text().await.expect("html");
    assert!(account.contains("Sign-in requests waiting for you"));
    assert!(account.contains("<strong>Chrome 120 on Linux</strong> from 127.0.0.1"));
    assert!(account.contains(&format!(
        r#"name="number" value="{number}" class="approve" aria-label="Approve with number {number} the sign-in on Chrome 120 on Linux"#
    )));
    assert_eq!(account.matches(r#"name="number" value=""#).count(), 3);
    let approved = app
        .post_form(
            "/account/push",
            &[
                ("csrf_token", &csrf_token(&account)),
                ("request_id", &input_value(&account, "request_id")),
                ("decision", "approve"),
                ("number", &number.to_string()),
            ],
        )
        .await;
    assert_eq!(approved.status(), 303);
    assert_eq!(location(&approved), "/account?done=push_approved");
    let account = app.get_page("/account").await.text().await.expect("html");
    assert!(!account.contains("Sign-in requests waiting for you"));

    assert!(app.poll(&laptop).await);
    let done = submit_waiting(&app, &laptop, &waiting).await;
    assert_eq!(done.status(), 303);
    assert_eq!(location(&done), app.url("/account"));
    assert!(set_cookie(done.headers(), "tessera_session").is_some());
}

#[tokio::test]
async fn the_waiting_page_works_without_javascript_and_polling_never_moves_the_journey_on() {
    let app = spawn_app_with(PUSH_JOURNEY).await;
    let phone = app.login_rest(ALICE).await;
    let laptop = new_browser(LAPTOP);
    let waiting = start_html(&app, &laptop).await;

    let early = submit_waiting(&app, &laptop, &waiting).await;
    assert_eq!(early.status(), 200);
    let html = early.text().await.expect("html");
    assert!(html.contains("Still waiting for your approval…"));
    assert!(html.contains("I approved it, continue"));

    let id = only_request(&app, &phone).await;
    let number = shown_number_in(&html);
    app.answer_push(&phone, &id, approve_with(number)).await;
    // Polled twice: had a poll finished the journey, the submit below
    // would find it gone.
    assert!(app.poll(&laptop).await);
    assert!(app.poll(&laptop).await);
    let done = submit_waiting(&app, &laptop, &html).await;
    assert_eq!(done.status(), 303);
    assert!(set_cookie(done.headers(), "tessera_session").is_some());
}

#[tokio::test]
async fn a_denied_push_fails_the_sign_in_with_a_clear_message() {
    let app = spawn_app_with(PUSH_JOURNEY).await;
    let phone = app.login_rest(ALICE).await;
    let step = start_rest(&app).await;
    let id = only_request(&app, &phone).await;
    assert_eq!(
        app.answer_push(&phone, &id, json!({"decision": "deny"}))
            .await
            .status(),
        204
    );

    let (status, failed) = poll_rest(&app, &step).await;
    assert_eq!(status, 401);
    assert_eq!(failed["error"], "authentication_failed");
    assert_eq!(
        failed["message"],
        "This sign-in was denied from one of your signed-in devices."
    );
    let (status, _) = poll_rest(&app, &step).await;
    assert_eq!(status, 400, "the failed journey is over");
}

#[tokio::test]
async fn a_denied_push_sends_the_browser_back_to_the_start_with_the_message() {
    let app = spawn_app_with(PUSH_JOURNEY).await;
    let phone = app.login_rest(ALICE).await;
    let laptop = new_browser(LAPTOP);
    let waiting = start_html(&app, &laptop).await;
    let id = only_request(&app, &phone).await;
    app.answer_push(&phone, &id, json!({"decision": "deny"}))
        .await;
    assert!(app.poll(&laptop).await);

    let failed = submit_waiting(&app, &laptop, &waiting).await;
    assert_eq!(failed.status(), 401);
    assert!(set_cookie(failed.headers(), "tessera_session").is_none());
    let html = failed.text().await.expect("html");
    assert!(html.contains("This sign-in was denied from one of your signed-in devices."));
    assert!(
        html.contains(r#"name="password""#),
        "back at the first step"
    );
}

#[tokio::test]
async fn an_unanswered_push_expires_and_can_no_longer_be_approved() {
    let app = spawn_app_with(PUSH_JOURNEY).await;
    let phone = app.login_rest(ALICE).await;
    let step = start_rest(&app).await;
    let id = only_request(&app, &phone).await;

    app.clock.advance(Duration::seconds(121));
    assert!(app.push_requests(&phone).await.is_empty());
    let late = app
        .answer_push(&phone, &id, approve_with(shown_number(&step)))
        .await;
    assert_eq!(late.status(), 404);
    let body: Value = late.json().await.expect("json");
    assert_eq!(body["error"], "not_found");

    let (status, failed) = poll_rest(&app, &step).await;
    assert_eq!(status, 401);
    assert!(
        failed["message"]
            .as_str()
            .expect("message")
            .contains("expired before it was answered")
    );
}

#[tokio::test]
async fn the_request_lifetime_follows_the_ttl_option() {
    let app = spawn_app_with(&PUSH_JOURNEY.replace(
        "type = \"push_approval\"",
        "type = \"push_approval\"\nttl_secs = 600",
    ))
    .await;
    let phone = app.login_rest(ALICE).await;
    let step = start_rest(&app).await;
    // Past the default 120 s, within the journey's own 300 s.
    app.clock.advance(Duration::seconds(200));
    let id = only_request(&app, &phone).await;
    let approve = approve_with(shown_number(&step));
    assert_eq!(app.answer_push(&phone, &id, approve).await.status(), 204);
    let (status, done) = poll_rest(&app, &step).await;
    assert_eq!(status, 200);
    assert!(done["session_token"].is_string());
}

#[tokio::test]
async fn only_the_requests_own_user_can_see_and_answer_it() {
    let app = spawn_app_with(PUSH_JOURNEY).await;
    let phone = app.login_rest(ALICE).await;
    let bob = app.login_rest(BOB).await;
    let step = start_rest(&app).await;
    let id = only_request(&app, &phone).await;

    let approve = approve_with(shown_number(&step));
    assert!(app.push_requests(&bob).await.is_empty());
    assert_eq!(
        app.answer_push(&bob, &id, approve.clone()).await.status(),
        404
    );
    let anonymous = app
        .api
        .post(app.url(&format!("/api/push/{id}")))
        .json(&approve)
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), 401);

    let (_, waiting) = poll_rest(&app, &step).await;
    assert_eq!(waiting["step"], "push_approval", "still waiting");
    assert_eq!(app.push_requests(&phone).await.len(), 1);
}

#[tokio::test]
async fn an_answered_push_cannot_be_answered_again() {
    let app = spawn_app_with(PUSH_JOURNEY).await;
    let phone = app.login_rest(ALICE).await;
    let step = start_rest(&app).await;
    let id = only_request(&app, &phone).await;
    let approve = approve_with(shown_number(&step));
    assert_eq!(app.answer_push(&phone, &id, approve).await.status(), 204);
    let deny = json!({"decision": "deny"});
    assert_eq!(app.answer_push(&phone, &id, deny).await.status(), 404);
    let (status, done) = poll_rest(&app, &step).await;
    assert_eq!(status, 200);
    assert!(done["session_token"].is_string());
}

/// A number offered to the approver other than the one the signing-in
/// side shows.
fn a_decoy(request: &Value, shown: u64) -> u64 {
    request["choices"]
        .as_array()
        .expect("choices")
        .iter()
        .filter_map(Value::as_u64)
        .find(|&number| number != shown)
        .expect("a decoy")
}

#[tokio::test]
async fn picking_the_wrong_number_denies_the_sign_in() {
    let app = spawn_app_with(PUSH_JOURNEY).await;
    let phone = app.login_rest(ALICE).await;
    let step = start_rest(&app).await;
    let request = app.push_requests(&phone).await.remove(0);
    let id = request["id"].as_str().expect("id");
    let wrong = a_decoy(&request, shown_number(&step));

    let answer = app.answer_push(&phone, id, approve_with(wrong)).await;
    assert_eq!(answer.status(), 409);
    let body: Value = answer.json().await.expect("json");
    assert_eq!(body["error"], "wrong_number");
    // The request is settled: the right number comes too late.
    let right = approve_with(shown_number(&step));
    assert_eq!(app.answer_push(&phone, id, right).await.status(), 404);

    let (status, failed) = poll_rest(&app, &step).await;
    assert_eq!(status, 401);
    assert_eq!(
        failed["message"],
        "This sign-in was denied from one of your signed-in devices."
    );
}

#[tokio::test]
async fn an_approval_without_a_number_is_refused_and_changes_nothing() {
    let app = spawn_app_with(PUSH_JOURNEY).await;
    let phone = app.login_rest(ALICE).await;
    let step = start_rest(&app).await;
    let id = only_request(&app, &phone).await;

    let blind = app
        .answer_push(&phone, &id, json!({"decision": "approve"}))
        .await;
    assert_eq!(blind.status(), 400);
    let body: Value = blind.json().await.expect("json");
    assert_eq!(body["error"], "invalid_request");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("number")
    );
    let (_, waiting) = poll_rest(&app, &step).await;
    assert_eq!(waiting["step"], "push_approval", "still waiting");
}

/// Approves the one request on `account`, picking `number` if any.
async fn approve_on_page(app: &TestApp, account: &str, number: Option<u64>) -> reqwest::Response {
    let (csrf, request_id) = (csrf_token(account), input_value(account, "request_id"));
    let number = number.map(|number| number.to_string());
    let mut fields = vec![
        ("csrf_token", csrf.as_str()),
        ("request_id", request_id.as_str()),
        ("decision", "approve"),
    ];
    fields.extend(number.as_deref().map(|number| ("number", number)));
    app.post_form("/account/push", &fields).await
}

#[tokio::test]
async fn the_account_page_denies_a_sign_in_approved_with_the_wrong_number() {
    let app = spawn_app_with(PUSH_JOURNEY).await;
    let phone = app.login_rest(ALICE).await;
    app.login_html("", ALICE).await;
    let laptop = new_browser(LAPTOP);
    let waiting = start_html(&app, &laptop).await;
    let request = app.push_requests(&phone).await.remove(0);
    let account = app.get_page("/account").await.text().await.expect("html");
    let blind = approve_on_page(&app, &account, None).await;
    assert_eq!(blind.status(), 400);
    assert!(!app.poll(&laptop).await, "still pending");

    let decoy = a_decoy(&request, shown_number_in(&waiting));
    let wrong = approve_on_page(&app, &account, Some(decoy)).await;
    assert_eq!(wrong.status(), 303);
    assert_eq!(location(&wrong), "/account?done=push_wrong_number");
    let account = app
        .get_page(&location(&wrong))
        .await
        .text()
        .await
        .expect("html");
    assert!(account.contains("That was not the number shown where you are signing in"));
    assert!(!account.contains("Sign-in requests waiting for you"));

    assert!(app.poll(&laptop).await);
    let failed = submit_waiting(&app, &laptop, &waiting).await;
    assert_eq!(failed.status(), 401);
}

#[tokio::test]
async fn an_answer_other_than_approve_or_deny_is_refused() {
    let app = spawn_app_with(PUSH_JOURNEY).await;
    let phone = app.login_rest(ALICE).await;
    start_rest(&app).await;
    let id = only_request(&app, &phone).await;
    let maybe = json!({"decision": "maybe", "number": 42});
    assert_eq!(app.answer_push(&phone, &id, maybe).await.status(), 400);
    assert_eq!(app.push_requests(&phone).await.len(), 1);
}

#[tokio::test]
async fn answering_on_the_account_page_needs_the_csrf_token() {
    let app = spawn_app_with(PUSH_JOURNEY).await;
    app.login_html("", ALICE).await;
    let laptop = new_browser(LAPTOP);
    let waiting = start_html(&app, &laptop).await;
    let account = app.get_page("/account").await.text().await.expect("html");
    let forged = app
        .post_form(
            "/account/push",
            &[
                ("csrf_token", "forged"),
                ("request_id", &input_value(&account, "request_id")),
                ("decision", "approve"),
                ("number", &shown_number_in(&waiting).to_string()),
            ],
        )
        .await;
    assert_eq!(forged.status(), 403);
    assert!(!app.poll(&laptop).await, "still pending");
}

#[tokio::test]
async fn a_cookie_authenticated_answer_from_another_origin_is_refused() {
    let app = spawn_app_with(PUSH_JOURNEY).await;
    app.login_html("", ALICE).await;
    let laptop = new_browser(LAPTOP);
    let waiting = start_html(&app, &laptop).await;
    let account = app.get_page("/account").await.text().await.expect("html");
    let id = input_value(&account, "request_id");
    let approve = approve_with(shown_number_in(&waiting));
    let answer = |origin: String| {
        app.browser
            .post(app.url(&format!("/api/push/{id}")))
            .header("origin", origin)
            .json(&approve)
            .send()
    };

    let cross = answer("http://evil.example".into()).await.expect("request");
    assert_eq!(cross.status(), 403);
    let body: Value = cross.json().await.expect("json");
    assert_eq!(body["error"], "cross_origin_request");
    assert!(!app.poll(&laptop).await, "still pending");

    let own = answer(app.address.clone()).await.expect("request");
    assert_eq!(own.status(), 204);
    assert!(app.poll(&laptop).await);
}

#[tokio::test]
async fn an_answer_from_another_origin_without_a_session_is_unauthenticated_first() {
    let app = spawn_app_with(PUSH_JOURNEY).await;
    let response = app
        .api
        .post(app.url("/api/push/any"))
        .header("origin", "http://evil.example")
        .json(&json!({"decision": "approve"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "unauthenticated");
}

#[tokio::test]
async fn polling_without_a_running_journey_says_answered_so_the_page_submits_and_shows_why() {
    let app = spawn_app_with(PUSH_JOURNEY).await;
    assert!(app.poll(&new_browser(LAPTOP)).await);
}

#[tokio::test]
async fn expired_push_requests_are_purged() {
    let app = spawn_app_with(PUSH_JOURNEY).await;
    start_rest(&app).await;
    let purge = || tessera::journeys::push::purge_expired(&app.ctx).expect("purge");
    assert_eq!(purge(), 0);
    app.clock.advance(Duration::seconds(121));
    assert_eq!(purge(), 1);
}

#[tokio::test]
async fn a_push_step_before_anyone_is_identified_fails_the_journey() {
    let app = spawn_app_with(
        r#"
[journeys.push_first]
start = "push"
[journeys.push_first.nodes.push]
type = "push_approval"
next = { approved = "success", denied = "failure", expired = "failure" }
"#,
    )
    .await;
    let response = app.authenticate_journey("push_first", json!({})).await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "authentication_failed");
}
