//! `/admin`: the administration pages, HTML forms over the same domain
//! calls as the admin API. Every page takes [`AdminPage`]: without a session
//! the browser signs in and comes back, a signed-in non-administrator gets
//! a 403 page. Every form carries the session's CSRF token (`CsrfForm`),
//! and every action answers with a redirect to a page that says what
//! happened ([`Done`]), so a reload never repeats it.

mod audit_log;
mod clients;
mod keys;
mod users;

use crate::admin::{self, Administrator, Refusal};
use crate::audit;
use crate::context::Context;
use crate::http::error::PageError;
use crate::http::extract::{PageForm, SessionAuth, audited_admin};
use crate::http::paths;
use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde::Deserialize;
use std::future::Future;
use std::pin::Pin;

/// Registers the pages under `/admin`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::ADMIN_HOME, web::get().to(get_home));
    users::configure(cfg);
    clients::configure(cfg);
    keys::configure(cfg);
    audit_log::configure(cfg);
}

/// `GET /admin`: the users page, where administration usually starts.
async fn get_home(_: AdminPage) -> HttpResponse {
    see_other(paths::ADMIN_USERS_PAGE)
}

/// An administrator's session, for a page: the decision is
/// `admin::by_session`, as for the admin API.
pub struct AdminPage {
    pub admin: Administrator,
    /// The session's CSRF token, for the page's forms.
    pub csrf_token: String,
    /// The administrator as the audit log names them, with their address.
    pub by: audit::Caller,
}

impl FromRequest for AdminPage {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let auth = SessionAuth::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let auth = auth.await?;
            let ctx = context(&req)?;
            match admin::by_session(&ctx, &auth.active) {
                Ok(admin) => Ok(AdminPage {
                    by: audited_admin(&req, &admin),
                    admin,
                    csrf_token: ctx.csrf_token(&auth.token),
                }),
                Err(Refusal::WrongJourney { required, .. }) => {
                    Err(sign_in_again(&required, &back_here(&req)))
                }
                Err(Refusal::NotAdmin(_)) => Err(PageError::new(
                    StatusCode::FORBIDDEN,
                    "Not an administrator",
                    "Your account may not administer tessera. Ask an administrator if you need to.",
                )
                .into()),
                Err(err) => Err(PageError::internal(err).into()),
            }
        })
    }
}

impl AdminPage {
    /// For the most sensitive actions: a session that signed in within
    /// `[admin] reauth_secs`. Otherwise the browser signs in again with the
    /// admin journey and comes back to `back`, whose form it submits anew.
    pub fn check_recent(&self, ctx: &Context, back: &str) -> Result<(), actix_web::Error> {
        match self.admin.check_recent(ctx) {
            Ok(()) => Ok(()),
            Err(Refusal::ReauthRequired { journey, .. }) => Err(sign_in_again(&journey, back)),
            Err(err) => Err(PageError::internal(err).into()),
        }
    }
}

fn context(req: &HttpRequest) -> Result<web::Data<Context>, PageError> {
    req.app_data::<web::Data<Context>>()
        .cloned()
        .ok_or_else(|| PageError::internal("application context missing"))
}

/// The page requested, to come back to after signing in.
fn back_here(req: &HttpRequest) -> String {
    req.uri()
        .path_and_query()
        .map_or(paths::ADMIN_HOME, |pq| pq.as_str())
        .to_owned()
}

/// To the sign-in page of `journey`, then back to `goto`.
fn sign_in_again(journey: &str, goto: &str) -> actix_web::Error {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("journey", journey)
        .append_pair("goto", goto)
        .finish();
    let response = see_other(&format!("{}?{query}", paths::LOGIN));
    InternalError::from_response("sign-in required", response).into()
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// What an action did, shown on the page it redirects to. A fixed set, so
/// that a link cannot make an admin page say anything else.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Done {
    UserCreated,
    UserSaved,
    UserDisabled,
    UserEnabled,
    PasswordSet,
    UserUnlocked,
    ResetSent,
    UserDeleted,
    SessionEnded,
    ClientSaved,
    ClientDeleted,
    KeyRotated,
}

impl Done {
    /// The sentence shown.
    pub fn message(self) -> &'static str {
        match self {
            Done::UserCreated => "The user was created.",
            Done::UserSaved => "The profile was saved.",
            Done::UserDisabled => "The account was disabled and its sessions ended.",
            Done::UserEnabled => "The account was enabled.",
            Done::PasswordSet => "The password was set and the user's sessions ended.",
            Done::UserUnlocked => "The account's failed attempts were forgotten: it can sign in.",
            Done::ResetSent => "A link to choose a new password was mailed to the user.",
            Done::UserDeleted => "The user was deleted.",
            Done::SessionEnded => "The session was ended.",
            Done::ClientSaved => "The client was saved.",
            Done::ClientDeleted => "The client was deleted.",
            Done::KeyRotated => {
                "A new signing key signs from now on; the old one stays published until its tokens expire."
            }
        }
    }

    /// `path` with this message to show.
    fn at(self, path: &str) -> HttpResponse {
        see_other(&format!("{path}?done={}", self.name()))
    }

    /// Its value in `?done=`, as serde reads it back.
    fn name(self) -> &'static str {
        match self {
            Done::UserCreated => "user_created",
            Done::UserSaved => "user_saved",
            Done::UserDisabled => "user_disabled",
            Done::UserEnabled => "user_enabled",
            Done::PasswordSet => "password_set",
            Done::UserUnlocked => "user_unlocked",
            Done::ResetSent => "reset_sent",
            Done::UserDeleted => "user_deleted",
            Done::SessionEnded => "session_ended",
            Done::ClientSaved => "client_saved",
            Done::ClientDeleted => "client_deleted",
            Done::KeyRotated => "key_rotated",
        }
    }
}

/// `?done=` on a page an action redirected to.
#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<Done>,
}

impl DoneQuery {
    fn message(&self) -> Option<&'static str> {
        self.done.map(Done::message)
    }
}

/// What to do when an admin form is refused.
const ADVICE: &str = "Go back, reload the page and try again.";

/// A form with nothing but its CSRF token: the action is in its path.
#[derive(Deserialize)]
pub struct ActionForm {}

impl PageForm for ActionForm {
    const ADVICE: &'static str = ADVICE;
}

/// A refused change, as a page: `message` says what to fix.
fn refused(status: StatusCode, message: String) -> PageError {
    PageError::new(
        status,
        "Change refused",
        format!("{message}. Go back and correct it."),
    )
}

/// The page for a record the config file manages.
fn managed(message: String) -> PageError {
    PageError::new(
        StatusCode::CONFLICT,
        "Managed by the config file",
        format!("{message}: change it there (it applies at the next start)."),
    )
}
