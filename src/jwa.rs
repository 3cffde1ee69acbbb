//! The JSON Web Algorithms (RFC 7518) tessera signs tokens with: a word
//! shared by the settings, the store (keys and clients record theirs) and
//! the token code, so it belongs to none of them.

use serde::Deserialize;

/// A JWS algorithm tessera signs tokens with.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, serde::Serialize,
)]
pub enum SigningAlg {
    RS256,
    ES256,
    EdDSA,
}

impl SigningAlg {
    /// The `alg` value.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::ES256 => "ES256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }
}
