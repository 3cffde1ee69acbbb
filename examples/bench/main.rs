//! tessera's benchmark: the release binary under load on loopback, next to
//! the ceilings of its primitives measured in the same run, as one
//! markdown table of figures, ratios and the targets of issue 10.
//!
//! ```text
//! cargo run --release --example bench [-- --seconds 3 --connections 32 --server PATH]
//!                                         [--postgres postgres://USER:PASS@HOST:PORT/DB]
//! ```
//!
//! It builds `target/release/tessera` first (unless `--server` names a
//! binary), then, in about a minute, with progress on stderr and the table
//! on stdout:
//! - start-up: 20 starts of the fixture config (in memory, RS256, two users
//!   hashed as cheaply as fixture mode does, two clients), spawn to ready
//!   line;
//! - one server, with a client per signing algorithm, under closed-loop
//!   load (`--connections` keep-alive connections, a 1 s warm-up, then a
//!   `--seconds` window, the server's CPU time read from `/proc`): `/healthz`,
//!   session validation, `client_credentials` per algorithm, introspection,
//!   REST password logins and whole authorization-code flows;
//! - the primitives alone, pre-parsed keys, one thread per core: RS256,
//!   ES256 and EdDSA signatures, argon2id hashes (each half a window before
//!   and half after the load it is compared with); and offline access-token
//!   validation on one core, as a resource server does it;
//! - the server's resident memory idle and after the load;
//! - with `--postgres`, the storage backend as a dimension: session
//!   validation and logins on a redb file, then on that (empty) database with one
//!   and three replicas (see `backends`).
//!
//! Absolute figures travel badly between machines (and between minutes on
//! a shared one): the ratios are what to compare. Everything stays on
//! 127.0.0.1, and the requests are the same in every run (fixed users,
//! clients, PKCE verifiers and states). Linux only (`/proc`).

mod backends;
mod ceilings;
mod flows;
mod load;
mod procfs;
mod report;
mod server;
// The resource_server example's own verifier, so that the offline row
// measures exactly what it does; the bench reads fewer of its items.
#[allow(dead_code)]
#[path = "../resource_server/verifier.rs"]
mod verifier;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ceilings::Ceiling;
use load::Window;
use report::Report;
use server::{ALICE, SERVICE, SERVICE_EDDSA, SERVICE_ES256, Server};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tessera::jwa::SigningAlg;

type BenchError = Box<dyn std::error::Error + Send + Sync>;

const WARM_UP: Duration = Duration::from_secs(1);
const STARTS: usize = 20;
/// Browsers running code flows at once (each flow waits on argon2).
const BROWSERS: usize = 8;

struct Options {
    window: Duration,
    connections: usize,
    server: Option<PathBuf>,
    /// A PostgreSQL database to measure the backends on.
    postgres: Option<String>,
}

impl Options {
    fn parse() -> Result<Self, BenchError> {
        let mut options = Options {
            window: Duration::from_secs(3),
            connections: 32,
            server: None,
            postgres: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or(format!("{arg} needs a value"));
            match arg.as_str() {
                "--seconds" => options.window = Duration::from_secs_f64(value()?.parse()?),
                "--connections" => options.connections = value()?.parse()?,
                "--server" => options.server = Some(value()?.into()),
                "--postgres" => options.postgres = Some(value()?),
                _ => {
                    return Err(format!(
                        "unknown argument `{arg}`; usage: bench [--seconds S] [--connections N] [--server PATH] [--postgres URL]"
                    )
                    .into());
                }
            }
        }
        Ok(options)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), BenchError> {
    if cfg!(debug_assertions) {
        return Err("measure a release build: cargo run --release --example bench".into());
    }
    let options = Options::parse()?;
    let binary = match options.server.clone() {
        Some(binary) => binary,
        None => build_server()?,
    };
    let mut report = Report::new(&options);

    progress("start-up, 20 starts of the fixture config");
    let mut starts = Vec::with_capacity(STARTS);
    for _ in 0..STARTS {
        let (server, ready) = Server::start(&binary, server::FIXTURE).await?;
        starts.push(ready);
        if starts.len() == STARTS {
            // Idle: the signing key generated, nothing asked yet.
            tokio::time::sleep(Duration::from_millis(500)).await;
            report.memory_idle(server.rss_mib());
        }
        server.stop().await?;
    }
    report.start_up(&mut starts);

    let config = format!("{}{}", server::FIXTURE, server::LOAD);
    let (server, _) = Server::start(&binary, &config).await?;
    let result = load_and_ceilings(&server, &options, &mut report).await;
    if result.is_err() {
        let log = std::fs::read_to_string(server.log_path()).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        eprintln!("the server's last log lines:");
        for line in tail.iter().rev() {
            eprintln!("  {line}");
        }
        return result;
    }
    report.memory_after_load(server.rss_mib());
    server.stop().await?;
    if let Some(database) = &options.postgres {
        report.backends(backends::measure(&binary, &options, database).await?);
    }
    println!("{report}");
    Ok(())
}

async fn load_and_ceilings(
    server: &Server,
    options: &Options,
    report: &mut Report,
) -> Result<(), BenchError> {
    let http = reqwest::Client::new();
    let base = &server.base;
    let address = server.address;
    let session = sign_in(&http, base).await?;
    let access_token = client_credentials(&http, base, SERVICE).await?;
    let measure = |request: Vec<u8>| async {
        let window = Window::new(WARM_UP, options.window);
        let load = load::hammer(address, request, options.connections, window.clone());
        let (loaded, rate) = tokio::join!(load, window.close(|| server.cpu_time()));
        loaded.map(|()| rate)
    };

    progress("GET /healthz");
    report.healthz(measure(load::get(address, "/healthz")).await?);

    progress("session validation");
    let body = serde_json::json!({ "token": session }).to_string();
    let request = load::post(address, "/api/sessions/validate", JSON, &[], &body);
    report.session_validation(measure(request).await?);

    progress("offline access-token validation, one core");
    let validate = offline_validator(base, &access_token).await?;
    let window = options.window;
    report.offline_validation(blocking(move || Ok(ceilings::one_core(window, validate))).await?);

    for (alg, client) in [
        (SigningAlg::RS256, SERVICE),
        (SigningAlg::ES256, SERVICE_ES256),
        (SigningAlg::EdDSA, SERVICE_EDDSA),
    ] {
        progress(&format!(
            "{} signatures, then client_credentials",
            alg.as_str()
        ));
        let before = blocking(move || ceilings::signatures(alg, window / 2)).await?;
        let body = "grant_type=client_credentials";
        let request = load::post(address, "/oauth2/token", FORM, &[basic(client)], body);
        let rate = measure(request).await?;
        let after = blocking(move || ceilings::signatures(alg, window / 2)).await?;
        report.client_credentials(alg, rate, Ceiling::around(before, after));
    }

    progress("introspection");
    let body = format!("token={access_token}");
    let request = load::post(
        address,
        "/oauth2/introspect",
        FORM,
        &[basic(SERVICE)],
        &body,
    );
    report.introspection(measure(request).await?);

    progress("argon2id hashes around password logins");
    let before = blocking(move || ceilings::password_hashes(window / 2)).await?;
    let body = serde_json::json!({"input": {"username": ALICE.0, "password": ALICE.1}});
    let request = load::post(
        address,
        "/api/authenticate?journey=login",
        JSON,
        &[],
        &body.to_string(),
    );
    report.logins(measure(request).await?);
    let after = blocking(move || ceilings::password_hashes(window / 2)).await?;
    report.argon2(Ceiling::around(before, after));

    progress("authorization-code flows");
    let window = Window::new(WARM_UP, options.window);
    let flows = flows::code_flows(base, BROWSERS, window.clone());
    let (flowed, rate) = tokio::join!(flows, window.close(|| server.cpu_time()));
    flowed?;
    report.code_flows(rate);
    Ok(())
}

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// `client_secret_basic` (RFC 6749 §2.3.1; the bench's ids and secrets
/// need no form-encoding).
fn basic((id, secret): (&str, &str)) -> String {
    format!(
        "Authorization: Basic {}",
        STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// A session token for alice, from the REST login journey.
async fn sign_in(http: &reqwest::Client, base: &str) -> Result<String, BenchError> {
    let answer: serde_json::Value = http
        .post(format!("{base}/api/authenticate?journey=login"))
        .json(&serde_json::json!({"input": {"username": ALICE.0, "password": ALICE.1}}))
        .send()
        .await?
        .json()
        .await?;
    let token = answer["session_token"].as_str();
    Ok(token
        .ok_or(format!("alice cannot sign in: {answer}"))?
        .to_owned())
}

/// An access token from `client_credentials`.
async fn client_credentials(
    http: &reqwest::Client,
    base: &str,
    (id, secret): (&str, &str),
) -> Result<String, BenchError> {
    let answer: serde_json::Value = http
        .post(format!("{base}/oauth2/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?
        .json()
        .await?;
    let token = answer["access_token"].as_str();
    Ok(token
        .ok_or(format!("no token for {id}: {answer}"))?
        .to_owned())
}

/// Offline validation exactly as the resource_server example does it, per
/// request: its `Verifier` (JWKS fetched once, here by discovery) and the
/// scope check of a route. Run on a thread of its own, outside the load's
/// runtime, with a current-thread runtime to drive the verifier's (here
/// never waiting) future.
async fn offline_validator(
    base: &str,
    token: &str,
) -> Result<impl Fn() -> bool + Send + Sync + 'static, BenchError> {
    let verifier = verifier::Verifier::discover(base, SERVICE.0)
        .await
        .map_err(|err| err.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let token = token.to_owned();
    Ok(move || {
        runtime
            .block_on(verifier.verify(&token))
            .is_ok_and(|claims| claims.require_scope("bench:read").is_ok())
    })
}

/// Builds the server binary next to this example's (`cargo run` sets
/// `CARGO`; elsewhere the binary is taken as it is).
fn build_server() -> Result<PathBuf, BenchError> {
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(|examples| examples.parent())
        .ok_or("cannot locate the target directory")?;
    if let Some(cargo) = std::env::var_os("CARGO") {
        progress("building target/release/tessera");
        let status = std::process::Command::new(cargo)
            .args(["build", "--release", "--bin", "tessera"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()?;
        if !status.success() {
            return Err("cargo build --release --bin tessera failed".into());
        }
    }
    Ok(profile_dir.join("tessera"))
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, BenchError> + Send + 'static,
) -> Result<T, BenchError> {
    tokio::task::spawn_blocking(work).await?
}

fn progress(what: &str) {
    eprintln!("bench: {what}…");
}
