//! The session side of OpenID Connect Back-Channel Logout 1.0: which
//! clients received an ID token in a session, the notices queued for them
//! when it ends, and the bookkeeping of their delivery (due, in flight,
//! retried with backoff, given up). Signing and sending the logout tokens
//! is `oidc::backchannel`'s.
//!
//! The outbox is in the store, written in the transaction that ends the
//! session, so a notice survives a crash and any process sharing the store
//! delivers it. A process claims a due notice by moving its next attempt
//! past the attempt's timeout in a write of its own: transactions are
//! serialisable, so no two processes send the same attempt.

use crate::audit;
use crate::context::Context;
use crate::secret::random_id;
use crate::store::{LogoutNotice, Session, StoreError, WriteTx};
use time::Duration;

/// Attempts at delivering one notice before giving up: over about two and
/// a half minutes with [`backoff`].
pub const MAX_ATTEMPTS: u32 = 5;
/// How long one attempt may take, connection included.
pub const ATTEMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// How long a claimed notice is left to the process that claimed it: past
/// the attempt's timeout, in case that process dies mid-attempt.
const CLAIM: Duration = Duration::seconds(30);

/// The wait after failed attempt number `attempts` (from 1): 10 s,
/// doubling.
fn backoff(attempts: u32) -> Duration {
    Duration::seconds(10) * 2_i32.pow(attempts.saturating_sub(1).min(10))
}

/// Records, in the transaction that issues an ID token to `client_id`,
/// that it did so in the session `session_id` of `user_id`, so that the
/// client is told when the session ends. Nothing if the session has ended.
pub fn record_id_token_in(
    tx: &dyn WriteTx,
    user_id: &str,
    session_id: &str,
    client_id: &str,
) -> Result<(), StoreError> {
    if let Some((hash, mut session)) = super::by_id_in(tx, user_id, session_id)?
        && !session.id_token_clients.iter().any(|c| c == client_id)
    {
        session.id_token_clients.push(client_id.to_owned());
        tx.put_session(&hash, &session)?;
    }
    Ok(())
}

/// Queues, in the transaction that ends `session`, a notice for each
/// client that received an ID token in it and registered a
/// `backchannel_logout_uri`.
pub(super) fn queue_in(
    ctx: &Context,
    tx: &dyn WriteTx,
    session: &Session,
) -> Result<(), StoreError> {
    let now = ctx.now();
    for client_id in &session.id_token_clients {
        let listens = tx
            .client(client_id)?
            .is_some_and(|client| client.backchannel_logout_uri.is_some());
        if listens {
            let notice = LogoutNotice {
                client_id: client_id.clone(),
                user_id: session.user_id.clone(),
                session_id: session.id.clone(),
                ended_at: now,
                attempts: 0,
                next_attempt_at: now,
            };
            tx.put_logout_notice(&random_id(), &notice)?;
        }
    }
    Ok(())
}

/// Claims at most `limit` due notices for an attempt by this process:
/// each counts the attempt and is left alone by others until it is over.
/// Returns them with their ids (the tokens' `jti`).
pub fn claim_due(ctx: &Context, limit: usize) -> Result<Vec<(String, LogoutNotice)>, StoreError> {
    let now = ctx.now();
    // Nearly always nothing is due: a read, not a write, finds that out.
    if ctx
        .store
        .read(|tx| tx.logout_notices_due(now, 1))?
        .is_empty()
    {
        return Ok(Vec::new());
    }
    ctx.store.write(|tx| {
        let mut claimed = tx.logout_notices_due(now, limit)?;
        for (id, notice) in &mut claimed {
            notice.attempts += 1;
            notice.next_attempt_at = now + CLAIM;
            tx.put_logout_notice(id, notice)?;
        }
        Ok(claimed)
    })
}

/// How an attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The client acknowledged the token (or can no longer take one: it
    /// was deleted, or dropped its URI).
    Done,
    /// It failed, for this reason (no token in it): retried after
    /// [`backoff`], unless it was the last.
    Failed(String),
}

/// What became of a notice after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Another attempt is due later.
    Retrying,
    /// The last attempt failed: the notice is dropped, and audited.
    GaveUp,
}

/// Records how the attempt at notice `id` (as claimed) went.
pub fn finish(
    ctx: &Context,
    id: &str,
    notice: &LogoutNotice,
    attempt: &Attempt,
) -> Result<Outcome, StoreError> {
    let now = ctx.now();
    ctx.store.write(|tx| {
        let reason = match attempt {
            Attempt::Done => {
                tx.delete_logout_notice(id)?;
                return Ok(Outcome::Delivered);
            }
            Attempt::Failed(reason) => reason,
        };
        if notice.attempts < MAX_ATTEMPTS {
            let retry = LogoutNotice {
                next_attempt_at: now + backoff(notice.attempts),
                ..notice.clone()
            };
            tx.put_logout_notice(id, &retry)?;
            return Ok(Outcome::Retrying);
        }
        tx.delete_logout_notice(id)?;
        let mut event =
            audit::Event::failure(audit::Kind::BackchannelLogout, audit::Party::system())
                .about(audit::Party::client(&notice.client_id))
                .with("session", &notice.session_id)
                .with("ended_at", audit::timestamp(notice.ended_at))
                .with("attempts", notice.attempts.to_string())
                .with("reason", reason.as_str());
        if let Some(user) = tx.user(&notice.user_id)? {
            event = event.with("user", user.username);
        }
        audit::record(ctx, tx, event)?;
        Ok(Outcome::GaveUp)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_over_a_few_minutes() {
        let waits: Vec<i64> = (1..MAX_ATTEMPTS)
            .map(|n| backoff(n).whole_seconds())
            .collect();
        assert_eq!(waits, [10, 20, 40, 80]);
    }
}
