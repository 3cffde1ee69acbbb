//! Migrations of stores written by older releases, one schema version at a
//! time, each in the write transaction that records the new version.

use super::tables::JOURNEYS;
use super::{Rekey, StoreError, WriteTx, clients, keys, users};

/// Schema 1 → 2: the sealing and MAC keys are now derived from the key
/// file by HKDF (see `seal`). What schema 1 sealed is sealed again; client
/// secret MACs, which cannot be made again without the secret, are marked
/// as schema 1's; journeys in progress are dropped, since their one-time
/// code hashes and sealed enrollment secrets were made the old way (their
/// users start again, as after a lost journey).
pub(super) fn to_v2(tx: &WriteTx, rekey: &dyn Rekey) -> Result<(), StoreError> {
    let unsealable = |kind: &'static str, id: &str| StoreError::Unsealable {
        kind,
        id: id.to_owned(),
    };
    for mut user in users::list(tx)? {
        if let Some(totp) = &mut user.totp {
            totp.sealed_secret = rekey
                .reseal(&totp.sealed_secret)
                .ok_or_else(|| unsealable("authenticator secret of user", &user.username))?;
            users::put(tx, &user)?;
        }
    }
    for mut key in keys::list(tx)? {
        key.sealed_private_pem = rekey
            .reseal(&key.sealed_private_pem)
            .ok_or_else(|| unsealable("signing key", &key.kid))?;
        keys::put(tx, &key)?;
    }
    for mut client in clients::list(tx)? {
        if let Some(hash) = &client.secret_hash {
            client.secret_hash = Some(rekey.remac(hash));
            clients::put(tx, &client)?;
        }
    }
    tx.tx.open_table(JOURNEYS)?.retain(|_, _| false)?;
    Ok(())
}
