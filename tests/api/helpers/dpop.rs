//! A DPoP client's key (RFC 9449): real key pairs made with aws-lc-rs,
//! proofs signed with them, and the key's RFC 7638 thumbprint computed
//! here, independently of the server.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
    EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256, RSA_PSS_SHA256,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::oauth::fresh;

/// A private key a client proves possession of.
pub enum DpopKey {
    Es256(EcdsaKeyPair),
    Es384(EcdsaKeyPair),
    Rs256(RsaKeyPair),
    Ps256(RsaKeyPair),
    EdDsa(Ed25519KeyPair),
}

fn ecdsa(alg: &'static EcdsaSigningAlgorithm) -> EcdsaKeyPair {
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &SystemRandom::new()).expect("keygen");
    EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref()).expect("key")
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What a proof says of its request; `now` is the server's clock.
pub struct ProofClaims<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub iat: i64,
    pub access_token: Option<&'a str>,
    pub nonce: Option<&'a str>,
}

impl<'a> ProofClaims<'a> {
    /// A proof for `method` at `url`, made at `iat`.
    pub fn new(method: &'a str, url: &'a str, iat: i64) -> Self {
        Self {
            method,
            url,
            iat,
            access_token: None,
            nonce: None,
        }
    }
}

impl DpopKey {
    /// A new P-256 key.
    pub fn es256() -> Self {
        Self::Es256(ecdsa(&ECDSA_P256_SHA256_FIXED_SIGNING))
    }

    /// A new P-384 key.
    pub fn es384() -> Self {
        Self::Es384(ecdsa(&ECDSA_P384_SHA384_FIXED_SIGNING))
    }

    /// A new RSA-2048 key for RSASSA-PSS.
    pub fn ps256() -> Self {
        Self::Ps256(RsaKeyPair::generate(KeySize::Rsa2048).expect("keygen"))
    }

    /// A new RSA-2048 key.
    pub fn rs256() -> Self {
        Self::Rs256(RsaKeyPair::generate(KeySize::Rsa2048).expect("keygen"))
    }

    /// A new Ed25519 key.
    pub fn eddsa() -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("keygen");
        Self::EdDsa(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key"))
    }

    pub fn alg(&self) -> &'static str {
        match self {
            Self::Es256(_) => "ES256",
            Self::Es384(_) => "ES384",
            Self::Rs256(_) => "RS256",
            Self::Ps256(_) => "PS256",
            Self::EdDsa(_) => "EdDSA",
        }
    }

    /// The public JWK, members in RFC 7638 order.
    pub fn jwk(&self) -> Value {
        match self {
            Self::Es256(key) | Self::Es384(key) => {
                // An uncompressed point: 0x04 ‖ x ‖ y.
                let point = key.public_key().as_ref();
                let half = (point.len() - 1) / 2;
                let crv = if half == 32 { "P-256" } else { "P-384" };
                json!({
                    "crv": crv,
                    "kty": "EC",
                    "x": b64(&point[1..=half]),
                    "y": b64(&point[half + 1..]),
                })
            }
            Self::Rs256(key) | Self::Ps256(key) => {
                let public = key.public_key();
                json!({
                    "e": b64(public.exponent().big_endian_without_leading_zero()),
                    "kty": "RSA",
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                })
            }
            Self::EdDsa(key) => {
                json!({"crv": "Ed25519", "kty": "OKP", "x": b64(key.public_key().as_ref())})
            }
        }
    }

    /// RFC 7638: base64url SHA-256 of the required members, in
    /// lexicographic order, without whitespace (serde_json keeps the
    /// order of `jwk`, which lists them so).
    pub fn thumbprint(&self) -> String {
        b64(digest(&SHA256, self.jwk().to_string().as_bytes()).as_ref())
    }

    /// A proof with a fresh `jti`.
    pub fn proof(&self, claims: &ProofClaims<'_>) -> String {
        self.proof_with(claims, &fresh(), |_| {})
    }

    /// A proof with `jti`, its header changed by `edit` before signing.
    pub fn proof_with(
        &self,
        claims: &ProofClaims<'_>,
        jti: &str,
        edit: impl FnOnce(&mut Value),
    ) -> String {
        let mut header = json!({"typ": "dpop+jwt", "alg": self.alg(), "jwk": self.jwk()});
        edit(&mut header);
        let mut body = json!({
            "jti": jti,
            "htm": claims.method,
            "htu": claims.url,
            "iat": claims.iat,
        });
        if let Some(token) = claims.access_token {
            body["ath"] = json!(b64(digest(&SHA256, token.as_bytes()).as_ref()));
        }
        if let Some(nonce) = claims.nonce {
            body["nonce"] = json!(nonce);
        }
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(body.to_string().as_bytes())
        );
        format!("{input}.{}", b64(&self.sign(input.as_bytes())))
    }

    fn sign(&self, input: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Self::Es256(key) | Self::Es384(key) => {
                key.sign(&rng, input).expect("sign").as_ref().to_vec()
            }
            Self::Rs256(key) | Self::Ps256(key) => {
                let padding = match self {
                    Self::Ps256(_) => &RSA_PSS_SHA256,
                    _ => &RSA_PKCS1_SHA256,
                };
                let mut signature = vec![0; key.public_modulus_len()];
                key.sign(padding, &rng, input, &mut signature)
                    .expect("sign");
                signature
            }
            Self::EdDsa(key) => key.sign(input).as_ref().to_vec(),
        }
    }
}

/// The claims of a JWT, read without checking it (the tests check what
/// the server put in, not whether it signed it).
pub fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("json")
}
