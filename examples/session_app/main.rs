//! A first-party web app that trusts tessera's session cookie: the session
//! model, where the app holds no tokens of its own. The browser signs in at
//! tessera, which sets `tessera_session`; browsers send a host's cookies to
//! every port of it, and under `sessions.cookie_domain` to sibling hosts, so
//! the cookie reaches this app too. The app asks tessera
//! (`POST /api/sessions/validate`) whether the session is live, and keeps the
//! answer a few seconds in a small cache (keyed by a hash of the token; the
//! token itself is never stored or logged). A browser without a valid
//! session is sent to tessera's login with `goto` pointing back here.
//!
//! tessera only follows a `goto` to an origin it trusts: list this app's
//! origin in tessera's config, or sign-in lands on tessera's `/account`
//! (`examples/examples.toml` has all this):
//!
//! ```toml
//! [sessions]
//! return_origins = ["http://127.0.0.1:9200"]
//!
//! [[users]]
//! username = "alice"
//! password = "tea-party-at-four"
//! ```
//!
//! ```sh
//! cargo run -- --config examples/examples.toml # terminal 1: tessera on :8080
//! cargo run --example session_app              # terminal 2: the app on :9200
//! ```
//!
//! Open <http://127.0.0.1:9200/> in a browser: you are sent to tessera's
//! login, and back here once signed in. Things to try: sign out with the
//! link (tessera asks to confirm), and note that the app may still greet you
//! for up to `--cache-ttl-secs` (5 s): the price of the cache, which spares
//! tessera a request per page view; end the session from tessera's
//! `/account` in another tab; open the app in a private window. Options:
//! `--tessera` (default `http://127.0.0.1:8080`), `--bind`
//! (`127.0.0.1:9200`), `--public-url` (how browsers reach this app; default
//! `http://` + the bound address).

mod cache;

#[cfg(test)]
mod tests;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, ResponseError, web};
use askama::Template;
use cache::{SessionCache, Verdict};
use clap::Parser;
use serde::Deserialize;
use std::net::TcpListener;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// tessera's session cookie (`sessions.cookie_name`).
const SESSION_COOKIE: &str = "tessera_session";
/// How many validation answers the cache holds at most.
const CACHE_CAPACITY: usize = 10_000;

#[derive(Parser)]
struct Args {
    /// tessera's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    tessera: String,
    #[arg(long, default_value = "127.0.0.1:9200")]
    bind: String,
    /// This app's URL as browsers see it (the origin tessera must trust).
    #[arg(long)]
    public_url: Option<String>,
    /// How long tessera's answer about a session is reused; 0 asks every time.
    #[arg(long, default_value_t = 5)]
    cache_ttl_secs: u64,
}

/// What the app needs to know, shared by its workers.
struct Config {
    tessera: String,
    public_url: String,
    cache_ttl: Duration,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let listener = TcpListener::bind(&args.bind)?;
    let public_url = args
        .public_url
        .unwrap_or(format!("http://{}", listener.local_addr()?));
    println!("session app listening on {public_url}");
    let config = Config {
        tessera: args.tessera.trim_end_matches('/').to_owned(),
        public_url: public_url.trim_end_matches('/').to_owned(),
        cache_ttl: Duration::from_secs(args.cache_ttl_secs),
    };
    serve(listener, config)?.await?;
    Ok(())
}

/// The app on `listener`.
fn serve(listener: TcpListener, config: Config) -> std::io::Result<Server> {
    let sessions = web::Data::new(Sessions {
        http: reqwest::Client::new(),
        validate_url: format!("{}/api/sessions/validate", config.tessera),
        cache: Mutex::new(SessionCache::new(config.cache_ttl, CACHE_CAPACITY)),
    });
    let config = web::Data::new(config);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(sessions.clone())
            .app_data(config.clone())
            .route("/", web::get().to(get_home))
    })
    .listen(listener)?
    .run())
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Session app</title></head>
<body>
  <h1>Hello, {{ username }}</h1>
  <p>tessera says you are signed in as <strong>{{ username }}</strong>
     (user id <code>{{ user_id }}</code>).</p>
  <p><a href="{{ sign_out }}">Sign out</a></p>
</body>
</html>"#
)]
struct HomePage<'a> {
    username: &'a str,
    user_id: &'a str,
    sign_out: String,
}

/// `GET /`: greets the signed-in user, or sends the browser to sign in.
async fn get_home(
    req: HttpRequest,
    sessions: web::Data<Sessions>,
    config: web::Data<Config>,
) -> Result<HttpResponse, AppError> {
    let token = req.cookie(SESSION_COOKIE);
    let verdict = match &token {
        Some(cookie) => sessions.check(cookie.value()).await?,
        None => Verdict::SignedOut,
    };
    let Verdict::SignedIn(user) = verdict else {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, login_url(&config, &req)))
            .finish());
    };
    let page = HomePage {
        username: &user.username,
        user_id: &user.user_id,
        sign_out: format!("{}/logout", config.tessera),
    };
    let html = page.render().map_err(|_| AppError)?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        // Personal: no shared cache may keep it.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html))
}

/// tessera's login page, returning to the URL this request asked for.
fn login_url(config: &Config, req: &HttpRequest) -> String {
    let back = format!("{}{}", config.public_url, req.uri());
    let mut url = format!("{}/login?", config.tessera);
    url.push_str(
        &url::form_urlencoded::Serializer::new(String::new())
            .append_pair("goto", &back)
            .finish(),
    );
    url
}

/// Session checks against tessera, through the cache.
struct Sessions {
    http: reqwest::Client,
    validate_url: String,
    cache: Mutex<SessionCache>,
}

/// tessera's answer to `POST /api/sessions/validate`.
#[derive(Deserialize)]
struct Validation {
    valid: bool,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    username: String,
}

impl Sessions {
    async fn check(&self, token: &str) -> Result<Verdict, AppError> {
        let key = cache::key_of(token);
        if let Some(verdict) = self.lock().get(&key, Instant::now()) {
            return Ok(verdict);
        }
        let answer: Validation = async {
            self.http
                .post(&self.validate_url)
                .timeout(Duration::from_secs(5))
                .json(&serde_json::json!({ "token": token }))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await
        }
        .await
        .map_err(|err| {
            // reqwest's error names the URL, never the body: no token here.
            tracing::warn!(%err, "cannot validate a session with tessera");
            AppError
        })?;
        let verdict = if answer.valid {
            Verdict::SignedIn(cache::User {
                user_id: answer.user_id,
                username: answer.username,
            })
        } else {
            Verdict::SignedOut
        };
        self.lock().put(key, verdict.clone(), Instant::now());
        Ok(verdict)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SessionCache> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// tessera could not be asked: the page cannot be served (502).
#[derive(Debug)]
struct AppError;

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the sign-in service is unavailable; try again shortly")
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        actix_web::http::StatusCode::BAD_GATEWAY
    }
}
