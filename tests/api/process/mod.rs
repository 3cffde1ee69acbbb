//! The binary as its users run it, one process per test: its life
//! (ready line, shutdown, restarts), the configurations it refuses, its
//! commands, and the migration of older stores.

mod backup;
mod commands;
mod lifecycle;
mod migration;
mod postgres;
mod refusals;
mod remote;
mod replicas;

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
        self.command_with(&self.config(), args)
    }

    /// A command on another config file than the workspace's own.
    fn command_with(&self, config: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(BINARY);
        command
            .args(args)
            .arg("--config")
            .arg(config)
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

    /// Runs `serve` on a configuration it must refuse: exit code 2 before
    /// anything is bound. Returns what it printed to stderr.
    async fn serve_refused(&self) -> String {
        let output = self.command(&["serve"]).output().await.expect("run");
        assert_eq!(output.status.code(), Some(2));
        assert!(output.stdout.is_empty(), "nothing bound");
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    /// Runs a CLI command with `stdin`; returns (exit code, stdout, stderr).
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

/// A workspace whose alice administers; bob does not.
fn with_an_admin() -> Workspace {
    Workspace::new(&format!(
        "[[users]]\nusername = \"{}\"\npassword = \"{}\"\nadmin = true\n[[users]]\nusername = \"{}\"\npassword = \"{}\"\n",
        ALICE.0, ALICE.1, BOB.0, BOB.1
    ))
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
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(30), stdout.read_line(&mut line))
            .await
            .expect("ready line within 30 s")
            .expect("read stdout");
        let Some(url) = line.trim_end().strip_prefix("tessera listening on ") else {
            let mut log = String::new();
            let _ = stderr.read_to_string(&mut log).await;
            panic!("unexpected first line {line:?}; the log:\n{log}");
        };
        let url = url.to_owned();
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

fn stored_users(path: &Path) -> Vec<tessera::store::User> {
    let store = Store::open(&StoragePath::File(path.to_owned())).expect("open store");
    store.read(|tx| tx.users()).expect("list users")
}
