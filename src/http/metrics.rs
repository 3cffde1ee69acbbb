//! `GET /metrics` in the Prometheus text format. On the main listener it
//! answers clients on this machine only, judged by the TCP peer's address
//! (a forwarded header, which any client can write, never grants it); to
//! anyone else it is an unknown path, the same 404, so it reveals nothing.
//! With `metrics.bind` it moves to a listener of its own, which answers
//! whoever reaches it: the operator chose that address.

use super::paths;
use crate::context::Context;
use crate::http::error::ApiError;
use crate::metrics::CONTENT_TYPE;
use crate::sessions;
use actix_web::guard::{self, GuardContext};
use actix_web::{HttpResponse, web};

/// Registers `/metrics` on the main listener, for local clients only.
pub fn configure_main(cfg: &mut web::ServiceConfig) {
    // A guard that fails makes the route not match, so a remote client
    // meets the default service exactly as for any unknown path.
    cfg.route(
        paths::METRICS,
        web::get()
            .guard(guard::fn_guard(local_client))
            .to(get_metrics),
    );
}

/// Registers `/metrics` on its own listener (`metrics.bind`).
pub fn configure_own(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::METRICS, web::get().to(get_metrics))
        .default_service(web::to(HttpResponse::NotFound));
}

/// Whether the request comes from this machine itself: a loopback TCP
/// peer that is neither a reverse proxy (one of `server.trusted_proxies`)
/// nor forwarding for anyone. A proxy on the same host connects from
/// loopback too, and what comes through it is not local. An IPv4 client
/// of a dual-stack socket shows as `::ffff:127.0.0.1`: canonical forms.
fn local_client(ctx: &GuardContext<'_>) -> bool {
    let Some(peer) = ctx.head().peer_addr.map(|peer| peer.ip().to_canonical()) else {
        return false;
    };
    let proxy = ctx.app_data::<web::Data<Context>>().is_some_and(|app| {
        let proxies = &app.settings.server.trusted_proxies;
        proxies.iter().any(|proxy| proxy.to_canonical() == peer)
    });
    let headers = ctx.head().headers();
    let forwarded = headers.contains_key("forwarded") || headers.contains_key("x-forwarded-for");
    peer.is_loopback() && !proxy && !forwarded
}

/// `GET /metrics`. On the worker, not the blocking pool: counting the
/// sessions reads one number that redb keeps, and the file size is one
/// `stat`, cheaper than the hand-off.
async fn get_metrics(ctx: web::Data<Context>) -> Result<HttpResponse, ApiError> {
    let sessions = sessions::count(&ctx)?;
    let store_bytes = ctx.store.size_on_disk()?;
    let text = ctx
        .metrics
        .encode(sessions, store_bytes)
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().content_type(CONTENT_TYPE).body(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::store::Store;
    use actix_web::http::StatusCode;
    use actix_web::{App, test};
    use std::sync::Arc;

    fn context() -> web::Data<Context> {
        let toml = "[server]\ntrusted_proxies = [\"127.0.0.9\"]\n[storage]\npath = \":memory:\"";
        let settings = Arc::new(Settings::from_toml(toml).expect("valid settings"));
        let store = Store::open(&crate::context::storage(&settings)).expect("store");
        let clock = Arc::new(crate::clock::SystemClock);
        let ctx = Context::new(settings, store, clock, "http://127.0.0.1".into());
        web::Data::new(ctx.expect("context"))
    }

    /// The answers (status and body) to `GET /metrics` from `peer` on the
    /// main listener's routes, and to an unknown path, for comparison;
    /// with `header` if given.
    async fn answers_from(peer: &str, header: Option<(&str, &str)>) -> [(StatusCode, String); 2] {
        let app = test::init_service(
            App::new()
                .app_data(context())
                .configure(configure_main)
                .default_service(web::to(super::super::not_found)),
        )
        .await;
        let answer = async |path: &str| {
            let mut request = test::TestRequest::get()
                .uri(path)
                .peer_addr(peer.parse().expect("address"));
            if let Some(header) = header {
                request = request.insert_header(header);
            }
            let request = request.to_request();
            let response = test::call_service(&app, request).await;
            let status = response.status();
            let body = test::read_body(response).await;
            (status, String::from_utf8_lossy(&body).into_owned())
        };
        [answer(paths::METRICS).await, answer("/no-such-path").await]
    }

    // Over the network the tests reach loopback only; a remote peer is
    // given here, in-process, to the same routes.
    #[actix_web::test]
    async fn a_remote_peer_meets_the_unknown_path_answer_on_the_main_listener() {
        for remote in [
            "192.0.2.10:40000",
            "[2001:db8::1]:40000",
            "[::ffff:192.0.2.10]:1",
        ] {
            let [metrics, unknown] = answers_from(remote, None).await;
            assert_eq!(metrics.0, StatusCode::NOT_FOUND, "{remote}");
            assert_eq!(metrics, unknown, "{remote}");
        }
        for local in [
            "127.0.0.1:40000",
            "127.1.2.3:1",
            "[::1]:40000",
            "[::ffff:127.0.0.1]:1",
        ] {
            let [metrics, _] = answers_from(local, None).await;
            assert_eq!(metrics.0, StatusCode::OK, "{local}");
            assert!(metrics.1.contains("tessera_active_sessions 0"), "{local}");
        }
    }

    #[actix_web::test]
    async fn what_a_local_proxy_forwards_is_not_local() {
        let forwarded = [
            ("x-forwarded-for", "127.0.0.1"),
            ("forwarded", "for=127.0.0.1"),
        ];
        for header in forwarded {
            let [metrics, unknown] = answers_from("127.0.0.1:40000", Some(header)).await;
            assert_eq!(metrics.0, StatusCode::NOT_FOUND, "{header:?}");
            assert_eq!(metrics, unknown, "{header:?}");
        }
        // 127.0.0.9 is a trusted proxy: whatever it sends came from afar.
        let [metrics, _] = answers_from("127.0.0.9:40000", None).await;
        assert_eq!(metrics.0, StatusCode::NOT_FOUND);
    }
}
