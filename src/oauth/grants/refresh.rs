//! The `refresh_token` grant (RFC 6749 §6): rotation at every use, one
//! retry within the grace, and the family revoked on any other reuse.

use super::{Granted, TokenResponse, active_user, reused};
use crate::audit;
use crate::config::seconds;
use crate::oauth::Provider;
use crate::oauth::dpop::Jkt;
use crate::oauth::params::ScopeParam;
use crate::oauth::tokens::Subject;
use crate::oauth::{Authentication, ErrorKind, OAuthError};
use crate::secret::{Token, TokenHash};
use crate::store::{Client, RefreshToken, StoreError, User, WriteTx};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

impl Provider {
    fn refresh_ttl(&self, client: &Client) -> time::Duration {
        seconds(
            client
                .refresh_token_ttl_secs
                .unwrap_or(self.ctx.settings.oauth.refresh_token_ttl_secs),
        )
    }

    /// Stores a new refresh token in `family`, bound to the DPoP key
    /// `dpop_jkt` if given; returns it.
    // Each argument is one field of the record, which is clearer than a
    // struct built only to be taken apart here.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new_refresh(
        &self,
        tx: &dyn WriteTx,
        client: &Client,
        user: &User,
        scope: &[String],
        auth: &Authentication,
        family: &str,
        dpop_jkt: Option<String>,
    ) -> Result<Token, StoreError> {
        let token = Token::generate();
        tx.put_refresh_token(
            &token.hash(),
            &RefreshToken {
                family: family.to_owned(),
                client_id: client.client_id.clone(),
                user_id: user.id.clone(),
                scopes: scope.to_vec(),
                auth_time: auth.auth_time,
                amr: auth.amr.clone(),
                acr: auth.acr.clone(),
                sid: auth.sid.clone(),
                expires_at: self.ctx.now() + self.refresh_ttl(client),
                rotated_at: None,
                successor: None,
                retried: false,
                dpop_jkt,
            },
        )?;
        Ok(token)
    }

    pub(super) fn refresh(
        &self,
        client: &Client,
        presented: &Token,
        requested: &ScopeParam,
        address: Option<&str>,
        jkt: Option<&Jkt>,
    ) -> Result<TokenResponse, OAuthError> {
        let hash = presented.hash();
        let now = self.ctx.now();
        let grace = seconds(self.ctx.settings.oauth.refresh_reuse_grace_secs);
        let granted = self.ctx.store.write(|tx| -> Result<Result<Granted, OAuthError>, OAuthError> {
            let Some(token) = tx.refresh_token(&hash)?.filter(|t| t.client_id == client.client_id) else {
                return Ok(Err(OAuthError::invalid_grant("the refresh token is invalid")));
            };
            if token.expires_at <= now {
                return Ok(Err(OAuthError::invalid_grant("the refresh token has expired")));
            }
            // RFC 9449 §5: a bound token is renewed only with a proof of its
            // key. Checked before anything is rotated, so a thief without
            // the key learns nothing and changes nothing.
            if let Some(bound) = &token.dpop_jkt
                && !jkt.is_some_and(|jkt| jkt.is(bound))
            {
                return Ok(Err(OAuthError::new(
                    ErrorKind::InvalidDpopProof,
                    "the refresh token is bound to another DPoP key",
                )));
            }
            let mut rotated = token.clone();
            if let Some(rotated_at) = token.rotated_at {
                let reuse = || reused(audit::Kind::RefreshTokenReuse, client, address);
                if token.retried || rotated_at + grace < now {
                    tx.delete_family(&token.family)?;
                    self.record_about(tx, reuse(), &token.user_id)?;
                    tracing::warn!(client_id = %client.client_id, "rotated refresh token reused; its family is revoked");
                    return Ok(Err(OAuthError::invalid_grant("the refresh token was already used")));
                }
                // The one retry, for a client that lost the response. If the
                // successor was used, this is not that client: reuse. Otherwise
                // the successor is retired (kept, so that presenting it later
                // is caught as reuse: whoever holds it, the family ends).
                let successor_hash = token
                    .successor
                    .as_deref()
                    .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
                    .and_then(|bytes| TokenHash::from_slice(&bytes));
                let successor = match &successor_hash {
                    Some(hash) => tx.refresh_token(hash)?.map(|s| (hash, s)),
                    None => None,
                };
                if let Some((successor_hash, mut successor)) = successor {
                    if successor.rotated_at.is_some() {
                        tx.delete_family(&token.family)?;
                        self.record_about(tx, reuse(), &token.user_id)?;
                        return Ok(Err(OAuthError::invalid_grant("the refresh token was already used")));
                    }
                    successor.rotated_at = Some(now);
                    successor.retried = true;
                    tx.put_refresh_token(successor_hash, &successor)?;
                }
                rotated.retried = true;
            }
            let scope = match requested.clone() {
                None => token.scopes.clone(),
                Some(Err(malformed)) => return Ok(Err(malformed.into())),
                // RFC 6749 §6: no scope beyond what was originally granted.
                Some(Ok(asked)) => {
                    let asked = asked.into_vec();
                    match asked.iter().find(|s| !token.scopes.contains(s)) {
                        Some(extra) => return Ok(Err(OAuthError::invalid_scope(format!("`{extra}` was not granted")))),
                        None => asked,
                    }
                }
            };
            let user = match active_user(tx, &token.user_id) {
                Ok(user) => user,
                Err(err) => return Ok(Err(err)),
            };
            // The consent behind the grant must still stand.
            if !client.first_party && tx.consent(&user.id, &client.client_id)?.is_none() {
                tx.delete_family(&token.family)?;
                return Ok(Err(OAuthError::invalid_grant("the user withdrew this client's access")));
            }
            let auth = Authentication {
                auth_time: token.auth_time,
                amr: token.amr.clone(),
                acr: token.acr.clone(),
                sid: token.sid.clone(),
            };
            let claims = self
                .claims_for(client, &Subject::User(&user, &auth), &scope)
                .bound_to(jkt);
            // The family's first grant noted the ID token in the session
            // (`note_id_token`): a refresh keeps its `sid` and cannot widen
            // its scope, so there is nothing new to note.
            tx.record_access(&token.family, &claims.jti, claims.expires_at())?;
            let successor = self.new_refresh(
                tx,
                client,
                &user,
                &scope,
                &auth,
                &token.family,
                token.dpop_jkt.clone(),
            )?;
            rotated.rotated_at = Some(token.rotated_at.unwrap_or(now));
            rotated.successor = Some(hash_text(&successor.hash()));
            tx.put_refresh_token(&hash, &rotated)?;
            Ok(Ok(Granted {
                user,
                auth,
                scope,
                claims,
                refresh: Some(successor),
                // OpenID Connect Core §12.2: a refreshed ID token has no nonce.
                nonce: None,
            }))
        })??;
        self.respond(client, granted)
    }
}

fn hash_text(hash: &TokenHash) -> String {
    URL_SAFE_NO_PAD.encode(hash.as_bytes())
}
