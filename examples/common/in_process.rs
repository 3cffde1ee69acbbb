//! tessera started in-process for the examples' tests: port 0, in memory,
//! one worker, quiet logs and cheap password hashing (tests want speed,
//! not brute-force resistance). Each example's tests include this file
//! (`#[path]`); it is not part of what an example shows.

use std::sync::Arc;
use tessera::app::Application;
use tessera::clock::{Clock, SystemClock};
use tessera::config::Settings;

/// Starts tessera on the system clock with `sections` (users, clients,
/// `[sessions]`…) after the common ones; returns its URL.
pub fn start_tessera(sections: &str) -> String {
    start_tessera_with("", sections, Arc::new(SystemClock))
}

/// Starts tessera on `clock` with `top` (top-level keys such as `issuer`)
/// before the common sections and `sections` after them; returns where it
/// listens (its issuer unless `top` sets one).
pub fn start_tessera_with(top: &str, sections: &str, clock: Arc<dyn Clock>) -> String {
    let config = format!(
        "{top}
[server]
bind = \"127.0.0.1:0\"
workers = 1
[storage]
path = \":memory:\"
[log]
level = \"warn\"
[passwords]
memory_kib = 1024
iterations = 1
{sections}"
    );
    let settings = Settings::from_toml(&config).expect("config");
    let app = Application::build_with_clock(settings, clock).expect("tessera");
    let url = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    url
}
