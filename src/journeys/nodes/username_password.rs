//! `username_password`: identifies the user by username and password.
//! Outcomes: `success` (method `pwd`) or `failure`. In a step-up journey the
//! credentials must be those of the session's user.

use super::{Decision, Field, FieldKind, Input, Node, Prompt, Turn};
use crate::accounts::LoginError;
use crate::journeys::Engine;
use crate::journeys::JourneyError;
use crate::store::JourneyState;
use std::sync::LazyLock;

/// The password step.
pub struct UsernamePassword;

static FIELDS: LazyLock<[Field; 2]> = LazyLock::new(|| {
    [
        Field::new("username", FieldKind::Text, "Username", "username"),
        Field::new(
            "password",
            FieldKind::Password,
            "Password",
            "current-password",
        ),
    ]
});

impl Node for UsernamePassword {
    fn step(&self) -> &'static str {
        "credentials"
    }

    fn outcomes(&self) -> &'static [&'static str] {
        &["success", "failure"]
    }

    fn prompt(&self, _engine: &Engine, _state: &JourneyState) -> Prompt {
        Prompt::fields(&*FIELDS)
    }

    fn run(
        &self,
        engine: &Engine,
        state: &mut JourneyState,
        input: &Input,
        turn: &Turn<'_>,
    ) -> Result<Decision, JourneyError> {
        let [username, password] = &*FIELDS;
        let username = input.require(username)?;
        let password = input.require(password)?;
        let address = turn.client.ip.as_deref();
        match engine
            .accounts
            .authenticate(username.expose(), password, address)
        {
            Ok(user) if state.user_id.as_ref().is_some_and(|id| *id != user.id) => {
                state.message = Some("Sign in as the user of this session.".into());
                Ok(Decision::Outcome("failure"))
            }
            Ok(user) => {
                state.user_id = Some(user.id);
                super::add_method(state, "pwd");
                Ok(Decision::Outcome("success"))
            }
            Err(LoginError::Store(err)) => Err(err.into()),
            Err(err) => {
                state.message = Some(message_for(&err, engine.ctx.now()));
                Ok(Decision::Outcome("failure"))
            }
        }
    }
}

/// The words the user sees; the same for unknown users and wrong passwords.
fn message_for(err: &LoginError, now: time::OffsetDateTime) -> String {
    match err {
        LoginError::Locked(until) => format!(
            "Too many failed sign-in attempts for this username. {}",
            super::try_again_in(*until, now)
        ),
        LoginError::AddressLocked(until) => format!(
            "Too many failed sign-in attempts from your network. {}",
            super::try_again_in(*until, now)
        ),
        LoginError::Disabled => "This account is disabled. Contact your administrator.".into(),
        _ => "Invalid username or password.".into(),
    }
}
