//! Sessions and users as read lately, so that validating a session (two
//! reads by key, the hot path of every replica) costs no round trip while
//! they are fresh.
//!
//! Only read transactions use it, and only for those two reads; a write
//! transaction reads the database, under its lock. What a write of this
//! process changes is evicted when it commits, so a process reads its own
//! writes at once. A change committed by another replica is evicted when
//! its notification arrives (schema migration 2: a trigger on both tables
//! notifies the channel [`super::listen`] follows), usually within
//! milliseconds; and whatever happens to notifications, an entry is not
//! used once it is older than `storage.cache_secs`. That is how long a
//! logout, a revoked session or a disabled user on one replica can go
//! unseen on another, at most.

use crate::secret::TokenHash;
use crate::store::{Session, User};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Entries kept at most: about 10 MB of sessions and users.
const CAPACITY: usize = 10_000;

/// A session by the hash of its token, a user by id.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) enum Key {
    Session(TokenHash),
    User(String),
}

/// A record the cache holds.
pub(super) trait Cached: Clone {
    fn into_value(self) -> Value;
    fn from_value(value: &Value) -> Option<Self>;
}

#[derive(Clone)]
pub(super) enum Value {
    Session(Session),
    User(User),
}

impl Cached for Session {
    fn into_value(self) -> Value {
        Value::Session(self)
    }
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Session(session) => Some(session.clone()),
            Value::User(_) => None,
        }
    }
}

impl Cached for User {
    fn into_value(self) -> Value {
        Value::User(self)
    }
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::User(user) => Some(user.clone()),
            Value::Session(_) => None,
        }
    }
}

/// When a read transaction began, as the cache counts: what it reads may
/// be put in the cache only if nothing was evicted since.
#[derive(Clone, Copy)]
pub(super) struct Stamp {
    at: Instant,
    evictions: u64,
}

pub(super) struct Cache {
    entries: Mutex<Entries>,
    /// How long an entry is used, counted from the start of the
    /// transaction that read it (its snapshot is no older); zero keeps
    /// nothing.
    fresh_for: Duration,
}

#[derive(Default)]
struct Entries {
    by_key: HashMap<Key, (Instant, Value)>,
    /// Bumped by every eviction, under the same lock as every insertion.
    evictions: u64,
}

impl Cache {
    pub fn new(fresh_for: Duration) -> Self {
        Self {
            entries: Mutex::default(),
            fresh_for,
        }
    }

    fn entries(&self) -> MutexGuard<'_, Entries> {
        // The entries are consistent after any panic: one map operation
        // at a time.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The stamp of a read transaction beginning now.
    pub fn stamp(&self) -> Stamp {
        Stamp {
            at: Instant::now(),
            evictions: self.entries().evictions,
        }
    }

    /// The record under `key`, if it is fresh.
    pub fn get<T: Cached>(&self, key: &Key) -> Option<T> {
        let entries = self.entries();
        let (read_at, value) = entries.by_key.get(key)?;
        (read_at.elapsed() < self.fresh_for)
            .then(|| T::from_value(value))
            .flatten()
    }

    /// Keeps `record`, read by the transaction of `stamp`, unless a write
    /// was committed since that transaction began: its snapshot may predate
    /// that write.
    pub fn put<T: Cached>(&self, key: Key, record: T, stamp: Stamp) {
        let mut entries = self.entries();
        if entries.evictions != stamp.evictions || stamp.at.elapsed() >= self.fresh_for {
            return;
        }
        if entries.by_key.len() >= CAPACITY {
            entries
                .by_key
                .retain(|_, (read_at, _)| read_at.elapsed() < self.fresh_for);
            if entries.by_key.len() >= CAPACITY {
                entries.by_key.clear();
            }
        }
        entries.by_key.insert(key, (stamp.at, record.into_value()));
    }

    /// Forgets what the notification `payload` names (as the triggers of
    /// migration 2 write it: `session HASH`, `user ID`), or everything if
    /// it names no one record (`truncated sessions`, or anything unknown).
    pub fn notified(&self, payload: &str) {
        let key = match payload.split_once(' ') {
            Some(("session", hash)) => STANDARD
                .decode(hash)
                .ok()
                .and_then(|bytes| TokenHash::from_slice(&bytes))
                .map(Key::Session),
            Some(("user", id)) => Some(Key::User(id.to_owned())),
            _ => None,
        };
        match key {
            Some(key) => self.evict(&[key]),
            None => self.clear(),
        }
    }

    /// Forgets everything: notifications may have been missed.
    pub fn clear(&self) {
        let mut entries = self.entries();
        entries.evictions += 1;
        entries.by_key.clear();
    }

    /// Forgets `keys`, changed by a write.
    pub fn evict(&self, keys: &[Key]) {
        let mut entries = self.entries();
        entries.evictions += 1;
        for key in keys {
            entries.by_key.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::behaviour::records::session;

    fn cached(cache: &Cache, key: &Key) -> Option<String> {
        cache.get::<Session>(key).map(|session| session.id)
    }

    #[test]
    fn an_entry_is_not_used_once_older_than_the_bound() {
        let cache = Cache::new(Duration::from_millis(50));
        let key = Key::Session(TokenHash([1; 32]));
        cache.put(key.clone(), session("s1", "u1"), cache.stamp());
        assert_eq!(cached(&cache, &key).as_deref(), Some("s1"));
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(cached(&cache, &key), None);
    }

    #[test]
    fn a_notification_evicts_what_it_names_and_one_naming_nothing_everything() {
        let cache = Cache::new(Duration::from_secs(60));
        let (one, two) = (
            Key::Session(TokenHash([1; 32])),
            Key::Session(TokenHash([2; 32])),
        );
        let user = Key::User("u1".into());
        for key in [&one, &two, &user] {
            cache.put(key.clone(), session("s", "u1"), cache.stamp());
        }
        cache.notified(&format!("session {}", STANDARD.encode([1; 32])));
        assert_eq!(cached(&cache, &one), None);
        assert!(cached(&cache, &two).is_some());
        cache.notified("user u1");
        assert!(cache.get::<Session>(&user).is_none());
        assert!(cached(&cache, &two).is_some());
        cache.notified("something else");
        assert_eq!(cached(&cache, &two), None);
    }
}
