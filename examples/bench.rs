//! Throughput of tessera's hot paths, as ratios to a baseline measured in
//! the same run (these machines are shared and noisy: absolute numbers
//! travel badly, ratios better).
//!
//! `cargo run --release --example bench [REQUESTS]` starts an in-memory
//! server on a loopback port and, with 16 concurrent clients, times:
//! - the baseline, `GET /healthz` (routing, middleware, one store read);
//! - `POST /api/sessions/validate` (what a resource server calls per request);
//! - `POST /oauth2/token` with `client_credentials` (client secret check and
//!   an RS256 signature).
//!
//! Traffic goes to 127.0.0.1 only, and the run stops by itself.

use futures_util::future::join_all;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera::app::Application;
use tessera::clock::SystemClock;
use tessera::config::Settings;

const CONFIG: &str = r#"
[server]
bind = "127.0.0.1:0"
[storage]
path = ":memory:"
[log]
level = "warn"
[passwords]
memory_kib = 1024
iterations = 1
[[users]]
username = "bench"
password = "bench-password-123"
[oauth.scopes]
"bench:read" = "Benchmark"
[[clients]]
client_id = "bench"
client_secret = "bench-secret-bench-secret-bench-secret"
scopes = ["bench:read"]
grant_types = ["client_credentials"]
"#;

const CONCURRENCY: usize = 16;

/// Sends `total` requests made by `request`, `CONCURRENCY` at a time;
/// returns requests per second.
async fn measure<F, Fut>(total: usize, request: F) -> f64
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = reqwest::StatusCode>,
{
    let started = Instant::now();
    let mut done = 0;
    while done < total {
        let batch = CONCURRENCY.min(total - done);
        for status in join_all((0..batch).map(|_| request())).await {
            assert!(status.is_success(), "a benchmark request failed: {status}");
        }
        done += batch;
    }
    total as f64
        / started
            .elapsed()
            .max(Duration::from_micros(1))
            .as_secs_f64()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let total: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let app = Application::build_with_clock(Settings::from_toml(CONFIG)?, Arc::new(SystemClock))?;
    let base = app.issuer().to_owned();
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::new();

    let login: Value = http
        .post(format!("{base}/api/authenticate"))
        .json(&json!({"input": {"username": "bench", "password": "bench-password-123"}}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["session_token"]
        .as_str()
        .ok_or("login failed")?
        .to_owned();

    // Warm-up, so that connection setup is not measured.
    measure(200, || async {
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .map(|r| r.status())
            .unwrap_or_default()
    })
    .await;

    let baseline = measure(total, || async {
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .map(|r| r.status())
            .unwrap_or_default()
    })
    .await;
    let validate = measure(total, || async {
        http.post(format!("{base}/api/sessions/validate"))
            .json(&json!({ "token": token }))
            .send()
            .await
            .map(|r| r.status())
            .unwrap_or_default()
    })
    .await;
    let issue = measure(total / 4, || async {
        http.post(format!("{base}/oauth2/token"))
            .basic_auth("bench", Some("bench-secret-bench-secret-bench-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map(|r| r.status())
            .unwrap_or_default()
    })
    .await;

    println!("{:<40} {:>10} {:>8}", "operation", "req/s", "ratio");
    for (name, rate) in [
        ("GET /healthz (baseline)", baseline),
        ("POST /api/sessions/validate", validate),
        ("POST /oauth2/token client_credentials", issue),
    ] {
        println!("{name:<40} {rate:>10.0} {:>8.2}", rate / baseline);
    }
    Ok(())
}
