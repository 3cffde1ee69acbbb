//! `/admin/api/users`: search, create, read, change and delete accounts;
//! their sessions, consents and remembered devices.

use super::Items;
use crate::accounts::{AccountError, Accounts, NewUser, UserChanges};
use crate::context::Context;
use crate::http::error::AdminError;
use crate::http::extract::{AdminCaller, RecentAdmin};
use crate::http::paths;
use crate::journeys::{Engine, devices};
use crate::oauth::consents;
use crate::sessions;
use crate::store::{Consent, KnownDevice, Session, StoreError, User};
use crate::telemetry::blocking;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Registers the routes under `/admin/api/users`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::ADMIN_USERS, web::get().to(get_users))
        .route(paths::ADMIN_USERS, web::post().to(post_users))
        .route(paths::ADMIN_USER, web::get().to(get_user))
        .route(paths::ADMIN_USER, web::patch().to(patch_user))
        .route(paths::ADMIN_USER, web::delete().to(delete_user))
        .route(paths::ADMIN_USER_UNLOCK, web::post().to(post_unlock))
        .route(
            paths::ADMIN_USER_RESET_PASSWORD,
            web::post().to(post_reset_password),
        )
        .route(paths::ADMIN_USER_SESSIONS, web::get().to(get_user_sessions))
        .route(
            paths::ADMIN_USER_SESSION,
            web::delete().to(delete_user_session),
        )
        .route(paths::ADMIN_USER_CONSENTS, web::get().to(get_user_consents))
        .route(paths::ADMIN_USER_DEVICES, web::get().to(get_user_devices));
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
    /// Until when failed sign-ins lock the account out, if they do.
    #[serde(with = "time::serde::rfc3339::option")]
    locked_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

impl UserResponse {
    /// `user` with their lock, read from the store.
    fn of(accounts: &Accounts, user: User) -> Result<Self, AdminError> {
        Ok(Self {
            locked_until: accounts.locked_until(&user)?,
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
        })
    }

    /// Each of `users`, with their locks.
    fn all(accounts: &Accounts, users: Vec<User>) -> Result<Vec<Self>, AdminError> {
        users
            .into_iter()
            .map(|user| Self::of(accounts, user))
            .collect()
    }
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
        let accounts = &engine.accounts;
        let page = accounts.search(&q, cursor.as_deref(), limit.unwrap_or(DEFAULT_PAGE))?;
        Ok::<_, AdminError>(Items {
            items: UserResponse::all(accounts, page.items)?,
            next_cursor: Some(page.next_cursor),
        })
    })
    .await??;
    Ok(HttpResponse::Ok().json(page))
}

/// `POST /admin/api/users`: 201 with the new account.
pub async fn post_users(
    AdminCaller(by): AdminCaller,
    engine: web::Data<Engine>,
    new: web::Json<NewUser>,
) -> Result<HttpResponse, AdminError> {
    let user = blocking(move || {
        let user = engine.accounts.create(new.into_inner(), &by)?;
        UserResponse::of(&engine.accounts, user)
    })
    .await??;
    Ok(HttpResponse::Created().json(user))
}

/// The account `id`, or 404.
fn user_or_404(engine: &Engine, id: &str) -> Result<User, AdminError> {
    engine
        .accounts
        .get(id)?
        .ok_or_else(|| AccountError::NoSuchId(id.to_owned()).into())
}

/// `GET /admin/api/users/{id}`.
pub async fn get_user(
    _: AdminCaller,
    engine: web::Data<Engine>,
    id: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    let user =
        blocking(move || UserResponse::of(&engine.accounts, user_or_404(&engine, &id)?)).await??;
    Ok(HttpResponse::Ok().json(user))
}

/// `PATCH /admin/api/users/{id}`: email, name, disabled, admin, password.
pub async fn patch_user(
    AdminCaller(by): AdminCaller,
    engine: web::Data<Engine>,
    id: web::Path<String>,
    changes: web::Json<UserChanges>,
) -> Result<HttpResponse, AdminError> {
    let user = blocking(move || {
        let user = engine
            .accounts
            .update_by_id(&id, changes.into_inner(), &by)?;
        UserResponse::of(&engine.accounts, user)
    })
    .await??;
    Ok(HttpResponse::Ok().json(user))
}

/// `DELETE /admin/api/users/{id}`: 204; the user's sessions and tokens
/// end. A sensitive action: a session must have signed in recently.
pub async fn delete_user(
    RecentAdmin(by): RecentAdmin,
    engine: web::Data<Engine>,
    id: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    blocking(move || engine.accounts.delete_by_id(&id, &by)).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /admin/api/users/{id}/unlock`: 200 with the user, whose failed
/// sign-ins and second-factor codes no longer lock them out.
pub async fn post_unlock(
    AdminCaller(by): AdminCaller,
    engine: web::Data<Engine>,
    id: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    let user = blocking(move || {
        let user = engine.accounts.unlock_by_id(&id, &by)?;
        UserResponse::of(&engine.accounts, user)
    })
    .await??;
    Ok(HttpResponse::Ok().json(user))
}

#[derive(Serialize)]
struct ResetSent {
    sent_to: String,
}

/// `POST /admin/api/users/{id}/reset-password`: 202 once a link to the
/// `reset_password` journey is mailed to the user's address; 409 when
/// they have none or are disabled.
pub async fn post_reset_password(
    AdminCaller(by): AdminCaller,
    engine: web::Data<Engine>,
    id: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    let user = blocking(move || engine.send_reset_link(&id, &by)).await??;
    Ok(HttpResponse::Accepted().json(ResetSent {
        sent_to: user.email.unwrap_or_default(),
    }))
}

/// A session as the API shows one: never its token.
#[derive(Serialize)]
struct SessionResponse {
    id: String,
    journey: String,
    amr: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    auth_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    last_used_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    ip: Option<String>,
    user_agent: Option<String>,
}

fn session_response(ctx: &Context, session: Session) -> SessionResponse {
    SessionResponse {
        expires_at: sessions::expires_at(ctx, &session),
        id: session.id,
        journey: session.journey,
        amr: session.amr,
        auth_time: session.auth_time,
        created_at: session.created_at,
        last_used_at: session.last_used_at,
        ip: session.ip,
        user_agent: session.user_agent,
    }
}

/// `GET /admin/api/users/{id}/sessions`: the live ones, most recently
/// used first.
pub async fn get_user_sessions(
    _: AdminCaller,
    engine: web::Data<Engine>,
    id: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    let items = blocking(move || {
        let user = user_or_404(&engine, &id)?;
        let ctx = &engine.ctx;
        let live = sessions::list_for_user(ctx, &user.id)?;
        Ok::<_, AdminError>(
            live.into_iter()
                .map(|session| session_response(ctx, session))
                .collect::<Vec<_>>(),
        )
    })
    .await??;
    Ok(HttpResponse::Ok().json(Items::<SessionResponse>::all(items)))
}

/// `DELETE /admin/api/users/{id}/sessions/{sid}`: 204, or 404 when the
/// user has no such session.
pub async fn delete_user_session(
    AdminCaller(by): AdminCaller,
    engine: web::Data<Engine>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let (id, sid) = path.into_inner();
    let ended = blocking(move || sessions::revoke_by_id(&engine.ctx, &id, &sid, &by)).await??;
    if !ended {
        return Err(AdminError::not_found("The user has no such session."));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// A consent as the API shows one.
#[derive(Serialize)]
struct ConsentResponse {
    client_id: String,
    client_name: Option<String>,
    scopes: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    granted_at: OffsetDateTime,
}

impl From<(Consent, Option<crate::store::Client>)> for ConsentResponse {
    fn from((consent, client): (Consent, Option<crate::store::Client>)) -> Self {
        Self {
            client_id: consent.client_id,
            client_name: client.map(|client| client.name),
            scopes: consent.scopes,
            granted_at: consent.granted_at,
        }
    }
}

/// `200 {"items"}`: what `list` finds of the user `id` (404 when there
/// is no such user), each shown as `R`.
async fn of_user<T: Send + 'static, R: From<T> + Serialize>(
    engine: web::Data<Engine>,
    id: web::Path<String>,
    list: fn(&Context, &str) -> Result<Vec<T>, StoreError>,
) -> Result<HttpResponse, AdminError> {
    let found = blocking(move || {
        let user = user_or_404(&engine, &id)?;
        Ok::<_, AdminError>(list(&engine.ctx, &user.id)?)
    })
    .await??;
    Ok(HttpResponse::Ok().json(Items::<R>::all(found)))
}

/// `GET /admin/api/users/{id}/consents`: what the user granted clients.
pub async fn get_user_consents(
    _: AdminCaller,
    engine: web::Data<Engine>,
    id: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    of_user::<_, ConsentResponse>(engine, id, consents::list).await
}

/// A remembered device as the API shows one.
#[derive(Serialize)]
struct DeviceResponse {
    id: String,
    label: String,
    #[serde(with = "time::serde::rfc3339")]
    first_seen: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    last_seen: OffsetDateTime,
}

impl From<KnownDevice> for DeviceResponse {
    fn from(device: KnownDevice) -> Self {
        Self {
            id: device.id,
            label: device.label,
            first_seen: device.first_seen,
            last_seen: device.last_seen,
        }
    }
}

/// `GET /admin/api/users/{id}/devices`: the devices the user's journeys
/// remembered.
pub async fn get_user_devices(
    _: AdminCaller,
    engine: web::Data<Engine>,
    id: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    of_user::<_, DeviceResponse>(engine, id, devices::list).await
}
