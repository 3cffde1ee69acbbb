//! Slow and idle clients over raw sockets: a body that never arrives, and
//! keep-alive that is switched off, are bounded by `[server]` settings.

use crate::helpers::http::connect;
use crate::helpers::{TestApp, base_config, spawn_app_from};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Generous: the deadlines under test are one second.
const BOUND: Duration = Duration::from_secs(30);

/// A server whose `[server]` section also holds `settings`.
async fn spawn_with_server_settings(settings: &str) -> TestApp {
    spawn_app_from(&base_config().replacen("[server]\n", &format!("[server]\n{settings}\n"), 1))
        .await
}

/// Reads until the server closes the connection (or the bound passes,
/// which fails the test); returns what it sent.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    tokio::time::timeout(BOUND, stream.read_to_end(&mut answer))
        .await
        .expect("the server ends the connection in time")
        .expect("read");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_answered_408_and_the_connection_closed() {
    let app = spawn_with_server_settings("body_timeout_secs = 1").await;
    let mut stream = connect(&app.address).await;
    stream
        .write_all(
            b"POST /api/authenticate HTTP/1.1\r\nHost: tessera\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"",
        )
        .await
        .expect("write");
    let answer = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
}

#[tokio::test]
async fn a_page_form_that_stops_arriving_is_answered_with_a_408_page() {
    let app = spawn_with_server_settings("body_timeout_secs = 1").await;
    let mut stream = connect(&app.address).await;
    stream
        .write_all(
            b"POST /login HTTP/1.1\r\nHost: tessera\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nuser",
        )
        .await
        .expect("write");
    let answer = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("text/html"), "{answer}");
}

#[tokio::test]
async fn a_body_sent_in_time_is_served_as_before() {
    let app = spawn_with_server_settings("body_timeout_secs = 1").await;
    let response = app.start_journey().await;
    assert!(response["auth_id"].is_string(), "{response}");
}

#[tokio::test]
async fn headers_that_stop_arriving_are_answered_408() {
    let app = spawn_with_server_settings("request_timeout_secs = 1").await;
    let mut stream = connect(&app.address).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: tes")
        .await
        .expect("write");
    let answer = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn keep_alive_0_closes_each_connection_after_its_response() {
    let app = spawn_with_server_settings("keep_alive_secs = 0").await;
    let mut stream = connect(&app.address).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: tessera\r\n\r\n")
        .await
        .expect("write");
    let answer = read_to_close(&mut stream).await.to_lowercase();
    assert!(answer.starts_with("http/1.1 200"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
}
