//! What the store keeps of an authenticator app, and an administrator's
//! reset of it.

use super::*;

#[tokio::test]
async fn the_store_holds_the_secret_only_sealed_during_and_after_enrollment() {
    let app = spawn().await;
    let step = after_password(&app, "secure").await;
    let phone = scan(&step);
    let raw = phone.secret().as_bytes().to_vec();
    let plain_forms = [
        phone.secret().to_base32(),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw),
        base64::engine::general_purpose::STANDARD.encode(&raw),
        serde_json::to_string(&raw).expect("json"),
    ];
    let auth_id = Token::from_presented(step["auth_id"].as_str().expect("auth_id"));
    let pending = app
        .ctx
        .store
        .read(|tx| tx.journey(&auth_id.hash()))
        .expect("store")
        .expect("journey");
    let pending = serde_json::to_string(&pending).expect("json");
    for plain in &plain_forms {
        assert!(
            !pending.contains(plain.as_str()),
            "journey state holds {plain}"
        );
    }

    let (_, done) = submit_code(&app, "secure", &step, &code_at(&phone, app.clock_now())).await;
    assert!(done["session_token"].is_string());
    let user = alice(&app);
    let record = serde_json::to_string(&user).expect("json");
    for plain in &plain_forms {
        assert!(
            !record.contains(plain.as_str()),
            "user record holds {plain}"
        );
    }
    let sealed = user.totp.expect("enrolled").sealed_secret;
    assert_eq!(
        app.ctx.sealer.open(&sealed).expect("opens with the key"),
        raw
    );
}

#[tokio::test]
async fn an_administrator_reset_lets_the_user_enrol_a_new_app() {
    let app = spawn().await;
    enroll(&app).await;
    assert!(alice(&app).totp.is_some());
    let engine = app.engine.clone();
    let had = tokio::task::spawn_blocking(move || {
        engine
            .accounts
            .reset_totp(ALICE.0, &tessera::audit::Caller::cli())
            .expect("reset")
    })
    .await
    .expect("join");
    assert!(had);
    assert!(alice(&app).totp.is_none());
    app.clock.advance(Duration::seconds(30));
    let step = after_password(&app, "secure").await;
    assert_eq!(step["step"], "totp_enroll", "a new app is enrolled");
}
