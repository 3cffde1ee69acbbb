//! Request middleware: a request id and one log line per request, request
//! metrics, the security headers every response carries, a deadline for
//! request bodies, and the count of requests in flight that shutdown waits
//! for.

use crate::context::Context;
use crate::http::{
    self,
    error::{ApiError, Cause, PageError},
};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::rt::time::{Sleep, sleep};
use actix_web::web::{Bytes, Data};
use actix_web::{HttpMessage, ResponseError};
use futures_core::Stream;
use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Gives each request an id (echoed as `X-Request-Id`) and a span that the
/// handler's logs carry, then logs one line: method, path (never the query,
/// which may hold codes or tokens), status and duration, and, when the
/// error mapping recorded one, the internal [`Cause`] of a failure (at
/// error level): the one place a server-side failure is logged.
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
    let status = res.status().as_u16();
    let elapsed_ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
    let cause = res.response().extensions().get::<Cause>().cloned();
    span.in_scope(|| match cause {
        Some(Cause(cause)) => {
            tracing::error!(method, path, status, elapsed_ms, cause, "request")
        }
        None => tracing::info!(method, path, status, elapsed_ms, "request"),
    });
    Ok(res)
}

/// Counts each request and its latency for `GET /metrics`, labelled with
/// the method, the status and the pattern of the route that matched, never
/// the path: random paths and ids in paths would each make a series.
pub async fn record_metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let res = next.call(req).await?;
    let req = res.request();
    if let Some(ctx) = req.app_data::<Data<Context>>() {
        ctx.metrics.record_request(
            req.method().as_str(),
            req.match_pattern(),
            res.status().as_u16(),
            started.elapsed(),
        );
    }
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

/// Gives a request's body `server.body_timeout_secs` to arrive, counted from
/// the end of its headers, and answers 408 when it does not. actix cuts off
/// slow headers (`server.request_timeout_secs`) but waits for a body for
/// ever: a client that announced 100 bytes and sent two held a connection
/// and a handler. After the 408 the connection closes, as actix closes any
/// connection whose body was not read to the end.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(limit) = req
        .app_data::<Data<Context>>()
        .map(|ctx| Duration::from_secs(ctx.settings.server.body_timeout_secs))
    else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let inner = req.take_payload();
    if matches!(inner, Payload::None) {
        // No body: no timer to set (taking the payload left it `None`).
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let expired = Rc::new(Cell::new(false));
    let body = DeadlineBody {
        inner,
        deadline: Box::pin(sleep(limit)),
        expired: expired.clone(),
    };
    req.set_payload(Payload::from(
        Box::pin(body) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>
    ));
    let res = next.call(req).await?;
    if !expired.get() {
        return Ok(res.map_into_left_body());
    }
    let message = format!(
        "The request body did not arrive within {} s.",
        limit.as_secs()
    );
    let machine = http::is_api(res.request()) || http::is_oauth_api(res.request());
    let answer = if machine {
        ApiError::new(StatusCode::REQUEST_TIMEOUT, "request_timeout", message).error_response()
    } else {
        PageError::new(
            StatusCode::REQUEST_TIMEOUT,
            "The request took too long",
            message,
        )
        .error_response()
    };
    Ok(res.into_response(answer).map_into_right_body())
}

/// A request body that fails with a time-out once its deadline passes.
struct DeadlineBody {
    inner: Payload,
    deadline: Pin<Box<Sleep>>,
    /// Tells [`body_deadline`] that the handler's answer is to be replaced.
    expired: Rc<Cell<bool>>,
}

impl Stream for DeadlineBody {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Poll::Ready(chunk) = Pin::new(&mut this.inner).poll_next(cx) {
            return Poll::Ready(chunk);
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.expired.set(true);
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the request body did not arrive in time",
            )))));
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{App, HttpResponse, middleware::from_fn, test, web};
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    /// A log sink the test can read back.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    async fn failing() -> Result<HttpResponse, ApiError> {
        Err(ApiError::internal("disk on fire"))
    }

    #[actix_web::test]
    async fn a_failure_s_cause_is_logged_once_in_the_request_line_with_its_id() {
        let sink = Sink::default();
        let writer = sink.clone();
        let _guard = tracing::subscriber::set_default(
            tracing_subscriber::fmt()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .finish(),
        );
        let app = test::init_service(
            App::new()
                .wrap(from_fn(request_log))
                .route("/fail", web::get().to(failing)),
        )
        .await;
        let res =
            test::call_service(&app, test::TestRequest::get().uri("/fail").to_request()).await;
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let id = res
            .headers()
            .get("x-request-id")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
        assert!(
            !body.contains("disk on fire"),
            "the cause reached the client: {body}"
        );

        let logs = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains("disk on fire"))
            .collect();
        assert_eq!(lines.len(), 1, "the cause is logged exactly once: {logs}");
        assert!(lines[0].contains("ERROR"), "{}", lines[0]);
        assert!(
            lines[0].contains(&id),
            "the line carries the request id: {}",
            lines[0]
        );
        assert!(lines[0].contains("status=500"), "{}", lines[0]);
    }
}
