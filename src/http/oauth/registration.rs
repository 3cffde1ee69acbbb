//! Dynamic client registration (RFC 7591) at `POST /oauth2/register`, and
//! each client's own registration (RFC 7592) at its
//! `registration_client_uri`: reading, replacing, deleting it with its
//! registration access token. The decisions are `oauth::registration`'s.

use super::bearer::{BearerError, header_token};
use crate::context::Context;
use crate::http::extract::ClientIp;
use crate::http::fixture::addressed_to_loopback;
use crate::http::paths;
use crate::oauth::OAuthError;
use crate::oauth::registration::{self, Metadata, Permit, Registered, RegistrationError};
use crate::telemetry::blocking;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Serialize;

/// A refusal, as RFC 7591 §3.2.2 and RFC 6750 §3 shape it.
#[derive(Debug)]
pub enum Refusal {
    Bearer(BearerError),
    Registration(&'static str, String),
    OAuth(OAuthError),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bearer(err) => err.fmt(f),
            Self::Registration(code, description) => write!(f, "{code}: {description}"),
            Self::OAuth(err) => err.fmt(f),
        }
    }
}

impl ResponseError for Refusal {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Bearer(err) => err.status_code(),
            Self::Registration(..) => StatusCode::BAD_REQUEST,
            Self::OAuth(err) => err.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Bearer(err) => err.error_response(),
            Self::Registration(code, description) => HttpResponse::BadRequest()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(ErrorBody {
                    error: code,
                    error_description: description,
                }),
            Self::OAuth(err) => err.error_response(),
        }
    }
}

impl From<RegistrationError> for Refusal {
    fn from(err: RegistrationError) -> Self {
        match err {
            RegistrationError::InvalidRedirectUri(why) => {
                Self::Registration("invalid_redirect_uri", why)
            }
            RegistrationError::InvalidMetadata(why) => {
                Self::Registration("invalid_client_metadata", why)
            }
            RegistrationError::InvalidToken(why) => Self::Bearer(BearerError::InvalidToken(why)),
            RegistrationError::Store(err) => Self::OAuth(err.into()),
        }
    }
}

impl From<crate::telemetry::BlockingError> for Refusal {
    fn from(err: crate::telemetry::BlockingError) -> Self {
        Self::OAuth(err.into())
    }
}

/// The metadata in a request body: a JSON object.
fn metadata(body: &[u8]) -> Result<Metadata, Refusal> {
    serde_json::from_slice(body).map_err(|err| {
        Refusal::Registration(
            "invalid_client_metadata",
            format!("the body must be a JSON object of client metadata (RFC 7591 §2): {err}"),
        )
    })
}

/// The registration access token of a management request.
fn registration_token(req: &HttpRequest) -> Result<crate::secret::Token, Refusal> {
    header_token(req).ok_or(Refusal::Bearer(BearerError::Missing))
}

/// A registration as answered, with its management URL; never cached.
fn answer(ctx: &Context, status: StatusCode, mut registered: Registered) -> HttpResponse {
    registered.registration_client_uri = format!(
        "{}{}/{}",
        ctx.issuer,
        paths::OAUTH_REGISTER,
        registered.client_id
    );
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(registered)
}

/// `POST /oauth2/register`: 201 with the client's registration, its
/// secret and registration access token (RFC 7591 §3.2.1).
pub async fn post_register(
    ctx: web::Data<Context>,
    req: HttpRequest,
    ip: ClientIp,
    body: web::Bytes,
) -> Result<HttpResponse, Refusal> {
    let token = header_token(&req);
    let open = ctx.settings.fixture.enabled && addressed_to_loopback(&req).is_ok();
    if token.is_none() && !open {
        return Err(Refusal::Bearer(BearerError::Missing));
    }
    let metadata = metadata(&body)?;
    let core = ctx.clone();
    let registered = blocking(move || {
        let permit = match &token {
            Some(token) => Permit::Token(token.expose()),
            None => Permit::Fixture,
        };
        registration::register(&core, permit, metadata, ip.as_deref())
    })
    .await??;
    Ok(answer(&ctx, StatusCode::CREATED, registered))
}

/// `GET /oauth2/register/{client_id}` (RFC 7592 §2.1).
pub async fn get_registration(
    ctx: web::Data<Context>,
    req: HttpRequest,
    client_id: web::Path<String>,
) -> Result<HttpResponse, Refusal> {
    let token = registration_token(&req)?;
    let core = ctx.clone();
    let registered =
        blocking(move || registration::read(&core, &client_id, token.expose())).await??;
    Ok(answer(&ctx, StatusCode::OK, registered))
}

/// `PUT /oauth2/register/{client_id}` (RFC 7592 §2.2): the whole new
/// metadata, with `client_id`.
pub async fn put_registration(
    ctx: web::Data<Context>,
    req: HttpRequest,
    ip: ClientIp,
    client_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, Refusal> {
    let token = registration_token(&req)?;
    let metadata = metadata(&body)?;
    let core = ctx.clone();
    let registered = blocking(move || {
        registration::replace(&core, &client_id, token.expose(), metadata, ip.as_deref())
    })
    .await??;
    Ok(answer(&ctx, StatusCode::OK, registered))
}

/// `DELETE /oauth2/register/{client_id}` (RFC 7592 §2.3): 204.
pub async fn delete_registration(
    ctx: web::Data<Context>,
    req: HttpRequest,
    ip: ClientIp,
    client_id: web::Path<String>,
) -> Result<HttpResponse, Refusal> {
    let token = registration_token(&req)?;
    blocking(move || registration::delete(&ctx, &client_id, token.expose(), ip.as_deref()))
        .await??;
    Ok(HttpResponse::NoContent().finish())
}
