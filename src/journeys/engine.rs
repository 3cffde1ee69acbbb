//! The journeys' service: start, advance, look at and finish journeys,
//! each step one store transaction.

use super::graph::{Journey, Next};
use super::nodes::{self, Decision, Input, Prompt, Turn};
use super::{Client, Finished, JourneyError, Progress, Registry, Step, goto};
use crate::accounts::{self, Accounts};
use crate::audit;
use crate::context::Context;
use crate::mail::{MailError, Mailer};
use crate::passkeys::Passkeys;
use crate::secret::{Token, TokenHash};
use crate::sessions::{self, Origin};
use crate::store::{JourneyState, Session, StoreError, User, WriteTx};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Runs the journeys of its [`Registry`], with what their nodes use: the
/// core, the accounts service and the mailer. Built once by the
/// composition root.
pub struct Engine {
    pub ctx: Arc<Context>,
    pub accounts: Arc<Accounts>,
    /// Sends one-time codes and notices.
    pub mailer: Mailer,
    /// The WebAuthn relying party, for the `passkey` node and /account.
    pub passkeys: Passkeys,
    registry: Registry,
}

impl Engine {
    /// The engine of `registry`, mailing as the settings say.
    pub fn new(
        ctx: Arc<Context>,
        accounts: Arc<Accounts>,
        registry: Registry,
    ) -> Result<Self, MailError> {
        let mailer = Mailer::from_settings(&ctx.settings, ctx.clock.clone())?;
        let passkeys = Passkeys::new(ctx.clone());
        if let Some(reason) = passkeys.unavailable() {
            // A warning when a journey counts on passkeys; otherwise only
            // /account's "add a passkey" is missing (the default setup, on
            // 127.0.0.1).
            if registry.uses_node("passkey") {
                tracing::warn!("passkeys are unavailable: {reason}");
            } else {
                tracing::info!("passkeys are unavailable: {reason}");
            }
        }
        Ok(Self {
            passkeys,
            ctx,
            accounts,
            mailer,
            registry,
        })
    }

    /// The journeys it runs.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Starts a journey; `goto` is kept only where [`goto::checked`] allows it.
    /// A step-up journey binds to the client's live session.
    pub fn start(
        &self,
        name: &str,
        goto: Option<&str>,
        client: &Client,
    ) -> Result<Progress, JourneyError> {
        let journey = self.registry.get(name)?;
        let mut state = JourneyState {
            journey: journey.name.clone(),
            node: journey.start.clone(),
            user_id: None,
            claimed_user_id: None,
            claimed_name: None,
            amr: Vec::new(),
            goto: match goto {
                Some(goto) => goto::checked(&self.ctx, goto)?,
                None => None,
            },
            message: None,
            expires_at: self.ctx.now() + self.ctx.settings.journey_ttl(),
            attempts: BTreeMap::new(),
            data: BTreeMap::new(),
            pending_user: None,
            step_up_session: None,
            device: None,
        };
        if journey.step_up {
            let token = client
                .session
                .as_ref()
                .ok_or(JourneyError::SessionRequired)?;
            let active =
                sessions::validate(&self.ctx, token)?.ok_or(JourneyError::SessionRequired)?;
            state.user_id = Some(active.user.id);
            state.step_up_session = Some(active.session.id);
        }
        let auth_id = Token::generate();
        let hash = auth_id.hash();
        self.ctx
            .store
            .write_volatile(|tx| tx.put_journey(&hash, &state))?;
        self.arrive(journey, &auth_id, state, client)
    }

    /// Feeds input to the journey's current step and follows the outcomes
    /// until a step needs input or the journey ends.
    pub fn advance(
        &self,
        auth_id: &Token,
        input: &Input,
        client: &Client,
    ) -> Result<Progress, JourneyError> {
        let mut state = self.load(&auth_id.hash())?;
        let journey = self.registry.get(&state.journey)?;
        state.message = None;
        let spec = journey
            .nodes
            .get(&state.node)
            .ok_or(JourneyError::Expired)?;
        let turn = Turn { client, auth_id };
        let outcome = match spec.node.run(self, &mut state, input, &turn)? {
            Decision::Outcome(outcome) => outcome,
            Decision::Wait(message) => {
                state.message = message;
                return self.pause(journey, auth_id, state);
            }
            Decision::Retry(message) => {
                // Counted on the stored state, so parallel wrong answers each count.
                let hash = auth_id.hash();
                let attempts = self
                    .ctx
                    .store
                    .write_volatile(|tx| tx.count_journey_attempt(&hash, &state.node))?
                    .ok_or(JourneyError::Expired)?;
                state.attempts.insert(state.node.clone(), attempts);
                if attempts < spec.max_attempts {
                    state.message = Some(message);
                    return self.pause(journey, auth_id, state);
                }
                state.message = Some("Too many attempts. Please start again.".into());
                "failure"
            }
        };
        self.follow(journey, auth_id, state, outcome, client)
    }

    /// Leaves the current node by `outcome`.
    fn follow(
        &self,
        journey: &Journey,
        auth_id: &Token,
        mut state: JourneyState,
        outcome: &str,
        client: &Client,
    ) -> Result<Progress, JourneyError> {
        let next = journey
            .nodes
            .get(&state.node)
            .and_then(|spec| spec.next.get(outcome))
            .cloned()
            .unwrap_or(Next::Failure);
        match next {
            Next::Node(next) => {
                state.node = next;
                self.arrive(journey, auth_id, state, client)
            }
            Next::Success => match self.finish(auth_id, &state, client) {
                Err(JourneyError::Account(accounts::AccountError::UsernameTaken(name))) => {
                    self.choose_another_username(journey, auth_id, state, &name)
                }
                finished => finished,
            },
            Next::Failure => {
                self.ctx
                    .store
                    .write_volatile(|tx| tx.take_journey(&auth_id.hash()))?;
                Err(JourneyError::Failed {
                    message: state
                        .message
                        .unwrap_or_else(|| "Sign-in failed.".to_owned()),
                })
            }
        }
    }

    /// A registration whose username was taken by the time the account was to
    /// be created goes back to its `register` node, which asks for another
    /// name only (see `nodes::register` for why the name is not checked
    /// earlier). The journey fails if that node is gone (a config change).
    fn choose_another_username(
        &self,
        journey: &Journey,
        auth_id: &Token,
        mut state: JourneyState,
        name: &str,
    ) -> Result<Progress, JourneyError> {
        let back_to = state
            .pending_user
            .as_mut()
            .filter(|pending| journey.nodes.contains_key(&pending.from_node))
            .map(|pending| {
                pending.username_taken = true;
                pending.from_node.clone()
            })
            .ok_or_else(|| JourneyError::Failed {
                message: nodes::taken_message(name),
            })?;
        state.node = back_to;
        state.message = Some(nodes::taken_message(name));
        self.pause(journey, auth_id, state)
    }

    /// Enters the current node: shows its step, or runs it at once when it
    /// needs no input.
    fn arrive(
        &self,
        journey: &Journey,
        auth_id: &Token,
        mut state: JourneyState,
        client: &Client,
    ) -> Result<Progress, JourneyError> {
        let spec = journey
            .nodes
            .get(&state.node)
            .ok_or(JourneyError::Expired)?;
        let turn = Turn { client, auth_id };
        spec.node.enter(self, &mut state, &turn)?;
        if spec.node.prompt(self, &state).waits() {
            return self.pause(journey, auth_id, state);
        }
        match spec.node.run(self, &mut state, &Input::default(), &turn)? {
            Decision::Outcome(outcome) => self.follow(journey, auth_id, state, outcome, client),
            // A node without input cannot be retried or waited on.
            Decision::Retry(message) | Decision::Wait(Some(message)) => {
                state.message = Some(message);
                self.follow(journey, auth_id, state, "failure", client)
            }
            Decision::Wait(None) => self.follow(journey, auth_id, state, "failure", client),
        }
    }

    /// Saves the state and shows its step. The save only replaces a running
    /// journey, so a step racing the journey's end cannot bring it back.
    fn pause(
        &self,
        journey: &Journey,
        auth_id: &Token,
        state: JourneyState,
    ) -> Result<Progress, JourneyError> {
        let hash = auth_id.hash();
        let running = self
            .ctx
            .store
            .write_volatile(|tx| tx.replace_journey(&hash, &state))?;
        if !running {
            return Err(JourneyError::Expired);
        }
        Ok(Progress::Step(Box::new(self.step(
            journey,
            auth_id.clone(),
            &state,
        ))))
    }

    /// The step a running journey waits on (to show it again).
    pub fn current(&self, auth_id: &Token) -> Result<Step, JourneyError> {
        let state = self.load(&auth_id.hash())?;
        let journey = self.registry.get(&state.journey)?;
        Ok(self.step(journey, auth_id.clone(), &state))
    }

    /// Whether the step a journey waits on has its answer from elsewhere (a
    /// push approved, denied or expired; see [`nodes::Node::answered`]), so
    /// that submitting it now moves on. A journey that is over counts as
    /// answered: submitting then shows why. Reads only; the journey stays
    /// where it is.
    pub fn answered(&self, auth_id: &Token) -> Result<bool, JourneyError> {
        let state = match self.load(&auth_id.hash()) {
            Ok(state) => state,
            Err(JourneyError::Expired) => return Ok(true),
            Err(err) => return Err(err),
        };
        let journey = self.registry.get(&state.journey)?;
        match journey.nodes.get(&state.node) {
            Some(spec) => spec.node.answered(self, &state),
            None => Ok(true),
        }
    }

    /// Loads a journey's state if it is still running.
    fn load(&self, hash: &TokenHash) -> Result<JourneyState, JourneyError> {
        let state = self.ctx.store.read(|tx| tx.journey(hash))?;
        state
            .filter(|state| state.expires_at > self.ctx.now())
            .ok_or(JourneyError::Expired)
    }

    /// Ends a journey with a session, in one transaction that takes the state
    /// (so a concurrent or replayed submission finds nothing), creates a
    /// registered account, issues a session or steps one up, and audits
    /// what happened.
    fn finish(
        &self,
        auth_id: &Token,
        state: &JourneyState,
        client: &Client,
    ) -> Result<Progress, JourneyError> {
        let hash = auth_id.hash();
        let (token, session, user) = self.ctx.store.write(|tx| {
            tx.take_journey(&hash)?.ok_or(JourneyError::Expired)?;
            let (user, registered) = match (&state.user_id, &state.pending_user) {
                (Some(id), _) => (tx.user(id)?.ok_or(JourneyError::Expired)?, false),
                (None, Some(pending)) => (self.accounts.register_in(tx, pending)?, true),
                (None, None) => {
                    return Err(JourneyError::Failed {
                        message: "This journey did not identify a user.".into(),
                    });
                }
            };
            if user.disabled {
                return Err(JourneyError::Failed {
                    message: "This account is disabled. Contact your administrator.".into(),
                });
            }
            let (token, session) = match &state.step_up_session {
                Some(session_id) => {
                    let token = client
                        .session
                        .clone()
                        .ok_or(JourneyError::SessionRequired)?;
                    let session =
                        sessions::step_up_in(&self.ctx, tx, &token, session_id, &state.amr)?
                            .ok_or(JourneyError::SessionRequired)?;
                    (token, session)
                }
                None => {
                    let origin = Origin {
                        journey: state.journey.clone(),
                        amr: state.amr.clone(),
                        user_agent: client.user_agent.clone(),
                        ip: client.ip.clone(),
                    };
                    let replaced = client.session_hash();
                    sessions::issue_in(&self.ctx, tx, &user.id, origin, replaced.as_ref())?
                }
            };
            record_finish(&self.ctx, tx, state, client, &user, &session, registered)?;
            Ok::<_, JourneyError>((token, session, user))
        })?;
        let expires_at = sessions::expires_at(&self.ctx, &session);
        let success_url = state
            .goto
            .clone()
            .unwrap_or_else(|| format!("{}{}", self.ctx.issuer, goto::ACCOUNT_PATH));
        Ok(Progress::Done(Box::new(Finished {
            token,
            session,
            user,
            expires_at,
            success_url,
        })))
    }

    fn step(&self, journey: &Journey, auth_id: Token, state: &JourneyState) -> Step {
        let (step, prompt) = journey
            .nodes
            .get(&state.node)
            .map(|spec| (spec.node.step(), spec.node.prompt(self, state)))
            .unwrap_or(("", Prompt::default()));
        Step {
            auth_id,
            journey: journey.name.clone(),
            title: journey.title.clone(),
            step,
            first: state.node == journey.start,
            prompt,
            message: state.message.clone(),
        }
    }

    /// Removes journeys that expired; returns how many. (Push requests have
    /// their own: [`push::purge_expired`].)
    pub fn purge_expired(&self) -> Result<usize, StoreError> {
        let now = self.ctx.now();
        self.ctx
            .store
            .write_volatile(|tx| tx.delete_expired_journeys(now))
    }
}

/// Audits the end of a journey: a `registration` if it created the
/// account, and the `login` (a step-up says so).
fn record_finish(
    ctx: &Context,
    tx: &dyn WriteTx,
    state: &JourneyState,
    client: &Client,
    user: &User,
    session: &Session,
    registered: bool,
) -> Result<(), StoreError> {
    let party = audit::Party::user(&user.username);
    let ip = client.ip.as_deref();
    if registered {
        let event = audit::Event::success(audit::Kind::Registration, party.clone())
            .about(party.clone())
            .from_ip(ip)
            .with("journey", &state.journey);
        audit::record(ctx, tx, event)?;
    }
    let mut login = audit::Event::success(audit::Kind::Login, party.clone())
        .about(party)
        .from_ip(ip)
        .with("journey", &state.journey)
        .with("methods", state.amr.join(" "))
        .with("session", &session.id);
    if state.step_up_session.is_some() {
        login = login.with("step_up", "true");
    }
    audit::record(ctx, tx, login)
}
