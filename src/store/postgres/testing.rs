//! A throwaway PostgreSQL server for tests: started once per test process,
//! a fresh database for each test. Shared by the store's behaviour tests
//! and the integration tests (which include this file by path), so it uses
//! nothing of tessera's.
//!
//! With `TESSERA_TEST_POSTGRES_URL` set (a superuser's URL), its server is
//! used. Otherwise PostgreSQL's server binaries (`initdb`, `postgres`, from
//! PATH or `/usr/lib/postgresql/*/bin`) make a cluster in a temporary
//! folder that listens on 127.0.0.1 on a free port, with password
//! authentication. Run as root, the cluster belongs to the `postgres`
//! system user (initdb refuses root). A watcher started with it stops the
//! server and removes the folder once the test process has exited, however
//! it exits. Without the binaries, the tests fail and say what to install:
//! they are never skipped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A superuser's URL to a server, without a database.
struct Server {
    /// `postgres://USER:PASSWORD@HOST:PORT`
    base: String,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

/// The URL of a new, empty database on the test server.
pub fn database() -> String {
    let server = match SERVER.get_or_init(start) {
        Ok(server) => server,
        Err(message) => panic!("{message}"),
    };
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "tessera_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let admin = format!("{}/postgres", server.base);
    // CREATE DATABASE copies template1 and fails while another session
    // copies it too ("being accessed by other users"): one at a time.
    static CREATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = CREATING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Err(err) = run_sql(&admin, &format!("CREATE DATABASE {name}")) {
        panic!("cannot create the test database {name}: {err}");
    }
    format!("{}/{name}", server.base)
}

/// A URL to the test server with another password: refused.
pub fn wrong_password() -> String {
    let url = database();
    let (userinfo, rest) = url
        .split_once('@')
        .unwrap_or_else(|| panic!("no user in {url}"));
    let user = userinfo.rsplit_once(':').map_or(userinfo, |(user, _)| user);
    format!("{user}:not-the-password@{rest}")
}

fn start() -> Result<Server, String> {
    if let Ok(url) = std::env::var("TESSERA_TEST_POSTGRES_URL") {
        let base = url.trim_end_matches('/').to_owned();
        // A database in the URL is where CREATE DATABASE runs from.
        let base = match base.rsplit_once('/') {
            Some((server, db)) if server.contains('@') && !db.contains(':') => server.to_owned(),
            _ => base,
        };
        return Ok(Server { base });
    }
    let bin = binaries()?;
    let dir = std::env::temp_dir().join(format!("tessera-postgres-{}", std::process::id()));
    // A folder left by an earlier process of the same id goes.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    let user = server_user()?;
    let password = format!("test-{}-{}", std::process::id(), nanos_now());
    std::fs::write(dir.join("password"), &password)
        .map_err(|err| format!("cannot write the password file: {err}"))?;
    if let Some(user) = &user {
        let chown = Command::new("chown")
            .args(["-R", user])
            .arg(&dir)
            .status()
            .map_err(|err| format!("cannot run chown: {err}"))?;
        if !chown.success() {
            return Err(format!("cannot give {} to {user}", dir.display()));
        }
    }
    let initdb = as_user(&user, &bin.join("initdb"))
        .arg("-D")
        .arg(dir.join("data"))
        .args([
            "-U",
            "postgres",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ])
        .arg(format!("--pwfile={}", dir.join("password").display()))
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("cannot run initdb: {err}"))?;
    if !initdb.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        ));
    }
    let mut last_error = String::new();
    // A free port can be taken between the probe and the server's bind.
    for _ in 0..5 {
        let port = free_port()?;
        spawn_server(&bin, &dir, &user, port)?;
        let base = format!("postgres://postgres:{password}@127.0.0.1:{port}");
        match wait_until_ready(&format!("{base}/postgres"), &dir) {
            Ok(()) => return Ok(Server { base }),
            Err(err) => last_error = err,
        }
    }
    Err(format!(
        "the test PostgreSQL server did not start: {last_error}"
    ))
}

/// The folder of `initdb` and `postgres`.
fn binaries() -> Result<PathBuf, String> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("initdb"))
        .find(|initdb| initdb.is_file());
    let mut installed: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| {
            dirs.filter_map(Result::ok)
                .map(|dir| dir.path().join("bin/initdb"))
                .filter(|initdb| initdb.is_file())
                .collect()
        })
        .unwrap_or_default();
    installed.sort_by_key(|initdb| {
        // The version folder, numerically: 9 < 13 < 15.
        initdb
            .parent()
            .and_then(Path::parent)
            .and_then(Path::file_name)
            .and_then(|name| name.to_str()?.parse::<u32>().ok())
    });
    let initdb = on_path.or_else(|| installed.pop()).ok_or_else(|| {
        "PostgreSQL's server binaries (initdb, postgres) are not installed, and \
             TESSERA_TEST_POSTGRES_URL is not set: `apt-get install postgresql` \
             (.ci/run does), or point TESSERA_TEST_POSTGRES_URL at a server's superuser"
            .to_owned()
    })?;
    // PATH often holds a link to the version's own folder, where
    // `postgres` is.
    let initdb = std::fs::canonicalize(&initdb).unwrap_or(initdb);
    let bin = initdb.parent().map(Path::to_owned).unwrap_or_default();
    if !bin.join("postgres").is_file() {
        return Err(format!("no `postgres` beside {}", initdb.display()));
    }
    Ok(bin)
}

/// The user the cluster runs as: `postgres` when this process is root
/// (initdb refuses root), else this process's own (`None`).
fn server_user() -> Result<Option<String>, String> {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|err| format!("cannot run id: {err}"))?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Ok(None);
    }
    let exists = Command::new("id")
        .arg("postgres")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !exists {
        return Err(
            "running as root, and there is no `postgres` user to run the test server as \
             (initdb refuses root): `apt-get install postgresql` makes it"
                .into(),
        );
    }
    Ok(Some("postgres".into()))
}

/// `program`, run as `user` when there is one.
fn as_user(user: &Option<String>, program: &Path) -> Command {
    match user {
        Some(user) => {
            let mut command = Command::new("runuser");
            command.args(["-u", user, "--"]).arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// Starts the server and its watcher, which stops it (and removes the
/// folder) once this process is gone, or the server has stopped.
fn spawn_server(bin: &Path, dir: &Path, user: &Option<String>, port: u16) -> Result<(), String> {
    let script = r#"
"$BIN/postgres" -D "$DIR/data" -k "$DIR" -h 127.0.0.1 -p "$PORT" \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
    -c max_connections=400 >"$DIR/server.log" 2>&1 &
server=$!
while [ -d "/proc/$OWNER" ] && kill -0 "$server" 2>/dev/null; do sleep 0.5; done
if [ -d "/proc/$OWNER" ]; then exit 1; fi
kill -INT "$server" 2>/dev/null
wait "$server"
rm -rf "$DIR"
"#;
    as_user(user, Path::new("sh"))
        .args(["-c", script])
        .env("BIN", bin)
        .env("DIR", dir)
        .env("PORT", port.to_string())
        .env("OWNER", std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|err| format!("cannot start postgres: {err}"))?;
    Ok(())
}

fn free_port() -> Result<u16, String> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|err| format!("no free port: {err}"))?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|err| format!("no free port: {err}"))
}

/// Waits for the server to answer a query.
fn wait_until_ready(url: &str, dir: &Path) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match run_sql(url, "SELECT 1") {
            Ok(()) => return Ok(()),
            Err(err) if Instant::now() > deadline => {
                let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
                return Err(format!("{err}\n{log}"));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Runs `sql` on the database at `url`, on a thread of its own: its
/// runtime must not be nested in a test's.
pub fn run_sql(url: &str, sql: &str) -> Result<(), String> {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| err.to_string())?;
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .map_err(|err| err.to_string())?;
            let connection = tokio::spawn(connection);
            // The server's own message: "db error" alone says nothing.
            let result = client.batch_execute(&sql).await.map_err(|err| {
                err.as_db_error()
                    .map_or_else(|| err.to_string(), |db| db.to_string())
            });
            drop(client);
            let _ = connection.await;
            result
        })
    })
    .join()
    .map_err(|_| "the SQL thread panicked".to_owned())?
}

fn nanos_now() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos())
}
