//! The admin surface: `/admin/api/` answers JSON, with errors as
//! `{"error", "error_description"}`. Every handler takes `AdminCaller` (or
//! `RecentAdmin` for the most sensitive actions), so nothing runs for a
//! caller who may not administer. The `/admin` pages (`pages`) answer
//! HTML over the same domain calls.

mod api;
mod pages;

use super::paths;
use actix_web::web;

/// Registers the admin routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope(paths::ADMIN_API_PREFIX).configure(api::configure))
        .configure(pages::configure);
}
