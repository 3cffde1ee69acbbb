//! Consents as users see them on /account, and withdrawing one.

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
/// for the user, in one transaction.
pub fn revoke(ctx: &Context, user_id: &str, client_id: &str) -> Result<bool, StoreError> {
    ctx.store.write(|tx| {
        for family in tx.families_of(user_id, client_id)? {
            tx.delete_family(&family)?;
        }
        tx.delete_consent(user_id, client_id)
    })
}
