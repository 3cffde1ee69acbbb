//! The loopback redirect of RFC 8252 §7.3: a one-shot HTTP listener on
//! 127.0.0.1 that receives the browser's return from tessera. Only the
//! request line matters, so a few lines of HTTP are enough here.

use super::Error;
use std::collections::HashMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The callback's path, registered as `http://127.0.0.1/callback` (any port).
pub const CALLBACK_PATH: &str = "/callback";

/// Waits for the browser's return carrying `state`; returns the code.
/// Requests with another state (a page on the machine probing the port, or
/// a forged callback: RFC 6749 §10.12) are answered 400 and the wait goes
/// on. An error the authorization server sent back ends the login.
pub async fn wait_for_code(
    listener: &TcpListener,
    state: &str,
    issuer: &str,
) -> Result<String, Error> {
    loop {
        let (mut stream, _) = listener.accept().await?;
        let Some(params) = read_callback(&mut stream).await else {
            respond(&mut stream, "404 Not Found", "Nothing here.").await;
            continue;
        };
        if params.get("state").map(String::as_str) != Some(state) {
            respond(
                &mut stream,
                "400 Bad Request",
                "This sign-in was not started here.",
            )
            .await;
            continue;
        }
        // RFC 9207: the answer must come from the issuer we asked.
        if params.get("iss").is_some_and(|iss| iss != issuer) {
            respond(&mut stream, "400 Bad Request", "Wrong issuer.").await;
            return Err(format!("the callback came from issuer {:?}", params.get("iss")).into());
        }
        if let Some(error) = params.get("error") {
            respond(
                &mut stream,
                "200 OK",
                "Sign-in cancelled. You can close this tab.",
            )
            .await;
            let description = params.get("error_description").cloned().unwrap_or_default();
            return Err(format!("authorization failed: {error} {description}").into());
        }
        if let Some(code) = params.get("code") {
            respond(&mut stream, "200 OK", "Signed in. You can close this tab.").await;
            return Ok(code.clone());
        }
        respond(&mut stream, "400 Bad Request", "No code.").await;
    }
}

/// The query of a `GET /callback?...` request, or `None` for anything else.
async fn read_callback(stream: &mut TcpStream) -> Option<HashMap<String, String>> {
    let mut head = Vec::new();
    let mut buf = [0; 1024];
    // The request line and headers; a browser sends no body with a GET.
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let target = head.strip_prefix("GET ")?.split(' ').next()?;
    let url = url::Url::parse(&format!("http://127.0.0.1{target}")).ok()?;
    (url.path() == CALLBACK_PATH).then(|| url.query_pairs().into_owned().collect())
}

async fn respond(stream: &mut TcpStream, status: &str, text: &str) {
    let page =
        format!("<!doctype html><meta charset=\"utf-8\"><title>Sign-in</title><p>{text}</p>");
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
        page.len()
    );
    // The browser may have gone; the login's outcome does not depend on it.
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}
