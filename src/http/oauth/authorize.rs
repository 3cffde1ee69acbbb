//! `/oauth2/authorize` (GET and POST) and the consent form it shows. No
//! session: the browser goes through the client's sign-in journey and comes
//! back (centralized login). With a session: consent, unless implied or
//! already given, then the code goes back to the client with `state` and
//! `iss` (RFC 9207).

use crate::context::Context;
use crate::http::error::{Cause, PageError, render};
use crate::http::extract::{ClientIp, CsrfForm, MaybeSession, PageForm, SessionAuth};
use crate::http::paths;
use crate::journeys::Engine;
use crate::oauth::authorize::{AuthorizationRequest, Refusal, redirects_errors};
use crate::oauth::authorize_params::AuthorizeParams;
use crate::oauth::redirect::RedirectUri;
use crate::oauth::{Authentication, ErrorKind, OAuthError, Provider, client_metadata, scopes};
use crate::telemetry::blocking;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

/// `GET /oauth2/authorize`.
pub async fn get_authorize(
    ctx: web::Data<Context>,
    provider: web::Data<Provider>,
    journeys: web::Data<Engine>,
    session: MaybeSession,
    query: web::Query<AuthorizeParams>,
) -> Result<HttpResponse, PageError> {
    authorize(ctx, provider, journeys, session, query.into_inner()).await
}

/// `POST /oauth2/authorize` (form-encoded, RFC 6749 §3.1).
pub async fn post_authorize(
    ctx: web::Data<Context>,
    provider: web::Data<Provider>,
    journeys: web::Data<Engine>,
    session: MaybeSession,
    form: web::Form<AuthorizeParams>,
) -> Result<HttpResponse, PageError> {
    authorize(ctx, provider, journeys, session, form.into_inner()).await
}

async fn authorize(
    ctx: web::Data<Context>,
    provider: web::Data<Provider>,
    journeys: web::Data<Engine>,
    session: MaybeSession,
    params: AuthorizeParams,
) -> Result<HttpResponse, PageError> {
    let request = match validated(&provider, &journeys, &params).await? {
        Ok(request) => request,
        Err(refusal) => return refuse(&ctx, refusal),
    };
    // OpenID Connect Core §3.1.2.3: sign in again for prompt=login, a
    // max_age the session is older than, or another user than the
    // id_token_hint names; prompt=none turns each into an error instead.
    let now = ctx.now();
    let session = session
        .0
        .filter(|(_, active)| request.accepts(&active.session, now));
    let Some((token, active)) = session else {
        if request.prompt.none && !redirects_errors(&request.client) {
            return Err(invalid_link(
                "The user must sign in (prompt=none), and this client registered itself, so the error is not sent to it before the user has consented to it.",
            ));
        }
        if request.prompt.none {
            return Ok(error_back(
                &ctx,
                &request,
                ErrorKind::LoginRequired,
                "the user must sign in",
            ));
        }
        return Ok(sign_in_first(&ctx, &request, &params));
    };
    let user_id = active.user.id.clone();
    let needed = {
        let (provider, user_id, request) = (provider.clone(), user_id.clone(), request.clone());
        blocking(move || provider.scopes_to_consent(&user_id, &request)).await??
    };
    // A self-registered client's errors go to it once the user consented
    // to it (some of the scopes asked for need no consent).
    let trusted =
        redirects_errors(&request.client) || needed.len() < request.scopes.as_slice().len();
    if !needed.is_empty() && request.prompt.none && !trusted {
        return Err(invalid_link(
            "The user must consent (prompt=none), and this client registered itself, so the error is not sent to it before the user has consented to it.",
        ));
    }
    if !needed.is_empty() && request.prompt.none {
        return Ok(error_back(
            &ctx,
            &request,
            ErrorKind::ConsentRequired,
            "the user must consent",
        ));
    }
    if needed.is_empty() {
        return issue(
            &provider,
            &user_id,
            Authentication::of(&active.session),
            request,
            false,
            None,
        )
        .await;
    }
    let page = ConsentPage {
        client_name: request.client.name.clone(),
        // Checked when the client was registered; checked again because a
        // store may hold a client registered before the check existed.
        client_uri: web_uri(request.client.client_uri.as_ref()),
        logo_uri: web_uri(request.client.logo_uri.as_ref()),
        username: active.user.username.clone(),
        scopes: request
            .scopes
            .iter()
            .map(|scope| ScopeView {
                description: scopes::describe(&ctx.settings, scope),
                name: scope.clone(),
                new: needed.contains(scope),
            })
            .collect(),
        csrf_token: ctx.csrf_token(&token),
        hidden: params.echoed(),
        action: paths::OAUTH_CONSENT,
        user_code: None,
    };
    render(StatusCode::OK, &page)
}

/// A client's link or logo, if it is one the consent page may show.
pub(super) fn web_uri(uri: Option<&String>) -> Option<String> {
    uri.filter(|uri| client_metadata::is_web_uri(uri)).cloned()
}

async fn validated(
    provider: &web::Data<Provider>,
    journeys: &web::Data<Engine>,
    params: &AuthorizeParams,
) -> Result<Result<AuthorizationRequest, Refusal>, PageError> {
    let (provider, journeys, params) = (provider.clone(), journeys.clone(), params.clone());
    Ok(blocking(move || provider.validate(journeys.registry(), &params)).await?)
}

/// The page for a request that cannot be redirected back to its client.
fn invalid_link(message: &str) -> PageError {
    PageError::new(
        StatusCode::BAD_REQUEST,
        "This sign-in link is not valid",
        format!(
            "{message} Go back to the application and try again; if it keeps happening, tell its developers."
        ),
    )
}

/// The error page, or the error redirect, for a refused request.
fn refuse(ctx: &Context, refusal: Refusal) -> Result<HttpResponse, PageError> {
    match refusal {
        Refusal::Show(message) => Err(invalid_link(&message)),
        Refusal::Failed(error) => {
            let cause = std::error::Error::source(&error).map(Cause::of);
            Err(invalid_link(&error.description).caused_by(cause))
        }
        Refusal::Redirect {
            redirect_uri,
            state,
            error,
        } => Ok(back_to_client(
            ctx,
            &redirect_uri,
            state.as_deref(),
            Err(&error),
        )),
    }
}

/// A 303 to the client's redirect URI with the code or the error, `state`
/// and `iss`.
fn back_to_client(
    ctx: &Context,
    redirect_uri: &RedirectUri,
    state: Option<&str>,
    outcome: Result<&str, &OAuthError>,
) -> HttpResponse {
    let mut location = redirect_uri.url().clone();
    {
        let mut query = location.query_pairs_mut();
        match outcome {
            Ok(code) => {
                query.append_pair("code", code);
            }
            Err(error) => {
                query.append_pair("error", error.kind.code());
                query.append_pair("error_description", &error.description);
            }
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", &ctx.issuer);
    }
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_string()))
        .finish()
}

/// Sends the browser to the client's sign-in journey, and back here.
/// The coming back drops `prompt=login`, `max_age` and `id_token_hint`,
/// which the new sign-in answers (else they would send the browser round
/// again).
fn sign_in_first(
    ctx: &Context,
    request: &AuthorizationRequest,
    params: &AuthorizeParams,
) -> HttpResponse {
    let mut back = params.clone();
    back.prompt = params.prompt.as_deref().and_then(|prompt| {
        let kept: Vec<&str> = prompt
            .split(' ')
            .filter(|p| !p.is_empty() && *p != "login" && *p != "select_account")
            .collect();
        (!kept.is_empty()).then(|| kept.join(" "))
    });
    back.max_age = None;
    back.id_token_hint = None;
    let goto = format!(
        "{}{}?{}",
        ctx.issuer,
        paths::OAUTH_AUTHORIZE,
        query_of(&back)
    );
    let mut login = url::form_urlencoded::Serializer::new(String::new());
    login
        .append_pair("journey", &request.journey)
        .append_pair("goto", &goto);
    if let Some(hint) = &request.login_hint {
        login.append_pair("login_hint", hint);
    }
    let login = login.finish();
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("{}?{login}", paths::LOGIN)))
        .finish()
}

/// The request's parameters as a query string, to come back to it.
fn query_of(params: &AuthorizeParams) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in params.echoed() {
        query.append_pair(name, &value);
    }
    query.finish()
}

/// An error for the client, with `state` and `iss`.
fn error_back(
    ctx: &Context,
    request: &AuthorizationRequest,
    kind: ErrorKind,
    description: &str,
) -> HttpResponse {
    back_to_client(
        ctx,
        &request.redirect_uri,
        request.state.as_deref(),
        Err(&OAuthError::new(kind, description)),
    )
}

/// Issues the code and sends it to the client; `consented` records the
/// consent given from `address`.
async fn issue(
    provider: &web::Data<Provider>,
    user_id: &str,
    auth: Authentication,
    request: AuthorizationRequest,
    consented: bool,
    address: Option<String>,
) -> Result<HttpResponse, PageError> {
    let code = {
        let (provider, user_id, request) = (provider.clone(), user_id.to_owned(), request.clone());
        blocking(move || provider.approve(&user_id, &auth, &request, consented, address.as_deref()))
            .await??
    };
    // A pushed request works once (RFC 9126 §4): another tab used it.
    let code = code.ok_or_else(|| invalid_link("The request_uri was used already."))?;
    Ok(back_to_client(
        &provider.ctx,
        &request.redirect_uri,
        request.state.as_deref(),
        Ok(code.expose()),
    ))
}

/// The consent page, of an authorization request or (with the user code
/// to compare with the device's screen, RFC 8628 §5.4) of a device.
#[derive(Template)]
#[template(path = "consent.html")]
pub(super) struct ConsentPage {
    pub(super) client_name: String,
    pub(super) client_uri: Option<String>,
    pub(super) logo_uri: Option<String>,
    pub(super) username: String,
    pub(super) scopes: Vec<ScopeView>,
    pub(super) csrf_token: String,
    pub(super) hidden: Vec<(&'static str, String)>,
    pub(super) action: &'static str,
    pub(super) user_code: Option<String>,
}

pub(super) struct ScopeView {
    pub(super) name: String,
    pub(super) description: String,
    /// Not granted before: what this consent adds.
    pub(super) new: bool,
}

/// The consent form: the decision and the request (and the CSRF token,
/// which `CsrfForm` checks).
#[derive(Debug, Deserialize)]
pub struct ConsentForm {
    decision: Option<String>,
    #[serde(flatten)]
    params: AuthorizeParams,
}

impl PageForm for ConsentForm {
    const ADVICE: &'static str = "Go back to the application and start again.";
}

/// `POST /oauth2/consent`: `decision=allow` issues the code, `deny` sends
/// `access_denied` back. The request is checked again, as sent back.
pub async fn post_consent(
    ctx: web::Data<Context>,
    provider: web::Data<Provider>,
    journeys: web::Data<Engine>,
    auth: SessionAuth,
    CsrfForm(form): CsrfForm<ConsentForm>,
    ip: ClientIp,
) -> Result<HttpResponse, PageError> {
    let request = match validated(&provider, &journeys, &form.params).await? {
        Ok(request) => request,
        Err(refusal) => return refuse(&ctx, refusal),
    };
    match form.decision.as_deref() {
        Some("allow") => {
            let active = auth.active;
            issue(
                &provider,
                &active.user.id,
                Authentication::of(&active.session),
                request,
                true,
                ip.0,
            )
            .await
        }
        Some("deny") => {
            if let Some(pushed) = request.pushed.clone() {
                let provider = provider.clone();
                blocking(move || provider.withdraw_pushed(&pushed)).await??;
            }
            Ok(back_to_client(
                &ctx,
                &request.redirect_uri,
                request.state.as_deref(),
                Err(&OAuthError::new(
                    ErrorKind::AccessDenied,
                    "the user denied the request",
                )),
            ))
        }
        _ => Err(PageError::new(
            StatusCode::BAD_REQUEST,
            "No decision",
            "Choose Allow or Deny.",
        )),
    }
}
