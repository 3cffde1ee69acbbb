//! The `DPoP` request header (RFC 9449 §4.1), read as the domain's
//! `ProofRequest`: the proof with the method and path it must name.

use crate::oauth::dpop::ProofRequest;
use crate::oauth::{ErrorKind, OAuthError, Provider};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use std::future::{Ready, ready};

/// The request header's name.
pub const DPOP: &str = "DPoP";
/// The response header with the server's current nonce (§8.1).
pub const DPOP_NONCE: header::HeaderName = header::HeaderName::from_static("dpop-nonce");

/// The proof a request carries, if any; more than one is refused (§4.3:
/// "there is not more than one DPoP HTTP request header field").
pub(super) fn proof_of(req: &HttpRequest) -> Result<Option<ProofRequest>, &'static str> {
    let mut headers = req.headers().get_all(DPOP);
    let proof = match (headers.next(), headers.next()) {
        (None, _) => return Ok(None),
        (Some(_), Some(_)) => return Err("send exactly one DPoP header"),
        (Some(value), None) => value.to_str().map_err(|_| "the DPoP header is not a JWT")?,
    };
    Ok(Some(ProofRequest {
        proof: proof.to_owned(),
        method: req.method().as_str().to_owned(),
        path: req.path().to_owned(),
    }))
}

/// `response` with the current server nonce (§8.2), when nonces are on:
/// every answer of an endpoint that takes proofs carries it, so a client
/// never needs a refused request to learn it.
pub(super) fn with_nonce(provider: &Provider, mut response: HttpResponse) -> HttpResponse {
    if let Some(nonce) = provider
        .dpop_nonce()
        .and_then(|nonce| header::HeaderValue::from_str(&nonce).ok())
    {
        response.headers_mut().insert(DPOP_NONCE, nonce);
    }
    response
}

/// The DPoP proof of a token request: an extractor, so that a malformed
/// header is refused as the token endpoint refuses (400
/// `invalid_dpop_proof`).
pub struct DpopProof(pub Option<ProofRequest>);

impl FromRequest for DpopProof {
    type Error = OAuthError;
    type Future = Ready<Result<Self, OAuthError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            proof_of(req)
                .map(DpopProof)
                .map_err(|why| OAuthError::new(ErrorKind::InvalidDpopProof, why)),
        )
    }
}
