//! `one_time_code`: sends a short numeric code to the user's email and
//! checks it. The address is that of the user identified so far, the user
//! named in `identify`, or the account being registered. Outcomes:
//! `success` (method `otp`; the address counts as verified) or `failure`.
//!
//! The code is stored only as a hash keyed with the journey's `auth_id`
//! (see [`Turn::keyed_hash`]): a million possible codes are trivial to try
//! against a plain hash, but not without the key, which is never stored.
//! When nobody can be mailed (an unknown name in a reset journey) the step
//! looks the same and no code ever matches; when a registration names an
//! address that already has an account, that account's owner gets a notice
//! instead of a code.
//!
//! A registration that comes back for another username (see `register`)
//! has proven its address already: the step then passes at once, with no
//! new code.
//!
//! Guesses and mails are also counted per account across journeys (under
//! the name typed, for a reset, so known and unknown names behave alike):
//! starting journey after journey gives no fresh guesses and floods no
//! mailbox. The attempt is counted before the code is compared.

use super::{
    Action, Decision, Display, Field, FieldKind, Input, Node, OptionReader, Prompt, Turn,
    add_method, data, set_data,
};
use crate::journeys::Engine;
use crate::journeys::JourneyError;
use crate::mail::{Address, Message};
use crate::store::JourneyState;
use rand::RngExt;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// The code step.
pub struct OneTimeCode {
    length: u32,
    ttl: Duration,
    resend_after: Duration,
}

/// What the node keeps between requests.
#[derive(Debug, Serialize, Deserialize)]
struct Sent {
    /// Keyed hash of the code; `None` when nothing was sent.
    hash: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    sent_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    /// Where it went, partly hidden, when the person may know it.
    shown_to: Option<String>,
}

const PURPOSE: &str = "one_time_code";

impl OneTimeCode {
    /// Options: `length` (digits, 4–10, default 6), `ttl_secs` (default
    /// 600), `resend_after_secs` (default 30).
    pub fn from_options(options: &mut OptionReader<'_>) -> Result<Self, String> {
        let length: u32 = options.get("length", 6)?;
        if !(4..=10).contains(&length) {
            return Err("option `length` must be between 4 and 10 digits".into());
        }
        let ttl: u32 = options.get("ttl_secs", 600)?;
        let resend: u32 = options.get("resend_after_secs", 30)?;
        if ttl == 0 {
            return Err("option `ttl_secs` must be positive".into());
        }
        Ok(Self {
            length,
            ttl: Duration::seconds(ttl.into()),
            resend_after: Duration::seconds(resend.into()),
        })
    }

    fn field() -> Field {
        Field::new("code", FieldKind::Code, "Code", "one-time-code")
    }

    /// Makes a code, mails it and remembers its hash. Past the mail limit
    /// for the account nothing is sent, and the step looks the same.
    fn send(
        &self,
        engine: &Engine,
        state: &mut JourneyState,
        turn: &Turn<'_>,
    ) -> Result<(), JourneyError> {
        let now = engine.ctx.now();
        let (address, existing_account) = recipient(engine, state)?;
        let max = engine.ctx.settings.lockout.max_failures;
        let limited = engine
            .accounts
            .count_attempt(&throttle_key("mail", state), max)?
            .is_some();
        let mut hash = None;
        if let Some(to) = address.clone().filter(|_| !limited) {
            let issuer = engine.ctx.issuer.as_str();
            let message = if existing_account {
                Message {
                    kind: "registration notice",
                    to,
                    subject: "You already have an account".into(),
                    body: format!(
                        "Someone tried to create an account with this address at {issuer}.\n\n\
                         You already have one: sign in at {issuer}/login, or reset your password \
                         at {}. If this was not you, ignore this message.\n",
                        crate::journeys::reset_page(issuer, None),
                    ),
                }
            } else {
                let code = random_code(self.length);
                hash = Some(turn.keyed_hash(PURPOSE, &code));
                Message {
                    kind: "one-time code",
                    to,
                    // The code stays out of the subject, which mail logs show.
                    subject: "Your one-time code".into(),
                    body: format!(
                        "Your code is {code}\n\nIt expires in {} minutes. If you did not ask for it, ignore this message.\n",
                        self.ttl.whole_minutes().max(1)
                    ),
                }
            };
            engine.mailer.send(message);
        }
        // Only an address the person typed or owns is shown; a reset by name
        // shows nothing that tells whether the account exists.
        let shown_to = match (&state.pending_user, &state.user_id, &address) {
            (Some(pending), _, _) => Some(mask(&pending.email)),
            (None, Some(_), Some(address)) => Some(mask(address.as_str())),
            _ => None,
        };
        set_data(
            state,
            &Sent {
                hash,
                sent_at: now,
                expires_at: now + self.ttl,
                shown_to,
            },
        );
        Ok(())
    }
}

/// The throttle key for `what` (guesses or mails) on this journey's account:
/// the registering address, the user, or the name typed in `identify`.
fn throttle_key(what: &str, state: &JourneyState) -> String {
    let account = match (&state.pending_user, &state.user_id, &state.claimed_name) {
        (Some(pending), _, _) => pending.email.to_lowercase(),
        (None, Some(id), _) => id.clone(),
        (None, None, Some(name)) => name.clone(),
        (None, None, None) => "nobody".into(),
    };
    // Spaces keep these keys apart from usernames, which have none.
    format!("{what} {account}")
}

/// Whether this journey has proven the registering address already.
fn proven(state: &JourneyState) -> bool {
    state
        .pending_user
        .as_ref()
        .is_some_and(|pending| pending.email_verified)
}

/// The address to mail, and whether a registration names an address that
/// already has an account.
fn recipient(
    engine: &Engine,
    state: &JourneyState,
) -> Result<(Option<Address>, bool), JourneyError> {
    if let Some(pending) = &state.pending_user {
        let taken = engine
            .ctx
            .store
            .read(|tx| tx.user_by_email(&pending.email))?
            .is_some();
        return Ok((Address::parse(&pending.email), taken));
    }
    let Some(id) = state.user_id.as_ref().or(state.claimed_user_id.as_ref()) else {
        return Ok((None, false));
    };
    let user = engine.ctx.store.read(|tx| tx.user(id))?;
    let address = user
        .and_then(|user| user.email)
        .and_then(|email| Address::parse(&email));
    Ok((address, false))
}

fn random_code(length: u32) -> String {
    let mut rng = rand::rng();
    (0..length)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// `alice@example.com` → `a•••e@example.com`.
fn mask(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().unwrap_or('•');
            let last = local.chars().last().filter(|_| local.chars().count() > 2);
            format!(
                "{first}•••{}@{domain}",
                last.map(String::from).unwrap_or_default()
            )
        }
        None => "your email address".into(),
    }
}

impl Node for OneTimeCode {
    fn step(&self) -> &'static str {
        "one_time_code"
    }

    fn outcomes(&self) -> &'static [&'static str] {
        &["success", "failure"]
    }

    fn enter(
        &self,
        engine: &Engine,
        state: &mut JourneyState,
        turn: &Turn<'_>,
    ) -> Result<(), JourneyError> {
        if proven(state) {
            return Ok(());
        }
        self.send(engine, state, turn)
    }

    fn prompt(&self, _engine: &Engine, state: &JourneyState) -> Prompt {
        if proven(state) {
            // No input: the engine runs the step at once.
            return Prompt::default();
        }
        let text = match data::<Sent>(state).and_then(|sent| sent.shown_to) {
            Some(shown_to) => format!(
                "We sent a {}-digit code to {shown_to}. Enter it to continue.",
                self.length
            ),
            None => format!(
                "If the account has an email address, we sent a {}-digit code to it. Enter it to continue.",
                self.length
            ),
        };
        Prompt {
            fields: vec![Self::field()],
            actions: vec![Action {
                name: "resend",
                label: "Send a new code".into(),
            }],
            display: vec![Display::Text { text }],
            ..Prompt::default()
        }
    }

    fn run(
        &self,
        engine: &Engine,
        state: &mut JourneyState,
        input: &Input,
        turn: &Turn<'_>,
    ) -> Result<Decision, JourneyError> {
        if proven(state) {
            return Ok(Decision::Outcome("success"));
        }
        let now = engine.ctx.now();
        let Some(sent) = data::<Sent>(state) else {
            self.send(engine, state, turn)?;
            return Ok(Decision::Wait(None));
        };
        if input.action() == Some("resend") {
            let wait = sent.sent_at + self.resend_after - now;
            if wait.is_positive() {
                return Ok(Decision::Wait(Some(format!(
                    "Wait {} seconds before asking for a new code.",
                    wait.whole_seconds() + 1
                ))));
            }
            self.send(engine, state, turn)?;
            return Ok(Decision::Wait(Some("We sent a new code.".into())));
        }
        let code = input.require(&Self::field())?;
        let code = code.expose().trim();
        if sent.expires_at <= now {
            return Ok(Decision::Retry(
                "This code has expired. Ask for a new one.".into(),
            ));
        }
        let guesses = throttle_key("code", state);
        let max = engine.ctx.settings.lockout.max_failures;
        if let Some(until) = engine.accounts.count_attempt(&guesses, max)? {
            let minutes = ((until - now).whole_seconds() + 59) / 60;
            return Ok(Decision::Retry(format!(
                "Too many wrong codes for this account. Try again in {minutes} minutes."
            )));
        }
        let matches = sent
            .hash
            .as_deref()
            .is_some_and(|hash| turn.matches(PURPOSE, code, hash));
        if !matches {
            return Ok(Decision::Retry(
                "That code is not right. Check it and try again.".into(),
            ));
        }
        engine.accounts.clear_attempts(&guesses)?;
        if let Some(pending) = &mut state.pending_user {
            pending.email_verified = true;
        }
        if state.user_id.is_none() {
            state.user_id = state.claimed_user_id.take();
        }
        add_method(state, "otp");
        Ok(Decision::Outcome("success"))
    }
}

#[cfg(test)]
mod tests {
    use super::{mask, random_code};

    #[test]
    fn codes_have_the_asked_length_and_only_digits() {
        let code = random_code(6);
        assert_eq!(code.len(), 6);
        assert!(code.chars().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn addresses_are_masked_for_display() {
        assert_eq!(mask("alice@example.com"), "a•••e@example.com");
        assert_eq!(mask("al@example.com"), "a•••@example.com");
    }
}
