//! `remember_device`: remembers the device that `device_profile` profiled
//! earlier in the journey for the identified user (or marks it as seen
//! again), so that next time it is a known device. Asks nothing. Without a
//! profile or a user there is nothing to remember, and it still succeeds.
//! Outcome: `success`.

use super::{Decision, Input, Node, Prompt, Turn};
use crate::journeys::Engine;
use crate::journeys::JourneyError;
use crate::journeys::devices;
use crate::store::JourneyState;

/// The step that remembers the device.
pub struct RememberDevice;

impl Node for RememberDevice {
    fn step(&self) -> &'static str {
        "remember_device"
    }

    fn outcomes(&self) -> &'static [&'static str] {
        &["success"]
    }

    fn prompt(&self, _engine: &Engine, _state: &JourneyState) -> Prompt {
        Prompt::default()
    }

    fn run(
        &self,
        engine: &Engine,
        state: &mut JourneyState,
        _input: &Input,
        _turn: &Turn<'_>,
    ) -> Result<Decision, JourneyError> {
        if let (Some(user_id), Some(device)) = (&state.user_id, &state.device) {
            devices::remember(&engine.ctx, user_id, device)?;
        }
        Ok(Decision::Outcome("success"))
    }
}
