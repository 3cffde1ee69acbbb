//! What a transaction can do, table family by table family: the contract
//! every storage backend implements, in tessera's own types.
//!
//! Each family has a trait of reads, which a read transaction offers, and a
//! trait of writes, which only a write transaction offers; [`ReadTx`] and
//! [`WriteTx`] gather them. What a backend must guarantee:
//!
//! - Every write of one [`crate::store::Store::write`] closure commits or
//!   aborts together, and a write transaction reads its own changes.
//! - Transactions are serialisable: the outcome is that of some serial order
//!   of the committed ones, reads that found nothing included (a username
//!   found free stays free until the commit). The multi-record invariants
//!   rest on this: a code redeemed once, a refresh token rotated once, a
//!   journey taken once, a failure counted in the transaction that checks
//!   the lock.
//! - A read transaction sees every commit made before it began, by any
//!   process, and nothing committed after.
//! - A transaction in which a statement failed never commits:
//!   [`Transaction::commit`] reports the failure, even when the closure
//!   went on and returned `Ok`.
//! - `put_*` inserts or replaces, never failing because the record exists,
//!   and keeps one index entry per record however often it is put.
//!
//! Keys that are tokens are SHA-256 digests of the token ([`TokenHash`]),
//! never the token.

use super::{
    AuditEntry, AuditEvent, AuditFilter, AuditPosition, AuthorizationCode, Client, Consent,
    DeviceAuthorization, InitialAccessToken, JourneyState, KnownDevice, LoginThrottle,
    LogoutNotice, PasskeyRing, PushRequest, PushedRequest, RefreshToken, Session, SigningKey,
    StoreError, User,
};
use crate::secret::TokenHash;
use time::{Duration, OffsetDateTime};

type Result<T> = std::result::Result<T, StoreError>;

/// Users, with unique indexes on the normalised username and on the email
/// ([`normalize_email`]); a user put with another's email takes it over.
pub trait UserReads {
    /// The user with this id.
    fn user(&self, id: &str) -> Result<Option<User>>;
    /// The user with this normalised username (`Username::normalized`).
    fn user_by_username(&self, normalized: &str) -> Result<Option<User>>;
    /// The user whose email address, in [`normalize_email`] form, equals
    /// that of `email`.
    fn user_by_email(&self, email: &str) -> Result<Option<User>>;
    /// Every user, ordered by normalised username (byte order).
    fn users(&self) -> Result<Vec<User>>;
    /// At most `limit` users in normalised-username order, starting after
    /// the normalised username `after` (from the first without it): a page
    /// of a long list.
    fn users_after(&self, after: Option<&str>, limit: usize) -> Result<Vec<User>>;
    /// Whether any user exists.
    fn any_user(&self) -> Result<bool>;
}

/// Changes to users.
pub trait UserWrites {
    /// Inserts or replaces a user and keeps both indexes in step. The caller
    /// has checked that the normalised username is free or already theirs.
    fn put_user(&self, user: &User) -> Result<()>;
    /// Removes a user from the table and both indexes (an email index entry
    /// only if it is this user's). Their sessions are the caller's to remove.
    fn delete_user(&self, user: &User) -> Result<()>;
}

/// Sessions, keyed by the hash of their token.
pub trait SessionReads {
    /// The session whose token hashes to `hash`.
    fn session(&self, hash: &TokenHash) -> Result<Option<Session>>;
    /// Every session of a user, with the hash it is stored under.
    fn sessions_of(&self, user_id: &str) -> Result<Vec<(TokenHash, Session)>>;
    /// How many sessions are stored, ended ones not yet deleted included;
    /// cheap whatever the number (it is read at every metrics scrape).
    fn session_count(&self) -> Result<u64>;
}

/// Changes to sessions.
pub trait SessionWrites {
    /// Inserts or replaces a session.
    fn put_session(&self, hash: &TokenHash, session: &Session) -> Result<()>;
    /// Removes a session; returns it if it existed.
    fn delete_session(&self, hash: &TokenHash) -> Result<Option<Session>>;
    /// Removes every session that has ended by `now`
    /// ([`Session::expires_at`] with `idle`); returns them.
    fn delete_expired_sessions(&self, now: OffsetDateTime, idle: Duration) -> Result<Vec<Session>>;
}

/// Back-channel logout notices waiting for delivery, by id.
pub trait LogoutReads {
    /// The notice with this id.
    fn logout_notice(&self, id: &str) -> Result<Option<LogoutNotice>>;
    /// At most `limit` notices whose `next_attempt_at` is `now` or earlier,
    /// the longest due first, with their ids.
    fn logout_notices_due(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<(String, LogoutNotice)>>;
}

/// Changes to back-channel logout notices.
pub trait LogoutWrites {
    /// Inserts or replaces a notice.
    fn put_logout_notice(&self, id: &str, notice: &LogoutNotice) -> Result<()>;
    /// Removes a notice; returns whether it was there.
    fn delete_logout_notice(&self, id: &str) -> Result<bool>;
}

/// Journeys in progress, keyed by the hash of their `auth_id`.
pub trait JourneyReads {
    /// The journey whose `auth_id` hashes to `hash`.
    fn journey(&self, hash: &TokenHash) -> Result<Option<JourneyState>>;
}

/// Changes to journeys. A write transaction holds the write lock, so
/// nothing changes between the reads and writes of one method.
pub trait JourneyWrites: JourneyReads {
    /// Inserts or replaces a journey's state.
    fn put_journey(&self, hash: &TokenHash, state: &JourneyState) -> Result<()>;
    /// Replaces a journey's state only if it is still stored; returns whether
    /// it was, so a step racing the journey's end cannot bring it back.
    /// Attempt counts never go down: a stored count is kept if higher.
    fn replace_journey(&self, hash: &TokenHash, state: &JourneyState) -> Result<bool> {
        let Some(stored) = self.journey(hash)? else {
            return Ok(false);
        };
        self.put_journey(hash, &state.keeping_attempts_of(&stored))?;
        Ok(true)
    }
    /// Counts a failed attempt at `node` on the stored state; returns the
    /// new count, or `None` if the journey is over.
    fn count_journey_attempt(&self, hash: &TokenHash, node: &str) -> Result<Option<u32>> {
        let Some(mut state) = self.journey(hash)? else {
            return Ok(None);
        };
        let count = state.count_attempt(node);
        self.put_journey(hash, &state)?;
        Ok(Some(count))
    }
    /// Removes and returns a journey's state: whoever takes it finishes it,
    /// so a finished journey cannot be replayed.
    fn take_journey(&self, hash: &TokenHash) -> Result<Option<JourneyState>>;
    /// Removes journeys that expired by `now`; returns how many.
    fn delete_expired_journeys(&self, now: OffsetDateTime) -> Result<usize>;
}

/// Failure counters (sign-in, TOTP, client authentication), by opaque key.
pub trait ThrottleReads {
    /// The counter for a key, if there is one.
    fn throttle(&self, key: &str) -> Result<Option<LoginThrottle>>;
}

/// Changes to failure counters.
pub trait ThrottleWrites {
    /// Records the counter for a key.
    fn put_throttle(&self, key: &str, throttle: &LoginThrottle) -> Result<()>;
    /// Forgets a key's failures (after a success).
    fn delete_throttle(&self, key: &str) -> Result<()>;
    /// Removes the counters that no longer matter by `now`
    /// ([`LoginThrottle::is_stale`] with `window`); returns how many.
    fn delete_stale_throttles(&self, now: OffsetDateTime, window: Duration) -> Result<usize>;
}

/// Leases on periodic work (the purge), so that servers sharing the store
/// take turns rather than all doing it.
pub trait LeaseWrites {
    /// Gives the lease `name` to `holder` until `until` if it is free (never
    /// taken, or ended by `now`) or already `holder`'s; returns whether
    /// `holder` has it now.
    fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool>;
}

/// Push requests (`push_approval`), by id.
pub trait PushReads {
    /// The push request with this id.
    fn push_request(&self, id: &str) -> Result<Option<PushRequest>>;
    /// Every push request of a user, whatever its status.
    fn push_requests_of(&self, user_id: &str) -> Result<Vec<PushRequest>>;
}

/// Changes to push requests.
pub trait PushWrites {
    /// Inserts or replaces a push request.
    fn put_push_request(&self, request: &PushRequest) -> Result<()>;
    /// Removes a push request; returns it if it existed.
    fn delete_push_request(&self, id: &str) -> Result<Option<PushRequest>>;
    /// Removes the push requests that expired by `now`; returns how many.
    fn delete_expired_push_requests(&self, now: OffsetDateTime) -> Result<usize>;
}

/// The devices each user has remembered (`remember_device`).
pub trait DeviceReads {
    /// A user's remembered devices.
    fn devices_of(&self, user_id: &str) -> Result<Vec<KnownDevice>>;
}

/// Changes to remembered devices.
pub trait DeviceWrites {
    /// Replaces a user's remembered devices; an empty list removes them all.
    fn put_devices(&self, user_id: &str, devices: &[KnownDevice]) -> Result<()>;
}

/// Users' passkeys, one [`PasskeyRing`] per user, with a unique index on
/// the WebAuthn user handle.
pub trait PasskeyReads {
    /// A user's passkeys.
    fn passkeys_of(&self, user_id: &str) -> Result<Option<PasskeyRing>>;
    /// The passkeys whose WebAuthn user handle this is.
    fn passkeys_by_handle(&self, user_handle: &str) -> Result<Option<PasskeyRing>>;
}

/// Changes to passkeys.
pub trait PasskeyWrites {
    /// Inserts or replaces a user's passkeys and indexes their handle (the
    /// handle of a user never changes).
    fn put_passkeys(&self, ring: &PasskeyRing) -> Result<()>;
    /// Removes a user's passkeys and their handle.
    fn delete_passkeys(&self, user_id: &str) -> Result<()>;
}

/// OAuth clients and the consents users gave them.
pub trait ClientReads {
    /// The client with this id.
    fn client(&self, client_id: &str) -> Result<Option<Client>>;
    /// Every client, ordered by id.
    fn clients(&self) -> Result<Vec<Client>>;
    /// What a user granted a client.
    fn consent(&self, user_id: &str, client_id: &str) -> Result<Option<Consent>>;
    /// Every consent a user gave.
    fn consents_of(&self, user_id: &str) -> Result<Vec<Consent>>;
    /// The initial access token whose keyed hash is `hash`.
    fn initial_access_token(&self, hash: &str) -> Result<Option<InitialAccessToken>>;
}

/// Changes to clients and consents.
pub trait ClientWrites {
    /// Inserts or replaces a client.
    fn put_client(&self, client: &Client) -> Result<()>;
    /// Removes a client; returns whether it existed.
    fn delete_client(&self, client_id: &str) -> Result<bool>;
    /// Records a consent.
    fn put_consent(&self, consent: &Consent) -> Result<()>;
    /// Forgets a consent; returns whether there was one.
    fn delete_consent(&self, user_id: &str, client_id: &str) -> Result<bool>;
    /// Stores an initial access token under its keyed hash.
    fn put_initial_access_token(&self, hash: &str, token: &InitialAccessToken) -> Result<()>;
    /// Removes an initial access token.
    fn delete_initial_access_token(&self, hash: &str) -> Result<()>;
    /// Removes the initial access tokens expired at `now`; returns how many.
    fn delete_expired_initial_access_tokens(&self, now: OffsetDateTime) -> Result<usize>;
}

/// What the token endpoint issues and checks: authorization codes, refresh
/// tokens in families, and the deny-list of revoked access tokens.
pub trait GrantReads {
    /// The code whose hash this is.
    fn code(&self, hash: &TokenHash) -> Result<Option<AuthorizationCode>>;
    /// The refresh token whose hash this is.
    fn refresh_token(&self, hash: &TokenHash) -> Result<Option<RefreshToken>>;
    /// The refresh token families of a user's grant to a client.
    fn families_of(&self, user_id: &str, client_id: &str) -> Result<Vec<String>>;
    /// Whether the access token with this `jti` was revoked.
    fn is_jti_revoked(&self, jti: &str) -> Result<bool>;
    /// The device authorization whose device code has this hash.
    fn device_authorization(&self, device_code: &TokenHash) -> Result<Option<DeviceAuthorization>>;
    /// The hash of the device code whose user code has this hash.
    fn device_code_of(&self, user_code: &TokenHash) -> Result<Option<TokenHash>>;
    /// The pushed authorization request whose reference has this hash.
    fn pushed_request(&self, reference: &TokenHash) -> Result<Option<PushedRequest>>;
}

/// Changes to codes, refresh tokens and the deny-list.
pub trait GrantWrites {
    /// Inserts or replaces a code.
    fn put_code(&self, hash: &TokenHash, code: &AuthorizationCode) -> Result<()>;
    /// Inserts or replaces a refresh token, in its family and its grant.
    fn put_refresh_token(&self, hash: &TokenHash, token: &RefreshToken) -> Result<()>;
    /// Records an access token issued in a family, so that revoking the
    /// family revokes it too.
    fn record_access(&self, family: &str, jti: &str, expires_at: OffsetDateTime) -> Result<()>;
    /// Removes every refresh token of a family and puts its recorded access
    /// tokens on the deny-list; returns how many refresh tokens went.
    fn delete_family(&self, family: &str) -> Result<usize>;
    /// Puts an access token's `jti` on the deny-list until it expires.
    fn revoke_jti(&self, jti: &str, expires_at: OffsetDateTime) -> Result<()>;
    /// Inserts or replaces a device authorization, under its device code's
    /// hash and indexed by its `user_code_hash`.
    fn put_device_authorization(
        &self,
        device_code: &TokenHash,
        authorization: &DeviceAuthorization,
    ) -> Result<()>;
    /// Inserts a pushed authorization request under its reference's hash.
    fn put_pushed_request(&self, reference: &TokenHash, request: &PushedRequest) -> Result<()>;
    /// Removes a pushed authorization request; returns it if it was there
    /// (its single use).
    fn take_pushed_request(&self, reference: &TokenHash) -> Result<Option<PushedRequest>>;
    /// Records a DPoP proof (the hash of its key and `jti`) as used until
    /// `until`, unless it already is; returns whether it was new (`false`:
    /// a replay).
    fn remember_dpop_proof(&self, proof: &TokenHash, until: OffsetDateTime) -> Result<bool>;
    /// Removes what expired by `now`: deny-list entries, codes that expired
    /// `keep_codes_for` ago (a used code stays as long as what it issued
    /// could be replayed), device authorizations likewise, pushed
    /// authorization requests, DPoP proofs, and refresh tokens. A family left without tokens
    /// goes as [`GrantWrites::delete_family`] would. Returns how many
    /// deny-list entries, codes and refresh tokens went.
    fn delete_expired_grants(&self, now: OffsetDateTime, keep_codes_for: Duration)
    -> Result<usize>;
}

/// Signing keys.
pub trait KeyReads {
    /// Every signing key, retired ones included.
    fn signing_keys(&self) -> Result<Vec<SigningKey>>;
}

/// Changes to signing keys.
pub trait KeyWrites {
    /// Inserts or replaces a key.
    fn put_signing_key(&self, key: &SigningKey) -> Result<()>;
    /// Removes a key.
    fn delete_signing_key(&self, kid: &str) -> Result<()>;
}

/// The audit log: security events in the order of their time, then of
/// their recording.
pub trait AuditReads {
    /// The events `filter` lets through, newest first, at most `limit`.
    fn audit_events(&self, filter: &AuditFilter, limit: usize) -> Result<Vec<AuditEntry>>;
}

/// Changes to the audit log: appending, and forgetting old events.
pub trait AuditWrites {
    /// Appends an event; returns its position, whose `seq` is higher than
    /// that of every event appended before it.
    fn append_audit_event(&self, event: &AuditEvent) -> Result<AuditPosition>;
    /// Removes every event from before `before`; returns how many.
    fn delete_audit_events_before(&self, before: OffsetDateTime) -> Result<usize>;
}

/// A consistent snapshot: every family's reads.
pub trait ReadTx:
    UserReads
    + SessionReads
    + LogoutReads
    + JourneyReads
    + ThrottleReads
    + PushReads
    + DeviceReads
    + PasskeyReads
    + ClientReads
    + GrantReads
    + KeyReads
    + AuditReads
{
}

impl<T> ReadTx for T where
    T: UserReads
        + SessionReads
        + LogoutReads
        + JourneyReads
        + ThrottleReads
        + PushReads
        + DeviceReads
        + PasskeyReads
        + PasskeyReads
        + ClientReads
        + GrantReads
        + KeyReads
        + AuditReads
{
}

/// A write transaction: every family's reads, which see its own uncommitted
/// changes, and writes.
pub trait WriteTx:
    ReadTx
    + UserWrites
    + SessionWrites
    + LogoutWrites
    + JourneyWrites
    + ThrottleWrites
    + LeaseWrites
    + PushWrites
    + DeviceWrites
    + PasskeyWrites
    + ClientWrites
    + GrantWrites
    + KeyWrites
    + AuditWrites
{
}

impl<T> WriteTx for T where
    T: ReadTx
        + UserWrites
        + SessionWrites
        + LogoutWrites
        + JourneyWrites
        + ThrottleWrites
        + LeaseWrites
        + PushWrites
        + DeviceWrites
        + PasskeyWrites
        + PasskeyWrites
        + ClientWrites
        + GrantWrites
        + KeyWrites
        + AuditWrites
{
}

/// A backend's write transaction as [`crate::store::Store`] drives it:
/// committed when the closure succeeds, dropped (aborted) otherwise.
pub trait Transaction: WriteTx {
    /// Makes every change of the transaction visible, or none of them; fails
    /// if any statement of the transaction failed.
    fn commit(self: Box<Self>) -> Result<()>;
}

/// The form in which email addresses are compared.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}
