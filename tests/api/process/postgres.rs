//! The binary on a PostgreSQL database (`storage.url`): the databases it
//! refuses at start, `tessera migrate`, and a sign-in served end to end,
//! its session valid on a second process on the same database.

use super::*;
use crate::helpers::postgres;

/// A sealing key given as `storage.key`, as replicas share it.
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// A workspace whose store is the database at `url`; alice (an
/// administrator) and bob seeded.
fn on_database(url: &str) -> Workspace {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = format!(
        "[server]\nbind = \"127.0.0.1:0\"\n[storage]\nurl = \"{url}\"\nkey = \"{KEY}\"\n\
         [passwords]\nmemory_kib = 256\niterations = 1\n\
         [[users]]\nusername = \"{}\"\npassword = \"{}\"\nadmin = true\n[[users]]\nusername = \"{}\"\npassword = \"{}\"\n",
        ALICE.0, ALICE.1, BOB.0, BOB.1
    );
    std::fs::write(dir.path().join("tessera.toml"), config).expect("write config");
    Workspace { dir }
}

#[tokio::test]
async fn an_unreachable_database_exits_with_code_2_naming_storage_url_without_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("port")
        .port();
    // Nothing listens there any more.
    let workspace = on_database(&format!(
        "postgres://tessera:hunter2-secret@127.0.0.1:{port}/tessera"
    ));
    let stderr = workspace.serve_refused().await;
    assert!(stderr.contains("`storage.url`"), "{stderr}");
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert!(!stderr.contains("hunter2-secret"), "{stderr}");
}

#[tokio::test]
async fn a_refused_password_exits_with_code_2_naming_storage_url_without_the_password() {
    let url = tokio::task::spawn_blocking(postgres::wrong_password)
        .await
        .expect("database");
    let stderr = on_database(&url).serve_refused().await;
    assert!(stderr.contains("`storage.url`"), "{stderr}");
    assert!(
        stderr.contains("password authentication failed"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-the-password"), "{stderr}");
}

#[tokio::test]
async fn migrate_then_serve_a_sign_in_whose_session_another_process_validates() {
    let url = tokio::task::spawn_blocking(postgres::database)
        .await
        .expect("database");
    let workspace = on_database(&url);
    let (code, stdout, stderr) = workspace.run(&["config", "check"], "").await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("storage.url"), "{stdout}");
    assert!(
        stdout.contains("redacted") && !stdout.contains("test-"),
        "{stdout}"
    );
    let (code, stdout, stderr) = workspace.run(&["migrate"], "").await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("schema version 2"), "{stdout}");
    assert!(
        stdout.contains("redacted") && !stdout.contains("test-"),
        "{stdout}"
    );

    let first = workspace.start().await;
    let token = first.token(ALICE).await;
    assert!(first.validate(&token).await);
    let second = workspace.start().await;
    assert!(
        second.validate(&token).await,
        "a session written by one process is seen by another"
    );
    assert!(!second.validate("not-a-session").await);
    let backup = reqwest::Client::new()
        .get(format!("{}/admin/api/backup", second.url))
        .header("X-Session-Token", &token)
        .send()
        .await
        .expect("backup request");
    assert_eq!(
        backup.status(),
        409,
        "a database is backed up with its own tools"
    );
    assert!(backup.text().await.expect("body").contains("pg_dump"));
    let (code, _, _) = first.stop().await;
    assert_eq!(code, 0);
    assert!(
        second.validate(&token).await,
        "the session outlives its replica"
    );
    second.stop().await;
}

#[tokio::test]
async fn a_database_gone_while_serving_gives_503s_and_the_server_recovers_when_it_returns() {
    let url = tokio::task::spawn_blocking(postgres::database)
        .await
        .expect("database");
    let server = on_database(&url).start().await;
    let token = server.token(ALICE).await;
    let (host, name) = url.rsplit_once('/').expect("database name");
    let (admin, name) = (format!("{host}/postgres"), name.to_owned());
    let sql = move |sql: String| {
        let admin = admin.clone();
        tokio::task::spawn_blocking(move || postgres::run_sql(&admin, &sql))
    };
    // The database refuses new connections, and those open are cut.
    sql(format!(
        "ALTER DATABASE {name} ALLOW_CONNECTIONS false; \
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .await
    .expect("thread")
    .expect("database gone");

    let response = reqwest::Client::new()
        .post(format!("{}/api/sessions/validate", server.url))
        .json(&json!({ "token": token }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "temporarily_unavailable");

    sql(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .await
        .expect("thread")
        .expect("database back");
    assert!(
        server.validate(&token).await,
        "the server recovers, and the session written before is still there"
    );
    server.stop().await;
}
