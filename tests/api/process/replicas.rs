//! Three tessera processes on one PostgreSQL database serve as one: what
//! one replica writes, the others see, and the invariants that a single
//! process keeps with its store's transactions hold across processes.

use super::{ALICE, BOB, Running, Workspace};
use crate::helpers::postgres;
use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::{StatusCode, redirect};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use url::Url;

const ISSUER: &str = "http://tessera.replicas.test";
const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
const OPS_SECRET: &str = "ops-secret-for-the-replicas-test-0123456789";

/// Replicas started from one config and one sealing key, as an operator
/// runs them behind a load balancer.
struct Replicas {
    /// Holds the config file as long as the replicas run.
    _workspace: Workspace,
    nodes: Vec<Running>,
}

impl Replicas {
    /// `count` replicas on a fresh database, started at the same time (so
    /// that they also migrate the empty database at the same time).
    async fn start(count: usize) -> Self {
        let database = postgres::database();
        let dir = tempfile::tempdir().expect("temp dir");
        let config = format!(
            "issuer = \"{ISSUER}\"\n\
             [server]\nbind = \"127.0.0.1:0\"\n\
             [storage]\nurl = \"{database}\"\n\
             [passwords]\nmemory_kib = 256\niterations = 1\n\
             [lockout]\nmax_failures = 3\n\
             [[users]]\nusername = \"{}\"\npassword = \"{}\"\n\
             [[users]]\nusername = \"{}\"\npassword = \"{}\"\n\
             [[clients]]\nclient_id = \"app\"\nfirst_party = true\n\
             redirect_uris = [\"{REDIRECT_URI}\"]\n\
             scopes = [\"openid\", \"offline_access\"]\n\
             [[clients]]\nclient_id = \"ops\"\nclient_secret = \"{OPS_SECRET}\"\n\
             scopes = [\"tessera:admin\"]\ngrant_types = [\"client_credentials\"]\n",
            ALICE.0, ALICE.1, BOB.0, BOB.1
        );
        std::fs::write(dir.path().join("tessera.toml"), config).expect("write config");
        let workspace = Workspace { dir };
        let key = STANDARD.encode(rand_key());
        let starting = (0..count).map(|_| Running::start(serve(&workspace, &key)));
        let nodes = futures_util::future::join_all(starting).await;
        Self {
            _workspace: workspace,
            nodes,
        }
    }
}

/// `tessera serve` on the replicas' config, with their sealing key.
fn serve(workspace: &Workspace, key: &str) -> tokio::process::Command {
    let mut command = workspace.command(&["serve"]);
    command.env("TESSERA__STORAGE__KEY", key);
    command
}

/// 32 random bytes: the sealing key the replicas share.
fn rand_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    aws_lc_rs::rand::fill(&mut key).expect("random key");
    key
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .expect("client")
}

/// `POST /api/authenticate` with `body`; the status and the answer.
async fn authenticate(node: &Running, body: Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/api/authenticate", node.url))
        .json(&body)
        .send()
        .await
        .expect("request");
    (response.status(), response.json().await.expect("json"))
}

/// A code for alice's session `token`, asked of `node`; and its verifier.
async fn code(node: &Running, token: &str) -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand_key());
    let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()));
    let response = no_redirects()
        .get(format!("{}/oauth2/authorize", node.url))
        .query(&[
            ("response_type", "code"),
            ("client_id", "app"),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid offline_access"),
            ("state", "s"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .header("cookie", format!("tessera_session={token}"))
        .send()
        .await
        .expect("authorize");
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "a first-party code"
    );
    let location = response.headers()["location"].to_str().expect("location");
    let back = Url::parse(location).expect("redirect");
    let code = back
        .query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, code)| code.into_owned())
        .unwrap_or_else(|| panic!("a code in {location}"));
    (code, verifier)
}

async fn token_request(node: &Running, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut form = form.to_vec();
    form.push(("client_id", "app"));
    let response = reqwest::Client::new()
        .post(format!("{}/oauth2/token", node.url))
        .form(&form)
        .send()
        .await
        .expect("token request");
    (response.status(), response.json().await.expect("json"))
}

async fn redeem(node: &Running, code: &str, verifier: &str) -> (StatusCode, Value) {
    token_request(
        node,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ],
    )
    .await
}

async fn refresh(node: &Running, refresh_token: &str) -> (StatusCode, Value) {
    token_request(
        node,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

fn text(body: &Value, key: &str) -> String {
    body[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` in {body}"))
        .to_owned()
}

#[tokio::test]
async fn a_journey_and_its_session_move_freely_between_replicas() {
    let replicas = Replicas::start(3).await;
    let [a, b, c] = &replicas.nodes[..] else {
        unreachable!()
    };
    let (status, started) = authenticate(a, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let auth_id = text(&started, "auth_id");
    let input = json!({"username": ALICE.0, "password": ALICE.1});
    let (status, done) = authenticate(b, json!({"auth_id": auth_id, "input": input})).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "started on one, finished on another: {done}"
    );
    let token = text(&done, "session_token");
    // Taken once: the finished journey is gone for every replica.
    let (status, again) = authenticate(c, json!({"auth_id": auth_id, "input": input})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{again}");
    assert_eq!(again["error"], "journey_expired");

    for node in [a, b, c] {
        assert!(node.validate(&token).await, "valid on {}", node.url);
    }
    let logout = reqwest::Client::new()
        .post(format!("{}/api/logout", c.url))
        .header("x-session-token", &token)
        .send()
        .await
        .expect("logout");
    assert!(logout.status().is_success(), "{}", logout.status());
    assert!(!c.validate(&token).await, "ended at once on {}", c.url);
    // On the others once notified, and within a second at most (README
    // "Several replicas"), plus this test's requests.
    let ended = tokio::time::Instant::now();
    for node in [a, b] {
        while node.validate(&token).await {
            assert!(
                ended.elapsed() < Duration::from_millis(2500),
                "still valid on {} {:?} after the logout",
                node.url,
                ended.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn failures_on_every_replica_count_against_one_lockout() {
    let replicas = Replicas::start(3).await;
    for node in &replicas.nodes {
        let response = node.login((ALICE.0, "not her password")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Three failures, one per replica: the lockout's threshold.
    for node in &replicas.nodes {
        let response = node.login(ALICE).await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "locked everywhere"
        );
    }
    assert_eq!(replicas.nodes[0].login(BOB).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_code_redeemed_on_two_replicas_at_once_gives_one_set_of_tokens() {
    let replicas = Replicas::start(2).await;
    let [a, b] = &replicas.nodes[..] else {
        unreachable!()
    };
    let token = a.token(ALICE).await;
    for _ in 0..5 {
        let (code, verifier) = code(a, &token).await;
        let (first, second) =
            tokio::join!(redeem(a, &code, &verifier), redeem(b, &code, &verifier));
        let statuses = [first.0, second.0];
        assert_eq!(
            statuses.iter().filter(|s| **s == StatusCode::OK).count(),
            1,
            "exactly one success: {first:?} {second:?}"
        );
        let refused = if first.0 == StatusCode::OK {
            second
        } else {
            first
        };
        assert_eq!(refused.1["error"], "invalid_grant", "{refused:?}");
    }
}

#[tokio::test]
async fn a_refresh_token_replayed_on_another_replica_revokes_its_family() {
    let replicas = Replicas::start(3).await;
    let [a, b, c] = &replicas.nodes[..] else {
        unreachable!()
    };
    let token = a.token(ALICE).await;
    let (code, verifier) = code(a, &token).await;
    let (status, tokens) = redeem(b, &code, &verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let first = text(&tokens, "refresh_token");
    let (status, renewed) = refresh(b, &first).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    let second = text(&renewed, "refresh_token");
    // The client's grace for a lost answer (refresh_reuse_grace_secs) is 5 s.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (status, replay) = refresh(c, &first).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{replay}");
    assert_eq!(replay["error"], "invalid_grant");
    let (status, after) = refresh(a, &second).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the family is revoked: {after}"
    );
}

#[tokio::test]
async fn a_key_rotated_on_one_replica_signs_and_is_published_on_all() {
    let replicas = Replicas::start(3).await;
    let [a, b, c] = &replicas.nodes[..] else {
        unreachable!()
    };
    let before = a.jwks_kids().await;
    assert_eq!(
        before.len(),
        1,
        "the replicas started together made one key: {before:?}"
    );
    for node in [b, c] {
        assert_eq!(node.jwks_kids().await, before);
    }
    let admin = a.client_token("ops", OPS_SECRET).await;
    let admin: Value = admin.json().await.expect("json");
    let rotated = reqwest::Client::new()
        .post(format!("{}/admin/api/keys/rotate", a.url))
        .bearer_auth(text(&admin, "access_token"))
        .json(&json!({}))
        .send()
        .await
        .expect("rotate");
    assert_eq!(rotated.status(), StatusCode::CREATED);
    let kid = text(&rotated.json().await.expect("json"), "kid");
    // Every replica is notified by the database (and looks anyway every
    // 10 s, oauth::KEY_REFRESH, which this deadline does not wait for).
    let rotated_at = tokio::time::Instant::now();
    for node in [b, c] {
        let deadline = rotated_at + Duration::from_secs(3);
        while !node.jwks_kids().await.contains(&kid) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} publishes {kid}",
                node.url
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let answer: Value = node
            .client_token("ops", OPS_SECRET)
            .await
            .json()
            .await
            .expect("json");
        let header = jsonwebtoken::decode_header(text(&answer, "access_token")).expect("jwt");
        assert_eq!(
            header.kid.as_deref(),
            Some(kid.as_str()),
            "{} signs with it",
            node.url
        );
    }
}

#[tokio::test]
async fn sessions_acknowledged_by_a_replica_killed_mid_burst_stay_valid_on_the_others() {
    let mut replicas = Replicas::start(3).await;
    let victim = replicas.nodes.pop().expect("three");
    let victim_url = victim.url.clone();
    let survivors = Arc::new(replicas.nodes);
    let acknowledged_by_victim = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for worker in 0..6 {
        let (survivors, by_victim, stop) = (
            survivors.clone(),
            acknowledged_by_victim.clone(),
            stop.clone(),
        );
        let victim_url = victim_url.clone();
        workers.push(tokio::spawn(async move {
            let mut sessions = Vec::new();
            let mut round = worker;
            while !stop.load(Ordering::SeqCst) {
                round += 1;
                let url = match round % 3 {
                    0 => &victim_url,
                    n => &survivors[n - 1].url,
                };
                let answer = reqwest::Client::new()
                    .post(format!("{url}/api/authenticate"))
                    .json(&json!({"input": {"username": BOB.0, "password": BOB.1}}))
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                // Only what a replica acknowledged counts: a 200 with a token.
                let Ok(answer) = answer else { continue };
                if answer.status() != StatusCode::OK {
                    continue;
                }
                let Ok(body) = answer.json::<Value>().await else {
                    continue;
                };
                if url == &victim_url {
                    by_victim.fetch_add(1, Ordering::SeqCst);
                }
                sessions.push(text(&body, "session_token"));
            }
            sessions
        }));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while acknowledged_by_victim.load(Ordering::SeqCst) < 10 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the burst reaches the victim"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut victim = victim;
    victim.child.start_kill().expect("SIGKILL");
    victim.child.wait().await.expect("killed");
    // The burst goes on a little on the survivors.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let mut sessions = Vec::new();
    for worker in workers {
        sessions.extend(worker.await.expect("worker"));
    }
    assert!(acknowledged_by_victim.load(Ordering::SeqCst) >= 10);
    for token in &sessions {
        for node in survivors.iter() {
            assert!(
                node.validate(token).await,
                "an acknowledged session is valid"
            );
        }
    }
}
