//! The "Passkeys" section of /account: the user's passkeys (name, created,
//! last used), naming and removing one, and adding one. Adding needs a
//! session that signed in within `[admin] reauth_secs`, and JavaScript:
//! `static/passkeys.js` asks this module for the creation options (begin),
//! has the browser's authenticator make the passkey, and posts its answer
//! back (finish). Every form carries the session's CSRF token.

use super::account::{display_time, signed_in_recently};
use super::second_factor;
use crate::accounts::SecondFactorRequest;
use crate::audit::{Caller, Party};
use crate::http::error::PageError;
use crate::http::extract::{ClientIp, CsrfForm, PageForm, SessionAuth};
use crate::http::paths;
use crate::journeys::Engine;
use crate::passkeys::{MAX_NAME_CHARS, PasskeyError};
use crate::secret::SecretString;
use crate::sessions::ActiveSession;
use crate::store::{PasskeyCredential, StoreError};
use crate::telemetry::blocking;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use serde::Deserialize;

/// The script of the passkey pages (registration on /account, the
/// `passkey` journey step).
const PASSKEY_SCRIPT: &str = include_str!("../../../static/passkeys.js");

/// Registers the section's routes and its script.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::ACCOUNT_PASSKEY_BEGIN, web::post().to(post_begin))
        .route(paths::ACCOUNT_PASSKEY_FINISH, web::post().to(post_finish))
        .route(paths::ACCOUNT_PASSKEY_RENAME, web::post().to(post_rename))
        .route(paths::ACCOUNT_PASSKEY_REMOVE, web::post().to(post_remove))
        .route(paths::PASSKEY_SCRIPT, web::get().to(get_script));
}

/// What the account page shows in its "Passkeys" section.
pub struct PasskeySection {
    pub passkeys: Vec<PasskeyView>,
    /// The session signed in recently enough to add a passkey.
    pub fresh: bool,
    /// Where to sign in again when it did not.
    pub sign_in_again: String,
    /// Why this server cannot use passkeys, if it cannot.
    pub unavailable: Option<String>,
    pub max_name: usize,
    /// The user has an authenticator app: adding or removing a passkey asks
    /// for its code (or a recovery code) too.
    pub needs_code: bool,
}

/// One passkey as the page lists it.
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: String,
}

/// The section for the session's user (reads the store: run it blocking).
pub fn section(engine: &Engine, active: &ActiveSession) -> Result<PasskeySection, StoreError> {
    let passkeys = engine.passkeys.list(&active.user.id)?;
    Ok(PasskeySection {
        passkeys: passkeys.into_iter().map(view).collect(),
        fresh: signed_in_recently(&engine.ctx, &active.session),
        sign_in_again: second_factor::sign_in_again(&active.session.journey),
        unavailable: engine.passkeys.unavailable().map(str::to_owned),
        max_name: MAX_NAME_CHARS,
        needs_code: active.user.totp.is_some(),
    })
}

fn view(passkey: PasskeyCredential) -> PasskeyView {
    PasskeyView {
        id: passkey.id,
        name: passkey.name,
        created: display_time(passkey.created_at),
        last_used: passkey
            .last_used_at
            .map_or_else(|| "never".to_owned(), display_time),
    }
}

/// The step-up that adding or removing a passkey needs: a recent sign-in
/// and, when the user has an authenticator app, its code or a recovery
/// code, as replacing the app needs. A passkey signs in alone, so without
/// the code a stolen session could add a way in that skips the second
/// factor, or strip the one the user relies on.
async fn step_up(
    engine: &web::Data<Engine>,
    active: &ActiveSession,
    code: Option<SecretString>,
    ip: &ClientIp,
) -> Result<(), PageError> {
    if !signed_in_recently(&engine.ctx, &active.session) {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Sign in again first",
            "Adding or removing a passkey needs a recent sign-in. Go back to your account page and sign in again from there.",
        ));
    }
    if active.user.totp.is_none() {
        return Ok(());
    }
    let (engine, active, address) = (engine.clone(), active.clone(), ip.0.clone());
    blocking(move || {
        engine.accounts.prove(&SecondFactorRequest {
            user: &active.user,
            session: &active.session,
            code: code
                .as_ref()
                .filter(|code| !code.expose().trim().is_empty()),
            address: address.as_deref(),
        })
    })
    .await?
    .map_err(second_factor::refusal)?;
    Ok(())
}

fn caller(auth: &SessionAuth, ip: &ClientIp) -> Caller {
    Caller::new(Party::user(&auth.active.user.username), ip.0.as_deref())
}

/// The page for a refused passkey action.
fn refusal(err: PasskeyError) -> PageError {
    let (status, title, message) = match &err {
        PasskeyError::Unavailable(_) => (
            StatusCode::CONFLICT,
            "Passkeys unavailable",
            "Passkeys cannot be used on this server. Contact your administrator.",
        ),
        PasskeyError::NotFound => (
            StatusCode::NOT_FOUND,
            "Passkey not found",
            "This passkey no longer exists. Go back to your account page.",
        ),
        PasskeyError::NameTooLong => (
            StatusCode::BAD_REQUEST,
            "Passkey name too long",
            "Give the passkey a shorter name. Go back to your account page and try again.",
        ),
        PasskeyError::NoPendingRegistration => (
            StatusCode::BAD_REQUEST,
            "Passkey not added",
            "Adding the passkey took too long or was started elsewhere. Go back to your account page and try again.",
        ),
        PasskeyError::Malformed(_) | PasskeyError::Refused(_) | PasskeyError::NotEnrolled => (
            StatusCode::BAD_REQUEST,
            "Passkey not added",
            "Your browser's answer was not accepted. Go back to your account page and try again.",
        ),
        PasskeyError::Store(_) => return PageError::internal(err),
    };
    tracing::info!(reason = %err, "passkey action refused");
    PageError::new(status, title, message)
}

/// What to do when a passkey form is refused.
const ADVICE: &str = "Go back, reload the page and try again.";

#[derive(Deserialize)]
pub struct BeginForm {
    #[serde(default)]
    name: String,
    /// The authenticator app's code or a recovery code, when the user has
    /// an app.
    #[serde(default)]
    code: Option<SecretString>,
}

impl PageForm for BeginForm {
    const ADVICE: &'static str = ADVICE;
}

/// `POST /account/passkeys/begin`: the options for
/// `navigator.credentials.create`, as JSON; the ceremony's state stays
/// here, for this session, for a few minutes.
pub async fn post_begin(
    engine: web::Data<Engine>,
    auth: SessionAuth,
    CsrfForm(form): CsrfForm<BeginForm>,
    ip: ClientIp,
) -> Result<HttpResponse, PageError> {
    step_up(&engine, &auth.active, form.code, &ip).await?;
    let options = blocking(move || {
        engine
            .passkeys
            .begin_registration(&auth.active.user, &auth.active.session.id, &form.name)
    })
    .await?
    .map_err(refusal)?;
    Ok(HttpResponse::Ok().json(options))
}

#[derive(Deserialize)]
pub struct FinishForm {
    /// The `PublicKeyCredential` of `navigator.credentials.create`, as JSON.
    #[serde(default)]
    credential: String,
}

impl PageForm for FinishForm {
    const ADVICE: &'static str = ADVICE;
}

/// `POST /account/passkeys/finish`: stores the passkey the authenticator
/// made, if its answer verifies against the begun ceremony.
pub async fn post_finish(
    engine: web::Data<Engine>,
    auth: SessionAuth,
    CsrfForm(form): CsrfForm<FinishForm>,
    ip: ClientIp,
) -> Result<HttpResponse, PageError> {
    // The begun ceremony holds the step-up: it is this session's, and
    // short-lived.
    let caller = caller(&auth, &ip);
    blocking(move || {
        engine.passkeys.finish_registration(
            &auth.active.user,
            &auth.active.session.id,
            &form.credential,
            &caller,
        )
    })
    .await?
    .map_err(refusal)?;
    Ok(back())
}

#[derive(Deserialize)]
pub struct RenameForm {
    passkey_id: String,
    #[serde(default)]
    name: String,
}

impl PageForm for RenameForm {
    const ADVICE: &'static str = ADVICE;
}

/// `POST /account/passkeys/rename`.
pub async fn post_rename(
    engine: web::Data<Engine>,
    auth: SessionAuth,
    CsrfForm(form): CsrfForm<RenameForm>,
    ip: ClientIp,
) -> Result<HttpResponse, PageError> {
    let caller = caller(&auth, &ip);
    blocking(move || {
        engine
            .passkeys
            .rename(&auth.active.user, &form.passkey_id, &form.name, &caller)
    })
    .await?
    .map_err(refusal)?;
    Ok(back())
}

#[derive(Deserialize)]
pub struct RemoveForm {
    passkey_id: String,
    /// As for [`BeginForm`].
    #[serde(default)]
    code: Option<SecretString>,
}

impl PageForm for RemoveForm {
    const ADVICE: &'static str = ADVICE;
}

/// `POST /account/passkeys/remove`: the passkey no longer signs in.
pub async fn post_remove(
    engine: web::Data<Engine>,
    auth: SessionAuth,
    CsrfForm(form): CsrfForm<RemoveForm>,
    ip: ClientIp,
) -> Result<HttpResponse, PageError> {
    step_up(&engine, &auth.active, form.code, &ip).await?;
    let caller = caller(&auth, &ip);
    blocking(move || {
        engine
            .passkeys
            .remove(&auth.active.user, &form.passkey_id, &caller)
    })
    .await?
    .map_err(refusal)?;
    Ok(back())
}

/// Back to the account page's passkey section.
fn back() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("{}#passkeys", paths::ACCOUNT)))
        .finish()
}

async fn get_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(PASSKEY_SCRIPT)
}
