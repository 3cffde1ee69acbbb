//! RFC 8693 token exchange of a tessera session token: the bridge from a
//! session made by a REST journey to OAuth tokens, for first-party apps.

use super::dpop::Jkt;
use super::grants::{Granted, TokenResponse, note_id_token};
use super::params::ScopeParam;
use super::tokens::Subject;
use super::{Authentication, OAuthError};
use crate::oauth::Provider;
use crate::secret::Token;
use crate::store::Client;

/// The `subject_token_type` of a tessera session token (tessera's own URN).
pub const SESSION_TOKEN_TYPE: &str = "urn:tessera:params:oauth:token-type:session";
/// RFC 8693 §3: what the exchange issues.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

impl Provider {
    /// RFC 8693: a first-party app that signed in through a REST journey
    /// exchanges its session token for this client's tokens, without a
    /// browser. Only clients configured with `token_exchange` may (see
    /// `grants::may_use`); the request's token types were checked when it was
    /// read (`token_request`).
    pub(super) fn exchange_session(
        &self,
        client: &Client,
        subject_token: &Token,
        requested: &ScopeParam,
        jkt: Option<&Jkt>,
    ) -> Result<TokenResponse, OAuthError> {
        let active = crate::sessions::validate(&self.ctx, subject_token)?
            .ok_or_else(|| OAuthError::invalid_grant("the session token is invalid or expired"))?;
        let scope = match requested.clone().transpose()? {
            None => client.scopes.clone(),
            Some(asked) => asked.into_vec(),
        };
        if let Some(bad) = scope.iter().find(|s| !client.scopes.contains(s)) {
            return Err(OAuthError::invalid_scope(format!(
                "this client may not have `{bad}`"
            )));
        }
        if client
            .journey
            .as_ref()
            .is_some_and(|required| *required != active.session.journey)
        {
            return Err(OAuthError::invalid_grant(
                "the session was not made by the journey this client requires",
            ));
        }
        let auth = Authentication::of(&active.session);
        let user = active.user;
        // A write only the first time the app gets an ID token in the session.
        let first_id_token = scope.iter().any(|s| s == "openid")
            && !active.session.id_token_clients.contains(&client.client_id);
        if first_id_token {
            self.ctx
                .store
                .write(|tx| note_id_token(tx, client, &user, &auth, &scope))?;
        }
        let claims = self
            .claims_for(client, &Subject::User(&user, &auth), &scope)
            .bound_to(jkt);
        // No refresh token: the app holds the session and exchanges it again;
        // a refresh family would outlive the session's end.
        let granted = Granted {
            user,
            auth,
            scope,
            claims,
            refresh: None,
            nonce: None,
        };
        Ok(TokenResponse {
            issued_token_type: Some(ACCESS_TOKEN_TYPE),
            ..self.respond(client, granted)?
        })
    }
}
