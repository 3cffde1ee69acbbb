//! `GET /metrics`: the Prometheus text format, labelled by route pattern,
//! for loopback clients of the main listener, or on a listener of its own.

use crate::helpers::{ALICE, BOB, TestApp, base_config, spawn_app_from, spawn_app_with};
use reqwest::StatusCode;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tessera::app::Application;
use tessera::clock::ManualClock;
use tessera::config::Settings;

const SECRET: &str = "metrics-service-secret-0123456789abcdef";

/// A service allowed `client_credentials`, signing with EdDSA (no RSA key
/// to wait for), and a lock after one failed sign-in.
fn service_config() -> String {
    format!(
        r#"
[lockout]
max_failures = 1

[oauth]
signing_alg = "EdDSA"

[[clients]]
client_id = "service"
client_secret = "{SECRET}"
grant_types = ["client_credentials"]
"#
    )
}

/// One sample of a scrape.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Reads a scrape strictly as the text format 0.0.4: every line is a
/// `# HELP`, a `# TYPE` before its family's samples, or a sample
/// `name{label="value",…} value`; anything else fails the test.
fn parse(text: &str) -> Vec<Sample> {
    let mut typed = BTreeSet::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.splitn(3, ' ');
            let (kind, name, rest) = (words.next(), words.next(), words.next());
            match (kind, name, rest) {
                (Some("HELP"), Some(name), Some(_)) if is_name(name) => {}
                (Some("TYPE"), Some(name), Some(kind)) if is_name(name) => {
                    let known = ["counter", "gauge", "histogram", "summary", "untyped"];
                    assert!(known.contains(&kind), "type of {name}: {line}");
                    typed.insert(name.to_owned());
                }
                _ => panic!("not a HELP or TYPE line: {line:?}"),
            }
            continue;
        }
        let sample = parse_sample(line);
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| sample.name.strip_suffix(suffix))
            .filter(|family| typed.contains(*family))
            .unwrap_or(&sample.name);
        assert!(typed.contains(family), "no TYPE before {line:?}");
        samples.push(sample);
    }
    samples
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn parse_sample(line: &str) -> Sample {
    let end = line.find(['{', ' ']).unwrap_or_else(|| panic!("{line:?}"));
    let name = &line[..end];
    assert!(is_name(name), "bad metric name in {line:?}");
    let mut labels = BTreeMap::new();
    let mut rest = &line[end..];
    if let Some(mut inner) = rest.strip_prefix('{') {
        loop {
            if let Some(after) = inner.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after) = inner
                .split_once("=\"")
                .unwrap_or_else(|| panic!("{line:?}"));
            assert!(is_name(key), "bad label name in {line:?}");
            let mut value = String::new();
            let mut chars = after.char_indices();
            let closed = loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, c @ ('\\' | '"'))) => value.push(c),
                        other => panic!("bad escape {other:?} in {line:?}"),
                    },
                    Some((at, '"')) => break at,
                    Some((_, c)) => value.push(c),
                    None => panic!("unclosed label value in {line:?}"),
                }
            };
            labels.insert(key.to_owned(), value);
            inner = &after[closed + 1..];
            inner = inner.strip_prefix(',').unwrap_or(inner);
        }
    }
    let value = rest
        .strip_prefix(' ')
        .and_then(|value| value.split(' ').next())
        .unwrap_or_else(|| panic!("no value in {line:?}"));
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        number => number
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}")),
    };
    Sample {
        name: name.to_owned(),
        labels,
        value,
    }
}

/// The value of the sample `name` whose labels include `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

/// Every value the label `label` takes in the scrape.
fn label_values(samples: &[Sample], label: &str) -> BTreeSet<String> {
    samples
        .iter()
        .filter_map(|s| s.labels.get(label).cloned())
        .collect()
}

/// `GET {base}/metrics`: its status and body.
async fn get_metrics(app: &TestApp, base: &str) -> (StatusCode, String) {
    let response = app
        .api
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.text().await.expect("body"))
}

/// A scrape of the main listener, parsed.
async fn scrape(app: &TestApp) -> Vec<Sample> {
    let response = app
        .api
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    parse(&response.text().await.expect("body"))
}

#[tokio::test]
async fn requests_sign_ins_and_tokens_are_counted_by_route_pattern_outcome_and_grant() {
    let app = spawn_app_with(&service_config()).await;
    for _ in 0..3 {
        let health = app.api.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);
    }
    let id = "an-id-that-must-not-become-a-label";
    let push = app
        .api
        .post(app.url(&format!("/api/push/{id}")))
        .json(&json!({"decision": "approve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), 401);
    app.login_rest(ALICE).await;
    // Wrong, then locked (after one failure).
    let wrong = json!({"input": {"username": BOB.0, "password": "wrong password"}});
    for _ in 0..2 {
        assert_eq!(app.authenticate(wrong.clone()).await.status(), 401);
    }
    let token = app
        .api
        .post(app.url("/oauth2/token"))
        .basic_auth("service", Some(SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);

    let samples = scrape(&app).await;
    let healthz = [("method", "GET"), ("route", "/healthz"), ("status", "200")];
    assert_eq!(
        value(&samples, "tessera_http_requests_total", &healthz),
        Some(3.0)
    );
    let push = [
        ("method", "POST"),
        ("route", "/api/push/{id}"),
        ("status", "401"),
    ];
    assert_eq!(
        value(&samples, "tessera_http_requests_total", &push),
        Some(1.0)
    );
    let route = [("method", "GET"), ("route", "/healthz")];
    let latency = "tessera_http_request_duration_seconds";
    assert_eq!(
        value(&samples, &format!("{latency}_count"), &route),
        Some(3.0)
    );
    let mut inf = route.to_vec();
    inf.push(("le", "+Inf"));
    assert_eq!(
        value(&samples, &format!("{latency}_bucket"), &inf),
        Some(3.0)
    );
    let token = [
        ("method", "POST"),
        ("route", "/oauth2/token"),
        ("status", "200"),
    ];
    assert_eq!(
        value(&samples, "tessera_http_requests_total", &token),
        Some(1.0)
    );
    for (outcome, count) in [
        ("succeeded", 1.0),
        ("failed", 1.0),
        ("locked", 1.0),
        ("disabled", 0.0),
    ] {
        assert_eq!(
            value(&samples, "tessera_logins_total", &[("outcome", outcome)]),
            Some(count),
            "{outcome}"
        );
    }
    for (grant, count) in [("client_credentials", 1.0), ("authorization_code", 0.0)] {
        assert_eq!(
            value(
                &samples,
                "tessera_tokens_issued_total",
                &[("grant_type", grant)]
            ),
            Some(count),
            "{grant}"
        );
    }
    let routes = label_values(&samples, "route");
    assert!(!routes.iter().any(|r| r.contains(id)), "{routes:?}");
}

#[tokio::test]
async fn a_random_path_adds_no_label_value() {
    let app = spawn_app_with("").await;
    // A first scrape, so that the next ones show `/metrics` already.
    scrape(&app).await;
    let missing = app.api.get(app.url("/nowhere-1")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let before = scrape(&app).await;
    let unmatched = [("route", "unmatched"), ("status", "404")];
    assert_eq!(
        value(&before, "tessera_http_requests_total", &unmatched),
        Some(1.0)
    );

    let missing = app
        .api
        .get(app.url("/nowhere-2/deeper"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let after = scrape(&app).await;
    assert_eq!(
        value(&after, "tessera_http_requests_total", &unmatched),
        Some(2.0)
    );
    assert_eq!(
        label_values(&after, "route"),
        label_values(&before, "route")
    );
    assert!(
        !label_values(&after, "route")
            .iter()
            .any(|r| r.contains("nowhere"))
    );
}

#[tokio::test]
async fn active_sessions_go_up_at_a_sign_in_and_down_at_a_sign_out() {
    let app = spawn_app_with("").await;
    let sessions = |samples: &[Sample]| value(samples, "tessera_active_sessions", &[]);
    assert_eq!(sessions(&scrape(&app).await), Some(0.0));
    let token = app.login_rest(ALICE).await;
    app.login_rest(BOB).await;
    assert_eq!(sessions(&scrape(&app).await), Some(2.0));
    assert_eq!(app.logout_rest(&token).await.status(), 204);
    assert_eq!(sessions(&scrape(&app).await), Some(1.0));
}

#[tokio::test]
async fn the_store_file_size_is_exported_and_none_for_memory() {
    let memory = spawn_app_with("").await;
    assert_eq!(
        value(&scrape(&memory).await, "tessera_store_size_bytes", &[]),
        None
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("tessera.redb");
    let config = base_config().replace(
        "path = \":memory:\"",
        &format!("path = {:?}", store.to_str().expect("utf-8 path")),
    );
    let app = spawn_app_from(&config).await;
    let size = value(&scrape(&app).await, "tessera_store_size_bytes", &[]);
    let on_disk = std::fs::metadata(&store).expect("store file").len();
    assert!(on_disk > 0);
    assert_eq!(size, Some(on_disk as f64));
}

#[tokio::test]
async fn metrics_turned_off_are_an_unknown_path() {
    let app = spawn_app_with("[metrics]\nenabled = false").await;
    let (status, body) = get_metrics(&app, &app.address).await;
    assert_eq!(status, 404);
    let unknown = app.api.get(app.url("/no-such-page")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(body, unknown.text().await.unwrap());
}

#[tokio::test]
async fn what_a_reverse_proxy_on_this_host_forwards_is_not_local() {
    let app = spawn_app_with("").await;
    let forwarded = app
        .api
        .get(app.url("/metrics"))
        .header("X-Forwarded-For", "203.0.113.7")
        .send()
        .await
        .unwrap();
    assert_eq!(forwarded.status(), 404);

    // Behind a proxy on 127.0.0.1 every request comes from loopback.
    let config = base_config().replace(
        "workers = 2",
        "workers = 2\ntrusted_proxies = [\"127.0.0.1\"]",
    );
    let proxied = spawn_app_from(&config).await;
    assert_eq!(get_metrics(&proxied, &proxied.address).await.0, 404);
}

#[tokio::test]
async fn metrics_bind_serves_metrics_on_its_own_listener_only() {
    let settings = Settings::from_toml(&format!(
        "[metrics]\nbind = \"127.0.0.1:0\"\n{}",
        base_config()
    ))
    .expect("valid config");
    tessera::telemetry::init(&settings.log);
    let server = Application::build_with_clock(settings, Arc::new(ManualClock::new()))
        .expect("server builds");
    let main = format!("http://127.0.0.1:{}", server.port());
    let port = server.metrics_port().expect("a metrics listener");
    assert_ne!(port, server.port());
    tokio::spawn(server.run_until_stopped());
    let client = reqwest::Client::new();
    let get = async |url: String| {
        let response = client.get(url).send().await.expect("request");
        (response.status(), response.text().await.expect("body"))
    };

    let (status, body) = get(format!("http://127.0.0.1:{port}/metrics")).await;
    assert_eq!(status, 200);
    assert!(!parse(&body).is_empty());
    let (status, _) = get(format!("http://127.0.0.1:{port}/healthz")).await;
    assert_eq!(status, 404, "the metrics listener serves nothing else");
    let (status, _) = get(format!("{main}/metrics")).await;
    assert_eq!(status, 404, "the main listener no longer serves metrics");
    let (status, _) = get(format!("{main}/healthz")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_ipv4_loopback_client_of_a_dual_stack_listener_is_loopback() {
    let config = base_config().replace("bind = \"127.0.0.1:0\"", "bind = \"[::]:0\"");
    let Ok(settings) = Settings::from_toml(&config) else {
        panic!("valid config");
    };
    if std::net::TcpListener::bind("[::]:0").is_err() {
        eprintln!("no IPv6 here: nothing to check");
        return;
    }
    tessera::telemetry::init(&settings.log);
    let server = Application::build_with_clock(settings, Arc::new(ManualClock::new()))
        .expect("server builds");
    let port = server.port();
    tokio::spawn(server.run_until_stopped());
    // The peer shows as ::ffff:127.0.0.1 on this socket.
    let response = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
}
