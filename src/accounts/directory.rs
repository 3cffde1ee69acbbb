//! Accounts as administrators see them: a searchable list paged through by
//! cursor, so that a store with many users is never read whole for a page.

use super::{AccountError, Accounts};
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
