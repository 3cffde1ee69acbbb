//! The OAuth area's service: the authorization server's entry points, with
//! the signing keys only it uses. Built once by the composition root.

use crate::context::Context;
use crate::jwa::SigningAlg;
use crate::keys::{KeyRing, SigningKeyError};
use crate::metrics::Counter;
use crate::oauth::params::GrantType;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock};

/// Issues, verifies and revokes tokens over the core, signing with its
/// key ring.
pub struct Provider {
    pub ctx: Arc<Context>,
    keys: Arc<OnceLock<KeyRing>>,
    /// Tokens issued per grant type (`tessera_tokens_issued_total`), taken
    /// from the metrics once, so that counting is an atomic add.
    issued: [(GrantType, Counter); GrantType::ALL.len()],
}

impl Provider {
    /// Loads the stored keys of `algs` (the configured algorithm and every
    /// client's); retired keys stay published as long as the longest-lived
    /// access token they may have signed. Keys the store lacks (every key
    /// of an in-memory store) are generated on a thread of their own, so
    /// that start-up does not wait for an RSA key: the first request that
    /// needs the ring waits instead. A key that cannot be generated is
    /// logged, and tokens of its algorithm fail as any signing failure does.
    pub fn new(ctx: Arc<Context>, algs: &[SigningAlg]) -> Result<Self, SigningKeyError> {
        let keep_retired = ctx.settings.longest_access_token();
        let (mut ring, missing) =
            KeyRing::load(&ctx.store, &ctx.sealer, ctx.now(), keep_retired, algs)?;
        let keys = Arc::new(OnceLock::new());
        if missing.is_empty() {
            let _ = keys.set(ring);
        } else {
            let (pending, core) = (keys.clone(), ctx.clone());
            std::thread::Builder::new()
                .name("tessera-keygen".into())
                .spawn(move || {
                    // The ring is set whatever happens, even a panic, so
                    // that no request waits for it forever.
                    let generated = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        ring.generate(&core.store, &core.sealer, core.now(), &missing)
                    }));
                    match generated {
                        Ok(Ok(())) => {}
                        Ok(Err(err)) => {
                            tracing::error!(error = %err, "cannot generate signing keys")
                        }
                        Err(_) => tracing::error!("signing key generation panicked"),
                    }
                    let _ = pending.set(ring);
                })
                .map_err(|err| SigningKeyError::Generate("signing", err.to_string()))?;
        }
        let issued = GrantType::ALL.map(|grant| (grant, ctx.metrics.token_counter(grant.as_str())));
        Ok(Self { ctx, keys, issued })
    }

    /// The signing keys, once generated (see [`Provider::new`]).
    pub fn keys(&self) -> &KeyRing {
        self.keys.wait()
    }

    /// Counts a token response of `grant`.
    pub(super) fn count_issued(&self, grant: GrantType) {
        if let Some((_, counter)) = self.issued.iter().find(|(g, _)| *g == grant) {
            counter.inc();
        }
    }
}
