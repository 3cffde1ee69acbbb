//! The server under test: the release binary, started as a separate
//! process with a config written to a temp file, as another project's
//! test suite starts it. Its CPU time and memory come from `/proc`.

use super::{BenchError, procfs};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The fixture configuration of issue 10, as a test suite starts tessera:
/// in memory, fixture mode (so cheap password hashing), RS256 by default,
/// two seeded users, two clients.
pub const FIXTURE: &str = r#"
[server]
bind = "127.0.0.1:0"

[storage]
path = ":memory:"

[fixture]
enabled = true

[[users]]
username = "alice"
password = "bench-alice-password-1"

[[users]]
username = "bob"
password = "bench-bob-password-2"

[oauth.scopes]
"bench:read" = "Read benchmark data"

[[clients]]
client_id = "web"
client_secret = "bench-web-secret-0123456789abcdef"
redirect_uris = ["http://127.0.0.1:9/callback"]
scopes = ["openid", "bench:read"]
grant_types = ["authorization_code"]
first_party = true

[[clients]]
client_id = "service"
client_secret = "bench-service-secret-0123456789a"
scopes = ["bench:read"]
grant_types = ["client_credentials"]
"#;

/// What the load server adds: argon2's default parameters (which fixture
/// mode lowers), so that logins are measured as production pays for them,
/// and one `client_credentials` client per other algorithm.
pub const LOAD: &str = r#"
[passwords]
memory_kib = 19456
iterations = 2

[[clients]]
client_id = "service-es256"
client_secret = "bench-es256-secret-0123456789abc"
scopes = ["bench:read"]
grant_types = ["client_credentials"]
signing_alg = "ES256"

[[clients]]
client_id = "service-eddsa"
client_secret = "bench-eddsa-secret-0123456789abc"
scopes = ["bench:read"]
grant_types = ["client_credentials"]
signing_alg = "EdDSA"
"#;

/// The seeded users, and the confidential clients with their secrets.
pub const ALICE: (&str, &str) = ("alice", "bench-alice-password-1");
pub const WEB: (&str, &str) = ("web", "bench-web-secret-0123456789abcdef");
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
pub const SERVICE: (&str, &str) = ("service", "bench-service-secret-0123456789a");
pub const SERVICE_ES256: (&str, &str) = ("service-es256", "bench-es256-secret-0123456789abc");
pub const SERVICE_EDDSA: (&str, &str) = ("service-eddsa", "bench-eddsa-secret-0123456789abc");

const READY: &str = "tessera listening on http://";

/// A running tessera process; killed when dropped.
pub struct Server {
    child: Child,
    pid: u32,
    pub address: SocketAddr,
    pub base: String,
    /// The config and the server's log (stderr).
    dir: tempfile::TempDir,
}

impl Server {
    /// Starts `binary` with `config`; returns it and the time from spawn to
    /// its ready line.
    pub async fn start(binary: &Path, config: &str) -> Result<(Self, Duration), BenchError> {
        Self::start_with(binary, config, &[]).await
    }

    /// [`Server::start`], with environment variables (`TESSERA__…`).
    pub async fn start_with(
        binary: &Path,
        config: &str,
        env: &[(&str, &str)],
    ) -> Result<(Self, Duration), BenchError> {
        let dir = tempfile::tempdir()?;
        let config_path = dir.path().join("tessera.toml");
        std::fs::write(&config_path, config)?;
        let log = std::fs::File::create(dir.path().join("stderr.log"))?;
        let started = Instant::now();
        let mut child = Command::new(binary)
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .env_remove("TESSERA_CONFIG")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            match lines.next_line().await? {
                Some(line) => {
                    if let Some(rest) = line.strip_prefix(READY) {
                        break format!("http://{rest}");
                    }
                }
                None => {
                    let log = std::fs::read_to_string(dir.path().join("stderr.log"))?;
                    return Err(format!("tessera exited before its ready line:\n{log}").into());
                }
            }
        };
        let ready = started.elapsed();
        let pid = child.id().ok_or("tessera exited")?;
        let address = base.trim_start_matches("http://").parse()?;
        Ok((
            Self {
                child,
                pid,
                address,
                base,
                dir,
            },
            ready,
        ))
    }

    /// Kills the process and waits for it to be gone.
    pub async fn stop(mut self) -> Result<(), BenchError> {
        self.child.kill().await?;
        Ok(())
    }

    /// Resident memory (`VmRSS`), in MiB.
    pub fn rss_mib(&self) -> Option<f64> {
        procfs::rss_mib(&self.pid.to_string())
    }

    /// User and system CPU time used so far (all threads).
    pub fn cpu_time(&self) -> Option<Duration> {
        procfs::cpu_time(&self.pid.to_string())
    }

    /// Where the server's log goes.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("stderr.log")
    }
}
