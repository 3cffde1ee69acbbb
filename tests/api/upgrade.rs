//! Stores written by older releases open with this one. Schema 1 (the
//! store in tests/fixtures/schema1, made by the release before keys were
//! derived by HKDF) keeps its authenticator app, client secret and signing
//! keys: a copy of it is served here as it would be after an upgrade.

use crate::helpers::oauth::{Cred, introspect, token};
use crate::helpers::{ALICE, TestApp, base_config, spawn_app_from};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::Path;
use tessera::seal::MacCheck;
use totp_rs::{Algorithm, Builder, Secret};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema1");
/// Alice's authenticator secret and the client `svc`'s secret, as the
/// fixture's README records them.
const TOTP_SECRET: &str = "WU4LNPE7TR46WNC7FS6IBXTI4LSXMQGV";
const SVC_SECRET: &str = "TZ9GoXaMMfhVi6aOsLDvnXj1D_iz9fwotKiIszX2MT0";
/// The fixture's signing keys as its release published them.
const OLD_JWKS: &str = r#"[
 {"use":"sig","alg":"ES256","kid":"Js68tSGeqrYEt4fsm_0_QA","kty":"EC","crv":"P-256","x":"OMHJmyXSQyvCcobgIuK2GakSCMWcje402LIxXt6vrew","y":"W-27n5RXB_NLgXuQPx6TF2TKOmSx60C_IjShOSJWCpo"},
 {"use":"sig","alg":"EdDSA","kid":"Q97IJeparVNbVMo5KfYkMw","kty":"OKP","crv":"Ed25519","x":"EDPpmlA8_VAV_S4C4J2o1p69jMkL-vwhefQuIMbh9RA"},
 {"use":"sig","alg":"RS256","kid":"v3pPMx6KMqbPYIoohePjbg","kty":"RSA","n":"p4rLBPxPx1-CAhIOHU7hhC-N-DvNFMIQORwrlLyOBY2CXBhXDazBq_42cCyzJHwVTEMInqmonOScok9bpyWiug71vWEjdGX-e_YmLS9JfF0xJmOfHdVcHE_YTYd5ZTI4SOUQLybR2aZV_8SIMuErJplDBmmqrxVuZKARJJiIkWrWxqBiAUF5GoJPVmwJg-O5EzwMj1mkP5qYyHhxo0UNpp9l4DqTBh7mDHKWXXQ7oO5lrCAoa_Ahe7DuVq0WWQzrwMZWRFnJTqVXK1Nfxe_7ilGXkXuRfNC1W3k1U6DcpuisGWHIXXWQbDuXRr0b6S19RvkkhzkPaZ2HbQJTMR0JUw","e":"AQAB"}
]"#;
const OLD_RS256_KID: &str = "v3pPMx6KMqbPYIoohePjbg";

/// The secret of the clients below.
const CONFIGURED_SECRET: &str = "a configured secret of thirty-two chars";
/// Clients that sign with the fixture's other two keys.
const CLIENTS: &str = r#"
[[clients]]
client_id = "es"
client_secret = "a configured secret of thirty-two chars"
grant_types = ["client_credentials"]
signing_alg = "ES256"

[[clients]]
client_id = "ed"
client_secret = "a configured secret of thirty-two chars"
grant_types = ["client_credentials"]
signing_alg = "EdDSA"
"#;

/// `secure`: password, then the authenticator app. `again`: the same,
/// then a new app; the fixture holds one in progress at that last step.
const JOURNEYS: &str = r#"
[journeys.secure]
start = "password"
[journeys.secure.nodes.password]
type = "username_password"
next = { success = "otp", failure = "failure" }
[journeys.secure.nodes.otp]
type = "totp"
next = { success = "success", failure = "failure", not_enrolled = "failure" }

[journeys.again]
start = "password"
[journeys.again.nodes.password]
type = "username_password"
next = { success = "otp", failure = "failure" }
[journeys.again.nodes.otp]
type = "totp"
next = { success = "enroll", failure = "failure", not_enrolled = "failure" }
[journeys.again.nodes.enroll]
type = "totp_enroll"
next = { success = "success", failure = "failure" }
"#;
/// The journey `again` in progress in the fixture.
const AUTH_ID_IN_PROGRESS: &str = "vSBlJmUOj6ues9O-zRK17dfvkdJJmUylxKTArXH3mzE";

/// A server on a copy of the fixture (the store and its key file).
async fn spawn_on_schema_1(dir: &Path) -> TestApp {
    for file in ["tessera.redb", "tessera.key"] {
        std::fs::copy(Path::new(FIXTURE).join(file), dir.join(file)).expect("copy fixture");
    }
    let store = dir.join("tessera.redb");
    let config = base_config().replace(
        r#"path = ":memory:""#,
        &format!("path = {:?}", store.display().to_string()),
    );
    spawn_app_from(&format!("{config}\n{CLIENTS}\n{JOURNEYS}")).await
}

/// A client_credentials token request by `client`.
async fn client_credentials(app: &TestApp, client: Cred) -> (StatusCode, Value) {
    token(app, client, &[("grant_type", "client_credentials")]).await
}

#[tokio::test]
async fn a_schema_1_store_keeps_its_client_secret_signing_keys_and_authenticator_app() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_on_schema_1(dir.path()).await;

    let jwks: Value = app.jwks().await;
    let old: Value = serde_json::from_str(OLD_JWKS).expect("json");
    for key in old.as_array().expect("keys") {
        assert!(
            jwks["keys"].as_array().expect("keys").contains(key),
            "{key} is still published as it was: {jwks}"
        );
    }

    // The secret hashed under schema 1's key, then hashed again under the
    // current key on first use: it works both times; a wrong one never.
    for _ in 0..2 {
        let (status, body) = client_credentials(&app, Cred::Basic("svc", SVC_SECRET)).await;
        assert_eq!(status, 200, "{body}");
        let token = body["access_token"].as_str().expect("access_token");
        let header = jsonwebtoken::decode_header(token).expect("header");
        assert_eq!(
            header.kid.as_deref(),
            Some(OLD_RS256_KID),
            "the old key signs"
        );
        let introspected = introspect(&app, Cred::Basic("svc", SVC_SECRET), token).await;
        assert_eq!(introspected["active"], true, "{introspected}");
    }
    let (status, _) = client_credentials(&app, Cred::Basic("svc", "not the secret")).await;
    assert_eq!(status, 401);
    for (client_id, old_kid) in [
        ("es", "Js68tSGeqrYEt4fsm_0_QA"),
        ("ed", "Q97IJeparVNbVMo5KfYkMw"),
    ] {
        let (status, body) =
            client_credentials(&app, Cred::Basic(client_id, CONFIGURED_SECRET)).await;
        assert_eq!(status, 200, "{body}");
        let token = body["access_token"].as_str().expect("access_token");
        let header = jsonwebtoken::decode_header(token).expect("header");
        assert_eq!(header.kid.as_deref(), Some(old_kid), "the old key signs");
        let introspected = introspect(&app, Cred::Basic(client_id, CONFIGURED_SECRET), token).await;
        assert_eq!(introspected["active"], true, "{introspected}");
    }
    let stored = app
        .ctx
        .store
        .read(|tx| tx.client("svc"))
        .expect("store")
        .expect("svc");
    assert_eq!(
        app.ctx.sealer.check_mac(
            "client-secret",
            SVC_SECRET.as_bytes(),
            stored
                .secret_hash
                .as_deref()
                .expect("a confidential client")
        ),
        MacCheck::Matches,
        "hashed again under the current key"
    );

    let step: Value = app
        .authenticate_journey(
            "secure",
            json!({"input": {"username": ALICE.0, "password": ALICE.1}}),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(step["step"], "totp", "alice still has her app: {step}");
    let phone = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_secret(Secret::try_from_base32(TOTP_SECRET).expect("base32"))
        .build()
        .expect("totp");
    let now = u64::try_from(app.clock_now().unix_timestamp()).expect("after 1970");
    let response = app
        .authenticate_journey(
            "secure",
            json!({"auth_id": step["auth_id"], "input": {"code": phone.generate(now).to_string()}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert!(body["session_token"].is_string(), "{body}");
}

#[tokio::test]
async fn a_journey_in_progress_across_the_upgrade_ends_cleanly_and_can_start_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_on_schema_1(dir.path()).await;
    // Its enrollment secret was sealed under the old key: the journey is
    // dropped by the migration, so the client is told to start again
    // instead of meeting a server error.
    let response = app
        .authenticate_journey(
            "again",
            json!({"auth_id": AUTH_ID_IN_PROGRESS, "input": {"code": "123456"}}),
        )
        .await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("json");
    assert!((400..500).contains(&status), "{status} {body}");
    let restarted = app
        .authenticate_journey(
            "again",
            json!({"input": {"username": ALICE.0, "password": ALICE.1}}),
        )
        .await;
    assert_eq!(restarted.status(), 200);
}
