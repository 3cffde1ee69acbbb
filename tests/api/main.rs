//! tessera's integration tests: one binary, real servers on port 0, real
//! redb stores and real argon2 (with cheap parameters).

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod account;
mod admin_api;
mod admin_help;
mod admin_pages;
mod architecture;
mod attacks;
mod audit;
mod backchannel;
mod bad_input;
mod connections;
mod devices;
mod fixture;
mod helpers;
mod journeys;
mod login_html;
mod login_rest;
mod mail;
mod metrics;
mod oauth;
mod oauth_clients;
mod oauth_device;
mod oauth_dpop;
mod oauth_par;
mod oidc;
mod passkeys;
mod process;
mod push;
mod registration;
mod second_factor;
mod sessions;
mod totp;
mod upgrade;
mod usernames;
