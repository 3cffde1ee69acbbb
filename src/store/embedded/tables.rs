//! Every table and the schema version, in one place.
//!
//! Records are JSON (serde_json): a record gains fields release after
//! release, and JSON with `#[serde(default)]` reads old records without a
//! migration, where a positional format (bincode, postcard) would misread
//! them. The records are small, so the size and speed cost is negligible
//! next to an fsync, and a file can be inspected with ordinary tools.
//!
//! Keys that are tokens are SHA-256 digests of the token, never the token.

use crate::store::StoreError;
use redb::{Key, MultimapTableDefinition, TableDefinition, Value};

/// Bumped when a release changes how existing records must be read; `open`
/// refuses files from a newer release, `migrate` brings older ones up to
/// date. 2: usernames indexed by their RFC 8265 form; 3: keys derived from
/// the key file by HKDF (see `migrations`).
pub const SCHEMA_VERSION: u64 = 3;

/// `"schema_version"` → version number.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// user id → `User`.
pub const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");
/// RFC 8265 form of the username (`username::Username::normalized`) → user
/// id: the unique index on usernames (schema 2; lower case in schema 1).
pub const USERNAMES: TableDefinition<&str, &str> = TableDefinition::new("users_by_username");

/// normalised email → user id: the index for uniqueness and reset by email.
pub const EMAILS: TableDefinition<&str, &str> = TableDefinition::new("users_by_email");

/// SHA-256(session token) → `Session`.
pub const SESSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("sessions");
/// user id → SHA-256(session token) of each of the user's sessions.
pub const USER_SESSIONS: MultimapTableDefinition<&str, &[u8]> =
    MultimapTableDefinition::new("sessions_by_user");

/// notice id (the logout token's `jti`) → `LogoutNotice`: the outbox of
/// back-channel logout tokens.
pub const LOGOUT_NOTICES: TableDefinition<&str, &[u8]> = TableDefinition::new("logout_notices");

/// SHA-256(auth_id) → `JourneyState`.
pub const JOURNEYS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("journeys");
/// normalised username, or `totp <user id>` → `LoginThrottle`.
pub const LOGIN_THROTTLE: TableDefinition<&str, &[u8]> = TableDefinition::new("login_throttle");

/// lease name → its holder and end (`leases::Lease`).
pub const LEASES: TableDefinition<&str, &[u8]> = TableDefinition::new("leases");

/// push request id → `PushRequest`.
pub const PUSH_REQUESTS: TableDefinition<&str, &[u8]> = TableDefinition::new("push_requests");
/// user id → id of each of the user's push requests.
pub const USER_PUSH_REQUESTS: MultimapTableDefinition<&str, &str> =
    MultimapTableDefinition::new("push_requests_by_user");

/// user id → the user's `KnownDevice`s, as one JSON list: a user has a
/// handful, always read together.
pub const DEVICES: TableDefinition<&str, &[u8]> = TableDefinition::new("devices");

/// user id → the user's `PasskeyRing`.
pub const PASSKEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("passkeys");
/// WebAuthn user handle → user id: finds the user a discoverable
/// credential names.
pub const PASSKEY_HANDLES: TableDefinition<&str, &str> = TableDefinition::new("passkeys_by_handle");

/// client_id → `Client`.
pub const CLIENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("clients");
/// "user id client_id" → `Consent`.
pub const CONSENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("consents");
/// keyed hash of an initial access token → `InitialAccessToken`.
pub const INITIAL_ACCESS_TOKENS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("initial_access_tokens");
/// SHA-256(code) → `AuthorizationCode`.
pub const CODES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("authorization_codes");
/// SHA-256(refresh token) → `RefreshToken`.
pub const REFRESH_TOKENS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("refresh_tokens");
/// family → SHA-256 of each refresh token in it.
pub const REFRESH_FAMILIES: MultimapTableDefinition<&str, &[u8]> =
    MultimapTableDefinition::new("refresh_tokens_by_family");
/// family → "jti expiry" of each access token issued in it, so that
/// revoking a family revokes its access tokens too.
pub const FAMILY_ACCESS: MultimapTableDefinition<&str, &str> =
    MultimapTableDefinition::new("access_tokens_by_family");
/// "user id client_id" → refresh token families, for consent revocation.
pub const GRANT_FAMILIES: MultimapTableDefinition<&str, &str> =
    MultimapTableDefinition::new("refresh_families_by_grant");
/// Revoked access token `jti` → its expiry (unix seconds): the deny-list
/// introspection checks, purged once the token would have expired.
pub const REVOKED_JTIS: TableDefinition<&str, i64> = TableDefinition::new("revoked_jtis");
/// SHA-256(device code) → `DeviceAuthorization` (RFC 8628).
pub const DEVICE_CODES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("device_codes");
/// SHA-256(normalised user code) → SHA-256(device code): how the
/// verification page finds what a user typed.
pub const USER_CODES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("device_user_codes");
/// SHA-256(reference of a `request_uri`) → `PushedRequest` (RFC 9126).
pub const PUSHED_REQUESTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("pushed_requests");
/// SHA-256 of a DPoP proof's key thumbprint and `jti` → until when
/// (unix seconds) it counts as used (RFC 9449 §11.1): replays are refused
/// by every replica sharing the store.
pub const DPOP_PROOFS: TableDefinition<&[u8], i64> = TableDefinition::new("dpop_proofs");
/// kid → `SigningKey`.
pub const SIGNING_KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("signing_keys");

/// (time in unix nanoseconds, sequence number) → `AuditEvent`: in time
/// order, so a page is a range and retention removes a prefix. The
/// sequence orders events of the same instant and comes from
/// [`AUDIT_SEQUENCE`].
pub const AUDIT_EVENTS: TableDefinition<(i64, u64), &[u8]> = TableDefinition::new("audit_events");
/// The key in [`META`] of the last sequence number given to an audit event.
pub const AUDIT_SEQUENCE: &str = "audit_sequence";

/// Something done to every table: creating them, copying them. Every
/// table is listed once, in [`each`], so that a new table is created and
/// backed up alike.
pub(super) trait EachTable {
    /// Visits a table.
    fn table<K: Key + 'static, V: Value + 'static>(
        &mut self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<(), StoreError>;
    /// Visits a multimap table.
    fn multimap<K: Key + 'static, V: Key + 'static>(
        &mut self,
        def: MultimapTableDefinition<'static, K, V>,
    ) -> Result<(), StoreError>;
}

/// Visits every table of the store.
pub(super) fn each(visit: &mut impl EachTable) -> Result<(), StoreError> {
    visit.table(META)?;
    visit.table(USERS)?;
    visit.table(USERNAMES)?;
    visit.table(EMAILS)?;
    visit.table(SESSIONS)?;
    visit.multimap(USER_SESSIONS)?;
    visit.table(JOURNEYS)?;
    visit.table(LOGIN_THROTTLE)?;
    visit.table(CLIENTS)?;
    visit.table(CONSENTS)?;
    visit.table(INITIAL_ACCESS_TOKENS)?;
    visit.table(CODES)?;
    visit.table(REFRESH_TOKENS)?;
    visit.multimap(REFRESH_FAMILIES)?;
    visit.multimap(GRANT_FAMILIES)?;
    visit.multimap(FAMILY_ACCESS)?;
    visit.table(REVOKED_JTIS)?;
    visit.table(SIGNING_KEYS)?;
    visit.table(PUSH_REQUESTS)?;
    visit.multimap(USER_PUSH_REQUESTS)?;
    visit.table(DEVICES)?;
    visit.table(PASSKEYS)?;
    visit.table(PASSKEY_HANDLES)?;
    visit.table(AUDIT_EVENTS)?;
    visit.table(DEVICE_CODES)?;
    visit.table(USER_CODES)?;
    visit.table(PUSHED_REQUESTS)?;
    visit.table(LEASES)?;
    visit.table(LOGOUT_NOTICES)?;
    visit.table(DPOP_PROOFS)?;
    Ok(())
}

/// Creates every table that does not exist yet.
pub(super) fn create_all(tx: &redb::WriteTransaction) -> Result<(), StoreError> {
    struct Create<'a>(&'a redb::WriteTransaction);
    impl EachTable for Create<'_> {
        fn table<K: Key + 'static, V: Value + 'static>(
            &mut self,
            def: TableDefinition<'static, K, V>,
        ) -> Result<(), StoreError> {
            self.0.open_table(def)?;
            Ok(())
        }
        fn multimap<K: Key + 'static, V: Key + 'static>(
            &mut self,
            def: MultimapTableDefinition<'static, K, V>,
        ) -> Result<(), StoreError> {
            self.0.open_multimap_table(def)?;
            Ok(())
        }
    }
    each(&mut Create(tx))
}
