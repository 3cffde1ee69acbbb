//! What the domain code works with: settings, store, clock, password hasher,
//! sealing key and journeys, built once by the composition root (or a CLI command) and
//! shared by reference. No globals.

use crate::accounts::password::{HashError, Passwords};
use crate::clock::Clock;
use crate::config::Settings;
use crate::journeys::Registry;
use crate::mail::{MailError, Mailer};
use crate::seal::{KeyError, Sealer};
use crate::store::Store;
use std::sync::Arc;
use time::OffsetDateTime;

/// Why the context cannot be assembled (settings that passed validation
/// make none happen, save an unreadable or damaged key file).
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Journeys(#[from] crate::journeys::graph::GraphError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// The domain's dependencies.
pub struct Context {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub passwords: Passwords,
    /// Seals secrets kept in the store that must be read back (TOTP).
    pub sealer: Sealer,
    pub journeys: Registry,
    pub mailer: Mailer,
    /// The public base URL, without a trailing slash.
    pub issuer: String,
}

impl Context {
    /// Assembles the context around an opened store.
    pub fn new(
        settings: Arc<Settings>,
        store: Store,
        clock: Arc<dyn Clock>,
        issuer: String,
    ) -> Result<Self, ContextError> {
        Ok(Self {
            passwords: Passwords::new(&settings.passwords)?,
            journeys: Registry::from_settings(&settings)?,
            mailer: Mailer::from_settings(&settings)?,
            sealer: Sealer::new(settings.key_file().as_deref())?,
            settings,
            store,
            clock,
            issuer,
        })
    }

    /// The current time, from the injected clock.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }
}
