//! The small families: journeys in progress, failure counters, push
//! requests, remembered devices, passkeys, back-channel logout notices
//! and leases.

use super::{Tx, count, decode, encode, nanos};
use crate::secret::TokenHash;
use crate::store::tx::{
    DeviceReads, DeviceWrites, JourneyReads, JourneyWrites, LeaseWrites, LogoutReads, LogoutWrites,
    PasskeyReads, PasskeyWrites, PushReads, PushWrites, ThrottleReads, ThrottleWrites,
};
use crate::store::{
    JourneyState, KnownDevice, LoginThrottle, LogoutNotice, PasskeyRing, PushRequest, StoreError,
};
use time::{Duration, OffsetDateTime};

impl JourneyReads for Tx {
    fn journey(&self, hash: &TokenHash) -> Result<Option<JourneyState>, StoreError> {
        self.record(
            "journey",
            "SELECT record FROM journeys WHERE hash = $1",
            &[&hash.as_bytes()],
        )
    }
}

impl JourneyWrites for Tx {
    fn put_journey(&self, hash: &TokenHash, state: &JourneyState) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO journeys (hash, expires_at, record) VALUES ($1, $2, $3) \
             ON CONFLICT (hash) DO UPDATE SET expires_at = EXCLUDED.expires_at, record = EXCLUDED.record",
            &[&hash.as_bytes(), &nanos(state.expires_at), &encode(state)],
        )?;
        Ok(())
    }

    fn take_journey(&self, hash: &TokenHash) -> Result<Option<JourneyState>, StoreError> {
        self.record(
            "journey",
            "DELETE FROM journeys WHERE hash = $1 RETURNING record",
            &[&hash.as_bytes()],
        )
    }

    fn delete_expired_journeys(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        count(self.execute(
            "DELETE FROM journeys WHERE expires_at <= $1",
            &[&nanos(now)],
        )?)
    }
}

impl ThrottleReads for Tx {
    fn throttle(&self, key: &str) -> Result<Option<LoginThrottle>, StoreError> {
        self.record(
            "login throttle",
            "SELECT record FROM throttles WHERE key = $1",
            &[&key],
        )
    }
}

impl ThrottleWrites for Tx {
    fn put_throttle(&self, key: &str, throttle: &LoginThrottle) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO throttles (key, window_started_at, locked_until, record) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO UPDATE SET \
             window_started_at = EXCLUDED.window_started_at, \
             locked_until = EXCLUDED.locked_until, record = EXCLUDED.record",
            &[
                &key,
                &nanos(throttle.window_started_at),
                &throttle.locked_until.map(nanos),
                &encode(throttle),
            ],
        )?;
        Ok(())
    }

    fn delete_throttle(&self, key: &str) -> Result<(), StoreError> {
        self.execute("DELETE FROM throttles WHERE key = $1", &[&key])?;
        Ok(())
    }

    /// [`LoginThrottle::is_stale`] in SQL.
    fn delete_stale_throttles(
        &self,
        now: OffsetDateTime,
        window: Duration,
    ) -> Result<usize, StoreError> {
        let window = i64::try_from(window.whole_nanoseconds()).unwrap_or(i64::MAX);
        count(self.execute(
            "DELETE FROM throttles WHERE window_started_at <= $1 \
             AND (locked_until IS NULL OR locked_until <= $2)",
            &[&nanos(now).saturating_sub(window), &nanos(now)],
        )?)
    }
}

impl PushReads for Tx {
    fn push_request(&self, id: &str) -> Result<Option<PushRequest>, StoreError> {
        self.record(
            "push request",
            "SELECT record FROM push_requests WHERE id = $1",
            &[&id],
        )
    }

    fn push_requests_of(&self, user_id: &str) -> Result<Vec<PushRequest>, StoreError> {
        self.records(
            "push request",
            "SELECT record FROM push_requests WHERE user_id = $1",
            &[&user_id],
        )
    }
}

impl PushWrites for Tx {
    fn put_push_request(&self, request: &PushRequest) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO push_requests (id, user_id, expires_at, record) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET user_id = EXCLUDED.user_id, \
             expires_at = EXCLUDED.expires_at, record = EXCLUDED.record",
            &[
                &request.id,
                &request.user_id,
                &nanos(request.expires_at),
                &encode(request),
            ],
        )?;
        Ok(())
    }

    fn delete_push_request(&self, id: &str) -> Result<Option<PushRequest>, StoreError> {
        self.record(
            "push request",
            "DELETE FROM push_requests WHERE id = $1 RETURNING record",
            &[&id],
        )
    }

    fn delete_expired_push_requests(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        count(self.execute(
            "DELETE FROM push_requests WHERE expires_at <= $1",
            &[&nanos(now)],
        )?)
    }
}

impl DeviceReads for Tx {
    fn devices_of(&self, user_id: &str) -> Result<Vec<KnownDevice>, StoreError> {
        Ok(self
            .record(
                "devices",
                "SELECT record FROM devices WHERE user_id = $1",
                &[&user_id],
            )?
            .unwrap_or_default())
    }
}

impl DeviceWrites for Tx {
    fn put_devices(&self, user_id: &str, devices: &[KnownDevice]) -> Result<(), StoreError> {
        if devices.is_empty() {
            self.execute("DELETE FROM devices WHERE user_id = $1", &[&user_id])?;
        } else {
            self.execute(
                "INSERT INTO devices (user_id, record) VALUES ($1, $2) \
                 ON CONFLICT (user_id) DO UPDATE SET record = EXCLUDED.record",
                &[&user_id, &encode(&devices)],
            )?;
        }
        Ok(())
    }
}

impl PasskeyReads for Tx {
    fn passkeys_of(&self, user_id: &str) -> Result<Option<PasskeyRing>, StoreError> {
        self.record(
            "passkeys",
            "SELECT record FROM passkeys WHERE user_id = $1",
            &[&user_id],
        )
    }

    fn passkeys_by_handle(&self, user_handle: &str) -> Result<Option<PasskeyRing>, StoreError> {
        self.record(
            "passkeys",
            "SELECT record FROM passkeys WHERE user_handle = $1",
            &[&user_handle],
        )
    }
}

impl PasskeyWrites for Tx {
    fn put_passkeys(&self, ring: &PasskeyRing) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO passkeys (user_id, user_handle, record) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET user_handle = EXCLUDED.user_handle, \
             record = EXCLUDED.record",
            &[&ring.user_id, &ring.user_handle, &encode(ring)],
        )?;
        Ok(())
    }

    fn delete_passkeys(&self, user_id: &str) -> Result<(), StoreError> {
        self.execute("DELETE FROM passkeys WHERE user_id = $1", &[&user_id])?;
        Ok(())
    }
}

impl LogoutReads for Tx {
    fn logout_notice(&self, id: &str) -> Result<Option<LogoutNotice>, StoreError> {
        self.record(
            "logout notice",
            "SELECT record FROM logout_notices WHERE id = $1",
            &[&id],
        )
    }

    fn logout_notices_due(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<(String, LogoutNotice)>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.query(
            "SELECT id, record FROM logout_notices WHERE next_attempt_at <= $1 \
             ORDER BY next_attempt_at, id LIMIT $2",
            &[&nanos(now), &limit],
        )?
        .iter()
        .map(|row| Ok((row.get(0), decode("logout notice", row.get(1))?)))
        .collect()
    }
}

impl LogoutWrites for Tx {
    fn put_logout_notice(&self, id: &str, notice: &LogoutNotice) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO logout_notices (id, next_attempt_at, record) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET next_attempt_at = EXCLUDED.next_attempt_at, \
             record = EXCLUDED.record",
            &[&id, &nanos(notice.next_attempt_at), &encode(notice)],
        )?;
        Ok(())
    }

    fn delete_logout_notice(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.execute("DELETE FROM logout_notices WHERE id = $1", &[&id])? == 1)
    }
}

impl LeaseWrites for Tx {
    fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        // Taken, or renewed, only if free, ended, or already the holder's.
        let taken = self.execute(
            "INSERT INTO leases (name, holder, until) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until \
             WHERE leases.holder = EXCLUDED.holder OR leases.until <= $4",
            &[&name, &holder, &nanos(until), &nanos(now)],
        )?;
        Ok(taken == 1)
    }
}
