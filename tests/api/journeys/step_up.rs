//! Step-up journeys: declared in config, run on an existing session.

use super::*;

const STEP_UP: &str = r#"
[journeys.confirm]
title = "Confirm it's you"
step_up = true
start = "code"
[journeys.confirm.nodes.code]
type = "one_time_code"
next = { success = "success", failure = "failure" }
"#;

#[tokio::test]
async fn a_step_up_journey_adds_methods_to_the_session_it_runs_on() {
    let app = spawn_app_with(STEP_UP).await;
    let token = app.login_rest(ALICE).await;
    let started: Value = app
        .api
        .post(app.url("/api/authenticate?journey=confirm"))
        .header("X-Session-Token", &token)
        .json(&json!({}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(started["step"], "one_time_code");
    let code = app.code_for("alice@example.com", 1).await;
    let done: Value = app
        .api
        .post(app.url("/api/authenticate"))
        .header("X-Session-Token", &token)
        .json(&json!({"auth_id": started["auth_id"], "input": {"code": code}}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(
        done["session_token"],
        token.as_str(),
        "same session, same token"
    );
    let session: Value = app.get_session(&token).await.json().await.expect("json");
    assert_eq!(session["amr"], json!(["pwd", "otp"]));
    assert_eq!(
        session["journey"], "login",
        "the session keeps its identity"
    );
}

#[tokio::test]
async fn a_step_up_journey_needs_a_session() {
    let app = spawn_app_with(STEP_UP).await;
    let response = app.authenticate_journey("confirm", json!({})).await;
    assert_eq!(response.status(), 401);
    let page = app.get_page("/login?journey=confirm").await;
    assert_eq!(page.status(), 303);
    assert!(location(&page).starts_with("/login?goto="));
}
