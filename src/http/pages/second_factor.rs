//! The second factor on `/account`: the authenticator app (add, replace,
//! remove) and recovery codes (a new set, shown once). The domain
//! (`accounts::second_factor`) decides what proves it is the user; these
//! handlers parse the forms and render. Pages that show a secret (the new
//! app's key, the codes) are sent with `Cache-Control: no-store`.

use super::account::{Done, display_time};
use crate::accounts::recovery_codes::{self, ShownCode};
use crate::accounts::totp::{AppSetup, TotpError};
use crate::accounts::{SecondFactorError, SecondFactorRequest};
use crate::config::Settings;
use crate::context::Context;
use crate::http::error::{PageError, render};
use crate::http::extract::{ClientIp, CsrfForm, PageForm, SessionAuth};
use crate::http::paths;
use crate::journeys::Engine;
use crate::secret::SecretString;
use crate::store::User;
use crate::telemetry::blocking;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

/// What the account page shows of the second factor.
pub struct Section {
    /// Whether an app is set up, and since when if known.
    pub app: Option<Option<String>>,
    /// Recovery codes not used yet.
    pub unused_codes: usize,
    /// Codes in a set.
    pub set_size: usize,
    /// Where to sign in again, for actions that need a recent sign-in.
    pub sign_in_again: String,
}

/// The account page's second-factor sections for `user`, whose session
/// signed in with `journey`.
pub fn section(user: &User, journey: &str) -> Section {
    Section {
        app: user
            .totp
            .as_ref()
            .map(|app| app.enrolled_at.map(display_time)),
        unused_codes: recovery_codes::unused(user),
        set_size: recovery_codes::COUNT,
        sign_in_again: sign_in_again(journey),
    }
}

/// Sign in again with `journey` and come back to the account page: a
/// fresh sign-in, asking again for what the session's sign-in asked.
pub fn sign_in_again(journey: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("journey", journey)
        .append_pair("goto", paths::ACCOUNT)
        .finish();
    format!("{}?{query}", paths::LOGIN)
}

/// The name apps list the account under: the `issuer` of the journeys'
/// `totp_enroll` nodes, so that an app set up here reads like one set up
/// at sign-in, else "tessera" as there.
fn app_issuer(settings: &Settings) -> String {
    settings
        .journeys
        .definitions
        .values()
        .flat_map(|journey| journey.nodes.values())
        .filter(|node| node.kind == "totp_enroll")
        .find_map(|node| node.options.get("issuer")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| "tessera".into())
}

#[derive(Template)]
#[template(path = "account_app_setup.html")]
struct SetupPage {
    csrf_token: String,
    message: Option<&'static str>,
    /// Whether an app is being replaced (it works until the new one does).
    replacing: bool,
    svg: String,
    uri: String,
    key: String,
    ticket: String,
}

#[derive(Template)]
#[template(path = "account_recovery_codes.html")]
struct CodesPage {
    codes: Vec<String>,
    /// Whether an app was just set up with them.
    app_saved: bool,
    /// Whether an older set stopped working.
    replaced: bool,
}

/// A page that holds a secret: never kept by a cache or the browser's
/// history store.
fn secret_page(page: &impl Template, status: StatusCode) -> Result<HttpResponse, PageError> {
    let mut response = render(status, page)?;
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

fn codes_page(
    codes: &[ShownCode],
    app_saved: bool,
    replaced: bool,
) -> Result<HttpResponse, PageError> {
    let page = CodesPage {
        codes: codes.iter().map(|code| code.expose().to_owned()).collect(),
        app_saved,
        replaced,
    };
    secret_page(&page, StatusCode::OK)
}

fn setup_page(
    ctx: &Context,
    auth: &SessionAuth,
    setup: AppSetup,
    ticket: String,
    message: Option<&'static str>,
) -> Result<HttpResponse, PageError> {
    let page = SetupPage {
        csrf_token: ctx.csrf_token(&auth.token),
        message,
        replacing: auth.active.user.totp.is_some(),
        svg: setup.svg,
        uri: setup.uri,
        key: setup.key,
        ticket,
    };
    let status = match message {
        Some(_) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    };
    secret_page(&page, status)
}

/// What to do when a form of these sections is refused.
const ADVICE: &str = "Go back to your account page, reload it and try again.";

/// A form whose only field is the proof: a code from the app or a
/// recovery code, empty when a recent sign-in stands for it.
#[derive(Deserialize)]
pub struct ProofForm {
    #[serde(default)]
    code: Option<SecretString>,
}

impl PageForm for ProofForm {
    const ADVICE: &'static str = ADVICE;
}

impl ProofForm {
    /// The code, unless the field was left empty.
    fn code(&self) -> Option<&SecretString> {
        self.code
            .as_ref()
            .filter(|code| !code.expose().trim().is_empty())
    }
}

/// `POST /account/authenticator/setup`: a new app's QR code and key, for a
/// first app after a recent sign-in, or a replacement after a code.
pub async fn post_app_setup(
    engine: web::Data<Engine>,
    auth: SessionAuth,
    CsrfForm(form): CsrfForm<ProofForm>,
    ip: ClientIp,
) -> Result<HttpResponse, PageError> {
    let issuer = app_issuer(&engine.ctx.settings);
    let new_app = {
        let engine = engine.clone();
        let user = auth.active.user.clone();
        let session = auth.active.session.clone();
        blocking(move || {
            let request = SecondFactorRequest {
                user: &user,
                session: &session,
                code: form.code(),
                address: ip.as_deref(),
            };
            engine.accounts.start_app_setup(&request, &issuer)
        })
        .await?
        .map_err(refusal)?
    };
    setup_page(&engine.ctx, &auth, new_app.setup, new_app.ticket, None)
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    ticket: String,
    code: SecretString,
}

impl PageForm for ConfirmForm {
    const ADVICE: &'static str = ADVICE;
}

/// `POST /account/authenticator/confirm`: saves the new app once its code
/// matches; a user without recovery codes gets their set with it.
pub async fn post_app_confirm(
    engine: web::Data<Engine>,
    auth: SessionAuth,
    CsrfForm(form): CsrfForm<ConfirmForm>,
    ip: ClientIp,
) -> Result<HttpResponse, PageError> {
    let confirmed = {
        let engine = engine.clone();
        let user = auth.active.user.clone();
        let session = auth.active.session.clone();
        let ticket = form.ticket.clone();
        blocking(move || {
            engine
                .accounts
                .confirm_app(&ticket, &user, &session, &form.code, ip.as_deref())
        })
        .await?
    };
    match confirmed {
        Ok(Some(codes)) => codes_page(&codes, true, false),
        Ok(None) => Ok(Done::AppSaved.back()),
        Err(SecondFactorError::NewAppCodeWrong) => {
            let issuer = app_issuer(&engine.ctx.settings);
            let user = &auth.active.user;
            let setup = engine
                .accounts
                .app_setup_of(&form.ticket, user, &auth.active.session, &issuer)
                .map_err(refusal)?;
            let message = "That code is not right. Check that the app shows this account, and enter its current code.";
            setup_page(&engine.ctx, &auth, setup, form.ticket, Some(message))
        }
        Err(err) => Err(refusal(err)),
    }
}

/// `POST /account/authenticator/remove`: removes the app, and the recovery
/// codes with it, after a code.
pub async fn post_app_remove(
    engine: web::Data<Engine>,
    auth: SessionAuth,
    CsrfForm(form): CsrfForm<ProofForm>,
    ip: ClientIp,
) -> Result<HttpResponse, PageError> {
    blocking(move || {
        let request = SecondFactorRequest {
            user: &auth.active.user,
            session: &auth.active.session,
            code: form.code(),
            address: ip.as_deref(),
        };
        engine.accounts.remove_app(&request)
    })
    .await?
    .map_err(refusal)?;
    Ok(Done::AppRemoved.back())
}

/// `POST /account/recovery-codes`: a new set of recovery codes, shown once;
/// the old set stops working.
pub async fn post_recovery_codes(
    engine: web::Data<Engine>,
    auth: SessionAuth,
    CsrfForm(form): CsrfForm<ProofForm>,
    ip: ClientIp,
) -> Result<HttpResponse, PageError> {
    let replaced = auth.active.user.recovery_codes.is_some();
    let codes = blocking(move || {
        let request = SecondFactorRequest {
            user: &auth.active.user,
            session: &auth.active.session,
            code: form.code(),
            address: ip.as_deref(),
        };
        engine.accounts.regenerate_recovery_codes(&request)
    })
    .await?
    .map_err(refusal)?;
    codes_page(&codes, false, replaced)
}

/// The page for a refused change: what to do about it.
pub(super) fn refusal(err: SecondFactorError) -> PageError {
    let again = "Go back to your account page and try again.";
    match err {
        SecondFactorError::SignInAgain { max_age_secs } => PageError::new(
            StatusCode::FORBIDDEN,
            "Sign in again first",
            format!(
                "You signed in more than {} minutes ago. Sign in again from your account page, then do this within {} minutes.",
                max_age_secs / 60,
                max_age_secs / 60,
            ),
        ),
        SecondFactorError::CodeRequired => PageError::new(
            StatusCode::FORBIDDEN,
            "A code is needed",
            format!(
                "Enter the code your authenticator app shows, or one of your recovery codes. {again}"
            ),
        ),
        SecondFactorError::WrongCode => PageError::new(
            StatusCode::FORBIDDEN,
            "Wrong code",
            format!(
                "That is neither your authenticator app's current code nor an unused recovery code. Repeated wrong codes lock your account for a while, as at sign-in. {again}"
            ),
        ),
        SecondFactorError::ReplayedCode => PageError::new(
            StatusCode::FORBIDDEN,
            "Code already used",
            format!(
                "That code was used already. Wait for your app to show the next one, or use another recovery code. {again}"
            ),
        ),
        SecondFactorError::Locked(until) => PageError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many wrong codes",
            format!(
                "Your account is locked after too many wrong codes until {}. Try again then.",
                display_time(until)
            ),
        ),
        SecondFactorError::NoApp => PageError::new(
            StatusCode::CONFLICT,
            "No authenticator app",
            format!("Your account has no authenticator app. {again}"),
        ),
        SecondFactorError::SetupExpired => PageError::new(
            StatusCode::BAD_REQUEST,
            "Set-up expired",
            format!(
                "This set-up page is too old, or was opened in another session. Nothing was changed. {again}"
            ),
        ),
        SecondFactorError::NewAppCodeWrong => PageError::new(
            StatusCode::BAD_REQUEST,
            "Wrong code",
            format!("That code does not come from the new app. {again}"),
        ),
        SecondFactorError::Totp(TotpError::UnknownUser) => PageError::new(
            StatusCode::NOT_FOUND,
            "Account not found",
            "Your account no longer exists.",
        ),
        err @ SecondFactorError::Totp(_) => PageError::internal(err),
    }
}
