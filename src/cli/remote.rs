//! A running server's admin API, for the commands whose store file that
//! server holds: `--url` (or `TESSERA_URL`) names the server, `--token`
//! (or `TESSERA_TOKEN`) is an administrator's session token or an access
//! token granted the scope `tessera:admin`.

use super::Failure;
use crate::files::Staged;
use crate::http::paths;
use crate::secret::SecretString;
use crate::store::StoreError;
use clap::Args;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use ureq::http::{Method, Response, StatusCode};

/// The options that reach a running server.
#[derive(Debug, Args)]
pub(super) struct RemoteArgs {
    /// The running server's URL, to go through its admin API (its file is
    /// locked while it runs).
    #[arg(long, global = true, env = "TESSERA_URL", value_name = "URL")]
    url: Option<url::Url>,
    /// An administrator's session token, or an access token with the scope
    /// `tessera:admin`.
    #[arg(
        long,
        global = true,
        env = "TESSERA_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
}

/// A running server's admin API, with the caller's credentials.
pub(super) struct AdminApi {
    agent: ureq::Agent,
    base: url::Url,
    token: SecretString,
}

/// What a download brought, from the response's headers.
pub(super) struct Download {
    pub bytes: u64,
    pub headers: ureq::http::HeaderMap,
}

impl RemoteArgs {
    /// The admin API, when `--url` was given; its token is required then.
    pub(super) fn admin_api(&self) -> Result<Option<AdminApi>, Failure> {
        let Some(url) = &self.url else {
            return Ok(None);
        };
        if url.scheme() == "http" && !is_loopback(url) {
            eprintln!(
                "warning: {url} is plain http: the token, and any password, cross the \
                 network unencrypted"
            );
        }
        let Some(token) = self.token.as_deref().filter(|t| !t.trim().is_empty()) else {
            return Err(Failure::Usage(
                "--url needs --token TOKEN (or TESSERA_TOKEN): an administrator's session \
                 token, or an access token with the scope tessera:admin"
                    .into(),
            ));
        };
        let tls = crate::outbound::tls();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .build()
            .into();
        Ok(Some(AdminApi {
            agent,
            base: url.clone(),
            token: SecretString::new(token.trim()),
        }))
    }
}

impl AdminApi {
    /// `GET` of `path` under the admin API, its body written to `to` whole or not at
    /// all (see [`Staged`]); `check` vets the file before it takes its name.
    pub(super) fn download(
        &self,
        path: &str,
        to: &Path,
        overwrite: bool,
        check: impl FnOnce(&Path) -> Result<(), Failure>,
    ) -> Result<Download, Failure> {
        let mut response = self.send(Method::GET, path, &[], None)?;
        let cannot_write =
            |err: std::io::Error| Failure::Runtime(format!("cannot write {}: {err}", to.display()));
        let staged = Staged::beside(to).map_err(cannot_write)?;
        let mut file = std::fs::File::create(staged.path()).map_err(cannot_write)?;
        // Content-Length is checked by ureq: a cut connection is an error,
        // never a short file.
        let bytes = std::io::copy(&mut response.body_mut().as_reader(), &mut file)
            .map_err(|err| Failure::Runtime(format!("the download broke off: {err}")))?;
        drop(file);
        check(staged.path())?;
        staged.publish(overwrite).map_err(cannot_write)?;
        Ok(Download {
            bytes,
            headers: response.headers().clone(),
        })
    }

    /// `GET` of `path` (with `query`), its JSON answer.
    pub(super) fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, Failure> {
        json(self.send(Method::GET, path, query, None)?)
    }

    /// `POST` of `body` to `path`, its JSON answer.
    pub(super) fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T, Failure> {
        json(self.send(Method::POST, path, &[], Some(body))?)
    }

    /// `PATCH` of `body` to `path`, its JSON answer.
    pub(super) fn patch<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<T, Failure> {
        json(self.send(Method::PATCH, path, &[], Some(body))?)
    }

    /// `DELETE` of `path`.
    pub(super) fn delete(&self, path: &str) -> Result<(), Failure> {
        self.send(Method::DELETE, path, &[], None).map(drop)
    }

    /// One request; an error answer becomes a failure that shows the API's
    /// `error_description`: exit code 2 for what the caller sent (400),
    /// 1 for the rest (a refused token, a taken name, a missing user).
    fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Response<ureq::Body>, Failure> {
        let mut url = self.url(path);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(url.as_str());
        let token = self.token.expose();
        // An access token is a JWT (three dot-separated parts); a session
        // token is one opaque string.
        let request = match token.matches('.').count() {
            2 => request.header("Authorization", format!("Bearer {token}")),
            _ => request.header(paths::SESSION_HEADER, token),
        };
        let invalid = |err: ureq::http::Error| Failure::Runtime(format!("bad request: {err}"));
        let sent = match body {
            Some(body) => self.agent.run(
                request
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .map_err(invalid)?,
            ),
            None => self.agent.run(request.body(()).map_err(invalid)?),
        };
        let mut response =
            sent.map_err(|err| Failure::Runtime(format!("cannot reach {url}: {err}")))?;
        if response.status().is_success() {
            return Ok(response);
        }
        // The admin API's errors are `{"error", "error_description"}`.
        let body = response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_string()
            .unwrap_or_default();
        let described = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|error| error["error_description"].as_str().map(str::to_owned))
            .unwrap_or(body);
        let message = format!("{url} answered {}: {}", response.status(), described.trim());
        Err(match response.status() {
            StatusCode::BAD_REQUEST => Failure::Usage(message),
            _ => Failure::Runtime(message),
        })
    }

    /// `path` under the admin API of the server's URL, which may have a
    /// path of its own (a reverse proxy's prefix).
    fn url(&self, path: &str) -> url::Url {
        let mut url = self.base.clone();
        let prefix = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{prefix}{}{path}", paths::ADMIN_API_PREFIX));
        url.set_query(None);
        url
    }
}

/// The JSON body of a successful answer.
fn json<T: DeserializeOwned>(mut response: Response<ureq::Body>) -> Result<T, Failure> {
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|err| Failure::Runtime(format!("the answer broke off: {err}")))?;
    serde_json::from_str(&body)
        .map_err(|err| Failure::Runtime(format!("the server's answer is unexpected: {err}")))
}

/// `value` as one segment of a URL path: every byte but the unreserved
/// ones (RFC 3986, section 2.3) percent-encoded, so that a client_id with
/// `/` or `?` stays one segment.
pub(super) fn segment(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// Whether `url` names this machine, where plain http stays local.
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A store file held by a running server: through its admin API with
/// `--url`, when the command has an API equivalent.
pub(super) fn locked(err: StoreError, through_api: bool) -> Failure {
    match err {
        StoreError::InUse(file) if through_api => Failure::Runtime(format!(
            "the store file {} is held by a running tessera server; pass --url URL --token \
             TOKEN (or set TESSERA_URL and TESSERA_TOKEN) to do this through its admin API",
            file.display()
        )),
        other => other.into(),
    }
}

/// The refusal of `--url` for `command`, which the admin API cannot do.
pub(super) fn no_equivalent(command: &str) -> Failure {
    Failure::Usage(format!(
        "`tessera {command}` has no admin API equivalent: run it without --url \
         (TESSERA_URL), with the server stopped"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_keeps_slashes_and_queries_inside_it() {
        assert_eq!(segment("svc-1.a_b~"), "svc-1.a_b~");
        assert_eq!(segment("a/b?c d#é"), "a%2Fb%3Fc%20d%23%C3%A9");
    }
}
