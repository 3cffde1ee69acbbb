//! Who may administer tessera while it runs, decided once for the admin
//! pages and the admin API: an administrator's session from the journey
//! `[admin] journey` names, or an access token carrying [`SCOPE`].
//! Sensitive actions (deleting a user, rotating keys) also need a session
//! that authenticated recently ([`Administrator::check_recent`]).
//!
//! Domain code over accounts, sessions and the OAuth provider; it never
//! imports actix.

use crate::audit;
use crate::config::seconds;
use crate::context::Context;
use crate::oauth::Provider;
use crate::oauth::dpop::{DpopError, ProofRequest};
use crate::oauth::tokens::AccessTokenError;
use crate::sessions::ActiveSession;
use crate::store::{Session, StoreError};

/// The scope that lets an access token use the admin API, for example one
/// from `client_credentials` of a client allowed it.
pub const SCOPE: &str = crate::oauth::scopes::ADMIN;

/// Who acts, as the audit log names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An administrator (by session, or by a token issued for them).
    User { id: String, username: String },
    /// A client acting for itself (`client_credentials`).
    Client { client_id: String },
}

impl Actor {
    /// The user id or client_id.
    pub fn id(&self) -> &str {
        match self {
            Actor::User { id, .. } => id,
            Actor::Client { client_id } => client_id,
        }
    }
}

/// A caller allowed to administer.
#[derive(Debug, Clone)]
pub struct Administrator {
    pub actor: Actor,
    /// The session they came with; none for an access token, which has no
    /// sign-in to repeat.
    pub session: Option<Session>,
}

/// Why a caller may not administer.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The token is not one this server issued, or no longer good.
    #[error("{0}")]
    InvalidToken(&'static str),
    /// RFC 9449 §7.1: the DPoP proof sent with a DPoP-bound token is
    /// missing, invalid, or lacks the server's nonce.
    #[error("{0}")]
    InvalidProof(String),
    /// The token was not granted [`SCOPE`].
    #[error("the access token was not granted the {SCOPE} scope")]
    MissingScope,
    /// The user (or client) does not hold the admin role (any more).
    #[error("{0} is not an administrator")]
    NotAdmin(String),
    /// The session comes from another journey than `[admin] journey`.
    #[error(
        "administration needs a session from the `{required}` journey, and this one comes from `{found}`; sign in with `{required}`"
    )]
    WrongJourney { required: String, found: String },
    /// A sensitive action, and the session authenticated too long ago.
    #[error(
        "this action needs a sign-in within the last {max_age_secs} seconds; sign in again with the `{journey}` journey (GET /login?journey={journey}, or POST /api/authenticate?journey={journey}) and retry with the new session"
    )]
    ReauthRequired { journey: String, max_age_secs: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The administrator behind a live session: its user holds the admin role
/// and it comes from the journey `[admin] journey` names. (A disabled
/// user's session is not live: `sessions::validate` ends it.)
pub fn by_session(ctx: &Context, active: &ActiveSession) -> Result<Administrator, Refusal> {
    let required = &ctx.settings.admin.journey;
    if !active.user.admin {
        return Err(Refusal::NotAdmin(format!("`{}`", active.user.username)));
    }
    if active.session.journey != *required {
        return Err(Refusal::WrongJourney {
            required: required.clone(),
            found: active.session.journey.clone(),
        });
    }
    Ok(Administrator {
        actor: Actor::User {
            id: active.user.id.clone(),
            username: active.user.username.clone(),
        },
        session: Some(active.session.clone()),
    })
}

/// The administrator behind an access token: valid (signature, issuer,
/// expiry, not revoked; a DPoP-bound one with its `proof`), granted [`SCOPE`], and for a subject that may
/// still administer now: a client token's client must still be allowed
/// the scope, a user's token's user must still hold the role.
pub fn by_token(
    provider: &Provider,
    token: &str,
    proof: Option<&ProofRequest>,
) -> Result<Administrator, Refusal> {
    let claims = provider
        .verify_access(token, proof)
        .map_err(|err| match err {
            AccessTokenError::Invalid(why) => Refusal::InvalidToken(why),
            AccessTokenError::Proof(DpopError::Store(err)) | AccessTokenError::Store(err) => {
                Refusal::Store(err)
            }
            AccessTokenError::Proof(err) => Refusal::InvalidProof(err.to_string()),
        })?;
    if !claims.scopes().any(|scope| scope == SCOPE) {
        return Err(Refusal::MissingScope);
    }
    let store = &provider.ctx.store;
    // A client's own token (client_credentials) names the client as its
    // subject and carries no sign-in time.
    if claims.auth_time.is_none() && claims.sub == claims.client_id {
        let allowed = store
            .read(|tx| tx.client(&claims.client_id))?
            .is_some_and(|client| client.scopes.iter().any(|scope| scope == SCOPE));
        if !allowed {
            return Err(Refusal::NotAdmin(format!("client `{}`", claims.client_id)));
        }
        return Ok(Administrator {
            actor: Actor::Client {
                client_id: claims.client_id,
            },
            session: None,
        });
    }
    match store.read(|tx| tx.user(&claims.sub))? {
        Some(user) if user.admin && !user.disabled => Ok(Administrator {
            actor: Actor::User {
                id: user.id,
                username: user.username,
            },
            session: None,
        }),
        _ => Err(Refusal::NotAdmin("the token's subject".into())),
    }
}

impl Administrator {
    /// The administrator as the audit log names them, asking from `ip`.
    pub fn audited_as(&self, ip: Option<&str>) -> audit::Caller {
        let party = match &self.actor {
            Actor::User { username, .. } => audit::Party::user(username),
            Actor::Client { client_id } => audit::Party::client(client_id),
        };
        audit::Caller::new(party, ip)
    }

    /// For the most sensitive actions: a session must have authenticated
    /// within `[admin] reauth_secs`. A token has no sign-in to repeat: its
    /// short life and its scope stand for it.
    pub fn check_recent(&self, ctx: &Context) -> Result<(), Refusal> {
        let admin = &ctx.settings.admin;
        match &self.session {
            Some(session)
                if !session.authenticated_within(seconds(admin.reauth_secs), ctx.now()) =>
            {
                Err(Refusal::ReauthRequired {
                    journey: admin.journey.clone(),
                    max_age_secs: admin.reauth_secs,
                })
            }
            _ => Ok(()),
        }
    }
}
