//! TOTP (RFC 6238) as an account's second factor: secrets, the otpauth URI
//! that hands them to an authenticator app, enrollment, and code checks.
//!
//! Codes follow the injected clock (`Context::now`), never the system's.
//! A check accepts one step of skew either way, accepts a step only once
//! (RFC 6238 §5.2), and counts failures per user across journeys with the
//! lockout rules of passwords, so restarting a journey buys no attempts.
//! Secrets are stored sealed (`crate::seal`).

use super::{Accounts, lockout};
use crate::audit;
use crate::seal::{SealError, Sealer};
use crate::store::{StoreError, TotpEnrollment, User, WriteTx};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use qrcode::QrCode;
use qrcode::render::svg;
use std::fmt;
use time::OffsetDateTime;
use totp_rs::{Algorithm, Builder, Totp};

/// Digits of a code.
pub const DIGITS: u8 = 6;
/// Seconds per time step (RFC 6238 §5.2 recommends 30).
pub const PERIOD_SECS: u64 = 30;
/// Steps of clock skew accepted each way: RFC 6238 §5.2 recommends at most
/// one, as more widens the window for a guessed or stolen code.
const SKEW_STEPS: u16 = 1;
/// 160 bits, the length RFC 4226 §4 recommends for HMAC-SHA-1.
const SECRET_LEN: usize = 20;

/// A TOTP shared secret. `Debug` prints `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret([u8; SECRET_LEN]);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

impl TotpSecret {
    /// A fresh secret from the CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = [0u8; SECRET_LEN];
        rand::fill(&mut bytes);
        Self(bytes)
    }

    /// The secret as an authenticator app takes it when typed in: base32
    /// (RFC 4648) without padding.
    pub fn base32(&self) -> String {
        self.totp().secret().to_base32()
    }

    /// The secret sealed for the store.
    pub fn seal(&self, sealer: &Sealer) -> Result<String, SealError> {
        sealer.seal(&self.0)
    }

    /// A secret [`TotpSecret::seal`] made.
    pub fn open(sealer: &Sealer, sealed: &str) -> Result<Self, SealError> {
        let bytes = sealer.open(sealed)?;
        bytes.try_into().map(Self).map_err(|_| SealError)
    }

    /// The step `code` belongs to at `now`, within the skew; `None` when it
    /// matches none (or is not six digits). Spaces in the code are ignored,
    /// as apps show it in groups.
    pub(super) fn matching_step(&self, code: &str, now: OffsetDateTime) -> Option<u64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        // A time before 1970 has no step; no code matches it.
        let time = u64::try_from(now.unix_timestamp()).ok()?;
        self.totp().check(&code, time)
    }

    fn totp(&self) -> Totp {
        // The parameters are the constants above, which `build` accepts (see
        // the tests), so the unchecked form cannot make an invalid `Totp`.
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS)
            .with_skew(SKEW_STEPS)
            .with_step_duration(PERIOD_SECS)
            .with_secret(self.0)
            .build_noncompliant()
    }
}

/// Characters left as they are in the URI; the rest are percent-encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The `otpauth://` URI (Google's Key Uri Format) an authenticator app
/// reads from the QR code. Issuer and account are percent-encoded, so a
/// colon in a username cannot be taken for the label's separator.
pub fn otpauth_uri(secret: &TotpSecret, issuer: &str, account: &str) -> String {
    let issuer = utf8_percent_encode(issuer, UNRESERVED);
    let account = utf8_percent_encode(account, UNRESERVED);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={PERIOD_SECS}",
        secret.base32()
    )
}

/// What a person needs to add a secret to an authenticator app: the
/// otpauth URI as a QR code to scan and as a link, and the key to type in.
/// (No `Debug`: it holds the secret.)
pub struct AppSetup {
    /// The QR code as an SVG to inline in a page; empty when it cannot be
    /// drawn (only data beyond a QR code's capacity, ~2 KB, fails).
    pub svg: String,
    pub uri: String,
    /// The secret in base32, to type in.
    pub key: String,
}

impl TotpSecret {
    /// What it takes to add this secret to an app, listed under `issuer`
    /// and `account`.
    pub fn setup(&self, issuer: &str, account: &str) -> AppSetup {
        let uri = otpauth_uri(self, issuer, account);
        let svg = match QrCode::new(uri.as_bytes()) {
            Ok(code) => code
                .render::<svg::Color<'_>>()
                .min_dimensions(200, 200)
                .build(),
            Err(err) => {
                tracing::warn!(error = %err, "enrollment QR code not rendered");
                String::new()
            }
        };
        AppSetup {
            svg: inline_svg(&svg).to_owned(),
            uri,
            key: self.base32(),
        }
    }
}

/// The SVG without its XML declaration, to sit inside an HTML page.
fn inline_svg(svg: &str) -> &str {
    svg.find("<svg").map_or(svg, |start| &svg[start..])
}

/// What TOTP operations fail with.
#[derive(Debug, thiserror::Error)]
pub enum TotpError {
    /// The journey's user was removed meanwhile.
    #[error("the user no longer exists")]
    UnknownUser,
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The result of a code check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    /// No match within the skew.
    Wrong,
    /// The code of a step already used (or older).
    Replayed,
    /// The user has no authenticator app.
    NotEnrolled,
    /// Too many failures: no code is checked until then.
    Locked(OffsetDateTime),
}

impl Accounts {
    /// Checks a user's code at the clock's time. One durable write both counts
    /// a failure and, on success, records the step as used, so two requests
    /// with the same code cannot both pass, and a crash cannot forget a use.
    /// A refused code is audited in that write, like a refused password
    /// (`Accounts::authenticate`), from the client's `address`.
    pub fn verify(
        &self,
        user_id: &str,
        code: &str,
        address: Option<&str>,
    ) -> Result<Verdict, TotpError> {
        self.ctx
            .store
            .write(|tx| self.verify_in(tx, user_id, code, address))
    }

    /// [`Accounts::verify`] inside `tx`, for a change the code proves.
    pub(super) fn verify_in(
        &self,
        tx: &dyn WriteTx,
        user_id: &str,
        code: &str,
        address: Option<&str>,
    ) -> Result<Verdict, TotpError> {
        let now = self.ctx.now();
        self.counted_check(tx, user_id, "totp", address, |user| {
            let Some(enrollment) = &mut user.totp else {
                return Ok(Verdict::NotEnrolled);
            };
            let secret = TotpSecret::open(&self.ctx.sealer, &enrollment.sealed_secret)?;
            Ok(match secret.matching_step(code, now) {
                Some(step) if step > enrollment.last_step => {
                    enrollment.last_step = step;
                    Verdict::Accepted
                }
                Some(_) => Verdict::Replayed,
                None => Verdict::Wrong,
            })
        })
    }

    /// One check of a second-factor code (`method`: `totp`, `recovery_code`)
    /// in `tx`, counted against the user's second-factor lockout, which TOTP
    /// and recovery codes share, so switching from one to the other buys no
    /// guesses. `check` decides on the user, marking what it accepts as used;
    /// the user is saved only then. A refused code is audited, from the
    /// client's `address`, with its method.
    pub(super) fn counted_check(
        &self,
        tx: &dyn WriteTx,
        user_id: &str,
        method: &'static str,
        address: Option<&str>,
        check: impl FnOnce(&mut User) -> Result<Verdict, TotpError>,
    ) -> Result<Verdict, TotpError> {
        let now = self.ctx.now();
        let key = lockout::totp_key(user_id);
        let settings = &self.ctx.settings.lockout;
        let counted = tx.throttle(&key)?;
        // Checked before the code: while locked, a right code fails too.
        if let Some(until) = lockout::locked_until(counted.as_ref(), now) {
            return Ok(Verdict::Locked(until));
        }
        let mut user = tx.user(user_id)?.ok_or(TotpError::UnknownUser)?;
        let verdict = check(&mut user)?;
        let reason = match verdict {
            Verdict::Accepted => {
                tx.put_user(&user)?;
                tx.delete_throttle(&key)?;
                return Ok(verdict);
            }
            Verdict::NotEnrolled | Verdict::Locked(_) => return Ok(verdict),
            Verdict::Replayed => "replayed_code",
            Verdict::Wrong => "wrong_code",
        };
        let attempt = lockout::record_attempt(counted, now, settings, settings.max_failures);
        tx.put_throttle(&key, &attempt)?;
        let subject = audit::Party::user(&user.username);
        let refused = audit::Event::failure(audit::Kind::Login, audit::Party::anonymous())
            .about(subject.clone())
            .from_ip(address)
            .with("method", method)
            .with("reason", reason);
        audit::record(&self.ctx, tx, refused)?;
        if let Some(until) = attempt.locked_until {
            let event = super::lockout_event("totp", until, address).about(subject);
            audit::record(&self.ctx, tx, event)?;
        }
        Ok(verdict)
    }
}

/// The result of an enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enrollment {
    Saved,
    /// The code does not match the new secret.
    Wrong,
    /// The user already has an authenticator app, and replacing it was not
    /// allowed (the journey did not prove it).
    AlreadyEnrolled,
}

impl Accounts {
    /// Saves `secret` as the user's authenticator once `code` proves the app
    /// holds it. The code's step counts as used. An existing enrollment is only
    /// replaced when `replace` says so: someone who only knows the password
    /// must not swap the victim's app for theirs. A saved app is audited
    /// (`mfa.enroll`), from the client's `address`.
    pub fn enroll(
        &self,
        user_id: &str,
        secret: &TotpSecret,
        code: &str,
        replace: bool,
        address: Option<&str>,
    ) -> Result<Enrollment, TotpError> {
        let Some(step) = secret.matching_step(code, self.ctx.now()) else {
            return Ok(Enrollment::Wrong);
        };
        let sealed_secret = secret.seal(&self.ctx.sealer)?;
        self.ctx.store.write(|tx| {
            let mut user = tx.user(user_id)?.ok_or(TotpError::UnknownUser)?;
            let enrolled = self.enroll_in(tx, &mut user, sealed_secret, step, replace, address)?;
            Ok(enrolled)
        })
    }

    /// Saves a secret whose first code (of `step`) was checked as `user`'s
    /// app in `tx` (see [`Accounts::enroll`]).
    pub(super) fn enroll_in(
        &self,
        tx: &dyn WriteTx,
        user: &mut User,
        sealed_secret: String,
        step: u64,
        replace: bool,
        address: Option<&str>,
    ) -> Result<Enrollment, TotpError> {
        if user.totp.is_some() && !replace {
            return Ok(Enrollment::AlreadyEnrolled);
        }
        let replaced = user.totp.is_some();
        let now = self.ctx.now();
        user.totp = Some(TotpEnrollment {
            sealed_secret,
            last_step: step,
            enrolled_at: Some(now),
        });
        user.updated_at = now;
        tx.put_user(user)?;
        let party = audit::Party::user(&user.username);
        let event = audit::Event::success(audit::Kind::MfaEnroll, party.clone())
            .about(party)
            .from_ip(address)
            .with("method", "totp")
            .with("replaced", replaced.to_string());
        audit::record(&self.ctx, tx, event)?;
        Ok(Enrollment::Saved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// RFC 6238 Appendix B's SHA-1 secret, `12345678901234567890`.
    fn rfc_secret() -> TotpSecret {
        TotpSecret(*b"12345678901234567890")
    }

    #[test]
    fn the_parameters_are_ones_the_rfc_accepts() {
        assert!(
            Builder::new()
                .with_algorithm(Algorithm::SHA1)
                .with_digits(DIGITS)
                .with_skew(SKEW_STEPS)
                .with_step_duration(PERIOD_SECS)
                .with_secret(TotpSecret::generate().0)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn codes_match_the_rfc_test_vector_with_one_step_of_skew() {
        // RFC 6238 Appendix B: 1111111109 s → 07081804 (8 digits), of which
        // a 6-digit code keeps the last six.
        let secret = rfc_secret();
        let now = datetime!(2005-03-18 01:58:29 UTC);
        let step = 1_111_111_109 / 30;
        assert_eq!(secret.matching_step("081804", now), Some(step));
        assert_eq!(secret.matching_step("081 804", now), Some(step));
        let later = now + time::Duration::seconds(30);
        assert_eq!(secret.matching_step("081804", later), Some(step));
        let too_late = now + time::Duration::seconds(61);
        assert_eq!(secret.matching_step("081804", too_late), None);
        assert_eq!(secret.matching_step("08180", now), None);
        assert_eq!(secret.matching_step("+81804", now), None);
    }

    #[test]
    fn the_otpauth_uri_names_issuer_account_and_parameters() {
        let uri = otpauth_uri(&rfc_secret(), "Acme Corp", "bob:smith");
        assert_eq!(
            uri,
            "otpauth://totp/Acme%20Corp:bob%3Asmith?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Acme%20Corp&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn the_xml_declaration_is_dropped_for_inline_use() {
        assert_eq!(
            inline_svg(r#"<?xml version="1.0"?><svg width="1"></svg>"#),
            r#"<svg width="1"></svg>"#
        );
    }

    #[test]
    fn secrets_redact_themselves_and_survive_sealing() {
        let secret = TotpSecret::generate();
        assert!(!format!("{secret:?}").contains(&secret.base32()));
        let sealer = Sealer::new(None).expect("key");
        let sealed = secret.seal(&sealer).expect("seal");
        assert_eq!(TotpSecret::open(&sealer, &sealed).expect("open"), secret);
        let too_short = sealer.seal(b"short").expect("seal");
        assert!(TotpSecret::open(&sealer, &too_short).is_err());
    }
}
