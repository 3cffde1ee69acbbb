//! A token request (RFC 6749 §4.1.3, §4.4.2, §6; RFC 8693 §2.1; RFC 8628
//! §3.4), read from the form once into one variant per grant. The checks
//! run in the order the endpoint has always answered them: `grant_type` missing
//! (`invalid_request`) or unknown (`unsupported_grant_type`), then whether
//! the client may use the grant (`unauthorized_client`), then the grant's
//! required parameters (`invalid_request`).

use super::exchange::{ACCESS_TOKEN_TYPE, SESSION_TOKEN_TYPE};
use super::params::{GrantType, ScopeParam, scope_param};
use super::pkce::CodeVerifier;
use super::{ErrorKind, OAuthError};
use crate::secret::Token;
use serde::Deserialize;

/// The form of a token request as posted (client credentials already
/// taken out). Secrets are typed, and so redacted, from the start.
#[derive(Debug, Default, Deserialize)]
pub struct TokenParams {
    grant_type: Option<String>,
    code: Option<Token>,
    redirect_uri: Option<String>,
    code_verifier: Option<CodeVerifier>,
    refresh_token: Option<Token>,
    scope: Option<String>,
    subject_token: Option<Token>,
    subject_token_type: Option<String>,
    requested_token_type: Option<String>,
    device_code: Option<Token>,
}

/// A token request, one variant per grant, with what that grant needs.
#[derive(Debug)]
pub enum TokenRequest {
    /// RFC 6749 §4.1.3 with RFC 7636 §4.5.
    AuthorizationCode {
        code: Token,
        /// Compared byte for byte with the authorization request's.
        redirect_uri: Option<String>,
        code_verifier: Option<CodeVerifier>,
    },
    /// RFC 6749 §6.
    RefreshToken {
        refresh_token: Token,
        scope: ScopeParam,
    },
    /// RFC 6749 §4.4.2.
    ClientCredentials { scope: ScopeParam },
    /// RFC 8693 §2.1, of a tessera session token for an access token.
    TokenExchange {
        subject_token: Token,
        scope: ScopeParam,
    },
    /// RFC 8628 §3.4: a device polling with its device code.
    DeviceCode { device_code: Token },
}

impl TokenRequest {
    /// The grant this request is for.
    pub fn grant(&self) -> GrantType {
        match self {
            Self::AuthorizationCode { .. } => GrantType::AuthorizationCode,
            Self::RefreshToken { .. } => GrantType::RefreshToken,
            Self::ClientCredentials { .. } => GrantType::ClientCredentials,
            Self::TokenExchange { .. } => GrantType::TokenExchange,
            Self::DeviceCode { .. } => GrantType::DeviceCode,
        }
    }

    /// Reads a request from its form. `may_use` says whether the client
    /// may use the grant; it is asked before the grant's parameters are
    /// looked at.
    pub fn parse(
        params: TokenParams,
        may_use: impl FnOnce(GrantType) -> Result<(), OAuthError>,
    ) -> Result<Self, OAuthError> {
        let grant: GrantType = params
            .grant_type
            .as_deref()
            .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?
            .parse()
            .map_err(|grant| {
                OAuthError::new(
                    ErrorKind::UnsupportedGrantType,
                    format!("grant_type `{grant}` is not supported"),
                )
            })?;
        may_use(grant)?;
        let scope = scope_param(params.scope.as_deref());
        Ok(match grant {
            GrantType::AuthorizationCode => Self::AuthorizationCode {
                code: params.code.ok_or_else(required("code"))?,
                redirect_uri: params.redirect_uri,
                code_verifier: params.code_verifier,
            },
            GrantType::RefreshToken => Self::RefreshToken {
                refresh_token: params.refresh_token.ok_or_else(required("refresh_token"))?,
                scope,
            },
            GrantType::ClientCredentials => Self::ClientCredentials { scope },
            GrantType::DeviceCode => Self::DeviceCode {
                device_code: params.device_code.ok_or_else(required("device_code"))?,
            },
            GrantType::TokenExchange => {
                if params.subject_token_type.as_deref() != Some(SESSION_TOKEN_TYPE) {
                    return Err(OAuthError::invalid_request(format!(
                        "subject_token_type must be {SESSION_TOKEN_TYPE}"
                    )));
                }
                if params
                    .requested_token_type
                    .as_deref()
                    .is_some_and(|t| t != ACCESS_TOKEN_TYPE)
                {
                    return Err(OAuthError::invalid_request(format!(
                        "requested_token_type must be {ACCESS_TOKEN_TYPE}"
                    )));
                }
                Self::TokenExchange {
                    subject_token: params.subject_token.ok_or_else(required("subject_token"))?,
                    scope,
                }
            }
        })
    }
}

/// RFC 6749 §5.2: a missing parameter is `invalid_request`.
fn required(name: &'static str) -> impl FnOnce() -> OAuthError {
    move || OAuthError::invalid_request(format!("{name} is required"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::params::MalformedScope;
    use proptest::prelude::*;

    fn form(body: &str) -> Option<TokenParams> {
        serde_urlencoded::from_str(body).ok()
    }

    fn parse(body: &str) -> Result<TokenRequest, OAuthError> {
        TokenRequest::parse(form(body).expect("a form"), |_| Ok(()))
    }

    fn error_code(body: &str) -> &'static str {
        parse(body).expect_err("refused").kind.code()
    }

    proptest! {
        #[test]
        fn arbitrary_forms_never_panic(body in any::<String>()) {
            if let Some(params) = form(&body) {
                let _ = TokenRequest::parse(params, |_| Ok(()));
            }
        }

        #[test]
        fn accepted_code_requests_round_trip(
            code in "[ -~]{1,40}", verifier in "[ -~]{0,40}", redirect in "[ -~]{0,40}",
        ) {
            let body = serde_urlencoded::to_string([
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", &verifier),
                ("redirect_uri", &redirect),
            ]).expect("encodes");
            let TokenRequest::AuthorizationCode { code: c, redirect_uri, code_verifier } =
                parse(&body).expect("accepted")
            else {
                return Err(TestCaseError::fail("another grant"));
            };
            prop_assert_eq!(c.expose(), code.as_str());
            prop_assert_eq!(redirect_uri.as_deref(), Some(redirect.as_str()));
            prop_assert_eq!(code_verifier.as_ref().map(CodeVerifier::expose), Some(verifier.as_str()));
        }

        #[test]
        fn refresh_requests_keep_their_scope_parsed(scope in "[ -~]{0,30}") {
            let body = serde_urlencoded::to_string([
                ("grant_type", "refresh_token"),
                ("refresh_token", "rt"),
                ("scope", &scope),
            ]).expect("encodes");
            let TokenRequest::RefreshToken { scope: parsed, .. } = parse(&body).expect("accepted")
            else {
                return Err(TestCaseError::fail("another grant"));
            };
            prop_assert_eq!(parsed, Some(scope.parse()));
        }
    }

    #[test]
    fn a_missing_or_unknown_grant_type_is_refused_in_rfc_terms() {
        assert_eq!(error_code(""), "invalid_request");
        assert_eq!(error_code("grant_type=password"), "unsupported_grant_type");
        assert_eq!(error_code("grant_type="), "unsupported_grant_type");
    }

    #[test]
    fn a_grant_the_client_may_not_use_is_refused_before_its_parameters() {
        let refused =
            TokenRequest::parse(form("grant_type=authorization_code").expect("form"), |_| {
                Err(OAuthError::new(ErrorKind::UnauthorizedClient, "no"))
            });
        assert_eq!(
            refused.expect_err("refused").kind.code(),
            "unauthorized_client"
        );
    }

    #[test]
    fn each_grant_requires_its_parameters() {
        assert_eq!(
            error_code("grant_type=authorization_code"),
            "invalid_request"
        );
        assert_eq!(error_code("grant_type=refresh_token"), "invalid_request");
        let device = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code";
        assert_eq!(error_code(device), "invalid_request");
        assert!(parse(&format!("{device}&device_code=d")).is_ok());
        assert!(matches!(
            parse("grant_type=client_credentials&scope=a%22b"),
            Ok(TokenRequest::ClientCredentials {
                scope: Some(Err(MalformedScope))
            })
        ));
        let exchange = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange";
        assert_eq!(error_code(exchange), "invalid_request");
        let typed = format!(
            "{exchange}&subject_token_type={}",
            SESSION_TOKEN_TYPE.replace(':', "%3A")
        );
        assert_eq!(error_code(&typed), "invalid_request");
        assert!(parse(&format!("{typed}&subject_token=s")).is_ok());
        assert_eq!(
            error_code(&format!("{typed}&subject_token=s&requested_token_type=x")),
            "invalid_request"
        );
    }

    #[test]
    fn token_requests_redact_their_secrets() {
        let request = parse("grant_type=authorization_code&code=c0de&code_verifier=v3rifier")
            .expect("accepted");
        let shown = format!("{request:?}");
        assert!(
            !shown.contains("c0de") && !shown.contains("v3rifier"),
            "{shown}"
        );
    }
}
