//! The storage backend as a dimension (`--postgres URL`): session
//! validation and REST logins on a redb file, then on PostgreSQL with one
//! replica and with three, as configured by default and without the
//! session cache (`storage.cache_secs = 0`: every validation reads the
//! database, as one of a session seen less than once a second does), all
//! in the same run, each as a ratio to the redb figure. The load is spread evenly over the replicas, as a load balancer
//! spreads it; the CPU column sums the replicas' time (PostgreSQL's own is
//! not counted: it is another process).

use super::load::{self, Rate, Window};
use super::server::{ALICE, FIXTURE, Server};
use super::{BenchError, JSON, Options, WARM_UP, progress, sign_in};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::path::Path;
use std::time::Duration;

/// One storage setup's figures.
pub struct Setup {
    pub storage: &'static str,
    pub replicas: usize,
    /// Whether issue 13's target applies: PostgreSQL as configured by
    /// default.
    pub held_to_target: bool,
    pub validation: Rate,
    pub logins: Rate,
}

/// Measures the redb file, then PostgreSQL at `database_url` with one and
/// with three replicas (sharing one sealing key, as replicas must).
pub async fn measure(
    binary: &Path,
    options: &Options,
    database_url: &str,
) -> Result<Vec<Setup>, BenchError> {
    let dir = tempfile::tempdir()?;
    let redb = format!("path = \"{}\"", dir.path().join("bench.redb").display());
    let postgres = format!("url = \"{database_url}\"");
    let uncached = format!("{postgres}\ncache_secs = 0");
    let mut key = [0u8; 32];
    aws_lc_rs::rand::fill(&mut key).map_err(|_| "no random key")?;
    let key = STANDARD.encode(key);
    let mut setups = Vec::new();
    for (storage, section, replicas) in [
        ("redb file", &redb, 1),
        ("PostgreSQL", &postgres, 1),
        ("PostgreSQL", &postgres, 3),
        ("PostgreSQL, `cache_secs = 0`", &uncached, 1),
        ("PostgreSQL, `cache_secs = 0`", &uncached, 3),
    ] {
        progress(&format!(
            "{storage}, {replicas} replica(s): validation and logins"
        ));
        // The fixture config on this storage, hashing as cheaply as fixture
        // mode (whose in-memory store it would otherwise imply), so that
        // logins measure the store and not argon2.
        let config = FIXTURE.replace("path = \":memory:\"", section).replace(
            "[fixture]\nenabled = true",
            "[passwords]\nmemory_kib = 64\niterations = 1",
        );
        let mut servers = Vec::new();
        for _ in 0..replicas {
            let env = [("TESSERA__STORAGE__KEY", key.as_str())];
            servers.push(Server::start_with(binary, &config, &env).await?.0);
        }
        let result = measure_setup(&servers, options).await;
        for server in servers {
            server.stop().await?;
        }
        let (validation, logins) = result?;
        setups.push(Setup {
            storage,
            replicas,
            held_to_target: section == &postgres,
            validation,
            logins,
        });
    }
    Ok(setups)
}

/// Session validation, then logins, over every server at once.
async fn measure_setup(servers: &[Server], options: &Options) -> Result<(Rate, Rate), BenchError> {
    let http = reqwest::Client::new();
    let session = sign_in(&http, &servers[0].base).await?;
    let body = serde_json::json!({ "token": session }).to_string();
    let validation = spread(servers, options, |server| {
        load::post(server.address, "/api/sessions/validate", JSON, &[], &body)
    })
    .await?;
    let body = serde_json::json!({"input": {"username": ALICE.0, "password": ALICE.1}});
    let logins = spread(servers, options, |server| {
        let path = "/api/authenticate?journey=login";
        load::post(server.address, path, JSON, &[], &body.to_string())
    })
    .await?;
    Ok((validation, logins))
}

/// The request of `request` sent to every server, the connections shared
/// out evenly among them; the combined rate and CPU time.
async fn spread(
    servers: &[Server],
    options: &Options,
    request: impl Fn(&Server) -> Vec<u8>,
) -> Result<Rate, BenchError> {
    let window = Window::new(WARM_UP, options.window);
    let per_server = options.connections.div_ceil(servers.len());
    let loads = servers
        .iter()
        .map(|server| load::hammer(server.address, request(server), per_server, window.clone()));
    let cpu = || {
        servers
            .iter()
            .map(Server::cpu_time)
            .sum::<Option<Duration>>()
    };
    let (loaded, rate) = tokio::join!(futures_util::future::join_all(loads), window.close(cpu));
    loaded.into_iter().collect::<Result<Vec<()>, _>>()?;
    Ok(rate)
}
