//! Passkeys (WebAuthn): the relying party built from the settings, and the
//! ceremonies over a user's stored credentials: registering one (begun and
//! finished on /account after a step-up), naming and removing them, and
//! authenticating with one (the `passkey` journey node).
//!
//! The cryptography and the W3C WebAuthn checks are webauthn-rs's; this
//! module keeps its state in the store ([`PasskeyRing`]) as JSON, so the
//! store never depends on the library's types. User verification is
//! required for every ceremony (webauthn-rs's passkey policy), and each
//! user has a random WebAuthn user handle, never their username or id.
//!
//! Uses the core (`context`), the settings, the store and the audit log.

use crate::audit::{self, Caller, Event, Kind, Party};
use crate::config::Settings;
use crate::context::Context;
use crate::secret::random_id;
use crate::store::{
    PasskeyCredential, PasskeyRing, PendingRegistration, StoreError, User, WriteTx,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use time::Duration;
use url::{Host, Url};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Uuid, Webauthn, WebauthnBuilder,
};

/// Longest name a passkey may be given, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// How long a registration begun on /account may take to finish: the
/// authenticator's own timeout (webauthn-rs's default, five minutes).
const REGISTRATION_TTL: Duration = Duration::minutes(5);

/// What can go wrong with passkeys.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// This server cannot use passkeys (see [`Passkeys::unavailable`]).
    #[error("passkeys are not available on this server: {0}")]
    Unavailable(String),
    /// No passkey of the user has this id.
    #[error("no such passkey")]
    NotFound,
    /// A name longer than [`MAX_NAME_CHARS`].
    #[error("passkey name too long")]
    NameTooLong,
    /// No registration was begun by this session, or it expired.
    #[error("no passkey registration is waiting, or it expired")]
    NoPendingRegistration,
    /// The browser's answer is not WebAuthn JSON.
    #[error("malformed WebAuthn response: {0}")]
    Malformed(String),
    /// The authenticator's answer did not verify (wrong challenge, origin,
    /// signature, counter, no user verification…).
    #[error("WebAuthn verification failed: {0}")]
    Refused(String),
    /// The user has no passkey (second-factor mode).
    #[error("the user has no passkey")]
    NotEnrolled,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The relying party and the operations on users' passkeys. Built once
/// (by the journeys' engine, which the account pages share).
pub struct Passkeys {
    ctx: Arc<Context>,
    relying_party: Result<Webauthn, String>,
}

/// The options a browser passes to `navigator.credentials.get`, and the
/// state that checks the answer, kept in the journey.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// `{"publicKey": PublicKeyCredentialRequestOptions}` as JSON.
    pub options: Value,
    pub state: Value,
}

/// Who a verified assertion proved to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub user_id: String,
    /// The credential may be synced to other devices (WebAuthn "backup
    /// eligible"): its key is not bound to one piece of hardware.
    pub backup_eligible: bool,
}

/// An authentication ceremony in progress: for whoever the discoverable
/// credential names, or for one user's passkeys.
#[derive(Serialize, Deserialize)]
enum Ceremony {
    Discoverable(DiscoverableAuthentication),
    ForUser {
        user_id: String,
        state: PasskeyAuthentication,
    },
}

impl Passkeys {
    /// The relying party the settings describe for `ctx.issuer`. When there
    /// can be none (an issuer on an IP address), passkeys are unavailable:
    /// [`Passkeys::unavailable`] says why, and the pages say so.
    pub fn new(ctx: Arc<Context>) -> Self {
        let relying_party = relying_party(&ctx.settings, &ctx.issuer);
        Self { ctx, relying_party }
    }

    /// Why this server cannot use passkeys, if it cannot.
    pub fn unavailable(&self) -> Option<&str> {
        self.relying_party.as_ref().err().map(String::as_str)
    }

    fn webauthn(&self) -> Result<&Webauthn, PasskeyError> {
        self.relying_party
            .as_ref()
            .map_err(|reason| PasskeyError::Unavailable(reason.clone()))
    }

    /// A user's passkeys, oldest first.
    pub fn list(&self, user_id: &str) -> Result<Vec<PasskeyCredential>, StoreError> {
        Ok(self
            .ctx
            .store
            .read(|tx| tx.passkeys_of(user_id))?
            .map(|ring| ring.credentials)
            .unwrap_or_default())
    }

    /// Begins registering a passkey called `name` for `user` from the
    /// session `session_id`, which must then finish it: returns the
    /// options for `navigator.credentials.create` (`{"publicKey": …}`).
    /// The caller checked that the session signed in recently.
    pub fn begin_registration(
        &self,
        user: &User,
        session_id: &str,
        name: &str,
    ) -> Result<Value, PasskeyError> {
        let webauthn = self.webauthn()?;
        let name = checked_name(name)?;
        let now = self.ctx.now();
        self.ctx
            .store
            .write(|tx| -> Result<Result<_, PasskeyError>, StoreError> {
                let mut ring = ring_of(tx, &user.id)?;
                let handle: Uuid = from_json(&Value::String(ring.user_handle.clone()))?;
                let exclude = ring
                    .credentials
                    .iter()
                    .filter_map(|stored| passkey(stored).ok())
                    .map(|passkey| passkey.cred_id().clone())
                    .collect();
                let display = user.name.as_deref().unwrap_or(&user.username);
                let (options, state) = match webauthn.start_passkey_registration(
                    handle,
                    &user.username,
                    display,
                    Some(exclude),
                ) {
                    Ok(started) => started,
                    Err(err) => return Ok(Err(PasskeyError::Refused(err.to_string()))),
                };
                let mut options = to_json(&options)?;
                // A discoverable credential, so that it can sign in without a
                // username; webauthn-rs's passkey default leaves that to the
                // authenticator.
                if let Some(selection) = options
                    .pointer_mut("/publicKey/authenticatorSelection")
                    .and_then(Value::as_object_mut)
                {
                    selection.insert("residentKey".into(), "required".into());
                    selection.insert("requireResidentKey".into(), true.into());
                }
                ring.pending = Some(PendingRegistration {
                    session_id: session_id.to_owned(),
                    name: name.clone(),
                    state: to_json(&state)?,
                    expires_at: now + REGISTRATION_TTL,
                });
                tx.put_passkeys(&ring)?;
                Ok(Ok(options))
            })?
    }

    /// Finishes the registration `session_id` began for `user` with the
    /// browser's answer (the `PublicKeyCredential` of
    /// `navigator.credentials.create` as JSON); the begun state is used up
    /// whatever the outcome, a malformed answer included. Recorded as `passkey.register`.
    pub fn finish_registration(
        &self,
        user: &User,
        session_id: &str,
        response: &str,
        caller: &Caller,
    ) -> Result<PasskeyCredential, PasskeyError> {
        let webauthn = self.webauthn()?;
        let now = self.ctx.now();
        self.ctx
            .store
            .write(|tx| -> Result<Result<_, PasskeyError>, StoreError> {
                let Some(mut ring) = tx.passkeys_of(&user.id)? else {
                    return Ok(Err(PasskeyError::NoPendingRegistration));
                };
                let pending = ring.pending.take();
                tx.put_passkeys(&ring)?;
                let Some(pending) = pending
                    .filter(|pending| pending.session_id == session_id && pending.expires_at > now)
                else {
                    return Ok(Err(PasskeyError::NoPendingRegistration));
                };
                let state: PasskeyRegistration = from_json(&pending.state)?;
                let response: RegisterPublicKeyCredential = match serde_json::from_str(response) {
                    Ok(response) => response,
                    Err(err) => return Ok(Err(PasskeyError::Malformed(err.to_string()))),
                };
                let passkey = match webauthn.finish_passkey_registration(&response, &state) {
                    Ok(passkey) => passkey,
                    Err(err) => return Ok(Err(PasskeyError::Refused(err.to_string()))),
                };
                let credential = PasskeyCredential {
                    id: random_id(),
                    name: pending.name,
                    credential: to_json(&passkey)?,
                    created_at: now,
                    last_used_at: None,
                };
                ring.credentials.push(credential.clone());
                tx.put_passkeys(&ring)?;
                audit::record(
                    &self.ctx,
                    tx,
                    Event::success_by(Kind::Passkey("register"), caller)
                        .about(Party::user(&user.username))
                        .with("passkey", credential.name.clone()),
                )?;
                Ok(Ok(credential))
            })?
    }

    /// Gives one of `user`'s passkeys a new name (`passkey.rename`).
    pub fn rename(
        &self,
        user: &User,
        passkey_id: &str,
        name: &str,
        caller: &Caller,
    ) -> Result<(), PasskeyError> {
        let name = checked_name(name)?;
        self.change(user, passkey_id, caller, "rename", |ring, index| {
            ring.credentials[index].name.clone_from(&name);
        })
    }

    /// Removes one of `user`'s passkeys (`passkey.remove`): it no longer
    /// signs in.
    pub fn remove(
        &self,
        user: &User,
        passkey_id: &str,
        caller: &Caller,
    ) -> Result<(), PasskeyError> {
        self.change(user, passkey_id, caller, "remove", |ring, index| {
            ring.credentials.remove(index);
        })
    }

    /// Applies `edit` to the passkey `passkey_id` of `user` and records
    /// `passkey.ACTION`, in one transaction.
    fn change(
        &self,
        user: &User,
        passkey_id: &str,
        caller: &Caller,
        action: &'static str,
        edit: impl Fn(&mut PasskeyRing, usize),
    ) -> Result<(), PasskeyError> {
        self.ctx
            .store
            .write(|tx| -> Result<Result<_, PasskeyError>, StoreError> {
                let Some(mut ring) = tx.passkeys_of(&user.id)? else {
                    return Ok(Err(PasskeyError::NotFound));
                };
                let Some(index) = ring.credentials.iter().position(|c| c.id == passkey_id) else {
                    return Ok(Err(PasskeyError::NotFound));
                };
                let name = ring.credentials[index].name.clone();
                edit(&mut ring, index);
                tx.put_passkeys(&ring)?;
                audit::record(
                    &self.ctx,
                    tx,
                    Event::success_by(Kind::Passkey(action), caller)
                        .about(Party::user(&user.username))
                        .with("passkey", name),
                )?;
                Ok(Ok(()))
            })?
    }

    /// Begins an authentication: for `user_id`'s passkeys (second factor:
    /// `allowCredentials` lists them), or for a discoverable credential
    /// that names its user (first factor) when `None`.
    pub fn begin_authentication(&self, user_id: Option<&str>) -> Result<Challenge, PasskeyError> {
        let webauthn = self.webauthn()?;
        let (mut options, ceremony) = match user_id {
            None => {
                let (options, state) = webauthn
                    .start_discoverable_authentication()
                    .map_err(|err| PasskeyError::Refused(err.to_string()))?;
                (options, Ceremony::Discoverable(state))
            }
            Some(user_id) => {
                let passkeys = self
                    .list(user_id)?
                    .iter()
                    .filter_map(|stored| passkey(stored).ok())
                    .collect::<Vec<_>>();
                if passkeys.is_empty() {
                    return Err(PasskeyError::NotEnrolled);
                }
                let (options, state) = webauthn
                    .start_passkey_authentication(&passkeys)
                    .map_err(|err| PasskeyError::Refused(err.to_string()))?;
                let user_id = user_id.to_owned();
                (options, Ceremony::ForUser { user_id, state })
            }
        };
        // webauthn-rs asks for conditional mediation (autofill) here; the
        // step has a button and no username input, so the modal prompt.
        options.mediation = None;
        Ok(Challenge {
            options: to_json(&options)?,
            state: to_json(&ceremony)?,
        })
    }

    /// Checks an assertion (the `PublicKeyCredential` of
    /// `navigator.credentials.get` as JSON) against the ceremony `state`
    /// began, and keeps the credential's counter, backup flags and last use
    /// up to date.
    pub fn finish_authentication(
        &self,
        state: &Value,
        assertion: &str,
    ) -> Result<Verified, PasskeyError> {
        let webauthn = self.webauthn()?;
        let assertion: PublicKeyCredential = serde_json::from_str(assertion)
            .map_err(|err| PasskeyError::Malformed(err.to_string()))?;
        let ceremony: Ceremony = from_json(state)?;
        let now = self.ctx.now();
        self.ctx
            .store
            .write(|tx| -> Result<Result<_, PasskeyError>, StoreError> {
                let ring = match &ceremony {
                    Ceremony::ForUser { user_id, .. } => tx.passkeys_of(user_id)?,
                    Ceremony::Discoverable(_) => {
                        match webauthn.identify_discoverable_authentication(&assertion) {
                            Ok((handle, _)) => {
                                tx.passkeys_by_handle(&handle.hyphenated().to_string())?
                            }
                            Err(err) => return Ok(Err(PasskeyError::Refused(err.to_string()))),
                        }
                    }
                };
                let Some(mut ring) = ring else {
                    return Ok(Err(PasskeyError::Refused("unknown user handle".into())));
                };
                let found = ring.credentials.iter().enumerate().find_map(|(i, stored)| {
                    let passkey = passkey(stored).ok()?;
                    (passkey.cred_id().as_slice() == assertion.get_credential_id())
                        .then_some((i, passkey))
                });
                let Some((index, mut passkey)) = found else {
                    return Ok(Err(PasskeyError::Refused("unknown credential".into())));
                };
                let result = match ceremony {
                    Ceremony::Discoverable(state) => {
                        webauthn.finish_discoverable_authentication_v2(&assertion, state, &passkey)
                    }
                    Ceremony::ForUser { state, .. } => {
                        webauthn.finish_passkey_authentication(&assertion, &state)
                    }
                };
                let result = match result {
                    Ok(result) => result,
                    Err(err) => return Ok(Err(PasskeyError::Refused(err.to_string()))),
                };
                passkey.update_credential(&result);
                let stored = &mut ring.credentials[index];
                stored.credential = to_json(&passkey)?;
                stored.last_used_at = Some(now);
                tx.put_passkeys(&ring)?;
                Ok(Ok(Verified {
                    user_id: ring.user_id,
                    backup_eligible: result.backup_eligible(),
                }))
            })?
    }
}

/// The relying party for `issuer`, with the `[passkeys]` overrides; the
/// reason when there can be none.
fn relying_party(settings: &Settings, issuer: &str) -> Result<Webauthn, String> {
    let config = &settings.passkeys;
    let issuer = Url::parse(issuer).map_err(|err| format!("issuer `{issuer}`: {err}"))?;
    let rp_id = match &config.rp_id {
        Some(rp_id) => rp_id.clone(),
        None => match issuer.host() {
            Some(Host::Domain(domain)) => domain.to_owned(),
            _ => {
                return Err(format!(
                    "the issuer `{issuer}` is on an IP address, which WebAuthn refuses as a \
                     relying-party id; serve tessera under a host name (http://localhost:PORT \
                     on one machine) and set `issuer`, or set `passkeys.rp_id`"
                ));
            }
        },
    };
    let origins = if config.origins.is_empty() {
        vec![issuer]
    } else {
        config
            .origins
            .iter()
            .map(|origin| {
                Url::parse(origin)
                    .map_err(|err| format!("config key `passkeys.origins`: `{origin}`: {err}"))
            })
            .collect::<Result<_, _>>()?
    };
    let (first, others) = origins
        .split_first()
        .ok_or_else(|| "no origin".to_owned())?;
    let mut builder = WebauthnBuilder::new(&rp_id, first).map_err(|_| {
        format!(
            "config key `passkeys.rp_id`: `{rp_id}` is not the host of `{first}` or a parent \
             domain of it"
        )
    })?;
    for origin in others {
        builder = builder.append_allowed_origin(origin);
    }
    if let Some(name) = &config.rp_name {
        builder = builder.rp_name(name);
    }
    builder
        .build()
        .map_err(|err| format!("WebAuthn relying party: {err}"))
}

/// A user's ring, made with a fresh random user handle when they have none.
fn ring_of(tx: &dyn WriteTx, user_id: &str) -> Result<PasskeyRing, StoreError> {
    if let Some(ring) = tx.passkeys_of(user_id)? {
        return Ok(ring);
    }
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    Ok(PasskeyRing {
        user_id: user_id.to_owned(),
        user_handle: Uuid::from_bytes(bytes).hyphenated().to_string(),
        credentials: Vec::new(),
        pending: None,
    })
}

/// A passkey's name, trimmed; an empty one becomes "Passkey".
fn checked_name(name: &str) -> Result<String, PasskeyError> {
    let name = name.trim();
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(PasskeyError::NameTooLong);
    }
    Ok(if name.is_empty() { "Passkey" } else { name }.to_owned())
}

fn passkey(stored: &PasskeyCredential) -> Result<Passkey, StoreError> {
    from_json(&stored.credential)
}

fn to_json<T: Serialize>(value: &T) -> Result<Value, StoreError> {
    serde_json::to_value(value).map_err(corrupt)
}

fn from_json<T: for<'de> Deserialize<'de>>(value: &Value) -> Result<T, StoreError> {
    T::deserialize(value).map_err(corrupt)
}

fn corrupt(source: serde_json::Error) -> StoreError {
    StoreError::Corrupt {
        kind: "passkeys",
        source,
    }
}
