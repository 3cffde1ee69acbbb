//! The audit log: who did what to what, from where, and how it went, for
//! the security events an administrator must be able to trace: sign-ins
//! (and failed ones), lockouts, registrations, password changes and
//! resets, MFA enrollments, consents granted and withdrawn, sessions and
//! tokens revoked, reused refresh tokens and codes, and every
//! administrator's action. Events stay in the store for
//! `audit.retention_days` ([`purge_expired`]).
//!
//! An event is recorded inside the write transaction of the change it
//! records ([`record`]), so it costs no flush of its own and commits or
//! aborts with that change. Requests that change nothing (a session
//! validated, a token introspected or issued to a service) record nothing.
//!
//! No secret ever enters it: callers name users, clients, addresses and
//! keys, and give details by fixed names; no password, code or token is
//! one. A name typed at sign-in that is no account's is left out, as it
//! may be a password typed in the wrong field.
//!
//! Uses the core (`context`) and the store; every domain area may record.

use crate::context::Context;
use crate::store::{AuditEntry, AuditEvent, AuditFilter, AuditPosition, StoreError, WriteTx};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// What happened: the event's `type`, a stable dotted name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A journey ended with a session (success), or a credential was
    /// refused (failure, with a `reason`).
    Login,
    /// Failures locked a username, a client address or a user's second
    /// factor for a while.
    Lockout,
    /// A journey created an account.
    Registration,
    /// A user who proved their current password set a new one.
    PasswordChange,
    /// A user who proved something else (a code by mail) set a password.
    PasswordReset,
    /// A second factor was enrolled.
    MfaEnroll,
    /// A user removed their authenticator app (and so their recovery codes).
    MfaRemove,
    /// A new set of recovery codes replaced any older one.
    RecoveryCodesGenerate,
    /// A user granted a client scopes (a failure: the user denied a
    /// device its authorization, RFC 8628).
    ConsentGrant,
    /// A user withdrew a client's access.
    ConsentRevoke,
    /// A client revoked a token (RFC 7009).
    TokenRevoke,
    /// A rotated refresh token was presented again: its family is revoked.
    RefreshTokenReuse,
    /// A used authorization code was presented again: what it issued is
    /// revoked.
    CodeReuse,
    /// A user signed out.
    Logout,
    /// A user ended one of their sessions from their account page.
    SessionRevoke,
    /// A client never acknowledged the back-channel logout token of an
    /// ended session (a failure, after the last attempt).
    BackchannelLogout,
    /// A user changed their passkeys, `passkey.ACTION` (`passkey.register`,
    /// `passkey.rename`, `passkey.remove`).
    Passkey(&'static str),
    /// An administrator's action, `admin.ACTION` (`admin.user.create`).
    Admin(&'static str),
    /// A client's action on its own registration, `client.ACTION`
    /// (`client.register`, RFC 7591).
    Client(&'static str),
}

impl Kind {
    /// The stable name, as stored and filtered on.
    pub fn name(self) -> String {
        let name = match self {
            Kind::Login => "login",
            Kind::Lockout => "lockout",
            Kind::Registration => "registration",
            Kind::PasswordChange => "password.change",
            Kind::PasswordReset => "password.reset",
            Kind::MfaEnroll => "mfa.enroll",
            Kind::MfaRemove => "mfa.remove",
            Kind::RecoveryCodesGenerate => "recovery_codes.generate",
            Kind::ConsentGrant => "consent.grant",
            Kind::ConsentRevoke => "consent.revoke",
            Kind::TokenRevoke => "token.revoke",
            Kind::RefreshTokenReuse => "refresh_token.reuse",
            Kind::CodeReuse => "code.reuse",
            Kind::Logout => "logout",
            Kind::SessionRevoke => "session.revoke",
            Kind::BackchannelLogout => "backchannel_logout",
            Kind::Passkey(action) => return format!("passkey.{action}"),
            Kind::Admin(action) => return format!("admin.{action}"),
            Kind::Client(action) => return format!("client.{action}"),
        };
        name.to_owned()
    }
}

/// Someone or something an event names, as its actor or subject:
/// `user:NAME`, `client:ID`, `address:IP`, `key:KID`, `anonymous`, `cli`
/// or `system`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party(String);

impl Party {
    /// A user, by username.
    pub fn user(username: &str) -> Self {
        Self(format!("user:{username}"))
    }

    /// An OAuth client, by client id.
    pub fn client(client_id: &str) -> Self {
        Self(format!("client:{client_id}"))
    }

    /// A client address (the subject of an address lockout).
    pub fn address(ip: &str) -> Self {
        Self(format!("address:{ip}"))
    }

    /// A signing key, by kid.
    pub fn key(kid: &str) -> Self {
        Self(format!("key:{kid}"))
    }

    /// Whoever it was, before proving who they are.
    pub fn anonymous() -> Self {
        Self("anonymous".into())
    }

    /// An operator at the command line, on the server's machine.
    pub fn cli() -> Self {
        Self("cli".into())
    }

    /// tessera itself (start-up seeding, the background purge).
    pub fn system() -> Self {
        Self("system".into())
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who asks for a change that users make themselves and administrators
/// make for them (ending a session, withdrawing a consent), and from
/// where: the actor and address of the event it records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub actor: Party,
    pub ip: Option<String>,
}

impl Caller {
    /// `actor`, asking from `ip`.
    pub fn new(actor: Party, ip: Option<&str>) -> Self {
        Self {
            actor,
            ip: ip.map(str::to_owned),
        }
    }

    /// An operator at the command line.
    pub fn cli() -> Self {
        Self::new(Party::cli(), None)
    }

    /// tessera itself.
    pub fn system() -> Self {
        Self::new(Party::system(), None)
    }
}

/// An event about to be recorded; its time is the clock's when recorded.
#[derive(Debug, Clone)]
pub struct Event {
    kind: Kind,
    success: bool,
    actor: Party,
    subject: Option<Party>,
    ip: Option<String>,
    details: BTreeMap<String, String>,
}

impl Event {
    /// Something `actor` did, which worked.
    pub fn success(kind: Kind, actor: Party) -> Self {
        Self::new(kind, true, actor)
    }

    /// Something `caller` did, which worked, from the caller's address.
    pub fn success_by(kind: Kind, caller: &Caller) -> Self {
        Self::success(kind, caller.actor.clone()).from_ip(caller.ip.as_deref())
    }

    /// An administrator's action `admin.ACTION` (`user.create`,
    /// `client.secret.rotate`…) by `by` on `subject`.
    pub fn admin(action: &'static str, by: &Caller, subject: Party) -> Self {
        Self::success_by(Kind::Admin(action), by).about(subject)
    }

    /// Something `actor` tried, which was refused.
    pub fn failure(kind: Kind, actor: Party) -> Self {
        Self::new(kind, false, actor)
    }

    fn new(kind: Kind, success: bool, actor: Party) -> Self {
        Self {
            kind,
            success,
            actor,
            subject: None,
            ip: None,
            details: BTreeMap::new(),
        }
    }

    /// What the event is about.
    pub fn about(mut self, subject: Party) -> Self {
        self.subject = Some(subject);
        self
    }

    /// The client's address, when the event comes from a request.
    pub fn from_ip(mut self, ip: Option<&str>) -> Self {
        self.ip = ip.map(str::to_owned);
        self
    }

    /// One more fact, by a fixed name. Never a secret.
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.details.insert(name.to_owned(), value.into());
        self
    }

    /// The event as the store keeps it, at `at`.
    fn into_record(self, at: OffsetDateTime) -> AuditEvent {
        AuditEvent {
            at,
            kind: self.kind.name(),
            outcome: if self.success { "success" } else { "failure" }.to_owned(),
            actor: self.actor.0,
            subject: self.subject.map(|subject| subject.0),
            ip: self.ip,
            details: self.details,
        }
    }
}

/// Records `event` in `tx`, the transaction of the change it records.
pub fn record(ctx: &Context, tx: &dyn WriteTx, event: Event) -> Result<(), StoreError> {
    tx.append_audit_event(&event.into_record(ctx.now()))?;
    Ok(())
}

/// Records `event` in a transaction of its own, for an action whose
/// change is already committed (or that changes nothing else). An
/// administrator's action: `Event::success(Kind::Admin("user.create"),
/// Party::user(&admin.username)).about(Party::user(&created.username))`.
pub fn record_alone(ctx: &Context, event: Event) -> Result<(), StoreError> {
    ctx.store.write(|tx| record(ctx, tx, event))
}

/// A time as event details give it (RFC 3339).
pub fn timestamp(at: OffsetDateTime) -> String {
    // Every time the clock gives has an RFC 3339 form.
    at.format(&Rfc3339).unwrap_or_default()
}

/// Records an administrator's action `admin.ACTION` by `admin` on
/// `subject` in a transaction of its own, after a change that has its own
/// (a key rotation, written by the key store).
pub fn record_admin(
    ctx: &Context,
    action: &'static str,
    admin: &Caller,
    subject: Party,
) -> Result<(), StoreError> {
    record_alone(ctx, Event::admin(action, admin, subject))
}

/// An event as the audit API and the JSON-lines export show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Unique, and increasing in the order of recording.
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    #[serde(rename = "type")]
    pub kind: String,
    pub outcome: String,
    pub actor: String,
    pub subject: Option<String>,
    pub client_ip: Option<String>,
    pub details: BTreeMap<String, String>,
}

impl From<AuditEntry> for Entry {
    fn from(AuditEntry { position, event }: AuditEntry) -> Self {
        Self {
            id: position.seq.to_string(),
            time: event.at,
            kind: event.kind,
            outcome: event.outcome,
            actor: event.actor,
            subject: event.subject,
            client_ip: event.ip,
            details: event.details,
        }
    }
}

/// Where the next page of a query starts: opaque to clients, which pass
/// back what [`Page::next_cursor`] gave them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor(AuditPosition);

impl Cursor {
    /// Reads a cursor [`Cursor::encode`] made; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let (nanos, seq) = text.split_once('.')?;
        let at = OffsetDateTime::from_unix_timestamp_nanos(nanos.parse().ok()?).ok()?;
        Some(Self(AuditPosition {
            at,
            seq: seq.parse().ok()?,
        }))
    }

    /// The cursor as text.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.0.at.unix_timestamp_nanos(), self.0.seq)
    }
}

/// Most events one page holds.
pub const MAX_PAGE: usize = 1000;
/// Events a page holds when the query does not say.
pub const DEFAULT_PAGE: usize = 100;

/// A query of the audit log: every condition given must hold.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Events at or after this time.
    pub since: Option<OffsetDateTime>,
    /// The event type, or a dotted prefix of it (`admin`, `consent`).
    pub kind: Option<String>,
    /// The actor, whole (`user:alice`) or by name (`alice`).
    pub actor: Option<String>,
    /// The subject, matched like the actor.
    pub subject: Option<String>,
    /// Continue after the page that gave this cursor.
    pub cursor: Option<Cursor>,
    /// Events per page: [`DEFAULT_PAGE`] when `None`, at most [`MAX_PAGE`].
    pub limit: Option<usize>,
}

/// A query's conditions as a request gives them, as text: the admin API's
/// parameters, the admin page's form and links. An empty value counts as
/// absent, as an empty form field sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Filters {
    /// An RFC 3339 time, or a date and time read as UTC ([`parse_since`]).
    pub since: Option<String>,
    /// The event type, or a dotted prefix of it.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub actor: Option<String>,
    pub subject: Option<String>,
    /// A [`Page::next_cursor`].
    pub cursor: Option<String>,
}

/// Why [`Filters`] do not make a query; the message says what to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error(
        "since must be an RFC 3339 time (2026-11-30T12:00:00Z) or a date and time read as UTC (2026-11-30T12:00)"
    )]
    Since,
    #[error("cursor must be a next_cursor the audit log gave; start again from the newest events")]
    Cursor,
}

impl Filters {
    /// The query these filters ask for, `limit` events a page.
    pub fn query(&self, limit: Option<usize>) -> Result<Query, FilterError> {
        let given = |value: &Option<String>| value.clone().filter(|value| !value.is_empty());
        let since = given(&self.since)
            .map(|since| parse_since(&since))
            .transpose()?;
        let cursor = given(&self.cursor)
            .map(|cursor| Cursor::parse(&cursor).ok_or(FilterError::Cursor))
            .transpose()?;
        Ok(Query {
            since,
            kind: given(&self.kind),
            actor: given(&self.actor),
            subject: given(&self.subject),
            cursor,
            limit,
        })
    }
}

/// Reads a `since`: an RFC 3339 time, or a date and time without an offset
/// (`2026-11-30T12:00`, what an HTML `datetime-local` field sends), read as
/// UTC.
pub fn parse_since(text: &str) -> Result<OffsetDateTime, FilterError> {
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(at);
    }
    let local = format_description!(
        "[year]-[month]-[day]T[hour]:[minute][optional [:[second][optional [.[subsecond]]]]]"
    );
    PrimitiveDateTime::parse(text, local)
        .map(PrimitiveDateTime::assume_utc)
        .map_err(|_| FilterError::Since)
}

/// One page of events, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub items: Vec<Entry>,
    /// The cursor of the next (older) page; `None` on the last one.
    pub next_cursor: Option<String>,
}

/// The events `query` asks for, newest first, one page at a time.
pub fn query(ctx: &Context, query: &Query) -> Result<Page, StoreError> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let filter = AuditFilter {
        since: query.since,
        before: query.cursor.map(|cursor| cursor.0),
        kind: query.kind.clone(),
        actor: query.actor.clone(),
        subject: query.subject.clone(),
    };
    // One more than a page tells whether another page follows.
    let mut found = ctx.store.read(|tx| tx.audit_events(&filter, limit + 1))?;
    let more = found.len() > limit;
    found.truncate(limit);
    let next_cursor = match found.last() {
        Some(last) if more => Some(Cursor(last.position).encode()),
        _ => None,
    };
    Ok(Page {
        items: found.into_iter().map(Entry::from).collect(),
        next_cursor,
    })
}

/// One event as a line of JSON Lines (with its newline).
pub fn json_line(entry: &Entry) -> String {
    // An `Entry` of strings and a timestamp always serialises.
    let mut line = serde_json::to_string(entry).unwrap_or_default();
    line.push('\n');
    line
}

/// Removes the events older than `audit.retention_days` (none when it is
/// 0, which keeps them forever); returns how many.
pub fn purge_expired(ctx: &Context) -> Result<usize, StoreError> {
    let days = ctx.settings.audit.retention_days;
    if days == 0 {
        return Ok(0);
    }
    let before = ctx.now() - time::Duration::days(days.into());
    ctx.store.write(|tx| tx.delete_audit_events_before(before))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_what_it_encodes_and_nothing_else() {
        let cursor = Cursor(AuditPosition {
            at: OffsetDateTime::UNIX_EPOCH + time::Duration::nanoseconds(1_700_000_000_123_456_789),
            seq: 42,
        });
        assert_eq!(Cursor::parse(&cursor.encode()), Some(cursor));
        for bad in [
            "",
            "12",
            "a.b",
            "1.-2",
            "1.2.3",
            "99999999999999999999999999999.1",
        ] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn since_is_rfc_3339_or_a_date_and_time_read_as_utc() {
        let noon = time::macros::datetime!(2026-11-30 12:00 UTC);
        for text in [
            "2026-11-30T12:00:00Z",
            "2026-11-30T13:00:00+01:00",
            "2026-11-30T12:00",
            "2026-11-30T12:00:00",
            "2026-11-30T12:00:00.000",
        ] {
            assert_eq!(parse_since(text), Ok(noon), "{text}");
        }
        for bad in [
            "yesterday",
            "2026-11-30",
            "2026-11-30 12:00",
            "2026-13-30T12:00",
            "12:00",
        ] {
            assert_eq!(parse_since(bad), Err(FilterError::Since), "{bad}");
        }
    }

    #[test]
    fn filters_left_empty_ask_for_nothing_and_bad_ones_say_which() {
        let empty = || Some(String::new());
        let blank = Filters {
            since: empty(),
            kind: empty(),
            actor: empty(),
            subject: empty(),
            cursor: empty(),
        };
        let query = blank.query(Some(50)).expect("no condition");
        assert_eq!(
            (
                query.since,
                query.kind,
                query.actor,
                query.subject,
                query.cursor
            ),
            (None, None, None, None, None)
        );
        assert_eq!(query.limit, Some(50));
        let since = Filters {
            since: Some("soon".into()),
            ..Filters::default()
        };
        assert_eq!(since.query(None).err(), Some(FilterError::Since));
        let cursor = Filters {
            cursor: Some("12".into()),
            ..Filters::default()
        };
        assert_eq!(cursor.query(None).err(), Some(FilterError::Cursor));
    }

    #[test]
    fn kinds_have_stable_dotted_names() {
        assert_eq!(Kind::RefreshTokenReuse.name(), "refresh_token.reuse");
        assert_eq!(Kind::Admin("user.create").name(), "admin.user.create");
    }
}
