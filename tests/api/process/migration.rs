//! A store of schema 1, written as the release before schema 2 wrote it,
//! migrates at start without losing or merging an account.

use super::*;

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
