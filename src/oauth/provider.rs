//! The OAuth area's service: the authorization server's entry points, with
//! the signing keys only it uses. Built once by the composition root.

use crate::context::Context;
use crate::jwa::SigningAlg;
use crate::keys::{KeyRing, SigningKeyError};
use std::sync::Arc;

/// Issues, verifies and revokes tokens over the core, signing with its
/// key ring.
pub struct Provider {
    pub ctx: Arc<Context>,
    keys: KeyRing,
}

impl Provider {
    /// Loads (generating what is missing) the keys of `algs`: the
    /// configured algorithm and every client's. Retired keys stay published
    /// as long as the longest-lived access token they may have signed.
    pub fn new(ctx: Arc<Context>, algs: &[SigningAlg]) -> Result<Self, SigningKeyError> {
        let keep_retired = ctx.settings.longest_access_token();
        let keys = KeyRing::load(&ctx.store, &ctx.sealer, ctx.now(), keep_retired, algs)?;
        Ok(Self { ctx, keys })
    }

    /// The signing keys.
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }
}
