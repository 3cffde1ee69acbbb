//! The admin surface: `/admin/api/` answers JSON, with errors as
//! `{"error", "error_description"}`. Every handler takes `AdminCaller` (or
//! `RecentAdmin` for the most sensitive actions), so nothing runs for a
//! caller who may not administer.

mod api;
mod backup;

use super::paths;
use actix_web::web;

/// Registers the admin routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(paths::ADMIN_API_PREFIX)
            .configure(api::configure)
            .route(paths::ADMIN_BACKUP, web::get().to(backup::get_backup)),
    );
}
