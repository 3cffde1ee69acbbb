//! The OAuth area's service: the authorization server's entry points, with
//! the signing keys only it uses. Built once by the composition root.
//!
//! The key ring can be replaced while the server runs (a rotation through
//! the admin API): each use takes the current ring, an `Arc` read under a
//! lock held for a pointer copy, so token issuance never waits for a
//! rotation, and a request keeps the ring it started with.

use crate::audit::{self, Caller, Party};
use crate::context::Context;
use crate::jwa::SigningAlg;
use crate::keys::{self, KeyInfo, KeyRing, SigningKeyError};
use crate::metrics::Counter;
use crate::oauth::params::GrantType;
use crate::store::StoreError;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

/// Issues, verifies and revokes tokens over the core, signing with its
/// key ring.
pub struct Provider {
    pub ctx: Arc<Context>,
    /// Set once the first keys exist (see [`Provider::new`]), then swapped
    /// whole when the keys change.
    keys: Arc<OnceLock<RwLock<Arc<KeyRing>>>>,
    /// One change of keys at a time: each reloads the ring from the store.
    changing: Mutex<()>,
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
            let _ = keys.set(RwLock::new(Arc::new(ring)));
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
                    let _ = pending.set(RwLock::new(Arc::new(ring)));
                })
                .map_err(|err| SigningKeyError::Generate("signing", err.to_string()))?;
        }
        let issued = GrantType::ALL.map(|grant| (grant, ctx.metrics.token_counter(grant.as_str())));
        Ok(Self {
            ctx,
            keys,
            changing: Mutex::new(()),
            issued,
        })
    }

    /// The current signing keys, once generated (see [`Provider::new`]).
    pub fn keys(&self) -> Arc<KeyRing> {
        self.keys
            .wait()
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every stored key with its status, newest first.
    pub fn key_statuses(&self) -> Result<Vec<KeyInfo>, StoreError> {
        keys::statuses(&self.ctx.store, self.ctx.settings.longest_access_token())
    }

    /// Retires the active key of `alg` (the configured algorithm when
    /// `None`) and signs the next token with a new one; the old key stays
    /// in the JWKS until the tokens it signed have expired. Records it as
    /// `by`'s. Returns the new key.
    pub fn rotate_key(
        &self,
        alg: Option<SigningAlg>,
        by: &Caller,
    ) -> Result<KeyInfo, SigningKeyError> {
        let alg = alg.unwrap_or(self.ctx.settings.oauth.signing_alg);
        let _one_at_a_time = self.changing.lock().unwrap_or_else(PoisonError::into_inner);
        let ctx = &self.ctx;
        let key = keys::rotate(&ctx.store, &ctx.sealer, ctx.now(), alg)?;
        audit::record_admin(ctx, "key.rotate", by, Party::key(&key.kid))?;
        self.reload(alg)?;
        Ok(KeyInfo::of(&key, ctx.settings.longest_access_token()))
    }

    /// Makes sure tokens of `alg` can be signed (a client registered while
    /// the server runs may name an algorithm no other client uses),
    /// generating its key if there is none.
    pub fn ensure_signing_key(&self, alg: SigningAlg) -> Result<(), SigningKeyError> {
        if self.keys().signing_algs().contains(&alg) {
            return Ok(());
        }
        let _one_at_a_time = self.changing.lock().unwrap_or_else(PoisonError::into_inner);
        self.reload(alg)
    }

    /// Takes retired keys whose tokens have all expired out of the JWKS
    /// and the store (they are otherwise dropped at the next start);
    /// returns how many went.
    pub fn purge_retired_keys(&self) -> Result<usize, SigningKeyError> {
        let now = self.ctx.now();
        let expired = self
            .key_statuses()?
            .iter()
            .filter(|key| key.published_until.is_some_and(|until| until <= now))
            .count();
        if expired > 0 {
            let _one_at_a_time = self.changing.lock().unwrap_or_else(PoisonError::into_inner);
            self.reload(self.ctx.settings.oauth.signing_alg)?;
        }
        Ok(expired)
    }

    /// Loads the ring again from the store, with an active key for every
    /// algorithm signed with so far and `alg` (generated when missing),
    /// dropping retired keys whose tokens have all expired; then swaps it
    /// in. The caller holds `changing`.
    fn reload(&self, alg: SigningAlg) -> Result<(), SigningKeyError> {
        let ctx = &self.ctx;
        let mut algs = self.keys().signing_algs();
        algs.push(alg);
        algs.sort();
        algs.dedup();
        let keep_retired = ctx.settings.longest_access_token();
        let (mut ring, missing) =
            KeyRing::load(&ctx.store, &ctx.sealer, ctx.now(), keep_retired, &algs)?;
        if !missing.is_empty() {
            ring.generate(&ctx.store, &ctx.sealer, ctx.now(), &missing)?;
        }
        *self
            .keys
            .wait()
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(ring);
        Ok(())
    }

    /// Counts a token response of `grant`.
    pub(super) fn count_issued(&self, grant: GrantType) {
        if let Some((_, counter)) = self.issued.iter().find(|(g, _)| *g == grant) {
            counter.inc();
        }
    }
}
