//! `/admin/users`: search, create, and one user's page: profile, status,
//! password, sessions, consents, devices, deletion.

use super::{ADVICE, ActionForm, AdminPage, Done, DoneQuery, managed, refused};
use crate::accounts::{AccountError, NewUser, UserChanges};
use crate::context::Context;
use crate::http::error::{PageError, render};
use crate::http::extract::{CsrfForm, PageForm};
use crate::http::pages::account::display_time;
use crate::http::paths;
use crate::journeys::{Engine, ResetLinkError, devices};
use crate::oauth;
use crate::secret::SecretString;
use crate::sessions;
use crate::store::{Client, Consent, KnownDevice, Session, User};
use crate::telemetry::blocking;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use time::OffsetDateTime;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::ADMIN_USERS_PAGE, web::get().to(get_users))
        .route(paths::ADMIN_USERS_PAGE, web::post().to(post_create))
        .route(paths::ADMIN_USER_PAGE, web::get().to(get_user))
        .route(paths::ADMIN_USER_PROFILE, web::post().to(post_profile))
        .route(paths::ADMIN_USER_STATUS, web::post().to(post_status))
        .route(paths::ADMIN_USER_PASSWORD, web::post().to(post_password))
        .route(paths::ADMIN_USER_DELETE, web::post().to(post_delete))
        .route(paths::ADMIN_USER_UNLOCK_PAGE, web::post().to(post_unlock))
        .route(
            paths::ADMIN_USER_RESET_PASSWORD_PAGE,
            web::post().to(post_reset_password),
        )
        .route(
            paths::ADMIN_USER_END_SESSION,
            web::post().to(post_end_session),
        );
}

/// Users listed per page.
const PAGE_SIZE: usize = 50;

/// A user's page.
fn user_path(id: &str) -> String {
    format!("{}/{id}", paths::ADMIN_USERS_PAGE)
}

/// An account change the domain refused, as a page.
fn account_refusal(err: AccountError) -> PageError {
    let message = err.to_string();
    match err {
        AccountError::ManagedByConfig(_) => managed(message),
        AccountError::NotFound(_) | AccountError::NoSuchId(_) => not_found(),
        AccountError::InvalidUsername(_)
        | AccountError::EmptyPassword
        | AccountError::InvalidEmail(_)
        | AccountError::InvalidCursor
        | AccountError::WeakPassword(_) => refused(StatusCode::BAD_REQUEST, message),
        AccountError::UsernameTaken(_)
        | AccountError::EmailTaken(_)
        | AccountError::LastAdministrator(_) => refused(StatusCode::CONFLICT, message),
        err @ (AccountError::Hash(_) | AccountError::Store(_)) => PageError::internal(err),
    }
}

fn not_found() -> PageError {
    PageError::new(
        StatusCode::NOT_FOUND,
        "User not found",
        "There is no such user (any more). Go back to the list of users.",
    )
}

/// A form's optional text: empty means none.
fn optional(text: String) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

struct UserRow {
    id: String,
    username: String,
    name: String,
    email: String,
    admin: bool,
    disabled: bool,
    managed_by_config: bool,
}

impl From<User> for UserRow {
    fn from(user: User) -> Self {
        Self {
            name: user.name.unwrap_or_default(),
            email: user.email.unwrap_or_default(),
            admin: user.admin,
            disabled: user.disabled,
            managed_by_config: user.managed_by_config,
            username: user.username,
            id: user.id,
        }
    }
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    csrf_token: String,
    done: Option<&'static str>,
    q: String,
    users: Vec<UserRow>,
    /// The next page's link, if there is one.
    next: Option<String>,
}

/// `?q=&cursor=`.
#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    cursor: Option<String>,
}

/// `GET /admin/users?q=&cursor=`: users whose username, email or name
/// contains `q`, a page at a time, and the form to create one.
pub async fn get_users(
    page: AdminPage,
    engine: web::Data<Engine>,
    search: web::Query<SearchQuery>,
    done: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let SearchQuery { q, cursor } = search.into_inner();
    let cursor = cursor.filter(|cursor| !cursor.is_empty());
    let found = {
        let q = q.clone();
        blocking(move || engine.accounts.search(&q, cursor.as_deref(), PAGE_SIZE))
            .await?
            .map_err(account_refusal)?
    };
    let next = found.next_cursor.map(|cursor| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &q)
            .append_pair("cursor", &cursor)
            .finish();
        format!("{}?{query}", paths::ADMIN_USERS_PAGE)
    });
    render(
        StatusCode::OK,
        &UsersPage {
            csrf_token: page.csrf_token,
            done: done.message(),
            q,
            users: found.items.into_iter().map(UserRow::from).collect(),
            next,
        },
    )
}

#[derive(Deserialize)]
pub struct CreateForm {
    username: String,
    password: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    /// A checkbox: present when ticked.
    admin: Option<String>,
}

impl PageForm for CreateForm {
    const ADVICE: &'static str = ADVICE;
}

/// `POST /admin/users`: creates a user, then shows it.
pub async fn post_create(
    page: AdminPage,
    engine: web::Data<Engine>,
    CsrfForm(form): CsrfForm<CreateForm>,
) -> Result<HttpResponse, PageError> {
    let new = NewUser {
        username: form.username.trim().to_owned(),
        password: Some(SecretString::new(form.password)),
        email: optional(form.email),
        name: optional(form.name),
        admin: form.admin.is_some(),
    };
    let user = blocking(move || engine.accounts.create(new, &page.by))
        .await?
        .map_err(account_refusal)?;
    Ok(Done::UserCreated.at(&user_path(&user.id)))
}

struct SessionRow {
    id: String,
    device: String,
    ip: String,
    journey: String,
    created: String,
    last_used: String,
}

impl From<Session> for SessionRow {
    fn from(session: Session) -> Self {
        Self {
            device: devices::label(session.user_agent.as_deref()),
            ip: session.ip.unwrap_or_default(),
            created: display_time(session.created_at),
            last_used: display_time(session.last_used_at),
            journey: session.journey,
            id: session.id,
        }
    }
}

struct ConsentRow {
    client: String,
    scopes: String,
    granted: String,
}

struct DeviceRow {
    label: String,
    first_seen: String,
    last_seen: String,
}

impl From<KnownDevice> for DeviceRow {
    fn from(device: KnownDevice) -> Self {
        Self {
            first_seen: display_time(device.first_seen),
            last_seen: display_time(device.last_seen),
            label: device.label,
        }
    }
}

#[derive(Template)]
#[template(path = "admin_user.html")]
struct UserPage {
    csrf_token: String,
    done: Option<&'static str>,
    user: UserRow,
    created: String,
    totp_enrolled: bool,
    locked_until: Option<String>,
    sessions: Vec<SessionRow>,
    consents: Vec<ConsentRow>,
    devices: Vec<DeviceRow>,
}

/// A user and what hangs off them.
struct Found {
    user: User,
    locked_until: Option<OffsetDateTime>,
    sessions: Vec<Session>,
    consents: Vec<(Consent, Option<Client>)>,
    devices: Vec<KnownDevice>,
}

fn find(engine: &Engine, ctx: &Context, id: &str) -> Result<Option<Found>, PageError> {
    let Some(user) = engine.accounts.get(id)? else {
        return Ok(None);
    };
    Ok(Some(Found {
        locked_until: engine.accounts.locked_until(&user)?,
        sessions: sessions::list_for_user(ctx, id)?,
        consents: oauth::consents::list(ctx, id)?,
        devices: devices::list(ctx, id)?,
        user,
    }))
}

/// `GET /admin/users/{id}`.
pub async fn get_user(
    page: AdminPage,
    ctx: web::Data<Context>,
    engine: web::Data<Engine>,
    id: web::Path<String>,
    done: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let found = {
        let ctx = ctx.clone();
        blocking(move || find(&engine, &ctx, &id)).await??
    };
    let Found {
        user,
        locked_until,
        sessions,
        consents,
        devices,
    } = found.ok_or_else(not_found)?;
    let consents = consents
        .into_iter()
        .map(|(consent, client)| ConsentRow {
            client: client.map_or_else(|| consent.client_id.clone(), |client| client.name),
            scopes: consent.scopes.join(" "),
            granted: display_time(consent.granted_at),
        })
        .collect();
    render(
        StatusCode::OK,
        &UserPage {
            csrf_token: page.csrf_token,
            done: done.message(),
            created: display_time(user.created_at),
            totp_enrolled: user.totp.is_some(),
            locked_until: locked_until.map(display_time),
            user: user.into(),
            sessions: sessions.into_iter().map(SessionRow::from).collect(),
            consents,
            devices: devices.into_iter().map(DeviceRow::from).collect(),
        },
    )
}

/// Applies `changes` to the user `id` as `page`'s administrator, then
/// shows them with `done`.
async fn change(
    page: AdminPage,
    engine: web::Data<Engine>,
    id: String,
    changes: UserChanges,
    done: Done,
) -> Result<HttpResponse, PageError> {
    let path = user_path(&id);
    blocking(move || engine.accounts.update_by_id(&id, changes, &page.by))
        .await?
        .map_err(account_refusal)?;
    Ok(done.at(&path))
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    admin: Option<String>,
}

impl PageForm for ProfileForm {
    const ADVICE: &'static str = ADVICE;
}

/// `POST /admin/users/{id}/profile`: email, name and the admin role.
pub async fn post_profile(
    page: AdminPage,
    engine: web::Data<Engine>,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<ProfileForm>,
) -> Result<HttpResponse, PageError> {
    let changes = UserChanges {
        email: Some(optional(form.email)),
        name: Some(optional(form.name)),
        admin: Some(form.admin.is_some()),
        ..UserChanges::default()
    };
    change(page, engine, id.into_inner(), changes, Done::UserSaved).await
}

/// `disabled=true` or `false`: a string, as forms (read through the CSRF
/// wrapper's `flatten`) carry no typed values.
#[derive(Deserialize)]
pub struct StatusForm {
    disabled: String,
}

impl PageForm for StatusForm {
    const ADVICE: &'static str = ADVICE;
}

/// `POST /admin/users/{id}/status`: disables (ending the sessions) or
/// enables the account.
pub async fn post_status(
    page: AdminPage,
    engine: web::Data<Engine>,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<StatusForm>,
) -> Result<HttpResponse, PageError> {
    let disabled = match form.disabled.as_str() {
        "true" => true,
        "false" => false,
        _ => {
            return Err(refused(
                StatusCode::BAD_REQUEST,
                "disabled must be true or false".into(),
            ));
        }
    };
    let changes = UserChanges {
        disabled: Some(disabled),
        ..UserChanges::default()
    };
    let done = if disabled {
        Done::UserDisabled
    } else {
        Done::UserEnabled
    };
    change(page, engine, id.into_inner(), changes, done).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    password: String,
}

impl PageForm for PasswordForm {
    const ADVICE: &'static str = ADVICE;
}

/// `POST /admin/users/{id}/password`: sets a password (the policy
/// applies), ending the user's sessions.
pub async fn post_password(
    page: AdminPage,
    engine: web::Data<Engine>,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let changes = UserChanges {
        password: Some(SecretString::new(form.password)),
        ..UserChanges::default()
    };
    change(page, engine, id.into_inner(), changes, Done::PasswordSet).await
}

/// `POST /admin/users/{id}/delete`: needs a recent sign-in; a stale one
/// signs in again and comes back to the user's page.
pub async fn post_delete(
    page: AdminPage,
    ctx: web::Data<Context>,
    engine: web::Data<Engine>,
    id: web::Path<String>,
    _: CsrfForm<ActionForm>,
) -> actix_web::Result<HttpResponse> {
    let id = id.into_inner();
    page.check_recent(&ctx, &user_path(&id))?;
    blocking(move || engine.accounts.delete_by_id(&id, &page.by))
        .await
        .map_err(PageError::from)?
        .map_err(account_refusal)?;
    Ok(Done::UserDeleted.at(paths::ADMIN_USERS_PAGE))
}

/// `POST /admin/users/{id}/unlock`: forgets the failed attempts that lock
/// the user out.
pub async fn post_unlock(
    page: AdminPage,
    engine: web::Data<Engine>,
    id: web::Path<String>,
    _: CsrfForm<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let path = user_path(&id);
    blocking(move || engine.accounts.unlock_by_id(&id, &page.by))
        .await?
        .map_err(account_refusal)?;
    Ok(Done::UserUnlocked.at(&path))
}

/// `POST /admin/users/{id}/reset-password`: mails the user a link to the
/// `reset_password` journey.
pub async fn post_reset_password(
    page: AdminPage,
    engine: web::Data<Engine>,
    id: web::Path<String>,
    _: CsrfForm<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let path = user_path(&id);
    blocking(move || engine.send_reset_link(&id, &page.by))
        .await?
        .map_err(|err| match err {
            ResetLinkError::NoSuchId(_) => not_found(),
            ResetLinkError::ManagedByConfig(_) => managed(err.to_string()),
            ResetLinkError::NoEmail(_)
            | ResetLinkError::Disabled(_)
            | ResetLinkError::NoJourney => refused(StatusCode::CONFLICT, err.to_string()),
            ResetLinkError::Store(err) => PageError::internal(err),
        })?;
    Ok(Done::ResetSent.at(&path))
}

#[derive(Deserialize)]
pub struct EndSessionForm {
    session_id: String,
}

impl PageForm for EndSessionForm {
    const ADVICE: &'static str = ADVICE;
}

/// `POST /admin/users/{id}/sessions/end`: ends one of the user's sessions.
pub async fn post_end_session(
    page: AdminPage,
    ctx: web::Data<Context>,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<EndSessionForm>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let path = user_path(&id);
    let by = page.by;
    let ended =
        blocking(move || sessions::revoke_by_id(&ctx, &id, &form.session_id, &by)).await??;
    if !ended {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            "Session not found",
            "This session has already ended. Go back to the user's page.",
        ));
    }
    Ok(Done::SessionEnded.at(&path))
}
