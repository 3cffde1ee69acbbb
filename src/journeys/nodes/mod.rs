//! Node types. A node names its step and outcomes, says what the step shows
//! ([`Prompt`]), and given the input decides ([`Decision`]). Adding a node
//! type means adding a file here and a line in [`build`]; the engine and
//! both renderings (HTML and REST) stay as they are.

mod device_profile;
mod identify;
mod one_time_code;
mod passkey;
mod prompt;
mod push_approval;
mod recovery_code;
mod register;
mod remember_device;
mod set_password;
mod totp;
mod totp_enroll;
mod username_password;

pub use device_profile::DeviceProfile;
pub use identify::Identify;
pub use one_time_code::OneTimeCode;
pub use passkey::PasskeyStep;
pub use prompt::{Action, Display, Field, FieldKind, Input, Prompt};
pub use push_approval::PushApproval;
pub use recovery_code::RecoveryCode;
pub use register::{Register, taken_message};
pub use remember_device::RememberDevice;
pub use set_password::SetPassword;
pub use totp::TotpCode;
pub use totp_enroll::TotpEnroll;
pub use username_password::UsernamePassword;

use super::{Client, JourneyError};
use crate::journeys::Engine;
use crate::secret::{Token, constant_time_eq};
use crate::store::JourneyState;
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// A node of a journey graph.
pub trait Node: Send + Sync {
    /// The step's name, as the REST API reports it (`credentials`).
    fn step(&self) -> &'static str;
    /// Every outcome the node can leave by.
    fn outcomes(&self) -> &'static [&'static str];
    /// Runs when the journey arrives at the node, before its step is shown:
    /// send a code, open a push request, make an enrollment secret…
    fn enter(
        &self,
        _engine: &Engine,
        _state: &mut JourneyState,
        _turn: &Turn<'_>,
    ) -> Result<(), JourneyError> {
        Ok(())
    }
    /// What the step shows. A prompt with no fields, no actions and no
    /// polling means the node needs no input and runs as soon as the
    /// journey arrives.
    fn prompt(&self, engine: &Engine, state: &JourneyState) -> Prompt;
    /// Whether the answer a polling step ([`Prompt::poll`]) waits for has
    /// arrived, so that submitting the step now moves on. Only reads.
    fn answered(&self, _engine: &Engine, _state: &JourneyState) -> Result<bool, JourneyError> {
        Ok(false)
    }
    /// Decides from the input. Errors are for input that cannot be read;
    /// a wrong answer is a [`Decision`].
    fn run(
        &self,
        engine: &Engine,
        state: &mut JourneyState,
        input: &Input,
        turn: &Turn<'_>,
    ) -> Result<Decision, JourneyError>;
}

/// The request a node runs in: who is asking, and the journey's secret.
pub struct Turn<'a> {
    pub client: &'a Client,
    /// The journey's `auth_id`. The store keeps only its hash, so a value
    /// keyed with it (see [`Turn::keyed_hash`]) cannot be brute-forced from
    /// a stolen store file even when the value itself is short.
    pub auth_id: &'a Token,
}

impl Turn<'_> {
    /// HMAC-SHA256 (RFC 2104) of `value` for a purpose, keyed with the
    /// journey's secret: a MAC, where a hash of key and value concatenated
    /// is open to length extension and has no proof of security as one.
    pub fn keyed_hash(&self, purpose: &str, value: &str) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, self.auth_id.expose().as_bytes());
        let mut mac = hmac::Context::with_key(&key);
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.sign())
    }

    /// Whether `value` hashes to `expected`, compared in constant time.
    pub fn matches(&self, purpose: &str, value: &str, expected: &str) -> bool {
        constant_time_eq(
            self.keyed_hash(purpose, value).as_bytes(),
            expected.as_bytes(),
        )
    }
}

/// What a node decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Leave by this outcome.
    Outcome(&'static str),
    /// Show the step again with a message; counts as a failed attempt, and
    /// the node leaves by `failure` once its attempts run out.
    Retry(String),
    /// Show the step again (a resend, a request not answered yet); not an
    /// attempt.
    Wait(Option<String>),
}

/// Records a completed authentication method (RFC 8176), once.
pub fn add_method(state: &mut JourneyState, method: &str) {
    if !state.amr.iter().any(|m| m == method) {
        state.amr.push(method.to_owned());
    }
}

/// The user identified so far, for nodes that only work for one (a second
/// factor, a device check); a journey that reaches them without one is
/// declared in the wrong order.
pub fn identified_user(state: &JourneyState) -> Result<String, JourneyError> {
    state.user_id.clone().ok_or_else(|| {
        tracing::warn!(
            node = %state.node,
            "journey misconfigured: a node that needs the user runs before one identifies them"
        );
        JourneyError::Failed {
            message: "This sign-in is not set up correctly. Contact your administrator.".into(),
        }
    })
}

/// "Try again in N minutes." for a lock that ends at `until`.
pub fn try_again_in(until: time::OffsetDateTime, now: time::OffsetDateTime) -> String {
    let minutes = ((until - now).whole_seconds() + 59) / 60;
    format!(
        "Try again in {minutes} minute{}.",
        if minutes == 1 { "" } else { "s" }
    )
}

/// A node's working data in the journey state.
pub fn data<T: DeserializeOwned>(state: &JourneyState) -> Option<T> {
    state
        .data
        .get(&state.node)
        .and_then(|value| serde_json::from_value(value.clone()).ok())
}

/// Stores a node's working data in the journey state.
pub fn set_data<T: Serialize>(state: &mut JourneyState, value: &T) {
    if let Ok(value) = serde_json::to_value(value) {
        state.data.insert(state.node.clone(), value);
    }
}

/// Options of a node declared in config, besides `type`, `next` and
/// `max_attempts`.
pub type Options = BTreeMap<String, serde_json::Value>;

/// Reads a node's options by name and type; [`OptionReader::finish`]
/// refuses any it did not read, so a typo is a config error.
pub struct OptionReader<'a> {
    kind: &'a str,
    options: BTreeMap<&'a str, &'a serde_json::Value>,
}

impl<'a> OptionReader<'a> {
    pub fn new(kind: &'a str, options: &'a Options) -> Self {
        Self {
            kind,
            options: options.iter().map(|(k, v)| (k.as_str(), v)).collect(),
        }
    }

    /// The option's value, or `default` when it is absent.
    pub fn get<T: DeserializeOwned>(&mut self, name: &str, default: T) -> Result<T, String> {
        match self.options.remove(name) {
            None => Ok(default),
            Some(value) => serde_json::from_value(value.clone())
                .map_err(|err| format!("option `{name}`: {err}")),
        }
    }

    /// Refuses options no one read.
    pub fn finish(self) -> Result<(), String> {
        match self.options.keys().next() {
            Some(unknown) => Err(format!("`{}` nodes have no option `{unknown}`", self.kind)),
            None => Ok(()),
        }
    }
}

/// Builds a node of the named type, or says why it cannot.
pub fn build(kind: &str, options: &Options) -> Result<Box<dyn Node>, String> {
    let mut reader = OptionReader::new(kind, options);
    let node: Box<dyn Node> = match kind {
        "username_password" => Box::new(UsernamePassword),
        "register" => Box::new(Register::from_options(&mut reader)?),
        "one_time_code" => Box::new(OneTimeCode::from_options(&mut reader)?),
        "identify" => Box::new(Identify),
        "set_password" => Box::new(SetPassword),
        "push_approval" => Box::new(PushApproval::from_options(&mut reader)?),
        "device_profile" => Box::new(DeviceProfile),
        "remember_device" => Box::new(RememberDevice),
        "totp" => Box::new(TotpCode),
        "totp_enroll" => Box::new(TotpEnroll::from_options(&mut reader)?),
        "recovery_code" => Box::new(RecoveryCode),
        "passkey" => Box::new(PasskeyStep),
        other => {
            return Err(format!(
                "unknown node type `{other}`; known types: {}",
                TYPES.join(", ")
            ));
        }
    };
    reader.finish()?;
    Ok(node)
}

/// Every node type, for error messages.
const TYPES: &[&str] = &[
    "username_password",
    "register",
    "one_time_code",
    "identify",
    "set_password",
    "push_approval",
    "device_profile",
    "remember_device",
    "totp",
    "totp_enroll",
    "recovery_code",
    "passkey",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_hashes_are_hmac_sha256_under_the_journey_secret() {
        let client = Client {
            user_agent: None,
            accept_language: None,
            ip: None,
            session: None,
        };
        let auth_id = Token::from_presented("journey-secret");
        let turn = Turn {
            client: &client,
            auth_id: &auth_id,
        };
        // Computed apart from this code: Python's
        // hmac.new(b"journey-secret", b"one_time_code\0123456", sha256).
        let expected = "c9KJJJctPHFfrYI3PpjdncIC2v_PUdJn42RV87f81LE";
        assert_eq!(turn.keyed_hash("one_time_code", "123456"), expected);
        assert!(turn.matches("one_time_code", "123456", expected));
        assert!(!turn.matches("one_time_code", "123457", expected));
        assert!(!turn.matches("another_purpose", "123456", expected));
    }
}
