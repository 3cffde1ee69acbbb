//! DPoP-bound tokens at the notes API: a client with its own P-256 key asks
//! tessera for a token with a proof, then calls the API with the token and
//! a proof for each request; the API checks the proof against the token's
//! `cnf.jkt` and refuses a bound token sent as a bearer token, a proof for
//! another request or token, by another key, or used twice.

use super::{SECRET, challenge, start_both};
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};

/// A client's DPoP key.
struct Key(EcdsaKeyPair);

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    i64::try_from(secs).expect("in range")
}

impl Key {
    fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("keygen");
        Self(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
                .expect("key"),
        )
    }

    fn jwk(&self) -> Value {
        let point = self.0.public_key().as_ref();
        json!({"crv": "P-256", "kty": "EC", "x": b64(&point[1..33]), "y": b64(&point[33..65])})
    }

    /// A proof for `method` at `url`, for `token` if given.
    fn proof(&self, method: &str, url: &str, token: Option<&str>) -> String {
        static JTI: AtomicU64 = AtomicU64::new(0);
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk()});
        let mut claims = json!({
            "jti": format!("{}-{}", now(), JTI.fetch_add(1, Ordering::Relaxed)),
            "htm": method,
            "htu": url,
            "iat": now(),
        });
        if let Some(token) = token {
            claims["ath"] = json!(b64(digest(&SHA256, token.as_bytes()).as_ref()));
        }
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = self
            .0
            .sign(&SystemRandom::new(), input.as_bytes())
            .expect("sign");
        format!("{input}.{}", b64(signature.as_ref()))
    }
}

/// A `client_credentials` token of `writer`, bound to `key`.
async fn bound_token(issuer: &str, key: &Key) -> String {
    let url = format!("{issuer}/oauth2/token");
    let response: Value = reqwest::Client::new()
        .post(&url)
        .basic_auth("writer", Some(SECRET))
        .header("DPoP", key.proof("POST", &url, None))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "notes:read notes:write"),
        ])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token response");
    assert_eq!(response["token_type"], "DPoP", "{response}");
    response["access_token"]
        .as_str()
        .expect("a token")
        .to_owned()
}

/// `GET /notes` with `authorization` and these DPoP headers.
async fn get_notes(api: &str, authorization: &str, proofs: &[&str]) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .get(format!("{api}/notes"))
        .header("Authorization", authorization);
    for proof in proofs {
        request = request.header("DPoP", *proof);
    }
    request.send().await.expect("request")
}

#[track_caller]
fn assert_bad_proof(response: &reqwest::Response) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = challenge(response);
    assert!(
        challenge.starts_with(r#"DPoP algs="#)
            && challenge.contains(r#"error="invalid_dpop_proof""#),
        "{challenge}"
    );
}

#[tokio::test]
async fn a_dpop_bound_token_works_with_a_proof_of_its_key_for_each_request() {
    let (issuer, api) = start_both().await;
    let key = Key::new();
    let token = bound_token(&issuer, &key).await;
    let notes = format!("{api}/notes");
    let dpop = format!("DPoP {token}");

    let response = reqwest::Client::new()
        .post(&notes)
        .header("Authorization", &dpop)
        .header("DPoP", key.proof("POST", &notes, Some(&token)))
        .json(&json!({"text": "bound"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::CREATED);
    let proof = key.proof("GET", &notes, Some(&token));
    let response = get_notes(&api, &dpop, &[&proof]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let listed: Value = response.json().await.expect("json");
    assert_eq!(listed, json!([{"text": "bound"}]));

    // Used twice, for another method, without the token's hash, by another
    // key, none, two.
    assert_bad_proof(&get_notes(&api, &dpop, &[&proof]).await);
    assert_bad_proof(&get_notes(&api, &dpop, &[&key.proof("POST", &notes, Some(&token))]).await);
    assert_bad_proof(&get_notes(&api, &dpop, &[&key.proof("GET", &notes, None)]).await);
    let thief = Key::new();
    assert_bad_proof(&get_notes(&api, &dpop, &[&thief.proof("GET", &notes, Some(&token))]).await);
    assert_bad_proof(&get_notes(&api, &dpop, &[]).await);
    let (one, two) = (
        key.proof("GET", &notes, Some(&token)),
        key.proof("GET", &notes, Some(&token)),
    );
    assert_bad_proof(&get_notes(&api, &dpop, &[&one, &two]).await);
}

#[tokio::test]
async fn a_dpop_bound_token_sent_as_a_bearer_token_is_refused() {
    let (issuer, api) = start_both().await;
    let token = bound_token(&issuer, &Key::new()).await;
    let response = get_notes(&api, &format!("Bearer {token}"), &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = challenge(&response);
    assert!(
        challenge.starts_with(r#"Bearer realm="notes", error="invalid_token""#)
            && challenge.contains("DPoP-bound"),
        "{challenge}"
    );
}
