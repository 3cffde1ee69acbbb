//! `identify`: names the account a journey is about (a password reset) by
//! username or email, without proving anything. It always leaves by
//! `success` and shows nothing about whether the account exists; a later
//! node that proves control of the account (`one_time_code`) turns the
//! claim into the journey's user.

use super::{Decision, Field, FieldKind, Input, Node, Prompt, Turn};
use crate::accounts::Username;
use crate::journeys::Engine;
use crate::journeys::JourneyError;
use crate::store::JourneyState;

/// The "which account?" step.
pub struct Identify;

fn field() -> Field {
    Field::new("username", FieldKind::Text, "Username or email", "username")
}

impl Node for Identify {
    fn step(&self) -> &'static str {
        "identify"
    }

    fn outcomes(&self) -> &'static [&'static str] {
        &["success"]
    }

    fn prompt(&self, _engine: &Engine, _state: &JourneyState) -> Prompt {
        Prompt::fields(&[field()])
    }

    fn run(
        &self,
        engine: &Engine,
        state: &mut JourneyState,
        input: &Input,
        _turn: &Turn<'_>,
    ) -> Result<Decision, JourneyError> {
        let name = input.require(&field())?.expose().trim().to_owned();
        // A username is looked up (and its guesses counted) in its RFC 8265
        // form, so `ＡＬＩＣＥ` names alice; anything else is an address.
        let username = Username::parse(&name).ok();
        let user = engine.ctx.store.read(|tx| match &username {
            Some(username) => tx.user_by_username(username.normalized()),
            None => tx.user_by_email(&name),
        })?;
        state.claimed_user_id = user.filter(|user| !user.disabled).map(|user| user.id);
        state.claimed_name = Some(match &username {
            Some(username) => username.normalized().to_owned(),
            None => name.to_lowercase(),
        });
        Ok(Decision::Outcome("success"))
    }
}
