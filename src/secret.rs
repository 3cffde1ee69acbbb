//! Secrets: redacted wrapper types, CSPRNG tokens, token hashing and
//! constant-time comparison. Every secret in tessera passes through here.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::fmt;

/// Declares a secret string type: `Debug` prints `Name([redacted])`,
/// equality is constant-time, and the value is only reachable through
/// `expose()`. Deserializes from a plain string, so a wire secret (a
/// `client_secret`, a `code_verifier`) is typed the moment a form is
/// decoded. One macro, so that every secret redacts and compares alike.
macro_rules! secret_string {
    ($(#[$attr:meta])* $vis:vis struct $name:ident;) => {
        $(#[$attr])*
        #[derive(Clone, serde::Deserialize)]
        #[serde(from = "String")]
        $vis struct $name(String);

        impl $name {
            /// The secret value, for the few places that must use it.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                $crate::secret::constant_time_eq(self.0.as_bytes(), other.0.as_bytes())
            }
        }

        impl Eq for $name {}

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }
    };
}
pub(crate) use secret_string;

secret_string! {
    /// A string that must never be logged: a password, a configured client
    /// secret, a journey's input.
    #[derive(Default)]
    pub struct SecretString;
}

impl SecretString {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
}

secret_string! {
    /// A bearer token: 256 bits from the CSPRNG, base64url without padding,
    /// or whatever a client presents as one (a session token, an
    /// authorization code, a refresh token). Only its [`TokenHash`] is ever
    /// stored.
    pub struct Token;
}

impl Token {
    /// A fresh random token.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token presented by a client; it is only ever hashed and compared.
    pub fn from_presented(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The lookup key under which the token's record is stored.
    pub fn hash(&self) -> TokenHash {
        TokenHash(sha256(self.0.as_bytes()))
    }
}

/// SHA-256 of a token. A plain hash is enough for 256-bit random tokens:
/// there is nothing to brute-force, and lookups stay fast.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// A digest read back from storage; `None` if it is not 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    /// The raw digest, used as a store key.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({})", URL_SAFE_NO_PAD.encode(&self.0[..6]))
    }
}

/// SHA-256 of `data`: token hashes, PKCE challenges, device fingerprints.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

/// Compares two byte strings without leaking where they differ (only
/// whether their lengths do).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    verify_slices_are_equal(a, b).is_ok()
}

/// A short random identifier (128 bits, base64url) for records that need a
/// public, unguessable name, such as user and session ids.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_redact_themselves_in_debug_output() {
        let secret = SecretString::new("hunter2");
        assert_eq!(format!("{secret:?}"), "SecretString([redacted])");
        let token = Token::generate();
        assert!(!format!("{token:?}").contains(token.expose()));
    }

    #[test]
    fn secrets_compare_by_value() {
        assert_eq!(SecretString::new("same"), SecretString::new("same"));
        assert_ne!(SecretString::new("same"), SecretString::new("samE"));
        assert_ne!(
            SecretString::new("same"),
            SecretString::new("same-but-longer")
        );
        let parsed: SecretString = serde_json::from_str("\"from the wire\"").expect("a string");
        assert_eq!(parsed.expose(), "from the wire");
    }

    #[test]
    fn generated_tokens_carry_256_bits_and_differ() {
        let a = Token::generate();
        let b = Token::generate();
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a, b);
        assert_ne!(a.hash(), b.hash());
    }
}
