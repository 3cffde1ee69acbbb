//! Users, with the unique indexes on normalised usernames and emails.

use super::tables::{EMAILS, USERNAMES, USERS};
use super::{Tables, Write, decode, encode};
use crate::store::tx::{UserReads, UserWrites, normalize_email};
use crate::store::{StoreError, User};
use redb::ReadableTable;

impl<T: Tables> UserReads for T {
    fn user(&self, id: &str) -> Result<Option<User>, StoreError> {
        let users = self.table(USERS)?;
        let found = users.get(id)?;
        found.map(|bytes| decode("user", bytes.value())).transpose()
    }

    fn user_by_username(&self, normalized: &str) -> Result<Option<User>, StoreError> {
        let id = self
            .table(USERNAMES)?
            .get(normalized)?
            .map(|id| id.value().to_owned());
        match id {
            Some(id) => self.user(&id),
            None => Ok(None),
        }
    }

    fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let id = self
            .table(EMAILS)?
            .get(normalize_email(email).as_str())?
            .map(|id| id.value().to_owned());
        match id {
            Some(id) => self.user(&id),
            None => Ok(None),
        }
    }

    fn users(&self) -> Result<Vec<User>, StoreError> {
        let usernames = self.table(USERNAMES)?;
        let mut users = Vec::new();
        for entry in usernames.iter()? {
            let (_, id) = entry?;
            if let Some(user) = self.user(id.value())? {
                users.push(user);
            }
        }
        Ok(users)
    }

    fn users_after(&self, after: Option<&str>, limit: usize) -> Result<Vec<User>, StoreError> {
        use std::ops::Bound;
        let usernames = self.table(USERNAMES)?;
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut users = Vec::new();
        for entry in usernames.range::<&str>((from, Bound::Unbounded))? {
            if users.len() >= limit {
                break;
            }
            let (_, id) = entry?;
            if let Some(user) = self.user(id.value())? {
                users.push(user);
            }
        }
        Ok(users)
    }

    fn any_user(&self) -> Result<bool, StoreError> {
        Ok(self.table(USERS)?.first()?.is_some())
    }
}

impl UserWrites for Write {
    fn put_user(&self, user: &User) -> Result<(), StoreError> {
        let mut users = self.0.open_table(USERS)?;
        let previous = users
            .insert(user.id.as_str(), encode(user).as_slice())?
            .map(|old| decode::<User>("user", old.value()))
            .transpose()?;
        let mut usernames = self.0.open_table(USERNAMES)?;
        let mut emails = self.0.open_table(EMAILS)?;
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

    fn delete_user(&self, user: &User) -> Result<(), StoreError> {
        self.0.open_table(USERS)?.remove(user.id.as_str())?;
        self.0
            .open_table(USERNAMES)?
            .remove(user.username_normalized.as_str())?;
        if let Some(email) = &user.email {
            let mut emails = self.0.open_table(EMAILS)?;
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
}
