//! The binary as its users run it: the ready line, exit codes, graceful
//! shutdown, persistence across restarts, and the `users` commands.

use crate::helpers::http::connect;
use crate::helpers::{ALICE, BOB};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tessera::store::StoragePath;
use tessera::store::Store;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

const BINARY: &str = env!("CARGO_BIN_EXE_tessera");

/// A temp directory with a config that keeps its store in a file there.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new(users: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = format!(
            "[server]\nbind = \"127.0.0.1:0\"\n[storage]\npath = \"{}\"\n[passwords]\nmemory_kib = 256\niterations = 1\n{users}",
            dir.path().join("tessera.redb").display()
        );
        std::fs::write(dir.path().join("tessera.toml"), config).expect("write config");
        Self { dir }
    }

    fn seeded() -> Self {
        Self::new(&format!(
            "[[users]]\nusername = \"{}\"\npassword = \"{}\"\n[[users]]\nusername = \"{}\"\npassword = \"{}\"\n",
            ALICE.0, ALICE.1, BOB.0, BOB.1
        ))
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("tessera.toml")
    }

    fn store(&self) -> PathBuf {
        self.dir.path().join("tessera.redb")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BINARY);
        command
            .args(args)
            .arg("--config")
            .arg(self.config())
            .env_remove("TESSERA_CONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    async fn start(&self) -> Running {
        Running::start(self.command(&["serve"])).await
    }

    /// Runs a CLI command with `stdin`; returns (exit code, stdout, stderr).
    /// Runs `serve` on a configuration it must refuse: exit code 2 before
    /// anything is bound. Returns what it printed to stderr.
    async fn serve_refused(&self) -> String {
        let output = self.command(&["serve"]).output().await.expect("run");
        assert_eq!(output.status.code(), Some(2));
        assert!(output.stdout.is_empty(), "nothing bound");
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    async fn run(&self, args: &[&str], stdin: &str) -> (i32, String, String) {
        let mut child = self.command(args).spawn().expect("spawn");
        let mut input = child.stdin.take().expect("stdin");
        input
            .write_all(stdin.as_bytes())
            .await
            .expect("write stdin");
        drop(input);
        let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
            .await
            .expect("command finishes")
            .expect("output");
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

/// A running server process.
struct Running {
    child: Child,
    url: String,
    stdout: BufReader<tokio::process::ChildStdout>,
    stderr: BufReader<tokio::process::ChildStderr>,
}

impl Running {
    async fn start(mut command: Command) -> Self {
        let mut child = command.spawn().expect("spawn tessera");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(30), stdout.read_line(&mut line))
            .await
            .expect("ready line within 30 s")
            .expect("read stdout");
        let url = line
            .trim_end()
            .strip_prefix("tessera listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self {
            child,
            url,
            stdout,
            stderr,
        }
    }

    /// Sends SIGTERM and waits; returns the exit code, the rest of stdout
    /// and stderr.
    async fn stop(mut self) -> (i32, String, String) {
        self.terminate().await;
        self.exit().await
    }

    /// Sends SIGTERM.
    async fn terminate(&mut self) {
        let pid = self.child.id().expect("pid").to_string();
        let killed = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .expect("kill");
        assert!(killed.success());
    }

    /// Reads the log until a line contains `needle`.
    async fn wait_for_log(&mut self, needle: &str) {
        let mut line = String::new();
        while !line.contains(needle) {
            line.clear();
            let read =
                tokio::time::timeout(Duration::from_secs(30), self.stderr.read_line(&mut line))
                    .await
                    .expect("log line within 30 s")
                    .expect("read stderr");
            assert!(read > 0, "the log ended before {needle:?}");
        }
    }

    /// Waits for the process to end; returns the exit code, the rest of
    /// stdout and stderr.
    async fn exit(mut self) -> (i32, String, String) {
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("graceful stop within 30 s")
            .expect("wait");
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).await.expect("stdout");
        let mut errors = String::new();
        self.stderr
            .read_to_string(&mut errors)
            .await
            .expect("stderr");
        (status.code().unwrap_or(-1), rest, errors)
    }

    async fn login(&self, (username, password): (&str, &str)) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}/api/authenticate", self.url))
            .json(&json!({"input": {"username": username, "password": password}}))
            .send()
            .await
            .expect("request")
    }

    async fn token(&self, who: (&str, &str)) -> String {
        let response = self.login(who).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        body["session_token"].as_str().expect("token").to_owned()
    }

    async fn validate(&self, token: &str) -> bool {
        let body: Value = reqwest::Client::new()
            .post(format!("{}/api/sessions/validate", self.url))
            .json(&json!({ "token": token }))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        body["valid"] == true
    }
}

fn stored_users(path: &Path) -> Vec<tessera::store::User> {
    let store = Store::open(&StoragePath::File(path.to_owned())).expect("open store");
    store.read(|tx| tx.users()).expect("list users")
}

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
async fn invalid_configuration_exits_with_code_2_naming_the_key_before_binding() {
    let workspace = Workspace::seeded();
    let mut command = workspace.command(&["serve"]);
    command.env("TESSERA__SERVER__BIND", "not-an-address");
    let output = command.output().await.expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty(), "no ready line");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("server.bind"), "{stderr}");

    let mut command = workspace.command(&["serve"]);
    command.env("TESSERA__SESSIONS__IDLE_TIMEOUT_SECS", "soon");
    let output = command.output().await.expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("idle_timeout_secs"));
}

#[tokio::test]
async fn a_broken_journey_graph_exits_with_code_2_naming_journey_and_node() {
    let workspace = Workspace::new(
        "[journeys.broken]\nstart = \"a\"\n[journeys.broken.nodes.a]\ntype = \"username_password\"\nnext = { success = \"b\", failure = \"failure\" }\n",
    );
    let stderr = workspace.serve_refused().await;
    assert!(stderr.contains("journeys.broken.nodes.a"), "{stderr}");
    assert!(stderr.contains("unknown node `b`"), "{stderr}");
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
    assert!(stderr.contains("open in another process"), "{stderr}");
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
async fn the_users_command_adds_lists_disables_enables_resets_and_removes() {
    let workspace = Workspace::new("[accounts]\nbootstrap_admin = false\n");
    let (code, out, err) = workspace
        .run(
            &[
                "users",
                "add",
                "dave",
                "--email",
                "dave@example.com",
                "--name",
                "Dave",
            ],
            "first password\n",
        )
        .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created user `dave`"));
    let (code, _, err) = workspace
        .run(&["users", "add", "DAVE"], "another fine password\n")
        .await;
    assert_eq!(code, 1);
    assert!(err.contains("taken"), "{err}");

    let (_, out, _) = workspace.run(&["users", "list"], "").await;
    assert!(
        out.contains("dave") && out.contains("dave@example.com") && out.contains("active"),
        "{out}"
    );

    assert_eq!(workspace.run(&["users", "disable", "dave"], "").await.0, 0);
    let server = workspace.start().await;
    assert_eq!(server.login(("dave", "first password")).await.status(), 401);
    server.stop().await;

    assert_eq!(workspace.run(&["users", "enable", "dave"], "").await.0, 0);
    assert_eq!(
        workspace
            .run(&["users", "set-password", "dave"], "second password\n")
            .await
            .0,
        0
    );
    let server = workspace.start().await;
    assert_eq!(server.login(("dave", "first password")).await.status(), 401);
    assert_eq!(
        server.login(("dave", "second password")).await.status(),
        200
    );
    server.stop().await;

    let (code, out, _) = workspace.run(&["users", "reset-totp", "dave"], "").await;
    assert_eq!(code, 0);
    assert!(out.contains("had no authenticator app"), "{out}");

    assert_eq!(workspace.run(&["users", "remove", "dave"], "").await.0, 0);
    let (_, out, _) = workspace.run(&["users", "list"], "").await;
    assert!(!out.contains("dave"), "{out}");
    let (code, _, err) = workspace.run(&["users", "remove", "dave"], "").await;
    assert_eq!(code, 1);
    assert!(err.contains("no user named"), "{err}");
}

#[tokio::test]
async fn hash_password_prints_a_phc_string_usable_in_the_config() {
    let workspace = Workspace::new("");
    let (code, out, _) = workspace.run(&["hash-password"], "s3cret pass\n").await;
    assert_eq!(code, 0);
    let hash = out.trim();
    assert!(hash.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{hash}");
    let seeded = Workspace::new(&format!(
        "[[users]]\nusername = \"erin\"\npassword_hash = \"{hash}\"\n"
    ));
    let server = seeded.start().await;
    assert_eq!(server.login(("erin", "s3cret pass")).await.status(), 200);
    server.stop().await;
}

const SERVICE_CLIENT: &str = "[oauth.scopes]\n\"reports:read\" = \"Read reports\"\n[[clients]]\nclient_id = \"reporter\"\nclient_secret = \"reporter-secret-that-is-long-enough-0123\"\nscopes = [\"reports:read\"]\ngrant_types = [\"client_credentials\"]\n";

impl Running {
    async fn jwks_kids(&self) -> Vec<String> {
        let jwks: Value = reqwest::get(format!("{}/oauth2/jwks", self.url))
            .await
            .expect("jwks")
            .json()
            .await
            .expect("json");
        jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|key| key["kid"].as_str().expect("kid").to_owned())
            .collect()
    }

    async fn client_token(&self, client_id: &str, secret: &str) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}/oauth2/token", self.url))
            .basic_auth(client_id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token request")
    }
}

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
async fn the_clients_command_adds_a_client_whose_secret_is_shown_once() {
    let workspace = Workspace::new("[oauth.scopes]\n\"reports:read\" = \"Read reports\"\n");
    let (code, out, err) = workspace
        .run(
            &[
                "clients",
                "add",
                "svc",
                "--grant",
                "client_credentials",
                "--scope",
                "reports:read",
            ],
            "",
        )
        .await;
    assert_eq!(code, 0, "{err}");
    let secret = out
        .lines()
        .find_map(|line| line.strip_prefix("client_secret: "))
        .expect("the secret is printed")
        .to_owned();
    assert_eq!(secret.len(), 43, "256 bits");
    let (_, listed, _) = workspace.run(&["clients", "list"], "").await;
    assert!(
        listed.contains("svc") && listed.contains("confidential"),
        "{listed}"
    );
    assert!(!listed.contains(&secret), "the secret is shown once only");

    let server = workspace.start().await;
    assert_eq!(server.client_token("svc", &secret).await.status(), 200);
    assert_eq!(server.client_token("svc", "wrong").await.status(), 401);
    server.stop().await;

    assert_eq!(workspace.run(&["clients", "remove", "svc"], "").await.0, 0);
    let (code, _, err) = workspace.run(&["clients", "remove", "svc"], "").await;
    assert_eq!(code, 1);
    assert!(err.contains("no client"), "{err}");
}

/// design.md "Declarative seeding", word for word: the contract's example.
const CONTRACT_EXAMPLE: &str = r#"issuer = "http://127.0.0.1:8080"       # optional

[server]
bind = "127.0.0.1:8080"

[storage]
path = "tessera.redb"                   # or ":memory:"

[[users]]
username = "alice"
password = "correct horse battery staple"   # or password_hash = "$argon2id$..."
email = "alice@example.com"
name = "Alice Liddell"

[[clients]]
client_id = "notes"
client_secret = "notes-secret"          # omitted => public client (PKCE required)
redirect_uris = ["http://127.0.0.1:9000/callback"]
post_logout_redirect_uris = ["http://127.0.0.1:9000/"]   # optional
scopes = ["openid", "profile", "email", "offline_access", "notes:read"]
grant_types = ["authorization_code", "refresh_token", "client_credentials"]
first_party = false                     # true => implied consent, no consent page
"#;

#[tokio::test]
async fn the_contracts_example_config_starts_and_warns_about_its_undeclared_scope() {
    let workspace = Workspace::new("");
    let config = CONTRACT_EXAMPLE
        .replace("\"127.0.0.1:8080\"\n", "\"127.0.0.1:0\"\n")
        .replace(
            "\"tessera.redb\"",
            &format!("{:?}", workspace.store().display().to_string()),
        );
    assert!(config.contains("bind = \"127.0.0.1:0\""), "{config}");
    std::fs::write(workspace.config(), config).expect("write config");

    let server = workspace.start().await;
    // The short secret of the example keeps working (with a warning).
    let response = server.client_token("notes", "notes-secret").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["scope"], "notes:read", "{body}");
    let (code, _, stderr) = server.stop().await;
    assert_eq!(code, 0, "{stderr}");
    let warning = stderr
        .lines()
        .find(|line| line.contains("WARN") && line.contains("[oauth.scopes]"))
        .unwrap_or_else(|| panic!("a warning about undeclared scopes: {stderr}"));
    assert!(warning.contains("notes:read"), "{warning}");
    assert!(stderr.contains("shorter than 32 characters"), "{stderr}");
}

#[tokio::test]
async fn clients_add_accepts_an_undeclared_scope_on_a_default_config() {
    let workspace = Workspace::new("");
    let (code, out, err) = workspace
        .run(
            &[
                "clients",
                "add",
                "notes",
                "--redirect-uri",
                "http://127.0.0.1:9000/callback",
                "--scope",
                "openid",
                "--scope",
                "notes:read",
            ],
            "",
        )
        .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("client_secret: "), "{out}");
    assert!(
        err.contains("notes:read") && err.contains("[oauth.scopes]"),
        "a warning names the scope: {err}"
    );
    let (_, listed, _) = workspace.run(&["clients", "list"], "").await;
    assert!(listed.contains("openid notes:read"), "{listed}");
}

#[tokio::test]
async fn clients_add_refuses_a_logo_or_home_page_that_is_not_https_naming_the_option() {
    let workspace = Workspace::new("");
    for (option, key) in [("--logo-uri", "logo_uri"), ("--client-uri", "client_uri")] {
        let (code, _, err) = workspace
            .run(
                &[
                    "clients",
                    "add",
                    "web",
                    "--redirect-uri",
                    "https://web.example.com/cb",
                    option,
                    "javascript:alert(1)",
                ],
                "",
            )
            .await;
        assert_eq!(code, 2, "a usage error: {err}");
        assert!(err.contains(key), "{err}");
    }
    let (_, listed, _) = workspace.run(&["clients", "list"], "").await;
    assert!(
        listed.contains("0 client(s)"),
        "nothing was created: {listed}"
    );
    let (code, _, err) = workspace
        .run(
            &[
                "clients",
                "add",
                "web",
                "--redirect-uri",
                "https://web.example.com/cb",
                "--logo-uri",
                "https://web.example.com/logo.png",
            ],
            "",
        )
        .await;
    assert_eq!(code, 0, "{err}");
}

#[tokio::test]
async fn a_configured_logo_that_is_not_https_exits_with_code_2_naming_the_key() {
    let workspace = Workspace::new(
        "[[clients]]\nclient_id = \"web\"\nredirect_uris = [\"https://web.example.com/cb\"]\nlogo_uri = \"javascript:alert(1)\"\n",
    );
    let stderr = workspace.serve_refused().await;
    assert!(stderr.contains("clients[0].logo_uri"), "{stderr}");
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
async fn an_unusable_store_path_exits_2_naming_storage_path_and_the_path() {
    let workspace = Workspace::seeded();
    let (code, out, err) = workspace.run(&["config", "check"], "").await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("configuration is valid"), "{out}");
    assert!(!workspace.store().exists(), "the check creates nothing");
    // An empty file becomes a store at the first start: nothing to report.
    std::fs::write(workspace.store(), "").expect("write");
    let (code, out, err) = workspace.run(&["config", "check"], "").await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("usernames         not checked"), "{out}");
    std::fs::remove_file(workspace.store()).expect("remove");

    let garbage = workspace.dir.path().join("garbage.redb");
    std::fs::write(&garbage, vec![b'x'; 8192]).expect("write");
    // Under a regular file: no one, not even root, can make a file there.
    let plain = workspace.dir.path().join("plain");
    std::fs::write(&plain, "").expect("write");
    let under_a_file = plain.join("tessera.redb");
    for path in [&garbage, &under_a_file] {
        for args in [&["serve"][..], &["config", "check"], &["users", "list"]] {
            let mut command = workspace.command(args);
            command.env("TESSERA__STORAGE__PATH", path);
            let output = command.output().await.expect("run");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(
                output.stdout.is_empty(),
                "{args:?}: nothing bound or listed"
            );
            assert!(stderr.contains("`storage.path`"), "{stderr}");
            assert!(stderr.contains(&path.display().to_string()), "{stderr}");
        }
    }
}

#[tokio::test]
async fn an_unknown_key_is_reported_with_the_file_or_the_variable_it_came_from() {
    let in_file = Workspace::new("[log]\nlevle = \"debug\"\n");
    let (code, _, err) = in_file.run(&["config", "check"], "").await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("levle"), "{err}");
    assert!(
        err.contains(&in_file.config().display().to_string()),
        "{err}"
    );

    let in_env = Workspace::seeded();
    let mut command = in_env.command(&["config", "check"]);
    command.env("TESSERA__SERVER__BND", "127.0.0.1:1");
    let output = command.output().await.expect("run");
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("`bnd`"), "{err}");
    assert!(err.contains("TESSERA__SERVER__BND"), "{err}");
    assert!(
        !err.contains("tessera.toml"),
        "not blamed on the file: {err}"
    );
}

#[tokio::test]
async fn usage_and_configuration_errors_exit_2_and_runtime_failures_exit_1() {
    let workspace = Workspace::new("[accounts]\nbootstrap_admin = false\n");
    let (code, _, err) = workspace.run(&["users", "frobnicate"], "").await;
    assert_eq!(code, 2, "an unknown subcommand: {err}");
    let (code, _, err) = workspace
        .run(&["users", "add", "two words"], "a long enough password\n")
        .await;
    assert_eq!(code, 2, "an invalid username: {err}");
    let (code, _, err) = workspace.run(&["clients", "add", "bad id!"], "").await;
    assert_eq!(code, 2, "an invalid client id: {err}");
    let (code, _, err) = workspace.run(&["users", "remove", "nobody"], "").await;
    assert_eq!(code, 1, "a user that does not exist: {err}");
}

#[tokio::test]
async fn the_users_command_refuses_passwords_the_policy_refuses() {
    let workspace = Workspace::new("[accounts]\nbootstrap_admin = false\n");
    let (code, _, err) = workspace.run(&["users", "add", "erin"], "five5\n").await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("at least 8 characters"), "{err}");
    let (code, _, err) = workspace
        .run(&["users", "add", "erin"], "password123\n")
        .await;
    assert_eq!(code, 2, "a common password: {err}");
    let (_, listed, _) = workspace.run(&["users", "list"], "").await;
    assert!(!listed.contains("erin"), "{listed}");

    let (code, _, err) = workspace
        .run(&["users", "add", "erin"], "a fine long password\n")
        .await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = workspace
        .run(&["users", "set-password", "erin"], "short\n")
        .await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("at least 8 characters"), "{err}");
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

#[tokio::test]
async fn a_seeded_look_alike_username_fails_validation_with_exit_2_naming_the_key() {
    let workspace = Workspace::new("[[users]]\nusername = \"\u{430}lice\"\npassword = \"x\"\n");
    for args in [&["config", "check"][..], &["serve"][..]] {
        let (code, out, err) = workspace.run(args, "").await;
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "nothing bound or printed: {out}");
        assert!(err.contains("users[0].username"), "{err}");
        assert!(err.contains("mixes scripts"), "{err}");
    }
    let workspace = Workspace::new(
        "[[users]]\nusername = \"alice\"\npassword = \"x\"\n[[users]]\nusername = \"ＡＬＩＣＥ\"\npassword = \"y\"\n",
    );
    let (code, _, err) = workspace.run(&["config", "check"], "").await;
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("users[1].username") && err.contains("declared twice"),
        "{err}"
    );
}

#[tokio::test]
async fn the_users_command_refuses_look_alikes_and_finds_names_in_any_width() {
    let workspace = Workspace::new("[accounts]\nbootstrap_admin = false\n");
    let (code, _, err) = workspace
        .run(&["users", "add", "\u{430}lice"], "a long passphrase\n")
        .await;
    assert_ne!(code, 0);
    assert!(err.contains("mixes scripts"), "{err}");
    let (code, _, err) = workspace
        .run(&["users", "add", "alice\u{200b}"], "a long passphrase\n")
        .await;
    assert_ne!(code, 0);
    assert!(err.contains("invisible"), "{err}");
    assert_eq!(
        workspace
            .run(&["users", "add", "dave"], "a long passphrase\n")
            .await
            .0,
        0
    );
    let (code, _, err) = workspace
        .run(&["users", "add", "ＤＡＶＥ"], "a long passphrase\n")
        .await;
    assert_ne!(code, 0);
    assert!(err.contains("taken"), "{err}");
    let (code, out, err) = workspace.run(&["users", "disable", "ＤＡＶＥ"], "").await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("disabled `dave`"), "{out}");
}

/// A user record as tessera wrote it before schema 2.
fn schema_1_user(id: &str, username: &str, hash: &str, created: &str) -> String {
    json!({
        "id": id, "username": username, "username_normalized": username.to_lowercase(),
        "email": null, "name": null, "password_hash": hash, "disabled": false,
        "created_at": created, "updated_at": created,
    })
    .to_string()
}

/// Writes a store file as tessera wrote it with schema 1: the username
/// index keyed by lower case.
fn write_schema_1_store(path: &Path, users: &[(&str, &str, &str)]) {
    use redb::{ReadableDatabase, TableDefinition};
    const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
    const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");
    const USERNAMES: TableDefinition<&str, &str> = TableDefinition::new("users_by_username");
    let settings =
        tessera::config::Settings::from_toml("[passwords]\nmemory_kib = 256\niterations = 1")
            .expect("settings");
    let passwords = tessera::passwords::Passwords::new(&settings.passwords).expect("hasher");
    let db = redb::Database::create(path).expect("create store");
    let tx = db.begin_write().expect("write");
    {
        tx.open_table(META)
            .expect("meta")
            .insert("schema_version", 1)
            .expect("version");
        let mut records = tx.open_table(USERS).expect("users");
        let mut index = tx.open_table(USERNAMES).expect("index");
        for (n, (id, username, password)) in users.iter().enumerate() {
            let hash = passwords
                .hash(&tessera::secret::SecretString::new((*password).to_owned()))
                .expect("hash");
            let created = format!("2026-01-0{}T00:00:00Z", n + 1);
            let record = schema_1_user(id, username, &hash, &created);
            records.insert(*id, record.as_bytes()).expect("user");
            index
                .insert(username.to_lowercase().as_str(), *id)
                .expect("index");
        }
    }
    tx.commit().expect("commit");
    let read = db.begin_read().expect("read");
    assert_eq!(
        read.open_table(META)
            .expect("meta")
            .get("schema_version")
            .expect("get")
            .map(|v| v.value()),
        Some(1)
    );
}

fn schema_version(path: &Path) -> Option<u64> {
    use redb::{ReadableDatabase, TableDefinition};
    const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
    let db = redb::ReadOnlyDatabase::open(path).expect("open");
    let read = db.begin_read().expect("read");
    let meta = read.open_table(META).expect("meta");
    meta.get("schema_version").expect("get").map(|v| v.value())
}

#[tokio::test]
async fn a_store_with_the_old_username_index_migrates_and_reports_names_that_now_collide() {
    let workspace = Workspace::new("[accounts]\nbootstrap_admin = false\n");
    write_schema_1_store(
        &workspace.store(),
        &[
            ("u-alice", "alice", "alice's passphrase"),
            ("u-wide", "ａｌｉｃｅ", "wide passphrase"),
            ("u-zwsp", "alice\u{200b}", "invisible passphrase"),
            ("u-carol", "ＣＡＲＯＬ", "carol's passphrase"),
        ],
    );

    // The check reports without touching the file.
    let (code, out, err) = workspace.run(&["config", "check"], "").await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("2 conflict(s)"), "{out}");
    assert!(
        err.contains("u-wide") && err.contains("\"ａｌｉｃｅ\""),
        "{err}"
    );
    assert!(
        err.contains("u-zwsp") && err.contains("alice\\u{200b}"),
        "{err}"
    );
    assert!(
        !err.contains("u-carol"),
        "a lone wide name is no conflict: {err}"
    );
    assert_eq!(schema_version(&workspace.store()), Some(1));

    let server = workspace.start().await;
    assert_eq!(
        server
            .login(("ＡＬＩＣＥ", "alice's passphrase"))
            .await
            .status(),
        200,
        "the account that held the name keeps it"
    );
    assert_eq!(
        server
            .login(("ａｌｉｃｅ", "wide passphrase"))
            .await
            .status(),
        401
    );
    assert_eq!(
        server.login(("carol", "carol's passphrase")).await.status(),
        200
    );
    let (_, _, log) = server.stop().await;
    assert!(log.contains("u-wide") && log.contains("RFC 8265"), "{log}");
    assert!(log.contains("u-zwsp"), "{log}");
    assert_eq!(
        schema_version(&workspace.store()),
        Some(3),
        "migrated to the current schema"
    );

    // Nothing was lost, and each account can be given a name again.
    assert_eq!(stored_users(&workspace.store()).len(), 4);
    let (code, out, err) = workspace
        .run(&["users", "rename", "--by-id", "u-wide", "alice2"], "")
        .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("alice2"), "{out}");
    let (code, _, err) = workspace
        .run(&["users", "rename", "--by-id", "u-zwsp", "alice3"], "")
        .await;
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = workspace.run(&["config", "check"], "").await;
    assert!(out.contains("no conflicts"), "{out}");
    let server = workspace.start().await;
    assert_eq!(
        server.login(("alice2", "wide passphrase")).await.status(),
        200
    );
    assert_eq!(
        server
            .login(("alice3", "invisible passphrase"))
            .await
            .status(),
        200
    );
    server.stop().await;
}
