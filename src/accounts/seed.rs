//! Accounts declared in the config (`[[users]]`), and the administrator
//! made on a first start with an empty store.

use super::{AccountError, Accounts, NewUser, Username, non_empty};
use crate::config::SeedUser;
use crate::secret::{SecretString, random_id};
use crate::store::User;

/// What seeding did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

impl Accounts {
    /// Creates or updates the `[[users]]` of the config, marked as managed
    /// by it; a user whose entry was removed is no longer managed. Idempotent:
    /// a user that already matches is not written, and its password hash is
    /// kept (a stored hash that verifies the configured password is not
    /// re-salted).
    pub fn seed(&self, seeds: &[SeedUser]) -> Result<SeedReport, AccountError> {
        let mut report = SeedReport::default();
        let declared = seeds
            .iter()
            .map(|seed| Ok(Username::parse(&seed.username)?.normalized().to_owned()))
            .collect::<Result<std::collections::HashSet<_>, AccountError>>()?;
        self.release_undeclared(&declared)?;
        for seed in seeds {
            let username = Username::parse(&seed.username)?;
            let existing = self
                .ctx
                .store
                .read(|tx| tx.user_by_username(username.normalized()))?;
            let current_hash = existing.as_ref().and_then(|u| u.password_hash.clone());
            let password_hash = match (&seed.password, &seed.password_hash) {
                (_, Some(hash)) => Some(hash.clone()),
                // Only a stored hash is worth checking: verifying against
                // none would hash the dummy, twice the cost of a new hash.
                (Some(password), None)
                    if current_hash.is_some()
                        && self.passwords.verify(password, current_hash.as_deref()) =>
                {
                    current_hash
                }
                (Some(password), None) => Some(self.passwords.hash(password)?),
                (None, None) => current_hash,
            };
            let now = self.ctx.now();
            let mut user = existing.clone().unwrap_or_else(|| User {
                id: random_id(),
                username: String::new(),
                username_normalized: String::new(),
                email: None,
                email_verified: true,
                name: None,
                password_hash: None,
                disabled: false,
                created_at: now,
                updated_at: now,
                totp: None,
                recovery_codes: None,
                phone_number: None,
                address: None,
                admin: false,
                managed_by_config: true,
            });
            user.username = username.as_str().to_owned();
            user.username_normalized = username.normalized().to_owned();
            user.email = non_empty(seed.email.clone());
            user.name = non_empty(seed.name.clone());
            user.phone_number = non_empty(seed.phone_number.clone());
            user.address = non_empty(seed.address.clone());
            user.password_hash = password_hash;
            user.disabled = seed.disabled;
            user.admin = seed.admin;
            user.managed_by_config = true;
            match &existing {
                Some(existing) if *existing == user => {
                    report.unchanged += 1;
                    continue;
                }
                Some(_) => report.updated += 1,
                None => report.created += 1,
            }
            user.updated_at = now;
            // A new password or a disabled account ends the sessions made
            // before, as an administrator's change does.
            let revoke = existing.as_ref().is_some_and(|old| {
                old.password_hash != user.password_hash || (user.disabled && !old.disabled)
            });
            self.ctx.store.write(|tx| {
                // A server starting beside this one on the same database may
                // have seeded the user since the read: it stays that user.
                if let Some(stored) = tx.user_by_username(username.normalized())?
                    && existing.as_ref().is_none_or(|old| old.id != stored.id)
                {
                    user.id = stored.id;
                    user.created_at = stored.created_at;
                }
                if revoke {
                    crate::sessions::end_all_in(&self.ctx, tx, &user.id, None)?;
                }
                tx.put_user(&user)
            })?;
        }
        Ok(report)
    }

    /// Hands the users whose `[[users]]` entry is gone over to
    /// administration. One pass over the accounts, like the username check
    /// start-up makes anyway; written only when something changed.
    fn release_undeclared(
        &self,
        declared: &std::collections::HashSet<String>,
    ) -> Result<(), AccountError> {
        let now = self.ctx.now();
        let released: Vec<User> = self
            .ctx
            .store
            .read(|tx| tx.users())?
            .into_iter()
            .filter(|user| user.managed_by_config && !declared.contains(&user.username_normalized))
            .map(|user| User {
                managed_by_config: false,
                updated_at: now,
                ..user
            })
            .collect();
        if !released.is_empty() {
            self.ctx.store.write(|tx| {
                for user in &released {
                    tx.put_user(user)?;
                }
                Ok::<_, crate::store::StoreError>(())
            })?;
        }
        Ok(())
    }
}

/// Credentials of an account created for a first start.
#[derive(Debug)]
pub struct Bootstrapped {
    pub username: String,
    pub password: SecretString,
}

impl Accounts {
    /// On a store without any user, creates `admin` with a random password so
    /// that a first start can be signed in to.
    pub fn bootstrap_admin(&self) -> Result<Option<Bootstrapped>, AccountError> {
        if self.ctx.store.read(|tx| tx.any_user())? {
            return Ok(None);
        }
        // 128 random bits pass the password policy, unless (about once in
        // two million) they happen to spell the username: then draw again.
        let password = loop {
            let candidate = random_id();
            if super::policy::refusal(&candidate, Username::parse("admin").ok().as_ref(), 0)
                .is_none()
            {
                break SecretString::new(candidate);
            }
        };
        let created = self.create(
            NewUser {
                username: "admin".into(),
                password: Some(password.clone()),
                email: None,
                name: Some("Administrator".into()),
                admin: true,
            },
            &crate::audit::Caller::system(),
        );
        let user = match created {
            // Another server starting on the same database made it first,
            // and printed its password.
            Err(AccountError::UsernameTaken(_)) => return Ok(None),
            other => other?,
        };
        Ok(Some(Bootstrapped {
            username: user.username,
            password,
        }))
    }
}
