//! The RFC nouns that requests carry, parsed once where a request comes
//! in: `client_id` and `client_secret` (RFC 6749 §2.2, §2.3.1), `scope`
//! (§3.3), `grant_type` (§4) and OpenID Connect's `prompt`. Once built, a value is valid; a wire
//! secret is redacted in `Debug` and compared in constant time.

use super::OAuthError;
use super::scopes::is_scope_token;
use crate::secret::secret_string;
use std::fmt;
use std::str::FromStr;

/// A client identifier as tessera issues them: 1 to 128 letters, digits,
/// `-`, `_`, `.` or `:`. A presented id of any other shape cannot name a
/// client, so it is refused as an unknown one would be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    /// The id, if it has the shape of one.
    pub fn parse(raw: &str) -> Option<Self> {
        let valid = (1..=128).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
        valid.then(|| Self(raw.to_owned()))
    }

    /// The id as text (store keys, claims).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

secret_string! {
    /// A `client_secret` as presented (RFC 6749 §2.3.1), in a form or in
    /// Basic credentials. It is only ever MACed and compared.
    pub struct ClientSecret;
}

/// The scopes of a request (RFC 6749 §3.3): scope tokens, sorted and
/// without duplicates, so that two sets naming the same scopes are equal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet(Vec<String>);

/// A `scope` parameter that is not a space-separated list of scope tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MalformedScope;

/// A `scope` parameter as requested: absent, or parsed. A malformed one is
/// kept as such rather than refused at once, so that each grant reports it
/// at its place among the other checks (a replayed refresh token revokes
/// its family whatever scope it came with).
pub type ScopeParam = Option<Result<ScopeSet, MalformedScope>>;

impl ScopeSet {
    /// Whether no scope is named.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The scopes, in order.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// The scopes, in order.
    pub fn iter(&self) -> impl Iterator<Item = &String> {
        self.0.iter()
    }

    /// Whether `scope` is one of them.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    /// The scopes, as stored in codes, tokens and consents.
    pub fn into_vec(self) -> Vec<String> {
        self.0
    }
}

impl FromStr for ScopeSet {
    type Err = MalformedScope;

    /// Space-separated scope tokens; empty items (double spaces) are
    /// ignored, as before.
    fn from_str(raw: &str) -> Result<Self, MalformedScope> {
        let mut scopes: Vec<String> = raw
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if !scopes.iter().all(|s| is_scope_token(s)) {
            return Err(MalformedScope);
        }
        scopes.sort();
        scopes.dedup();
        Ok(Self(scopes))
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

/// RFC 6749 §5.2: a malformed `scope` is `invalid_scope`.
impl From<MalformedScope> for OAuthError {
    fn from(_: MalformedScope) -> Self {
        OAuthError::invalid_scope("the scope parameter is malformed")
    }
}

/// A `scope` parameter, parsed when present.
pub fn scope_param(raw: Option<&str>) -> ScopeParam {
    raw.map(str::parse)
}

/// The grant types of the token endpoint (RFC 6749 §4, RFC 8693, RFC 8628).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    /// RFC 8693, for session tokens only (see `exchange`).
    TokenExchange,
    /// RFC 8628 §3.4: a device polling for the user's decision.
    DeviceCode,
}

impl GrantType {
    /// Every grant type, in the order metadata lists them.
    pub const ALL: [GrantType; 5] = [
        Self::AuthorizationCode,
        Self::RefreshToken,
        Self::ClientCredentials,
        Self::TokenExchange,
        Self::DeviceCode,
    ];

    /// The `grant_type` value on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::TokenExchange => "urn:ietf:params:oauth:grant-type:token-exchange",
            Self::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
        }
    }
}

impl FromStr for GrantType {
    /// The value, which is not a grant type tessera supports.
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|grant| grant.as_str() == raw)
            .ok_or_else(|| raw.to_owned())
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `prompt` asks for (OpenID Connect Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    /// No page may be shown: errors instead of sign-in or consent.
    pub none: bool,
    /// Sign in again even with a session.
    pub login: bool,
    /// Ask for consent even when it was given before.
    pub consent: bool,
}

impl FromStr for Prompt {
    type Err = OAuthError;

    /// Space-separated values; `none` stands alone.
    fn from_str(raw: &str) -> Result<Self, OAuthError> {
        let mut prompt = Prompt::default();
        let values: Vec<&str> = raw.split(' ').filter(|v| !v.is_empty()).collect();
        for value in &values {
            match *value {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                // Accounts are chosen by signing in: the same as `login`.
                "select_account" => prompt.login = true,
                other => {
                    return Err(OAuthError::invalid_request(format!(
                        "prompt `{other}` is not supported"
                    )));
                }
            }
        }
        if prompt.none && values.len() > 1 {
            return Err(OAuthError::invalid_request(
                "prompt=none cannot be combined with other values",
            ));
        }
        Ok(prompt)
    }
}

impl fmt::Display for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values = [
            (self.none, "none"),
            (self.login, "login"),
            (self.consent, "consent"),
        ];
        let named: Vec<&str> = values
            .into_iter()
            .filter_map(|(asked, name)| asked.then_some(name))
            .collect();
        f.write_str(&named.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A scope token, from the whole of RFC 6749 §3.3's alphabet.
    fn scope_token() -> impl Strategy<Value = String> {
        "[!#-\\[\\]-~]{1,12}"
    }

    proptest! {
        #[test]
        fn client_ids_never_panic_and_round_trip(raw in any::<String>()) {
            if let Some(id) = ClientId::parse(&raw) {
                prop_assert_eq!(id.as_str(), raw.as_str());
                prop_assert_eq!(ClientId::parse(&id.to_string()), Some(id));
            }
        }

        #[test]
        fn well_formed_client_ids_are_accepted(raw in "[A-Za-z0-9._:-]{1,128}") {
            prop_assert!(ClientId::parse(&raw).is_some());
        }

        #[test]
        fn scope_parameters_never_panic_and_round_trip(raw in any::<String>()) {
            if let Ok(scopes) = raw.parse::<ScopeSet>() {
                prop_assert!(scopes.iter().all(|s| is_scope_token(s)));
                prop_assert_eq!(scopes.to_string().parse::<ScopeSet>(), Ok(scopes));
            }
        }

        #[test]
        fn lists_of_scope_tokens_are_accepted_in_any_order(
            tokens in proptest::collection::vec(scope_token(), 0..6)
        ) {
            let forward: ScopeSet = tokens.join(" ").parse().expect("scope tokens");
            let mut reversed = tokens.clone();
            reversed.reverse();
            prop_assert_eq!(reversed.join("  ").parse::<ScopeSet>(), Ok(forward.clone()));
            prop_assert!(tokens.iter().all(|t| forward.contains(t)));
        }

        #[test]
        fn grant_types_never_panic_and_round_trip(raw in any::<String>()) {
            if let Ok(grant) = raw.parse::<GrantType>() {
                prop_assert_eq!(grant.as_str(), raw.as_str());
            }
        }
    }

    proptest! {
        #[test]
        fn prompts_never_panic_and_round_trip(raw in any::<String>()) {
            if let Ok(prompt) = raw.parse::<Prompt>() {
                prop_assert_eq!(prompt.to_string().parse::<Prompt>().ok(), Some(prompt));
            }
        }

        #[test]
        fn prompt_values_combine_in_any_order(
            values in proptest::collection::vec(
                prop_oneof!["login", "consent", "select_account"], 0..4)
        ) {
            let prompt: Prompt = values.join(" ").parse().expect("supported values");
            prop_assert!(!prompt.none);
            prop_assert_eq!(prompt.consent, values.iter().any(|v| v == "consent"));
        }
    }

    #[test]
    fn prompt_none_stands_alone_and_unknown_values_are_refused() {
        let code = |raw: &str| raw.parse::<Prompt>().err().map(|e| e.kind.code());
        assert_eq!(
            "none".parse::<Prompt>().ok(),
            Some(Prompt {
                none: true,
                ..Prompt::default()
            })
        );
        assert_eq!("".parse::<Prompt>().ok(), Some(Prompt::default()));
        assert_eq!(code("none login"), Some("invalid_request"));
        assert_eq!(code("none none"), Some("invalid_request"));
        assert_eq!(code("create"), Some("invalid_request"));
        let select: Prompt = "select_account".parse().expect("supported");
        assert_eq!(select.to_string(), "login");
    }

    #[test]
    fn scope_parameters_are_split_sorted_and_checked() {
        let scopes: ScopeSet = "openid  email openid".parse().expect("well-formed");
        assert_eq!(scopes.into_vec(), ["email", "openid"]);
        assert_eq!("".parse::<ScopeSet>(), Ok(ScopeSet::default()));
        assert_eq!("bad\"quote".parse::<ScopeSet>(), Err(MalformedScope));
        assert_eq!("tab\tinside".parse::<ScopeSet>(), Err(MalformedScope));
    }

    #[test]
    fn client_ids_have_the_shape_tessera_issues() {
        assert!(ClientId::parse("notes").is_some());
        assert!(ClientId::parse("urn:example:app-1.2_x").is_some());
        assert!(ClientId::parse("").is_none());
        assert!(ClientId::parse("has space").is_none());
        assert!(ClientId::parse(&"a".repeat(129)).is_none());
    }

    #[test]
    fn every_grant_type_parses_from_its_wire_name_only() {
        for grant in GrantType::ALL {
            assert_eq!(grant.as_str().parse::<GrantType>(), Ok(grant));
        }
        assert_eq!("password".parse::<GrantType>(), Err("password".to_owned()));
        assert!("Authorization_Code".parse::<GrantType>().is_err());
    }

    #[test]
    fn client_secrets_redact_themselves_and_compare_by_value() {
        let secret = ClientSecret::from("s3cret".to_owned());
        assert_eq!(format!("{secret:?}"), "ClientSecret([redacted])");
        assert_eq!(secret, ClientSecret::from("s3cret".to_owned()));
        assert_ne!(secret, ClientSecret::from("s3creT".to_owned()));
    }
}
