//! `/login`: the journey engine rendered as HTML forms. The journey's
//! `auth_id` travels in an HttpOnly cookie and each form carries a CSRF
//! token derived from it, so a page from another site can neither submit a
//! step nor sign a visitor in to someone else's account.

use crate::context::Context;
use crate::http::cookies;
use crate::http::error::{PageError, render};
use crate::http::extract::client_facts;
use crate::http::paths::{self, JOURNEY_COOKIE};
use crate::journeys::nodes::{FieldKind, Input};
use crate::journeys::{self, JourneyError, Progress, Step};
use crate::secret::Token;
use crate::telemetry::{CpuGate, blocking};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use std::collections::BTreeMap;

/// `?journey=NAME&goto=URL`, kept on the form's action across steps.
#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    pub journey: Option<String>,
    pub goto: Option<String>,
}

impl LoginQuery {
    fn journey(&self) -> String {
        self.journey.clone().unwrap_or_else(|| "login".to_owned())
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
    fields: Vec<FieldView>,
    message: Option<String>,
    submit_label: &'static str,
}

struct FieldView {
    name: &'static str,
    input_type: &'static str,
    label: &'static str,
    autocomplete: &'static str,
    value: String,
    autofocus: bool,
}

/// Renders a step, with `prefill` for its non-secret fields, and keeps the
/// journey cookie on the browser.
fn step_page(
    ctx: &Context,
    status: StatusCode,
    step: &Step,
    query: &LoginQuery,
    prefill: &BTreeMap<String, String>,
) -> Result<HttpResponse, PageError> {
    let first_empty = step.fields.iter().position(|field| {
        field.kind == FieldKind::Password || prefill.get(field.name).is_none_or(String::is_empty)
    });
    let fields = step
        .fields
        .iter()
        .enumerate()
        .map(|(i, field)| FieldView {
            name: field.name,
            input_type: field.kind.input_type(),
            label: field.label,
            autocomplete: field.autocomplete,
            value: match field.kind {
                FieldKind::Password => String::new(),
                _ => prefill.get(field.name).cloned().unwrap_or_default(),
            },
            autofocus: Some(i) == first_empty,
        })
        .collect();
    let page = JourneyPage {
        title: step.title.clone(),
        action: query.action(),
        csrf_token: step.auth_id.csrf_token(),
        fields,
        message: step.message.clone(),
        submit_label: "Continue",
    };
    let mut response = render(status, &page)?;
    response
        .add_cookie(&cookies::journey(ctx, &step.auth_id))
        .map_err(|err| PageError::internal(&err))?;
    Ok(response)
}

/// Starts the journey afresh and shows its first step, with a message.
async fn restart(
    ctx: web::Data<Context>,
    query: &LoginQuery,
    status: StatusCode,
    message: Option<String>,
    prefill: &BTreeMap<String, String>,
) -> Result<HttpResponse, PageError> {
    let journey = query.journey();
    let goto = query.goto.clone();
    let started = {
        let ctx = ctx.clone();
        blocking(move || journeys::start(&ctx, &journey, goto.as_deref())).await?
    };
    match started {
        Ok(Progress::Step(mut step)) => {
            step.message = message.or(step.message);
            step_page(&ctx, status, &step, query, prefill)
        }
        Ok(Progress::Done(_)) => Err(PageError::internal(&"a journey finished before any step")),
        Err(JourneyError::UnknownJourney { name, .. }) => Err(PageError::new(
            StatusCode::NOT_FOUND,
            "Unknown sign-in journey",
            format!("There is no journey named “{name}”. Check the link you followed."),
        )),
        Err(err) => Err(PageError::internal(&err)),
    }
}

/// `GET /login`: the first step of the journey.
pub async fn get_login(
    ctx: web::Data<Context>,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, PageError> {
    restart(ctx, &query, StatusCode::OK, None, &BTreeMap::new()).await
}

/// `POST /login`: submits the step on screen.
pub async fn post_login(
    req: HttpRequest,
    ctx: web::Data<Context>,
    gate: web::Data<CpuGate>,
    query: web::Query<LoginQuery>,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    let mut values = form.into_inner();
    let csrf_token = values.remove("csrf_token").unwrap_or_default();
    let auth_id = req
        .cookie(JOURNEY_COOKIE)
        .map(|cookie| Token::from_presented(cookie.value()))
        .filter(|auth_id| auth_id.verify_csrf(&csrf_token));
    let Some(auth_id) = auth_id else {
        let message = "This form has expired or was not sent from this site. Please try again.";
        return restart(
            ctx,
            &query,
            StatusCode::FORBIDDEN,
            Some(message.into()),
            &values,
        )
        .await;
    };
    let client = client_facts(&req, &ctx);
    let input = Input::new(values.clone());
    let advanced = {
        let ctx = ctx.clone();
        let auth_id = auth_id.clone();
        gate.run(move || journeys::advance(&ctx, &auth_id, &input, &client))
            .await?
    };
    match advanced {
        Ok(Progress::Step(step)) => step_page(&ctx, StatusCode::OK, &step, &query, &values),
        Ok(Progress::Done(finished)) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, finished.success_url.as_str()))
            .cookie(cookies::session(
                &ctx,
                &finished.token,
                finished.session.absolute_expires_at,
            ))
            .cookie(cookies::clear_journey(&ctx))
            .finish()),
        Err(JourneyError::InvalidInput(message)) => {
            let current = {
                let ctx = ctx.clone();
                blocking(move || journeys::current(&ctx, &auth_id)).await?
            };
            match current {
                Ok(mut step) => {
                    step.message = Some(message);
                    step_page(&ctx, StatusCode::BAD_REQUEST, &step, &query, &values)
                }
                Err(_) => {
                    restart(ctx, &query, StatusCode::BAD_REQUEST, Some(message), &values).await
                }
            }
        }
        Err(JourneyError::Failed { message }) => {
            restart(
                ctx,
                &query,
                StatusCode::UNAUTHORIZED,
                Some(message),
                &values,
            )
            .await
        }
        Err(JourneyError::Expired) => {
            let message = "Your sign-in took too long and has expired. Please try again.";
            restart(
                ctx,
                &query,
                StatusCode::BAD_REQUEST,
                Some(message.into()),
                &values,
            )
            .await
        }
        Err(err @ JourneyError::UnknownJourney { .. }) | Err(err @ JourneyError::Store(_)) => {
            Err(PageError::internal(&err))
        }
    }
}
