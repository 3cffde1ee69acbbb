//! Accounts as administrators see and change them: a searchable list paged
//! through by cursor (a store with many users is never read whole for a
//! page), changes and deletion. Accounts the config file declares are the
//! file's: changing them is refused.

use super::{
    AccountError, Accounts, Username, checked_email, end_all_sessions, non_empty, remove_in,
};
use crate::secret::SecretString;
use crate::store::User;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A page of a long list, and where the next one starts.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Most users one page holds.
pub const MAX_PAGE: usize = 200;

/// Users read per store transaction while a search fills a page.
const BATCH: usize = 256;

/// The cursor after `user`: their normalised username, opaque to callers.
fn cursor_after(user: &User) -> String {
    URL_SAFE_NO_PAD.encode(user.username_normalized.as_bytes())
}

fn parse_cursor(cursor: &str) -> Result<String, AccountError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or(AccountError::InvalidCursor)
}

/// Whether `user` matches a search for `needle` (lower case): in the
/// username, the email address or the name.
fn matches(user: &User, needle: &str) -> bool {
    let contains = |field: &Option<String>| {
        field
            .as_deref()
            .is_some_and(|text| text.to_lowercase().contains(needle))
    };
    user.username_normalized.contains(needle)
        || user.username.to_lowercase().contains(needle)
        || contains(&user.email)
        || contains(&user.name)
}

impl Accounts {
    /// Users whose username, email address or name contains `query`
    /// (ignoring case; every user when it is blank), in username order:
    /// at most `limit` (capped at [`MAX_PAGE`]) after `cursor`, the
    /// `next_cursor` of the page before.
    pub fn search(
        &self,
        query: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<User>, AccountError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let needle = query.trim().to_lowercase();
        let mut after = cursor.map(parse_cursor).transpose()?;
        let mut items = Vec::new();
        // One more than a page says whether another page follows.
        while items.len() <= limit {
            let batch = self
                .ctx
                .store
                .read(|tx| tx.users_after(after.as_deref(), BATCH))?;
            let done = batch.len() < BATCH;
            after = batch.last().map(|user| user.username_normalized.clone());
            items.extend(batch.into_iter().filter(|user| matches(user, &needle)));
            if done {
                break;
            }
        }
        let more = items.len() > limit;
        items.truncate(limit);
        let next_cursor = more.then(|| items.last().map(cursor_after)).flatten();
        Ok(Page { items, next_cursor })
    }
}

/// Changes an administrator makes to an account; `None` leaves a field as
/// it is, `Some(None)` clears an optional one.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChanges {
    #[serde(default, deserialize_with = "crate::config::present")]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::config::present")]
    pub name: Option<Option<String>>,
    pub disabled: Option<bool>,
    pub admin: Option<bool>,
    /// A new password, which must pass the password policy.
    pub password: Option<SecretString>,
}

impl Accounts {
    /// Applies an administrator's `changes` to the account `id`, in one
    /// transaction. Disabling the account or setting its password ends its
    /// sessions. Refused for an account the config file manages.
    pub fn update_by_id(&self, id: &str, changes: UserChanges) -> Result<User, AccountError> {
        let current = self
            .get(id)?
            .ok_or_else(|| AccountError::NoSuchId(id.to_owned()))?;
        refuse_managed(&current)?;
        // Hashed before the transaction, which must not wait for argon2.
        let password_hash = match &changes.password {
            Some(password) => {
                let username = Username::parse(&current.username)?;
                Some(self.chosen_password(&username, password)?)
            }
            None => None,
        };
        let email = match changes.email {
            Some(email) => Some(non_empty(email).map(|e| checked_email(&e)).transpose()?),
            None => None,
        };
        let now = self.ctx.now();
        self.ctx.store.write(|tx| {
            let mut user = tx
                .user(id)?
                .ok_or_else(|| AccountError::NoSuchId(id.to_owned()))?;
            refuse_managed(&user)?;
            let mut end_sessions = false;
            if let Some(email) = email {
                if let Some(address) = &email
                    && tx
                        .user_by_email(address)?
                        .is_some_and(|other| other.id != user.id)
                {
                    return Err(AccountError::EmailTaken(address.clone()));
                }
                if email != user.email {
                    // An address set by an administrator is one they vouch for.
                    user.email_verified = email.is_some();
                    user.email = email;
                }
            }
            if let Some(name) = changes.name {
                user.name = non_empty(name);
            }
            if let Some(admin) = changes.admin {
                user.admin = admin;
            }
            if let Some(disabled) = changes.disabled {
                end_sessions |= disabled && !user.disabled;
                user.disabled = disabled;
            }
            if let Some(hash) = password_hash {
                user.password_hash = Some(hash);
                end_sessions = true;
            }
            if end_sessions {
                end_all_sessions(tx, &user.id)?;
            }
            user.updated_at = now;
            tx.put_user(&user)?;
            Ok(user)
        })
    }

    /// Deletes the account `id` with everything it holds: its sessions end
    /// and its refresh tokens (with the access tokens they issued) are
    /// revoked. Refused for an account the config file manages.
    pub fn delete_by_id(&self, id: &str) -> Result<User, AccountError> {
        self.ctx.store.write(|tx| {
            let user = tx
                .user(id)?
                .ok_or_else(|| AccountError::NoSuchId(id.to_owned()))?;
            refuse_managed(&user)?;
            remove_in(tx, &user)?;
            Ok(user)
        })
    }
}

fn refuse_managed(user: &User) -> Result<(), AccountError> {
    if user.managed_by_config {
        return Err(AccountError::ManagedByConfig(user.username.clone()));
    }
    Ok(())
}
