//! Bearer tokens (RFC 6750) as an extractor: the access token in the
//! `Authorization` header or, outside GET, in the form body, never both
//! (§2); or, with the `DPoP` scheme, with its proof (RFC 9449 §7.1); and
//! the `WWW-Authenticate` challenges of both.

use super::dpop::proof_of;
use crate::oauth::dpop::ProofRequest;
use crate::secret::Token;
use actix_web::dev::Payload;
use actix_web::http::{Method, StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use serde::Deserialize;
use std::future::Future;
use std::pin::Pin;

/// The access token a request presents: a `Token`, so a credential that
/// redacts itself; with the DPoP proof when it came with the `DPoP`
/// scheme (RFC 9449 §7.1).
#[derive(Debug)]
pub struct Bearer {
    token: Token,
    proof: Option<ProofRequest>,
}

impl Bearer {
    /// The token as presented.
    pub fn expose(&self) -> &str {
        self.token.expose()
    }

    /// The DPoP proof, when the token came with the `DPoP` scheme.
    pub fn proof(&self) -> Option<&ProofRequest> {
        self.proof.as_ref()
    }
}

/// Why a protected resource refuses a request (RFC 6750 §3.1, RFC 9449
/// §7.1).
#[derive(Debug)]
pub enum BearerError {
    /// No token: the bare challenge (§3.1: no error code).
    Missing,
    /// The token sent by more than one method.
    InvalidRequest,
    /// Malformed, unknown, expired or revoked, with the reason.
    InvalidToken(&'static str),
    /// The token lacks the scope named.
    InsufficientScope(&'static str),
    /// RFC 9449 §7.1: the DPoP proof is missing or invalid, with why.
    InvalidDpopProof(String),
    /// RFC 9449 §9: the proof lacks the server's current nonce.
    UseDpopNonce,
}

impl std::fmt::Display for BearerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing => f.write_str("no access token"),
            Self::InvalidRequest => f.write_str("the access token sent twice"),
            Self::InvalidToken(why) => f.write_str(why),
            Self::InsufficientScope(scope) => write!(f, "the token lacks the {scope} scope"),
            Self::InvalidDpopProof(why) => f.write_str(why),
            Self::UseDpopNonce => f.write_str("the DPoP proof must carry the server's nonce"),
        }
    }
}

impl BearerError {
    /// The challenge's parameters after the scheme: its error, if any.
    fn params(&self) -> Option<String> {
        // Quotes and backslashes would end the quoted string early.
        let quoted = |why: &str| why.replace(['"', '\\'], "'");
        match self {
            Self::Missing => None,
            Self::InvalidRequest => Some("error=\"invalid_request\"".into()),
            Self::InvalidToken(why) => Some(format!(
                "error=\"invalid_token\", error_description=\"{}\"",
                quoted(why)
            )),
            Self::InsufficientScope(scope) => {
                Some(format!("error=\"insufficient_scope\", scope=\"{scope}\""))
            }
            Self::InvalidDpopProof(why) => Some(format!(
                "error=\"invalid_dpop_proof\", error_description=\"{}\"",
                quoted(why)
            )),
            Self::UseDpopNonce => Some(format!(
                "error=\"use_dpop_nonce\", error_description=\"{self}\""
            )),
        }
    }
}

const REALM: &str = "Bearer realm=\"tessera\"";

/// A challenge of `scheme` with `params`, if any.
fn challenge(scheme: &str, params: Option<String>) -> String {
    match params {
        Some(params) => format!("{scheme}, {params}"),
        None => scheme.to_owned(),
    }
}

impl ResponseError for BearerError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Missing
            | Self::InvalidToken(_)
            | Self::InvalidDpopProof(_)
            | Self::UseDpopNonce => StatusCode::UNAUTHORIZED,
            Self::InvalidRequest => StatusCode::BAD_REQUEST,
            Self::InsufficientScope(_) => StatusCode::FORBIDDEN,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .insert_header((header::WWW_AUTHENTICATE, challenge(REALM, self.params())))
            .finish()
    }
}

/// A refusal of a resource that takes DPoP-bound tokens as well as bearer
/// tokens: both challenges (RFC 9449 §7.1), the error on the scheme the
/// request used, and the DPoP one naming the algorithms proofs may use.
#[derive(Debug)]
pub struct AccessRefusal {
    pub error: BearerError,
    /// Whether the request used the `DPoP` scheme.
    pub dpop: bool,
}

impl std::fmt::Display for AccessRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl ResponseError for AccessRefusal {
    fn status_code(&self) -> StatusCode {
        self.error.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let dpop_only = matches!(
            self.error,
            BearerError::InvalidDpopProof(_) | BearerError::UseDpopNonce
        );
        let on_dpop = self.dpop || dpop_only;
        let algs = format!("DPoP algs=\"{}\"", crate::oauth::dpop::ALGS.join(" "));
        let params = |mine: bool| if mine { self.error.params() } else { None };
        let dpop = challenge(&algs, params(on_dpop));
        let bearer = challenge(REALM, params(!on_dpop));
        // The challenge with the error first: a client reading only the
        // first header still learns what went wrong.
        let (first, second) = if on_dpop {
            (dpop, bearer)
        } else {
            (bearer, dpop)
        };
        let mut response = HttpResponse::build(self.status_code());
        response.append_header((header::WWW_AUTHENTICATE, first));
        response.append_header((header::WWW_AUTHENTICATE, second));
        response.finish()
    }
}

/// The form-encoded body parameter (§2.2).
#[derive(Deserialize)]
struct BodyToken {
    access_token: Option<Token>,
}

/// The access token of an `Authorization: Bearer` header, if any.
pub(crate) fn header_token(req: &HttpRequest) -> Option<Token> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| super::credentials(value, "Bearer"))
        .map(|token| Token::from_presented(token.trim()))
}

impl FromRequest for Bearer {
    type Error = AccessRefusal;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AccessRefusal>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let in_header = header_token(req);
        let dpop = dpop_token(req);
        // §2.2: the body only with a method that gives it meaning, never
        // GET; a body that is not a form carries no token.
        let body = (req.method() != Method::GET)
            .then(|| web::Form::<BodyToken>::from_request(req, payload));
        Box::pin(async move {
            let in_body = match body {
                Some(form) => form.await.ok().and_then(|form| form.0.access_token),
                None => None,
            };
            let refuse = |error, dpop| Err(AccessRefusal { error, dpop });
            match (in_header, dpop, in_body) {
                (Some(_), _, Some(_)) => refuse(BearerError::InvalidRequest, false),
                (_, Some(_), Some(_)) => refuse(BearerError::InvalidRequest, true),
                (Some(token), None, None) | (None, None, Some(token)) => {
                    Ok(Bearer { token, proof: None })
                }
                (None, Some(Ok((token, proof))), None) => Ok(Bearer {
                    token,
                    proof: Some(proof),
                }),
                (None, Some(Err(why)), None) => {
                    refuse(BearerError::InvalidDpopProof(why.into()), true)
                }
                (None, None, None) => refuse(BearerError::Missing, false),
                (Some(_), Some(_), None) => refuse(BearerError::InvalidRequest, false),
            }
        })
    }
}

/// The token of an `Authorization: DPoP` header with the request's proof,
/// or why the proof is unusable; `None` without that scheme.
pub(crate) fn dpop_token(req: &HttpRequest) -> Option<Result<(Token, ProofRequest), &'static str>> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| super::credentials(value, "DPoP"))
        .map(|token| Token::from_presented(token.trim()))?;
    Some(match proof_of(req) {
        Ok(Some(proof)) => Ok((token, proof)),
        Ok(None) => Err("the DPoP scheme needs a DPoP proof header"),
        Err(why) => Err(why),
    })
}
