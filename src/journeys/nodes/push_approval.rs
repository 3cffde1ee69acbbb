//! `push_approval`: asks the user, already identified, to approve this
//! sign-in from a device where they are signed in (see
//! [`crate::journeys::push`]), picking there the number this step shows.
//! The step has no fields: the page checks back by itself, REST clients
//! poll by submitting it empty, and "I approved it, continue" works without
//! JavaScript. Outcomes: `approved` (method `push`), `denied` (also when
//! the wrong number was picked), `expired`.

use super::{
    Decision, Display, Input, Node, OptionReader, Prompt, Turn, add_method, data, identified_user,
    set_data,
};
use crate::journeys::Engine;
use crate::journeys::JourneyError;
use crate::journeys::push::{self, Opened, State};
use crate::store::JourneyState;
use time::Duration;

/// The push approval step.
pub struct PushApproval {
    ttl: Duration,
}

impl PushApproval {
    /// Options: `ttl_secs`, how long the request can be answered (default
    /// 120).
    pub fn from_options(options: &mut OptionReader<'_>) -> Result<Self, String> {
        let ttl: u32 = options.get("ttl_secs", 120)?;
        if ttl == 0 {
            return Err("option `ttl_secs` must be positive".into());
        }
        Ok(Self {
            ttl: Duration::seconds(ttl.into()),
        })
    }
}

impl Node for PushApproval {
    fn step(&self) -> &'static str {
        "push_approval"
    }

    fn outcomes(&self) -> &'static [&'static str] {
        &["approved", "denied", "expired"]
    }

    fn enter(
        &self,
        engine: &Engine,
        state: &mut JourneyState,
        turn: &Turn<'_>,
    ) -> Result<(), JourneyError> {
        let user_id = identified_user(state)?;
        let opened = push::open(&engine.ctx, &user_id, turn.client, self.ttl)?;
        set_data(state, &opened);
        Ok(())
    }

    fn prompt(&self, _engine: &Engine, state: &JourneyState) -> Prompt {
        let mut display = vec![Display::Text {
            text: format!(
                "Approve this sign-in on a device where you are signed in (open your \
                 account page there) by picking the number below, then continue. The \
                 request expires in {} minutes.",
                self.ttl.whole_minutes().max(1)
            ),
        }];
        if let Some(opened) = data::<Opened>(state) {
            display.push(Display::MatchNumber {
                number: opened.number,
            });
        }
        Prompt {
            display,
            submit: Some("I approved it, continue".into()),
            poll: true,
            ..Prompt::default()
        }
    }

    fn answered(&self, engine: &Engine, state: &JourneyState) -> Result<bool, JourneyError> {
        Ok(match data::<Opened>(state) {
            Some(opened) => push::state(&engine.ctx, &opened.request_id)? != State::Waiting,
            None => true,
        })
    }

    fn run(
        &self,
        engine: &Engine,
        state: &mut JourneyState,
        _input: &Input,
        _turn: &Turn<'_>,
    ) -> Result<Decision, JourneyError> {
        let answer = match data::<Opened>(state) {
            Some(opened) => push::settle(&engine.ctx, &opened.request_id)?,
            None => State::Expired,
        };
        Ok(match answer {
            State::Waiting => Decision::Wait(Some("Still waiting for your approval…".into())),
            State::Approved => {
                add_method(state, "push");
                Decision::Outcome("approved")
            }
            State::Denied => {
                state.message =
                    Some("This sign-in was denied from one of your signed-in devices.".into());
                Decision::Outcome("denied")
            }
            State::Expired => {
                state.message = Some(
                    "The approval request expired before it was answered. Please start again."
                        .into(),
                );
                Decision::Outcome("expired")
            }
        })
    }
}
