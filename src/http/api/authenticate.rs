//! `POST /api/authenticate?journey=NAME`: the journey engine as JSON.
//! `{}` starts a journey; `{"auth_id", "input"}` submits a step. Input sent
//! without an `auth_id` starts the journey and submits its first step at
//! once, saving a native app one round trip.

use crate::context::Context;
use crate::http::cookies;
use crate::http::error::ApiError;
use crate::http::extract::client_facts;
use crate::journeys::nodes::{Input, Prompt};
use crate::journeys::{Engine, Progress};
use crate::secret::Token;
use crate::telemetry::CpuGate;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
pub struct AuthenticateQuery {
    journey: Option<String>,
    goto: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthenticateRequest {
    auth_id: Option<String>,
    input: Option<BTreeMap<String, String>>,
}

#[derive(Serialize)]
struct StepResponse<'a> {
    auth_id: &'a str,
    journey: &'a str,
    step: &'a str,
    #[serde(flatten)]
    prompt: &'a Prompt,
    message: Option<&'a str>,
}

#[derive(Serialize)]
struct SessionResponse<'a> {
    session_token: &'a str,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: time::OffsetDateTime,
    success_url: &'a str,
}

pub async fn post_authenticate(
    req: HttpRequest,
    ctx: web::Data<Context>,
    engine: web::Data<Engine>,
    gate: web::Data<CpuGate>,
    query: web::Query<AuthenticateQuery>,
    body: web::Json<AuthenticateRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let query = query.into_inner();
    let client = client_facts(&req, &ctx);
    let progress = {
        gate.run(move || {
            let input = body.input.map(Input::new);
            let auth_id = match body.auth_id {
                Some(auth_id) => Token::from_presented(auth_id),
                None => {
                    let journey = query.journey.as_deref().unwrap_or("login");
                    let started = engine.start(journey, query.goto.as_deref(), &client)?;
                    match (started, &input) {
                        (Progress::Step(step), Some(_)) => step.auth_id,
                        (started, _) => return Ok(started),
                    }
                }
            };
            engine.advance(&auth_id, &input.unwrap_or_default(), &client)
        })
        .await??
    };
    Ok(match progress {
        Progress::Step(step) => HttpResponse::Ok().json(StepResponse {
            auth_id: step.auth_id.expose(),
            journey: &step.journey,
            step: step.step,
            prompt: &step.prompt,
            message: step.message.as_deref(),
        }),
        Progress::Done(finished) => HttpResponse::Ok()
            .cookie(cookies::session(
                &ctx,
                &finished.token,
                finished.session.absolute_expires_at,
            ))
            .json(SessionResponse {
                session_token: finished.token.expose(),
                expires_at: finished.expires_at,
                success_url: &finished.success_url,
            }),
    })
}
