//! Node types. A node names the step it shows, the fields it asks for and
//! the outcomes it can leave by; given the input, it decides one outcome.
//! Adding a node type means adding a file here and naming it in `Journey`
//! definitions; the engine and both renderings stay as they are.

mod username_password;

pub use username_password::UsernamePassword;

use super::JourneyError;
use crate::context::Context;
use crate::secret::SecretString;
use crate::store::JourneyState;
use serde::Serialize;
use std::collections::BTreeMap;

/// A node of a journey graph.
pub trait Node: Send + Sync {
    /// The step's name, as the REST API reports it (`credentials`).
    fn step(&self) -> &'static str;
    /// The fields the node asks for; none means it runs without input.
    fn fields(&self) -> &'static [Field];
    /// Every outcome the node can leave by.
    fn outcomes(&self) -> &'static [&'static str];
    /// Decides the outcome from the input. It may record what it learned in
    /// `state` (the user, methods completed, a message for the user).
    /// Errors are for input it cannot read; a decision is an outcome.
    fn run(
        &self,
        ctx: &Context,
        state: &mut JourneyState,
        input: &Input,
    ) -> Result<&'static str, JourneyError>;
}

/// A field a node asks for. `name` is the form input's name and the REST
/// input's key alike.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub kind: FieldKind,
    pub label: &'static str,
    /// The HTML `autocomplete` token, so password managers fill it.
    #[serde(skip)]
    pub autocomplete: &'static str,
}

/// How a field is entered.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Password,
}

impl FieldKind {
    /// The HTML input type.
    pub fn input_type(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Password => "password",
        }
    }
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
        match self.0.get(field.name) {
            Some(value) if value.expose().len() > MAX_FIELD_LEN => Err(JourneyError::InvalidInput(
                format!("`{}` is too long", field.name),
            )),
            Some(value) if !value.expose().trim().is_empty() => Ok(value),
            _ => Err(JourneyError::InvalidInput(format!(
                "{} is required (field `{}`)",
                field.label, field.name
            ))),
        }
    }
}
