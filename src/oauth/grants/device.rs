//! The device code grant (RFC 8628 §3.4, §3.5): a device polls until the
//! user decides, no faster than its interval. Each poll is one write
//! transaction that records when it came, so the interval holds across
//! workers, and the tokens are issued in the transaction that marks the
//! device code spent: exactly once.

use super::{Granted, TokenResponse, active_user, note_id_token};
use crate::config::seconds;
use crate::oauth::dpop::Jkt;
use crate::oauth::tokens::Subject;
use crate::oauth::{Authentication, ErrorKind, OAuthError, Provider};
use crate::secret::Token;
use crate::store::{Client, DeviceStatus};

/// RFC 8628 §3.5: what `slow_down` adds to a device's interval.
const SLOW_DOWN_SECS: u64 = 5;

impl Provider {
    pub(super) fn poll_device(
        &self,
        client: &Client,
        device_code: &Token,
        jkt: Option<&Jkt>,
    ) -> Result<TokenResponse, OAuthError> {
        let hash = device_code.hash();
        let now = self.ctx.now();
        let granted =
            self.ctx
                .store
                .write(|tx| -> Result<Result<Granted, OAuthError>, OAuthError> {
                    let Some(mut device) = tx
                        .device_authorization(&hash)?
                        .filter(|device| device.client_id == client.client_id)
                    else {
                        return Ok(Err(OAuthError::invalid_grant("the device code is invalid")));
                    };
                    if device.status == DeviceStatus::Redeemed {
                        return Ok(Err(OAuthError::invalid_grant(
                            "the device code was already used",
                        )));
                    }
                    if device.expires_at <= now {
                        return Ok(Err(OAuthError::new(
                            ErrorKind::ExpiredToken,
                            "the device code has expired; start again",
                        )));
                    }
                    // The first poll may come at once; later ones wait the interval.
                    let too_soon = device
                        .last_polled_at
                        .is_some_and(|last| now < last + seconds(device.interval_secs));
                    device.last_polled_at = Some(now);
                    if too_soon {
                        device.interval_secs += SLOW_DOWN_SECS;
                        tx.put_device_authorization(&hash, &device)?;
                        return Ok(Err(OAuthError::new(
                            ErrorKind::SlowDown,
                            format!("poll at most every {} seconds", device.interval_secs),
                        )));
                    }
                    let approval = match &device.status {
                        DeviceStatus::Approved(approval) => approval.clone(),
                        DeviceStatus::Pending => {
                            tx.put_device_authorization(&hash, &device)?;
                            return Ok(Err(OAuthError::new(
                                ErrorKind::AuthorizationPending,
                                "the user has not decided yet",
                            )));
                        }
                        DeviceStatus::Denied | DeviceStatus::Redeemed => {
                            tx.put_device_authorization(&hash, &device)?;
                            return Ok(Err(OAuthError::new(
                                ErrorKind::AccessDenied,
                                "the user denied the request",
                            )));
                        }
                    };
                    let user = match active_user(tx, &approval.user_id) {
                        Ok(user) => user,
                        Err(err) => return Ok(Err(err)),
                    };
                    let auth = Authentication {
                        auth_time: approval.auth_time,
                        amr: approval.amr,
                        acr: approval.acr,
                        sid: approval.sid,
                    };
                    let claims = self
                        .claims_for(client, &Subject::User(&user, &auth), &device.scopes)
                        .bound_to(jkt);
                    let (refresh, _) =
                        self.start_family(tx, client, &user, &device.scopes, &auth, &claims)?;
                    note_id_token(tx, client, &user, &auth, &device.scopes)?;
                    device.status = DeviceStatus::Redeemed;
                    tx.put_device_authorization(&hash, &device)?;
                    Ok(Ok(Granted {
                        user,
                        auth,
                        scope: device.scopes,
                        claims,
                        refresh,
                        nonce: None,
                    }))
                })??;
        self.respond(client, granted)
    }
}
