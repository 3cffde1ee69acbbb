//! Bad input gets a clear 4xx in the surface's own format, never a 500.

use crate::helpers::{base_config, spawn_app, spawn_app_from};
use serde_json::Value;

async fn json_error(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.expect("error body is JSON"))
}

#[tokio::test]
async fn malformed_json_is_a_400_invalid_request() {
    let app = spawn_app().await;
    let response = app
        .post_raw("/api/authenticate", "application/json", "{not json".into())
        .await;
    let (status, body) = json_error(response).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");
    assert!(body["message"].as_str().expect("message").contains("JSON"));
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415() {
    let app = spawn_app().await;
    let response = app
        .post_raw("/api/authenticate", "text/plain", "{}".into())
        .await;
    let (status, body) = json_error(response).await;
    assert_eq!(status, 415);
    assert_eq!(body["error"], "unsupported_media_type");
}

#[tokio::test]
async fn an_oversized_body_is_a_413() {
    let app =
        spawn_app_from(&base_config().replace("workers = 2", "workers = 2\nmax_body_bytes = 2048"))
            .await;
    let big = format!(r#"{{"input": {{"username": "{}"}}}}"#, "a".repeat(4096));
    let response = app
        .post_raw("/api/authenticate", "application/json", big)
        .await;
    let (status, body) = json_error(response).await;
    assert_eq!(status, 413);
    assert_eq!(body["error"], "payload_too_large");
}

#[tokio::test]
async fn unknown_fields_and_non_string_inputs_are_400s() {
    let app = spawn_app().await;
    for body in [
        serde_json::json!({"auth_id": "x", "surprise": true}),
        serde_json::json!({"input": {"username": 42, "password": "x"}}),
        serde_json::json!([1, 2, 3]),
    ] {
        let (status, answer) = json_error(app.authenticate(body.clone()).await).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["error"], "invalid_request");
    }
}

#[tokio::test]
async fn an_overlong_field_is_an_input_error() {
    let app = spawn_app().await;
    let body = serde_json::json!({"input": {"username": "a".repeat(5000), "password": "x"}});
    let (status, answer) = json_error(app.authenticate(body).await).await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"], "invalid_input");
}

#[tokio::test]
async fn validate_without_a_token_field_is_a_400() {
    let app = spawn_app().await;
    let response = app
        .api
        .post(app.url("/api/sessions/validate"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("request");
    let (status, body) = json_error(response).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn garbage_session_headers_and_cookies_are_401s_not_500s() {
    let app = spawn_app().await;
    for token in ["", " ", "a;b", &"x".repeat(4000)] {
        let response = app
            .api
            .get(app.url("/api/session"))
            .header("X-Session-Token", token)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 401, "{token:?}");
    }
    let response = app
        .api
        .get(app.url("/api/session"))
        .header("cookie", "tessera_session=%%%; other")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn a_login_form_with_the_wrong_content_type_is_a_415_page() {
    let app = spawn_app().await;
    let response = app
        .browser
        .post(app.url("/login"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 415);
    assert!(
        response
            .text()
            .await
            .expect("html")
            .contains("The form could not be read")
    );
}

#[tokio::test]
async fn unknown_paths_are_404s_in_the_surfaces_format() {
    let app = spawn_app().await;
    let api = app
        .api
        .get(app.url("/api/nothing"))
        .send()
        .await
        .expect("request");
    let (status, body) = json_error(api).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], "not_found");
    let page = app
        .api
        .get(app.url("/nothing"))
        .send()
        .await
        .expect("request");
    assert_eq!(page.status(), 404);
    assert!(page.text().await.expect("html").contains("Page not found"));
}

#[tokio::test]
async fn wrong_methods_are_4xx() {
    let app = spawn_app().await;
    let response = app
        .api
        .get(app.url("/api/authenticate"))
        .send()
        .await
        .expect("request");
    assert!(response.status().is_client_error(), "{}", response.status());
}
