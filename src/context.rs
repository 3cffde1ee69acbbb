//! The core every domain area works with: settings, store, clock, sealing
//! key, issuer and metrics, built once by the composition root (or a CLI
//! command) and shared by reference. No globals.
//!
//! It knows no domain module. A domain area's own service holds the core
//! and what only that area uses (`accounts::Accounts` the password hasher,
//! `journeys::Engine` the journey registry and the mailer,
//! `oauth::Provider` the signing keys); the composition root builds each,
//! so the module graph has no cycle (`tests/api/architecture.rs` keeps it
//! so).

use crate::clock::Clock;
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::seal::{KeyError, Sealer};
use crate::secret::{Token, constant_time_eq};
use crate::store::{StoragePath, Store};
use std::sync::Arc;
use time::OffsetDateTime;

/// Why the context cannot be assembled (settings that passed validation
/// make none happen, save an unreadable or damaged key file).
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// The domain's shared dependencies.
pub struct Context {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// Seals secrets kept in the store that must be read back (TOTP).
    pub sealer: Sealer,
    /// The public base URL, without a trailing slash.
    pub issuer: String,
    /// What `GET /metrics` exports; the domain keeps counters from it.
    pub metrics: Metrics,
}

/// Where the settings put the store: a PostgreSQL database
/// (`storage.url`), a redb file (`storage.path`), or memory.
pub fn storage(settings: &Settings) -> StoragePath {
    match (&settings.storage.url, settings.store_file()) {
        (Some(url), _) => StoragePath::Postgres {
            url: url.clone(),
            cache_for: std::time::Duration::from_secs(settings.storage.cache_secs),
        },
        (None, Some(file)) => StoragePath::File(file),
        (None, None) => StoragePath::Memory,
    }
}

impl Context {
    /// Assembles the context around an opened store, first migrating a
    /// store of an older schema (which needs the sealing key).
    pub fn new(
        settings: Arc<Settings>,
        store: Store,
        clock: Arc<dyn Clock>,
        issuer: String,
    ) -> Result<Self, ContextError> {
        let sealer = match settings.sealing_key() {
            Some(key) => Sealer::with_key(&key)?,
            None => Sealer::new(settings.key_file().as_deref())?,
        };
        store.migrate(&sealer)?;
        let metrics = Metrics::new(settings.store_file().is_some());
        Ok(Self {
            metrics,
            sealer,
            settings,
            store,
            clock,
            issuer,
        })
    }

    /// A CSRF token bound to a session or journey token: an HMAC under the
    /// sealing key, so only the server can make one, and only for the
    /// holder of the token (an HttpOnly cookie). Nothing is stored.
    pub fn csrf_token(&self, token: &Token) -> String {
        self.sealer.mac("csrf", token.expose().as_bytes())
    }

    /// Checks a submitted CSRF token, in constant time.
    pub fn verify_csrf(&self, token: &Token, submitted: &str) -> bool {
        constant_time_eq(self.csrf_token(token).as_bytes(), submitted.as_bytes())
    }

    /// The current time, from the injected clock.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }
}
