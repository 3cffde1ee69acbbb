//! Users, with the unique username column and the email index.

use super::cache::Key;
use super::{Tx, encode};
use crate::store::tx::{UserReads, UserWrites, normalize_email};
use crate::store::{StoreError, User};

impl UserReads for Tx {
    fn user(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.cached(Key::User(id.to_owned()), || {
            self.record("user", "SELECT record FROM users WHERE id = $1", &[&id])
        })
    }

    fn user_by_username(&self, normalized: &str) -> Result<Option<User>, StoreError> {
        self.record(
            "user",
            "SELECT record FROM users WHERE username = $1",
            &[&normalized],
        )
    }

    fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.record(
            "user",
            "SELECT u.record FROM user_emails e JOIN users u ON u.id = e.user_id WHERE e.email = $1",
            &[&normalize_email(email)],
        )
    }

    fn users(&self) -> Result<Vec<User>, StoreError> {
        self.records("user", "SELECT record FROM users ORDER BY username", &[])
    }

    fn users_after(&self, after: Option<&str>, limit: usize) -> Result<Vec<User>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.records(
            "user",
            "SELECT record FROM users WHERE $1::text IS NULL OR username > $1 \
             ORDER BY username LIMIT $2",
            &[&after, &limit],
        )
    }

    fn any_user(&self) -> Result<bool, StoreError> {
        Ok(self.one("SELECT EXISTS (SELECT 1 FROM users)", &[])?.get(0))
    }
}

impl UserWrites for Tx {
    fn put_user(&self, user: &User) -> Result<(), StoreError> {
        self.changes(Key::User(user.id.clone()));
        let previous = self.user(&user.id)?;
        if let Some(old) = previous.as_ref().and_then(|p| p.email.as_ref())
            && Some(old) != user.email.as_ref()
        {
            self.execute(
                "DELETE FROM user_emails WHERE email = $1",
                &[&normalize_email(old)],
            )?;
        }
        self.execute(
            "INSERT INTO users (id, username, record) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET username = EXCLUDED.username, record = EXCLUDED.record",
            &[&user.id, &user.username_normalized, &encode(user)],
        )?;
        if let Some(email) = &user.email {
            self.execute(
                "INSERT INTO user_emails (email, user_id) VALUES ($1, $2) \
                 ON CONFLICT (email) DO UPDATE SET user_id = EXCLUDED.user_id",
                &[&normalize_email(email), &user.id],
            )?;
        }
        Ok(())
    }

    fn delete_user(&self, user: &User) -> Result<(), StoreError> {
        self.changes(Key::User(user.id.clone()));
        self.execute("DELETE FROM users WHERE id = $1", &[&user.id])?;
        if let Some(email) = &user.email {
            // Only this user's entry: another may have taken the address.
            self.execute(
                "DELETE FROM user_emails WHERE email = $1 AND user_id = $2",
                &[&normalize_email(email), &user.id],
            )?;
        }
        Ok(())
    }
}
