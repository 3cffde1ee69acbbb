//! Pushed authorization requests (RFC 9126): a client posts its
//! authorization request to the server first, authenticated, and sends the
//! browser with only `client_id` and the `request_uri` it got back. The
//! request is checked when pushed, exactly as `/oauth2/authorize` checks
//! it, and again when the browser brings the reference. It works once: the
//! code issued for it (or the user's denial) takes it; it lives
//! [`PUSHED_REQUEST_TTL_SECS`] seconds otherwise.
//!
//! Only these references are accepted as `request_uri`: request objects
//! by reference (OpenID Connect Core §6.2) are not supported, which
//! discovery's `request_uri_parameter_supported: false` says.

use crate::oauth::authorize::Refusal;
use crate::oauth::authorize_params::AuthorizeParams;
use crate::oauth::dpop::ProofRequest;
use crate::oauth::{ErrorKind, OAuthError, Provider};
use crate::secret::{Token, TokenHash};
use crate::store::{Client, PushedRequest};
use serde::Serialize;
use time::OffsetDateTime;

/// RFC 9126 §2.2: the scheme of the references this server issues.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// RFC 9126 §2.2: "short-lived"; the browser must come back with it from
/// a sign-in (perhaps with a second factor or a mailed code) and the
/// consent page, so five minutes rather than one.
pub const PUSHED_REQUEST_TTL_SECS: u64 = 300;

/// The pushed authorization response (RFC 9126 §2.2).
#[derive(Debug, Serialize)]
pub struct PushedResponse {
    pub request_uri: String,
    pub expires_in: u64,
}

/// An authorization request that came by reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The hash of the reference: its key in the store, taken at its use.
    pub reference: TokenHash,
    /// A sign-in after this answers `prompt=login` and `max_age`: the
    /// browser comes back from it with the same reference, which still
    /// says `prompt=login`.
    pub pushed_at: OffsetDateTime,
}

impl Provider {
    /// RFC 9126 §2.1: checks the request of `client` as the authorization
    /// endpoint would and keeps it; returns its reference. With a DPoP
    /// `proof`, the code will be bound to its key (RFC 9449 §10.1).
    pub fn push(
        &self,
        journeys: &crate::journeys::Registry,
        client: &Client,
        mut params: AuthorizeParams,
        proof: Option<&ProofRequest>,
    ) -> Result<PushedResponse, OAuthError> {
        // §2.1: a pushed request cannot point at another one.
        if params.request_uri.is_some() {
            return Err(OAuthError::invalid_request(
                "request_uri cannot be pushed; push the parameters themselves",
            ));
        }
        // RFC 9449 §10.1: the proof's key as `dpop_jkt`; when both come,
        // they must name the same key.
        if let Some(proof) = proof {
            let jkt = self.check_proof(proof, None)?;
            if params
                .dpop_jkt
                .as_deref()
                .is_some_and(|given| !jkt.is(given))
            {
                return Err(OAuthError::new(
                    ErrorKind::InvalidDpopProof,
                    "dpop_jkt names another key than the DPoP proof's",
                ));
            }
            params.dpop_jkt = Some(jkt.0);
        }
        params.client_id = Some(client.client_id.clone());
        match self.check_request(journeys, &params, true) {
            Ok(_) => {}
            Err(Refusal::Show(message)) => return Err(OAuthError::invalid_request(message)),
            Err(Refusal::Failed(error)) | Err(Refusal::Redirect { error, .. }) => {
                return Err(error);
            }
        }
        let reference = Token::generate();
        let now = self.ctx.now();
        let record = PushedRequest {
            client_id: client.client_id.clone(),
            params: serde_json::to_value(&params).map_err(OAuthError::server)?,
            pushed_at: now,
            expires_at: now + crate::config::seconds(PUSHED_REQUEST_TTL_SECS),
        };
        self.ctx
            .store
            .write(|tx| tx.put_pushed_request(&reference.hash(), &record))?;
        Ok(PushedResponse {
            request_uri: format!("{REQUEST_URI_PREFIX}{}", reference.expose()),
            expires_in: PUSHED_REQUEST_TTL_SECS,
        })
    }

    /// The parameters pushed under `reference` for the client `client_id`
    /// names (RFC 9126 §4: only those; the others of the request are
    /// ignored). Unknown, expired, used, or another client's: shown as an
    /// invalid link, since no redirect URI can be trusted.
    pub(crate) fn pushed_params(
        &self,
        client_id: Option<&str>,
        reference: &str,
    ) -> Result<(AuthorizeParams, Pushed), Refusal> {
        let reference = Token::from_presented(reference).hash();
        let stored = self
            .ctx
            .store
            .read(|tx| tx.pushed_request(&reference))
            .map_err(|err| Refusal::Failed(err.into()))?
            .filter(|pushed| pushed.expires_at > self.ctx.now())
            .ok_or_else(|| {
                Refusal::Show(
                    "The request_uri is unknown, has expired, or was used already.".into(),
                )
            })?;
        if client_id != Some(stored.client_id.as_str()) {
            return Err(Refusal::Show(
                "The request_uri was pushed by another client than client_id names.".into(),
            ));
        }
        let params: AuthorizeParams = serde_json::from_value(stored.params)
            .map_err(|err| Refusal::Failed(OAuthError::server(err)))?;
        Ok((
            params,
            Pushed {
                reference,
                pushed_at: stored.pushed_at,
            },
        ))
    }

    /// Ends a pushed request the user denied, so its reference cannot be
    /// used again.
    pub fn withdraw_pushed(&self, pushed: &Pushed) -> Result<(), crate::store::StoreError> {
        self.ctx
            .store
            .write(|tx| tx.take_pushed_request(&pushed.reference).map(drop))
    }
}
