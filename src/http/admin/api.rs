//! `/admin/api/`: users, clients and keys as JSON. Handlers parse, make one
//! domain call off the executor and render; the domain decides.

use crate::http::error::AdminError;
use crate::http::extract::AdminCaller;
use crate::http::paths;
use crate::journeys::Engine;
use crate::store::User;
use crate::telemetry::blocking;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Registers the routes under `/admin/api`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::ADMIN_USERS, web::get().to(get_users));
}

/// A user as the API shows one: never a password hash or TOTP secret.
#[derive(Serialize)]
struct UserResponse {
    id: String,
    username: String,
    email: Option<String>,
    email_verified: bool,
    name: Option<String>,
    admin: bool,
    disabled: bool,
    /// Declared in the config file: changes are refused (409).
    managed_by_config: bool,
    totp_enrolled: bool,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

impl From<User> for UserResponse {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            username: user.username,
            email: user.email,
            email_verified: user.email_verified,
            name: user.name,
            admin: user.admin,
            disabled: user.disabled,
            managed_by_config: user.managed_by_config,
            totp_enrolled: user.totp.is_some(),
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// A page of a list.
#[derive(Serialize)]
struct PageResponse<T> {
    items: Vec<T>,
    next_cursor: Option<String>,
}

/// `GET /admin/api/users` parameters.
#[derive(Deserialize)]
pub struct UsersQuery {
    #[serde(default)]
    q: String,
    cursor: Option<String>,
    limit: Option<usize>,
}

/// Users shown per page unless `limit` says otherwise.
const DEFAULT_PAGE: usize = 50;

/// `GET /admin/api/users?q=&cursor=&limit=`: users whose username, email
/// or name contains `q`, a page at a time.
pub async fn get_users(
    _: AdminCaller,
    engine: web::Data<Engine>,
    query: web::Query<UsersQuery>,
) -> Result<HttpResponse, AdminError> {
    let UsersQuery { q, cursor, limit } = query.into_inner();
    let cursor = cursor.filter(|cursor| !cursor.is_empty());
    let page = blocking(move || {
        engine
            .accounts
            .search(&q, cursor.as_deref(), limit.unwrap_or(DEFAULT_PAGE))
    })
    .await??;
    Ok(HttpResponse::Ok().json(PageResponse {
        items: page.items.into_iter().map(UserResponse::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
