//! The token endpoint's grants: `authorization_code` (RFC 6749 §4.1.3 with
//! RFC 7636 PKCE), `refresh_token` (§6), `client_credentials` (§4.4) and
//! the device code (RFC 8628 §3.4).
//!
//! Refresh tokens are opaque, stored hashed, and rotate at every use. A
//! rotated token may be retried once within `refresh_reuse_grace_secs`
//! (a client that lost the response): the retry replaces the successor it
//! got before. Any other reuse revokes the whole family, access tokens
//! included. A code used twice revokes everything it issued.
//!
//! Each write transaction decides and records; a refusal that revokes
//! something commits the revocation and then reports the refusal, so an
//! error never rolls the revocation back. Tokens are signed after the
//! transaction, from claims whose `jti` it recorded.

mod device;
mod refresh;

use crate::audit;
use crate::oauth::Provider;
use crate::oauth::dpop::{Jkt, ProofRequest};
use crate::oauth::params::{GrantType, ScopeParam};
use crate::oauth::pkce::{CodeChallenge, CodeVerifier};
use crate::oauth::token_request::TokenRequest;
use crate::oauth::tokens::{AccessClaims, Subject};
use crate::oauth::{Authentication, ErrorKind, OAuthError, scopes};
use crate::secret::{Token, random_id};
use crate::sessions;
use crate::store::{AuthorizationCode, Client, Issued, ReadTx, StoreError, User, WriteTx};

use serde::Serialize;

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
    /// OpenID Connect: when `openid` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// RFC 8693: in token exchange responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
}

/// Whether `client` may use `grant`: as configured, and for token
/// exchange only when the client is allowed to exchange sessions.
pub fn may_use(client: &Client, grant: GrantType) -> Result<(), OAuthError> {
    let (allowed, refusal) = match grant {
        GrantType::TokenExchange => (
            client.token_exchange,
            "this client may not exchange session tokens".to_owned(),
        ),
        _ => (
            client.grant_types.iter().any(|g| g == grant.as_str()),
            format!("this client may not use the {grant} grant"),
        ),
    };
    if allowed {
        Ok(())
    } else {
        Err(OAuthError::new(ErrorKind::UnauthorizedClient, refusal))
    }
}

impl Provider {
    /// Runs a grant for an authenticated client that [`may_use`] it, asking
    /// from `address` (recorded when a reused code or refresh token is
    /// caught), and counts what it issued. With a DPoP `proof` (RFC 9449),
    /// the access token is bound to the proof's key.
    pub fn exchange(
        &self,
        client: &Client,
        request: &TokenRequest,
        address: Option<&str>,
        proof: Option<&ProofRequest>,
    ) -> Result<TokenResponse, OAuthError> {
        let jkt = proof
            .map(|proof| self.check_proof(proof, None))
            .transpose()?;
        if jkt.is_none() && client.dpop_bound_access_tokens {
            // RFC 9449 §5.2: such a client's requests without a proof are refused.
            return Err(OAuthError::new(
                ErrorKind::InvalidDpopProof,
                "this client must send a DPoP proof",
            ));
        }
        let response = self.run_grant(client, request, address, jkt.as_ref())?;
        self.count_issued(request.grant());
        Ok(response)
    }

    fn run_grant(
        &self,
        client: &Client,
        request: &TokenRequest,
        address: Option<&str>,
        jkt: Option<&Jkt>,
    ) -> Result<TokenResponse, OAuthError> {
        match request {
            TokenRequest::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => self.redeem_code(
                client,
                code,
                redirect_uri.as_deref(),
                code_verifier.as_ref(),
                address,
                jkt,
            ),
            TokenRequest::RefreshToken {
                refresh_token,
                scope,
            } => self.refresh(client, refresh_token, scope, address, jkt),
            TokenRequest::ClientCredentials { scope } => {
                self.client_credentials(client, scope, jkt)
            }
            TokenRequest::TokenExchange {
                subject_token,
                scope,
            } => self.exchange_session(client, subject_token, scope, jkt),
            TokenRequest::DeviceCode { device_code } => self.poll_device(client, device_code, jkt),
        }
    }
}

/// What a user's grant issues, before signing.
pub(super) struct Granted {
    pub(super) user: User,
    pub(super) auth: Authentication,
    pub(super) scope: Vec<String>,
    pub(super) claims: AccessClaims,
    pub(super) refresh: Option<Token>,
    pub(super) nonce: Option<String>,
}

impl Provider {
    /// Signs what a transaction granted; adds an ID token when `openid` was
    /// granted.
    pub(super) fn respond(
        &self,
        client: &Client,
        granted: Granted,
    ) -> Result<TokenResponse, OAuthError> {
        let access = self.sign(client, &granted.claims)?;
        let id_token = granted
            .scope
            .iter()
            .any(|s| s == "openid")
            .then(|| {
                self.id_token(
                    client,
                    &granted.user,
                    &granted.auth,
                    &granted.scope,
                    granted.nonce.as_deref(),
                    &access,
                )
            })
            .transpose()?;
        Ok(TokenResponse {
            token_type: granted.claims.token_type(),
            access_token: access,
            expires_in: self.access_ttl(client).whole_seconds(),
            refresh_token: granted.refresh.map(|t| t.expose().to_owned()),
            scope: scopes::join(&granted.scope),
            id_token,
            issued_token_type: None,
        })
    }

    fn redeem_code(
        &self,
        client: &Client,
        code: &Token,
        redirect_uri: Option<&str>,
        code_verifier: Option<&CodeVerifier>,
        address: Option<&str>,
        jkt: Option<&Jkt>,
    ) -> Result<TokenResponse, OAuthError> {
        let hash = code.hash();
        let now = self.ctx.now();
        let granted = self.ctx.store.write(|tx| -> Result<Result<Granted, OAuthError>, OAuthError> {
            let Some(stored) = tx.code(&hash)? else {
                return Ok(Err(OAuthError::invalid_grant("the code is invalid")));
            };
            if let Some(issued) = &stored.redeemed {
                // RFC 6749 §4.1.2, RFC 9700 §4.5: a code used twice (also by
                // two requests at once) revokes everything it issued.
                revoke_issued(tx, issued)?;
                let reuse = reused(audit::Kind::CodeReuse, client, address);
                self.record_about(tx, reuse, &stored.user_id)?;
                tracing::warn!(client_id = %stored.client_id, "authorization code replayed; its tokens are revoked");
                return Ok(Err(OAuthError::invalid_grant("the code was already used")));
            }
            if let Err(err) = check_code(&stored, client, redirect_uri, code_verifier, now, jkt) {
                return Ok(Err(err));
            }
            let user = match active_user(tx, &stored.user_id) {
                Ok(user) => user,
                Err(err) => return Ok(Err(err)),
            };
            let auth = Authentication {
                auth_time: stored.auth_time,
                amr: stored.amr.clone(),
                acr: stored.acr.clone(),
                sid: stored.sid.clone(),
            };
            let claims = self
                .claims_for(client, &Subject::User(&user, &auth), &stored.scopes)
                .bound_to(jkt);
            let (refresh, family) = self.start_family(tx, client, &user, &stored.scopes, &auth, &claims)?;
            note_id_token(tx, client, &user, &auth, &stored.scopes)?;
            let mut redeemed = stored.clone();
            redeemed.redeemed = Some(Issued {
                jti: claims.jti.clone(),
                access_expires_at: claims.expires_at(),
                family,
            });
            tx.put_code(&hash, &redeemed)?;
            Ok(Ok(Granted {
                user,
                auth,
                scope: stored.scopes,
                claims,
                refresh,
                nonce: stored.nonce,
            }))
        })??;
        self.respond(client, granted)
    }

    /// A refresh token in a new family, with the access token of `claims`
    /// recorded in it, when the client may refresh; with the family's name.
    /// A public client's token is bound to the DPoP key of `claims` (RFC
    /// 9449 §5); a confidential client's is not: its client
    /// authentication already constrains who may use it.
    pub(super) fn start_family(
        &self,
        tx: &dyn WriteTx,
        client: &Client,
        user: &User,
        scope: &[String],
        auth: &Authentication,
        claims: &AccessClaims,
    ) -> Result<(Option<Token>, Option<String>), StoreError> {
        if !client
            .grant_types
            .iter()
            .any(|g| g == GrantType::RefreshToken.as_str())
        {
            return Ok((None, None));
        }
        let family = random_id();
        tx.record_access(&family, &claims.jti, claims.expires_at())?;
        let bound = claims
            .cnf
            .as_ref()
            .filter(|_| client.secret_hash.is_none())
            .map(|cnf| cnf.jkt.clone());
        let token = self.new_refresh(tx, client, user, scope, auth, &family, bound)?;
        Ok((Some(token), Some(family)))
    }

    fn client_credentials(
        &self,
        client: &Client,
        requested: &ScopeParam,
        jkt: Option<&Jkt>,
    ) -> Result<TokenResponse, OAuthError> {
        if client.secret_hash.is_none() {
            return Err(OAuthError::new(
                ErrorKind::UnauthorizedClient,
                "a public client cannot use client_credentials",
            ));
        }
        let scope = match requested.clone().transpose()? {
            None => client
                .scopes
                .iter()
                .filter(|s| !scopes::is_about_user(s))
                .cloned()
                .collect(),
            Some(asked) => asked.into_vec(),
        };
        if let Some(bad) = scope
            .iter()
            .find(|s| !client.scopes.contains(s) || scopes::is_about_user(s))
        {
            return Err(OAuthError::invalid_scope(format!(
                "`{bad}` cannot be granted to this client"
            )));
        }
        let claims = self
            .claims_for(client, &Subject::Client, &scope)
            .bound_to(jkt);
        Ok(TokenResponse {
            access_token: self.sign(client, &claims)?,
            token_type: claims.token_type(),
            expires_in: self.access_ttl(client).whole_seconds(),
            refresh_token: None,
            scope: scopes::join(&scope),
            id_token: None,
            issued_token_type: None,
        })
    }
}

/// A reused code or refresh token, presented by `client` from `address`:
/// audited (about the grant's user) where its tokens are revoked.
fn reused(kind: audit::Kind, client: &Client, address: Option<&str>) -> audit::Event {
    audit::Event::failure(kind, audit::Party::client(&client.client_id)).from_ip(address)
}

/// Records, in the transaction of a grant that gives `client` an ID token
/// (`openid` is in `scope`), that it got one in the session of `auth`: the
/// client is sent a back-channel logout token when that session ends.
pub(super) fn note_id_token(
    tx: &dyn WriteTx,
    client: &Client,
    user: &User,
    auth: &Authentication,
    scope: &[String],
) -> Result<(), StoreError> {
    match &auth.sid {
        Some(sid) if scope.iter().any(|s| s == "openid") => {
            sessions::logout::record_id_token_in(tx, &user.id, sid, &client.client_id)
        }
        _ => Ok(()),
    }
}

/// The user of a grant, if they may still receive tokens.
fn active_user(tx: &dyn ReadTx, user_id: &str) -> Result<User, OAuthError> {
    tx.user(user_id)?
        .filter(|user| !user.disabled)
        .ok_or_else(|| {
            OAuthError::invalid_grant("the user of this grant no longer exists or is disabled")
        })
}
/// Revokes what a code issued (its access token and refresh family).
fn revoke_issued(tx: &dyn WriteTx, issued: &Issued) -> Result<(), StoreError> {
    tx.revoke_jti(&issued.jti, issued.access_expires_at)?;
    if let Some(family) = &issued.family {
        tx.delete_family(family)?;
    }
    Ok(())
}
/// Checks a code against the request, before the transaction.
fn check_code(
    code: &AuthorizationCode,
    client: &Client,
    redirect_uri: Option<&str>,
    code_verifier: Option<&CodeVerifier>,
    now: time::OffsetDateTime,
    jkt: Option<&Jkt>,
) -> Result<(), OAuthError> {
    if code.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    // RFC 9449 §10: a code bound by `dpop_jkt` needs a proof of that key.
    if let Some(bound) = &code.dpop_jkt
        && !jkt.is_some_and(|jkt| jkt.is(bound))
    {
        return Err(OAuthError::new(
            ErrorKind::InvalidDpopProof,
            "the code is bound to another DPoP key (dpop_jkt)",
        ));
    }
    if code.expires_at <= now {
        return Err(OAuthError::invalid_grant("the code has expired"));
    }
    match redirect_uri {
        Some(uri) if uri != code.redirect_uri => {
            return Err(OAuthError::invalid_grant(
                "redirect_uri differs from the authorization request",
            ));
        }
        // RFC 6749 §4.1.3: required when the authorization request had it.
        None if code.redirect_uri_given => {
            return Err(OAuthError::invalid_request("redirect_uri is required"));
        }
        _ => {}
    }
    let answers = |challenge: &str, verifier: &CodeVerifier| {
        CodeChallenge::parse(challenge).is_some_and(|c| c.is_answered_by(verifier))
    };
    match (&code.code_challenge, code_verifier) {
        (Some(challenge), Some(verifier)) if answers(challenge, verifier) => Ok(()),
        (Some(_), Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        )),
        (Some(_), None) => Err(OAuthError::invalid_grant("code_verifier is required")),
        // RFC 9700 §2.1.1: a verifier for a code without a challenge is refused.
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "the code was issued without a code_challenge",
        )),
        (None, None) => Ok(()),
    }
}
