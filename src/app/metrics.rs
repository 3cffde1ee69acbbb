//! The listener of its own that `metrics.bind` gives `/metrics`: one
//! worker, no other route.

use super::StartError;
use crate::config::Settings;
use crate::context::Context;
use crate::http;
use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware as actix_middleware, web};
use std::net::{SocketAddr, TcpListener};

/// The socket of `metrics.bind`, bound before anything runs, so that a
/// taken port stops the start; none when `/metrics` is on the main
/// listener or off.
pub(super) fn bind(settings: &Settings) -> Result<Option<(TcpListener, SocketAddr)>, StartError> {
    let metrics = &settings.metrics;
    let Some(bind) = metrics.bind.as_ref().filter(|_| metrics.enabled) else {
        return Ok(None);
    };
    let failed = |source| StartError::Bind {
        bind: format!("{bind} (metrics.bind)"),
        source,
    };
    let listener = TcpListener::bind(bind).map_err(failed)?;
    let address = listener.local_addr().map_err(failed)?;
    Ok(Some((listener, address)))
}

/// Serves `/metrics` on `listener`, bound to `address`.
pub(super) fn serve(
    listener: TcpListener,
    address: SocketAddr,
    ctx: web::Data<Context>,
) -> Result<Server, StartError> {
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_middleware::from_fn(http::middleware::request_log))
            .app_data(ctx.clone())
            .configure(http::metrics::configure_own)
    })
    .workers(1)
    // `run_until_stopped` handles SIGTERM and SIGINT, and stops this one.
    .disable_signals()
    .listen(listener)
    .map_err(|source| StartError::Bind {
        bind: format!("{address} (metrics.bind)"),
        source,
    })?
    .run();
    Ok(server)
}
