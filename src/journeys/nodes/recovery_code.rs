//! `recovery_code`: one of the user's recovery codes
//! (`accounts::recovery_codes`), for the user identified so far: the way in
//! when the authenticator app is lost. Outcomes: `success` (method
//! `recovery_code`), `failure`, or `not_enrolled` when the user has no
//! unused code, taken at once without showing a step.
//!
//! The method is tessera's own name, so that the session, `/account` and
//! the audit log tell a recovery code from a mailed code; ID tokens claim
//! it as RFC 8176's `otp` (one-time password), which it is (`kba` is for
//! knowledge about the person, `swk`/`hwk` for proof of a key). A code is
//! used up when accepted, and failures count against the account's
//! second-factor lockout, shared with TOTP codes. The `totp` node offers the
//! same check behind its `use_recovery_code` action ([`check`]).

use super::{
    Decision, Display, Field, FieldKind, Input, Node, Prompt, Turn, add_method, data,
    identified_user, set_data, try_again_in,
};
use crate::accounts::recovery_codes::{self, METHOD};
use crate::accounts::totp::Verdict;
use crate::journeys::Engine;
use crate::journeys::JourneyError;
use crate::store::JourneyState;
use serde::{Deserialize, Serialize};

/// The recovery code step.
pub struct RecoveryCode;

/// What `enter` found, so that the prompt (which cannot read the store)
/// knows whether to ask.
#[derive(Debug, Serialize, Deserialize)]
struct Checked {
    unused: bool,
}

/// The field a recovery code is typed in, here and in `totp`. Masked like a
/// password and never shown back: it is a credential.
pub(super) fn field() -> Field {
    Field::new("recovery_code", FieldKind::Password, "Recovery code", "off")
}

/// The words above the field.
pub(super) fn prompt_text() -> Display {
    Display::Text {
        text: "Enter one of your recovery codes (like xxxx-xxxx-xx). Each code works once.".into(),
    }
}

/// Checks the recovery code in `input` for the journey's user and decides;
/// `None` when the user has no unused code left.
pub(super) fn check(
    engine: &Engine,
    state: &mut JourneyState,
    input: &Input,
    turn: &Turn<'_>,
) -> Result<Option<Decision>, JourneyError> {
    let user_id = identified_user(state)?;
    let code = input.require(&field())?;
    let verdict =
        engine
            .accounts
            .use_recovery_code(&user_id, code.expose(), turn.client.ip.as_deref())?;
    Ok(Some(match verdict {
        Verdict::Accepted => {
            add_method(state, METHOD);
            Decision::Outcome("success")
        }
        Verdict::Wrong => {
            Decision::Retry("That recovery code is not right. Check it and try again.".into())
        }
        Verdict::Replayed => {
            Decision::Retry("That recovery code has already been used. Use another one.".into())
        }
        Verdict::NotEnrolled => return Ok(None),
        Verdict::Locked(until) => {
            state.message = Some(format!(
                "Too many wrong codes for this account. {}",
                try_again_in(until, engine.ctx.now())
            ));
            Decision::Outcome("failure")
        }
    }))
}

impl Node for RecoveryCode {
    fn step(&self) -> &'static str {
        "recovery_code"
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
                unused: recovery_codes::unused(&user) > 0,
            },
        );
        Ok(())
    }

    fn prompt(&self, _engine: &Engine, state: &JourneyState) -> Prompt {
        if data::<Checked>(state).is_some_and(|checked| !checked.unused) {
            // No fields: the engine runs the node at once, and it leaves by
            // `not_enrolled`.
            return Prompt::default();
        }
        Prompt {
            display: vec![prompt_text()],
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
        if data::<Checked>(state).is_some_and(|checked| !checked.unused) {
            return Ok(Decision::Outcome("not_enrolled"));
        }
        Ok(check(engine, state, input, turn)?.unwrap_or(Decision::Outcome("not_enrolled")))
    }
}
