//! `totp`: a code from the user's authenticator app (RFC 6238), for the
//! user identified so far. Outcomes: `success` (method `totp`), `failure`,
//! or `not_enrolled` when the user has no app yet (usually leading to
//! `totp_enroll`), taken at once without showing a step.
//!
//! Codes are checked by `accounts::totp`: one step of clock skew, each step
//! accepted once, and failures counted per user across journeys, so a new
//! journey buys no new guesses.

use super::{
    Decision, Display, Field, FieldKind, Input, Node, Prompt, Turn, add_method, data,
    identified_user, set_data, try_again_in,
};
use crate::accounts::{self, totp::Verdict};
use crate::journeys::Engine;
use crate::journeys::JourneyError;
use crate::store::JourneyState;
use serde::{Deserialize, Serialize};

/// The authenticator code step.
pub struct TotpCode;

/// What `enter` found, so that the prompt (which cannot read the store)
/// knows whether to ask.
#[derive(Debug, Serialize, Deserialize)]
struct Checked {
    enrolled: bool,
}

fn field() -> Field {
    Field::new("code", FieldKind::Code, "Code", "one-time-code")
}

impl Node for TotpCode {
    fn step(&self) -> &'static str {
        "totp"
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
        let user = engine
            .accounts
            .get(&identified_user(state)?)?
            .ok_or(JourneyError::Expired)?;
        set_data(
            state,
            &Checked {
                enrolled: user.totp.is_some(),
            },
        );
        Ok(())
    }

    fn prompt(&self, _engine: &Engine, state: &JourneyState) -> Prompt {
        if data::<Checked>(state).is_some_and(|checked| !checked.enrolled) {
            // No fields: the engine runs the node at once, and it leaves by
            // `not_enrolled`.
            return Prompt::default();
        }
        Prompt {
            display: vec![Display::Text {
                text: format!(
                    "Enter the {}-digit code your authenticator app shows.",
                    accounts::totp::DIGITS
                ),
            }],
            ..Prompt::fields(&[field()])
        }
    }

    fn run(
        &self,
        engine: &Engine,
        state: &mut JourneyState,
        input: &Input,
        turn: &Turn<'_>,
    ) -> Result<Decision, JourneyError> {
        if data::<Checked>(state).is_some_and(|checked| !checked.enrolled) {
            return Ok(Decision::Outcome("not_enrolled"));
        }
        let user_id = identified_user(state)?;
        let code = input.require(&field())?;
        match engine
            .accounts
            .verify(&user_id, code.expose(), turn.client.ip.as_deref())?
        {
            Verdict::Accepted => {
                add_method(state, "totp");
                Ok(Decision::Outcome("success"))
            }
            Verdict::Wrong => Ok(Decision::Retry(
                "That code is not right. Check your authenticator app and try again.".into(),
            )),
            Verdict::Replayed => Ok(Decision::Retry(
                "That code has already been used. Wait for your app to show the next one.".into(),
            )),
            Verdict::NotEnrolled => Ok(Decision::Outcome("not_enrolled")),
            Verdict::Locked(until) => {
                state.message = Some(format!(
                    "Too many wrong codes for this account. {}",
                    try_again_in(until, engine.ctx.now())
                ));
                Ok(Decision::Outcome("failure"))
            }
        }
    }
}
