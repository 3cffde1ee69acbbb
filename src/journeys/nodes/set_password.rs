//! `set_password`: the proven user chooses a new password (reset journeys,
//! or a step-up journey that changes it). Every other session of the user
//! ends. Outcome: `success`. Audited as a password change when the journey
//! checked the current password, as a reset otherwise.

use super::{Decision, Field, FieldKind, Input, Node, Prompt, Turn};
use crate::accounts::{self, policy};
use crate::audit;
use crate::journeys::Engine;
use crate::journeys::JourneyError;
use crate::store::JourneyState;

/// The new-password step.
pub struct SetPassword;

fn fields() -> [Field; 2] {
    [
        Field::new(
            "password",
            FieldKind::Password,
            "New password",
            "new-password",
        ),
        Field::new(
            "password_confirm",
            FieldKind::Password,
            "Repeat the new password",
            "new-password",
        ),
    ]
}

impl Node for SetPassword {
    fn step(&self) -> &'static str {
        "set_password"
    }

    fn outcomes(&self) -> &'static [&'static str] {
        &["success"]
    }

    fn prompt(&self, _engine: &Engine, _state: &JourneyState) -> Prompt {
        Prompt {
            submit: Some("Set password".into()),
            ..Prompt::fields(&fields())
        }
    }

    fn run(
        &self,
        engine: &Engine,
        state: &mut JourneyState,
        input: &Input,
        turn: &Turn<'_>,
    ) -> Result<Decision, JourneyError> {
        let Some(user_id) = state.user_id.clone() else {
            // Reached without proof (a misdrawn journey): refuse, never set.
            state.message = Some("This journey did not verify who you are.".into());
            return Err(JourneyError::Failed {
                message: "This journey did not verify who you are.".into(),
            });
        };
        let [password, confirm] = fields();
        let password = input.require(&password)?;
        let confirm = input.require(&confirm)?;
        if password.expose() != confirm.expose() {
            return Ok(Decision::Retry("The two passwords differ.".into()));
        }
        let user = engine
            .ctx
            .store
            .read(|tx| tx.user(&user_id))?
            .ok_or(JourneyError::Expired)?;
        let username = accounts::Username::parse(&user.username).ok();
        if let Some(refusal) = policy::refusal(
            password.expose(),
            username.as_ref(),
            engine.ctx.settings.passwords.min_length,
        ) {
            return Ok(Decision::Retry(refusal));
        }
        let keep = turn.client.session.as_ref().map(|token| token.hash());
        // Proving the current password makes it a change; anything else
        // (a code by mail) a reset.
        let kind = match state.amr.iter().any(|method| method == "pwd") {
            true => audit::Kind::PasswordChange,
            false => audit::Kind::PasswordReset,
        };
        let how = accounts::PasswordSet {
            kind,
            keep: keep.as_ref(),
            end_other_sessions: true,
            address: turn.client.ip.as_deref(),
            proof: None,
        };
        engine.accounts.set_password(&user_id, password, &how)?;
        Ok(Decision::Outcome("success"))
    }
}
