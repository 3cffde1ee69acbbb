//! Records to store: complete, and the same every time.

use crate::secret::TokenHash;
use crate::store::*;
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};

pub(super) fn now() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + Duration::days(20_000)
}

pub(super) fn hash(seed: u8) -> TokenHash {
    TokenHash([seed; 32])
}

pub(in crate::store) fn user(id: &str, username: &str, email: Option<&str>) -> User {
    User {
        id: id.into(),
        username: username.into(),
        username_normalized: username.to_lowercase(),
        email: email.map(Into::into),
        email_verified: false,
        name: None,
        password_hash: None,
        disabled: false,
        created_at: now(),
        updated_at: now(),
        totp: None,
        recovery_codes: None,
        phone_number: None,
        address: None,
        admin: false,
        managed_by_config: false,
    }
}

pub(in crate::store) fn session(id: &str, user_id: &str) -> Session {
    Session {
        id: id.into(),
        user_id: user_id.into(),
        journey: "login".into(),
        amr: vec!["pwd".into()],
        auth_time: now(),
        created_at: now(),
        last_used_at: now(),
        absolute_expires_at: now() + Duration::hours(1),
        user_agent: None,
        ip: None,
        id_token_clients: vec!["app".into()],
    }
}

pub(super) fn journey(expires_at: OffsetDateTime) -> JourneyState {
    JourneyState {
        journey: "login".into(),
        node: "password".into(),
        user_id: None,
        claimed_user_id: None,
        claimed_name: None,
        amr: Vec::new(),
        goto: None,
        message: None,
        expires_at,
        attempts: BTreeMap::new(),
        data: BTreeMap::new(),
        pending_user: None,
        step_up_session: None,
        device: None,
    }
}

pub(super) fn throttle(failures: u32) -> LoginThrottle {
    LoginThrottle {
        failures,
        window_started_at: now(),
        locked_until: None,
    }
}

pub(super) fn push_request(id: &str, user_id: &str, expires_at: OffsetDateTime) -> PushRequest {
    PushRequest {
        id: id.into(),
        user_id: user_id.into(),
        created_at: now(),
        expires_at,
        status: PushStatus::Pending,
        ip: None,
        user_agent: None,
        number: 42,
        choices: vec![17, 42, 85],
    }
}

pub(super) fn device(id: &str) -> KnownDevice {
    KnownDevice {
        id: id.into(),
        fingerprint: format!("fp-{id}"),
        label: "Firefox 121 on Linux".into(),
        name: Some("Work laptop".into()),
        first_seen: now(),
        last_seen: now(),
    }
}

pub(super) fn client(client_id: &str) -> Client {
    Client {
        client_id: client_id.into(),
        secret_hash: None,
        name: client_id.into(),
        redirect_uris: vec!["https://app.example/cb".into()],
        post_logout_redirect_uris: Vec::new(),
        scopes: vec!["openid".into()],
        grant_types: vec!["authorization_code".into()],
        first_party: false,
        logo_uri: None,
        client_uri: None,
        require_pkce: true,
        audience: Vec::new(),
        access_token_ttl_secs: None,
        refresh_token_ttl_secs: None,
        signing_alg: None,
        journey: None,
        require_nonce: false,
        token_exchange: false,
        resource_server: false,
        require_pushed_authorization_requests: false,
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
        dpop_bound_access_tokens: true,
        managed_by_config: false,
        created_at: now(),
        registration: None,
    }
}

pub(super) fn consent(user_id: &str, client_id: &str) -> Consent {
    Consent {
        user_id: user_id.into(),
        client_id: client_id.into(),
        scopes: vec!["openid".into()],
        granted_at: now(),
    }
}

pub(super) fn code(expires_at: OffsetDateTime) -> AuthorizationCode {
    AuthorizationCode {
        client_id: "app".into(),
        user_id: "u1".into(),
        redirect_uri: "https://app.example/cb".into(),
        redirect_uri_given: true,
        code_challenge: None,
        scopes: vec!["openid".into()],
        nonce: None,
        auth_time: now(),
        amr: Vec::new(),
        acr: None,
        sid: Some("s1".into()),
        expires_at,
        redeemed: None,
        dpop_jkt: Some("code-thumbprint".into()),
    }
}

pub(super) fn device_grant(user_code: u8, expires_at: OffsetDateTime) -> DeviceAuthorization {
    DeviceAuthorization {
        client_id: "tv".into(),
        scopes: vec!["openid".into()],
        user_code_hash: hash(user_code).0,
        expires_at,
        interval_secs: 5,
        last_polled_at: None,
        status: DeviceStatus::Pending,
    }
}

pub(super) fn refresh(family: &str, user_id: &str, expires_at: OffsetDateTime) -> RefreshToken {
    RefreshToken {
        family: family.into(),
        client_id: "app".into(),
        user_id: user_id.into(),
        scopes: vec!["openid".into()],
        auth_time: now(),
        amr: Vec::new(),
        acr: None,
        sid: Some("s1".into()),
        expires_at,
        rotated_at: None,
        successor: None,
        retried: false,
        dpop_jkt: Some("refresh-thumbprint".into()),
    }
}

pub(super) fn logout_notice(client_id: &str, next_attempt_at: OffsetDateTime) -> LogoutNotice {
    LogoutNotice {
        client_id: client_id.into(),
        user_id: "u1".into(),
        session_id: "s1".into(),
        ended_at: now(),
        attempts: 0,
        next_attempt_at,
    }
}

pub(super) fn audit_event(at: OffsetDateTime, kind: &str, actor: &str) -> AuditEvent {
    AuditEvent {
        at,
        kind: kind.into(),
        outcome: "success".into(),
        actor: actor.into(),
        subject: Some("user:alice".into()),
        ip: Some("127.0.0.1".into()),
        details: BTreeMap::from([("journey".into(), "login".into())]),
    }
}
