//! tessera as a test fixture, the way another project's test suite uses it:
//! an in-memory store, seeded users, port 0, then a login over the REST
//! journey and a validation of the token, as a resource server would do.
//!
//! Run it with `cargo run --example fixture`.

use serde_json::{Value, json};
use std::sync::Arc;
use tessera::app::Application;
use tessera::clock::SystemClock;
use tessera::config::Settings;

const CONFIG: &str = r#"
[server]
bind = "127.0.0.1:0"

[storage]
path = ":memory:"

# Cheap hashing: fixtures want speed, not brute-force resistance.
[passwords]
memory_kib = 1024
iterations = 1

[[users]]
username = "alice"
password = "correct horse battery staple"
email = "alice@example.com"
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::from_toml(CONFIG)?;
    let app = Application::build_with_clock(settings, Arc::new(SystemClock))?;
    let issuer = app.issuer().to_owned();
    tokio::spawn(app.run_until_stopped());

    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{issuer}/api/authenticate?journey=login"))
        .json(&json!({"input": {"username": "alice", "password": "correct horse battery staple"}}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["session_token"]
        .as_str()
        .ok_or("login failed")?
        .to_owned();
    println!(
        "alice signed in; session expires at {}",
        login["expires_at"]
    );

    let validation: Value = http
        .post(format!("{issuer}/api/sessions/validate"))
        .json(&json!({ "token": token }))
        .send()
        .await?
        .json()
        .await?;
    println!("a resource server asked tessera: {validation}");
    Ok(())
}
