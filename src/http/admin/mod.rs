//! The admin surface: `/admin/api/` answers JSON (users, clients, keys),
//! with errors as `{"error", "error_description"}`. Every handler takes
//! `AdminCaller` (or `RecentAdmin` for the most sensitive actions), so
//! nothing runs for a caller who may not administer; each parses, makes one
//! domain call off the executor and renders.

mod backup;
mod clients;
mod keys;
mod users;

use super::paths;
use actix_web::web;
use serde::Serialize;

/// Registers the admin routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(paths::ADMIN_API_PREFIX)
            .configure(users::configure)
            .configure(clients::configure)
            .configure(keys::configure)
            .route(paths::ADMIN_BACKUP, web::get().to(backup::get_backup)),
    );
}

/// A list, and where its next page starts (`null` on the last one).
#[derive(Serialize)]
struct Items<T> {
    items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<Option<String>>,
}

impl<T> Items<T> {
    /// A whole list.
    fn all(items: impl IntoIterator<Item = impl Into<T>>) -> Self {
        Self {
            items: items.into_iter().map(Into::into).collect(),
            next_cursor: None,
        }
    }
}
