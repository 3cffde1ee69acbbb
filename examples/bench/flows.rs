//! The authorization-code flow as a browser and a web app drive it: the
//! authorization request (PKCE S256) is sent to the login page, the user
//! signs in there, tessera sends the browser back with a code, the app
//! redeems it. Each flow is a fresh browser (its own cookies), so each one
//! signs in: the flow costs a password check.

use super::BenchError;
use super::load::Window;
use super::server::{ALICE, REDIRECT_URI, WEB};
use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Runs `browsers` flows at a time until the window closes.
pub async fn code_flows(
    base: &str,
    browsers: usize,
    window: Arc<Window>,
) -> Result<(), BenchError> {
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let counter = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..browsers)
        .map(|_| {
            let (http, base, window, counter) = (
                http.clone(),
                base.to_owned(),
                window.clone(),
                counter.clone(),
            );
            tokio::spawn(async move {
                loop {
                    code_flow(&http, &base, counter.fetch_add(1, Ordering::Relaxed)).await?;
                    if !window.record() {
                        return Ok::<(), BenchError>(());
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await??;
    }
    Ok(())
}

/// One flow, the `n`th: its PKCE verifier and state derive from `n`, so
/// every run sends the same requests.
pub async fn code_flow(http: &Client, base: &str, n: u64) -> Result<(), BenchError> {
    let verifier = URL_SAFE_NO_PAD.encode(digest(&SHA256, format!("bench-{n}").as_bytes()));
    let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()));
    let state = format!("state-{n}");
    let mut browser = Browser::default();

    let to_login = browser
        .send(http.get(format!("{base}/oauth2/authorize")).query(&[
            ("client_id", WEB.0),
            ("redirect_uri", REDIRECT_URI),
            ("response_type", "code"),
            ("scope", "openid bench:read"),
            ("state", &state),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]))
        .await?;
    let login = absolute(base, &redirect(&to_login, "authorize sends to login")?);
    let page = browser.send(http.get(&login)).await?.text().await?;
    let csrf = hidden_csrf(&page).ok_or("no csrf_token on the login page")?;
    let signed_in = browser
        .send(http.post(&login).header(ORIGIN, base).form(&[
            ("csrf_token", csrf),
            ("username", ALICE.0),
            ("password", ALICE.1),
        ]))
        .await?;
    let back = absolute(base, &redirect(&signed_in, "login sends back")?);
    let callback = browser.send(http.get(&back)).await?;
    let callback = url::Url::parse(&redirect(&callback, "authorize answers")?)?;
    let param = |name: &str| {
        callback
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    if param("state").as_deref() != Some(state.as_str()) {
        return Err(format!("the callback lost the state: {callback}").into());
    }
    let code = param("code").ok_or_else(|| format!("no code: {callback}"))?;
    let tokens = http
        .post(format!("{base}/oauth2/token"))
        .basic_auth(WEB.0, Some(WEB.1))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
        ])
        .send()
        .await?;
    if tokens.status() != StatusCode::OK {
        return Err(format!("the code was refused: {}", tokens.text().await?).into());
    }
    Ok(())
}

/// The cookies one browser holds.
#[derive(Default)]
struct Browser {
    cookies: Vec<(String, String)>,
}

impl Browser {
    async fn send(&mut self, request: reqwest::RequestBuilder) -> Result<Response, BenchError> {
        let header: Vec<String> = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        let request = match header.is_empty() {
            true => request,
            false => request.header(COOKIE, header.join("; ")),
        };
        let response = request.send().await?;
        for set in response.headers().get_all(SET_COOKIE) {
            let pair = set.to_str()?.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.retain(|(kept, _)| kept != name);
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
        Ok(response)
    }
}

fn redirect(response: &Response, what: &str) -> Result<String, BenchError> {
    match response.headers().get(LOCATION) {
        Some(location) if response.status() == StatusCode::SEE_OTHER => {
            Ok(location.to_str()?.to_owned())
        }
        _ => Err(format!("{what}: expected a 303, got {}", response.status()).into()),
    }
}

fn absolute(base: &str, location: &str) -> String {
    match location.starts_with('/') {
        true => format!("{base}{location}"),
        false => location.to_owned(),
    }
}

/// The login form's `csrf_token` (base64url: nothing to unescape).
fn hidden_csrf(page: &str) -> Option<&str> {
    const MARKER: &str = r#"name="csrf_token" value=""#;
    let start = page.find(MARKER)? + MARKER.len();
    let end = page[start..].find('"')? + start;
    Some(&page[start..end])
}
