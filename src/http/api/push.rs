//! Push requests for native apps: the requests waiting for the signed-in
//! user's answer, and answering one. Any live session of the user may
//! answer; a request authenticated by cookie must come from tessera's own
//! origin.

use crate::context::Context;
use crate::http::error::ApiError;
use crate::http::extract::{SameOrigin, SessionAuth};
use crate::journeys::push::{self, Answered, Decision, Reply};
use crate::store::PushRequest;
use crate::telemetry::blocking;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Serialize)]
struct PushListResponse<'a> {
    requests: Vec<PushView<'a>>,
}

#[derive(Serialize)]
struct PushView<'a> {
    id: &'a str,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    /// The numbers to offer; the signing-in page shows one of them.
    choices: &'a [u8],
}

impl<'a> From<&'a PushRequest> for PushView<'a> {
    fn from(request: &'a PushRequest) -> Self {
        Self {
            id: &request.id,
            created_at: request.created_at,
            expires_at: request.expires_at,
            ip: request.ip.as_deref(),
            user_agent: request.user_agent.as_deref(),
            choices: &request.choices,
        }
    }
}

/// `GET /api/push`: the caller's pending, unexpired requests, newest first.
pub async fn get_push(
    ctx: web::Data<Context>,
    auth: SessionAuth,
) -> Result<HttpResponse, ApiError> {
    let user_id = auth.active.user.id;
    let pending = blocking(move || push::pending_for(&ctx, &user_id)).await??;
    Ok(HttpResponse::Ok().json(PushListResponse {
        requests: pending.iter().map(PushView::from).collect(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushAnswerRequest {
    decision: Decision,
    /// The number picked, with `approve`.
    #[serde(default)]
    number: Option<u8>,
}

/// `POST /api/push/{id}` with `{"decision": "approve", "number": N}` or
/// `{"decision": "deny"}`: 204; 409 `wrong_number` when the approval
/// picked another number than the signing-in page shows (the request is
/// then denied); 404 when the request is not the caller's, or no longer
/// pending.
pub async fn post_push_answer(
    ctx: web::Data<Context>,
    auth: SessionAuth,
    _: SameOrigin,
    id: web::Path<String>,
    body: web::Json<PushAnswerRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let Some(reply) = Reply::new(body.decision, body.number) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "An approval must pick a `number`: the one shown where the user is signing in.",
        ));
    };
    let user_id = auth.active.user.id;
    let request_id = id.into_inner();
    match blocking(move || push::answer(&ctx, &user_id, &request_id, reply)).await?? {
        Answered::Approved | Answered::Denied => Ok(HttpResponse::NoContent().finish()),
        Answered::WrongNumber => Err(ApiError::new(
            StatusCode::CONFLICT,
            "wrong_number",
            "This is not the number shown where the user is signing in; the sign-in request was denied.",
        )),
        Answered::NotWaiting => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "No sign-in request with this id is waiting for your answer: it was answered, has expired, or does not exist.",
        )),
    }
}
