//! User accounts: usernames, creation and administration, password
//! authentication with lockout, a user's own password change, TOTP,
//! recovery codes and a user's own second factor, and declarative seeding.
//! Synchronous domain code: callers run it off the async executor (it
//! hashes passwords).

mod conflicts;
mod directory;
pub mod lockout;
mod own_password;
pub mod policy;
pub mod recovery_codes;
mod second_factor;
mod seed;
pub mod totp;

use crate::audit;
use crate::context::Context;
use crate::metrics::{Counter, Metrics};
use crate::passwords::{HashError, Passwords};
use crate::secret::{SecretString, TokenHash, random_id};
use crate::sessions;
use crate::store::{self, PendingUser, ReadTx, StoreError, User};
use std::sync::Arc;
use time::OffsetDateTime;

pub use crate::username::{Username, UsernameError};
pub use conflicts::{UsernameConflict, username_conflicts};
pub use directory::{MAX_PAGE, Page, UserChanges};
pub use own_password::{OwnPasswordChange, PasswordChangeError};
pub use second_factor::{NewApp, SecondFactorError, SecondFactorRequest};
pub use seed::{Bootstrapped, SeedReport};

/// The accounts area's service: every operation on accounts, with the
/// password hasher that only accounts use. Built once by the composition
/// root (or a CLI command) around the core.
pub struct Accounts {
    ctx: Arc<Context>,
    passwords: Passwords,
    logins: LoginCounters,
}

impl Accounts {
    /// The service over `ctx`, hashing with `passwords` settings.
    pub fn new(ctx: Arc<Context>) -> Result<Self, HashError> {
        let passwords = Passwords::new(&ctx.settings.passwords)?;
        let logins = LoginCounters::new(&ctx.metrics);
        Ok(Self {
            ctx,
            passwords,
            logins,
        })
    }

    /// The password hasher, for a journey that hashes a chosen password
    /// before the account exists.
    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }
}

/// What account administration can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("invalid username: {0}")]
    InvalidUsername(#[from] UsernameError),
    #[error("the username `{0}` is taken")]
    UsernameTaken(String),
    #[error("the email address `{0}` belongs to another account")]
    EmailTaken(String),
    #[error("no user named `{0}`")]
    NotFound(String),
    #[error("no user with the id `{0}`")]
    NoSuchId(String),
    #[error("the password must not be empty")]
    EmptyPassword,
    #[error("the cursor is not one a previous page gave")]
    InvalidCursor,
    #[error("password refused: {0}")]
    WeakPassword(String),
    /// A `[[users]]` entry of the config declares the account: the file
    /// manages it, so that a restart never silently undoes an edit.
    #[error("the user `{0}` is declared in the config file, which manages it")]
    ManagedByConfig(String),
    /// The change would leave nobody who can administer tessera.
    #[error("`{0}` is the last enabled administrator: make another user an administrator first")]
    LastAdministrator(String),
    #[error("`{0}` is not a plain email address (name@example.com)")]
    InvalidEmail(String),
    #[error(transparent)]
    Hash(#[from] crate::passwords::HashError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a sign-in failed. The first two are shown to the user identically
/// whether or not the account exists.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error("too many failed attempts; locked until {0}")]
    Locked(OffsetDateTime),
    /// Too many failures from the client's address, over all usernames.
    #[error("too many failed attempts from this address; locked until {0}")]
    AddressLocked(OffsetDateTime),
    /// Only reported after the correct password, so it reveals nothing to
    /// someone who does not know it.
    #[error("the account is disabled")]
    Disabled,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Password sign-ins by outcome (`tessera_logins_total`), taken from the
/// metrics once, so that counting is an atomic add.
struct LoginCounters {
    succeeded: Counter,
    failed: Counter,
    locked: Counter,
    address_locked: Counter,
    disabled: Counter,
}

impl LoginCounters {
    fn new(metrics: &Metrics) -> Self {
        Self {
            succeeded: metrics.login_counter("succeeded"),
            failed: metrics.login_counter("failed"),
            locked: metrics.login_counter("locked"),
            address_locked: metrics.login_counter("address_locked"),
            disabled: metrics.login_counter("disabled"),
        }
    }

    /// Counts a sign-in's outcome; a store failure is no outcome.
    fn count(&self, outcome: &Result<User, LoginError>) {
        let counter = match outcome {
            Ok(_) => &self.succeeded,
            Err(LoginError::InvalidCredentials) => &self.failed,
            Err(LoginError::Locked(_)) => &self.locked,
            Err(LoginError::AddressLocked(_)) => &self.address_locked,
            Err(LoginError::Disabled) => &self.disabled,
            Err(LoginError::Store(_)) => return,
        };
        counter.inc();
    }
}

/// How a new password is set ([`Accounts::set_password`]).
#[derive(Debug, Clone, Copy)]
pub struct PasswordSet<'a> {
    /// `password.change` (the user proved their current password or a
    /// recent sign-in) or `password.reset` (something else, such as a code
    /// by mail).
    pub kind: audit::Kind,
    /// The session asking, which stays whatever else ends.
    pub keep: Option<&'a TokenHash>,
    /// Whether every other session of the user ends.
    pub end_other_sessions: bool,
    /// The client's address, for the audit log.
    pub address: Option<&'a str>,
    /// How the user proved it is them, for the audit log (`password`,
    /// `recent_sign_in`), when it is not the journey's to say.
    pub proof: Option<&'static str>,
}

/// A new account.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    pub password: Option<SecretString>,
    pub email: Option<String>,
    pub name: Option<String>,
    /// Holds the administrator role.
    #[serde(default)]
    pub admin: bool,
}

impl Accounts {
    /// Creates an account for `by`, and records it (`admin.user.create`);
    /// the password must pass the password policy and is hashed before the
    /// write transaction.
    pub fn create(&self, new: NewUser, by: &audit::Caller) -> Result<User, AccountError> {
        let username = Username::parse(&new.username)?;
        let password_hash = match &new.password {
            Some(password) => Some(self.chosen_password(&username, password)?),
            None => None,
        };
        let email = non_empty(new.email)
            .map(|email| checked_email(&email))
            .transpose()?;
        let now = self.ctx.now();
        let user = User {
            id: random_id(),
            username: username.as_str().to_owned(),
            username_normalized: username.normalized().to_owned(),
            email,
            // Accounts made by an administrator carry an address they vouch for.
            email_verified: true,
            name: non_empty(new.name),
            password_hash,
            disabled: false,
            created_at: now,
            updated_at: now,
            totp: None,
            recovery_codes: None,
            phone_number: None,
            address: None,
            admin: new.admin,
            managed_by_config: false,
        };
        self.ctx.store.write(|tx| {
            insert_new(tx, &user)?;
            let event = audit::Event::admin("user.create", by, audit::Party::user(&user.username));
            audit::record(&self.ctx, tx, event)?;
            Ok(user.clone())
        })
    }

    /// Creates the account of a registration journey that succeeded, inside
    /// the journey's final transaction. Its password was hashed and checked
    /// against the policy when it was chosen.
    pub fn register_in(
        &self,
        tx: &dyn store::WriteTx,
        pending: &PendingUser,
    ) -> Result<User, AccountError> {
        let username = Username::parse(&pending.username)?;
        let now = self.ctx.now();
        let user = User {
            id: random_id(),
            username: username.as_str().to_owned(),
            username_normalized: username.normalized().to_owned(),
            email: Some(pending.email.clone()),
            email_verified: pending.email_verified,
            name: pending.name.clone(),
            password_hash: Some(pending.password_hash.clone()),
            disabled: false,
            created_at: now,
            updated_at: now,
            totp: None,
            recovery_codes: None,
            phone_number: None,
            address: None,
            admin: false,
            managed_by_config: false,
        };
        insert_new(tx, &user)?;
        Ok(user)
    }

    /// Every account, ordered by username.
    pub fn list(&self) -> Result<Vec<User>, AccountError> {
        Ok(self.ctx.store.read(|tx| tx.users())?)
    }

    /// The account with this username.
    pub fn get_by_username(&self, username: &str) -> Result<User, AccountError> {
        let username = Username::parse(username)?;
        self.ctx
            .store
            .read(|tx| tx.user_by_username(username.normalized()))?
            .ok_or_else(|| AccountError::NotFound(username.as_str().to_owned()))
    }

    /// The account with this id.
    pub fn get(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.ctx.store.read(|tx| tx.user(id))
    }

    /// Forgets a user's authenticator app (a lost phone) and their recovery
    /// codes, which stand in for it, for `by`, who is recorded
    /// (`admin.user.totp.reset`): their next journey with a `totp` node
    /// leaves by `not_enrolled` and can enrol a new one, and a
    /// `recovery_code` node by `not_enrolled`. Their sessions end, as after
    /// any change of credentials. Returns whether an app was enrolled.
    pub fn reset_totp(&self, username: &str, by: &audit::Caller) -> Result<bool, AccountError> {
        let username = Username::parse(username)?;
        let now = self.ctx.now();
        self.ctx.store.write(|tx| {
            let mut user = tx
                .user_by_username(username.normalized())?
                .ok_or_else(|| AccountError::NotFound(username.as_str().to_owned()))?;
            let had = user.totp.take().is_some();
            let voided = recovery_codes::unused(&user);
            user.recovery_codes = None;
            sessions::end_all_in(&self.ctx, tx, &user.id, None)?;
            user.updated_at = now;
            tx.put_user(&user)?;
            let event =
                audit::Event::admin("user.totp.reset", by, audit::Party::user(&user.username))
                    .with("was_enrolled", had.to_string())
                    .with("recovery_codes_voided", voided.to_string());
            audit::record(&self.ctx, tx, event)?;
            Ok(had)
        })
    }

    /// Sets a new password for a user who proved who they are (a journey,
    /// or their account page), ends their other sessions as `how` says, and
    /// records it in the same write (with how many sessions ended).
    /// Returns the user.
    pub fn set_password(
        &self,
        user_id: &str,
        password: &SecretString,
        how: &PasswordSet<'_>,
    ) -> Result<User, AccountError> {
        let hash = self.passwords.hash(password)?;
        let now = self.ctx.now();
        self.ctx.store.write(|tx| {
            let mut user = tx
                .user(user_id)?
                .ok_or_else(|| AccountError::NotFound(user_id.to_owned()))?;
            user.password_hash = Some(hash);
            user.updated_at = now;
            tx.put_user(&user)?;
            let ended = if how.end_other_sessions {
                sessions::end_all_in(&self.ctx, tx, user_id, how.keep)?
            } else {
                0
            };
            let party = audit::Party::user(&user.username);
            let event = audit::Event::success(how.kind, party.clone())
                .about(party)
                .from_ip(how.address)
                .with("sessions_ended", ended.to_string());
            let event = match how.proof {
                Some(proof) => event.with("proof", proof),
                None => event,
            };
            audit::record(&self.ctx, tx, event)?;
            Ok(user)
        })
    }

    /// Checks a username and password, with lockout. Unknown usernames cost one
    /// argon2 verification like wrong passwords, and fail the same way.
    ///
    /// A locked username or address is refused before any hashing. The
    /// verdict on a checked password is given in one write that looks at
    /// the locks again, so attempts are decided one at a time: however many
    /// guesses run in parallel, no more than `max_failures` of them are
    /// answered before the lock, and the rest are refused as locked, right
    /// or wrong. Success forgets the count, so any number of right
    /// passwords may be checked at once. The outcome is counted for metrics.
    ///
    /// A refused password is audited (a `login` failure, and a `lockout` when
    /// it locks the username or the address) in the write that counts it
    /// against the address. Attempts refused while locked are not: the lockout
    /// event says until when, and an attacker cannot grow the log past it.
    pub fn authenticate(
        &self,
        username: &str,
        password: &SecretString,
        address: Option<&str>,
    ) -> Result<User, LoginError> {
        let outcome = self.check_password(username, password, address);
        self.logins.count(&outcome);
        outcome
    }

    fn check_password(
        &self,
        username: &str,
        password: &SecretString,
        address: Option<&str>,
    ) -> Result<User, LoginError> {
        let now = self.ctx.now();
        let settings = &self.ctx.settings.lockout;
        let address_key = address.map(lockout::address_key);
        let Ok(username) = Username::parse(username) else {
            // No account can have this name: nothing to count or audit.
            self.passwords.verify(password, None);
            return Err(LoginError::InvalidCredentials);
        };
        let key = username.normalized();
        let locked = |tx: &dyn ReadTx| -> Result<Option<LoginError>, StoreError> {
            if let Some(address) = &address_key
                && let Some(until) = lockout::locked_until(tx.throttle(address)?.as_ref(), now)
            {
                return Ok(Some(LoginError::AddressLocked(until)));
            }
            let until = lockout::locked_until(tx.throttle(key)?.as_ref(), now);
            Ok(until.map(LoginError::Locked))
        };
        let user = self.ctx.store.read(|tx| match locked(tx)? {
            Some(refusal) => Ok(Err(refusal)),
            None => Ok(Ok(tx.user_by_username(key)?)),
        })??;
        let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
        let verified = self.passwords.verify(password, hash);
        // Only an account's name is recorded: a name that is none may be a
        // password typed in the wrong field.
        let refused = |reason: &str| {
            let event = audit::Event::failure(audit::Kind::Login, audit::Party::anonymous())
                .from_ip(address)
                .with("method", "pwd")
                .with("reason", reason);
            match &user {
                Some(user) => event.about(audit::Party::user(&user.username)),
                None => event,
            }
        };
        self.ctx.store.write(|tx| {
            if let Some(refusal) = locked(tx)? {
                return Ok(Err(refusal));
            }
            // The account as it is now: its password may have changed, or
            // it may have been disabled or deleted, while the hash ran.
            let current = match user.as_ref().filter(|_| verified) {
                Some(checked) => tx
                    .user(&checked.id)?
                    .filter(|now| now.password_hash == checked.password_hash),
                None => None,
            };
            if let Some(user) = current {
                if user.disabled {
                    audit::record(&self.ctx, tx, refused("disabled"))?;
                    return Ok(Err(LoginError::Disabled));
                }
                tx.delete_throttle(key)?;
                return Ok(Ok(user));
            }
            audit::record(&self.ctx, tx, refused("invalid_credentials"))?;
            let counted = tx.throttle(key)?;
            let attempt = lockout::record_attempt(counted, now, settings, settings.max_failures);
            tx.put_throttle(key, &attempt)?;
            if let Some(until) = attempt.locked_until {
                let event = lockout_event("username", until, address);
                let event = match &user {
                    Some(user) => event.about(audit::Party::user(&user.username)),
                    None => event,
                };
                audit::record(&self.ctx, tx, event)?;
            }
            if let (Some(address), Some(address_key)) = (address, &address_key) {
                let counted = tx.throttle(address_key)?;
                let max = settings.max_failures_per_address;
                let attempt = lockout::record_attempt(counted, now, settings, max);
                tx.put_throttle(address_key, &attempt)?;
                if let Some(until) = attempt.locked_until {
                    let event = lockout_event("address", until, Some(address))
                        .about(audit::Party::address(address));
                    audit::record(&self.ctx, tx, event)?;
                }
            }
            Ok::<_, StoreError>(Err(LoginError::InvalidCredentials))
        })?
    }

    /// Counts one attempt under a throttle `key` (a code check, a mail sent…)
    /// before the attempt is made, so parallel attempts cannot all slip in.
    /// Returns when the lock ends if `max` attempts in the lockout window have
    /// been made already.
    pub fn count_attempt(&self, key: &str, max: u32) -> Result<Option<OffsetDateTime>, StoreError> {
        let now = self.ctx.now();
        let settings = &self.ctx.settings.lockout;
        self.ctx.store.write(|tx| {
            let counted = tx.throttle(key)?;
            if let Some(until) = lockout::locked_until(counted.as_ref(), now) {
                return Ok(Some(until));
            }
            tx.put_throttle(key, &lockout::record_attempt(counted, now, settings, max))?;
            Ok(None)
        })
    }

    /// Forgets the attempts under a throttle `key` (after a success).
    pub fn clear_attempts(&self, key: &str) -> Result<(), StoreError> {
        self.ctx.store.write(|tx| tx.delete_throttle(key))
    }

    /// Forgets failure counters that no longer matter; returns how many.
    pub fn purge_stale_throttles(&self) -> Result<usize, StoreError> {
        let now = self.ctx.now();
        let settings = &self.ctx.settings.lockout;
        self.ctx.store.write(|tx| {
            tx.delete_stale_throttles(now, crate::config::seconds(settings.window_secs))
        })
    }
}

/// A lockout of a failure `counter` (`username`, `address`, `totp`) until
/// `until`, caused by a request from `address`.
pub(crate) fn lockout_event(
    counter: &str,
    until: OffsetDateTime,
    address: Option<&str>,
) -> audit::Event {
    audit::Event::failure(audit::Kind::Lockout, audit::Party::anonymous())
        .from_ip(address)
        .with("counter", counter)
        .with("until", audit::timestamp(until))
}

impl Accounts {
    /// The hash of a password chosen for `username`, if the password
    /// policy (`policy::refusal`) accepts it.
    fn chosen_password(
        &self,
        username: &Username,
        password: &SecretString,
    ) -> Result<String, AccountError> {
        if password.expose().is_empty() {
            return Err(AccountError::EmptyPassword);
        }
        let min_length = self.ctx.settings.passwords.min_length;
        if let Some(refusal) = policy::refusal(password.expose(), Some(username), min_length) {
            return Err(AccountError::WeakPassword(refusal));
        }
        Ok(self.passwords.hash(password)?)
    }
}

/// A plain address, as the mailer will use it.
fn checked_email(email: &str) -> Result<String, AccountError> {
    crate::mail::Address::parse(email)
        .map(|address| address.as_str().to_owned())
        .ok_or_else(|| AccountError::InvalidEmail(email.to_owned()))
}

pub(crate) fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Stores a new account if its username and email are free.
fn insert_new(tx: &dyn store::WriteTx, user: &User) -> Result<(), AccountError> {
    if tx.user_by_username(&user.username_normalized)?.is_some() {
        return Err(AccountError::UsernameTaken(user.username.clone()));
    }
    if let Some(email) = &user.email
        && tx.user_by_email(email)?.is_some()
    {
        return Err(AccountError::EmailTaken(email.clone()));
    }
    tx.put_user(user)?;
    Ok(())
}

/// Removes `user` with their sessions, push requests, remembered devices,
/// passkeys, consents and refresh tokens (whose access tokens go on the deny-list):
/// nothing they were signed in to keeps working.
fn remove_in(ctx: &Context, tx: &dyn store::WriteTx, user: &User) -> Result<(), StoreError> {
    sessions::end_all_in(ctx, tx, &user.id, None)?;
    for request in tx.push_requests_of(&user.id)? {
        tx.delete_push_request(&request.id)?;
    }
    tx.put_devices(&user.id, &[])?;
    tx.delete_passkeys(&user.id)?;
    for consent in tx.consents_of(&user.id)? {
        tx.delete_consent(&user.id, &consent.client_id)?;
    }
    // First-party clients hold refresh tokens without a consent record.
    for client in tx.clients()? {
        for family in tx.families_of(&user.id, &client.client_id)? {
            tx.delete_family(&family)?;
        }
    }
    tx.delete_user(user)
}
