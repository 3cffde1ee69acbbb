//! `register`: a new account's username, email, password, optional display
//! name and, when configured, acceptance of the terms. The account is only
//! created when the journey succeeds (usually after `one_time_code` has
//! verified the address). Outcomes: `success`, `failure`.
//!
//! A taken username is said plainly (usernames are public). A taken email
//! is not: the journey goes on as usual and the verification mail tells the
//! address's owner that they already have an account, so registration
//! reveals nothing about who has one.

use super::{Decision, Field, FieldKind, Input, Node, OptionReader, Prompt, Turn, add_method};
use crate::accounts::{Username, policy};
use crate::context::Context;
use crate::journeys::JourneyError;
use crate::mail::Address;
use crate::store::{JourneyState, PendingUser, users};

/// The registration step.
pub struct Register {
    terms: Option<Field>,
}

impl Register {
    /// Options: `terms_text` and `terms_url` (either makes acceptance required).
    pub fn from_options(options: &mut OptionReader<'_>) -> Result<Self, String> {
        let text: Option<String> = options.get("terms_text", None)?;
        let url: Option<String> = options.get("terms_url", None)?;
        let terms = (text.is_some() || url.is_some()).then(|| Field {
            link: url,
            ..Field::new(
                "accept_terms",
                FieldKind::Checkbox,
                text.as_deref().unwrap_or("I accept the terms of service"),
                "off",
            )
        });
        Ok(Self { terms })
    }

    fn fields(&self) -> Vec<Field> {
        let mut fields = vec![
            Field::new("username", FieldKind::Text, "Username", "username"),
            Field::new("email", FieldKind::Email, "Email", "email"),
            Field::new("password", FieldKind::Password, "Password", "new-password"),
            Field::new("name", FieldKind::Text, "Display name", "name").optional(),
        ];
        fields.extend(self.terms.clone());
        fields
    }
}

impl Node for Register {
    fn step(&self) -> &'static str {
        "register"
    }

    fn outcomes(&self) -> &'static [&'static str] {
        &["success", "failure"]
    }

    fn prompt(&self, _ctx: &Context, _state: &JourneyState) -> Prompt {
        Prompt {
            submit: Some("Create account".into()),
            ..Prompt::fields(&self.fields())
        }
    }

    fn run(
        &self,
        ctx: &Context,
        state: &mut JourneyState,
        input: &Input,
        _turn: &Turn<'_>,
    ) -> Result<Decision, JourneyError> {
        let fields = self.fields();
        let username = input.require(&fields[0])?;
        let email = input.require(&fields[1])?.expose().trim().to_owned();
        let password = input.require(&fields[2])?;
        let name = input
            .optional(&fields[3])?
            .map(|n| n.expose().trim().to_owned());
        let username = match Username::parse(username.expose()) {
            Ok(username) => username,
            Err(err) => {
                return Ok(Decision::Retry(format!(
                    "The username {}.",
                    err.to_string().trim_start_matches("invalid username: ")
                )));
            }
        };
        let Some(email) = Address::parse(&email) else {
            return Ok(Decision::Retry(
                "Enter a valid email address, such as name@example.com.".into(),
            ));
        };
        let email = email.as_str().to_owned();
        if let Some(terms) = &self.terms
            && input.optional(terms)?.is_none()
        {
            return Ok(Decision::Retry(
                "Accept the terms to create an account.".into(),
            ));
        }
        if let Some(refusal) = policy::refusal(
            password.expose(),
            Some(&username),
            ctx.settings.passwords.min_length,
        ) {
            return Ok(Decision::Retry(refusal));
        }
        let taken = ctx
            .store
            .read(|tx| users::get_by_username(tx, username.normalized()))?
            .is_some();
        if taken {
            return Ok(Decision::Retry(format!(
                "The username “{}” is taken. Choose another.",
                username.as_str()
            )));
        }
        let password_hash = ctx
            .passwords
            .hash(password)
            .map_err(crate::accounts::AccountError::from)?;
        state.pending_user = Some(PendingUser {
            username: username.as_str().to_owned(),
            email,
            name: name.filter(|n| !n.is_empty()),
            password_hash,
            email_verified: false,
        });
        add_method(state, "pwd");
        Ok(Decision::Outcome("success"))
    }
}
