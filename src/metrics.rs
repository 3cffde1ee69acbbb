//! What `GET /metrics` exports, in the Prometheus text format: requests and
//! their latency per route, password sign-ins by outcome, tokens issued by
//! grant type, and, read when scraped, the sessions in the store and the
//! store's size. A leaf: it knows no other module.
//!
//! The domain counts what only it knows (a lockout, the grant behind a
//! token) through [`Counter`] handles taken once at start-up, so counting
//! there is one atomic add: no lock, no allocation. The HTTP edge records
//! requests. Each server has its own [`Metrics`] (in the context), never a
//! global registry, so that servers in one process (tests) count apart.

use prometheus_client::encoding::{EncodeLabelSet, prometheus_text};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::borrow::Cow;
use std::time::Duration;

pub use prometheus_client::metrics::counter::Counter;

/// The `Content-Type` of [`Metrics::encode`]'s text (format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// The `route` label of a request that no route matched: random paths
/// must not each make a series of their own.
pub const UNMATCHED: &str = "unmatched";

/// Latency buckets in seconds: a session check takes well under a
/// millisecond, a password hash tens of milliseconds, and anything past
/// ten seconds is as bad as ten seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: Cow<'static, str>,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: Cow<'static, str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GrantLabel {
    grant_type: &'static str,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// One server's metrics and the registry that exports them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    logins: Family<OutcomeLabel, Counter>,
    tokens: Family<GrantLabel, Counter>,
    sessions: Gauge,
    /// None for a store that lives in memory.
    store_size: Option<Gauge>,
}

impl Metrics {
    /// Registers every metric; `store_on_disk` says whether the store has
    /// a file whose size to export.
    pub fn new(store_on_disk: bool) -> Self {
        let mut registry = Registry::with_prefix("tessera");
        let requests = Family::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route pattern and status code",
            requests.clone(),
        );
        let latency: LatencyFamily =
            Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS));
        registry.register_with_unit(
            "http_request_duration",
            "Time from a request's headers to its response, by method and route pattern",
            Unit::Seconds,
            latency.clone(),
        );
        let logins = Family::default();
        registry.register(
            "logins",
            "Password sign-ins by outcome: succeeded, failed, locked (the username), \
             address_locked (the client address) or disabled (the account)",
            logins.clone(),
        );
        let tokens = Family::default();
        registry.register(
            "tokens_issued",
            "Token responses of the token endpoint, by grant type",
            tokens.clone(),
        );
        let sessions = Gauge::default();
        registry.register(
            "active_sessions",
            "Sessions in the store; those ended since the last purge (sessions.purge_interval_secs) included",
            sessions.clone(),
        );
        let store_size = store_on_disk.then(|| {
            let gauge = Gauge::default();
            registry.register_with_unit(
                "store_size",
                "Size of the store file on disk",
                Unit::Bytes,
                gauge.clone(),
            );
            gauge
        });
        Self {
            registry,
            requests,
            latency,
            logins,
            tokens,
            sessions,
            store_size,
        }
    }

    /// Counts an answered request and observes its latency. `route` is the
    /// pattern of the route that matched (`/api/push/{id}`), never the
    /// path, so that the label values are bounded by the routes; `None`
    /// when none matched. Methods outside the standard ones count as
    /// `other`, for the same reason.
    pub fn record_request(
        &self,
        method: &str,
        route: Option<String>,
        status: u16,
        elapsed: Duration,
    ) {
        let method = known_method(method);
        let route = route.map_or(Cow::Borrowed(UNMATCHED), Cow::Owned);
        self.latency
            .get_or_create(&RouteLabels {
                method,
                route: route.clone(),
            })
            .observe(elapsed.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
    }

    /// The counter of password sign-ins with `outcome`, for the accounts
    /// service to keep: made at start-up, so every outcome shows from the
    /// first scrape, at zero.
    pub fn login_counter(&self, outcome: &'static str) -> Counter {
        self.logins.get_or_create(&OutcomeLabel { outcome }).clone()
    }

    /// The counter of tokens issued by `grant_type`, for the OAuth
    /// provider to keep (see [`Metrics::login_counter`]).
    pub fn token_counter(&self, grant_type: &'static str) -> Counter {
        self.tokens
            .get_or_create(&GrantLabel { grant_type })
            .clone()
    }

    /// The text of a scrape, with the values read for it: the sessions in
    /// the store and the store file's size.
    pub fn encode(
        &self,
        sessions: u64,
        store_bytes: Option<u64>,
    ) -> Result<String, std::fmt::Error> {
        self.sessions.set(saturating_i64(sessions));
        if let (Some(gauge), Some(bytes)) = (&self.store_size, store_bytes) {
            gauge.set(saturating_i64(bytes));
        }
        let mut text = String::new();
        prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// The `method` label: one of the standard methods, or `other`.
fn known_method(method: &str) -> &'static str {
    const KNOWN: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    KNOWN
        .into_iter()
        .find(|known| *known == method)
        .unwrap_or("other")
}

fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusual_methods_and_unmatched_routes_share_one_label_value() {
        let metrics = Metrics::new(false);
        for method in ["BREW", "PROPFIND"] {
            metrics.record_request(method, None, 404, Duration::from_millis(1));
        }
        let text = metrics.encode(0, None).unwrap();
        assert!(
            text.contains(
                r#"tessera_http_requests_total{method="other",route="unmatched",status="404"} 2"#
            ),
            "{text}"
        );
        assert!(
            !text.contains("BREW") && !text.contains("PROPFIND"),
            "{text}"
        );
    }

    #[test]
    fn the_store_size_is_exported_only_for_a_store_on_disk() {
        let memory = Metrics::new(false).encode(3, None).unwrap();
        assert!(!memory.contains("tessera_store_size_bytes"), "{memory}");
        assert!(memory.contains("tessera_active_sessions 3"), "{memory}");
        let file = Metrics::new(true).encode(0, Some(4096)).unwrap();
        assert!(file.contains("tessera_store_size_bytes 4096"), "{file}");
    }
}
