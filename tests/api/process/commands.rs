//! The `users`, `clients` and `hash-password` commands.

use super::*;

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

#[tokio::test]
async fn changes_made_at_the_command_line_are_audited_as_the_cli() {
    let workspace = Workspace::new("[accounts]\nbootstrap_admin = false\n");
    let (code, _, err) = workspace
        .run(&["users", "add", "dave"], "a secret first password\n")
        .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(workspace.run(&["users", "disable", "dave"], "").await.0, 0);

    let store = Store::open(&StoragePath::File(workspace.store())).expect("open store");
    let filter = tessera::store::AuditFilter::default();
    let events = store
        .read(|tx| tx.audit_events(&filter, 10))
        .expect("audit log");
    let kinds: Vec<(&str, &str, Option<&str>)> = events
        .iter()
        .map(|entry| {
            let event = &entry.event;
            (
                event.kind.as_str(),
                event.actor.as_str(),
                event.subject.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("admin.user.update", "cli", Some("user:dave")),
            ("admin.user.create", "cli", Some("user:dave")),
        ]
    );
    let changed = events[0].event.details.get("changed");
    assert_eq!(changed.map(String::as_str), Some("disabled"));
    assert!(!format!("{events:?}").contains("a secret first password"));
}

#[tokio::test]
async fn the_users_command_leaves_users_the_config_declares_to_the_file() {
    let workspace = Workspace::new(
        "[accounts]\nbootstrap_admin = false\n[[users]]\nusername = \"carol\"\npassword = \"carol's long password\"\n",
    );
    // The server seeds the declared user into the store.
    workspace.start().await.stop().await;
    for command in [
        &["users", "disable", "carol"][..],
        &["users", "remove", "carol"],
        &["users", "set-password", "carol"],
    ] {
        let (code, _, err) = workspace.run(command, "a new long password\n").await;
        assert_eq!(code, 1, "{command:?}");
        assert!(err.contains("declared in the config file"), "{err}");
    }
    let (code, _, err) = workspace.run(&["users", "reset-totp", "carol"], "").await;
    assert_eq!(code, 0, "{err}");
    let server = workspace.start().await;
    let signed_in = server.login(("carol", "carol's long password")).await;
    assert_eq!(signed_in.status(), 200);
    server.stop().await;
}
