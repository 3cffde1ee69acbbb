//! Throttling of failed sign-ins, per normalised username and per client
//! address, of registrations, per client address, and of failed TOTP codes,
//! per user (`accounts::totp`).
//!
//! Counters exist for any username tried, whether or not an account has it,
//! so a lockout message reveals nothing about which accounts exist.

use crate::config::{LockoutSettings, seconds};
use crate::store::LoginThrottle;
use time::OffsetDateTime;

/// Until when the username is locked, if it is.
pub fn locked_until(
    throttle: Option<&LoginThrottle>,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    throttle
        .and_then(|t| t.locked_until)
        .filter(|until| *until > now)
}

/// Seconds until `until`, rounded up and at least 1: what `Retry-After`
/// (RFC 9110 §10.2.3) says of a lock that ends then.
pub fn retry_after_secs(until: OffsetDateTime, now: OffsetDateTime) -> u64 {
    let wait = until - now;
    let whole = wait.whole_seconds();
    let rounded_up = whole + i64::from(wait > time::Duration::seconds(whole));
    u64::try_from(rounded_up).unwrap_or(0).max(1)
}

/// The counter after one more failure (success forgets it): a new window
/// once the old one is over, and a lock once `max_failures` failures fall
/// within one window.
pub fn record_attempt(
    throttle: Option<LoginThrottle>,
    now: OffsetDateTime,
    settings: &LockoutSettings,
    max_failures: u32,
) -> LoginThrottle {
    let window = seconds(settings.window_secs);
    let mut throttle = match throttle {
        // A lock that has run out starts a new window, like an old window.
        Some(t) if t.window_started_at + window > now && t.locked_until.is_none() => t,
        _ => LoginThrottle {
            failures: 0,
            window_started_at: now,
            locked_until: None,
        },
    };
    throttle.failures += 1;
    if throttle.failures >= max_failures {
        throttle.locked_until = Some(now + seconds(settings.duration_secs));
    }
    throttle
}

/// The counter key of a client address. IPv6 addresses count by /64, the
/// block one subscriber usually gets. Usernames cannot contain spaces, so
/// it never meets a username's counter.
pub fn address_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("address {:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(std::net::IpAddr::V6(v6)) => format!("address {}", v6.to_canonical()),
        _ => format!("address {ip}"),
    }
}

/// The counter key of registration attempts from a client address (the
/// same /64 rule as [`address_key`]); apart from the sign-in counter, so
/// that registering never locks anyone out of signing in.
pub fn registration_key(ip: &str) -> String {
    format!("register {}", address_key(ip))
}

/// The counter key of a user's failed TOTP codes, across journeys. A space
/// cannot occur in a normalised username, so no one can choose a username
/// that shares (and so locks, or unlocks) this counter.
pub fn totp_key(user_id: &str) -> String {
    format!("totp {user_id}")
}

/// The counter key of a client's failed authentications from one address
/// (an [`address_key`]). Client ids and usernames contain no spaces, so no
/// client id can be chosen to share another client's counter, and no
/// username counter meets it.
pub fn client_key(client_id: &str, address_key: &str) -> String {
    format!("client {client_id} {address_key}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn retry_after_rounds_the_wait_up_to_whole_seconds_and_is_never_zero() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let after = |wait: Duration| retry_after_secs(now + wait, now);
        assert_eq!(after(Duration::milliseconds(1500)), 2);
        assert_eq!(after(Duration::seconds(60)), 60);
        assert_eq!(after(Duration::milliseconds(1)), 1);
        assert_eq!(after(Duration::seconds(-5)), 1);
    }

    fn settings() -> LockoutSettings {
        LockoutSettings {
            max_failures: 3,
            max_failures_per_address: 10,
            max_registrations_per_address: 10,
            window_secs: 60,
            duration_secs: 300,
        }
    }

    #[test]
    fn the_third_failure_in_a_window_locks_the_username() {
        let now = OffsetDateTime::now_utc();
        let mut throttle = None;
        for _ in 0..2 {
            throttle = Some(record_attempt(throttle, now, &settings(), 3));
            assert_eq!(locked_until(throttle.as_ref(), now), None);
        }
        let locked = record_attempt(throttle, now, &settings(), 3);
        assert_eq!(
            locked_until(Some(&locked), now),
            Some(now + Duration::seconds(300))
        );
        assert_eq!(
            locked_until(Some(&locked), now + Duration::seconds(301)),
            None
        );
    }

    #[test]
    fn failures_in_an_old_window_do_not_count() {
        let now = OffsetDateTime::now_utc();
        let mut throttle = Some(record_attempt(None, now, &settings(), 3));
        throttle = Some(record_attempt(throttle, now, &settings(), 3));
        let later = now + Duration::seconds(61);
        let fresh = record_attempt(throttle, later, &settings(), 3);
        assert_eq!(fresh.failures, 1);
        assert_eq!(fresh.window_started_at, later);
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_bit_prefix() {
        assert_eq!(
            address_key("2001:db8:1:2:aaaa::1"),
            address_key("2001:db8:1:2:bbbb::9")
        );
        assert_ne!(
            address_key("2001:db8:1:2::1"),
            address_key("2001:db8:1:3::1")
        );
        assert_eq!(address_key("::ffff:10.0.0.1"), "address 10.0.0.1");
        assert_eq!(address_key("10.0.0.1"), "address 10.0.0.1");
    }

    #[test]
    fn a_counter_is_stale_once_its_window_and_lock_are_over() {
        let now = OffsetDateTime::now_utc();
        let one = record_attempt(None, now, &settings(), 3);
        let window = seconds(settings().window_secs);
        assert!(!one.is_stale(now, window));
        assert!(one.is_stale(now + Duration::seconds(60), window));
    }
}
