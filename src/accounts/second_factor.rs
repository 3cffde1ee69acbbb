//! A signed-in user manages their own second factor (on /account): adds,
//! replaces or removes their authenticator app, and makes a new set of
//! recovery codes.
//!
//! What proves it is them: for a user with an app, a code from it or an
//! unused recovery code, checked as at sign-in (each accepted once,
//! failures counted against the account's second-factor lockout and
//! audited); for a user without one, a session that authenticated within
//! `[admin] reauth_secs`, as for a password change. Someone holding only a
//! signed-in browser can therefore neither swap in their own app nor read
//! new recovery codes.
//!
//! Adding or replacing takes two requests: the first proves it and gets a
//! new secret with a [`SetupTicket`] (the secret sealed with the user,
//! session and an expiry, carried by the page); the second saves the
//! secret once a code from the new app matches it. Until then the old app
//! keeps working. Removing the app voids the recovery codes too, as
//! `tessera users reset-totp` does: they stand in for the app.

use super::Accounts;
use super::recovery_codes::{self, ShownCode};
use super::totp::{AppSetup, Enrollment, TotpError, TotpSecret, Verdict};
use crate::audit;
use crate::config::seconds;
use crate::secret::SecretString;
use crate::store::{Session, User};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// How long a set-up page may wait for the new app's code: time to find
/// the phone, install an app and scan.
const SETUP_TIME: Duration = Duration::minutes(10);

/// A signed-in user asking for a change to their second factor.
pub struct SecondFactorRequest<'a> {
    pub user: &'a User,
    pub session: &'a Session,
    /// A code from the app or a recovery code, as typed; needed when the
    /// user has an app.
    pub code: Option<&'a SecretString>,
    /// The client's address, for the lockout and the audit log.
    pub address: Option<&'a str>,
}

/// Why a change to the second factor was refused.
#[derive(Debug, thiserror::Error)]
pub enum SecondFactorError {
    /// No app, and the session authenticated too long ago.
    #[error(
        "a recent sign-in is needed: the session signed in more than {max_age_secs} seconds ago"
    )]
    SignInAgain { max_age_secs: u64 },
    /// The user has an app, and no code was given.
    #[error("a code from the authenticator app or a recovery code is needed")]
    CodeRequired,
    #[error("the code is not right")]
    WrongCode,
    #[error("the code was used already")]
    ReplayedCode,
    /// Too many wrong codes: none is checked until then.
    #[error("too many wrong codes; locked until {0}")]
    Locked(OffsetDateTime),
    /// Replacing or removing an app the user does not have.
    #[error("the account has no authenticator app")]
    NoApp,
    /// The set-up page is too old, or not this session's.
    #[error("the set-up has expired")]
    SetupExpired,
    /// The code does not match the new app's secret.
    #[error("the code does not match the new app")]
    NewAppCodeWrong,
    #[error(transparent)]
    Totp(#[from] TotpError),
}

impl From<crate::store::StoreError> for SecondFactorError {
    fn from(err: crate::store::StoreError) -> Self {
        Self::Totp(err.into())
    }
}

/// How the user proved it was them, for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proof {
    Totp,
    RecoveryCode,
    RecentSignIn,
}

impl Proof {
    fn name(self) -> &'static str {
        match self {
            Proof::Totp => "totp",
            Proof::RecoveryCode => recovery_codes::METHOD,
            Proof::RecentSignIn => "recent_sign_in",
        }
    }
}

/// A new app waiting for its first code: what to show, and the ticket the
/// page sends back with that code.
pub struct NewApp {
    pub setup: AppSetup,
    /// Opaque, sealed: only this server can read or make one.
    pub ticket: String,
}

/// What a set-up page carries between its two requests, sealed.
#[derive(Serialize, Deserialize)]
struct SetupTicket {
    user_id: String,
    session_id: String,
    sealed_secret: String,
    /// Whether an app is being replaced (the proof was a code).
    replace: bool,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

/// A code as an app shows it (six digits, spaces allowed) rather than a
/// recovery code.
fn is_app_code(code: &str) -> bool {
    let digits: Vec<char> = code.chars().filter(|c| !c.is_whitespace()).collect();
    digits.len() == usize::from(super::totp::DIGITS) && digits.iter().all(char::is_ascii_digit)
}

impl Accounts {
    /// Checks the proof of `request` in `tx` (see the module documentation).
    /// A refused code is counted in `tx`, which the caller commits.
    fn prove_in(
        &self,
        tx: &dyn crate::store::WriteTx,
        request: &SecondFactorRequest<'_>,
    ) -> Result<Result<Proof, SecondFactorError>, TotpError> {
        let user = &request.user;
        if user.totp.is_none() {
            let max_age_secs = self.ctx.settings.admin.reauth_secs;
            let fresh = request
                .session
                .authenticated_within(seconds(max_age_secs), self.ctx.now());
            return Ok(match fresh {
                true => Ok(Proof::RecentSignIn),
                false => Err(SecondFactorError::SignInAgain { max_age_secs }),
            });
        }
        let Some(code) = request.code.map(SecretString::expose) else {
            return Ok(Err(SecondFactorError::CodeRequired));
        };
        let (verdict, proof) = match is_app_code(code) {
            true => (
                self.verify_in(tx, &user.id, code, request.address)?,
                Proof::Totp,
            ),
            false => (
                self.use_recovery_code_in(tx, &user.id, code, request.address)?,
                Proof::RecoveryCode,
            ),
        };
        Ok(match verdict {
            Verdict::Accepted => Ok(proof),
            // No unused recovery code left: any code typed is a wrong one.
            Verdict::Wrong | Verdict::NotEnrolled => Err(SecondFactorError::WrongCode),
            Verdict::Replayed => Err(SecondFactorError::ReplayedCode),
            Verdict::Locked(until) => Err(SecondFactorError::Locked(until)),
        })
    }

    /// Runs `change` on the user once `request` is proven, in the write that
    /// checks (and, if refused, counts) the proof.
    fn proven<T>(
        &self,
        request: &SecondFactorRequest<'_>,
        change: impl FnOnce(&dyn crate::store::WriteTx, &mut User, Proof) -> Result<T, TotpError>,
    ) -> Result<T, SecondFactorError> {
        self.ctx
            .store
            .write(|tx| {
                let proof = match self.prove_in(tx, request)? {
                    Ok(proof) => proof,
                    // Committed: the failure stays counted.
                    Err(refused) => return Ok(Err(refused)),
                };
                // Read again: accepting the proof may have changed the user.
                let mut user = tx.user(&request.user.id)?.ok_or(TotpError::UnknownUser)?;
                change(tx, &mut user, proof).map(Ok)
            })
            .map_err(SecondFactorError::from)?
    }

    /// Checks `request`'s proof alone, for a change elsewhere that needs the
    /// same (adding or removing a passkey); a refused code stays counted.
    pub fn prove(&self, request: &SecondFactorRequest<'_>) -> Result<(), SecondFactorError> {
        self.proven(request, |_, _, _| Ok(()))
    }

    /// A new secret for the user's app (a first app after a recent sign-in,
    /// a replacement after a code), listed under `issuer`, and the ticket
    /// that lets [`Accounts::confirm_app`] save it.
    pub fn start_app_setup(
        &self,
        request: &SecondFactorRequest<'_>,
        issuer: &str,
    ) -> Result<NewApp, SecondFactorError> {
        let proof = self.proven(request, |_, _, proof| Ok(proof))?;
        let secret = TotpSecret::generate();
        let ticket = SetupTicket {
            user_id: request.user.id.clone(),
            session_id: request.session.id.clone(),
            sealed_secret: secret.seal(&self.ctx.sealer).map_err(TotpError::from)?,
            replace: proof != Proof::RecentSignIn,
            expires_at: self.ctx.now() + SETUP_TIME,
        };
        let json =
            serde_json::to_vec(&ticket).map_err(|_| TotpError::Seal(crate::seal::SealError))?;
        Ok(NewApp {
            setup: secret.setup(issuer, &request.user.username),
            ticket: self.ctx.sealer.seal(&json).map_err(TotpError::from)?,
        })
    }

    /// The ticket's secret, if the ticket is this session's and not too old.
    fn open_ticket(
        &self,
        ticket: &str,
        user: &User,
        session: &Session,
    ) -> Result<(SetupTicket, TotpSecret), SecondFactorError> {
        let ticket: SetupTicket = self
            .ctx
            .sealer
            .open(ticket)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .filter(|t: &SetupTicket| {
                t.user_id == user.id && t.session_id == session.id && t.expires_at > self.ctx.now()
            })
            .ok_or(SecondFactorError::SetupExpired)?;
        let secret =
            TotpSecret::open(&self.ctx.sealer, &ticket.sealed_secret).map_err(TotpError::from)?;
        Ok((ticket, secret))
    }

    /// What the set-up page of `ticket` shows again (after a wrong code).
    pub fn app_setup_of(
        &self,
        ticket: &str,
        user: &User,
        session: &Session,
        issuer: &str,
    ) -> Result<AppSetup, SecondFactorError> {
        let (_, secret) = self.open_ticket(ticket, user, session)?;
        Ok(secret.setup(issuer, &user.username))
    }

    /// Saves the app of `ticket` once `code` comes from it, replacing the
    /// old app only if the ticket was given for a replacement. A user who
    /// has no unused recovery code gets a set with it, returned to be
    /// shown once.
    pub fn confirm_app(
        &self,
        ticket: &str,
        user: &User,
        session: &Session,
        code: &SecretString,
        address: Option<&str>,
    ) -> Result<Option<Vec<ShownCode>>, SecondFactorError> {
        let (ticket, secret) = self.open_ticket(ticket, user, session)?;
        let step = secret
            .matching_step(code.expose(), self.ctx.now())
            .ok_or(SecondFactorError::NewAppCodeWrong)?;
        self.ctx.store.write(|tx| {
            let mut user = tx.user(&user.id)?.ok_or(TotpError::UnknownUser)?;
            let enrolled = self.enroll_in(
                tx,
                &mut user,
                ticket.sealed_secret,
                step,
                ticket.replace,
                address,
            )?;
            if enrolled != Enrollment::Saved {
                // An app was added meanwhile, from another page: this
                // ticket, given for a first app, may not replace it.
                return Err(SecondFactorError::SetupExpired);
            }
            if recovery_codes::unused(&user) > 0 {
                return Ok(None);
            }
            Ok(Some(self.new_recovery_codes_in(
                tx,
                &mut user,
                "totp_enroll",
                address,
            )?))
        })
    }

    /// Removes the user's app and, with it, their recovery codes, once
    /// `request` is proven; audited as `mfa.remove`.
    pub fn remove_app(&self, request: &SecondFactorRequest<'_>) -> Result<(), SecondFactorError> {
        if request.user.totp.is_none() {
            return Err(SecondFactorError::NoApp);
        }
        self.proven(request, |tx, user, proof| {
            let voided = recovery_codes::unused(user);
            user.totp = None;
            user.recovery_codes = None;
            user.updated_at = self.ctx.now();
            tx.put_user(user)?;
            let party = audit::Party::user(&user.username);
            let event = audit::Event::success(audit::Kind::MfaRemove, party.clone())
                .about(party)
                .from_ip(request.address)
                .with("method", "totp")
                .with("proof", proof.name())
                .with("recovery_codes_voided", voided.to_string());
            audit::record(&self.ctx, tx, event)?;
            Ok(())
        })
    }

    /// A new set of recovery codes for the user, voiding the old one, once
    /// `request` is proven; the codes are returned to be shown once.
    pub fn regenerate_recovery_codes(
        &self,
        request: &SecondFactorRequest<'_>,
    ) -> Result<Vec<ShownCode>, SecondFactorError> {
        self.proven(request, |tx, user, proof| {
            self.new_recovery_codes_in(tx, user, proof.name(), request.address)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::is_app_code;

    #[test]
    fn six_digits_are_an_apps_code_and_anything_else_a_recovery_code() {
        assert!(is_app_code("123456"));
        assert!(is_app_code("123 456"));
        assert!(!is_app_code("12345"));
        assert!(!is_app_code("abcd-efgh-jk"));
        assert!(!is_app_code("1234-5678-90"));
    }
}
