//! Session tokens: issue, validate, list, revoke and expire.
//!
//! A session is stored under the SHA-256 of its token. It ends at the
//! earlier of its absolute expiry and `idle_timeout` after its last use.
//! Validation is a read: the last use is written back at most once per
//! [`touch_interval`], because resource servers validate on every request.
//!
//! Every way a session ends (sign-out, revocation, a new sign-in replacing
//! it, the end of its user, expiry) goes through [`end_in`] or
//! [`purge_expired`], which queue a back-channel logout notice for each
//! client that received an ID token in it ([`logout`]).

pub mod logout;

use crate::audit;
use crate::context::Context;
use crate::secret::{Token, TokenHash, random_id};
use crate::store::{ReadTx, Session, StoreError, User, WriteTx};
use time::{Duration, OffsetDateTime};

/// A session with its user, as validation returns it.
#[derive(Debug, Clone)]
pub struct ActiveSession {
    pub session: Session,
    pub user: User,
    /// When the session ends if it is not used again.
    pub expires_at: OffsetDateTime,
}

/// How a new session came about.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub journey: String,
    pub amr: Vec<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// Longest user agent kept with a session.
const MAX_USER_AGENT: usize = 256;

/// Creates a session for `user_id` inside the caller's write transaction
/// (the journey that ends with it commits both at once), replacing the
/// session the client held before, if any: a fresh token at every login.
pub fn issue_in(
    ctx: &Context,
    tx: &dyn WriteTx,
    user_id: &str,
    origin: Origin,
    replaces: Option<&TokenHash>,
) -> Result<(Token, Session), StoreError> {
    if let Some(old) = replaces {
        end_in(ctx, tx, old)?;
    }
    let now = ctx.now();
    let token = Token::generate();
    let session = Session {
        id: random_id(),
        user_id: user_id.to_owned(),
        journey: origin.journey,
        amr: origin.amr,
        auth_time: now,
        created_at: now,
        last_used_at: now,
        absolute_expires_at: now + ctx.settings.absolute_lifetime(),
        user_agent: origin
            .user_agent
            .map(|ua| ua.chars().take(MAX_USER_AGENT).collect()),
        ip: origin.ip,
        id_token_clients: Vec::new(),
    };
    tx.put_session(&token.hash(), &session)?;
    Ok((token, session))
}

/// Adds the methods of a step-up journey to the session behind `token`
/// (which must be the session `session_id`), and renews its `auth_time`:
/// the session keeps its identity and token.
pub fn step_up_in(
    ctx: &Context,
    tx: &dyn WriteTx,
    token: &Token,
    session_id: &str,
    amr: &[String],
) -> Result<Option<Session>, StoreError> {
    let hash = token.hash();
    let now = ctx.now();
    let live = |s: &Session| s.id == session_id && expires_at(ctx, s) > now;
    let Some(mut session) = tx.session(&hash)?.filter(live) else {
        return Ok(None);
    };
    for method in amr {
        if !session.amr.contains(method) {
            session.amr.push(method.clone());
        }
    }
    session.auth_time = now;
    session.last_used_at = now;
    tx.put_session(&hash, &session)?;
    Ok(Some(session))
}

/// When a session ends if not used again.
pub fn expires_at(ctx: &Context, session: &Session) -> OffsetDateTime {
    session.expires_at(ctx.settings.idle_timeout())
}

/// How stale `last_used_at` may get before validation writes it back:
/// a minute, or a quarter of the idle timeout when that is shorter.
pub fn touch_interval(ctx: &Context) -> Duration {
    let quarter: Duration = ctx.settings.idle_timeout() / 4;
    quarter.min(Duration::minutes(1))
}

/// The live session behind a token, or `None` if it is unknown, expired or
/// revoked, or its user is gone or disabled; its last use is written when
/// due ([`check`], then [`touch`]).
pub fn validate(ctx: &Context, token: &Token) -> Result<Option<ActiveSession>, StoreError> {
    let Some(checked) = check(ctx, token)? else {
        return Ok(None);
    };
    if checked.touch_due {
        touch(ctx, token, &checked.active.session)?;
    }
    Ok(Some(checked.active))
}

/// A live session, and whether its last use is due to be written back.
pub struct Checked {
    pub active: ActiveSession,
    pub touch_due: bool,
}

/// [`validate`] without the write: reads only, so a caller may run it where
/// a durable write must not (an HTTP worker) and hand the rare [`touch`]
/// to the blocking pool. When a touch is due, the session returned is
/// already as it will be written.
pub fn check(ctx: &Context, token: &Token) -> Result<Option<Checked>, StoreError> {
    let hash = token.hash();
    let now = ctx.now();
    let found = ctx.store.read(|tx| {
        let Some(session) = tx.session(&hash)? else {
            return Ok(None);
        };
        let user = tx.user(&session.user_id)?;
        Ok(user.map(|user| (session, user)))
    })?;
    let Some((mut session, user)) = found else {
        return Ok(None);
    };
    if user.disabled || expires_at(ctx, &session) <= now {
        return Ok(None);
    }
    let touch_due = now - session.last_used_at >= touch_interval(ctx);
    if touch_due {
        session.last_used_at = now;
    }
    let expires_at = expires_at(ctx, &session);
    Ok(Some(Checked {
        active: ActiveSession {
            session,
            user,
            expires_at,
        },
        touch_due,
    }))
}

/// Writes the last use of `session` back under `token`, unless it was
/// revoked meanwhile. Only the last use: the stored session may have
/// changed since `session` was read (a client got an ID token in it).
pub fn touch(ctx: &Context, token: &Token, session: &Session) -> Result<(), StoreError> {
    let hash = token.hash();
    ctx.store.write(|tx| {
        if let Some(mut stored) = tx.session(&hash)? {
            stored.last_used_at = stored.last_used_at.max(session.last_used_at);
            tx.put_session(&hash, &stored)?;
        }
        Ok::<_, StoreError>(())
    })
}

/// Ends the session stored under `hash` in the caller's transaction, and
/// queues a back-channel logout notice for each client that received an
/// ID token in it (see [`logout`]); returns the session if there was one.
/// The one way a session is ended before it expires.
pub fn end_in(
    ctx: &Context,
    tx: &dyn WriteTx,
    hash: &TokenHash,
) -> Result<Option<Session>, StoreError> {
    let ended = tx.delete_session(hash)?;
    if let Some(session) = &ended {
        logout::queue_in(ctx, tx, session)?;
    }
    Ok(ended)
}

/// Ends every session of a user as [`end_in`] does, but the one of
/// `keep`; returns how many.
pub fn end_all_in(
    ctx: &Context,
    tx: &dyn WriteTx,
    user_id: &str,
    keep: Option<&TokenHash>,
) -> Result<usize, StoreError> {
    let mut ended = 0;
    for (hash, _) in tx.sessions_of(user_id)? {
        if Some(&hash) != keep && end_in(ctx, tx, &hash)?.is_some() {
            ended += 1;
        }
    }
    Ok(ended)
}

/// A user's session by its public id, and the hash it is stored under.
pub fn by_id_in(
    tx: &dyn ReadTx,
    user_id: &str,
    session_id: &str,
) -> Result<Option<(TokenHash, Session)>, StoreError> {
    Ok(tx
        .sessions_of(user_id)?
        .into_iter()
        .find(|(_, session)| session.id == session_id))
}

/// Ends the session behind a token (its holder signs out from `address`);
/// returns whether there was one. Audited as a `logout`.
pub fn revoke(ctx: &Context, token: &Token, address: Option<&str>) -> Result<bool, StoreError> {
    let hash = token.hash();
    ctx.store.write(|tx| {
        let Some(session) = end_in(ctx, tx, &hash)? else {
            return Ok(false);
        };
        if let Some(user) = tx.user(&session.user_id)? {
            let party = audit::Party::user(&user.username);
            let event = audit::Event::success(audit::Kind::Logout, party.clone())
                .about(party)
                .from_ip(address)
                .with("session", &session.id);
            audit::record(ctx, tx, event)?;
        }
        Ok(true)
    })
}

/// Ends one of a user's sessions by its public id, as `caller` asks;
/// returns whether it existed. Audited as a `session.revoke`.
pub fn revoke_by_id(
    ctx: &Context,
    user_id: &str,
    session_id: &str,
    caller: &audit::Caller,
) -> Result<bool, StoreError> {
    ctx.store.write(|tx| {
        let Some((hash, _)) = by_id_in(tx, user_id, session_id)? else {
            return Ok(false);
        };
        let ended = end_in(ctx, tx, &hash)?.is_some();
        if ended && let Some(user) = tx.user(user_id)? {
            let event = audit::Event::success_by(audit::Kind::SessionRevoke, caller)
                .about(audit::Party::user(&user.username))
                .with("session", session_id);
            audit::record(ctx, tx, event)?;
        }
        Ok(ended)
    })
}

/// Ends every session of a user but `keep` (by public id), as `caller`
/// asks; returns how many ended. Each is audited as a `session.revoke`,
/// as when one is ended alone.
pub fn revoke_others(
    ctx: &Context,
    user_id: &str,
    keep: &str,
    caller: &audit::Caller,
) -> Result<usize, StoreError> {
    let now = ctx.now();
    ctx.store.write(|tx| {
        let Some(user) = tx.user(user_id)? else {
            return Ok(0);
        };
        let mut ended = 0;
        for (hash, session) in tx.sessions_of(user_id)? {
            if session.id == keep {
                continue;
            }
            end_in(ctx, tx, &hash)?;
            // One that had expired was over already: nothing to record.
            if expires_at(ctx, &session) <= now {
                continue;
            }
            let event = audit::Event::success_by(audit::Kind::SessionRevoke, caller)
                .about(audit::Party::user(&user.username))
                .with("session", &session.id);
            audit::record(ctx, tx, event)?;
            ended += 1;
        }
        Ok(ended)
    })
}

/// A user's live sessions, most recently used first.
pub fn list_for_user(ctx: &Context, user_id: &str) -> Result<Vec<Session>, StoreError> {
    let now = ctx.now();
    let mut sessions: Vec<Session> = ctx
        .store
        .read(|tx| tx.sessions_of(user_id))?
        .into_iter()
        .map(|(_, session)| session)
        .filter(|session| expires_at(ctx, session) > now)
        .collect();
    sessions.sort_by_key(|session| std::cmp::Reverse(session.last_used_at));
    Ok(sessions)
}

/// How many sessions the store holds: the live ones, and those ended
/// since the last [`purge_expired`]. Cheap (no scan), for metrics.
pub fn count(ctx: &Context) -> Result<u64, StoreError> {
    ctx.store.read(|tx| tx.session_count())
}

/// Removes expired sessions from the store, queueing their back-channel
/// logout notices in the same write; returns how many.
pub fn purge_expired(ctx: &Context) -> Result<usize, StoreError> {
    let now = ctx.now();
    ctx.store.write(|tx| {
        let ended = tx.delete_expired_sessions(now, ctx.settings.idle_timeout())?;
        for session in &ended {
            logout::queue_in(ctx, tx, session)?;
        }
        Ok(ended.len())
    })
}
