//! HTTP plumbing every surface shares: browsers, redirects and cookies.

use reqwest::header::{HeaderMap, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::{Client, Response};
use tokio::net::TcpStream;

/// Another browser, with its own cookies and this user agent: a second
/// device of the same person.
pub fn new_browser(user_agent: &str) -> Client {
    Client::builder()
        .redirect(Policy::none())
        .cookie_store(true)
        .user_agent(user_agent)
        .build()
        .expect("client")
}

/// The `Set-Cookie` header for `name`, whole.
pub fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The session token a response sets in the `tessera_session` cookie.
pub fn session_cookie(response: &Response) -> String {
    let cookie = set_cookie(response.headers(), "tessera_session").expect("a session cookie");
    cookie["tessera_session=".len()..]
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The `Location` header.
pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A raw TCP connection to the server at `url` (`http://host:port`), for
/// what an HTTP client hides: idle and half-sent requests.
pub async fn connect(url: &str) -> TcpStream {
    TcpStream::connect(url.trim_start_matches("http://"))
        .await
        .expect("connect")
}
