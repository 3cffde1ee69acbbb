//! tessera: an identity provider in one binary.
//!
//! It hands out two kinds of access artifact: *session tokens*, issued at the
//! end of an authentication journey and validated by asking tessera, and
//! (with the OAuth issue) *OAuth 2.0 access tokens* validated offline.
//!
//! The module graph has no cycle: leaves (`config`, `store`, `clock`,
//! `secret`, `username`, `jwa`, `metrics`) ← the core (`context`, holding `seal`;
//! `passwords`, `mail`, `keys` and `audit` beside it) ← domain areas (`accounts` ←
//! `sessions` ← `journeys` ← `oauth` ← `oidc`), each with its service where
//! it holds something of its own (`accounts::Accounts`, `journeys::Engine`,
//! `oauth::Provider`) ← `http` ← `app` (the composition root, which builds
//! the services and checks the settings against the domain) and `cli`. The allowed
//! edges are one table in `tests/api/architecture.rs`. Domain modules never
//! import actix. The domain reaches the store through its transaction traits
//! (`store::tx`); only the embedded backend (`store::embedded`) imports redb.

pub mod accounts;
pub mod admin;
pub mod app;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod context;
pub mod files;
pub mod http;
pub mod journeys;
pub mod jwa;
pub mod jws;
pub mod keys;
pub mod mail;
pub mod metrics;
pub mod oauth;
pub mod oidc;
pub mod outbound;
pub mod passkeys;
pub mod passwords;
pub mod seal;
pub mod secret;
pub mod sessions;
pub mod store;
pub mod telemetry;
pub mod username;
