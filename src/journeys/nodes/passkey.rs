//! `passkey`: a WebAuthn assertion from one of the user's passkeys, with
//! user verification. As a first factor (no user identified yet) it asks
//! for any discoverable credential of this site, and the credential's user
//! handle names the user; after `username_password` or `identify` it asks
//! for that user's passkeys only (`allowCredentials`). Outcomes: `success`,
//! `failure` (attempts used up, a disabled account, a server that cannot
//! use passkeys), or `not_enrolled` when the user named has no passkey —
//! taken at once, alike for a name that is no account's.
//!
//! The step's one field, `assertion` (kind `webauthn`), carries the
//! challenge in its `options`, in the HTML page and the REST journey alike;
//! the value is the `PublicKeyCredential` JSON. Each failed attempt gets a
//! new challenge, so no assertion is accepted twice.
//!
//! `amr` (RFC 8176 §2 has no "passkey"): `hwk` for a credential bound to
//! its authenticator, `swk` for one that may be synced to other devices
//! (WebAuthn's backup-eligible flag: its key is held in software by a
//! passkey provider), and `user`, since user verification was required —
//! the authenticator checked the user with a PIN or biometric, which the
//! assertion does not say which.

use super::{
    Decision, Display, Field, FieldKind, Input, Node, Prompt, Turn, add_method, data, set_data,
};
use crate::journeys::{Engine, JourneyError};
use crate::passkeys::PasskeyError;
use crate::store::JourneyState;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The passkey step.
pub struct PasskeyStep;

/// What `enter` began, for the prompt and the check.
#[derive(Debug, Serialize, Deserialize)]
enum Began {
    /// A ceremony: the options shown and the state that checks the answer.
    Challenge {
        options: Value,
        state: Value,
    },
    NotEnrolled,
    /// The server cannot use passkeys; the reason for the user.
    Unavailable(String),
}

const FIELD: &str = "assertion";

fn field(options: Option<Value>) -> Field {
    Field {
        options,
        ..Field::new(FIELD, FieldKind::Webauthn, "Passkey", "webauthn")
    }
}

/// The user the passkey must be one of: identified or claimed so far, or
/// `None` for anyone's discoverable credential.
enum Expected {
    Anyone,
    User(String),
    /// A name was given that is no (enabled) account's.
    Nobody,
}

fn expected(state: &JourneyState) -> Expected {
    match (&state.user_id, &state.claimed_user_id, &state.claimed_name) {
        (Some(user_id), _, _) | (None, Some(user_id), _) => Expected::User(user_id.clone()),
        (None, None, Some(_)) => Expected::Nobody,
        (None, None, None) => Expected::Anyone,
    }
}

/// Begins a ceremony for whoever the journey expects.
fn begin(engine: &Engine, state: &JourneyState) -> Result<Began, JourneyError> {
    let user_id = match expected(state) {
        Expected::Nobody => return Ok(Began::NotEnrolled),
        Expected::Anyone => None,
        Expected::User(user_id) => Some(user_id),
    };
    Ok(
        match engine.passkeys.begin_authentication(user_id.as_deref()) {
            Ok(challenge) => Began::Challenge {
                options: challenge.options,
                state: challenge.state,
            },
            Err(PasskeyError::NotEnrolled) => Began::NotEnrolled,
            Err(PasskeyError::Store(err)) => return Err(err.into()),
            Err(err) => {
                tracing::warn!(reason = %err, "passkey step cannot begin");
                Began::Unavailable(
                    "Passkeys cannot be used on this server. Contact your administrator.".into(),
                )
            }
        },
    )
}

impl Node for PasskeyStep {
    fn step(&self) -> &'static str {
        "passkey"
    }

    fn outcomes(&self) -> &'static [&'static str] {
        &["success", "failure", "not_enrolled"]
    }

    fn enter(
        &self,
        engine: &Engine,
        state: &mut JourneyState,
        _turn: &Turn<'_>,
    ) -> Result<(), JourneyError> {
        let began = begin(engine, state)?;
        set_data(state, &began);
        Ok(())
    }

    fn prompt(&self, _engine: &Engine, state: &JourneyState) -> Prompt {
        match data::<Began>(state) {
            Some(Began::Challenge { options, .. }) => Prompt {
                display: vec![Display::Text {
                    text: "Use your passkey: your device will ask you to confirm it is you.".into(),
                }],
                submit: Some("Use a passkey".into()),
                ..Prompt::fields(&[field(Some(options))])
            },
            // No fields: the engine runs the node at once, and it leaves.
            _ => Prompt::default(),
        }
    }

    fn run(
        &self,
        engine: &Engine,
        state: &mut JourneyState,
        input: &Input,
        _turn: &Turn<'_>,
    ) -> Result<Decision, JourneyError> {
        let ceremony = match data::<Began>(state) {
            Some(Began::Challenge { state, .. }) => state,
            Some(Began::NotEnrolled) => return Ok(Decision::Outcome("not_enrolled")),
            Some(Began::Unavailable(reason)) => {
                state.message = Some(reason);
                return Ok(Decision::Outcome("failure"));
            }
            None => return Err(JourneyError::Expired),
        };
        let assertion = input.require(&field(None))?;
        let verified = match engine
            .passkeys
            .finish_authentication(&ceremony, assertion.expose())
        {
            Ok(verified) => verified,
            Err(PasskeyError::Store(err)) => return Err(err.into()),
            Err(err) => {
                tracing::info!(reason = %err, "passkey assertion refused");
                return retry(engine, state);
            }
        };
        // A second factor's ceremony accepts only that user's passkeys.
        let user = engine.accounts.get(&verified.user_id)?;
        if user.is_none_or(|user| user.disabled) {
            state.message = Some("This account is disabled. Contact your administrator.".into());
            return Ok(Decision::Outcome("failure"));
        }
        state.user_id = Some(verified.user_id);
        add_method(
            state,
            if verified.backup_eligible {
                "swk"
            } else {
                "hwk"
            },
        );
        add_method(state, "user");
        Ok(Decision::Outcome("success"))
    }
}

/// A failed attempt: a new challenge, so the refused answer (or one seen
/// by someone else) cannot be tried again.
fn retry(engine: &Engine, state: &mut JourneyState) -> Result<Decision, JourneyError> {
    let began = begin(engine, state)?;
    set_data(state, &began);
    Ok(Decision::Retry(
        "That passkey was not accepted. Try again, or use another passkey.".into(),
    ))
}
