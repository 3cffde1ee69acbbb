//! The server process over its life: the ready line, SIGTERM, persistence
//! across restarts, one process per store, the first-start admin, logs.

use super::*;

#[tokio::test]
async fn the_binary_prints_one_ready_line_serves_and_stops_gracefully_on_sigterm() {
    let workspace = Workspace::seeded();
    let server = workspace.start().await;
    assert!(server.url.starts_with("http://127.0.0.1:"));
    assert!(!server.url.ends_with(":0"), "the real port is reported");
    let health = reqwest::get(format!("{}/healthz", server.url))
        .await
        .expect("request");
    assert_eq!(health.status(), 200);
    let (code, rest_of_stdout, stderr) = server.stop().await;
    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(rest_of_stdout, "", "the ready line is the only stdout line");
    assert!(stderr.contains("store closed"), "{stderr}");
}

#[tokio::test]
async fn sessions_survive_a_restart_and_the_file_holds_no_plaintext_secret() {
    let workspace = Workspace::seeded();
    let server = workspace.start().await;
    let token = server.token(ALICE).await;
    server.stop().await;

    let server = workspace.start().await;
    assert!(
        server.validate(&token).await,
        "the session survived the restart"
    );
    server.stop().await;

    let bytes = std::fs::read(workspace.store()).expect("read store");
    let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(contains("alice"), "sanity: the scan sees stored text");
    assert!(!contains(ALICE.1), "plaintext password in the store");
    assert!(!contains(&token), "plaintext session token in the store");
}

#[tokio::test]
async fn seeding_is_idempotent_across_restarts() {
    let workspace = Workspace::seeded();
    workspace.start().await.stop().await;
    let first = stored_users(&workspace.store());
    assert_eq!(first.len(), 2);
    let (_, _, stderr) = workspace.start().await.stop().await;
    assert!(
        stderr.contains("unchanged=2") || stderr.contains("unchanged"),
        "{stderr}"
    );
    assert_eq!(
        stored_users(&workspace.store()),
        first,
        "a second start changes nothing"
    );
}

#[tokio::test]
async fn a_second_process_on_the_same_store_is_refused_with_a_clear_message() {
    let workspace = Workspace::seeded();
    let server = workspace.start().await;
    let (code, _, stderr) = workspace.run(&["users", "list"], "").await;
    assert_eq!(code, 1);
    assert!(
        stderr.contains("held by a running tessera server"),
        "{stderr}"
    );
    assert!(!server.validate("x").await, "the server still serves");
    server.stop().await;
}

#[tokio::test]
async fn a_first_start_on_an_empty_store_bootstraps_an_admin_that_can_sign_in() {
    let workspace = Workspace::new("");
    let server = workspace.start().await;
    // The password is on stderr, which is read at stop; sign in afterwards
    // on a restart, which must not create a second admin.
    let (_, _, stderr) = server.stop().await;
    let password = stderr
        .split("with password `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .expect("bootstrap password printed once")
        .to_owned();
    let server = workspace.start().await;
    assert_eq!(server.login(("admin", &password)).await.status(), 200);
    let (_, _, stderr) = server.stop().await;
    assert!(!stderr.contains("First start"));
}

#[tokio::test]
async fn fixture_mode_from_environment_variables_alone_mints_tokens_and_creates_no_admin() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = Command::new(BINARY);
    command
        .arg("serve")
        .current_dir(dir.path())
        .env_remove("TESSERA_CONFIG")
        .env("TESSERA__SERVER__BIND", "127.0.0.1:0")
        .env("TESSERA__STORAGE__PATH", ":memory:")
        .env("TESSERA__FIXTURE__ENABLED", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let server = Running::start(command).await;
    let minted: Value = reqwest::Client::new()
        .post(format!("{}/fixture/token", server.url))
        .json(&json!({"sub": "user-1", "client_id": "app", "scope": "openid"}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let token = minted["access_token"].as_str().expect("access token");
    assert!(minted["id_token"].is_string(), "{minted}");
    assert_eq!(server.jwks_kids().await, [kid_of(token)]);
    let (_, _, stderr) = server.stop().await;
    assert!(!stderr.contains("First start"), "{stderr}");
    assert!(
        std::fs::read_dir(dir.path()).expect("dir").next().is_none(),
        "an in-memory fixture leaves no file behind"
    );
}

const SERVICE_CLIENT: &str = "[oauth.scopes]\n\"reports:read\" = \"Read reports\"\n[[clients]]\nclient_id = \"reporter\"\nclient_secret = \"reporter-secret-that-is-long-enough-0123\"\nscopes = [\"reports:read\"]\ngrant_types = [\"client_credentials\"]\n";

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .expect("header")
        .kid
        .expect("kid")
}

#[tokio::test]
async fn signing_keys_survive_restarts_and_a_rotated_key_stays_published() {
    let workspace = Workspace::new(SERVICE_CLIENT);
    let server = workspace.start().await;
    let first = server.jwks_kids().await;
    assert_eq!(first.len(), 1);
    server.stop().await;

    let server = workspace.start().await;
    assert_eq!(server.jwks_kids().await, first, "no new key at a restart");
    server.stop().await;

    let (code, out, err) = workspace.run(&["keys", "rotate"], "").await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("new RS256 key"), "{out}");
    let server = workspace.start().await;
    let kids = server.jwks_kids().await;
    assert_eq!(kids.len(), 2, "the retired key is still published");
    assert!(kids.contains(&first[0]));
    let token: Value = server
        .client_token("reporter", "reporter-secret-that-is-long-enough-0123")
        .await
        .json()
        .await
        .expect("json");
    let signer = kid_of(token["access_token"].as_str().expect("access_token"));
    assert_ne!(signer, first[0], "the new key signs");
    assert_eq!(kids[0], signer, "the signing key is listed first");
    server.stop().await;

    let bytes = std::fs::read(workspace.store()).expect("read store");
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(
        !contains(b"PRIVATE KEY"),
        "a private key in the clear in the store"
    );
    assert!(
        !contains(b"reporter-secret"),
        "a client secret in the clear in the store"
    );
}

#[tokio::test]
async fn logs_written_to_a_pipe_carry_no_colour_codes() {
    let workspace = Workspace::seeded();
    let server = workspace.start().await;
    reqwest::get(format!("{}/healthz", server.url))
        .await
        .expect("request");
    let (_, _, stderr) = server.stop().await;
    assert!(stderr.contains("request"), "sanity: requests are logged");
    assert!(!stderr.contains('\u{1b}'), "escape codes in {stderr:?}");
}

#[tokio::test]
async fn sigterm_stops_at_once_while_a_client_holds_an_idle_keep_alive_connection() {
    let workspace = Workspace::seeded();
    let mut command = workspace.command(&["serve"]);
    command.env("TESSERA__SERVER__SHUTDOWN_TIMEOUT_SECS", "30");
    let server = Running::start(command).await;
    let mut idle = connect(&server.url).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: tessera\r\n\r\n")
        .await
        .expect("write");
    let mut answer = [0u8; 12];
    idle.read_exact(&mut answer).await.expect("read");
    assert_eq!(&answer, b"HTTP/1.1 200", "the connection stays open, idle");

    let asked = std::time::Instant::now();
    let (code, _, stderr) = server.stop().await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "an idle connection must not hold the stop for the 30 s shutdown timeout"
    );
    assert!(stderr.contains("store closed"), "{stderr}");
}

#[tokio::test]
async fn sigterm_lets_a_request_in_flight_finish() {
    let workspace = Workspace::seeded();
    let mut server = workspace.start().await;
    let body = json!({"input": {"username": ALICE.0, "password": ALICE.1}}).to_string();
    let (first, rest) = body.split_at(10);
    let mut stream = connect(&server.url).await;
    stream
        .write_all(
            format!(
                "POST /api/authenticate HTTP/1.1\r\nHost: tessera\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nExpect: 100-continue\r\n\r\n{first}",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .expect("write");
    // 100 Continue: the server has the headers, the request is in flight.
    let mut interim = [0u8; 12];
    stream.read_exact(&mut interim).await.expect("read");
    assert_eq!(&interim, b"HTTP/1.1 100");

    server.terminate().await;
    server.wait_for_log("stopping").await;
    stream.write_all(rest.as_bytes()).await.expect("write");
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_string(&mut answer))
        .await
        .expect("answered within 30 s")
        .expect("read");
    assert!(answer.contains("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("session_token"), "{answer}");
    let (code, _, stderr) = server.exit().await;
    assert_eq!(code, 0, "{stderr}");
}
