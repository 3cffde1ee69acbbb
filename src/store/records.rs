//! The records tessera persists, in tessera's own types. Domain modules
//! build and read these; only the store knows how they are encoded.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Stable, never reused identifier (the future OIDC `sub`).
    pub id: String,
    /// The username as the user chose it.
    pub username: String,
    /// The username as compared: unique across users.
    pub username_normalized: String,
    pub email: Option<String>,
    /// Whether the user proved they receive mail at `email`.
    #[serde(default)]
    pub email_verified: bool,
    pub name: Option<String>,
    /// argon2id PHC string; `None` for an account that cannot use a password.
    pub password_hash: Option<String>,
    pub disabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// The user's authenticator app, once enrolled. (Records written before
    /// TOTP existed have none.)
    #[serde(default)]
    pub totp: Option<TotpEnrollment>,
    /// The user's set of recovery codes, once made. (Records written before
    /// recovery codes existed have none.)
    #[serde(default)]
    pub recovery_codes: Option<RecoveryCodes>,
    /// Optional OpenID Connect `phone` scope attribute (E.164 preferred).
    #[serde(default)]
    pub phone_number: Option<String>,
    /// Optional OpenID Connect `address` scope attribute, as one text.
    #[serde(default)]
    pub address: Option<String>,
    /// Holds the administrator role: may use `/admin` and `/admin/api`.
    #[serde(default)]
    pub admin: bool,
    /// Declared by a `[[users]]` entry of the config, which is its source
    /// of truth: administration refuses to change it, so that a restart
    /// never silently undoes an edit. Cleared when the entry goes.
    #[serde(default)]
    pub managed_by_config: bool,
}

/// A TOTP (RFC 6238) enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpEnrollment {
    /// The shared secret, sealed (`seal::Sealer`): the server must compute
    /// codes from it, so it cannot be hashed, and the key is not in the store.
    pub sealed_secret: String,
    /// The last time step whose code was accepted: RFC 6238 §5.2, a code is
    /// accepted once, so only later steps pass.
    pub last_step: u64,
    /// When the app was set up. (Enrollments made before it was kept have
    /// none.)
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub enrolled_at: Option<OffsetDateTime>,
}

/// A set of single-use recovery codes (`accounts::recovery_codes`), kept
/// only as keyed hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodes {
    /// When the set was made.
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// The codes of the set, in the order they were shown.
    pub codes: Vec<RecoveryCode>,
}

/// One recovery code of a set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCode {
    /// HMAC-SHA256 of the code under the server's key (`seal::Sealer::mac`).
    pub mac: String,
    /// When it was used; a used code never works again.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub used_at: Option<OffsetDateTime>,
}

/// A session, stored under the hash of its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Public identifier, used to end a session from /account; not a secret.
    pub id: String,
    pub user_id: String,
    /// The journey that created the session.
    pub journey: String,
    /// Authentication methods completed (RFC 8176 values such as `pwd`).
    pub amr: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub auth_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Updated coarsely (see `sessions::validate`), so validation is a read.
    #[serde(with = "time::serde::rfc3339")]
    pub last_used_at: OffsetDateTime,
    /// The hard end of the session, whatever its use.
    #[serde(with = "time::serde::rfc3339")]
    pub absolute_expires_at: OffsetDateTime,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// The clients that received an ID token in this session (its `sid`
    /// names the session's `id`), in the order they first did: each is
    /// sent a back-channel logout token when the session ends.
    #[serde(default)]
    pub id_token_clients: Vec<String>,
}

/// A back-channel logout token waiting to be delivered (OpenID Connect
/// Back-Channel Logout 1.0 §2.5): one per client of a session that ended,
/// stored under its id, which is the token's `jti`, until the client
/// acknowledges it or the attempts run out. The token itself is signed at
/// each attempt and never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutNotice {
    pub client_id: String,
    /// The user whose session ended: the token's `sub`.
    pub user_id: String,
    /// The session that ended: the token's `sid`.
    pub session_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub ended_at: OffsetDateTime,
    /// Attempts begun so far.
    pub attempts: u32,
    /// When the next attempt is due. An attempt in flight moves it past
    /// the attempt's timeout, so that no other process makes it meanwhile.
    #[serde(with = "time::serde::rfc3339")]
    pub next_attempt_at: OffsetDateTime,
}

/// The server-side state of a journey in progress, stored under the hash of
/// its `auth_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JourneyState {
    pub journey: String,
    /// The node waiting for input.
    pub node: String,
    /// The user identified so far, if any: a session is issued for them.
    pub user_id: Option<String>,
    /// A user named but not yet proven (`identify`): a later node that
    /// proves it (a one-time code to their address) makes it `user_id`.
    #[serde(default)]
    pub claimed_user_id: Option<String>,
    /// The name as typed in `identify` (normalised), whether or not an
    /// account has it: attempts are throttled by it, alike for both.
    #[serde(default)]
    pub claimed_name: Option<String>,
    /// Methods completed so far.
    pub amr: Vec<String>,
    /// Where to send the browser on success; already checked to be safe.
    pub goto: Option<String>,
    /// A message for the user about the last step (e.g. why it failed).
    pub message: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Failed attempts per node, limited by each node's `max_attempts`.
    #[serde(default)]
    pub attempts: BTreeMap<String, u32>,
    /// Per-node working data (a code's hash, a pending request's id…),
    /// keyed by node id; only the node that wrote it reads it.
    #[serde(default)]
    pub data: BTreeMap<String, serde_json::Value>,
    /// An account being registered: created only when the journey succeeds.
    #[serde(default)]
    pub pending_user: Option<PendingUser>,
    /// The session being stepped up, if the journey runs on one: it gains
    /// the journey's methods instead of a new session being issued.
    #[serde(default)]
    pub step_up_session: Option<String>,
    /// The device profiled by `device_profile`, for `remember_device`.
    #[serde(default)]
    pub device: Option<ProfiledDevice>,
}

/// A device as `device_profile` saw it during a journey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfiledDevice {
    /// See `journeys::devices::fingerprint`.
    pub fingerprint: String,
    /// Browser and system in words ("Chrome 120 on Linux").
    pub label: String,
}

/// A registration waiting for the journey to succeed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingUser {
    pub username: String,
    pub email: String,
    pub name: Option<String>,
    pub password_hash: String,
    #[serde(default)]
    pub email_verified: bool,
    /// The `register` node that took the details, to return to when the
    /// username turns out to be taken as the account is created.
    #[serde(default)]
    pub from_node: String,
    /// The username was found taken at the end: the `register` node asks
    /// for another one only.
    #[serde(default)]
    pub username_taken: bool,
}

/// Failed sign-ins for one username, whether or not such a user exists, so
/// that throttling reveals nothing about which accounts exist; or failed
/// TOTP codes for one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginThrottle {
    pub failures: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub window_started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub locked_until: Option<OffsetDateTime>,
}

/// A request to approve a sign-in from a device where the user is already
/// signed in (`push_approval`), stored under its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRequest {
    /// Random, unguessable: only the journey and the user's sessions know it.
    pub id: String,
    pub user_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// After this, the request can no longer be answered.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub status: PushStatus,
    /// Where the sign-in comes from, so the user can judge it.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The number the signing-in page shows, which the approver must pick.
    /// Requests stored before number matching have none and cannot be
    /// approved (they expire within minutes).
    #[serde(default)]
    pub number: u8,
    /// The numbers the approver picks from: `number` and decoys, in the
    /// order shown. Fixed at creation, so a reload reveals nothing.
    #[serde(default)]
    pub choices: Vec<u8>,
}

/// Where a push request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushStatus {
    Pending,
    Approved,
    Denied,
}

/// A device a user has signed in from and that a journey remembered
/// (`remember_device`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownDevice {
    /// Public identifier, used to forget the device from /account.
    pub id: String,
    pub fingerprint: String,
    /// Browser and system in words ("Chrome 120 on Linux").
    pub label: String,
    /// The name the user gave it on /account, shown instead of the label.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen: OffsetDateTime,
    /// When a journey last recognised or remembered the device.
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen: OffsetDateTime,
}

/// A user's passkeys (WebAuthn credentials) and their WebAuthn user
/// handle: one record per user, as they have a handful, always read
/// together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyRing {
    pub user_id: String,
    /// The WebAuthn user handle (a random UUID, hyphenated): what a
    /// discoverable credential gives back to find the user. Never the
    /// username, which authenticators would keep and show.
    pub user_handle: String,
    pub credentials: Vec<PasskeyCredential>,
    /// A registration begun on /account and not finished yet.
    #[serde(default)]
    pub pending: Option<PendingRegistration>,
}

/// One passkey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyCredential {
    /// Public identifier, used by /account forms.
    pub id: String,
    /// The name the user gave it.
    pub name: String,
    /// The credential as the WebAuthn library keeps it (public key, sign
    /// counter, backup flags), as JSON: no secret, and opaque to the store.
    pub credential: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

/// A passkey registration waiting for the authenticator's answer: single
/// use, bound to the session that began it, short-lived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRegistration {
    pub session_id: String,
    /// The name the passkey will get.
    pub name: String,
    /// The WebAuthn library's ceremony state (the challenge), as JSON.
    pub state: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// An OAuth 2.0 client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    /// Keyed hash of the secret; `None` for a public client.
    pub secret_hash: Option<String>,
    pub name: String,
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub grant_types: Vec<String>,
    pub first_party: bool,
    pub logo_uri: Option<String>,
    pub client_uri: Option<String>,
    pub require_pkce: bool,
    pub audience: Vec<String>,
    pub access_token_ttl_secs: Option<u64>,
    pub refresh_token_ttl_secs: Option<u64>,
    pub signing_alg: Option<crate::jwa::SigningAlg>,
    pub journey: Option<String>,
    #[serde(default)]
    pub require_nonce: bool,
    /// May exchange session tokens for its tokens (RFC 8693).
    #[serde(default)]
    pub token_exchange: bool,
    /// May introspect any access token.
    #[serde(default)]
    pub resource_server: bool,
    /// Its authorization requests must be pushed first (RFC 9126).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// Where it takes back-channel logout tokens (OpenID Connect
    /// Back-Channel Logout 1.0 §2.2).
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// Whether it asked for `sid` in logout tokens (tessera always sends it).
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
    /// Must prove a DPoP key at every token request (RFC 9449 §5.2).
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    /// Declared by a `[[clients]]` entry of the config (see
    /// [`User::managed_by_config`]).
    #[serde(default)]
    pub managed_by_config: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Registered by the client itself (RFC 7591): how it manages its
    /// registration.
    #[serde(default)]
    pub registration: Option<ClientRegistration>,
}

/// What a dynamically registered client keeps of its registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRegistration {
    /// Keyed hash of the registration access token (RFC 7592).
    pub access_token_hash: String,
    /// The `token_endpoint_auth_method` it registered, as it is answered.
    pub token_endpoint_auth_method: String,
}

/// An initial access token an administrator minted for dynamic client
/// registration (RFC 7591 §3), stored under its keyed hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitialAccessToken {
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Registrations it may still make.
    pub uses_left: u32,
    /// Who minted it, as the audit log names them.
    pub created_by: String,
}

/// The scopes a user granted a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub user_id: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub granted_at: OffsetDateTime,
}

/// An authorization code, stored under its hash until it expires; a used
/// code is kept (marked) so that a replay can revoke what it issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationCode {
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    /// Whether the authorization request named `redirect_uri`: then the
    /// token request must name it too (RFC 6749 §4.1.3).
    #[serde(default)]
    pub redirect_uri_given: bool,
    pub code_challenge: Option<String>,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub auth_time: OffsetDateTime,
    /// How the user authenticated (the session's methods and journey),
    /// for the ID token's `amr` and `acr`.
    #[serde(default)]
    pub amr: Vec<String>,
    #[serde(default)]
    pub acr: Option<String>,
    /// The session the user authorized in: the ID token's `sid`.
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Set when redeemed: what it issued, for revocation on replay.
    #[serde(default)]
    pub redeemed: Option<Issued>,
    /// RFC 9449 §10: the thumbprint of the DPoP key the token request
    /// must prove, from the authorization request's `dpop_jkt`.
    #[serde(default)]
    pub dpop_jkt: Option<String>,
}

/// A device authorization (RFC 8628 §3.2), stored under the hash of its
/// device code and found through the hash of its user code, until it
/// expires (and a while after, so a late poll hears `expired_token`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceAuthorization {
    pub client_id: String,
    pub scopes: Vec<String>,
    /// SHA-256 of the normalised user code: the key of the index entry
    /// that finds this record, removed with it.
    pub user_code_hash: [u8; 32],
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The least seconds between two polls; grows by 5 at each `slow_down`.
    pub interval_secs: u64,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_polled_at: Option<OffsetDateTime>,
    pub status: DeviceStatus,
}

/// Where a device authorization stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    /// The user has not decided yet.
    Pending,
    /// The user allowed it; the next poll gets the tokens.
    Approved(DeviceApproval),
    /// The user denied it.
    Denied,
    /// The tokens were issued: the device code is spent.
    Redeemed,
}

/// Who allowed a device, and how they had signed in (for the tokens'
/// `auth_time`, `amr` and `acr`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceApproval {
    pub user_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub auth_time: OffsetDateTime,
    #[serde(default)]
    pub amr: Vec<String>,
    #[serde(default)]
    pub acr: Option<String>,
    /// The session the user allowed the device in: the ID token's `sid`.
    #[serde(default)]
    pub sid: Option<String>,
}

/// A pushed authorization request (RFC 9126), stored under the hash of
/// the reference in its `request_uri` until a code is issued for it (or
/// the user denies it), or it expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedRequest {
    pub client_id: String,
    /// The authorization request's parameters as pushed: a JSON object,
    /// read back by the OAuth area.
    pub params: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub pushed_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// What a grant issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issued {
    /// The access token's `jti` and when it expires.
    pub jti: String,
    #[serde(with = "time::serde::rfc3339")]
    pub access_expires_at: OffsetDateTime,
    /// The refresh token family started, if any.
    pub family: Option<String>,
}

/// A refresh token, stored under its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshToken {
    /// All tokens rotated from one grant share a family.
    pub family: String,
    pub client_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub auth_time: OffsetDateTime,
    #[serde(default)]
    pub amr: Vec<String>,
    #[serde(default)]
    pub acr: Option<String>,
    /// The session the grant began in: refreshed ID tokens keep its `sid`.
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// When it was rotated: from then on only the grace period allows it.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub rotated_at: Option<OffsetDateTime>,
    /// SHA-256 (base64url) of the token it was rotated into, so that a
    /// retry within the grace period replaces that one instead of forking.
    #[serde(default)]
    pub successor: Option<String>,
    /// Whether the one retry the grace period allows was used.
    #[serde(default)]
    pub retried: bool,
    /// RFC 9449 §5: the thumbprint of the DPoP key a public client's
    /// renewal must prove; `None` for an unbound token.
    #[serde(default)]
    pub dpop_jkt: Option<String>,
}

/// A signing key; the private half sealed (see `seal`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKey {
    pub kid: String,
    pub alg: crate::jwa::SigningAlg,
    pub sealed_private_pem: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When a newer key took over; published until its tokens expire.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub retired_at: Option<OffsetDateTime>,
}

/// A security event in the audit log (see `audit`). It never holds a
/// secret: no password, code or token, only names and identifiers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// A stable dotted name: `login`, `consent.grant`, `admin.user.create`.
    pub kind: String,
    /// `success` or `failure`.
    pub outcome: String,
    /// Who acted, as `user:NAME`, `client:ID`, `anonymous`, `cli` or `system`.
    pub actor: String,
    /// What the event is about, in the same form (`user:NAME`,
    /// `client:ID`, `address:IP`, `key:KID`), when it is about something.
    pub subject: Option<String>,
    /// The client's address, where the event came from a request.
    pub ip: Option<String>,
    /// A few more facts, by name (`reason`, `journey`, `scope`…).
    #[serde(default)]
    pub details: BTreeMap<String, String>,
}

/// Where an event sits in the audit log: ordered by time, then by the
/// order in which events were recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuditPosition {
    pub at: OffsetDateTime,
    /// Unique across the log, and increasing in the order of recording.
    pub seq: u64,
}

/// An event as the audit log holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub position: AuditPosition,
    pub event: AuditEvent,
}

/// Which events a query of the audit log wants; every condition set must
/// hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Events at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Events before this position (the cursor of the page before).
    pub before: Option<AuditPosition>,
    /// The event's kind, or a dotted prefix of it (`admin` takes
    /// `admin.user.create`).
    pub kind: Option<String>,
    /// The actor: all of it (`user:alice`) or its name (`alice`).
    pub actor: Option<String>,
    /// The subject, matched like the actor.
    pub subject: Option<String>,
}

impl AuditFilter {
    /// Whether `event` passes the kind, actor and subject conditions (the
    /// time bounds are the store's to apply through its order).
    pub fn matches(&self, event: &AuditEvent) -> bool {
        let kind_ok = self.kind.as_deref().is_none_or(|kind| {
            event
                .kind
                .strip_prefix(kind)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        });
        let party_ok = |wanted: Option<&str>, party: Option<&str>| {
            wanted.is_none_or(|wanted| {
                party.is_some_and(|party| {
                    party == wanted
                        || party
                            .split_once(':')
                            .is_some_and(|(_, name)| name == wanted)
                })
            })
        };
        kind_ok
            && party_ok(self.actor.as_deref(), Some(&event.actor))
            && party_ok(self.subject.as_deref(), event.subject.as_deref())
    }
}

impl Session {
    /// When the session ends: `idle` after its last use, or at its
    /// absolute expiry, whichever comes first.
    pub fn expires_at(&self, idle: Duration) -> OffsetDateTime {
        (self.last_used_at + idle).min(self.absolute_expires_at)
    }

    /// Whether its user authenticated (signed in, or stepped up) at most
    /// `window` before `now`: what actions that ask for a recent sign-in
    /// instead of the password accept.
    pub fn authenticated_within(&self, window: Duration, now: OffsetDateTime) -> bool {
        self.auth_time + window >= now
    }
}

impl JourneyState {
    /// This state, with each node's attempt count at least the `stored`
    /// one's: what `replace_journey` puts, so that a step racing another
    /// cannot bring a count down.
    pub fn keeping_attempts_of(&self, stored: &JourneyState) -> JourneyState {
        let mut state = self.clone();
        for (node, count) in &stored.attempts {
            let ours = state.attempts.entry(node.clone()).or_default();
            *ours = (*ours).max(*count);
        }
        state
    }

    /// Counts one more failed attempt at `node`; returns the new count.
    pub fn count_attempt(&mut self, node: &str) -> u32 {
        let count = self.attempts.entry(node.to_owned()).or_default();
        *count += 1;
        *count
    }
}

impl LoginThrottle {
    /// Whether the counter no longer affects anything: its window of
    /// `window` is over and it holds no lock.
    pub fn is_stale(&self, now: OffsetDateTime, window: Duration) -> bool {
        self.window_started_at + window <= now && self.locked_until.is_none_or(|until| until <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::User;

    #[test]
    fn users_stored_before_totp_existed_still_load() {
        let json = r#"{"id":"u1","username":"Alice","username_normalized":"alice",
            "email":null,"name":null,"password_hash":null,"disabled":false,
            "created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}"#;
        let user: User = serde_json::from_str(json).expect("an old record loads");
        assert_eq!(user.totp, None);
        assert_eq!(user.recovery_codes, None);
    }
}
