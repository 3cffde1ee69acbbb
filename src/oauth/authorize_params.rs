//! The parameters of an authorization request (RFC 6749 §4.1.1, OpenID
//! Connect Core §3.1.2.1) exactly as sent, as the query or form decodes
//! them, and as they are carried through sign-in and consent.

use serde::{Deserialize, Serialize};

/// The parameters of an authorization request, exactly as sent: the
/// request goes through sign-in and consent and comes back as it was.
/// `authorize::validate` parses them into an `AuthorizationRequest` of
/// RFC nouns, in the order of RFC 6749 §4.1.2.1 (what cannot be trusted is
/// shown, never redirected), so no field may be refused while the query or
/// form is decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct AuthorizeParams {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub nonce: Option<String>,
    /// OpenID Connect Core §3.1.2.1: `none`, `login`, `consent`.
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    pub id_token_hint: Option<String>,
    /// A journey name here chooses the journey the user signs in with.
    pub acr_values: Option<String>,
    /// Request objects are not supported; their presence is refused.
    pub request: Option<String>,
    pub request_uri: Option<String>,
    /// RFC 9449 §10: the thumbprint of the DPoP key the code is bound to.
    pub dpop_jkt: Option<String>,
}

impl AuthorizeParams {
    /// The parameters to carry through sign-in and the consent form, by
    /// name: a pushed request's `request_uri` too. Request objects are left
    /// out: a request with one never gets that far.
    pub fn echoed(&self) -> Vec<(&'static str, String)> {
        [
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("response_type", &self.response_type),
            ("scope", &self.scope),
            ("state", &self.state),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("nonce", &self.nonce),
            ("prompt", &self.prompt),
            ("max_age", &self.max_age),
            ("login_hint", &self.login_hint),
            ("id_token_hint", &self.id_token_hint),
            ("acr_values", &self.acr_values),
            ("request_uri", &self.request_uri),
            ("dpop_jkt", &self.dpop_jkt),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.clone().map(|value| (name, value)))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::AuthorizeParams;
    use proptest::prelude::*;

    fn param() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(any::<String>())
    }

    prop_compose! {
        fn echoable()(
            ids in (param(), param(), param(), param(), param()),
            pkce in (param(), param(), param()),
            oidc in (param(), param(), param(), param(), param()),
            request_uri in param(),
            dpop_jkt in param(),
        ) -> AuthorizeParams {
            let (client_id, redirect_uri, response_type, scope, state) = ids;
            let (code_challenge, code_challenge_method, nonce) = pkce;
            let (prompt, max_age, login_hint, id_token_hint, acr_values) = oidc;
            AuthorizeParams {
                client_id, redirect_uri, response_type, scope, state,
                code_challenge, code_challenge_method, nonce,
                prompt, max_age, login_hint, id_token_hint, acr_values,
                request: None,
                request_uri,
                dpop_jkt,
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_queries_never_panic(query in any::<String>()) {
            let _ = serde_urlencoded::from_str::<AuthorizeParams>(&query);
        }

        #[test]
        fn echoed_parameters_decode_to_the_request(params in echoable()) {
            let query = serde_urlencoded::to_string(params.echoed()).expect("encodes");
            let decoded: AuthorizeParams = serde_urlencoded::from_str(&query).expect("decodes");
            prop_assert_eq!(decoded, params);
        }
    }
}
