//! JWTs signed in JWS compact serialization (RFC 7515 §7.1): the header and
//! claims as base64url JSON, then the signature over both.
//!
//! Keys are parsed once into aws-lc-rs key objects, so that a token costs
//! the signature and no more: jsonwebtoken's `encode` parses its key from
//! DER on every call, which for RS256 costs about twice the RSA operation.
//! Verification stays with jsonwebtoken (see `keys`), and the tests check
//! that it accepts what this module signs.

use crate::jwa::SigningAlg;
use aws_lc_rs::error::KeyRejected;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, RSA_PKCS1_SHA256,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

/// A private key ready to sign, for one algorithm.
pub enum Signer {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3).
    Rs256(RsaKeyPair),
    /// ECDSA P-256 with SHA-256, `r || s` (RFC 7518 §3.4).
    Es256(EcdsaKeyPair),
    /// Ed25519 (RFC 8037 §3.1).
    EdDsa(Ed25519KeyPair),
}

/// Why a token could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("the claims cannot be serialised: {0}")]
    Claims(#[from] serde_json::Error),
    #[error("the crypto library failed to sign")]
    Crypto,
}

/// The protected header tessera writes.
#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'a str,
    kid: &'a str,
}

impl Signer {
    /// Parses a PKCS#8 private key of `alg`.
    pub fn from_pkcs8(alg: SigningAlg, der: &[u8]) -> Result<Self, KeyRejected> {
        Ok(match alg {
            SigningAlg::RS256 => Self::Rs256(RsaKeyPair::from_pkcs8(der)?),
            SigningAlg::ES256 => Self::Es256(EcdsaKeyPair::from_pkcs8(
                &ECDSA_P256_SHA256_FIXED_SIGNING,
                der,
            )?),
            SigningAlg::EdDSA => Self::EdDsa(Ed25519KeyPair::from_pkcs8(der)?),
        })
    }

    /// The algorithm the key signs with.
    pub fn alg(&self) -> SigningAlg {
        match self {
            Self::Rs256(_) => SigningAlg::RS256,
            Self::Es256(_) => SigningAlg::ES256,
            Self::EdDsa(_) => SigningAlg::EdDSA,
        }
    }

    /// `claims` as a compact JWS with header `alg`, `typ` and `kid`.
    pub fn sign<T: Serialize>(
        &self,
        typ: &str,
        kid: &str,
        claims: &T,
    ) -> Result<String, SignError> {
        let header = Header {
            alg: self.alg().as_str(),
            typ,
            kid,
        };
        let mut token = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(serde_json::to_vec(claims)?, &mut token);
        let signature = self.signature(token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }

    fn signature(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignError> {
        match self {
            Self::Rs256(key) => {
                let mut signature = vec![0; key.public_modulus_len()];
                key.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    signing_input,
                    &mut signature,
                )
                .map_err(|_| SignError::Crypto)?;
                Ok(signature)
            }
            Self::Es256(key) => key
                .sign(&SystemRandom::new(), signing_input)
                .map(|signature| signature.as_ref().to_vec())
                .map_err(|_| SignError::Crypto),
            Self::EdDsa(key) => Ok(key.sign(signing_input).as_ref().to_vec()),
        }
    }

    /// The public key's bytes as aws-lc-rs gives them (for tests that check
    /// a signature without jsonwebtoken).
    #[cfg(test)]
    fn public_key(&self) -> Vec<u8> {
        use aws_lc_rs::signature::KeyPair;
        match self {
            Self::Rs256(key) => key.public_key().as_ref().to_vec(),
            Self::Es256(key) => key.public_key().as_ref().to_vec(),
            Self::EdDsa(key) => key.public_key().as_ref().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey,
        VerificationAlgorithm,
    };

    fn pkcs8(alg: SigningAlg) -> Vec<u8> {
        use aws_lc_rs::encoding::AsDer;
        match alg {
            SigningAlg::RS256 => RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .and_then(|key| key.as_der())
                .map(|der| der.as_ref().to_vec()),
            SigningAlg::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .and_then(|key| key.to_pkcs8v1())
                .map(|der| der.as_ref().to_vec()),
            SigningAlg::EdDSA => Ed25519KeyPair::generate()
                .and_then(|key| key.to_pkcs8v1())
                .map(|der| der.as_ref().to_vec()),
        }
        .expect("generated")
    }

    fn verification(alg: SigningAlg) -> &'static dyn VerificationAlgorithm {
        match alg {
            SigningAlg::RS256 => &RSA_PKCS1_2048_8192_SHA256,
            SigningAlg::ES256 => &ECDSA_P256_SHA256_FIXED,
            SigningAlg::EdDSA => &ED25519,
        }
    }

    #[test]
    fn tokens_are_header_claims_and_a_signature_over_both() {
        for alg in [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA] {
            let signer = Signer::from_pkcs8(alg, &pkcs8(alg)).expect("parses");
            let token = signer
                .sign("at+jwt", "k1", &serde_json::json!({"sub": "alice"}))
                .expect("signs");
            let parts: Vec<&str> = token.split('.').collect();
            assert_eq!(parts.len(), 3, "{token}");
            let header: serde_json::Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("base64url"))
                    .expect("json");
            assert_eq!(
                header,
                serde_json::json!({"alg": alg.as_str(), "typ": "at+jwt", "kid": "k1"})
            );
            let claims: serde_json::Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("base64url"))
                    .expect("json");
            assert_eq!(claims["sub"], "alice");
            let signature = URL_SAFE_NO_PAD.decode(parts[2]).expect("base64url");
            let signed = format!("{}.{}", parts[0], parts[1]);
            let public = UnparsedPublicKey::new(verification(alg), signer.public_key());
            public
                .verify(signed.as_bytes(), &signature)
                .unwrap_or_else(|_| panic!("{} signature verifies", alg.as_str()));
            let tampered = format!("{}.e30", parts[0]);
            assert!(public.verify(tampered.as_bytes(), &signature).is_err());
        }
    }

    #[test]
    fn a_key_of_another_algorithm_is_refused() {
        let ed25519 = pkcs8(SigningAlg::EdDSA);
        assert!(Signer::from_pkcs8(SigningAlg::RS256, &ed25519).is_err());
        assert!(Signer::from_pkcs8(SigningAlg::ES256, &ed25519).is_err());
        assert!(Signer::from_pkcs8(SigningAlg::EdDSA, b"not a key").is_err());
    }
}
