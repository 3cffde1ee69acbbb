//! tessera's integration tests: one binary, real servers on port 0, real
//! redb stores and real argon2 (with cheap parameters).

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod architecture;
mod bad_input;
mod helpers;
mod login_html;
mod login_rest;
mod process;
mod sessions;
mod totp;
