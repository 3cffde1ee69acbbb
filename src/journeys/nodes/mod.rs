//! Node types. A node names its step and outcomes, says what the step shows
//! ([`Prompt`]), and given the input decides ([`Decision`]). Adding a node
//! type means adding a file here and a line in [`build`]; the engine and
//! both renderings (HTML and REST) stay as they are.

mod device_profile;
mod identify;
mod one_time_code;
mod push_approval;
mod register;
mod remember_device;
mod set_password;
mod totp;
mod totp_enroll;
mod username_password;

pub use device_profile::DeviceProfile;
pub use identify::Identify;
pub use one_time_code::OneTimeCode;
pub use push_approval::PushApproval;
pub use register::{Register, taken_message};
pub use remember_device::RememberDevice;
pub use set_password::SetPassword;
pub use totp::TotpCode;
pub use totp_enroll::TotpEnroll;
pub use username_password::UsernamePassword;

use super::{Client, JourneyError};
use crate::context::Context;
use crate::secret::{SecretString, Token, constant_time_eq};
use crate::store::JourneyState;
use aws_lc_rs::hmac;
use base64::Engine;
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
        _ctx: &Context,
        _state: &mut JourneyState,
        _turn: &Turn<'_>,
    ) -> Result<(), JourneyError> {
        Ok(())
    }
    /// What the step shows. A prompt with no fields, no actions and no
    /// polling means the node needs no input and runs as soon as the
    /// journey arrives.
    fn prompt(&self, ctx: &Context, state: &JourneyState) -> Prompt;
    /// Whether the answer a polling step ([`Prompt::poll`]) waits for has
    /// arrived, so that submitting the step now moves on. Only reads.
    fn answered(&self, _ctx: &Context, _state: &JourneyState) -> Result<bool, JourneyError> {
        Ok(false)
    }
    /// Decides from the input. Errors are for input that cannot be read;
    /// a wrong answer is a [`Decision`].
    fn run(
        &self,
        ctx: &Context,
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

/// What a step shows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Prompt {
    pub fields: Vec<Field>,
    /// Buttons besides the main one: submitted as the field `action`.
    pub actions: Vec<Action>,
    /// Information to show above the fields.
    pub display: Vec<Display>,
    /// The main button's words in HTML; "Continue" when `None`.
    #[serde(skip)]
    pub submit: Option<String>,
    /// Whether the answer arrives from elsewhere (a push approval): the
    /// page checks back by itself, and REST clients poll.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub poll: bool,
}

impl Prompt {
    /// A prompt of fields only.
    pub fn fields(fields: &[Field]) -> Self {
        Self {
            fields: fields.to_vec(),
            ..Self::default()
        }
    }

    /// Whether the node waits for the user at all: for input, or for an
    /// answer from elsewhere.
    pub fn waits(&self) -> bool {
        !self.fields.is_empty() || !self.actions.is_empty() || self.poll
    }
}

/// A field a node asks for. `name` is the form input's name and the REST
/// input's key alike.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub kind: FieldKind,
    pub label: String,
    /// Whether the step can be submitted without it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
    /// A link the label refers to (the terms of a checkbox).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The HTML `autocomplete` token, so password managers fill it.
    #[serde(skip)]
    pub autocomplete: &'static str,
}

impl Field {
    /// A required field.
    pub fn new(
        name: &'static str,
        kind: FieldKind,
        label: &str,
        autocomplete: &'static str,
    ) -> Self {
        Self {
            name,
            kind,
            label: label.to_owned(),
            optional: false,
            link: None,
            autocomplete,
        }
    }

    /// The same field, optional.
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
}

/// How a field is entered.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Password,
    Email,
    /// A short numeric code (one-time or TOTP).
    Code,
    /// A yes/no acceptance; any non-empty value is yes.
    Checkbox,
    /// Filled by a script on the page (device characteristics).
    Hidden,
}

impl FieldKind {
    /// The HTML input type.
    pub fn input_type(self) -> &'static str {
        match self {
            FieldKind::Text | FieldKind::Code => "text",
            FieldKind::Password => "password",
            FieldKind::Email => "email",
            FieldKind::Checkbox => "checkbox",
            FieldKind::Hidden => "hidden",
        }
    }

    /// Whether a value may be shown back in the form.
    pub fn echoes(self) -> bool {
        matches!(self, FieldKind::Text | FieldKind::Email)
    }
}

/// A secondary button, such as "Send a new code".
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Action {
    /// The value of the `action` field when this button is used.
    pub name: &'static str,
    pub label: String,
}

/// Something a step shows besides its fields.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Display {
    /// A sentence for the user.
    Text { text: String },
    /// A QR code (server-rendered SVG) with the text it encodes and the
    /// secret for manual entry.
    QrCode {
        svg: String,
        uri: String,
        secret: String,
    },
}

/// Longest value accepted for one field.
const MAX_FIELD_LEN: usize = 4096;

/// The values submitted for a step, by field name.
#[derive(Debug, Default, Clone)]
pub struct Input(BTreeMap<String, SecretString>);

impl Input {
    /// Wraps submitted values; every value is treated as a secret so that
    /// none is ever logged.
    pub fn new(values: BTreeMap<String, String>) -> Self {
        Self(
            values
                .into_iter()
                .map(|(name, value)| (name, SecretString::new(value)))
                .collect(),
        )
    }

    /// A field's value; a missing, empty or oversized one is an input error
    /// that names the field.
    pub fn require(&self, field: &Field) -> Result<&SecretString, JourneyError> {
        self.optional(field)?.ok_or_else(|| {
            JourneyError::InvalidInput(format!(
                "{} is required (field `{}`)",
                field.label, field.name
            ))
        })
    }

    /// A field's value if given (empty counts as not given).
    pub fn optional(&self, field: &Field) -> Result<Option<&SecretString>, JourneyError> {
        match self.0.get(field.name) {
            Some(value) if value.expose().len() > MAX_FIELD_LEN => Err(JourneyError::InvalidInput(
                format!("`{}` is too long", field.name),
            )),
            Some(value) if !value.expose().trim().is_empty() => Ok(Some(value)),
            _ => Ok(None),
        }
    }

    /// The secondary action chosen, if any.
    pub fn action(&self) -> Option<&str> {
        self.0.get("action").map(|value| value.expose())
    }
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
