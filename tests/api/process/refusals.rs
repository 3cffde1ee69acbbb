//! Configurations `serve` refuses: exit code 2 before anything binds, with
//! a message naming the key (or journey and node) to fix.

use super::*;

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
async fn a_configured_logo_that_is_not_https_exits_with_code_2_naming_the_key() {
    let workspace = Workspace::new(
        "[[clients]]\nclient_id = \"web\"\nredirect_uris = [\"https://web.example.com/cb\"]\nlogo_uri = \"javascript:alert(1)\"\n",
    );
    let stderr = workspace.serve_refused().await;
    assert!(stderr.contains("clients[0].logo_uri"), "{stderr}");
}

#[tokio::test]
async fn an_unusable_store_path_exits_2_naming_storage_path_and_the_path() {
    let workspace = Workspace::seeded();
    let (code, out, err) = workspace.run(&["config", "check"], "").await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("configuration is valid"), "{out}");
    assert!(
        out.contains("metrics           /metrics on server.bind, for local clients only"),
        "{out}"
    );
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
