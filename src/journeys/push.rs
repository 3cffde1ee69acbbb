//! Push requests: a journey's `push_approval` step asks the user to approve
//! the sign-in from a device where they are already signed in. The request
//! is stored with where the sign-in comes from; any live session of the
//! same user may approve or deny it (on /account or through the REST API)
//! while it is pending and unexpired; the journey then reads the answer.
//!
//! Number matching: the signing-in page shows a two-digit number, and the
//! approver must pick it among decoys. An approval cannot be given blindly
//! (to a prompt that merely appeared, as in push-fatigue attacks), and a
//! wrong pick denies the request.
//!
//! Any session of the user counts, so a push is only as strong as the
//! weakest journey that issues sessions: deployments that rely on it
//! should replace the built-in password-only `login` journey.

use super::Client;
use crate::context::Context;
use crate::secret::random_id;
use crate::store::{PushRequest, PushStatus, StoreError};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// Longest user agent kept with a request (as with sessions).
const MAX_USER_AGENT: usize = 256;

/// Where a journey's push request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not answered yet, and still answerable.
    Waiting,
    Approved,
    Denied,
    /// Not answered in time (or already purged).
    Expired,
}

/// How many numbers the approving session picks from.
const CHOICES: usize = 3;

/// What a signed-in user decided about a push request, as submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approve,
    Deny,
}

/// A signed-in user's answer to a push request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// Approves, picking the number the signing-in page shows.
    Approve {
        number: u8,
    },
    Deny,
}

impl Reply {
    /// The reply a submitted decision and number make; `None` when an
    /// approval picks no number.
    pub fn new(decision: Decision, number: Option<u8>) -> Option<Self> {
        match decision {
            Decision::Approve => number.map(|number| Reply::Approve { number }),
            Decision::Deny => Some(Reply::Deny),
        }
    }
}

/// What an answer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    Approved,
    Denied,
    /// The approval picked another number than the signing-in page shows:
    /// the request is denied, since whoever approves without seeing that
    /// page may be approving someone else's sign-in.
    WrongNumber,
    /// Not the user's, no longer waiting, or unknown: nothing changed.
    NotWaiting,
}

/// A number to show (two digits) and the choices offered with it, in a
/// random order.
fn numbers() -> (u8, Vec<u8>) {
    let mut rng = rand::rng();
    let mut choices = Vec::with_capacity(CHOICES);
    while choices.len() < CHOICES {
        let candidate = rng.random_range(10..100u8);
        if !choices.contains(&candidate) {
            choices.push(candidate);
        }
    }
    (choices[rng.random_range(0..CHOICES)], choices)
}

/// A request opened for a journey: what only the journey knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opened {
    /// Never shown to the journey's client, only to the user's sessions.
    pub request_id: String,
    /// The number the signing-in page shows.
    pub number: u8,
}

/// Opens a pending request for `user_id` that expires after `ttl`.
pub fn open(
    ctx: &Context,
    user_id: &str,
    client: &Client,
    ttl: Duration,
) -> Result<Opened, StoreError> {
    let now = ctx.now();
    let (number, choices) = numbers();
    let request = PushRequest {
        id: random_id(),
        user_id: user_id.to_owned(),
        created_at: now,
        expires_at: now + ttl,
        status: PushStatus::Pending,
        ip: client.ip.clone(),
        user_agent: client
            .user_agent
            .as_ref()
            .map(|ua| ua.chars().take(MAX_USER_AGENT).collect()),
        number,
        choices,
    };
    ctx.store.write(|tx| tx.put_push_request(&request))?;
    Ok(Opened {
        request_id: request.id,
        number,
    })
}

fn state_of(request: Option<&PushRequest>, now: OffsetDateTime) -> State {
    match request {
        None => State::Expired,
        Some(request) => match request.status {
            PushStatus::Approved => State::Approved,
            PushStatus::Denied => State::Denied,
            PushStatus::Pending if request.expires_at > now => State::Waiting,
            PushStatus::Pending => State::Expired,
        },
    }
}

/// Where the request stands; reads only.
pub fn state(ctx: &Context, id: &str) -> Result<State, StoreError> {
    let now = ctx.now();
    let request = ctx.store.read(|tx| tx.push_request(id))?;
    Ok(state_of(request.as_ref(), now))
}

/// Where the request stands; once it is decided (answered or expired) it is
/// removed, so that an answer counts for one journey step only.
pub fn settle(ctx: &Context, id: &str) -> Result<State, StoreError> {
    let state = state(ctx, id)?;
    if state != State::Waiting {
        // A decided request never changes again, so removing it after the
        // read loses nothing; losing the removal in a crash only leaves it
        // for the purge.
        ctx.store.write_volatile(|tx| tx.delete_push_request(id))?;
    }
    Ok(state)
}

/// A user's requests that are waiting for an answer, newest first.
pub fn pending_for(ctx: &Context, user_id: &str) -> Result<Vec<PushRequest>, StoreError> {
    let now = ctx.now();
    let mut pending: Vec<PushRequest> = ctx
        .store
        .read(|tx| tx.push_requests_of(user_id))?
        .into_iter()
        .filter(|request| state_of(Some(request), now) == State::Waiting)
        .collect();
    pending.sort_by_key(|request| std::cmp::Reverse(request.created_at));
    Ok(pending)
}

/// Records a user's answer to a request that is theirs, pending and
/// unexpired; changes nothing otherwise.
pub fn answer(
    ctx: &Context,
    user_id: &str,
    request_id: &str,
    reply: Reply,
) -> Result<Answered, StoreError> {
    let now = ctx.now();
    ctx.store.write(|tx| {
        let Some(mut request) = tx.push_request(request_id)? else {
            return Ok(Answered::NotWaiting);
        };
        if request.user_id != user_id || state_of(Some(&request), now) != State::Waiting {
            return Ok(Answered::NotWaiting);
        }
        // 0 is the number of requests stored before number matching.
        let answered = match reply {
            Reply::Approve { number } if number == request.number && number != 0 => {
                Answered::Approved
            }
            Reply::Approve { .. } => Answered::WrongNumber,
            Reply::Deny => Answered::Denied,
        };
        request.status = match answered {
            Answered::Approved => PushStatus::Approved,
            _ => PushStatus::Denied,
        };
        tx.put_push_request(&request)?;
        Ok(answered)
    })
}

/// Removes requests past their expiry, answered or not; returns how many.
pub fn purge_expired(ctx: &Context) -> Result<usize, StoreError> {
    let now = ctx.now();
    ctx.store.write(|tx| tx.delete_expired_push_requests(now))
}
