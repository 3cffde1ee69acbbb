//! The authorization endpoint's decisions (RFC 6749 §4.1.1, RFC 7636,
//! RFC 9700): which requests are refused outright, which errors go back to
//! the client, whether consent is needed, and the code that ends a
//! successful request.

use crate::audit;
use crate::oauth::Provider;
use crate::oauth::authorize_params::AuthorizeParams;
use crate::oauth::par::{Pushed, REQUEST_URI_PREFIX};
use crate::oauth::params::{ClientId, Prompt, ScopeParam, ScopeSet, scope_param};
use crate::oauth::pkce::CodeChallenge;
use crate::oauth::redirect::RedirectUri;
use crate::oauth::{ErrorKind, OAuthError, clients};
use crate::secret::Token;
use crate::store::{AuthorizationCode, Client, Consent, StoreError, WriteTx};
use std::collections::BTreeSet;

/// A request that passed every check.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub client: Client,
    pub redirect_uri: RedirectUri,
    /// Whether the request named the redirect URI (else the only one).
    pub redirect_uri_given: bool,
    pub scopes: ScopeSet,
    pub state: Option<String>,
    pub code_challenge: Option<CodeChallenge>,
    pub nonce: Option<String>,
    pub prompt: Prompt,
    /// Seconds since sign-in after which the user must sign in again.
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// The subject of a valid `id_token_hint`.
    pub hinted_subject: Option<String>,
    /// The journey to sign in with: from `acr_values`, the client's, or `login`.
    pub journey: String,
    /// Set when the request came by reference (RFC 9126).
    pub pushed: Option<Pushed>,
    /// RFC 9449 §10: the DPoP key (thumbprint) the code is bound to.
    pub dpop_jkt: Option<String>,
}

impl AuthorizationRequest {
    /// Whether a session counts for this request: made by the client's
    /// required journey (if it names one), young enough for `max_age`, and
    /// of the user an `id_token_hint` names.
    pub fn accepts(&self, session: &crate::store::Session, now: time::OffsetDateTime) -> bool {
        let journey_ok = self
            .client
            .journey
            .as_ref()
            .is_none_or(|required| *required == session.journey);
        // A pushed request comes back from sign-in with the same reference,
        // whose `prompt=login` a sign-in since it was pushed has answered.
        let signed_in_since = self
            .pushed
            .as_ref()
            .is_some_and(|pushed| session.auth_time >= pushed.pushed_at);
        journey_ok
            && (signed_in_since || (!self.prompt.login && !self.too_old(session.auth_time, now)))
            && self
                .hinted_subject
                .as_ref()
                .is_none_or(|sub| *sub == session.user_id)
    }

    /// Whether a session that began at `auth_time` is too old for `max_age`.
    /// OpenID Connect Core §3.1.2.1 compares the exact elapsed time: 1.9 s
    /// is more than `max_age=1`, though it is one whole second.
    pub fn too_old(&self, auth_time: time::OffsetDateTime, now: time::OffsetDateTime) -> bool {
        self.max_age
            .is_some_and(|max_age| now - auth_time > time::Duration::seconds(max_age))
    }
}

/// Why a request cannot go on.
#[derive(Debug)]
pub enum Refusal {
    /// RFC 6749 §4.1.2.1: the client or redirect URI is invalid, so the
    /// user is told and never redirected (no open redirector).
    Show(String),
    /// The request could not be checked (the store failed); shown like
    /// [`Refusal::Show`], with the error's cause kept for the log.
    Failed(OAuthError),
    /// Any other error goes back to the client's redirect URI.
    Redirect {
        redirect_uri: RedirectUri,
        state: Option<String>,
        error: OAuthError,
    },
}

impl Provider {
    /// Checks an authorization request: client and redirect URI first, then
    /// the rest (whose errors are redirected).
    pub fn validate(
        &self,
        journeys: &crate::journeys::Registry,
        params: &AuthorizeParams,
    ) -> Result<AuthorizationRequest, Refusal> {
        self.check_request(journeys, params, false)
    }

    /// [`Provider::validate`], or with `pushing`, the checks of a request
    /// being pushed (RFC 9126 §2.1), which a client that accepts pushed
    /// requests only must pass too.
    pub(crate) fn check_request(
        &self,
        journeys: &crate::journeys::Registry,
        params: &AuthorizeParams,
        pushing: bool,
    ) -> Result<AuthorizationRequest, Refusal> {
        // RFC 9126 §4: a pushed request's parameters replace the others.
        let resolved;
        let (params, pushed) = match params
            .request_uri
            .as_deref()
            .and_then(|uri| uri.strip_prefix(REQUEST_URI_PREFIX))
        {
            Some(reference) => {
                let (pushed_params, pushed) =
                    self.pushed_params(params.client_id.as_deref(), reference)?;
                resolved = pushed_params;
                (&resolved, Some(pushed))
            }
            None => (params, None),
        };
        let client_id = params.client_id.as_deref().ok_or_else(|| {
            Refusal::Show("The request names no client (client_id is missing).".into())
        })?;
        let client = match ClientId::parse(client_id) {
            Some(id) => clients::get(&self.ctx, id.as_str())
                .map_err(|err| Refusal::Failed(OAuthError::server(err)))?,
            // Not the shape of a client id: no client has it.
            None => None,
        }
        .ok_or_else(|| Refusal::Show(format!("There is no client “{client_id}”.")))?;
        // OpenID Connect Core §3.1.2.1 makes redirect_uri required. Judged on
        // the raw value: a malformed scope is reported later, redirected.
        let openid = params
            .scope
            .as_deref()
            .is_some_and(|scope| scope.split(' ').any(|s| s == "openid"));
        let redirect_uri = match (
            params.redirect_uri.as_deref(),
            client.redirect_uris.as_slice(),
        ) {
            (Some(raw), _) => RedirectUri::parse(raw)
                .filter(|uri| uri.is_one_of(&client.redirect_uris))
                .ok_or_else(|| {
                    Refusal::Show("The redirect_uri is not registered for this client.".into())
                })?,
            // RFC 6749 §3.1.2.3: optional only when exactly one is registered.
            (None, [only]) if !openid => RedirectUri::parse(only).ok_or_else(|| {
                Refusal::Show("The client's registered redirect_uri is not a URL.".into())
            })?,
            (None, _) => return Err(Refusal::Show("The request has no redirect_uri.".into())),
        };
        let redirect = |error: OAuthError| {
            if redirects_errors(&client) {
                Refusal::Redirect {
                    redirect_uri: redirect_uri.clone(),
                    state: params.state.clone(),
                    error,
                }
            } else {
                Refusal::Show(error.description)
            }
        };
        // OpenID Connect Core §6: the parameters may all sit in the request
        // object, so the outer ones cannot be judged before it is refused.
        if params.request.is_some() {
            return Err(redirect(OAuthError::new(
                ErrorKind::RequestNotSupported,
                "request objects are not supported",
            )));
        }
        if params.request_uri.is_some() {
            return Err(redirect(OAuthError::new(
                ErrorKind::RequestUriNotSupported,
                "request_uri is not supported",
            )));
        }
        // RFC 9126 §5: a client (or the server) may accept pushed requests only.
        if pushed.is_none()
            && !pushing
            && (client.require_pushed_authorization_requests
                || self
                    .ctx
                    .settings
                    .oauth
                    .require_pushed_authorization_requests)
        {
            return Err(redirect(OAuthError::invalid_request(
                "authorization requests of this client must be pushed first (RFC 9126)",
            )));
        }
        match params.response_type.as_deref() {
            Some("code") => {}
            None => {
                return Err(redirect(OAuthError::invalid_request(
                    "response_type is required",
                )));
            }
            Some(other) => {
                return Err(redirect(OAuthError::new(
                    ErrorKind::UnsupportedResponseType,
                    format!("response_type `{other}` is not supported; use `code`"),
                )));
            }
        }
        if !client.grant_types.iter().any(|g| g == "authorization_code") {
            return Err(redirect(OAuthError::new(
                ErrorKind::UnauthorizedClient,
                "this client may not use the authorization code flow",
            )));
        }
        let requested =
            requested_scopes(&client, scope_param(params.scope.as_deref())).map_err(redirect)?;
        let code_challenge = check_pkce(&client, params).map_err(redirect)?;
        let prompt = params
            .prompt
            .as_deref()
            .unwrap_or_default()
            .parse::<Prompt>()
            .map_err(redirect)?;
        let max_age = params
            .max_age
            .as_deref()
            .map(|raw| raw.parse::<i64>().ok().filter(|age| *age >= 0))
            .map(|age| {
                age.ok_or_else(|| {
                    OAuthError::invalid_request("max_age must be a number of seconds")
                })
            })
            .transpose()
            .map_err(redirect)?;
        // RFC 9449 §10: a base64url SHA-256 thumbprint (RFC 7638).
        if params.dpop_jkt.as_deref().is_some_and(|jkt| {
            jkt.len() != 43
                || !jkt
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }) {
            return Err(redirect(OAuthError::invalid_request(
                "dpop_jkt must be a base64url SHA-256 JWK thumbprint",
            )));
        }
        if openid && client.require_nonce && params.nonce.is_none() {
            return Err(redirect(OAuthError::invalid_request(
                "this client must send a nonce",
            )));
        }
        let hinted_subject = match params.id_token_hint.as_deref() {
            None => None,
            Some(hint) => match self.read_id_token(hint) {
                Some(claims) if claims.issued_to(&client.client_id) => Some(claims.sub),
                _ => {
                    return Err(redirect(OAuthError::invalid_request(
                        "id_token_hint is not an ID token this server issued to this client",
                    )));
                }
            },
        };
        // A client's own journey is a requirement (it may ask for a second
        // factor): acr_values may only choose a journey for clients without one.
        let journey = match &client.journey {
            Some(journey) => journey.clone(),
            None => params
                .acr_values
                .as_deref()
                .and_then(|values| {
                    values
                        .split(' ')
                        .find(|value| journeys.get(value).is_ok())
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| "login".into()),
        };
        Ok(AuthorizationRequest {
            client,
            redirect_uri,
            redirect_uri_given: params.redirect_uri.is_some(),
            scopes: requested,
            state: params.state.clone(),
            code_challenge,
            nonce: params.nonce.clone(),
            prompt,
            max_age,
            login_hint: params.login_hint.clone(),
            hinted_subject,
            journey,
            pushed,
            dpop_jkt: params.dpop_jkt.clone(),
        })
    }

    /// The scopes the user still has to grant; empty when consent is implied
    /// (first-party clients) or was given before.
    pub fn scopes_to_consent(
        &self,
        user_id: &str,
        request: &AuthorizationRequest,
    ) -> Result<Vec<String>, StoreError> {
        if request.prompt.consent {
            return Ok(request.scopes.as_slice().to_vec());
        }
        if request.client.first_party {
            return Ok(Vec::new());
        }
        let granted: BTreeSet<String> = self
            .ctx
            .store
            .read(|tx| tx.consent(user_id, &request.client.client_id))?
            .map(|consent| consent.scopes.into_iter().collect())
            .unwrap_or_default();
        Ok(request
            .scopes
            .iter()
            .filter(|s| !granted.contains(*s))
            .cloned()
            .collect())
    }

    /// Records the user's consent to the request's scopes (added to what they
    /// granted before; audited as a `consent.grant` from `address`) and
    /// issues the code, in one transaction, which takes a pushed request's
    /// reference too: `None` when it was used meanwhile.
    pub fn approve(
        &self,
        user_id: &str,
        auth: &crate::oauth::Authentication,
        request: &AuthorizationRequest,
        consented: bool,
        address: Option<&str>,
    ) -> Result<Option<Token>, StoreError> {
        let now = self.ctx.now();
        let code = Token::generate();
        let record = AuthorizationCode {
            client_id: request.client.client_id.clone(),
            user_id: user_id.to_owned(),
            redirect_uri: request.redirect_uri.as_str().to_owned(),
            redirect_uri_given: request.redirect_uri_given,
            code_challenge: request
                .code_challenge
                .as_ref()
                .map(|challenge| challenge.as_str().to_owned()),
            scopes: request.scopes.as_slice().to_vec(),
            nonce: request.nonce.clone(),
            auth_time: auth.auth_time,
            amr: auth.amr.clone(),
            acr: auth.acr.clone(),
            sid: auth.sid.clone(),
            expires_at: now + crate::config::seconds(self.ctx.settings.oauth.code_ttl_secs),
            redeemed: None,
            dpop_jkt: request.dpop_jkt.clone(),
        };
        let hash = code.hash();
        self.ctx.store.write(|tx| {
            if let Some(pushed) = &request.pushed
                && tx.take_pushed_request(&pushed.reference)?.is_none()
            {
                return Ok(None);
            }
            if consented {
                let scopes = request.scopes.as_slice();
                self.record_consent(tx, user_id, &request.client.client_id, scopes, address)?;
            }
            tx.put_code(&hash, &record)?;
            Ok(Some(code))
        })
    }

    /// Adds `scopes` to what the user granted the client before, and
    /// audits it as a `consent.grant` from `address`.
    pub(crate) fn record_consent(
        &self,
        tx: &dyn WriteTx,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
        address: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut granted: BTreeSet<String> = tx
            .consent(user_id, client_id)?
            .map(|c| c.scopes.into_iter().collect())
            .unwrap_or_default();
        granted.extend(scopes.iter().cloned());
        tx.put_consent(&Consent {
            user_id: user_id.to_owned(),
            client_id: client_id.to_owned(),
            scopes: granted.into_iter().collect(),
            granted_at: self.ctx.now(),
        })?;
        if let Some(user) = tx.user(user_id)? {
            let party = audit::Party::user(&user.username);
            let event = audit::Event::success(audit::Kind::ConsentGrant, party.clone())
                .about(party)
                .from_ip(address)
                .with("client", client_id)
                .with("scope", scopes.join(" "));
            audit::record(&self.ctx, tx, event)?;
        }
        Ok(())
    }
}

/// The scopes a request asks of `client` (RFC 6749 §3.3): at least one,
/// each one the client may have. The authorization and device
/// authorization endpoints judge them alike.
pub(crate) fn requested_scopes(
    client: &Client,
    requested: ScopeParam,
) -> Result<ScopeSet, OAuthError> {
    let requested = requested.transpose()?.unwrap_or_default();
    if requested.is_empty() {
        return Err(OAuthError::invalid_scope("ask for at least one scope"));
    }
    if let Some(scope) = requested.iter().find(|s| !client.scopes.contains(s)) {
        return Err(OAuthError::invalid_scope(format!(
            "this client may not ask for `{scope}`"
        )));
    }
    Ok(requested)
}

/// RFC 7636 with RFC 9700 §2.1.1: `S256` only, required for public clients
/// and for every client unless configured otherwise.
fn check_pkce(
    client: &Client,
    params: &AuthorizeParams,
) -> Result<Option<CodeChallenge>, OAuthError> {
    match (
        &params.code_challenge,
        params.code_challenge_method.as_deref(),
    ) {
        (None, _) if client.require_pkce => Err(OAuthError::invalid_request(
            "code_challenge is required (PKCE with S256)",
        )),
        (None, _) => Ok(None),
        (Some(challenge), Some("S256")) => CodeChallenge::parse(challenge)
            .map(Some)
            .ok_or_else(|| OAuthError::invalid_request("code_challenge is malformed")),
        // A missing method means `plain` (RFC 7636 §4.3), which is refused.
        (Some(_), _) => Err(OAuthError::invalid_request(
            "code_challenge_method must be S256 (plain is not accepted)",
        )),
    }
}

/// Whether errors of an authorization request are sent to the client's
/// redirect URI before the user has trusted it. A client that registered
/// itself (RFC 7591) chose its redirect URIs with no one vetting them, so
/// its errors are shown on tessera's page until the user has consented to
/// it: else anyone could register a client and use tessera as an open
/// redirector (RFC 9700 §4.11.2).
pub fn redirects_errors(client: &Client) -> bool {
    client.registration.is_none()
}
