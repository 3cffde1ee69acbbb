//! `/account`: who is signed in, sign-in requests waiting for their
//! approval, their sessions and remembered devices; answering a request,
//! ending a session and forgetting a device.

use crate::audit;
use crate::context::Context;
use crate::http::cookies;
use crate::http::error::{PageError, render};
use crate::http::extract::{ClientIp, CsrfForm, PageForm, SessionAuth};
use crate::http::paths;
use crate::journeys::devices;
use crate::journeys::push::{self, Reply};
use crate::oauth;
use crate::sessions;
use crate::store::{Client, Consent, KnownDevice, PushRequest, Session, StoreError};
use crate::telemetry::blocking;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use time::OffsetDateTime;
use time::macros::format_description;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    username: String,
    name: Option<String>,
    email: Option<String>,
    csrf_token: String,
    push_requests: Vec<PushView>,
    sessions: Vec<SessionView>,
    devices: Vec<DeviceView>,
    consents: Vec<ConsentView>,
}

struct ConsentView {
    client_id: String,
    client_name: String,
    scopes: String,
    granted: String,
}

struct PushView {
    id: String,
    device: String,
    ip: Option<String>,
    created: String,
    expires: String,
}

struct DeviceView {
    id: String,
    label: String,
    first_seen: String,
    last_seen: String,
}

struct SessionView {
    id: String,
    device: String,
    ip: Option<String>,
    methods: String,
    created: String,
    last_used: String,
    current: bool,
}

/// A timestamp as people read it.
pub fn display_time(at: OffsetDateTime) -> String {
    at.format(format_description!(
        "[year]-[month]-[day] [hour]:[minute] UTC"
    ))
    .unwrap_or_default()
}

/// An RFC 8176 method value in words.
fn method_label(amr: &str) -> &str {
    match amr {
        "pwd" => "password",
        "otp" => "one-time code",
        "totp" => "authenticator app",
        "push" => "push approval",
        other => other,
    }
}

fn session_view(session: Session, current_id: &str) -> SessionView {
    SessionView {
        device: devices::label(session.user_agent.as_deref()),
        current: session.id == current_id,
        methods: if session.amr.is_empty() {
            "no method recorded".into()
        } else {
            session
                .amr
                .iter()
                .map(|method| method_label(method))
                .collect::<Vec<_>>()
                .join(" + ")
        },
        created: display_time(session.created_at),
        last_used: display_time(session.last_used_at),
        ip: session.ip,
        id: session.id,
    }
}

fn push_view(request: PushRequest) -> PushView {
    PushView {
        device: devices::label(request.user_agent.as_deref()),
        created: display_time(request.created_at),
        expires: display_time(request.expires_at),
        ip: request.ip,
        id: request.id,
    }
}

fn device_view(known: KnownDevice) -> DeviceView {
    DeviceView {
        first_seen: display_time(known.first_seen),
        last_seen: display_time(known.last_seen),
        label: known.label,
        id: known.id,
    }
}

/// What the account page lists for a user.
struct Listed {
    push_requests: Vec<PushRequest>,
    sessions: Vec<Session>,
    devices: Vec<KnownDevice>,
    consents: Vec<(Consent, Option<Client>)>,
}

fn list(ctx: &Context, user_id: &str) -> Result<Listed, StoreError> {
    Ok(Listed {
        push_requests: push::pending_for(ctx, user_id)?,
        sessions: sessions::list_for_user(ctx, user_id)?,
        devices: devices::list(ctx, user_id)?,
        consents: oauth::consents::list(ctx, user_id)?,
    })
}

fn consent_view(ctx: &Context, (consent, client): (Consent, Option<Client>)) -> ConsentView {
    ConsentView {
        client_name: client.map_or_else(|| consent.client_id.clone(), |c| c.name),
        scopes: consent
            .scopes
            .iter()
            .map(|scope| oauth::scopes::describe(&ctx.settings, scope))
            .collect::<Vec<_>>()
            .join("; "),
        granted: display_time(consent.granted_at),
        client_id: consent.client_id,
    }
}

/// `GET /account`.
pub async fn get_account(
    ctx: web::Data<Context>,
    auth: SessionAuth,
) -> Result<HttpResponse, PageError> {
    let user = auth.active.user;
    let current_id = auth.active.session.id;
    let user_id = user.id.clone();
    let listed = {
        let ctx = ctx.clone();
        blocking(move || list(&ctx, &user_id)).await??
    };
    let page = AccountPage {
        username: user.username,
        name: user.name,
        email: user.email,
        csrf_token: ctx.csrf_token(&auth.token),
        push_requests: listed.push_requests.into_iter().map(push_view).collect(),
        sessions: listed
            .sessions
            .into_iter()
            .map(|session| session_view(session, &current_id))
            .collect(),
        devices: listed.devices.into_iter().map(device_view).collect(),
        consents: listed
            .consents
            .into_iter()
            .map(|consent| consent_view(&ctx, consent))
            .collect(),
    };
    render(StatusCode::OK, &page)
}

/// What to do when an account page form is refused.
const ACCOUNT_ADVICE: &str = "Go back, reload the page and try again.";

fn back_to_account() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, paths::ACCOUNT))
        .finish()
}

#[derive(Deserialize)]
pub struct EndSessionForm {
    session_id: String,
}

impl PageForm for EndSessionForm {
    const ADVICE: &'static str = ACCOUNT_ADVICE;
}

/// `POST /account/sessions/end`: ends one of the user's sessions; ending
/// the current one signs this browser out.
pub async fn post_end_session(
    ctx: web::Data<Context>,
    auth: SessionAuth,
    CsrfForm(form): CsrfForm<EndSessionForm>,
    ip: ClientIp,
) -> Result<HttpResponse, PageError> {
    let user_id = auth.active.user.id.clone();
    let session_id = form.session_id.clone();
    let caller = caller(&auth, &ip);
    {
        let ctx = ctx.clone();
        blocking(move || sessions::revoke_by_id(&ctx, &user_id, &session_id, &caller)).await??;
    }
    let mut response = HttpResponse::SeeOther();
    if form.session_id == auth.active.session.id {
        response
            .insert_header((header::LOCATION, paths::LOGIN))
            .cookie(cookies::clear_session(&ctx));
    } else {
        response.insert_header((header::LOCATION, paths::ACCOUNT));
    }
    Ok(response.finish())
}

#[derive(Deserialize)]
pub struct PushAnswerForm {
    request_id: String,
    decision: Reply,
}

impl PageForm for PushAnswerForm {
    const ADVICE: &'static str = ACCOUNT_ADVICE;
}

/// `POST /account/push`: approves or denies a sign-in request waiting for
/// this user; any of their live sessions may answer.
pub async fn post_push_answer(
    ctx: web::Data<Context>,
    auth: SessionAuth,
    CsrfForm(form): CsrfForm<PushAnswerForm>,
) -> Result<HttpResponse, PageError> {
    let user_id = auth.active.user.id;
    let answered =
        blocking(move || push::answer(&ctx, &user_id, &form.request_id, form.decision)).await??;
    if !answered {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            "Sign-in request not found",
            "This sign-in request was already answered or has expired. Go back to your account page.",
        ));
    }
    Ok(back_to_account())
}

#[derive(Deserialize)]
pub struct ForgetDeviceForm {
    device_id: String,
}

impl PageForm for ForgetDeviceForm {
    const ADVICE: &'static str = ACCOUNT_ADVICE;
}

/// `POST /account/devices/forget`: forgets a remembered device, so that
/// signing in from it counts as a new device again.
pub async fn post_forget_device(
    ctx: web::Data<Context>,
    auth: SessionAuth,
    CsrfForm(form): CsrfForm<ForgetDeviceForm>,
) -> Result<HttpResponse, PageError> {
    let user_id = auth.active.user.id;
    blocking(move || devices::forget(&ctx, &user_id, &form.device_id)).await??;
    Ok(back_to_account())
}

#[derive(Deserialize)]
pub struct RevokeConsentForm {
    client_id: String,
}

impl PageForm for RevokeConsentForm {
    const ADVICE: &'static str = ACCOUNT_ADVICE;
}

/// `POST /account/consents/revoke`: withdraws a client's access: the
/// consent and the client's refresh tokens for this user.
pub async fn post_revoke_consent(
    ctx: web::Data<Context>,
    auth: SessionAuth,
    CsrfForm(form): CsrfForm<RevokeConsentForm>,
    ip: ClientIp,
) -> Result<HttpResponse, PageError> {
    let caller = caller(&auth, &ip);
    let user_id = auth.active.user.id;
    blocking(move || oauth::consents::revoke(&ctx, &user_id, &form.client_id, &caller)).await??;
    Ok(back_to_account())
}

/// The signed-in user, acting on their own account from `ip`.
fn caller(auth: &SessionAuth, ip: &ClientIp) -> audit::Caller {
    audit::Caller::new(
        audit::Party::user(&auth.active.user.username),
        ip.as_deref(),
    )
}
