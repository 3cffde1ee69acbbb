//! RFC 8628 over HTTP: `POST /oauth2/device_authorization`, the client
//! authenticated as at the token endpoint, and the verification page
//! `/device`. The page needs a session (without one, the browser goes
//! through the sign-in journey and comes back); the user enters the code,
//! then confirms the device on the consent page, which is always shown,
//! with the code to compare: a code passed on by someone else is this
//! grant's phishing route (§5.4). The device's polling is the token
//! endpoint's.

use super::authorize::{ConsentPage, ScopeView, web_uri};
use super::client_auth::ClientAuth;
use super::token::no_store;
use crate::context::Context;
use crate::http::error::{PageError, render};
use crate::http::extract::{ClientIp, CsrfForm, PageForm, SessionAuth};
use crate::http::paths;
use crate::oauth::device::{Decision, DeviceLookup, PendingDevice};
use crate::oauth::params::{GrantType, scope_param};
use crate::oauth::{Authentication, OAuthError, Provider, grants, scopes};
use crate::telemetry::blocking;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

/// The device authorization request (RFC 8628 §3.1) besides the client's
/// credentials.
#[derive(Debug, Default, Deserialize)]
pub struct DeviceAuthorizationForm {
    scope: Option<String>,
}

/// `POST /oauth2/device_authorization`: for clients that list the device
/// code grant (`unauthorized_client` otherwise).
pub async fn post_device_authorization(
    ctx: web::Data<Context>,
    provider: web::Data<Provider>,
    ClientAuth { client, form, .. }: ClientAuth<DeviceAuthorizationForm>,
) -> Result<HttpResponse, OAuthError> {
    grants::may_use(&client, GrantType::DeviceCode)?;
    let verification_uri = format!("{}{}", ctx.issuer, paths::DEVICE);
    let scope = scope_param(form.scope.as_deref());
    let response =
        blocking(move || provider.authorize_device(&client, scope, &verification_uri)).await??;
    Ok(no_store(HttpResponse::Ok()).json(response))
}

/// `?user_code=`, from `verification_uri_complete`.
#[derive(Debug, Default, Deserialize)]
pub struct DeviceQuery {
    user_code: Option<String>,
}

/// `GET /device`: the form for the code, filled in from the query. Even a
/// complete URI only fills it in: the user confirms the code they see.
pub async fn get_device(
    ctx: web::Data<Context>,
    auth: SessionAuth,
    query: web::Query<DeviceQuery>,
) -> Result<HttpResponse, PageError> {
    let typed = query.into_inner().user_code.unwrap_or_default();
    render(StatusCode::OK, &DevicePage::form(&ctx, &auth, typed, None))
}

/// The code typed, and once the device is shown, the decision.
#[derive(Debug, Deserialize)]
pub struct DeviceForm {
    #[serde(default)]
    user_code: String,
    decision: Option<String>,
}

impl PageForm for DeviceForm {
    const ADVICE: &'static str = "Open the device page again and enter the code.";
}

/// `POST /device`: without `decision`, looks the code up and shows the
/// device for confirmation; with `decision=allow` or `deny`, records it.
/// Either way the code is looked up again, and an unknown one counts.
pub async fn post_device(
    ctx: web::Data<Context>,
    provider: web::Data<Provider>,
    auth: SessionAuth,
    CsrfForm(form): CsrfForm<DeviceForm>,
    ip: ClientIp,
) -> Result<HttpResponse, PageError> {
    let decision = match form.decision.as_deref() {
        None => None,
        Some("allow") => Some(Decision::Allow),
        Some("deny") => Some(Decision::Deny),
        Some(_) => {
            return Err(PageError::new(
                StatusCode::BAD_REQUEST,
                "No decision",
                "Choose Allow or Deny.",
            ));
        }
    };
    let looked_up = {
        let (provider, user) = (provider.clone(), auth.active.user.clone());
        let signed_in = Authentication::of(&auth.active.session);
        let typed = form.user_code.clone();
        blocking(move || match decision {
            None => provider.find_device(&user.id, &signed_in, &typed, ip.as_deref()),
            Some(decision) => {
                provider.decide_device(&user, &signed_in, &typed, decision, ip.as_deref())
            }
        })
        .await??
    };
    let refused = |status, message: String| {
        render(
            status,
            &DevicePage::form(&ctx, &auth, form.user_code.clone(), Some(message)),
        )
    };
    match looked_up {
        DeviceLookup::Found(pending) => match decision {
            None => render(StatusCode::OK, &confirmation(&ctx, &auth, &pending)),
            Some(decision) => render(StatusCode::OK, &DevicePage::done(&ctx, &auth, decision)),
        },
        DeviceLookup::Unknown => refused(
            StatusCode::BAD_REQUEST,
            "That code is not valid, or it has expired. Check the code your device shows.".into(),
        ),
        DeviceLookup::Locked(until) => {
            let wait = crate::accounts::lockout::retry_after_secs(until, ctx.now());
            let mut page = refused(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many codes were wrong. Try again in {} minutes.",
                    wait.div_ceil(60)
                ),
            )?;
            page.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(wait));
            Ok(page)
        }
        DeviceLookup::SignInWith(journey) => Ok(sign_in_with(&journey, &form.user_code)),
    }
}

/// The consent page for the device, with its code to compare.
fn confirmation(ctx: &Context, auth: &SessionAuth, pending: &PendingDevice) -> ConsentPage {
    let client = &pending.client;
    ConsentPage {
        client_name: client.name.clone(),
        client_uri: web_uri(client.client_uri.as_ref()),
        logo_uri: web_uri(client.logo_uri.as_ref()),
        username: auth.active.user.username.clone(),
        scopes: pending
            .scopes
            .iter()
            .map(|scope| ScopeView {
                description: scopes::describe(&ctx.settings, scope),
                name: scope.clone(),
                new: true,
            })
            .collect(),
        csrf_token: ctx.csrf_token(&auth.token),
        hidden: vec![("user_code", pending.user_code.display())],
        action: paths::DEVICE,
        user_code: Some(pending.user_code.display()),
    }
}

/// Off to sign in with the journey the device's client requires, and back
/// to this page with the code filled in.
fn sign_in_with(journey: &str, typed: &str) -> HttpResponse {
    let back = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("user_code", typed)
        .finish();
    let login = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("journey", journey)
        .append_pair("goto", &format!("{}?{back}", paths::DEVICE))
        .finish();
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("{}?{login}", paths::LOGIN)))
        .finish()
}

#[derive(Template)]
#[template(path = "device.html")]
struct DevicePage {
    username: String,
    csrf_token: String,
    action: &'static str,
    user_code: String,
    message: Option<String>,
    /// Set once the decision is recorded: what became of the device.
    done: Option<&'static str>,
}

impl DevicePage {
    fn form(ctx: &Context, auth: &SessionAuth, user_code: String, message: Option<String>) -> Self {
        Self {
            username: auth.active.user.username.clone(),
            csrf_token: ctx.csrf_token(&auth.token),
            action: paths::DEVICE,
            user_code,
            message,
            done: None,
        }
    }

    fn done(ctx: &Context, auth: &SessionAuth, decision: Decision) -> Self {
        Self {
            done: Some(match decision {
                Decision::Allow => "The device is signed in.",
                Decision::Deny => "The device was refused: it is not signed in.",
            }),
            ..Self::form(ctx, auth, String::new(), None)
        }
    }
}
