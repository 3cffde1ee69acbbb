//! `/account`: who is signed in, sign-in requests waiting for their
//! approval, their sessions and remembered devices; changing the password,
//! answering a request, ending a session (or all the others), naming and
//! forgetting a device. Each action redirects back with a message named
//! in the query (`?done=`), so a reload repeats nothing.

use crate::accounts::{OwnPasswordChange, PasswordChangeError};
use crate::audit;
use crate::config::seconds;
use crate::context::Context;
use crate::http::cookies;
use crate::http::error::{PageError, render};
use crate::http::extract::{ClientIp, CsrfForm, PageForm, SessionAuth};
use crate::http::pages::passkeys::{self, PasskeySection};
use crate::http::pages::second_factor;
use crate::http::paths;
use crate::journeys::devices::{MAX_NAME_CHARS, RenameError};
use crate::journeys::push::{self, Answered, Decision, Reply};
use crate::journeys::{Engine, devices};
use crate::oauth;
use crate::secret::SecretString;
use crate::sessions;
use crate::store::{Client, Consent, KnownDevice, PushRequest, Session, StoreError};
use crate::telemetry::{CpuGate, blocking};
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
    /// What the action that led here did.
    message: Option<&'static str>,
    /// The config file sets the password: no form to change it.
    managed_by_config: bool,
    /// The session signed in (or stepped up) recently enough that the
    /// current password is not needed: until when.
    fresh_until: Option<String>,
    push_requests: Vec<PushView>,
    sessions: Vec<SessionView>,
    devices: Vec<DeviceView>,
    /// Longest name a device may be given.
    max_device_name: usize,
    consents: Vec<ConsentView>,
    /// The authenticator app and recovery codes sections.
    second_factor: second_factor::Section,
    /// The "Passkeys" section.
    passkeys: PasskeySection,
}

struct ConsentView {
    client_id: String,
    client_name: String,
    scopes: String,
    granted: String,
}

struct PushView {
    id: String,
    /// The numbers to pick from, one of which the signing-in page shows.
    choices: Vec<u8>,
    device: String,
    ip: Option<String>,
    created: String,
    expires: String,
}

struct DeviceView {
    id: String,
    /// The user's name for it, else the label.
    shown: String,
    /// The label, when a name is shown instead.
    label: Option<String>,
    /// The name, to edit.
    name: String,
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
        crate::accounts::recovery_codes::METHOD => "recovery code",
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
        choices: request.choices,
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
        shown: known.name.clone().unwrap_or_else(|| known.label.clone()),
        label: known.name.is_some().then_some(known.label),
        name: known.name.unwrap_or_default(),
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

/// What an account action did, shown on the page it redirects to. A
/// fixed set, so that a link cannot make the page say anything else.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Done {
    PasswordChanged,
    PasswordChangedOthersEnded,
    OthersEnded,
    DeviceRenamed,
    PushApproved,
    PushDenied,
    PushWrongNumber,
    AppSaved,
    AppRemoved,
}

impl Done {
    /// The sentence shown.
    fn message(self) -> &'static str {
        match self {
            Done::PasswordChanged => "Your password was changed.",
            Done::PasswordChangedOthersEnded => {
                "Your password was changed, and your other sessions were ended."
            }
            Done::OthersEnded => "Your other sessions were ended.",
            Done::DeviceRenamed => "The device's name was saved.",
            Done::PushApproved => "You approved the sign-in.",
            Done::PushDenied => "You denied the sign-in.",
            Done::PushWrongNumber => {
                "That was not the number shown where you are signing in, so the sign-in was \
                 denied. If it was you, start signing in again."
            }
            Done::AppSaved => "Your authenticator app is set up.",
            Done::AppRemoved => {
                "Your authenticator app was removed, and your recovery codes with it."
            }
        }
    }

    /// Back to the account page, with this message to show.
    pub(super) fn back(self) -> HttpResponse {
        let name = match self {
            Done::PasswordChanged => "password_changed",
            Done::PasswordChangedOthersEnded => "password_changed_others_ended",
            Done::OthersEnded => "others_ended",
            Done::DeviceRenamed => "device_renamed",
            Done::PushApproved => "push_approved",
            Done::PushDenied => "push_denied",
            Done::PushWrongNumber => "push_wrong_number",
            Done::AppSaved => "app_saved",
            Done::AppRemoved => "app_removed",
        };
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("{}?done={name}", paths::ACCOUNT)))
            .finish()
    }
}

/// `?done=` on the account page.
#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<Done>,
}

/// Until when the session may change the password without the current
/// one; `None` once it may not.
fn fresh_until(ctx: &Context, session: &Session) -> Option<String> {
    signed_in_recently(ctx, session)
        .then(|| display_time(session.auth_time + seconds(ctx.settings.admin.reauth_secs)))
}

/// Whether the session signed in (or stepped up) within `[admin]
/// reauth_secs`: what the page's sensitive actions ask of it.
pub(super) fn signed_in_recently(ctx: &Context, session: &Session) -> bool {
    session.authenticated_within(seconds(ctx.settings.admin.reauth_secs), ctx.now())
}

/// `GET /account`.
pub async fn get_account(
    ctx: web::Data<Context>,
    engine: web::Data<Engine>,
    auth: SessionAuth,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let fresh_until = fresh_until(&ctx, &auth.active.session);
    let passkeys = {
        let active = auth.active.clone();
        blocking(move || passkeys::section(&engine, &active)).await??
    };
    let user = auth.active.user;
    let second_factor = second_factor::section(&user, &auth.active.session.journey);
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
        message: query.done.map(Done::message),
        managed_by_config: user.managed_by_config,
        fresh_until,
        push_requests: listed.push_requests.into_iter().map(push_view).collect(),
        sessions: listed
            .sessions
            .into_iter()
            .map(|session| session_view(session, &current_id))
            .collect(),
        devices: listed.devices.into_iter().map(device_view).collect(),
        max_device_name: MAX_NAME_CHARS,
        consents: listed
            .consents
            .into_iter()
            .map(|consent| consent_view(&ctx, consent))
            .collect(),
        second_factor,
        passkeys,
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
pub struct ChangePasswordForm {
    /// Empty when a recent sign-in stands for it.
    #[serde(default)]
    current_password: Option<SecretString>,
    new_password: SecretString,
    /// The new password typed again: the form works without script, so a
    /// typo cannot be seen, and one would lock the user out.
    new_password_confirm: SecretString,
    /// A checkbox, checked on the page: absent when the user unchecked it.
    #[serde(default)]
    end_other_sessions: Option<String>,
}

impl PageForm for ChangePasswordForm {
    const ADVICE: &'static str = ACCOUNT_ADVICE;
}

/// `POST /account/password`: changes the user's password, proven by the
/// current one or a recent sign-in; the other sessions end if asked. It
/// hashes, so it waits for the gate that bounds concurrent hashes, as a
/// sign-in does.
pub async fn post_change_password(
    engine: web::Data<Engine>,
    gate: web::Data<CpuGate>,
    auth: SessionAuth,
    CsrfForm(form): CsrfForm<ChangePasswordForm>,
    ip: ClientIp,
) -> Result<HttpResponse, PageError> {
    let end_other_sessions = form.end_other_sessions.is_some();
    let changed = gate
        .run(move || {
            let change = OwnPasswordChange {
                user: &auth.active.user,
                session: &auth.active.session,
                session_hash: &auth.token.hash(),
                current: form.current_password.as_ref(),
                new: &form.new_password,
                confirm: &form.new_password_confirm,
                end_other_sessions,
                address: ip.as_deref(),
            };
            engine.accounts.change_own_password(&change, &engine.mailer)
        })
        .await?;
    changed.map_err(password_refusal)?;
    Ok(match end_other_sessions {
        true => Done::PasswordChangedOthersEnded.back(),
        false => Done::PasswordChanged.back(),
    })
}

/// The page for a refused password change: what to do about it.
fn password_refusal(err: PasswordChangeError) -> PageError {
    let again = "Go back to your account page and try again.";
    match err {
        PasswordChangeError::Mismatch => PageError::new(
            StatusCode::BAD_REQUEST,
            "The new passwords differ",
            format!("Type the same new password in both fields. {again}"),
        ),
        PasswordChangeError::Weak(refusal) => PageError::new(
            StatusCode::BAD_REQUEST,
            "Password refused",
            format!("{refusal} {again}"),
        ),
        PasswordChangeError::ProofRequired { max_age_secs } => PageError::new(
            StatusCode::FORBIDDEN,
            "Your current password is needed",
            format!(
                "You signed in more than {} minutes ago: enter your current password, or sign in again (or confirm it's you) and change it within {} minutes. {again}",
                max_age_secs / 60,
                max_age_secs / 60,
            ),
        ),
        PasswordChangeError::WrongPassword => PageError::new(
            StatusCode::FORBIDDEN,
            "Wrong current password",
            format!(
                "The current password you entered is not your password. Repeated wrong passwords lock your account for a while, as at sign-in. {again}"
            ),
        ),
        PasswordChangeError::Locked(until) => PageError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many wrong passwords",
            format!(
                "Your account (or this address) is locked after too many wrong passwords until {}. Try again then.",
                display_time(until)
            ),
        ),
        PasswordChangeError::ManagedByConfig => PageError::new(
            StatusCode::CONFLICT,
            "Password set by the config file",
            "Your account is declared in tessera's config file, which sets its password: a change here would be undone at the next start. Ask whoever runs tessera to change it there.",
        ),
        err @ (PasswordChangeError::Account(_) | PasswordChangeError::Store(_)) => {
            PageError::internal(err)
        }
    }
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

/// A form with nothing but its CSRF token: the action is in its path.
#[derive(Deserialize)]
pub struct ActionForm {}

impl PageForm for ActionForm {
    const ADVICE: &'static str = ACCOUNT_ADVICE;
}

/// `POST /account/sessions/end-others`: ends every session of the user but
/// the one asking.
pub async fn post_end_other_sessions(
    ctx: web::Data<Context>,
    auth: SessionAuth,
    _: CsrfForm<ActionForm>,
    ip: ClientIp,
) -> Result<HttpResponse, PageError> {
    let caller = caller(&auth, &ip);
    let user_id = auth.active.user.id;
    let keep = auth.active.session.id;
    blocking(move || sessions::revoke_others(&ctx, &user_id, &keep, &caller)).await??;
    Ok(Done::OthersEnded.back())
}

#[derive(Deserialize)]
pub struct PushAnswerForm {
    request_id: String,
    decision: Decision,
    /// The number picked, with `approve`. Text: the CSRF wrapper reads the
    /// form through `serde(flatten)`, which hands numbers over as strings.
    #[serde(default)]
    number: Option<String>,
}

impl PageForm for PushAnswerForm {
    const ADVICE: &'static str = ACCOUNT_ADVICE;
}

/// `POST /account/push`: approves (picking the number the signing-in page
/// shows) or denies a sign-in request waiting for this user; any of their
/// live sessions may answer.
pub async fn post_push_answer(
    ctx: web::Data<Context>,
    auth: SessionAuth,
    CsrfForm(form): CsrfForm<PushAnswerForm>,
) -> Result<HttpResponse, PageError> {
    let number = form
        .number
        .as_deref()
        .and_then(|number| number.parse().ok());
    let Some(reply) = Reply::new(form.decision, number) else {
        return Err(PageError::new(
            StatusCode::BAD_REQUEST,
            "Pick a number",
            "To approve a sign-in, pick the number shown where you are signing in. Go back to your account page.",
        ));
    };
    let user_id = auth.active.user.id;
    let answered =
        blocking(move || push::answer(&ctx, &user_id, &form.request_id, reply)).await??;
    match answered {
        Answered::Approved => Ok(Done::PushApproved.back()),
        Answered::Denied => Ok(Done::PushDenied.back()),
        Answered::WrongNumber => Ok(Done::PushWrongNumber.back()),
        Answered::NotWaiting => Err(PageError::new(
            StatusCode::NOT_FOUND,
            "Sign-in request not found",
            "This sign-in request was already answered or has expired. Go back to your account page.",
        )),
    }
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
pub struct RenameDeviceForm {
    device_id: String,
    /// Empty clears the name.
    #[serde(default)]
    name: String,
}

impl PageForm for RenameDeviceForm {
    const ADVICE: &'static str = ACCOUNT_ADVICE;
}

/// `POST /account/devices/rename`: names a remembered device, so that the
/// user can tell it from their others.
pub async fn post_rename_device(
    ctx: web::Data<Context>,
    auth: SessionAuth,
    CsrfForm(form): CsrfForm<RenameDeviceForm>,
) -> Result<HttpResponse, PageError> {
    let user_id = auth.active.user.id;
    blocking(move || devices::rename(&ctx, &user_id, &form.device_id, &form.name))
        .await?
        .map_err(|err| match err {
            RenameError::TooLong => PageError::new(
                StatusCode::BAD_REQUEST,
                "Device name too long",
                format!(
                    "Give the device a name of at most {MAX_NAME_CHARS} characters. Go back to your account page and try again."
                ),
            ),
            RenameError::NotFound => PageError::new(
                StatusCode::NOT_FOUND,
                "Device not found",
                "This device is no longer remembered. Go back to your account page.",
            ),
            RenameError::Store(err) => PageError::internal(err),
        })?;
    Ok(Done::DeviceRenamed.back())
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
