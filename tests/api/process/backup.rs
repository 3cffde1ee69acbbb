//! `tessera backup`: a copy of a stopped store, or of a running server's
//! through the admin API, that `tessera serve` opens as the same data.

use super::*;
use tessera::store::Consent;

/// What a store holds after a client was added, alice signed in and gave
/// the client her consent: (client secret, alice's session token).
async fn populate(workspace: &Workspace) -> (String, String) {
    let (code, out, err) = workspace
        .run(
            &["clients", "add", "svc", "--grant", "client_credentials"],
            "",
        )
        .await;
    assert_eq!(code, 0, "{err}");
    let secret = out
        .lines()
        .find_map(|line| line.strip_prefix("client_secret: "))
        .expect("the secret is printed")
        .to_owned();
    let server = workspace.start().await;
    let session = server.token(ALICE).await;
    server.stop().await;
    let alice = stored_users(&workspace.store())
        .into_iter()
        .find(|user| user.username == ALICE.0)
        .expect("alice");
    let store = Store::open(&StoragePath::File(workspace.store())).expect("open store");
    store
        .write(|tx| {
            tx.put_consent(&Consent {
                user_id: alice.id,
                client_id: "svc".into(),
                scopes: vec!["openid".into()],
                granted_at: time::OffsetDateTime::now_utc(),
            })
        })
        .expect("consent");
    (secret, session)
}

/// A config serving `copy`, in the workspace's folder so that the store's
/// key file (`tessera.key` beside it) is the same, and without `[[users]]`:
/// whatever it holds comes from the copy.
fn copy_config(workspace: &Workspace, copy: &Path) -> PathBuf {
    let config = workspace.dir.path().join("restored.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nbind = \"127.0.0.1:0\"\n[storage]\npath = \"{}\"\n[passwords]\nmemory_kib = 256\niterations = 1\n",
            copy.display()
        ),
    )
    .expect("write config");
    config
}

/// Serves `copy` and checks it holds what [`populate`] left.
async fn check_restored(workspace: &Workspace, copy: &Path, secret: &str, session: &str) {
    let config = copy_config(workspace, copy);
    let server = Running::start(workspace.command_with(&config, &["serve"])).await;
    assert_eq!(server.login(ALICE).await.status(), 200, "alice signs in");
    assert!(server.validate(session).await, "her session carried over");
    assert_eq!(
        server.client_token("svc", secret).await.status(),
        200,
        "the client gets tokens"
    );
    server.stop().await;
    let store = Store::open(&StoragePath::File(copy.to_owned())).expect("open copy");
    let alice = store
        .read(|tx| tx.user_by_username(ALICE.0))
        .expect("read")
        .expect("alice");
    assert!(
        store
            .read(|tx| tx.consent(&alice.id, "svc"))
            .expect("read")
            .is_some(),
        "her consent carried over"
    );
}

#[tokio::test]
async fn a_stopped_store_is_backed_up_into_a_copy_that_serves_the_same_data() {
    let workspace = Workspace::seeded();
    let (secret, session) = populate(&workspace).await;
    let copy = workspace.dir.path().join("copy.redb");

    let (code, out, err) = workspace
        .run(&["backup", "--to", copy.to_str().expect("path")], "")
        .await;

    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty(), "the result goes to stderr: {out}");
    assert!(err.contains("2 users, 1 clients"), "{err}");
    check_restored(&workspace, &copy, &secret, &session).await;
}

#[tokio::test]
async fn an_existing_backup_file_is_replaced_only_with_force() {
    let workspace = Workspace::seeded();
    let copy = workspace.dir.path().join("copy.redb");
    std::fs::write(&copy, b"an older backup").expect("write");
    let to = copy.to_str().expect("path");
    workspace.start().await.stop().await;

    let (code, _, err) = workspace.run(&["backup", "--to", to], "").await;
    assert_eq!(code, 2);
    assert!(err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(&copy).expect("read"), b"an older backup");

    let (code, _, err) = workspace.run(&["backup", "--to", to, "--force"], "").await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        stored_users(&copy).len(),
        2,
        "the file is now a backup of the store"
    );
}

#[tokio::test]
async fn a_store_held_by_a_running_server_is_backed_up_only_through_its_url() {
    let workspace = Workspace::seeded();
    let server = workspace.start().await;
    let copy = workspace.dir.path().join("copy.redb");

    let (code, _, err) = workspace
        .run(&["backup", "--to", copy.to_str().expect("path")], "")
        .await;

    assert_eq!(code, 1);
    assert!(
        err.contains("held by a running tessera server")
            && err.contains("--url")
            && err.contains("--token"),
        "{err}"
    );
    assert!(!copy.exists());
    server.stop().await;
}

/// The secret of a client allowed the scope `tessera:admin`.
const OPS_SECRET: &str = "ops-secret-that-is-long-enough-0123456789";

/// Runs `tessera backup --to to` with the server's URL and `token` in the
/// environment (TESSERA_URL, TESSERA_TOKEN); returns (exit code, stderr).
async fn backup_through(workspace: &Workspace, url: &str, token: &str, to: &Path) -> (i32, String) {
    let output = workspace
        .command(&["backup", "--to", to.to_str().expect("path")])
        .env("TESSERA_URL", url)
        .env("TESSERA_TOKEN", token)
        .output()
        .await
        .expect("run");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_running_server_is_backed_up_through_its_admin_api_into_a_copy_that_serves_the_same_data()
{
    let workspace = with_an_admin();
    let (secret, session) = populate(&workspace).await;
    let server = workspace.start().await;
    let admin = server.token(ALICE).await;
    let copy = workspace.dir.path().join("copy.redb");

    let (code, out, err) = workspace
        .run(
            &[
                "backup",
                "--to",
                copy.to_str().expect("path"),
                "--url",
                &server.url,
                "--token",
                &admin,
            ],
            "",
        )
        .await;

    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty(), "the result goes to stderr: {out}");
    assert!(err.contains("2 users, 1 clients"), "{err}");
    assert_eq!(
        server.login(BOB).await.status(),
        200,
        "the server goes on serving"
    );
    let (code, err) = backup_through(&workspace, &server.url, &admin, &copy).await;
    assert_eq!(code, 2, "an existing file is kept without --force");
    assert!(err.contains("--force"), "{err}");
    server.stop().await;
    let leftovers: Vec<_> = std::fs::read_dir(workspace.dir.path())
        .expect("folder")
        .map(|entry| entry.expect("entry").file_name())
        .filter(|name| name.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    check_restored(&workspace, &copy, &secret, &session).await;
}

#[tokio::test]
async fn a_backup_through_the_api_takes_an_admin_access_token_and_refuses_others() {
    let workspace = Workspace::new(&format!(
        "[[users]]\nusername = \"{}\"\npassword = \"{}\"\n[[clients]]\nclient_id = \"ops\"\nclient_secret = \"{OPS_SECRET}\"\nscopes = [\"tessera:admin\"]\ngrant_types = [\"client_credentials\"]\n",
        BOB.0, BOB.1
    ));
    let server = workspace.start().await;
    let bob = server.token(BOB).await;
    let copy = workspace.dir.path().join("copy.redb");
    let ops: Value = reqwest::Client::new()
        .post(format!("{}/oauth2/token", server.url))
        .basic_auth("ops", Some(OPS_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "tessera:admin"),
        ])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("json");
    let ops = ops["access_token"].as_str().expect("access token");

    let (code, err) = backup_through(&workspace, &server.url, ops, &copy).await;
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("1 users, 1 clients"), "{err}");
    std::fs::remove_file(&copy).expect("remove");

    let (code, err) = backup_through(&workspace, &server.url, &bob, &copy).await;
    assert_eq!(code, 1);
    assert!(err.contains("403"), "{err}");
    let (code, err) = backup_through(&workspace, &server.url, "not-a-session", &copy).await;
    assert_eq!(code, 1);
    assert!(err.contains("401"), "{err}");
    let (code, _, err) = workspace
        .run(
            &[
                "backup",
                "--to",
                copy.to_str().expect("path"),
                "--url",
                &server.url,
            ],
            "",
        )
        .await;
    assert_eq!(code, 2, "--url without a token");
    assert!(err.contains("--token"), "{err}");

    assert!(!copy.exists());
    server.stop().await;
}
