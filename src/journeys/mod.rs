//! The journey engine. A journey is a graph of nodes ([`graph`]); its state
//! lives in the store under the hash of an unguessable `auth_id`, expires
//! after `journeys.ttl_secs`, and is taken (deleted) in the same transaction
//! that issues the session, so a finished journey cannot be replayed.
//!
//! The engine ([`engine`]) knows nothing of HTML or JSON: `http` renders
//! the same [`Progress`] as a form or as a REST response. This module holds
//! what it speaks: the registry of journeys, steps, outcomes and errors.

pub mod devices;
mod engine;
pub mod goto;
pub mod graph;
pub mod nodes;
pub mod push;
mod reset_link;

pub use engine::Engine;
pub use reset_link::{ResetLinkError, reset_page};

use crate::accounts;
use crate::config::Settings;
use crate::secret::{Token, TokenHash};
use crate::store::{Session, StoreError, User};
use graph::{GraphError, Journey};
use nodes::Prompt;

/// The journeys tessera knows, by name: the journeys' service, built once
/// by the composition root and passed to each entry point.
pub struct Registry {
    journeys: graph::Journeys,
}

impl Registry {
    /// The built-in journeys and the config's, checked.
    pub fn from_settings(settings: &Settings) -> Result<Self, GraphError> {
        Ok(Self {
            journeys: graph::all(settings)?,
        })
    }

    /// Every journey's name.
    pub fn names(&self) -> Vec<&str> {
        self.journeys.available.keys().map(String::as_str).collect()
    }

    /// Whether a journey has a node of type `kind`.
    pub fn uses_node(&self, kind: &str) -> bool {
        self.journeys
            .available
            .values()
            .any(|journey| journey.nodes.values().any(|spec| spec.kind == kind))
    }

    /// A journey by name.
    pub fn get(&self, name: &str) -> Result<&Journey, JourneyError> {
        let name = name.to_owned();
        match self.journeys.available.get(&name) {
            Some(journey) => Ok(journey),
            None if self.journeys.registration_closed.contains(&name) => {
                Err(JourneyError::RegistrationClosed { name })
            }
            None => Err(JourneyError::UnknownJourney { name }),
        }
    }
}

/// What the client must do next, or the session it got.
#[derive(Debug)]
pub enum Progress {
    Step(Box<Step>),
    Done(Box<Finished>),
}

/// A step waiting for input.
#[derive(Debug)]
pub struct Step {
    /// The handle on the journey's state; a secret of the client's.
    pub auth_id: Token,
    pub journey: String,
    pub title: String,
    pub step: &'static str,
    /// Whether this is the journey's first step (pages offer ways out,
    /// such as a password reset, only there).
    pub first: bool,
    pub prompt: Prompt,
    pub message: Option<String>,
}

/// A journey that ended with a session.
#[derive(Debug)]
pub struct Finished {
    /// The session's token: a new one, or the stepped-up session's own.
    pub token: Token,
    pub session: Session,
    pub user: User,
    pub expires_at: time::OffsetDateTime,
    /// Where the client goes next: the checked `goto`, or the account page.
    pub success_url: String,
}

/// Facts about the request that the engine uses and records.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub user_agent: Option<String>,
    pub accept_language: Option<String>,
    pub ip: Option<String>,
    /// The session token the client holds now: replaced by a new session,
    /// or stepped up.
    pub session: Option<Token>,
}

impl Client {
    fn session_hash(&self) -> Option<TokenHash> {
        self.session.as_ref().map(Token::hash)
    }
}

/// Why a journey could not go on.
#[derive(Debug, thiserror::Error)]
pub enum JourneyError {
    #[error("there is no journey named `{name}`")]
    UnknownJourney { name: String },
    /// The journey registers accounts, and self-registration is off.
    #[error("the journey `{name}` registers accounts, and registration is closed")]
    RegistrationClosed { name: String },
    /// Unknown, expired or already finished `auth_id`.
    #[error("this sign-in has expired or already finished; start again")]
    Expired,
    /// A step-up journey started without a live session.
    #[error("this journey confirms an existing session: sign in first")]
    SessionRequired,
    /// The input cannot be read; the step can be retried.
    #[error("{0}")]
    InvalidInput(String),
    /// The journey ended by a `failure` outcome.
    #[error("{message}")]
    Failed { message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Account(#[from] accounts::AccountError),
    /// Too many attempts from the client's address (registrations); the
    /// step can be submitted again in `retry_after_secs`.
    #[error(
        "Too many attempts from your network. Try again in {} minute(s).",
        retry_after_secs.div_ceil(60)
    )]
    Throttled { retry_after_secs: u64 },
    /// A sealed secret (a TOTP enrollment) cannot be opened.
    #[error(transparent)]
    Seal(#[from] crate::seal::SealError),
}

impl From<accounts::totp::TotpError> for JourneyError {
    fn from(err: accounts::totp::TotpError) -> Self {
        use accounts::totp::TotpError;
        match err {
            // As when `finish` finds the user gone: the journey cannot end.
            TotpError::UnknownUser => JourneyError::Expired,
            TotpError::Seal(err) => JourneyError::Seal(err),
            TotpError::Store(err) => JourneyError::Store(err),
        }
    }
}
