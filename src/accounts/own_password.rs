//! A signed-in user changes their own password (on /account).
//!
//! They prove it is them with their current password, checked as a sign-in
//! is (a wrong one counts against the username's and the address's lockout
//! and is audited as a failed `login`, so the page cannot be used to guess
//! without limit), or with a session that authenticated recently: signed in
//! or stepped up (a step-up journey renews `auth_time`) within
//! `[admin] reauth_secs`, the freshness the admin pages already ask of
//! their most sensitive actions. The change is audited as
//! `password.change`, and the user is told by mail when they have an
//! address.

use super::{AccountError, Accounts, LoginError, PasswordSet, Username};
use crate::audit;
use crate::config::seconds;
use crate::mail::{Address, Mailer, Message};
use crate::secret::{SecretString, TokenHash};
use crate::store::{Session, StoreError, User};
use time::OffsetDateTime;
use time::macros::format_description;

/// A password change asked for by the holder of `session`.
pub struct OwnPasswordChange<'a> {
    pub user: &'a User,
    pub session: &'a Session,
    /// The hash of the session's token: that session stays.
    pub session_hash: &'a TokenHash,
    /// The current password; empty or `None` relies on a recent sign-in.
    pub current: Option<&'a SecretString>,
    pub new: &'a SecretString,
    /// The new password typed again.
    pub confirm: &'a SecretString,
    /// Whether the user's other sessions end.
    pub end_other_sessions: bool,
    /// The client's address, for the lockout, the audit log and the notice.
    pub address: Option<&'a str>,
}

/// Why a password change was refused.
#[derive(Debug, thiserror::Error)]
pub enum PasswordChangeError {
    #[error("the two new passwords differ")]
    Mismatch,
    /// The password policy's refusal, in words for the user.
    #[error("{0}")]
    Weak(String),
    /// No current password, and the session authenticated too long ago.
    #[error(
        "the current password is needed: the session signed in more than {max_age_secs} seconds ago"
    )]
    ProofRequired { max_age_secs: u64 },
    #[error("the current password is wrong")]
    WrongPassword,
    /// Too many wrong passwords for the username or from the address.
    #[error("too many failed attempts; locked until {0}")]
    Locked(OffsetDateTime),
    /// A `[[users]]` entry sets the password, which the next start restores.
    #[error("the account is declared in the config file, which sets its password")]
    ManagedByConfig,
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Accounts {
    /// Changes a signed-in user's password (see the module documentation),
    /// then mails them a notice through `mailer` if they have an address.
    pub fn change_own_password(
        &self,
        change: &OwnPasswordChange<'_>,
        mailer: &Mailer,
    ) -> Result<(), PasswordChangeError> {
        let user = change.user;
        if user.managed_by_config {
            return Err(PasswordChangeError::ManagedByConfig);
        }
        if change.new != change.confirm {
            return Err(PasswordChangeError::Mismatch);
        }
        let username = Username::parse(&user.username).map_err(AccountError::from)?;
        let min_length = self.ctx.settings.passwords.min_length;
        if let Some(refusal) =
            super::policy::refusal(change.new.expose(), Some(&username), min_length)
        {
            return Err(PasswordChangeError::Weak(refusal));
        }
        let proof = self.proof(change)?;
        let how = PasswordSet {
            kind: audit::Kind::PasswordChange,
            keep: Some(change.session_hash),
            end_other_sessions: change.end_other_sessions,
            address: change.address,
            proof: Some(proof),
        };
        let user = self.set_password(&user.id, change.new, &how)?;
        if let Some(to) = user.email.as_deref().and_then(Address::parse) {
            mailer.send(self.change_notice(&user, to, change.address));
        }
        Ok(())
    }

    /// How the user proves it is them: the current password when typed
    /// (a wrong one is refused even on a fresh session), else a recent
    /// authentication of the session.
    fn proof(&self, change: &OwnPasswordChange<'_>) -> Result<&'static str, PasswordChangeError> {
        match change
            .current
            .filter(|current| !current.expose().is_empty())
        {
            Some(current) => {
                let username = &change.user.username;
                match self.authenticate(username, current, change.address) {
                    Ok(found) if found.id == change.user.id => Ok("password"),
                    Ok(_) | Err(LoginError::InvalidCredentials | LoginError::Disabled) => {
                        Err(PasswordChangeError::WrongPassword)
                    }
                    Err(LoginError::Locked(until) | LoginError::AddressLocked(until)) => {
                        Err(PasswordChangeError::Locked(until))
                    }
                    Err(LoginError::Store(err)) => Err(err.into()),
                }
            }
            None => {
                let max_age_secs = self.ctx.settings.admin.reauth_secs;
                let fresh = change
                    .session
                    .authenticated_within(seconds(max_age_secs), self.ctx.now());
                match fresh {
                    true => Ok("recent_sign_in"),
                    false => Err(PasswordChangeError::ProofRequired { max_age_secs }),
                }
            }
        }
    }

    /// The mail that tells a user their password was changed: when and
    /// from which address, and what to do if it was not them. No secret.
    fn change_notice(&self, user: &User, to: Address, address: Option<&str>) -> Message {
        let issuer = &self.ctx.issuer;
        let when = self
            .ctx
            .now()
            .format(format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            ))
            .unwrap_or_default();
        let from = address.unwrap_or("an unknown address");
        Message {
            kind: "password change notice",
            to,
            subject: "Your password was changed".into(),
            // Short lines: mail keeps them as written.
            body: format!(
                "The password of your account {} at {issuer}\n\
                 was changed on {when},\n\
                 from the address {from}.\n\n\
                 If this was you, there is nothing to do.\n\
                 If it was not, reset your password from the sign-in page,\n\
                 {issuer}/login, and tell whoever runs this server.\n",
                user.username,
            ),
        }
    }
}
