//! A running server's admin API, for the commands whose store file that
//! server holds: `--url` (or `TESSERA_URL`) names the server, `--token`
//! (or `TESSERA_TOKEN`) is an administrator's session token or an access
//! token granted the scope `tessera:admin`.

use super::Failure;
use crate::files::Staged;
use crate::http::paths;
use crate::secret::SecretString;
use clap::Args;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use ureq::tls::{RootCerts, TlsConfig, TlsProvider};

/// The options that reach a running server.
#[derive(Debug, Args)]
pub(super) struct RemoteArgs {
    /// The running server's URL, to go through its admin API (its file is
    /// locked while it runs).
    #[arg(long, env = "TESSERA_URL", value_name = "URL")]
    url: Option<url::Url>,
    /// An administrator's session token, or an access token with the scope
    /// `tessera:admin`.
    #[arg(
        long,
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
        let Some(token) = self.token.as_deref().filter(|t| !t.trim().is_empty()) else {
            return Err(Failure::Usage(
                "--url needs --token TOKEN (or TESSERA_TOKEN): an administrator's session \
                 token, or an access token with the scope tessera:admin"
                    .into(),
            ));
        };
        // The one crypto provider of the binary, never ring.
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(RootCerts::WebPki)
            .unversioned_rustls_crypto_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .build();
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
        let mut response = self.get(path)?;
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

    fn get(&self, path: &str) -> Result<ureq::http::Response<ureq::Body>, Failure> {
        let url = self.url(path);
        let request = self.agent.get(url.as_str());
        let token = self.token.expose();
        // An access token is a JWT (three dot-separated parts); a session
        // token is one opaque string.
        let request = match token.matches('.').count() {
            2 => request.header("Authorization", format!("Bearer {token}")),
            _ => request.header(paths::SESSION_HEADER, token),
        };
        let mut response = request
            .call()
            .map_err(|err| Failure::Runtime(format!("cannot reach {url}: {err}")))?;
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
        let described = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|error| error["error_description"].as_str().map(str::to_owned))
            .unwrap_or(body);
        Err(Failure::Runtime(format!(
            "{url} answered {}: {}",
            response.status(),
            described.trim()
        )))
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
