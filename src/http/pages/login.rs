//! `/login` (and `/register`, `/reset-password`): the journey engine
//! rendered as HTML forms. The journey's `auth_id` travels in an HttpOnly
//! cookie and each form carries a CSRF token derived from it, so a page
//! from another site can neither submit a step nor sign a visitor in to
//! someone else's account.

use crate::context::Context;
use crate::http::cookies;
use crate::http::error::{ApiError, JourneyRecovery, PageError, render};
use crate::http::extract::{JourneyForm, client_facts, journey_cookie};
use crate::http::paths;
use crate::journeys::nodes::{Action, Display, FieldKind, Input};
use crate::journeys::{Client, Engine, Finished, Progress, Registry, Step};
use crate::telemetry::{CpuGate, blocking};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `?journey=NAME&goto=URL`, kept on the form's action across steps.
#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    pub journey: Option<String>,
    pub goto: Option<String>,
    /// OpenID Connect `login_hint`: pre-fills the username.
    pub login_hint: Option<String>,
}

impl LoginQuery {
    fn journey(&self) -> &str {
        self.journey.as_deref().unwrap_or("login")
    }

    fn action(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(journey) = &self.journey {
            query.append_pair("journey", journey);
        }
        if let Some(goto) = &self.goto {
            query.append_pair("goto", goto);
        }
        match query.finish() {
            query if query.is_empty() => paths::LOGIN.to_owned(),
            query => format!("{}?{query}", paths::LOGIN),
        }
    }
}

#[derive(Template)]
#[template(path = "journey.html")]
struct JourneyPage {
    title: String,
    action: String,
    csrf_token: String,
    display: Vec<Display>,
    fields: Vec<FieldView>,
    actions: Vec<Action>,
    message: Option<String>,
    submit_label: String,
    links: Vec<(&'static str, &'static str)>,
    auto_submit: bool,
    /// Where the page's script asks whether the answer has arrived.
    poll: Option<&'static str>,
    has_script: bool,
    /// A `webauthn` field: the passkey script runs.
    has_passkey: bool,
}

struct FieldView {
    name: &'static str,
    input_type: &'static str,
    label: String,
    link: Option<String>,
    autocomplete: &'static str,
    value: String,
    optional: bool,
    numeric: bool,
    autofocus: bool,
    /// A `webauthn` field's options, as JSON for the script.
    webauthn: Option<String>,
}

/// Renders a step, with `prefill` for its non-secret fields, and keeps the
/// journey cookie on the browser.
fn step_page(
    ctx: &Context,
    registry: &Registry,
    status: StatusCode,
    step: &Step,
    query: &LoginQuery,
    prefill: &BTreeMap<String, String>,
) -> Result<HttpResponse, PageError> {
    let prompt = &step.prompt;
    let visible = |kind: FieldKind| !matches!(kind, FieldKind::Hidden | FieldKind::Webauthn);
    let first_empty = prompt.fields.iter().position(|field| {
        visible(field.kind)
            && (!field.kind.echoes() || prefill.get(field.name).is_none_or(String::is_empty))
    });
    let fields = prompt
        .fields
        .iter()
        .enumerate()
        .map(|(i, field)| FieldView {
            name: field.name,
            input_type: field.kind.input_type(),
            label: field.label.clone(),
            link: field.link.clone(),
            autocomplete: field.autocomplete,
            value: match field.kind {
                FieldKind::Text | FieldKind::Email | FieldKind::Checkbox => {
                    prefill.get(field.name).cloned().unwrap_or_default()
                }
                _ => String::new(),
            },
            optional: field.optional,
            numeric: field.kind == FieldKind::Code,
            autofocus: Some(i) == first_empty,
            webauthn: field.options.as_ref().map(ToString::to_string),
        })
        .collect::<Vec<_>>();
    let has_passkey = fields.iter().any(|f| f.webauthn.is_some());
    let auto_submit = !fields.is_empty()
        && prompt
            .fields
            .iter()
            .all(|field| field.kind == FieldKind::Hidden);
    let page = JourneyPage {
        title: step.title.clone(),
        action: query.action(),
        csrf_token: ctx.csrf_token(&step.auth_id),
        display: prompt.display.clone(),
        has_script: prompt.poll || fields.iter().any(|f| f.input_type == "hidden"),
        has_passkey,
        poll: prompt.poll.then_some(paths::LOGIN_POLL),
        auto_submit,
        fields,
        actions: prompt.actions.clone(),
        message: step.message.clone(),
        submit_label: prompt.submit.clone().unwrap_or_else(|| "Continue".into()),
        links: links(registry, step),
    };
    let mut response = render(status, &page)?;
    response
        .add_cookie(&cookies::journey(ctx, &step.auth_id))
        .map_err(PageError::internal)?;
    Ok(response)
}

/// Ways out of the first step of sign-in: reset, or register.
fn links(registry: &Registry, step: &Step) -> Vec<(&'static str, &'static str)> {
    if step.journey != "login" || !step.first {
        return Vec::new();
    }
    let mut links = Vec::new();
    if registry.get("reset_password").is_ok() {
        links.push((paths::RESET_PASSWORD, "Forgot your password?"));
    }
    if registry.get("register").is_ok() {
        links.push((paths::REGISTER, "Create an account"));
    }
    links
}

/// Starts the journey afresh and shows its first step, with a message.
async fn restart(
    ctx: web::Data<Context>,
    engine: web::Data<Engine>,
    client: Client,
    query: &LoginQuery,
    status: StatusCode,
    message: Option<String>,
    prefill: &BTreeMap<String, String>,
) -> Result<HttpResponse, PageError> {
    let journey = query.journey().to_owned();
    let goto = query.goto.clone();
    let started = {
        let engine = engine.clone();
        blocking(move || engine.start(&journey, goto.as_deref(), &client)).await?
    };
    match started {
        Ok(Progress::Step(mut step)) => {
            step.message = message.or(step.message);
            step_page(&ctx, engine.registry(), status, &step, query, prefill)
        }
        Ok(Progress::Done(finished)) => signed_in(&ctx, &finished),
        Err(err) => match JourneyRecovery::from(err) {
            JourneyRecovery::SignInFirst => Ok(sign_in_first(query)),
            JourneyRecovery::Fail(page) => Err(page),
            // Starting afresh cannot help a journey that fails from the start.
            JourneyRecovery::Retry { status, message }
            | JourneyRecovery::Restart { status, message } => {
                Err(PageError::new(status, "Sign-in failed", message))
            }
        },
    }
}

/// Off to `/login?goto=<this journey>`: a step-up journey needs a session
/// first.
fn sign_in_first(query: &LoginQuery) -> HttpResponse {
    let goto = query.action();
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("goto", &goto)
        .finish();
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("{}?{encoded}", paths::LOGIN)))
        .finish()
}

/// The browser's session cookie, and off to where the journey leads.
fn signed_in(ctx: &Context, finished: &Finished) -> Result<HttpResponse, PageError> {
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, finished.success_url.as_str()))
        .cookie(cookies::session(
            ctx,
            &finished.token,
            finished.session.absolute_expires_at,
        ))
        .cookie(cookies::clear_journey(ctx))
        .finish())
}

/// `GET /login`: the first step of the journey (`login` by default).
pub async fn get_login(
    req: HttpRequest,
    ctx: web::Data<Context>,
    engine: web::Data<Engine>,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, PageError> {
    let client = client_facts(&req, &ctx);
    let prefill = query
        .login_hint
        .iter()
        .map(|hint| ("username".to_owned(), hint.clone()))
        .collect();
    restart(ctx, engine, client, &query, StatusCode::OK, None, &prefill).await
}

/// `GET /register`: the `register` journey.
pub async fn get_register(
    req: HttpRequest,
    ctx: web::Data<Context>,
    engine: web::Data<Engine>,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, PageError> {
    get_login(req, ctx, engine, named(query, "register")).await
}

/// `GET /reset-password`: the `reset_password` journey.
pub async fn get_reset_password(
    req: HttpRequest,
    ctx: web::Data<Context>,
    engine: web::Data<Engine>,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, PageError> {
    get_login(req, ctx, engine, named(query, "reset_password")).await
}

fn named(query: web::Query<LoginQuery>, journey: &str) -> web::Query<LoginQuery> {
    let mut query = query.into_inner();
    query.journey = Some(journey.to_owned());
    web::Query(query)
}

#[derive(Serialize)]
struct PollResponse {
    answered: bool,
}

/// `GET /login/poll`: `{"answered": bool}`, whether the step on screen has
/// its answer from elsewhere (a push approval), for the page's script to
/// submit the form. It never moves the journey on. Without a running
/// journey the answer is `true`: submitting the form then says why.
pub async fn get_login_poll(
    req: HttpRequest,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let answered = match journey_cookie(&req) {
        Some(auth_id) => blocking(move || engine.answered(&auth_id)).await??,
        None => true,
    };
    Ok(HttpResponse::Ok().json(PollResponse { answered }))
}

/// `POST /login`: submits the step on screen.
pub async fn post_login(
    req: HttpRequest,
    ctx: web::Data<Context>,
    engine: web::Data<Engine>,
    gate: web::Data<CpuGate>,
    query: web::Query<LoginQuery>,
    form: JourneyForm,
) -> Result<HttpResponse, PageError> {
    let JourneyForm { auth_id, values } = form;
    let client = client_facts(&req, &ctx);
    let Some(auth_id) = auth_id else {
        let message = "This form has expired or was not sent from this site. Please try again.";
        return restart(
            ctx,
            engine,
            client,
            &query,
            StatusCode::FORBIDDEN,
            Some(message.into()),
            &values,
        )
        .await;
    };
    let input = Input::new(values.clone());
    let advanced = {
        let engine = engine.clone();
        let auth_id = auth_id.clone();
        let client = client.clone();
        gate.run(move || engine.advance(&auth_id, &input, &client))
            .await?
    };
    let (status, message) = match advanced {
        Ok(Progress::Step(step)) => {
            return step_page(
                &ctx,
                engine.registry(),
                StatusCode::OK,
                &step,
                &query,
                &values,
            );
        }
        Ok(Progress::Done(finished)) => return signed_in(&ctx, &finished),
        Err(err) => match JourneyRecovery::from(err) {
            JourneyRecovery::Retry { status, message } => {
                let current = {
                    let engine = engine.clone();
                    blocking(move || engine.current(&auth_id)).await?
                };
                // A journey that ended meanwhile starts again.
                if let Ok(mut step) = current {
                    step.message = Some(message);
                    return step_page(&ctx, engine.registry(), status, &step, &query, &values);
                }
                (status, message)
            }
            JourneyRecovery::Restart { status, message } => (status, message),
            JourneyRecovery::SignInFirst => return Ok(sign_in_first(&query)),
            JourneyRecovery::Fail(page) => return Err(page),
        },
    };
    restart(ctx, engine, client, &query, status, Some(message), &values).await
}
