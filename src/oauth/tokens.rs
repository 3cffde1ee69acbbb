//! Access tokens (RFC 9068 JWTs) and what can be asked of any token:
//! revocation (RFC 7009) and introspection (RFC 7662).
//!
//! `aud` of an access token is the client's configured `audience`, or the
//! client_id when it has none: the resource servers a client calls are
//! named in its configuration, and they check `aud`.

use crate::audit;
use crate::config::seconds;
use crate::jwa::SigningAlg;
use crate::oauth::Provider;
use crate::oauth::dpop::{Confirmation, DpopError, Jkt, ProofRequest};
use crate::oauth::{Authentication, OAuthError, scopes};
use crate::secret::{Token, random_id};
use crate::store::{Client, StoreError, User, WriteTx};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// RFC 9068 access token claims.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Vec<String>,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub auth_time: Option<i64>,
    /// RFC 9449 §6.1: the DPoP key the token is bound to.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cnf: Option<Confirmation>,
}

/// Who an access token is for: a user (and how they signed in), the
/// client itself (`client_credentials`), or a subject tessera does not
/// know, named as given (fixture mode's tokens).
pub enum Subject<'a> {
    User(&'a User, &'a Authentication),
    Client,
    Named(&'a str, &'a Authentication),
}

impl Provider {
    /// The lifetime of a client's access tokens.
    pub fn access_ttl(&self, client: &Client) -> time::Duration {
        seconds(
            client
                .access_token_ttl_secs
                .unwrap_or(self.ctx.settings.oauth.access_token_ttl_secs),
        )
    }

    /// The claims of a new access token (not yet signed: its `jti` can be
    /// recorded in the same transaction as the grant before signing).
    pub fn claims_for(
        &self,
        client: &Client,
        subject: &Subject<'_>,
        scope: &[String],
    ) -> AccessClaims {
        let now = self.ctx.now();
        let (sub, auth_time) = match subject {
            Subject::User(user, auth) => (user.id.clone(), Some(auth.auth_time.unix_timestamp())),
            Subject::Client => (client.client_id.clone(), None),
            Subject::Named(sub, auth) => ((*sub).to_owned(), Some(auth.auth_time.unix_timestamp())),
        };
        AccessClaims {
            iss: self.ctx.issuer.clone(),
            sub,
            aud: if client.audience.is_empty() {
                vec![client.client_id.clone()]
            } else {
                client.audience.clone()
            },
            exp: (now + self.access_ttl(client)).unix_timestamp(),
            iat: now.unix_timestamp(),
            jti: random_id(),
            client_id: client.client_id.clone(),
            scope: scopes::join(scope),
            auth_time,
            cnf: None,
        }
    }
}

/// Why a protected resource refuses an access token (RFC 6750 §3.1
/// `invalid_token`, RFC 9449 §7.1 for its proof), or could not tell.
#[derive(Debug, thiserror::Error)]
pub enum AccessTokenError {
    #[error("{0}")]
    Invalid(&'static str),
    /// The DPoP proof presented with the token.
    #[error(transparent)]
    Proof(DpopError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DpopError> for AccessTokenError {
    fn from(err: DpopError) -> Self {
        match err {
            DpopError::Store(err) => Self::Store(err),
            other => Self::Proof(other),
        }
    }
}

impl Provider {
    /// The claims of an access token this server issued that is still good:
    /// signature, `iss`, `typ`, `exp` by the server's clock, and not revoked.
    /// A DPoP-bound token needs `proof` (the `DPoP` scheme), made with its
    /// key for this request and this token (RFC 9449 §7); an unbound one
    /// must come as a Bearer token.
    pub fn verify_access(
        &self,
        token: &str,
        proof: Option<&ProofRequest>,
    ) -> Result<AccessClaims, AccessTokenError> {
        let claims: AccessClaims = self
            .keys()
            .verify(token, &self.ctx.issuer, self.ctx.now())
            .ok_or(AccessTokenError::Invalid(
                "the access token is invalid or expired",
            ))?;
        if self.ctx.store.read(|tx| tx.is_jti_revoked(&claims.jti))? {
            return Err(AccessTokenError::Invalid("the access token was revoked"));
        }
        match (&claims.cnf, proof) {
            (None, None) => {}
            // RFC 9449 §7.2: a bound token sent as a bearer token is refused.
            (Some(_), None) => {
                return Err(AccessTokenError::Invalid(
                    "the access token is DPoP-bound: send it with the DPoP scheme and a proof",
                ));
            }
            (None, Some(_)) => {
                return Err(AccessTokenError::Invalid(
                    "the access token is not DPoP-bound: send it with the Bearer scheme",
                ));
            }
            (Some(cnf), Some(proof)) => {
                let jkt = self.check_proof(proof, Some(token))?;
                if !jkt.is(&cnf.jkt) {
                    return Err(AccessTokenError::Proof(DpopError::InvalidProof(
                        "the DPoP proof is not made with the key the token is bound to".into(),
                    )));
                }
            }
        }
        Ok(claims)
    }
}

impl AccessClaims {
    /// The scopes granted.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|scope| !scope.is_empty())
    }

    /// These claims bound to the DPoP key `jkt`, if there is one.
    pub fn bound_to(self, jkt: Option<&Jkt>) -> Self {
        Self {
            cnf: jkt.map(|jkt| Confirmation { jkt: jkt.0.clone() }),
            ..self
        }
    }

    /// `token_type` of the token in a token response: `DPoP` when bound
    /// (RFC 9449 §5), else `Bearer`.
    pub fn token_type(&self) -> &'static str {
        if self.cnf.is_some() { "DPoP" } else { "Bearer" }
    }

    /// When the token expires.
    pub fn expires_at(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.exp).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

impl Provider {
    /// Signs access token claims with the client's algorithm.
    pub fn sign(&self, client: &Client, claims: &AccessClaims) -> Result<String, OAuthError> {
        self.sign_as(client, crate::keys::ACCESS_TOKEN_TYP, claims)
    }

    /// The algorithm of `client`'s tokens.
    pub(super) fn signing_alg(&self, client: &Client) -> SigningAlg {
        client
            .signing_alg
            .unwrap_or(self.ctx.settings.oauth.signing_alg)
    }

    /// Signs `claims` as a JWT of type `typ` with `client`'s algorithm.
    pub(super) fn sign_as<T: Serialize>(
        &self,
        client: &Client,
        typ: &str,
        claims: &T,
    ) -> Result<String, OAuthError> {
        self.keys()
            .sign(self.signing_alg(client), typ, claims)
            .map_err(OAuthError::server)
    }

    /// RFC 7009: revokes a refresh token (its whole family) or an access token
    /// (its `jti` until it expires) that was issued to `client`, asking from
    /// `address`; audited as a `token.revoke`. Unknown tokens are ignored,
    /// as the RFC asks.
    pub fn revoke(
        &self,
        client: &Client,
        token: &Token,
        address: Option<&str>,
    ) -> Result<(), OAuthError> {
        let hash = token.hash();
        let revoked = |token_type: &str| {
            audit::Event::success(
                audit::Kind::TokenRevoke,
                audit::Party::client(&client.client_id),
            )
            .from_ip(address)
            .with("token_type", token_type)
        };
        let refresh = self.ctx.store.read(|tx| tx.refresh_token(&hash))?;
        if let Some(refresh) = refresh.filter(|t| t.client_id == client.client_id) {
            self.ctx.store.write(|tx| {
                tx.delete_family(&refresh.family)?;
                self.record_about(tx, revoked("refresh_token"), &refresh.user_id)
            })?;
            return Ok(());
        }
        let keys = self.keys();
        if let Some(claims) =
            keys.verify::<AccessClaims>(token.expose(), &self.ctx.issuer, self.ctx.now())
            && claims.client_id == client.client_id
        {
            let expires = OffsetDateTime::from_unix_timestamp(claims.exp).unwrap_or(self.ctx.now());
            self.ctx.store.write(|tx| {
                tx.revoke_jti(&claims.jti, expires)?;
                let event = revoked("access_token").with("jti", &claims.jti);
                self.record_about(tx, event, &claims.sub)
            })?;
        }
        Ok(())
    }

    /// Records `event` about the user with this id, if it is one (an access
    /// token from `client_credentials` names its client instead).
    pub(super) fn record_about(
        &self,
        tx: &dyn WriteTx,
        event: audit::Event,
        user_id: &str,
    ) -> Result<(), StoreError> {
        let event = match tx.user(user_id)? {
            Some(user) => event.about(audit::Party::user(&user.username)),
            None => event,
        };
        audit::record(&self.ctx, tx, event)
    }
}

/// RFC 7662 §2.2: what introspection says of a token.
#[derive(Debug, Serialize)]
pub struct Introspection {
    pub active: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub details: Option<Details>,
}

/// The claims of an active token.
#[derive(Debug, Serialize)]
pub struct Details {
    pub scope: String,
    pub client_id: String,
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub token_type: &'static str,
    pub exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Vec<String>>,
    pub iss: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// RFC 9449 §6.2: the key a DPoP-bound access token is bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

impl Provider {
    /// RFC 7662: whether a token is active, with its claims.
    ///
    /// RFC 7662 §4: a client learns only about tokens meant for it: its own,
    /// or access tokens whose audience names it (by client_id, or by one of
    /// its configured `audience` values). Clients configured as
    /// `resource_server` may introspect any access token. To anyone else a
    /// token is simply inactive.
    pub fn introspect(&self, caller: &Client, token: &Token) -> Result<Introspection, OAuthError> {
        let inactive = Introspection {
            active: false,
            details: None,
        };
        let keys = self.keys();
        if let Some(claims) =
            keys.verify::<AccessClaims>(token.expose(), &self.ctx.issuer, self.ctx.now())
        {
            let revoked = self.ctx.store.read(|tx| tx.is_jti_revoked(&claims.jti))?;
            let concerns_caller = caller.resource_server
                || claims.client_id == caller.client_id
                || claims
                    .aud
                    .iter()
                    .any(|aud| *aud == caller.client_id || caller.audience.contains(aud));
            if revoked || !concerns_caller {
                return Ok(inactive);
            }
            let username = self
                .ctx
                .store
                .read(|tx| tx.user(&claims.sub))?
                .map(|u| u.username);
            let token_type = claims.token_type();
            return Ok(Introspection {
                active: true,
                details: Some(Details {
                    scope: claims.scope,
                    client_id: claims.client_id,
                    sub: claims.sub,
                    username,
                    token_type,
                    exp: claims.exp,
                    iat: Some(claims.iat),
                    aud: Some(claims.aud),
                    iss: claims.iss,
                    jti: Some(claims.jti),
                    cnf: claims.cnf,
                }),
            });
        }
        let hash = token.hash();
        let now = self.ctx.now();
        let grace = seconds(self.ctx.settings.oauth.refresh_reuse_grace_secs);
        let refresh = self.ctx.store.read(|tx| tx.refresh_token(&hash))?;
        // A refresh token concerns only the client it was issued to.
        let Some(refresh) = refresh.filter(|t| {
            t.client_id == caller.client_id
                && t.expires_at > now
                && t.rotated_at.is_none_or(|at| at + grace >= now)
        }) else {
            return Ok(inactive);
        };
        let username = self
            .ctx
            .store
            .read(|tx| tx.user(&refresh.user_id))?
            .map(|u| u.username);
        Ok(Introspection {
            active: true,
            details: Some(Details {
                scope: scopes::join(&refresh.scopes),
                client_id: refresh.client_id,
                sub: refresh.user_id,
                username,
                token_type: "refresh_token",
                exp: refresh.expires_at.unix_timestamp(),
                iat: None,
                aud: None,
                iss: self.ctx.issuer.clone(),
                jti: None,
                cnf: None,
            }),
        })
    }

    /// Removes expired codes, refresh tokens and deny-list entries.
    pub fn purge_expired(&self) -> Result<usize, StoreError> {
        let now = self.ctx.now();
        let keep = self.ctx.settings.longest_access_token();
        self.ctx
            .store
            .write(|tx| tx.delete_expired_grants(now, keep))
    }
}
