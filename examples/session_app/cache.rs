//! A short, bounded cache of tessera's answers about sessions. Keys are
//! SHA-256 hashes of the tokens, so neither the cache nor a dump of it
//! holds a usable token. A "signed out" answer is cached too: a flood of
//! made-up cookies then costs tessera one request per distinct cookie.

use aws_lc_rs::digest::{SHA256, digest};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The cache key of a session token.
pub type Key = [u8; 32];

pub fn key_of(token: &str) -> Key {
    let mut key = [0; 32];
    key.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
    key
}

/// Who a live session belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub user_id: String,
    pub username: String,
}

/// tessera's answer about one session token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    SignedIn(User),
    SignedOut,
}

/// Answers kept for `ttl`, at most `capacity` of them.
pub struct SessionCache {
    ttl: Duration,
    capacity: usize,
    entries: HashMap<Key, (Instant, Verdict)>,
}

impl SessionCache {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            entries: HashMap::new(),
        }
    }

    /// The answer for `key` if it is younger than the TTL at `now`.
    pub fn get(&self, key: &Key, now: Instant) -> Option<Verdict> {
        let (at, verdict) = self.entries.get(key)?;
        (now.saturating_duration_since(*at) < self.ttl).then(|| verdict.clone())
    }

    /// Keeps `verdict` from `now`. When full, expired answers go first, then
    /// the oldest one.
    pub fn put(&mut self, key: Key, verdict: Verdict, now: Instant) {
        if self.ttl.is_zero() {
            return;
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            let ttl = self.ttl;
            self.entries
                .retain(|_, (at, _)| now.saturating_duration_since(*at) < ttl);
            if self.entries.len() >= self.capacity
                && let Some(oldest) = self
                    .entries
                    .iter()
                    .min_by_key(|(_, (at, _))| *at)
                    .map(|(key, _)| *key)
            {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(key, (now, verdict));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Verdict {
        Verdict::SignedIn(User {
            user_id: "u1".into(),
            username: "alice".into(),
        })
    }

    #[test]
    fn an_answer_is_reused_until_its_ttl_runs_out() {
        let mut cache = SessionCache::new(Duration::from_secs(5), 10);
        let start = Instant::now();
        cache.put(key_of("token"), alice(), start);

        assert_eq!(cache.get(&key_of("token"), start), Some(alice()));
        let almost = start + Duration::from_millis(4999);
        assert_eq!(cache.get(&key_of("token"), almost), Some(alice()));
        assert_eq!(
            cache.get(&key_of("token"), start + Duration::from_secs(5)),
            None
        );
        assert_eq!(cache.get(&key_of("another token"), start), None);
    }

    #[test]
    fn the_cache_never_holds_more_than_its_capacity() {
        let mut cache = SessionCache::new(Duration::from_secs(5), 3);
        let start = Instant::now();
        for n in 0..10u64 {
            let now = start + Duration::from_millis(n);
            cache.put(key_of(&format!("token {n}")), Verdict::SignedOut, now);
            assert!(cache.entries.len() <= 3);
        }
        // The newest answers stay; the oldest went first.
        let now = start + Duration::from_millis(10);
        assert_eq!(cache.get(&key_of("token 9"), now), Some(Verdict::SignedOut));
        assert_eq!(cache.get(&key_of("token 0"), now), None);
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let mut cache = SessionCache::new(Duration::ZERO, 3);
        cache.put(key_of("token"), alice(), Instant::now());
        assert!(cache.entries.is_empty());
    }
}
