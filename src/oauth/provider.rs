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

/// How often a server looks for key changes made by another server sharing
/// its store ([`Provider::refresh_keys`]).
pub const KEY_REFRESH: std::time::Duration = std::time::Duration::from_secs(10);

/// The stored keys of `algs`, with an active key generated for each that
/// has none.
fn load_ring(ctx: &Context, algs: &[SigningAlg]) -> Result<KeyRing, SigningKeyError> {
    let keep_retired = ctx.settings.longest_access_token();
    let load = || KeyRing::load(&ctx.store, &ctx.sealer, ctx.now(), keep_retired, algs);
    let (ring, missing) = load()?;
    if missing.is_empty() {
        return Ok(ring);
    }
    keys::generate_missing(&ctx.store, &ctx.sealer, ctx.now(), &missing)?;
    Ok(load()?.0)
}

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
        let (ring, missing) =
            KeyRing::load(&ctx.store, &ctx.sealer, ctx.now(), keep_retired, algs)?;
        let keys = Arc::new(OnceLock::new());
        if missing.is_empty() {
            let _ = keys.set(RwLock::new(Arc::new(ring)));
        } else {
            let (pending, core, algs) = (keys.clone(), ctx.clone(), algs.to_vec());
            std::thread::Builder::new()
                .name("tessera-keygen".into())
                .spawn(move || {
                    // The ring is set whatever happens, even a panic, so
                    // that no request waits for it forever.
                    let generated = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        keys::generate_missing(&core.store, &core.sealer, core.now(), &missing)?;
                        load_ring(&core, &algs)
                    }));
                    let ring = match generated {
                        Ok(Ok(generated)) => generated,
                        Ok(Err(err)) => {
                            tracing::error!(error = %err, "cannot generate signing keys");
                            ring
                        }
                        Err(_) => {
                            tracing::error!("signing key generation panicked");
                            ring
                        }
                    };
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
        let mut algs = self.keys().signing_algs();
        algs.push(alg);
        algs.sort();
        algs.dedup();
        let ring = load_ring(&self.ctx, &algs)?;
        *self
            .keys
            .wait()
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(ring);
        Ok(())
    }

    /// Loads the ring again if a server sharing the store has changed the
    /// keys since (rotated, generated or purged one); returns whether it
    /// did. Run every [`KEY_REFRESH`], so a rotation on one replica signs
    /// and verifies on all within that time.
    pub fn refresh_keys(&self) -> Result<bool, SigningKeyError> {
        // Before the first ring, start-up is still generating it.
        if self.keys.get().is_none() || self.keys().is_current(&self.ctx.store)? {
            return Ok(false);
        }
        let _one_at_a_time = self.changing.lock().unwrap_or_else(PoisonError::into_inner);
        self.reload(self.ctx.settings.oauth.signing_alg)?;
        Ok(true)
    }

    /// Counts a token response of `grant`.
    pub(super) fn count_issued(&self, grant: GrantType) {
        if let Some((_, counter)) = self.issued.iter().find(|(g, _)| *g == grant) {
            counter.inc();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::keys::KeyStatus;
    use crate::store::Store;

    /// Two servers over one store, as replicas over one database are.
    fn two_servers() -> (Arc<Context>, Provider, Provider) {
        let toml = "[storage]\npath = \":memory:\"\n[oauth]\nsigning_alg = \"ES256\"";
        let settings = Arc::new(Settings::from_toml(toml).expect("valid settings"));
        let store = Store::open(&crate::context::storage(&settings)).expect("store");
        let clock = Arc::new(crate::clock::SystemClock);
        let ctx = Context::new(settings, store, clock, "http://127.0.0.1".into());
        let ctx = Arc::new(ctx.expect("context"));
        let first = Provider::new(ctx.clone(), &[SigningAlg::ES256]).expect("first");
        let second = Provider::new(ctx.clone(), &[SigningAlg::ES256]).expect("second");
        // Both started: their first rings are loaded (keys generated).
        let _ = (first.keys(), second.keys());
        (ctx, first, second)
    }

    fn signing_kid(provider: &Provider) -> String {
        let token = provider
            .keys()
            .sign(SigningAlg::ES256, "JWT", &serde_json::json!({"sub": "x"}))
            .expect("signs");
        jsonwebtoken::decode_header(&token)
            .expect("header")
            .kid
            .expect("kid")
    }

    #[test]
    fn servers_starting_together_on_an_empty_store_agree_on_one_key() {
        let (ctx, first, second) = two_servers();
        assert_eq!(signing_kid(&first), signing_kid(&second));
        assert_eq!(keys::list(&ctx.store).expect("keys").len(), 1);
        // A server that found no key before the other stored one: its
        // generation keeps the stored key rather than adding a second.
        keys::generate_missing(&ctx.store, &ctx.sealer, ctx.now(), &[SigningAlg::ES256])
            .expect("generates");
        let stored = keys::list(&ctx.store).expect("keys");
        assert_eq!(stored.len(), 1, "one active key, not one per server");
    }

    #[test]
    fn a_rotation_on_one_server_reaches_the_other_at_its_next_refresh() {
        let (_ctx, first, second) = two_servers();
        assert!(
            !second.refresh_keys().expect("refresh"),
            "nothing changed yet"
        );
        let new = first.rotate_key(None, &Caller::system()).expect("rotates");
        assert_eq!(new.status, KeyStatus::Active);
        assert!(second.refresh_keys().expect("refresh"));
        assert_eq!(signing_kid(&second), new.kid);
        assert_eq!(signing_kid(&first), new.kid);
        assert!(!second.refresh_keys().expect("refresh"), "reloaded once");
    }
}
