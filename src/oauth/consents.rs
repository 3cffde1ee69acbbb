//! Consents as users see them on /account, and withdrawing one.

use crate::audit;
use crate::context::Context;
use crate::store::{Client, Consent, StoreError};

/// A user's consents, for /account.
pub fn list(ctx: &Context, user_id: &str) -> Result<Vec<(Consent, Option<Client>)>, StoreError> {
    ctx.store.read(|tx| {
        tx.consents_of(user_id)?
            .into_iter()
            .map(|consent| {
                let client = tx.client(&consent.client_id)?;
                Ok((consent, client))
            })
            .collect()
    })
}

/// Revokes a user's consent to a client and that client's refresh tokens
/// for the user, in one transaction, as `caller` asks. Audited as a
/// `consent.revoke` when there was a consent.
pub fn revoke(
    ctx: &Context,
    user_id: &str,
    client_id: &str,
    caller: &audit::Caller,
) -> Result<bool, StoreError> {
    ctx.store.write(|tx| {
        let families = tx.families_of(user_id, client_id)?;
        for family in &families {
            tx.delete_family(family)?;
        }
        let revoked = tx.delete_consent(user_id, client_id)?;
        if revoked && let Some(user) = tx.user(user_id)? {
            let event = audit::Event::success_by(audit::Kind::ConsentRevoke, caller)
                .about(audit::Party::user(&user.username))
                .with("client", client_id)
                .with("refresh_token_families_revoked", families.len().to_string());
            audit::record(ctx, tx, event)?;
        }
        Ok(revoked)
    })
}
