//! Consents as users see them on /account, and withdrawing one.

use crate::context::Context;
use crate::store::{Client, Consent, StoreError, clients as stored_clients, grants};

/// A user's consents, for /account.
pub fn list(ctx: &Context, user_id: &str) -> Result<Vec<(Consent, Option<Client>)>, StoreError> {
    ctx.store.read(|tx| {
        stored_clients::consents_of(tx, user_id)?
            .into_iter()
            .map(|consent| {
                let client = stored_clients::get_by_id(tx, &consent.client_id)?;
                Ok((consent, client))
            })
            .collect()
    })
}

/// Revokes a user's consent to a client and that client's refresh tokens
/// for the user, in one transaction.
pub fn revoke(ctx: &Context, user_id: &str, client_id: &str) -> Result<bool, StoreError> {
    ctx.store.write(|tx| {
        for family in grants::families_of(tx, user_id, client_id)? {
            grants::delete_family(tx, &family)?;
        }
        stored_clients::delete_consent(tx, user_id, client_id)
    })
}
