//! `username_password`: identifies the user by username and password.
//! Outcomes: `success` (the user is known, method `pwd`) or `failure`.

use super::{Field, FieldKind, Input, Node};
use crate::accounts::{self, LoginError};
use crate::context::Context;
use crate::journeys::JourneyError;
use crate::store::JourneyState;

/// The password step.
pub struct UsernamePassword;

const USERNAME: Field = Field {
    name: "username",
    kind: FieldKind::Text,
    label: "Username",
    autocomplete: "username",
};
const PASSWORD: Field = Field {
    name: "password",
    kind: FieldKind::Password,
    label: "Password",
    autocomplete: "current-password",
};

impl Node for UsernamePassword {
    fn step(&self) -> &'static str {
        "credentials"
    }

    fn fields(&self) -> &'static [Field] {
        &[USERNAME, PASSWORD]
    }

    fn outcomes(&self) -> &'static [&'static str] {
        &["success", "failure"]
    }

    fn run(
        &self,
        ctx: &Context,
        state: &mut JourneyState,
        input: &Input,
    ) -> Result<&'static str, JourneyError> {
        let username = input.require(&USERNAME)?;
        let password = input.require(&PASSWORD)?;
        match accounts::authenticate(ctx, username.expose(), password) {
            Ok(user) => {
                state.user_id = Some(user.id);
                state.amr.push("pwd".into());
                Ok("success")
            }
            Err(LoginError::Store(err)) => Err(err.into()),
            Err(err) => {
                state.message = Some(message_for(&err, ctx.now()));
                Ok("failure")
            }
        }
    }
}

/// The words the user sees; the same for unknown users and wrong passwords.
fn message_for(err: &LoginError, now: time::OffsetDateTime) -> String {
    match err {
        LoginError::Locked(until) => {
            let minutes = ((*until - now).whole_seconds() + 59) / 60;
            format!(
                "Too many failed sign-in attempts for this username. Try again in {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            )
        }
        LoginError::Disabled => "This account is disabled. Contact your administrator.".into(),
        _ => "Invalid username or password.".into(),
    }
}
