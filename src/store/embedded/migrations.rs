//! Migrations of older schemas, run by `Embedded::migrate` one version at a
//! time inside the transaction that records the new version: a store is
//! either fully migrated or untouched.

use super::tables::{JOURNEYS, USERNAMES, USERS};
use super::{Write, decode, encode};
use crate::store::tx::{ClientReads, ClientWrites, KeyReads, KeyWrites, UserReads, UserWrites};
use crate::store::{Rekey, StoreError, User};
use crate::username::Username;
use redb::ReadableTable;
use std::collections::HashSet;

/// Schema 1 → 2: the username index is keyed by the RFC 8265 form of each
/// username ([`Username`]) instead of its lower case, so `ＡＬＩＣＥ` finds
/// `alice`.
///
/// Usernames that the new rule makes equal are never merged and no account
/// is lost: the one that already answers to the name keeps it (else the
/// oldest), and every other account stays listed under its old index key,
/// which no typed name can reach any more. The same goes for a username the
/// new rule refuses (`alice` + U+200B). Start-up and `tessera config check`
/// report both (`accounts::username_conflicts`), for an administrator to
/// settle; sessions and tokens, which name accounts by id, go on working.
pub(super) fn rekey_usernames(tx: &Write) -> Result<(), StoreError> {
    let mut users = Vec::new();
    for entry in tx.0.open_table(USERS)?.iter()? {
        let (_, bytes) = entry?;
        users.push(decode::<User>("user", bytes.value())?);
    }
    let mut keyed: Vec<(Option<String>, User)> = users
        .into_iter()
        .map(|user| {
            let key = Username::parse(&user.username)
                .ok()
                .map(|name| name.normalized().to_owned());
            (key, user)
        })
        .collect();
    // Who gets a contested key: the holder of that exact key, then the oldest.
    keyed.sort_by(|(a_key, a), (b_key, b)| {
        let rank = |key: &Option<String>, user: &User| {
            (
                key.is_none(),
                key.as_deref() != Some(user.username_normalized.as_str()),
                user.created_at,
            )
        };
        rank(a_key, a)
            .cmp(&rank(b_key, b))
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut index = tx.0.open_table(USERNAMES)?;
    index.retain(|_, _| false)?;
    let mut users_table = tx.0.open_table(USERS)?;
    let mut taken = HashSet::new();
    let mut left_over = Vec::new();
    for (key, user) in keyed {
        match key {
            Some(key) if taken.insert(key.clone()) => {
                index_under(&mut index, &mut users_table, user, &key)?;
            }
            _ => left_over.push(user),
        }
    }
    // Every new key is placed first, so an old key kept below never takes
    // the name of an account that the new rule reaches.
    for user in left_over {
        let key = if taken.contains(&user.username_normalized) {
            // A space never survives `Username::parse`: this key cannot be
            // typed, and is unique by id.
            format!("{} {}", user.username_normalized, user.id)
        } else {
            user.username_normalized.clone()
        };
        taken.insert(key.clone());
        index_under(&mut index, &mut users_table, user, &key)?;
    }
    Ok(())
}

/// Points the index `key` at `user`, and records the key on the user.
fn index_under(
    index: &mut redb::Table<&str, &str>,
    users: &mut redb::Table<&str, &[u8]>,
    mut user: User,
    key: &str,
) -> Result<(), StoreError> {
    index.insert(key, user.id.as_str())?;
    if user.username_normalized != key {
        user.username_normalized = key.to_owned();
        users.insert(user.id.as_str(), encode(&user).as_slice())?;
    }
    Ok(())
}

/// Schema 2 → 3: the sealing and MAC keys are now derived from the key
/// file by HKDF (see `seal`). What older schemas sealed is sealed again; client
/// secret MACs, which cannot be made again without the secret, are marked
/// as made under the old key; journeys in progress are dropped, since their one-time
/// code hashes and sealed enrollment secrets were made the old way (their
/// users start again, as after a lost journey).
pub(super) fn reseal_under_derived_keys(tx: &Write, rekey: &dyn Rekey) -> Result<(), StoreError> {
    let unsealable = |kind: &'static str, id: &str| StoreError::Unsealable {
        kind,
        id: id.to_owned(),
    };
    for mut user in tx.users()? {
        if let Some(totp) = &mut user.totp {
            totp.sealed_secret = rekey
                .reseal(&totp.sealed_secret)
                .ok_or_else(|| unsealable("authenticator secret of user", &user.username))?;
            tx.put_user(&user)?;
        }
    }
    for mut key in tx.signing_keys()? {
        key.sealed_private_pem = rekey
            .reseal(&key.sealed_private_pem)
            .ok_or_else(|| unsealable("signing key", &key.kid))?;
        tx.put_signing_key(&key)?;
    }
    for mut client in tx.clients()? {
        if let Some(hash) = &client.secret_hash {
            client.secret_hash = Some(rekey.remac(hash));
            tx.put_client(&client)?;
        }
    }
    tx.0.open_table(JOURNEYS)?.retain(|_, _| false)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tables::{META, SCHEMA_VERSION};
    use super::super::{Embedded, Read};
    use super::*;
    use crate::store::Backend;
    use redb::ReadableDatabase;
    use time::{Duration, OffsetDateTime};

    /// Seals nothing differently: this test is about usernames.
    struct Unchanged;

    impl Rekey for Unchanged {
        fn reseal(&self, sealed: &str) -> Option<String> {
            Some(sealed.to_owned())
        }
        fn remac(&self, mac: &str) -> String {
            mac.to_owned()
        }
    }

    fn schema_1_user(id: &str, username: &str, age_days: i64) -> User {
        let created = OffsetDateTime::UNIX_EPOCH + Duration::days(1000 - age_days);
        User {
            id: id.into(),
            username: username.into(),
            username_normalized: username.to_lowercase(),
            email: None,
            email_verified: false,
            name: None,
            password_hash: None,
            disabled: false,
            created_at: created,
            updated_at: created,
            totp: None,
            recovery_codes: None,
            phone_number: None,
            address: None,
            admin: false,
            managed_by_config: false,
        }
    }

    #[test]
    fn the_account_that_answered_to_a_name_keeps_it_and_no_account_is_dropped() {
        let store = Embedded::open(None).expect("store");
        let tx = Write(store.db.begin_write().expect("write"));
        // The full-width account is the oldest, but `alice` is the one that
        // signed in as "alice" before.
        for (id, name, age) in [
            ("wide", "ａｌｉｃｅ", 30),
            ("plain", "alice", 20),
            ("zwsp", "alice\u{200b}", 10),
            ("carol", "ＣＡＲＯＬ", 5),
        ] {
            tx.put_user(&schema_1_user(id, name, age)).expect("user");
        }
        tx.0.open_table(META)
            .expect("meta")
            .insert("schema_version", 1)
            .expect("version");
        tx.0.commit().expect("schema 1 records");
        store.migrate(&Unchanged).expect("migrates");

        let read = || Read(store.db.begin_read().expect("read"));
        let found = |name: &str| {
            read()
                .user_by_username(name)
                .expect("read")
                .map(|user| user.id)
        };
        assert_eq!(found("alice").as_deref(), Some("plain"));
        assert_eq!(found("carol").as_deref(), Some("carol"));
        assert_eq!(
            found("ａｌｉｃｅ").as_deref(),
            Some("wide"),
            "kept, by its old key"
        );
        assert_eq!(found("alice\u{200b}").as_deref(), Some("zwsp"));
        assert_eq!(read().users().expect("list").len(), 4);
        let version = super::super::schema_version(&read()).expect("version");
        assert_eq!(version, Some(SCHEMA_VERSION));
    }
}
