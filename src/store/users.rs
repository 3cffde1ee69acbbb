//! Users, with the unique index on normalised usernames.

use super::tables::{EMAILS, USERNAMES, USERS};
use super::{Read, StoreError, User, WriteTx, decode, encode};
use redb::ReadableTable;

/// The user with this id.
pub fn get_by_id(tx: &impl Read, id: &str) -> Result<Option<User>, StoreError> {
    let users = tx.table(USERS)?;
    let found = users.get(id)?;
    found.map(|bytes| decode("user", bytes.value())).transpose()
}

/// The user with this normalised username.
pub fn get_by_username(tx: &impl Read, normalized: &str) -> Result<Option<User>, StoreError> {
    let id = tx
        .table(USERNAMES)?
        .get(normalized)?
        .map(|id| id.value().to_owned());
    match id {
        Some(id) => get_by_id(tx, &id),
        None => Ok(None),
    }
}

/// The user with this email address (compared case-insensitively).
pub fn get_by_email(tx: &impl Read, email: &str) -> Result<Option<User>, StoreError> {
    let id = tx
        .table(EMAILS)?
        .get(normalize_email(email).as_str())?
        .map(|id| id.value().to_owned());
    match id {
        Some(id) => get_by_id(tx, &id),
        None => Ok(None),
    }
}

/// The form in which emails are compared.
fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Every user, ordered by normalised username.
pub fn list(tx: &impl Read) -> Result<Vec<User>, StoreError> {
    let usernames = tx.table(USERNAMES)?;
    let mut users = Vec::new();
    for entry in usernames.iter()? {
        let (_, id) = entry?;
        if let Some(user) = get_by_id(tx, id.value())? {
            users.push(user);
        }
    }
    Ok(users)
}

/// Whether any user exists.
pub fn any(tx: &impl Read) -> Result<bool, StoreError> {
    Ok(tx.table(USERS)?.first()?.is_some())
}

/// Inserts or replaces a user and keeps the username index in step. The
/// caller has checked that the normalised username is free or already theirs.
pub fn put(tx: &WriteTx, user: &User) -> Result<(), StoreError> {
    let mut users = tx.tx.open_table(USERS)?;
    let previous = users
        .insert(user.id.as_str(), encode(user).as_slice())?
        .map(|old| decode::<User>("user", old.value()))
        .transpose()?;
    let mut usernames = tx.tx.open_table(USERNAMES)?;
    let mut emails = tx.tx.open_table(EMAILS)?;
    if let Some(previous) = &previous {
        if previous.username_normalized != user.username_normalized {
            usernames.remove(previous.username_normalized.as_str())?;
        }
        if let Some(old) = &previous.email
            && Some(old) != user.email.as_ref()
        {
            emails.remove(normalize_email(old).as_str())?;
        }
    }
    usernames.insert(user.username_normalized.as_str(), user.id.as_str())?;
    if let Some(email) = &user.email {
        emails.insert(normalize_email(email).as_str(), user.id.as_str())?;
    }
    Ok(())
}

/// Removes a user and their username. Their sessions are removed by the
/// caller in the same transaction.
pub fn delete(tx: &WriteTx, user: &User) -> Result<(), StoreError> {
    tx.tx.open_table(USERS)?.remove(user.id.as_str())?;
    tx.tx
        .open_table(USERNAMES)?
        .remove(user.username_normalized.as_str())?;
    if let Some(email) = &user.email {
        let mut emails = tx.tx.open_table(EMAILS)?;
        // Only drop the index entry if it is this user's.
        let owned = emails
            .get(normalize_email(email).as_str())?
            .is_some_and(|id| id.value() == user.id);
        if owned {
            emails.remove(normalize_email(email).as_str())?;
        }
    }
    Ok(())
}
