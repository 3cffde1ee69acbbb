//! What a step shows (fields, actions, information) and what comes back
//! (the submitted values): the same for the HTML form and the REST journey.

use super::JourneyError;
use crate::secret::SecretString;
use serde::Serialize;
use std::collections::BTreeMap;

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
    /// What a client needs to produce the value: for a `webauthn` field,
    /// `{"publicKey": PublicKeyCredentialRequestOptions}` (W3C WebAuthn,
    /// binary members base64url) for `navigator.credentials.get`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<serde_json::Value>,
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
            options: None,
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
    /// The answer of a WebAuthn authenticator (a `PublicKeyCredential` as
    /// JSON), which a script obtains with the field's `options`.
    Webauthn,
}

impl FieldKind {
    /// The HTML input type.
    pub fn input_type(self) -> &'static str {
        match self {
            FieldKind::Text | FieldKind::Code => "text",
            FieldKind::Password => "password",
            FieldKind::Email => "email",
            FieldKind::Checkbox => "checkbox",
            FieldKind::Hidden | FieldKind::Webauthn => "hidden",
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
    /// The number to pick on the device that approves a push request.
    MatchNumber { number: u8 },
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
