//! A software WebAuthn authenticator for the tests: a P-256 key made with
//! aws-lc-rs (already tessera's crypto provider), attestation format
//! `none`, and the few CBOR items WebAuthn needs, encoded by hand.
//!
//! Why not webauthn-rs's own `webauthn-authenticator-rs` (`softpasskey`)?
//! In 0.6.2 it is pure Rust too (crypto-glue), so it would build; this file
//! was kept because it adds no dev-dependency (that crate brings its CTAP2
//! stack: tokio-stream, async-stream, futures, nom…) and because the tests
//! need to hold the authenticator's state in their hands: replay an old
//! assertion, keep the counter they check. It answers as a real platform
//! authenticator would: user present and verified, a counter that goes up
//! at every use, a discoverable credential with a user handle.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// The origin the authenticator's browser reports; the test servers list
/// it in `passkeys.origins`.
pub const ORIGIN: &str = "http://localhost:8080";

/// User present, user verified, attested credential data included.
const UP: u8 = 0x01;
const UV: u8 = 0x04;
const AT: u8 = 0x40;

pub struct SoftPasskey {
    key: EcdsaKeyPair,
    pub credential_id: Vec<u8>,
    /// What registration gave as `user.id`.
    pub user_handle: Vec<u8>,
    pub counter: u32,
    rp_id: String,
}

impl SoftPasskey {
    /// Makes a passkey from `navigator.credentials.create` options
    /// (`{"publicKey": …}`); returns it and the browser's answer as JSON.
    pub fn create(options: &Value) -> (Self, String) {
        let options = &options["publicKey"];
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
        let mut credential_id = vec![0u8; 16];
        aws_lc_rs::rand::fill(&mut credential_id).unwrap();
        let passkey = Self {
            key,
            credential_id,
            user_handle: b64(options["user"]["id"].as_str().unwrap()),
            counter: 0,
            rp_id: options["rp"]["id"].as_str().unwrap().to_owned(),
        };
        let client_data = client_data("webauthn.create", options);
        let mut auth_data = passkey.auth_data(UP | UV | AT);
        auth_data.extend_from_slice(&[0; 16]); // AAGUID: none
        auth_data.extend_from_slice(
            &u16::try_from(passkey.credential_id.len())
                .unwrap()
                .to_be_bytes(),
        );
        auth_data.extend_from_slice(&passkey.credential_id);
        auth_data.extend_from_slice(&passkey.cose_key());
        let mut attestation = map(3);
        attestation.extend(text("fmt"));
        attestation.extend(text("none"));
        attestation.extend(text("attStmt"));
        attestation.extend(map(0));
        attestation.extend(text("authData"));
        attestation.extend(bytes(&auth_data));
        let answer = json!({
            "id": URL_SAFE_NO_PAD.encode(&passkey.credential_id),
            "rawId": URL_SAFE_NO_PAD.encode(&passkey.credential_id),
            "type": "public-key",
            "response": {
                "attestationObject": URL_SAFE_NO_PAD.encode(attestation),
                "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data),
            },
            "extensions": {},
        });
        (passkey, answer.to_string())
    }

    /// Answers `navigator.credentials.get` options (`{"publicKey": …}`)
    /// as the browser would, counting one use.
    pub fn get(&mut self, options: &Value) -> String {
        self.counter += 1;
        let options = &options["publicKey"];
        let client_data = client_data("webauthn.get", options);
        let auth_data = self.auth_data(UP | UV);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(digest(&SHA256, client_data.as_bytes()).as_ref());
        let signature = self.key.sign(&SystemRandom::new(), &signed).unwrap();
        json!({
            "id": URL_SAFE_NO_PAD.encode(&self.credential_id),
            "rawId": URL_SAFE_NO_PAD.encode(&self.credential_id),
            "type": "public-key",
            "response": {
                "authenticatorData": URL_SAFE_NO_PAD.encode(auth_data),
                "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data),
                "signature": URL_SAFE_NO_PAD.encode(signature.as_ref()),
                "userHandle": URL_SAFE_NO_PAD.encode(&self.user_handle),
            },
            "extensions": {},
        })
        .to_string()
    }

    /// rpIdHash, flags, signature counter (W3C WebAuthn §6.1).
    fn auth_data(&self, flags: u8) -> Vec<u8> {
        let mut data = digest(&SHA256, self.rp_id.as_bytes()).as_ref().to_vec();
        data.push(flags);
        data.extend_from_slice(&self.counter.to_be_bytes());
        data
    }

    /// The public key as a COSE_Key (RFC 9053): EC2, ES256, P-256, x, y.
    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.public_key().as_ref();
        let mut key = map(5);
        key.extend(int(1));
        key.extend(int(2));
        key.extend(int(3));
        key.extend(int(-7));
        key.extend(int(-1));
        key.extend(int(1));
        key.extend(int(-2));
        key.extend(bytes(&point[1..33]));
        key.extend(int(-3));
        key.extend(bytes(&point[33..65]));
        key
    }
}

fn client_data(kind: &str, options: &Value) -> String {
    json!({
        "type": kind,
        "challenge": options["challenge"],
        "origin": ORIGIN,
        "crossOrigin": false,
    })
    .to_string()
}

fn b64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

/// A CBOR item head (RFC 8949 §3): major type and argument.
fn head(major: u8, n: usize) -> Vec<u8> {
    match n {
        0..24 => vec![major << 5 | n as u8],
        24..256 => vec![major << 5 | 24, n as u8],
        _ => {
            let mut out = vec![major << 5 | 25];
            out.extend_from_slice(&u16::try_from(n).unwrap().to_be_bytes());
            out
        }
    }
}

fn int(n: i64) -> Vec<u8> {
    match n {
        0.. => head(0, n as usize),
        _ => head(1, (-1 - n) as usize),
    }
}

fn bytes(value: &[u8]) -> Vec<u8> {
    let mut out = head(2, value.len());
    out.extend_from_slice(value);
    out
}

fn text(value: &str) -> Vec<u8> {
    let mut out = head(3, value.len());
    out.extend_from_slice(value.as_bytes());
    out
}

fn map(pairs: usize) -> Vec<u8> {
    head(5, pairs)
}
