//! OpenID Connect Back-Channel Logout 1.0, the sending side: delivers the
//! notices that ending a session queued (`sessions::logout`) as logout
//! tokens POSTed to each client's `backchannel_logout_uri` (§2.5), off the
//! request path. The composition root runs [`Courier::deliver_due`] on the
//! blocking pool, every [`POLL`]: a notice queued by this process or
//! another, and a retry coming due, waits at most that long.
//!
//! An attempt succeeds on 200 or 204 (§2.8: some frameworks answer an empty
//! 200 as 204); anything else, a timeout or a refused connection is retried
//! with backoff, a few times (see `sessions::logout`). Redirects are not
//! followed: the token goes to the registered URI only. Logs name the
//! client and why an attempt failed, never the token.

use crate::oauth::{Provider, clients};
use crate::sessions::logout::{self, ATTEMPT_TIMEOUT, Attempt, Outcome};
use crate::store::{LogoutNotice, StoreError};
use std::time::Duration;

/// How often the outbox is looked at.
pub const POLL: Duration = Duration::from_millis(500);
/// Notices sent at once, each on a thread of its own, so that one slow
/// client does not hold up the others.
const BATCH: usize = 16;

/// Sends logout tokens over one HTTP agent (its connections are reused).
pub struct Courier {
    agent: ureq::Agent,
}

impl Default for Courier {
    fn default() -> Self {
        Self::new()
    }
}

impl Courier {
    /// An agent on rustls with aws-lc-rs, the binary's one crypto provider,
    /// and Mozilla's roots; no redirects, a short timeout.
    pub fn new() -> Self {
        let tls = crate::outbound::tls();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_global(Some(ATTEMPT_TIMEOUT))
            .user_agent(concat!("tessera/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self { agent }
    }

    /// Makes an attempt at every notice due now (at most a batch), each on
    /// a thread of its own, and records how each went; returns how many
    /// were delivered.
    pub fn deliver_due(&self, provider: &Provider) -> Result<usize, StoreError> {
        let claimed = logout::claim_due(&provider.ctx, BATCH)?;
        let outcomes: Vec<Result<Outcome, StoreError>> = std::thread::scope(|scope| {
            let attempts: Vec<_> = claimed
                .iter()
                .map(|(id, notice)| scope.spawn(move || self.deliver(provider, id, notice)))
                .collect();
            attempts
                .into_iter()
                .map(|attempt| {
                    attempt.join().unwrap_or_else(|_| {
                        Err(StoreError::Backend(
                            "a back-channel logout attempt panicked".into(),
                        ))
                    })
                })
                .collect()
        });
        let mut delivered = 0;
        for outcome in outcomes {
            if outcome? == Outcome::Delivered {
                delivered += 1;
            }
        }
        Ok(delivered)
    }

    /// One attempt at notice `id`, recorded.
    fn deliver(
        &self,
        provider: &Provider,
        id: &str,
        notice: &LogoutNotice,
    ) -> Result<Outcome, StoreError> {
        let client = clients::get(&provider.ctx, &notice.client_id)?;
        let attempt = match client {
            Some(client) => match &client.backchannel_logout_uri {
                Some(uri) => {
                    match provider.logout_token(&client, &notice.user_id, &notice.session_id, id) {
                        Ok(token) => self.post(uri, &token),
                        Err(err) => Attempt::Failed(format!("cannot sign: {}", err.description)),
                    }
                }
                // It no longer listens: nothing to deliver.
                None => Attempt::Done,
            },
            None => Attempt::Done,
        };
        let outcome = logout::finish(&provider.ctx, id, notice, &attempt)?;
        let client_id = notice.client_id.as_str();
        let attempts = notice.attempts;
        match (&attempt, outcome) {
            (_, Outcome::Delivered) => {
                tracing::info!(client_id, attempts, "back-channel logout delivered");
            }
            (Attempt::Failed(reason), Outcome::Retrying) => tracing::warn!(
                client_id,
                attempts,
                reason = %reason,
                "back-channel logout failed; it will be retried"
            ),
            (Attempt::Failed(reason), Outcome::GaveUp) => tracing::error!(
                client_id,
                attempts,
                reason = %reason,
                "back-channel logout failed for the last time; the client was not told that the session ended"
            ),
            _ => {}
        }
        Ok(outcome)
    }

    /// POSTs the token as `application/x-www-form-urlencoded` (§2.5).
    fn post(&self, uri: &str, token: &str) -> Attempt {
        match self.agent.post(uri).send_form([("logout_token", token)]) {
            Ok(response) => match response.status().as_u16() {
                200 | 204 => Attempt::Done,
                status => Attempt::Failed(format!("the client answered {status}")),
            },
            Err(err) => Attempt::Failed(err.to_string()),
        }
    }
}
