//! Request middleware: a request id and one log line per request, and the
//! security headers every response carries.

use crate::context::Context;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next};
use std::time::Instant;
use tracing::Instrument;

/// Gives each request an id (echoed as `X-Request-Id`) and a span that the
/// handler's logs carry, then logs one line: method, path (never the query,
/// which may hold codes or tokens), status and duration.
pub async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = crate::secret::random_id()[..12].to_owned();
    let span = tracing::info_span!("request", id = %id);
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let started = Instant::now();
    let mut res = next.call(req).instrument(span.clone()).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    span.in_scope(|| {
        tracing::info!(
            method,
            path,
            status = res.status().as_u16(),
            elapsed_ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0,
            "request"
        );
    });
    Ok(res)
}

/// Headers for every response; handlers may override them (the stylesheet
/// sets its own Cache-Control). HSTS only when the issuer is https.
pub fn security_headers(ctx: &Context) -> DefaultHeaders {
    let headers = if ctx.issuer.starts_with("https://") {
        DefaultHeaders::new().add(("Strict-Transport-Security", "max-age=31536000"))
    } else {
        DefaultHeaders::new()
    };
    headers
        // Pages and API answers carry personal data and tokens.
        .add(("Cache-Control", "no-store"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
        .add((
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' https: data:; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ))
}
