//! The journey engine. A journey is a graph of nodes ([`graph`]); its state
//! lives in the store under the hash of an unguessable `auth_id`, expires
//! after `journeys.ttl_secs`, and is taken (deleted) in the same transaction
//! that issues the session, so a finished journey cannot be replayed.
//!
//! The engine knows nothing of HTML or JSON: `http` renders the same
//! [`Progress`] as a form or as a REST response.

pub mod goto;
pub mod graph;
pub mod nodes;

use crate::context::Context;
use crate::secret::{Token, TokenHash};
use crate::sessions::{self, Origin};
use crate::store::{JourneyState, Session, StoreError, User, journeys as stored, users};
use graph::{Journey, Next};
use nodes::{Field, Input};
use std::collections::BTreeMap;

/// The journeys tessera knows, by name.
pub struct Registry {
    journeys: BTreeMap<String, Journey>,
}

impl Registry {
    /// The built-in journeys.
    pub fn builtin() -> Self {
        let login = Journey::login();
        Self {
            journeys: BTreeMap::from([(login.name.clone(), login)]),
        }
    }

    /// A journey by name.
    pub fn get(&self, name: &str) -> Result<&Journey, JourneyError> {
        self.journeys
            .get(name)
            .ok_or_else(|| JourneyError::UnknownJourney {
                name: name.to_owned(),
                known: self.journeys.keys().cloned().collect(),
            })
    }
}

/// What the client must do next, or the session it got.
#[derive(Debug)]
pub enum Progress {
    Step(Step),
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
    pub fields: &'static [Field],
    pub message: Option<String>,
}

/// A journey that ended with a session.
#[derive(Debug)]
pub struct Finished {
    pub token: Token,
    pub session: Session,
    pub user: User,
    pub expires_at: time::OffsetDateTime,
    /// Where the client goes next: the checked `goto`, or the account page.
    pub success_url: String,
}

/// Facts about the request that the engine records with a session.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// The session the client holds now, replaced by the new one.
    pub current_session: Option<TokenHash>,
}

/// Why a journey could not go on.
#[derive(Debug, thiserror::Error)]
pub enum JourneyError {
    #[error("there is no journey named `{name}`")]
    UnknownJourney { name: String, known: Vec<String> },
    /// Unknown, expired or already finished `auth_id`.
    #[error("this sign-in has expired or already finished; start again")]
    Expired,
    /// The input cannot be read; the step can be retried.
    #[error("{0}")]
    InvalidInput(String),
    /// The journey ended by a `failure` outcome.
    #[error("{message}")]
    Failed { message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Starts a journey; `goto` is kept only if it points at tessera itself.
pub fn start(ctx: &Context, name: &str, goto: Option<&str>) -> Result<Progress, JourneyError> {
    let journey = ctx.journeys.get(name)?;
    let auth_id = Token::generate();
    let state = JourneyState {
        journey: journey.name.clone(),
        node: journey.start.clone(),
        user_id: None,
        amr: Vec::new(),
        goto: goto.and_then(|goto| goto::safe(&ctx.issuer, goto)),
        message: None,
        expires_at: ctx.now() + ctx.settings.journey_ttl(),
    };
    let hash = auth_id.hash();
    ctx.store
        .write_volatile(|tx| stored::put(tx, &hash, &state))?;
    Ok(Progress::Step(step(journey, auth_id, &state)))
}

/// Feeds input to the journey's current step and follows the outcomes
/// until a step needs input or the journey ends.
pub fn advance(
    ctx: &Context,
    auth_id: &Token,
    input: &Input,
    client: &Client,
) -> Result<Progress, JourneyError> {
    let hash = auth_id.hash();
    let mut state = load(ctx, &hash)?;
    let journey = ctx.journeys.get(&state.journey)?;
    state.message = None;
    let mut input = input.clone();
    loop {
        let spec = journey
            .nodes
            .get(&state.node)
            .ok_or(JourneyError::Expired)?;
        let outcome = spec.node.run(ctx, &mut state, &input)?;
        match spec.next.get(outcome).cloned().unwrap_or(Next::Failure) {
            Next::Node(next) => {
                state.node = next;
                let waits = journey
                    .nodes
                    .get(&state.node)
                    .is_some_and(|spec| !spec.node.fields().is_empty());
                if waits {
                    let running = ctx
                        .store
                        .write_volatile(|tx| stored::replace(tx, &hash, &state))?;
                    if !running {
                        return Err(JourneyError::Expired);
                    }
                    return Ok(Progress::Step(step(journey, auth_id.clone(), &state)));
                }
                input = Input::default();
            }
            Next::Success => return finish(ctx, &hash, state, client),
            Next::Failure => {
                ctx.store.write_volatile(|tx| stored::take(tx, &hash))?;
                return Err(JourneyError::Failed {
                    message: state
                        .message
                        .unwrap_or_else(|| "Sign-in failed.".to_owned()),
                });
            }
        }
    }
}

/// The step a running journey waits on (to show it again).
pub fn current(ctx: &Context, auth_id: &Token) -> Result<Step, JourneyError> {
    let state = load(ctx, &auth_id.hash())?;
    let journey = ctx.journeys.get(&state.journey)?;
    Ok(step(journey, auth_id.clone(), &state))
}

/// Loads a journey's state if it is still running.
fn load(ctx: &Context, hash: &TokenHash) -> Result<JourneyState, JourneyError> {
    let state = ctx.store.read(|tx| stored::get_by_hash(tx, hash))?;
    state
        .filter(|state| state.expires_at > ctx.now())
        .ok_or(JourneyError::Expired)
}

/// Ends a journey with a session: one transaction takes the state (so a
/// concurrent or replayed submission finds nothing) and issues the session.
fn finish(
    ctx: &Context,
    hash: &TokenHash,
    state: JourneyState,
    client: &Client,
) -> Result<Progress, JourneyError> {
    let user_id = state.user_id.clone().ok_or_else(|| JourneyError::Failed {
        message: "This sign-in did not identify a user.".into(),
    })?;
    let origin = Origin {
        journey: state.journey.clone(),
        amr: state.amr.clone(),
        user_agent: client.user_agent.clone(),
        ip: client.ip.clone(),
    };
    let (token, session, user) = ctx.store.write(|tx| {
        stored::take(tx, hash)?.ok_or(JourneyError::Expired)?;
        let user = users::get_by_id(tx, &user_id)?.ok_or(JourneyError::Expired)?;
        if user.disabled {
            // Disabled while the journey ran.
            return Err(JourneyError::Failed {
                message: "This account is disabled. Contact your administrator.".into(),
            });
        }
        let (token, session) =
            sessions::issue_in(ctx, tx, &user_id, origin, client.current_session.as_ref())?;
        Ok::<_, JourneyError>((token, session, user))
    })?;
    let expires_at = sessions::expires_at(ctx, &session);
    let success_url = state
        .goto
        .unwrap_or_else(|| format!("{}{}", ctx.issuer, goto::ACCOUNT_PATH));
    Ok(Progress::Done(Box::new(Finished {
        token,
        session,
        user,
        expires_at,
        success_url,
    })))
}

fn step(journey: &Journey, auth_id: Token, state: &JourneyState) -> Step {
    let (step, fields) = journey
        .nodes
        .get(&state.node)
        .map(|spec| (spec.node.step(), spec.node.fields()))
        .unwrap_or(("", &[]));
    Step {
        auth_id,
        journey: journey.name.clone(),
        title: journey.title.clone(),
        step,
        fields,
        message: state.message.clone(),
    }
}

/// Removes journeys that expired; returns how many.
pub fn purge_expired(ctx: &Context) -> Result<usize, StoreError> {
    let now = ctx.now();
    ctx.store
        .write_volatile(|tx| stored::delete_expired(tx, now))
}
