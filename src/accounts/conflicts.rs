//! Stored usernames that the username rule ([`Username`]) no longer tells
//! apart or no longer accepts: accounts made before RFC 8265 applied.
//! They are never merged or dropped (see the store's schema-2 migration);
//! start-up and `tessera config check` name them, and
//! `tessera users rename --by-id` settles each one.

use super::{AccountError, Accounts, Username, UsernameError};
use crate::audit;
use crate::store::{self, StoreError, User};
use std::collections::BTreeMap;
use std::fmt;

/// One problem with stored usernames.
#[derive(Debug)]
pub enum UsernameConflict {
    /// Accounts whose usernames are one name under the rule. `holder`
    /// answers to it (none until the store has been opened by a server
    /// that migrated it); the others can only be reached by id.
    Merged {
        name: String,
        holder: Option<User>,
        others: Vec<User>,
    },
    /// An account whose username the rule refuses: it cannot sign in by name.
    Refused { user: User, reason: UsernameError },
}

/// Every conflict among the stored usernames.
pub fn username_conflicts(tx: &dyn store::ReadTx) -> Result<Vec<UsernameConflict>, StoreError> {
    let mut by_name: BTreeMap<String, Vec<User>> = BTreeMap::new();
    let mut conflicts = Vec::new();
    for user in tx.users()? {
        match Username::parse(&user.username) {
            Ok(name) => by_name
                .entry(name.normalized().to_owned())
                .or_default()
                .push(user),
            Err(reason) => conflicts.push(UsernameConflict::Refused { user, reason }),
        }
    }
    for (name, mut accounts) in by_name {
        if accounts.len() < 2 {
            continue;
        }
        let holder = accounts
            .iter()
            .position(|user| user.username_normalized == name)
            .map(|at| accounts.remove(at));
        conflicts.push(UsernameConflict::Merged {
            name,
            holder,
            others: accounts,
        });
    }
    Ok(conflicts)
}

impl Accounts {
    /// Gives the account with this id a new username (which must be free), so
    /// that an account the username rule left unreachable by name can sign in
    /// again, or be managed by name.
    pub fn rename(
        &self,
        user_id: &str,
        new_username: &str,
        by: &audit::Caller,
    ) -> Result<User, AccountError> {
        let username = Username::parse(new_username)?;
        let now = self.ctx.now();
        self.ctx.store.write(|tx| {
            let mut user = tx
                .user(user_id)?
                .ok_or_else(|| AccountError::NotFound(user_id.to_owned()))?;
            if let Some(holder) = tx.user_by_username(username.normalized())?
                && holder.id != user.id
            {
                return Err(AccountError::UsernameTaken(username.as_str().to_owned()));
            }
            let old = std::mem::replace(&mut user.username, username.as_str().to_owned());
            user.username_normalized = username.normalized().to_owned();
            user.updated_at = now;
            tx.put_user(&user)?;
            let event = audit::Event::admin("user.rename", by, audit::Party::user(&user.username))
                .with("from", old);
            audit::record(&self.ctx, tx, event)?;
            Ok(user)
        })
    }
}

/// `"alice" (id …)`, with invisible characters escaped.
struct Account<'a>(&'a User);

impl fmt::Display for Account<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} (id {})", self.0.username, self.0.id)
    }
}

impl fmt::Display for UsernameConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsernameConflict::Merged {
                name,
                holder,
                others,
            } => {
                let others: Vec<String> = others.iter().map(|u| Account(u).to_string()).collect();
                match holder {
                    Some(holder) => write!(
                        f,
                        "usernames {} and {} are one name ({name:?}) under RFC 8265: only {} signs in by it",
                        Account(holder),
                        others.join(", "),
                        Account(holder)
                    ),
                    None => write!(
                        f,
                        "usernames {} are one name ({name:?}) under RFC 8265: the next start keeps it for one of them",
                        others.join(", ")
                    ),
                }?;
                f.write_str(
                    "; give the others a new name with `tessera users rename --by-id ID NEW_NAME`",
                )
            }
            UsernameConflict::Refused { user, reason } => write!(
                f,
                "username {} is no longer accepted (it {reason}) and cannot sign in by name; \
                 give it a new one with `tessera users rename --by-id {} NEW_NAME`",
                Account(user),
                user.id
            ),
        }
    }
}
