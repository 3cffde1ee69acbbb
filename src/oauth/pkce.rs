//! PKCE (RFC 7636) with `S256` only (RFC 9700 §2.1.1): the challenge an
//! authorization request carries and the verifier that redeems its code.
//! Both are `43*128unreserved` (§4.1, §4.2), checked by one function.

use crate::secret::{constant_time_eq, secret_string, sha256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// RFC 7636 §4.1: 43 to 128 characters of `ALPHA / DIGIT / "-" / "." /
/// "_" / "~"`, the syntax of both a verifier and an S256 challenge.
fn is_pkce_text(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// An S256 `code_challenge`, bound to the code it comes with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// The challenge, if it is well-formed.
    pub fn parse(raw: &str) -> Option<Self> {
        is_pkce_text(raw).then(|| Self(raw.to_owned()))
    }

    /// The challenge as text, as the code's record keeps it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `verifier` answers this challenge: it is well-formed and
    /// its S256 is the challenge, compared in constant time.
    pub fn is_answered_by(&self, verifier: &CodeVerifier) -> bool {
        let computed = URL_SAFE_NO_PAD.encode(sha256(verifier.expose().as_bytes()));
        is_pkce_text(verifier.expose()) && constant_time_eq(computed.as_bytes(), self.0.as_bytes())
    }
}

secret_string! {
    /// A `code_verifier` as presented at the token endpoint. Its syntax is
    /// judged when it is checked against the code's challenge, not when the
    /// form is read: RFC 7636 §4.6 answers a wrong verifier, well-formed or
    /// not, with `invalid_grant`, and only after the code was looked up
    /// (so that a replayed code is revoked whatever verifier it came with).
    pub struct CodeVerifier;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn verifier(text: &str) -> CodeVerifier {
        CodeVerifier::from(text.to_owned())
    }

    /// The S256 challenge of a verifier, computed as a client would.
    fn challenge_of(text: &str) -> String {
        URL_SAFE_NO_PAD.encode(sha256(text.as_bytes()))
    }

    proptest! {
        #[test]
        fn challenges_never_panic_and_round_trip(raw in any::<String>()) {
            if let Some(challenge) = CodeChallenge::parse(&raw) {
                prop_assert_eq!(challenge.as_str(), raw.as_str());
                prop_assert_eq!(CodeChallenge::parse(challenge.as_str()), Some(challenge));
            }
        }

        #[test]
        fn well_formed_verifiers_answer_their_own_challenge_only(
            text in "[A-Za-z0-9._~-]{43,128}",
            other in "[A-Za-z0-9._~-]{43,128}",
        ) {
            let challenge = CodeChallenge::parse(&challenge_of(&text)).expect("S256 is 43 chars");
            prop_assert!(challenge.is_answered_by(&verifier(&text)));
            prop_assert_eq!(challenge.is_answered_by(&verifier(&other)), text == other);
        }

        #[test]
        fn arbitrary_verifiers_never_panic(raw in any::<String>()) {
            let challenge = CodeChallenge::parse(&challenge_of(&raw)).expect("S256 is 43 chars");
            prop_assert_eq!(challenge.is_answered_by(&verifier(&raw)), is_pkce_text(&raw));
        }
    }

    #[test]
    fn the_rfc_7636_example_verifier_matches_its_challenge() {
        // RFC 7636 Appendix B.
        let challenge =
            CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM").expect("valid");
        assert!(challenge.is_answered_by(&verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")));
        assert!(
            !challenge.is_answered_by(&verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx"))
        );
        assert!(!challenge.is_answered_by(&verifier("short")));
    }

    #[test]
    fn challenges_have_rfc_7636_syntax() {
        assert!(CodeChallenge::parse(&"a".repeat(43)).is_some());
        assert!(CodeChallenge::parse(&"a".repeat(128)).is_some());
        assert!(CodeChallenge::parse(&"a".repeat(42)).is_none());
        assert!(CodeChallenge::parse(&"a".repeat(129)).is_none());
        assert!(CodeChallenge::parse(&format!("{}+", "a".repeat(43))).is_none());
        assert!(CodeChallenge::parse(&format!("{}é", "a".repeat(43))).is_none());
    }
}
