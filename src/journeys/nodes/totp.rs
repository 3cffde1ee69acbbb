//! `totp`: a code from the user's authenticator app (RFC 6238), for the
//! user identified so far. Outcomes: `success` (method `totp`), `failure`,
//! or `not_enrolled` when the user has no app yet (usually leading to
//! `totp_enroll`), taken at once without showing a step.
//!
//! Codes are checked by `accounts::totp`: one step of clock skew, each step
//! accepted once, and failures counted per user across journeys, so a new
//! journey buys no new guesses.
//!
//! A user with unused recovery codes is offered the action
//! `use_recovery_code` ("Use a recovery code instead"): the step then asks
//! for `recovery_code` instead of `code`, checked as the `recovery_code`
//! node does (method `recovery_code`, the same lockout), and `use_app`
//! goes back. So every journey with a `totp` step lets someone who lost
//! their phone in, without a second path wired by hand.

use super::{
    Action, Decision, Display, Field, FieldKind, Input, Node, Prompt, Turn, add_method, data,
    identified_user, recovery_code, set_data, try_again_in,
};
use crate::accounts::{self, recovery_codes, totp::Verdict};
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
    /// Whether the user has an unused recovery code to offer instead.
    #[serde(default)]
    recovery_codes: bool,
    /// Whether the step asks for a recovery code now.
    #[serde(default)]
    recovery: bool,
}

/// What `enter` found; a state without it asks for an app's code.
fn checked(state: &JourneyState) -> Checked {
    data(state).unwrap_or(Checked {
        enrolled: true,
        recovery_codes: false,
        recovery: false,
    })
}

const USE_RECOVERY_CODE: &str = "use_recovery_code";
const USE_APP: &str = "use_app";

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
                recovery_codes: recovery_codes::unused(&user) > 0,
                recovery: false,
            },
        );
        Ok(())
    }

    fn prompt(&self, _engine: &Engine, state: &JourneyState) -> Prompt {
        let checked = checked(state);
        if !checked.enrolled {
            // No fields: the engine runs the node at once, and it leaves by
            // `not_enrolled`.
            return Prompt::default();
        }
        if checked.recovery {
            return Prompt {
                display: vec![recovery_code::prompt_text()],
                actions: vec![Action {
                    name: USE_APP,
                    label: "Use the authenticator app instead".into(),
                }],
                ..Prompt::fields(&[recovery_code::field()])
            };
        }
        let switch = Action {
            name: USE_RECOVERY_CODE,
            label: "Use a recovery code instead".into(),
        };
        Prompt {
            display: vec![Display::Text {
                text: format!(
                    "Enter the {}-digit code your authenticator app shows.",
                    accounts::totp::DIGITS
                ),
            }],
            actions: checked
                .recovery_codes
                .then_some(switch)
                .into_iter()
                .collect(),
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
        let mut checked = checked(state);
        if !checked.enrolled {
            return Ok(Decision::Outcome("not_enrolled"));
        }
        match input.action() {
            Some(USE_RECOVERY_CODE) if checked.recovery_codes => {
                checked.recovery = true;
                set_data(state, &checked);
                return Ok(Decision::Wait(None));
            }
            Some(USE_APP) => {
                checked.recovery = false;
                set_data(state, &checked);
                return Ok(Decision::Wait(None));
            }
            _ => {}
        }
        if checked.recovery {
            if let Some(decision) = recovery_code::check(engine, state, input, turn)? {
                return Ok(decision);
            }
            // The last code was used elsewhere meanwhile: back to the app.
            checked.recovery = false;
            checked.recovery_codes = false;
            set_data(state, &checked);
            return Ok(Decision::Wait(Some(
                "This account has no unused recovery codes left. Enter a code from your authenticator app."
                    .into(),
            )));
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
