//! Accounts as administrators see and change them: a searchable list paged
//! through by cursor (a store with many users is never read whole for a
//! page), changes and deletion. Accounts the config file declares are the
//! file's: changing them is refused.

use super::{AccountError, Accounts, Username, checked_email, lockout, non_empty, remove_in};
use crate::audit::{self, Caller, Event, Party};
use crate::secret::SecretString;
use crate::store::{StoreError, User, WriteTx};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;

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
    /// Applies `by`'s `changes` to the account `id`, in one transaction
    /// that also records them (`admin.user.update`, naming the fields that
    /// changed). Disabling the account or setting its password ends its
    /// sessions. Refused for an account the config file manages.
    pub fn update_by_id(
        &self,
        id: &str,
        changes: UserChanges,
        by: &Caller,
    ) -> Result<User, AccountError> {
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
            let administered = administers(&user);
            let mut changed = Vec::new();
            if let Some(email) = email
                && email != user.email
            {
                if let Some(address) = &email
                    && tx
                        .user_by_email(address)?
                        .is_some_and(|other| other.id != user.id)
                {
                    return Err(AccountError::EmailTaken(address.clone()));
                }
                // An address set by an administrator is one they vouch for.
                user.email_verified = email.is_some();
                user.email = email;
                changed.push("email");
            }
            if let Some(name) = changes.name.map(non_empty)
                && name != user.name
            {
                user.name = name;
                changed.push("name");
            }
            if let Some(admin) = changes.admin
                && admin != user.admin
            {
                user.admin = admin;
                changed.push("admin");
            }
            let mut end_sessions = false;
            if let Some(disabled) = changes.disabled
                && disabled != user.disabled
            {
                end_sessions |= disabled;
                user.disabled = disabled;
                changed.push("disabled");
            }
            if let Some(hash) = password_hash {
                user.password_hash = Some(hash);
                end_sessions = true;
                changed.push("password");
            }
            if administered && !administers(&user) {
                refuse_last_administrator(tx, &user)?;
            }
            if end_sessions {
                crate::sessions::end_all_in(&self.ctx, tx, &user.id, None)?;
            }
            user.updated_at = now;
            tx.put_user(&user)?;
            let event = Event::admin("user.update", by, Party::user(&user.username))
                .with("changed", changed.join(","));
            audit::record(&self.ctx, tx, event)?;
            Ok(user)
        })
    }

    /// Deletes the account `id` with everything it holds, and records it
    /// (`admin.user.delete`): its sessions end and its refresh tokens (with
    /// the access tokens they issued) are revoked. Refused for an account
    /// the config file manages.
    pub fn delete_by_id(&self, id: &str, by: &Caller) -> Result<User, AccountError> {
        self.ctx.store.write(|tx| {
            let user = tx
                .user(id)?
                .ok_or_else(|| AccountError::NoSuchId(id.to_owned()))?;
            refuse_managed(&user)?;
            if administers(&user) {
                refuse_last_administrator(tx, &user)?;
            }
            remove_in(&self.ctx, tx, &user)?;
            let event = Event::admin("user.delete", by, Party::user(&user.username));
            audit::record(&self.ctx, tx, event)?;
            Ok(user)
        })
    }

    /// Until when failed sign-ins keep the account `user` locked: its
    /// username's counter or its second factor's, whichever ends later.
    /// Locks of client addresses are not the account's.
    pub fn locked_until(&self, user: &User) -> Result<Option<OffsetDateTime>, StoreError> {
        let now = self.ctx.now();
        self.ctx.store.read(|tx| {
            let mut until = None;
            for key in [
                user.username_normalized.clone(),
                lockout::totp_key(&user.id),
            ] {
                until = until.max(lockout::locked_until(tx.throttle(&key)?.as_ref(), now));
            }
            Ok(until)
        })
    }

    /// Forgets the failed sign-ins and second-factor codes counted against
    /// the account `id`, so that a locked account can sign in at once, and
    /// records it (`admin.user.unlock`, saying whether it was locked).
    /// Allowed for an account the config file manages: its counters are not
    /// in the file.
    pub fn unlock_by_id(&self, id: &str, by: &Caller) -> Result<User, AccountError> {
        let now = self.ctx.now();
        self.ctx.store.write(|tx| {
            let user = tx
                .user(id)?
                .ok_or_else(|| AccountError::NoSuchId(id.to_owned()))?;
            let mut was_locked = false;
            for key in [
                user.username_normalized.clone(),
                lockout::totp_key(&user.id),
            ] {
                was_locked |= lockout::locked_until(tx.throttle(&key)?.as_ref(), now).is_some();
                tx.delete_throttle(&key)?;
            }
            let event = Event::admin("user.unlock", by, Party::user(&user.username))
                .with("was_locked", was_locked.to_string());
            audit::record(&self.ctx, tx, event)?;
            Ok(user)
        })
    }
}

/// Whether `user` can administer tessera: an enabled administrator.
fn administers(user: &User) -> bool {
    user.admin && !user.disabled
}

/// Refuses to take away the role of `user`, an enabled administrator
/// (revoking it, disabling or deleting them), when no other enabled
/// administrator is left: nobody could administer tessera while it runs.
fn refuse_last_administrator(tx: &dyn WriteTx, user: &User) -> Result<(), AccountError> {
    let others = tx
        .users()?
        .iter()
        .any(|other| other.id != user.id && administers(other));
    if others {
        Ok(())
    } else {
        Err(AccountError::LastAdministrator(user.username.clone()))
    }
}

fn refuse_managed(user: &User) -> Result<(), AccountError> {
    if user.managed_by_config {
        return Err(AccountError::ManagedByConfig(user.username.clone()));
    }
    Ok(())
}
