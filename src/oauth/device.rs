//! The device authorization grant (RFC 8628) up to the user's decision:
//! the device authorization endpoint (§3.1, §3.2), user codes (§6.1), and
//! what the verification page looks up and records. The device's polling
//! is a grant of the token endpoint (`grants::device`).
//!
//! A device code is a 256-bit token stored only as its hash. A user code
//! is short enough to type, so it could be guessed: it is stored as a hash
//! too (a look-up key, not a protection against someone holding the
//! store), and every code that finds no pending authorization counts
//! against the signed-in user and against their address, with the
//! sign-in lockout's window and duration. A right code never resets the
//! count: anyone can start device authorizations of their own, and would
//! otherwise reset it between guesses.

use crate::accounts::lockout;
use crate::audit;
use crate::config::seconds;
use crate::oauth::authorize::requested_scopes;
use crate::oauth::params::ScopeParam;
use crate::oauth::{Authentication, OAuthError, Provider};
use crate::secret::{Token, TokenHash, sha256};
use crate::store::{
    Client, DeviceApproval, DeviceAuthorization, DeviceStatus, StoreError, User, WriteTx,
};
use serde::Serialize;
use std::fmt;
use time::OffsetDateTime;

/// RFC 8628 §6.1: consonants only, without vowels (no words) and without
/// the letters people confuse with digits or each other.
const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// 20^8 ≈ 2^34.6 codes, against at most a handful of guesses per user and
/// address per lockout window.
const LENGTH: usize = 8;

/// A user code in its canonical form: eight letters of [`ALPHABET`],
/// shown as `XXXX-XXXX`. Redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct UserCode(String);

impl UserCode {
    /// A fresh code from the CSPRNG, each letter uniformly drawn.
    fn generate() -> Self {
        let mut code = String::with_capacity(LENGTH);
        while code.len() < LENGTH {
            let mut bytes = [0u8; 16];
            rand::fill(&mut bytes);
            // 240 is the largest multiple of 20 below 256: no letter favoured.
            for byte in bytes.into_iter().filter(|b| *b < 240) {
                if code.len() < LENGTH {
                    code.push(char::from(ALPHABET[usize::from(byte % 20)]));
                }
            }
        }
        Self(code)
    }

    /// What a person typed, in any case, with or without the dash and
    /// spaces; `None` if it cannot be a code.
    pub fn parse(typed: &str) -> Option<Self> {
        let code: String = typed
            .chars()
            .filter(|c| *c != '-' && !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        (code.len() == LENGTH && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(Self(code))
    }

    /// The key it is stored under.
    fn hash(&self) -> TokenHash {
        TokenHash(sha256(self.0.as_bytes()))
    }

    /// As shown to people: `XXXX-XXXX`.
    pub fn display(&self) -> String {
        format!("{}-{}", &self.0[..LENGTH / 2], &self.0[LENGTH / 2..])
    }
}

impl fmt::Debug for UserCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UserCode([redacted])")
    }
}

/// The device authorization response (RFC 8628 §3.2).
#[derive(Debug, Serialize)]
pub struct DeviceAuthorizationResponse {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: u64,
    pub interval: u64,
}

/// A pending device authorization that a user code found.
#[derive(Debug)]
pub struct PendingDevice {
    pub client: Client,
    pub scopes: Vec<String>,
    pub user_code: UserCode,
}

/// What a user code typed on the verification page finds.
#[derive(Debug)]
pub enum DeviceLookup {
    Found(Box<PendingDevice>),
    /// No pending authorization has this code (never had, expired,
    /// decided, or not a code at all): counted as a failure.
    Unknown,
    /// Too many unknown codes: refused until then, right ones too.
    Locked(OffsetDateTime),
    /// The client requires its users to sign in with this journey, which
    /// the session did not come from.
    SignInWith(String),
}

/// The user's decision on a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
}

impl Provider {
    /// RFC 8628 §3.1: starts a device authorization for `client` (which
    /// may use the grant, see `grants::may_use`), for the scopes it asks
    /// as `/oauth2/authorize` would judge them. The user enters the code
    /// at `verification_uri`.
    pub fn authorize_device(
        &self,
        client: &Client,
        scope: ScopeParam,
        verification_uri: &str,
    ) -> Result<DeviceAuthorizationResponse, OAuthError> {
        let scopes = requested_scopes(client, scope)?.into_vec();
        let settings = &self.ctx.settings.oauth;
        let device_code = Token::generate();
        let expires_at = self.ctx.now() + seconds(settings.device_code_ttl_secs);
        let user_code = self.ctx.store.write(|tx| {
            // A code already pending would find two authorizations: draw
            // again (one in billions per live code).
            let mut user_code = UserCode::generate();
            while tx.device_code_of(&user_code.hash())?.is_some() {
                user_code = UserCode::generate();
            }
            tx.put_device_authorization(
                &device_code.hash(),
                &DeviceAuthorization {
                    client_id: client.client_id.clone(),
                    scopes: scopes.clone(),
                    user_code_hash: user_code.hash().0,
                    expires_at,
                    interval_secs: settings.device_poll_interval_secs,
                    last_polled_at: None,
                    status: DeviceStatus::Pending,
                },
            )?;
            Ok::<_, StoreError>(user_code)
        })?;
        let complete = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("user_code", &user_code.display())
            .finish();
        Ok(DeviceAuthorizationResponse {
            device_code: device_code.expose().to_owned(),
            user_code: user_code.display(),
            verification_uri: verification_uri.to_owned(),
            verification_uri_complete: format!("{verification_uri}?{complete}"),
            expires_in: settings.device_code_ttl_secs,
            interval: settings.device_poll_interval_secs,
        })
    }

    /// The pending authorization a user code typed by `user_id`, signed in
    /// as `auth` says, from `address` finds, counting it as a failure if it
    /// finds none.
    pub fn find_device(
        &self,
        user_id: &str,
        auth: &Authentication,
        typed: &str,
        address: Option<&str>,
    ) -> Result<DeviceLookup, StoreError> {
        self.ctx.store.write(|tx| {
            Ok(match self.look_up(tx, user_id, auth, typed, address)? {
                Found::Pending(_, _, pending) => DeviceLookup::Found(pending),
                Found::Other(outcome) => outcome,
            })
        })
    }

    /// Records the user's decision on the device the user code finds (looked
    /// up, and counted, as [`Provider::find_device`] does). Allowing records
    /// the consent as `/oauth2/authorize` does; denying is audited as a
    /// refused `consent.grant`.
    pub fn decide_device(
        &self,
        user: &User,
        auth: &Authentication,
        typed: &str,
        decision: Decision,
        address: Option<&str>,
    ) -> Result<DeviceLookup, StoreError> {
        self.ctx.store.write(|tx| {
            let (hash, mut device, pending) =
                match self.look_up(tx, &user.id, auth, typed, address)? {
                    Found::Pending(hash, device, pending) => (hash, device, pending),
                    Found::Other(outcome) => return Ok(outcome),
                };
            let client_id = &device.client_id;
            match decision {
                Decision::Allow => {
                    self.record_consent(tx, &user.id, client_id, &device.scopes, address)?;
                    device.status = DeviceStatus::Approved(DeviceApproval {
                        user_id: user.id.clone(),
                        auth_time: auth.auth_time,
                        amr: auth.amr.clone(),
                        acr: auth.acr.clone(),
                        sid: auth.sid.clone(),
                    });
                }
                Decision::Deny => {
                    let party = audit::Party::user(&user.username);
                    let event = audit::Event::failure(audit::Kind::ConsentGrant, party.clone())
                        .about(party)
                        .from_ip(address)
                        .with("client", client_id.as_str())
                        .with("scope", device.scopes.join(" "))
                        .with("reason", "denied");
                    audit::record(&self.ctx, tx, event)?;
                    device.status = DeviceStatus::Denied;
                }
            }
            tx.put_device_authorization(&hash, &device)?;
            Ok(DeviceLookup::Found(pending))
        })
    }

    fn look_up(
        &self,
        tx: &dyn WriteTx,
        user_id: &str,
        auth: &Authentication,
        typed: &str,
        address: Option<&str>,
    ) -> Result<Found, StoreError> {
        let now = self.ctx.now();
        let settings = &self.ctx.settings.lockout;
        let mut counters = vec![(user_counter(user_id), settings.max_failures)];
        if let Some(ip) = address {
            counters.push((address_counter(ip), settings.max_failures_per_address));
        }
        let mut counted = Vec::with_capacity(counters.len());
        for (key, max) in counters {
            let throttle = tx.throttle(&key)?;
            if let Some(until) = lockout::locked_until(throttle.as_ref(), now) {
                return Ok(Found::Other(DeviceLookup::Locked(until)));
            }
            counted.push((key, max, throttle));
        }
        if let Some(found) = self.pending(tx, auth, typed, now)? {
            return Ok(found);
        }
        for (key, max, throttle) in counted {
            let attempt = lockout::record_attempt(throttle, now, settings, max);
            tx.put_throttle(&key, &attempt)?;
            if let Some(until) = attempt.locked_until {
                let event = crate::accounts::lockout_event("device_code", until, address);
                audit::record(&self.ctx, tx, event)?;
            }
        }
        Ok(Found::Other(DeviceLookup::Unknown))
    }

    /// The pending, unexpired authorization of a typed code, with its client.
    fn pending(
        &self,
        tx: &dyn WriteTx,
        auth: &Authentication,
        typed: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Found>, StoreError> {
        let Some(user_code) = UserCode::parse(typed) else {
            return Ok(None);
        };
        let Some(hash) = tx.device_code_of(&user_code.hash())? else {
            return Ok(None);
        };
        let Some(device) = tx.device_authorization(&hash)? else {
            return Ok(None);
        };
        if device.status != DeviceStatus::Pending || device.expires_at <= now {
            return Ok(None);
        }
        let Some(client) = tx.client(&device.client_id)? else {
            return Ok(None);
        };
        if let Some(required) = &client.journey
            && auth.acr.as_ref() != Some(required)
        {
            return Ok(Some(Found::Other(DeviceLookup::SignInWith(
                required.clone(),
            ))));
        }
        let pending = PendingDevice {
            client,
            scopes: device.scopes.clone(),
            user_code,
        };
        Ok(Some(Found::Pending(
            hash,
            Box::new(device),
            Box::new(pending),
        )))
    }
}

/// A look-up's outcome inside its transaction: what it found, to change,
/// or what to answer.
enum Found {
    Pending(TokenHash, Box<DeviceAuthorization>, Box<PendingDevice>),
    Other(DeviceLookup),
}

/// The failure counter of a user's unknown user codes. No username or other
/// counter key starts with `device_code `.
fn user_counter(user_id: &str) -> String {
    format!("device_code {user_id}")
}

/// The failure counter of unknown user codes from an address, by the
/// sign-in counter's /64 rule.
fn address_counter(ip: &str) -> String {
    format!("device_code {}", lockout::address_key(ip))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn user_codes_are_eight_unambiguous_letters_shown_in_two_groups() {
        for _ in 0..100 {
            let code = UserCode::generate();
            let shown = code.display();
            assert_eq!(shown.len(), 9);
            assert_eq!(&shown[4..5], "-");
            assert!(shown.bytes().all(|b| b == b'-' || ALPHABET.contains(&b)));
            assert_eq!(UserCode::parse(&shown), Some(code));
        }
    }

    #[test]
    fn typed_codes_ignore_case_dashes_and_spaces() {
        let code = UserCode::parse("BCDF-GHJK").expect("a code");
        assert_eq!(UserCode::parse("bcdfghjk"), Some(code.clone()));
        assert_eq!(UserCode::parse(" bcdf - ghjk "), Some(code.clone()));
        assert_eq!(
            code.hash(),
            UserCode::parse("bcdf-GHJK").expect("a code").hash()
        );
        assert_eq!(UserCode::parse("BCDF-GHJ"), None);
        assert_eq!(UserCode::parse("ABCD-EFGH"), None, "vowels are not used");
        assert_eq!(format!("{code:?}"), "UserCode([redacted])");
    }

    proptest! {
        #[test]
        fn typed_codes_never_panic(typed in any::<String>()) {
            if let Some(code) = UserCode::parse(&typed) {
                prop_assert_eq!(UserCode::parse(&code.display()), Some(code));
            }
        }
    }
}
