//! Codes, refresh token families and the deny-list.

use super::records::*;
use super::{read, write};
use crate::store::*;
use time::Duration;

pub(super) fn revoking_a_family_takes_its_refresh_and_access_tokens_and_no_other(store: &Store) {
    let later = now() + Duration::days(1);
    write(store, |tx| {
        tx.put_refresh_token(&hash(1), &refresh("f1", "u1", later))?;
        tx.put_refresh_token(&hash(1), &refresh("f1", "u1", later))?;
        tx.put_refresh_token(&hash(2), &refresh("f1", "u1", later))?;
        tx.put_refresh_token(&hash(3), &refresh("f2", "u1", later))?;
        tx.record_access("f1", "jti-1", later)?;
        tx.record_access("f2", "jti-2", later)
    });
    let mut families = read(store, |tx| tx.families_of("u1", "app"));
    families.sort();
    assert_eq!(families, ["f1", "f2"]);

    assert_eq!(write(store, |tx| tx.delete_family("f1")), 2);
    assert_eq!(read(store, |tx| tx.refresh_token(&hash(1))), None);
    assert_eq!(read(store, |tx| tx.refresh_token(&hash(2))), None);
    assert!(read(store, |tx| tx.refresh_token(&hash(3))).is_some());
    assert!(read(store, |tx| tx.is_jti_revoked("jti-1")));
    assert!(!read(store, |tx| tx.is_jti_revoked("jti-2")));
    assert_eq!(read(store, |tx| tx.families_of("u1", "app")), ["f2"]);
}

pub(super) fn expired_grants_are_purged_and_used_codes_kept_for_their_grace(store: &Store) {
    let grace = Duration::minutes(10);
    write(store, |tx| {
        tx.put_code(&hash(1), &code(now() - Duration::minutes(20)))?;
        tx.put_code(&hash(2), &code(now() - Duration::minutes(5)))?;
        tx.put_refresh_token(&hash(3), &refresh("old", "u1", now()))?;
        tx.put_refresh_token(&hash(4), &refresh("new", "u1", now() + Duration::days(1)))?;
        tx.revoke_jti("gone", now() - Duration::seconds(1))?;
        tx.revoke_jti("kept", now() + Duration::minutes(1))
    });
    let removed = write(store, |tx| tx.delete_expired_grants(now(), grace));
    assert_eq!(removed, 3);
    assert_eq!(read(store, |tx| tx.code(&hash(1))), None);
    assert!(read(store, |tx| tx.code(&hash(2))).is_some());
    assert_eq!(read(store, |tx| tx.refresh_token(&hash(3))), None);
    assert!(read(store, |tx| tx.refresh_token(&hash(4))).is_some());
    assert!(!read(store, |tx| tx.is_jti_revoked("gone")));
    assert!(read(store, |tx| tx.is_jti_revoked("kept")));
}

pub(super) fn a_rotated_token_expires_alone_and_its_family_with_the_last_token(store: &Store) {
    let mut rotated = refresh("f1", "u1", now() - Duration::seconds(1));
    rotated.rotated_at = Some(now() - Duration::hours(1));
    write(store, |tx| {
        tx.put_refresh_token(&hash(1), &rotated)?;
        tx.put_refresh_token(&hash(2), &refresh("f1", "u1", now() + Duration::days(1)))?;
        tx.record_access("f1", "jti-1", now() + Duration::minutes(5))
    });
    assert_eq!(
        write(store, |tx| tx.delete_expired_grants(now(), Duration::ZERO)),
        1
    );
    assert_eq!(read(store, |tx| tx.refresh_token(&hash(1))), None);
    assert!(read(store, |tx| tx.refresh_token(&hash(2))).is_some());
    assert_eq!(read(store, |tx| tx.families_of("u1", "app")), ["f1"]);
    assert!(!read(store, |tx| tx.is_jti_revoked("jti-1")));

    let later = now() + Duration::days(1);
    assert_eq!(
        write(store, |tx| tx.delete_expired_grants(later, Duration::ZERO)),
        1
    );
    assert_eq!(read(store, |tx| tx.refresh_token(&hash(2))), None);
    assert!(read(store, |tx| tx.families_of("u1", "app")).is_empty());
    assert!(read(store, |tx| tx.is_jti_revoked("jti-1")));
    // A family written again after it went starts with no tokens of the old one.
    assert_eq!(write(store, |tx| tx.delete_family("f1")), 0);
}

pub(super) fn a_pushed_request_is_taken_once_and_purged_when_expired(store: &Store) {
    let pushed = |expires_at| PushedRequest {
        client_id: "app".into(),
        params: serde_json::json!({"scope": "openid"}),
        pushed_at: now(),
        expires_at,
    };
    write(store, |tx| {
        tx.put_pushed_request(&hash(1), &pushed(now() + Duration::minutes(1)))?;
        tx.put_pushed_request(&hash(2), &pushed(now() - Duration::seconds(1)))
    });
    assert!(read(store, |tx| tx.pushed_request(&hash(1))).is_some());
    assert_eq!(
        write(store, |tx| tx.take_pushed_request(&hash(1))),
        Some(pushed(now() + Duration::minutes(1)))
    );
    assert_eq!(write(store, |tx| tx.take_pushed_request(&hash(1))), None);
    assert_eq!(
        write(store, |tx| tx.delete_expired_grants(now(), Duration::ZERO)),
        1
    );
    assert_eq!(read(store, |tx| tx.pushed_request(&hash(2))), None);
}

pub(super) fn device_authorizations_are_found_by_user_code_and_purged_with_it(store: &Store) {
    let grace = Duration::minutes(10);
    write(store, |tx| {
        tx.put_device_authorization(&hash(1), &device_grant(11, now() - Duration::minutes(20)))?;
        tx.put_device_authorization(&hash(2), &device_grant(12, now() - Duration::minutes(5)))
    });
    assert_eq!(
        read(store, |tx| tx.device_code_of(&hash(12))),
        Some(hash(2))
    );
    let mut approved = device_grant(12, now() - Duration::minutes(5));
    approved.status = DeviceStatus::Denied;
    write(store, |tx| tx.put_device_authorization(&hash(2), &approved));
    assert_eq!(
        read(store, |tx| tx.device_authorization(&hash(2))),
        Some(approved)
    );

    assert_eq!(write(store, |tx| tx.delete_expired_grants(now(), grace)), 1);
    assert_eq!(read(store, |tx| tx.device_authorization(&hash(1))), None);
    assert_eq!(read(store, |tx| tx.device_code_of(&hash(11))), None);
    assert_eq!(
        read(store, |tx| tx.device_code_of(&hash(12))),
        Some(hash(2))
    );
}

pub(super) fn a_dpop_proof_is_new_once_and_purged_when_its_window_ends(store: &Store) {
    assert!(write(store, |tx| tx
        .remember_dpop_proof(&hash(1), now() + Duration::minutes(2))));
    assert!(!write(store, |tx| tx
        .remember_dpop_proof(&hash(1), now() + Duration::minutes(2))));
    assert!(write(store, |tx| tx
        .remember_dpop_proof(&hash(2), now() - Duration::seconds(1))));
    assert_eq!(
        write(store, |tx| tx.delete_expired_grants(now(), Duration::ZERO)),
        1
    );
    assert!(!write(store, |tx| tx
        .remember_dpop_proof(&hash(1), now() + Duration::minutes(2))));
    assert!(write(store, |tx| tx
        .remember_dpop_proof(&hash(2), now() + Duration::minutes(2))));
}
