//! `device_profile`: reads the device's characteristics (user agent and
//! Accept-Language from the request; screen, time zone and platform from
//! hidden fields that the page's script fills, or from a native app's
//! input of the same names, all optional), fingerprints them (see
//! [`crate::journeys::devices`]) and compares with the devices the user
//! remembered. Needs an identified user. The profile stays in the journey
//! for `remember_device`. Outcomes: `known_device`, `new_device`.

use super::{Decision, Display, Field, FieldKind, Input, Node, Prompt, Turn, identified_user};
use crate::journeys::Engine;
use crate::journeys::JourneyError;
use crate::journeys::devices::{self, Characteristics};
use crate::store::{JourneyState, ProfiledDevice};

/// The device profile step.
pub struct DeviceProfile;

fn fields() -> [Field; 3] {
    [
        Field::new("screen", FieldKind::Hidden, "Screen", "off").optional(),
        Field::new("timezone", FieldKind::Hidden, "Time zone", "off").optional(),
        Field::new("platform", FieldKind::Hidden, "Platform", "off").optional(),
    ]
}

impl Node for DeviceProfile {
    fn step(&self) -> &'static str {
        "device_profile"
    }

    fn outcomes(&self) -> &'static [&'static str] {
        &["known_device", "new_device"]
    }

    fn prompt(&self, _engine: &Engine, _state: &JourneyState) -> Prompt {
        Prompt {
            display: vec![Display::Text {
                text: "Checking whether you have signed in from this device before.".into(),
            }],
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
        let user_id = identified_user(state)?;
        let [screen, timezone, platform] = fields();
        let value = |field: &Field| -> Result<Option<&str>, JourneyError> {
            Ok(input.optional(field)?.map(|value| value.expose()))
        };
        let client = turn.client;
        let characteristics = Characteristics {
            user_agent: client.user_agent.as_deref(),
            accept_language: client.accept_language.as_deref(),
            screen: value(&screen)?,
            timezone: value(&timezone)?,
            platform: value(&platform)?,
        };
        let fingerprint = devices::fingerprint(&characteristics);
        let known = devices::recognise(&engine.ctx, &user_id, &fingerprint)?;
        state.device = Some(ProfiledDevice {
            fingerprint,
            label: devices::label(client.user_agent.as_deref()),
        });
        Ok(Decision::Outcome(if known {
            "known_device"
        } else {
            "new_device"
        }))
    }
}
