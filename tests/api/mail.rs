//! Codes go out by SMTP when `mail.smtp_url` is set.

use crate::helpers::{base_config, spawn_app_from};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A one-message SMTP server: answers the dialogue and hands over the DATA.
async fn fake_smtp() -> (u16, oneshot::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (sender, receiver) = oneshot::channel();
    let mut sender = Some(sender);
    tokio::spawn(async move {
        let (socket, _) = listener.accept().await.expect("accept");
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read).lines();
        write.write_all(b"220 fake ESMTP\r\n").await.expect("greet");
        let mut data = String::new();
        let mut in_data = false;
        while let Ok(Some(line)) = lines.next_line().await {
            if in_data {
                if line == "." {
                    in_data = false;
                    write.write_all(b"250 queued\r\n").await.expect("write");
                    if let Some(sender) = sender.take() {
                        let _ = sender.send(std::mem::take(&mut data));
                    }
                } else {
                    data.push_str(&line);
                    data.push('\n');
                }
                continue;
            }
            let verb = line
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" | "HELO" => b"250 fake\r\n",
                "DATA" => {
                    in_data = true;
                    b"354 go on\r\n"
                }
                "QUIT" => {
                    write.write_all(b"221 bye\r\n").await.expect("write");
                    break;
                }
                _ => b"250 ok\r\n",
            };
            write.write_all(reply).await.expect("write");
        }
    });
    (port, receiver)
}

#[tokio::test]
async fn codes_are_delivered_by_smtp_when_configured() {
    let (port, received) = fake_smtp().await;
    let app = spawn_app_from(&format!(
        "[mail]\nfrom = \"tessera <id@example.com>\"\nsmtp_url = \"smtp://127.0.0.1:{port}\"\n{}",
        base_config()
    ))
    .await;
    let started = app.start_named("register").await;
    let (status, step) = app
        .submit(
            &started["auth_id"],
            json!({"username": "erin", "email": "erin@example.com", "password": "a long unusual phrase"}),
        )
        .await;
    assert_eq!(status, 200, "{step}");
    assert_eq!(step["step"], "one_time_code", "{step}");
    let message = tokio::time::timeout(std::time::Duration::from_secs(10), received)
        .await
        .expect("mail within 10 s")
        .expect("message");
    assert!(message.contains("To: erin@example.com"), "{message}");
    assert!(
        message.contains("From: tessera <id@example.com>"),
        "{message}"
    );
    assert!(message.contains("Subject: Your one-time code"), "{message}");
    let code = message
        .lines()
        .find_map(|line| line.strip_prefix("Your code is "))
        .expect("code in the body")
        .trim()
        .to_owned();
    assert!(
        app.mails().is_empty(),
        "nothing in the outbox when SMTP is set"
    );
    let (status, done) = app.submit(&step["auth_id"], json!({"code": code})).await;
    assert_eq!(status, 200);
    assert!(done["session_token"].is_string());
}

/// An SMTP server that offers STARTTLS and hands over the first bytes the
/// client sends once it has agreed to it.
async fn starttls_probe() -> (u16, oneshot::Receiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (sender, receiver) = oneshot::channel();
    tokio::spawn(async move {
        let (socket, _) = listener.accept().await.expect("accept");
        let mut socket = BufReader::new(socket);
        socket
            .write_all(b"220 fake ESMTP\r\n")
            .await
            .expect("greet");
        let mut line = String::new();
        loop {
            line.clear();
            if socket.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let verb = line.trim().to_ascii_uppercase();
            if verb.starts_with("EHLO") {
                socket
                    .write_all(b"250-fake\r\n250 STARTTLS\r\n")
                    .await
                    .expect("write");
            } else if verb == "STARTTLS" {
                socket.write_all(b"220 go ahead\r\n").await.expect("write");
                break;
            } else {
                socket.write_all(b"502 no\r\n").await.expect("write");
            }
        }
        let mut hello = [0u8; 3];
        if socket.read_exact(&mut hello).await.is_ok() {
            let _ = sender.send(hello.to_vec());
        }
    });
    (port, receiver)
}

#[tokio::test]
async fn smtp_with_required_tls_starts_a_tls_handshake() {
    let (port, hello) = starttls_probe().await;
    let app = spawn_app_from(&format!(
        "[mail]\nfrom = \"tessera <id@example.com>\"\nsmtp_url = \"smtp://127.0.0.1:{port}?tls=required\"\n{}",
        base_config()
    ))
    .await;
    let started = app.start_named("register").await;
    let (status, _) = app
        .submit(
            &started["auth_id"],
            json!({"username": "erin", "email": "erin@example.com", "password": "a long unusual phrase"}),
        )
        .await;
    assert_eq!(status, 200);
    let hello = tokio::time::timeout(std::time::Duration::from_secs(10), hello)
        .await
        .expect("a handshake within 10 s")
        .expect("bytes");
    // A TLS record of type handshake (22), version 3.x: rustls, with its
    // crypto provider, sent its ClientHello.
    assert_eq!(&hello[..2], &[22, 3], "{hello:?}");
}
