//! `identify`: names the account a journey is about (a password reset) by
//! username or email, without proving anything. It always leaves by
//! `success` and shows nothing about whether the account exists; a later
//! node that proves control of the account (`one_time_code`) turns the
//! claim into the journey's user.

use super::{Decision, Field, FieldKind, Input, Node, Prompt, Turn};
use crate::accounts::Username;
use crate::context::Context;
use crate::journeys::JourneyError;
use crate::store::{JourneyState, users};

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

    fn prompt(&self, _ctx: &Context, _state: &JourneyState) -> Prompt {
        Prompt::fields(&[field()])
    }

    fn run(
        &self,
        ctx: &Context,
        state: &mut JourneyState,
        input: &Input,
        _turn: &Turn<'_>,
    ) -> Result<Decision, JourneyError> {
        let name = input.require(&field())?.expose().trim().to_owned();
        let user = ctx.store.read(|tx| match Username::parse(&name) {
            Ok(username) if !name.contains('@') => {
                users::get_by_username(tx, username.normalized())
            }
            _ => users::get_by_email(tx, &name),
        })?;
        state.claimed_user_id = user.filter(|user| !user.disabled).map(|user| user.id);
        state.claimed_name = Some(name.to_lowercase());
        Ok(Decision::Outcome("success"))
    }
}
