//! A password reset that an administrator sends: a mail to the user's
//! address with a link to the `reset_password` journey, the username filled
//! in. The journey proves the address again with a code of its own before a
//! new password is chosen, so the mail carries no secret: one that goes
//! astray lets nobody in, and the journey's throttles and audit apply.

use super::Engine;
use crate::audit::{self, Caller, Event, Party};
use crate::mail::{Address, Message};
use crate::store::{StoreError, User};

/// The journey the link starts.
const JOURNEY: &str = "reset_password";

/// Why no reset was sent.
#[derive(Debug, thiserror::Error)]
pub enum ResetLinkError {
    #[error("no user with the id `{0}`")]
    NoSuchId(String),
    #[error("the user `{0}` has no email address to send a reset to: set one first")]
    NoEmail(String),
    #[error("the user `{0}` is disabled: enable the account first")]
    Disabled(String),
    /// Its password is the config file's, which the next start restores.
    #[error("the user `{0}` is declared in the config file, which manages it")]
    ManagedByConfig(String),
    #[error("there is no `reset_password` journey to send the user to")]
    NoJourney,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `{issuer}/reset-password`, where a user starts resetting their password,
/// with `username` filled in when given.
pub fn reset_page(issuer: &str, username: Option<&str>) -> String {
    let page = format!("{issuer}/reset-password");
    match username {
        Some(username) => {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("login_hint", username)
                .finish();
            format!("{page}?{query}")
        }
        None => page,
    }
}

impl Engine {
    /// Mails the user `user_id` a link to reset their password, for `by`,
    /// and records it (`admin.user.password.reset_link`).
    pub fn send_reset_link(&self, user_id: &str, by: &Caller) -> Result<User, ResetLinkError> {
        if self.registry().get(JOURNEY).is_err() {
            return Err(ResetLinkError::NoJourney);
        }
        let user = self
            .accounts
            .get(user_id)?
            .ok_or_else(|| ResetLinkError::NoSuchId(user_id.to_owned()))?;
        if user.managed_by_config {
            return Err(ResetLinkError::ManagedByConfig(user.username));
        }
        if user.disabled {
            return Err(ResetLinkError::Disabled(user.username));
        }
        let Some(to) = user.email.as_deref().and_then(Address::parse) else {
            return Err(ResetLinkError::NoEmail(user.username));
        };
        // Recorded before it goes: a mail that leaves is always on record.
        let event = Event::admin("user.password.reset_link", by, Party::user(&user.username));
        audit::record_alone(&self.ctx, event)?;
        let issuer = &self.ctx.issuer;
        self.mailer.send(Message {
            kind: "password reset link",
            to,
            subject: "Choose a new password".into(),
            // Short lines: mail keeps them as written (longer ones are
            // re-encoded, links included).
            body: format!(
                "An administrator asks you to choose a new password\n\
                 for your account {} at {issuer}.\n\n\
                 Start here:\n{}\n\n\
                 You will get a one-time code at this address to prove\n\
                 it is yours. Your current password keeps working until\n\
                 you choose a new one.\n",
                user.username,
                reset_page(issuer, Some(&user.username)),
            ),
        });
        Ok(user)
    }
}
