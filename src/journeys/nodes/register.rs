//! `register`: a new account's username, email, password, optional display
//! name and, when configured, acceptance of the terms. The account is only
//! created when the journey succeeds (usually after `one_time_code` has
//! verified the address). Outcomes: `success`, `failure`.
//!
//! Registration reveals nothing about who has an account (README, "Security
//! notes"). A taken email is not said: the journey goes on as usual and the
//! verification mail tells the address's owner that they already have an
//! account. A taken username is not said either until the journey is about
//! to create the account, that is after the address is proven: before that,
//! a taken and a free name get the same step, message and work (the
//! password is hashed in both cases, and nothing looks the name up). When
//! the name then turns out to be taken, the engine comes back here and this
//! step asks for another name only, keeping the proven address and the
//! chosen password. That is what a careful provider does: someone who has
//! proven an address they control may learn that a name is in use (they
//! could not get it anyway), but a prober must first spend a mailbox and a
//! code, and each further name tried after that counts as a registration
//! attempt, throttled per address, instead of reading the answer off the
//! first response.
//!
//! A journey without an email proof (`register` straight to `success`)
//! cannot keep the secret: creating the account is the answer. It is as
//! discreet as it can be: the same step and timing for both until the end,
//! the answer only as the account would be created (a free name ends in a
//! new account the prober now owns), and the per-address throttle. Prefer a
//! `one_time_code` step after `register`.
//!
//! Every submission counts against `lockout.max_registrations_per_address`
//! for the client's address, before any work is done.

use super::{Decision, Field, FieldKind, Input, Node, OptionReader, Prompt, Turn, add_method};
use crate::accounts::{Username, lockout, policy};
use crate::journeys::Engine;
use crate::journeys::JourneyError;
use crate::mail::Address;
use crate::store::{JourneyState, PendingUser};

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

    fn prompt(&self, _engine: &Engine, state: &JourneyState) -> Prompt {
        let fields = if renaming(state) {
            vec![self.fields().swap_remove(0)]
        } else {
            self.fields()
        };
        Prompt {
            submit: Some("Create account".into()),
            ..Prompt::fields(&fields)
        }
    }

    fn run(
        &self,
        engine: &Engine,
        state: &mut JourneyState,
        input: &Input,
        turn: &Turn<'_>,
    ) -> Result<Decision, JourneyError> {
        count_attempt(engine, turn)?;
        if renaming(state) {
            return rename(engine, state, input, &self.fields()[0]);
        }
        let fields = self.fields();
        let username = input.require(&fields[0])?;
        let email = input.require(&fields[1])?.expose().trim().to_owned();
        let password = input.require(&fields[2])?;
        let name = input
            .optional(&fields[3])?
            .map(|n| n.expose().trim().to_owned());
        let username = match Username::parse(username.expose()) {
            Ok(username) => username,
            Err(err) => return Ok(Decision::Retry(format!("The username {err}."))),
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
            engine.ctx.settings.passwords.min_length,
        ) {
            return Ok(Decision::Retry(refusal));
        }
        // No lookup of the username here: see the module documentation.
        let password_hash = engine
            .accounts
            .passwords()
            .hash(password)
            .map_err(crate::accounts::AccountError::from)?;
        state.pending_user = Some(PendingUser {
            username: username.as_str().to_owned(),
            email,
            name: name.filter(|n| !n.is_empty()),
            password_hash,
            email_verified: false,
            from_node: state.node.clone(),
            username_taken: false,
        });
        add_method(state, "pwd");
        Ok(Decision::Outcome("success"))
    }
}

/// Whether the journey came back because the chosen username was taken.
fn renaming(state: &JourneyState) -> bool {
    state
        .pending_user
        .as_ref()
        .is_some_and(|pending| pending.username_taken)
}

/// Counts a registration attempt from the client's address before any
/// work; past the limit the step is refused until the lock ends.
fn count_attempt(engine: &Engine, turn: &Turn<'_>) -> Result<(), JourneyError> {
    let Some(ip) = turn.client.ip.as_deref() else {
        return Ok(());
    };
    let max = engine.ctx.settings.lockout.max_registrations_per_address;
    match engine
        .accounts
        .count_attempt(&lockout::registration_key(ip), max)?
    {
        Some(until) => Err(JourneyError::Throttled {
            retry_after_secs: lockout::retry_after_secs(until, engine.ctx.now()),
        }),
        None => Ok(()),
    }
}

/// Another username for a registration whose first choice was taken by the
/// time the account was to be created. Its address is proven by now (in a
/// journey that proves one), so saying that a name is taken reveals nothing
/// to a stranger.
fn rename(
    engine: &Engine,
    state: &mut JourneyState,
    input: &Input,
    field: &Field,
) -> Result<Decision, JourneyError> {
    let username = match Username::parse(input.require(field)?.expose()) {
        Ok(username) => username,
        Err(err) => return Ok(Decision::Retry(format!("The username {err}."))),
    };
    if engine
        .ctx
        .store
        .read(|tx| tx.user_by_username(username.normalized()))?
        .is_some()
    {
        return Ok(Decision::Retry(taken_message(username.as_str())));
    }
    if let Some(pending) = &mut state.pending_user {
        pending.username = username.as_str().to_owned();
        pending.username_taken = false;
    }
    Ok(Decision::Outcome("success"))
}

/// What the user reads when their username is taken.
pub fn taken_message(username: &str) -> String {
    format!("The username “{username}” is taken. Choose another.")
}
