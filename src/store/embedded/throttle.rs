//! Failure counters, by the opaque keys of `accounts::lockout`.

use super::tables::LOGIN_THROTTLE;
use super::{Tables, Write, decode, encode};
use crate::store::tx::{ThrottleReads, ThrottleWrites};
use crate::store::{LoginThrottle, StoreError};
use redb::ReadableTable;
use time::{Duration, OffsetDateTime};

impl<T: Tables> ThrottleReads for T {
    fn throttle(&self, key: &str) -> Result<Option<LoginThrottle>, StoreError> {
        let throttles = self.table(LOGIN_THROTTLE)?;
        let found = throttles.get(key)?;
        found
            .map(|bytes| decode("login throttle", bytes.value()))
            .transpose()
    }
}

impl ThrottleWrites for Write {
    fn put_throttle(&self, key: &str, throttle: &LoginThrottle) -> Result<(), StoreError> {
        self.0
            .open_table(LOGIN_THROTTLE)?
            .insert(key, encode(throttle).as_slice())?;
        Ok(())
    }

    fn delete_throttle(&self, key: &str) -> Result<(), StoreError> {
        self.0.open_table(LOGIN_THROTTLE)?.remove(key)?;
        Ok(())
    }

    fn delete_stale_throttles(
        &self,
        now: OffsetDateTime,
        window: Duration,
    ) -> Result<usize, StoreError> {
        let mut removed = 0;
        self.0.open_table(LOGIN_THROTTLE)?.retain(|_, bytes| {
            let keep = serde_json::from_slice::<LoginThrottle>(bytes)
                .map(|throttle| !throttle.is_stale(now, window))
                .unwrap_or(false);
            removed += usize::from(!keep);
            keep
        })?;
        Ok(removed)
    }
}
