//! The `users`, `clients` and `keys` commands on a store a running server
//! holds: through its admin API with `--url` and `--token` (or
//! `TESSERA_URL` and `TESSERA_TOKEN`), with the effect seen on the server.

use super::*;

const CAROL: (&str, &str) = ("carol", "a long and fine password 42");

/// Runs `args` with the server's URL and `token` in the environment.
async fn through(
    workspace: &Workspace,
    server: &Running,
    token: &str,
    args: &[&str],
    stdin: &str,
) -> (i32, String, String) {
    let mut child = workspace
        .command(args)
        .env("TESSERA_URL", &server.url)
        .env("TESSERA_TOKEN", token)
        .spawn()
        .expect("spawn");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).await.expect("stdin");
    drop(input);
    let output = child.wait_with_output().await.expect("output");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn users_are_added_listed_and_disabled_on_a_running_server() {
    let workspace = with_an_admin();
    let server = workspace.start().await;
    let admin = server.token(ALICE).await;

    let (code, out, err) = workspace
        .run(
            &[
                "users",
                "add",
                CAROL.0,
                "--email",
                "carol@example.com",
                "--url",
                &server.url,
                "--token",
                &admin,
            ],
            &format!("{}\n", CAROL.1),
        )
        .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("created user `carol` (id "), "{out}");
    assert!(!err.contains("warning"), "loopback http is local: {err}");
    assert_eq!(server.login(CAROL).await.status(), 200, "carol signs in");

    let (code, out, err) = through(&workspace, &server, &admin, &["users", "list"], "").await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.lines()
            .any(|line| line.starts_with("carol") && line.contains("carol@example.com")),
        "{out}"
    );
    assert!(out.ends_with("3 users\n"), "{out}");

    let (code, out, err) = through(
        &workspace,
        &server,
        &admin,
        &["users", "disable", "CAROL"],
        "",
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "disabled `carol` and ended their sessions\n");
    assert_ne!(server.login(CAROL).await.status(), 200, "carol is disabled");
    let (code, out, _) = through(
        &workspace,
        &server,
        &admin,
        &["users", "enable", "carol"],
        "",
    )
    .await;
    assert_eq!(code, 0);
    assert_eq!(out, "enabled `carol`\n");
    let renewed = ("carol", "another fine long password");
    let (code, _, err) = through(
        &workspace,
        &server,
        &admin,
        &["users", "set-password", "carol"],
        &format!("{}\n", renewed.1),
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        server.login(renewed).await.status(),
        200,
        "the new password"
    );
    let (code, out, _) = through(
        &workspace,
        &server,
        &admin,
        &["users", "remove", "carol"],
        "",
    )
    .await;
    assert_eq!(code, 0);
    assert_eq!(out, "removed `carol`\n");
    assert_ne!(server.login(renewed).await.status(), 200, "carol is gone");

    let (code, _, err) = through(
        &workspace,
        &server,
        &admin,
        &["users", "disable", "dave"],
        "",
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("no user named `dave`"), "{err}");
    let (code, _, err) = through(
        &workspace,
        &server,
        &admin,
        &["users", "add", "erin"],
        "short\n",
    )
    .await;
    assert_eq!(code, 2, "the same password policy as offline");
    assert!(err.contains("password refused"), "{err}");
    server.stop().await;
}

#[tokio::test]
async fn clients_are_added_and_removed_on_a_running_server() {
    let workspace = with_an_admin();
    let server = workspace.start().await;
    let admin = server.token(ALICE).await;

    let (code, out, err) = through(
        &workspace,
        &server,
        &admin,
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
    assert_eq!(server.client_token("svc", &secret).await.status(), 200);

    let (code, out, _) = through(&workspace, &server, &admin, &["clients", "list"], "").await;
    assert_eq!(code, 0);
    assert!(
        out.lines()
            .any(|line| line.starts_with("svc") && line.contains("confidential")),
        "{out}"
    );

    let (code, out, err) = through(
        &workspace,
        &server,
        &admin,
        &["clients", "remove", "svc"],
        "",
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "removed client `svc`\n");
    assert_eq!(
        server.client_token("svc", &secret).await.status(),
        401,
        "the client stops authenticating at once"
    );
    let (code, _, err) = through(
        &workspace,
        &server,
        &admin,
        &["clients", "add", "bad", "--redirect-uri", "not a uri"],
        "",
    )
    .await;
    assert_eq!(code, 2, "invalid metadata is the caller's: {err}");
    assert!(err.contains("400"), "{err}");
    server.stop().await;
}

#[tokio::test]
async fn a_key_rotated_through_the_api_is_published_at_once() {
    let workspace = with_an_admin();
    let server = workspace.start().await;
    let admin = server.token(ALICE).await;

    let (code, out, err) = through(&workspace, &server, &admin, &["keys", "rotate"], "").await;

    assert_eq!(code, 0, "{err}");
    let kid = out
        .strip_prefix("new RS256 key ")
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_else(|| panic!("unexpected output {out:?}"))
        .to_owned();
    assert!(out.contains("from now on"), "{out}");
    assert!(server.jwks_kids().await.contains(&kid), "{kid} in the JWKS");
    let (code, out, _) = through(&workspace, &server, &admin, &["keys", "list"], "").await;
    assert_eq!(code, 0);
    assert!(
        out.lines()
            .any(|line| line.starts_with(&kid) && line.ends_with("active")),
        "{out}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_locked_store_says_how_to_go_through_the_api_and_the_api_refuses_non_admins() {
    let workspace = with_an_admin();
    let server = workspace.start().await;

    for args in [
        &["users", "list"][..],
        &["clients", "list"],
        &["keys", "list"],
    ] {
        let (code, _, err) = workspace.run(args, "").await;
        assert_eq!(code, 1, "{args:?}");
        assert!(
            err.contains("held by a running tessera server")
                && err.contains("--url URL --token TOKEN"),
            "{err}"
        );
    }

    let (code, _, err) = workspace
        .run(
            &["users", "list", "--url", "http://0.0.0.0:1", "--token", "t"],
            "",
        )
        .await;
    assert_eq!(code, 1, "nothing listens there");
    assert!(
        err.contains("warning: http://0.0.0.0:1/ is plain http"),
        "{err}"
    );

    let bob = server.token(BOB).await;
    let (code, _, err) = through(&workspace, &server, &bob, &["users", "list"], "").await;
    assert_eq!(code, 1);
    assert!(
        err.contains("403") && err.contains("`bob` is not an administrator"),
        "{err}"
    );

    let admin = server.token(ALICE).await;
    let (code, _, err) = through(
        &workspace,
        &server,
        &admin,
        &["users", "reset-totp", "bob"],
        "",
    )
    .await;
    assert_eq!(code, 2);
    assert!(err.contains("has no admin API equivalent"), "{err}");
    let (code, _, err) = through(
        &workspace,
        &server,
        &admin,
        &["users", "disable", "bob"],
        "",
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("409") && err.contains("config file"), "{err}");
    server.stop().await;
}
