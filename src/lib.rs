//! tessera: an identity provider in one binary.
//!
//! It hands out two kinds of access artifact: *session tokens*, issued at the
//! end of an authentication journey and validated by asking tessera, and
//! (with the OAuth issue) *OAuth 2.0 access tokens* validated offline.
//!
//! Dependencies point one way: `http` → domain (`journeys`, `sessions`,
//! `accounts`) → `store`. Domain modules never import actix; only `store`
//! imports redb.

pub mod accounts;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod context;
pub mod http;
pub mod journeys;
pub mod jwa;
pub mod keys;
pub mod mail;
pub mod oauth;
pub mod oidc;
pub mod passwords;
pub mod seal;
pub mod secret;
pub mod sessions;
pub mod store;
pub mod telemetry;
pub mod username;
