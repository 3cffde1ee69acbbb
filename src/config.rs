//! Settings: built-in defaults < TOML file < `TESSERA__SECTION__KEY`
//! environment variables, loaded once with the `config` crate and validated
//! before anything binds. The only reader of config files and env vars; the
//! result is passed around as an `Arc`, never a global.

use crate::secret::SecretString;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};
use time::Duration;

/// Everything tessera can be configured with. Every key has a default, so an
/// empty file (or none) is a working development setup.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Public base URL; defaults to `http://HOST:PORT` of the bound socket.
    pub issuer: Option<String>,
    pub server: ServerSettings,
    pub storage: StorageSettings,
    pub log: LogSettings,
    pub sessions: SessionSettings,
    pub passwords: PasswordSettings,
    pub lockout: LockoutSettings,
    pub journeys: JourneySettings,
    pub accounts: AccountSettings,
    pub mail: MailSettings,
    pub oauth: OAuthSettings,
    /// Users created or updated at start-up (`[[users]]`).
    pub users: Vec<SeedUser>,
    /// OAuth clients created or updated at start-up (`[[clients]]`).
    pub clients: Vec<SeedClient>,
}

/// A JWS algorithm tessera signs tokens with.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, serde::Serialize,
)]
pub enum SigningAlg {
    RS256,
    ES256,
    EdDSA,
}

impl SigningAlg {
    /// The `alg` value.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::ES256 => "ES256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }
}

/// `[oauth]`: the authorization server.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuthSettings {
    /// Algorithm of tokens for clients that name none.
    pub signing_alg: SigningAlg,
    /// Lifetime of access tokens (a client may set its own).
    pub access_token_ttl_secs: u64,
    /// Lifetime of refresh tokens (a client may set its own).
    pub refresh_token_ttl_secs: u64,
    /// How long after a rotation the previous refresh token still works,
    /// for a client that lost the response; past it, reuse revokes the family.
    pub refresh_reuse_grace_secs: u64,
    /// Lifetime of authorization codes (at most 60).
    pub code_ttl_secs: u64,
    /// Scopes beyond the built-in ones, with the description shown on the
    /// consent page: `"notes:read" = "Read your notes"`.
    pub scopes: BTreeMap<String, String>,
}

impl Default for OAuthSettings {
    fn default() -> Self {
        Self {
            signing_alg: SigningAlg::RS256,
            access_token_ttl_secs: 600,
            refresh_token_ttl_secs: 30 * 24 * 60 * 60,
            refresh_reuse_grace_secs: 5,
            code_ttl_secs: 60,
            scopes: BTreeMap::new(),
        }
    }
}

/// A `[[clients]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedClient {
    pub client_id: String,
    /// Omitted: a public client, which must use PKCE.
    pub client_secret: Option<SecretString>,
    /// Shown on the consent page; defaults to the client_id.
    pub name: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Scopes the client may ask for.
    #[serde(default = "default_client_scopes")]
    pub scopes: Vec<String>,
    #[serde(default = "default_grant_types")]
    pub grant_types: Vec<String>,
    /// Implied consent: the client is part of the same service.
    #[serde(default)]
    pub first_party: bool,
    pub logo_uri: Option<String>,
    pub client_uri: Option<String>,
    /// PKCE for this confidential client too (always for public clients).
    #[serde(default = "default_true")]
    pub require_pkce: bool,
    /// `aud` of its access tokens; defaults to the client_id.
    #[serde(default)]
    pub audience: Vec<String>,
    pub access_token_ttl_secs: Option<u64>,
    pub refresh_token_ttl_secs: Option<u64>,
    pub signing_alg: Option<SigningAlg>,
    /// The journey its users sign in with; defaults to `login`.
    pub journey: Option<String>,
    /// Refuse OpenID Connect requests without a `nonce`.
    #[serde(default)]
    pub require_nonce: bool,
    /// Native apps signed in through the REST journey may exchange their
    /// session token for this (first-party) client's tokens (RFC 8693).
    #[serde(default)]
    pub token_exchange: bool,
    /// A resource server: may introspect any access token. Other clients
    /// learn only about their own tokens and those naming them in `aud`.
    #[serde(default)]
    pub resource_server: bool,
}

fn default_client_scopes() -> Vec<String> {
    vec!["openid".into(), "profile".into(), "email".into()]
}

fn default_grant_types() -> Vec<String> {
    vec!["authorization_code".into(), "refresh_token".into()]
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// `HOST:PORT` to listen on; port 0 picks a free port.
    pub bind: String,
    /// HTTP worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long in-flight requests may take to finish on shutdown.
    pub shutdown_timeout_secs: u64,
    /// Addresses of reverse proxies whose `X-Forwarded-For` is believed:
    /// behind them, the client address (for throttling and the sessions
    /// list) is the last one they forwarded, not their own.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSettings {
    /// Path of the redb file, or `:memory:` for a store that lives and dies
    /// with the process.
    pub path: String,
    /// The file holding the 256-bit key that seals secrets the server must
    /// read back (TOTP secrets). Kept apart from the store so that a copy of
    /// the store alone reveals none of them; made with owner-only
    /// permissions on first start. Defaults to `tessera.key` beside a file
    /// store; with `:memory:` and no key file, a random key lives in memory.
    /// Back it up with the store: without it, TOTP enrollments are lost.
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// A tracing filter: `info`, `debug`, `tessera=debug,actix_web=warn`, ...
    pub level: String,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionSettings {
    pub cookie_name: String,
    /// Sent as the cookie's `Domain` so that sibling hosts receive it.
    pub cookie_domain: Option<String>,
    /// Forces the cookie's `Secure` flag on or off; by default it is set
    /// when the issuer is https.
    pub cookie_secure: Option<bool>,
    /// A session unused for this long ends.
    pub idle_timeout_secs: u64,
    /// A session ends this long after it began, however much it is used.
    pub absolute_lifetime_secs: u64,
    /// How often expired sessions and journeys are removed from the store.
    pub purge_interval_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordSettings {
    /// argon2id memory cost in KiB (OWASP: 19456).
    pub memory_kib: u32,
    /// argon2id iterations (OWASP: 2).
    pub iterations: u32,
    /// argon2id lanes (OWASP: 1).
    pub parallelism: u32,
    /// Hashes computed at once; 0 means one per CPU core. Each in-flight
    /// hash holds `memory_kib` of RAM.
    pub max_concurrent: usize,
    /// Shortest password accepted when one is chosen (registration, reset).
    pub min_length: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LockoutSettings {
    /// Failed sign-ins within `window_secs` that lock a username.
    pub max_failures: u32,
    /// Failed sign-ins within `window_secs`, over all usernames, that lock
    /// out one client address.
    pub max_failures_per_address: u32,
    pub window_secs: u64,
    /// How long a locked username stays locked.
    pub duration_secs: u64,
}

/// `[journeys]`: the time limit, and journeys declared as
/// `[journeys.NAME]` (a config journey replaces a built-in of the same name).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct JourneySettings {
    /// How long a started journey may take before its `auth_id` expires.
    pub ttl_secs: u64,
    #[serde(flatten)]
    pub definitions: BTreeMap<String, JourneyDefinition>,
}

/// `[journeys.NAME]`: a graph of nodes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JourneyDefinition {
    /// Heading of the journey's pages.
    pub title: Option<String>,
    /// Runs on an existing session (which must be present) to add methods
    /// to it, instead of creating a new session.
    #[serde(default)]
    pub step_up: bool,
    /// The first node.
    pub start: String,
    pub nodes: BTreeMap<String, NodeDefinition>,
}

/// `[journeys.NAME.nodes.ID]`: a node, where its outcomes lead, and its
/// options.
#[derive(Debug, Clone, Deserialize)]
pub struct NodeDefinition {
    #[serde(rename = "type")]
    pub kind: String,
    /// Outcome → node id, or `success` / `failure` to end the journey.
    #[serde(default)]
    pub next: BTreeMap<String, String>,
    /// Failed attempts allowed before the node leaves by `failure`.
    pub max_attempts: Option<u32>,
    /// Options of the node's type.
    #[serde(flatten)]
    pub options: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountSettings {
    /// On a store with no users and no `[[users]]`, create `admin` with a
    /// random password printed once to the terminal.
    pub bootstrap_admin: bool,
    /// Whether people may create their own accounts (`/register`).
    pub self_registration: bool,
}

/// `[mail]`: how one-time codes reach people.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailSettings {
    /// The `From` of every message.
    pub from: String,
    /// `smtps://user:pass@host` (TLS), `smtp://user:pass@host?tls=required`
    /// (STARTTLS) or `smtp://host:port` (plain, for a local relay); unset
    /// means the local outbox.
    pub smtp_url: Option<SecretString>,
    /// Folder where the outbox writes each message as a `.eml` file.
    /// Defaults to `outbox/` beside a file store; none for `:memory:`.
    pub outbox_dir: Option<PathBuf>,
}

/// A `[[users]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    pub username: String,
    pub password: Option<SecretString>,
    /// An argon2 PHC string, for configs that must not hold the password.
    pub password_hash: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone_number: Option<String>,
    /// A postal address as one text (lines separated by `\n`).
    pub address: Option<String>,
    #[serde(default)]
    pub disabled: bool,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            from: "tessera <tessera@localhost>".into(),
            smtp_url: None,
            outbox_dir: None,
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            workers: 0,
            max_body_bytes: 64 * 1024,
            shutdown_timeout_secs: 30,
            trusted_proxies: Vec::new(),
        }
    }
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            path: "tessera.redb".into(),
            key_file: None,
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            cookie_name: "tessera_session".into(),
            cookie_domain: None,
            cookie_secure: None,
            idle_timeout_secs: 30 * 60,
            absolute_lifetime_secs: 12 * 60 * 60,
            purge_interval_secs: 5 * 60,
        }
    }
}

impl Default for PasswordSettings {
    fn default() -> Self {
        Self {
            memory_kib: argon2::Params::DEFAULT_M_COST,
            iterations: argon2::Params::DEFAULT_T_COST,
            parallelism: argon2::Params::DEFAULT_P_COST,
            max_concurrent: 0,
            min_length: 8,
        }
    }
}

impl Default for LockoutSettings {
    fn default() -> Self {
        Self {
            max_failures: 5,
            max_failures_per_address: 50,
            window_secs: 15 * 60,
            duration_secs: 15 * 60,
        }
    }
}

impl Default for JourneySettings {
    fn default() -> Self {
        Self {
            ttl_secs: 5 * 60,
            definitions: BTreeMap::new(),
        }
    }
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self {
            bootstrap_admin: true,
            self_registration: true,
        }
    }
}

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoragePath {
    Memory,
    File(PathBuf),
}

/// A configuration error: which key, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config: {0}")]
    Load(#[from] config::ConfigError),
    #[error("config key `{key}`: {message}")]
    Invalid { key: String, message: String },
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

impl Settings {
    /// Loads defaults, then `file` (which must exist when given), then
    /// `TESSERA__…` environment variables, and validates the result.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder();
        if let Some(file) = file {
            builder = builder.add_source(config::File::from(file).required(true));
        }
        let settings: Settings = builder
            .add_source(config::Environment::with_prefix("TESSERA").separator("__"))
            .build()?
            .try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Parses a TOML document (no environment), for tests and fixtures.
    pub fn from_toml(toml: &str) -> Result<Self, ConfigError> {
        let settings: Settings = config::Config::builder()
            .add_source(config::File::from_str(toml, config::FileFormat::Toml))
            .build()?
            .try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks every value that types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(issuer) = &self.issuer {
            validate_issuer(issuer)?;
        }
        let resolves = self
            .server
            .bind
            .to_socket_addrs()
            .is_ok_and(|mut addrs| addrs.next().is_some());
        if !resolves {
            return Err(invalid(
                "server.bind",
                format!(
                    "`{}` is not a HOST:PORT address (try \"127.0.0.1:8080\", or port 0 for a free port)",
                    self.server.bind
                ),
            ));
        }
        if self.server.max_body_bytes < 1024 {
            return Err(invalid("server.max_body_bytes", "must be at least 1024"));
        }
        if self.storage.path.trim().is_empty() {
            return Err(invalid(
                "storage.path",
                "must name a file, or be \":memory:\"",
            ));
        }
        if self
            .storage
            .key_file
            .as_ref()
            .is_some_and(|file| file.as_os_str().is_empty())
        {
            return Err(invalid("storage.key_file", "must name a file"));
        }
        if let Err(err) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return Err(invalid("log.level", err.to_string()));
        }
        let sessions = &self.sessions;
        if !is_cookie_name(&sessions.cookie_name) {
            return Err(invalid(
                "sessions.cookie_name",
                "must be a non-empty token of letters, digits, '-' and '_'",
            ));
        }
        for (key, value) in [
            ("sessions.idle_timeout_secs", sessions.idle_timeout_secs),
            (
                "sessions.absolute_lifetime_secs",
                sessions.absolute_lifetime_secs,
            ),
            ("sessions.purge_interval_secs", sessions.purge_interval_secs),
            ("lockout.window_secs", self.lockout.window_secs),
            ("lockout.duration_secs", self.lockout.duration_secs),
            ("journeys.ttl_secs", self.journeys.ttl_secs),
        ] {
            if value == 0 || value > MAX_SECONDS {
                return Err(invalid(
                    key,
                    "must be a positive number of seconds, at most 10 years",
                ));
            }
        }
        if sessions.absolute_lifetime_secs < sessions.idle_timeout_secs {
            return Err(invalid(
                "sessions.absolute_lifetime_secs",
                "must not be shorter than sessions.idle_timeout_secs",
            ));
        }
        if self.lockout.max_failures == 0 {
            return Err(invalid("lockout.max_failures", "must be at least 1"));
        }
        if self.lockout.max_failures_per_address == 0 {
            return Err(invalid(
                "lockout.max_failures_per_address",
                "must be at least 1",
            ));
        }
        if let Err(err) = crate::journeys::graph::all(self) {
            return Err(invalid(
                format!("journeys.{}.nodes.{}", err.journey, err.node),
                err.to_string(),
            ));
        }
        if let Err(err) = crate::mail::Mailer::from_settings(self) {
            let key = match err {
                crate::mail::MailError::Address(_) => "mail.from",
                _ => "mail.smtp_url",
            };
            return Err(invalid(key, err.to_string()));
        }
        self.validate_oauth()?;
        if self.passwords.min_length == 0 {
            return Err(invalid("passwords.min_length", "must be at least 1"));
        }
        let p = &self.passwords;
        if let Err(err) = argon2::Params::new(p.memory_kib, p.iterations, p.parallelism, None) {
            return Err(invalid(
                "passwords",
                format!("memory_kib/iterations/parallelism are not valid argon2 parameters: {err}"),
            ));
        }
        self.validate_users()
    }

    fn validate_oauth(&self) -> Result<(), ConfigError> {
        let o = &self.oauth;
        for (key, value) in [
            ("oauth.access_token_ttl_secs", o.access_token_ttl_secs),
            ("oauth.refresh_token_ttl_secs", o.refresh_token_ttl_secs),
            ("oauth.code_ttl_secs", o.code_ttl_secs),
        ] {
            if value == 0 || value > MAX_SECONDS {
                return Err(invalid(
                    key,
                    "must be a positive number of seconds, at most 10 years",
                ));
            }
        }
        if o.code_ttl_secs > 60 {
            // RFC 9700 §4.5 / issue: codes live a minute at most.
            return Err(invalid("oauth.code_ttl_secs", "must be at most 60"));
        }
        if o.refresh_reuse_grace_secs > 60 {
            return Err(invalid(
                "oauth.refresh_reuse_grace_secs",
                "must be at most 60",
            ));
        }
        for scope in o.scopes.keys() {
            if !crate::oauth::scopes::is_scope_token(scope) {
                return Err(invalid(
                    format!("oauth.scopes.{scope}"),
                    "is not a valid scope name",
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, client) in self.clients.iter().enumerate() {
            crate::oauth::clients::check_seed(self, client)
                .map_err(|(field, message)| invalid(format!("clients[{i}].{field}"), message))?;
            if !seen.insert(client.client_id.clone()) {
                return Err(invalid(
                    format!("clients[{i}].client_id"),
                    "is declared twice",
                ));
            }
        }
        Ok(())
    }

    fn validate_users(&self) -> Result<(), ConfigError> {
        let mut seen = std::collections::HashSet::new();
        for (i, user) in self.users.iter().enumerate() {
            let key = |field: &str| format!("users[{i}].{field}");
            let username = crate::accounts::Username::parse(&user.username)
                .map_err(|err| invalid(key("username"), err.to_string()))?;
            if !seen.insert(username.normalized().to_owned()) {
                return Err(invalid(key("username"), "is declared twice"));
            }
            if let Some(email) = &user.email
                && crate::mail::Address::parse(email).is_none()
            {
                return Err(invalid(
                    key("email"),
                    "is not a plain email address (name@example.com)",
                ));
            }
            match (&user.password, &user.password_hash) {
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        key("password"),
                        "give either password or password_hash, not both",
                    ));
                }
                (None, None) => {
                    return Err(invalid(
                        key("password"),
                        "missing: give password, or password_hash from `tessera hash-password`",
                    ));
                }
                (Some(password), None) if password.expose().is_empty() => {
                    return Err(invalid(key("password"), "must not be empty"));
                }
                (None, Some(hash)) if !crate::accounts::is_password_hash(hash) => {
                    return Err(invalid(
                        key("password_hash"),
                        "is not an argon2 PHC string ($argon2id$v=19$...)",
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Where the store lives.
    pub fn storage_path(&self) -> StoragePath {
        match self.storage.path.as_str() {
            ":memory:" => StoragePath::Memory,
            path => StoragePath::File(PathBuf::from(path)),
        }
    }

    /// The issuer: the configured one, or the URL of the bound socket.
    pub fn issuer_or(&self, bound: std::net::SocketAddr) -> String {
        match &self.issuer {
            Some(issuer) => issuer.trim_end_matches('/').to_owned(),
            None => format!("http://{bound}"),
        }
    }

    /// Whether cookies carry `Secure`: configured, or when the issuer is https.
    pub fn cookie_secure(&self, issuer: &str) -> bool {
        self.sessions
            .cookie_secure
            .unwrap_or_else(|| issuer.starts_with("https://"))
    }

    pub fn idle_timeout(&self) -> Duration {
        seconds(self.sessions.idle_timeout_secs)
    }

    pub fn absolute_lifetime(&self) -> Duration {
        seconds(self.sessions.absolute_lifetime_secs)
    }

    /// Where the outbox writes messages: configured, or `outbox/` beside a
    /// file store.
    pub fn outbox_dir(&self) -> Option<PathBuf> {
        self.mail
            .outbox_dir
            .clone()
            .or_else(|| match self.storage_path() {
                StoragePath::Memory => None,
                StoragePath::File(file) => Some(
                    file.parent()
                        .map(|dir| dir.join("outbox"))
                        .unwrap_or_else(|| PathBuf::from("outbox")),
                ),
            })
    }

    /// The file of the sealing key: configured, or `tessera.key` beside a
    /// file store; none for an in-memory store.
    pub fn key_file(&self) -> Option<PathBuf> {
        self.storage
            .key_file
            .clone()
            .or_else(|| match self.storage_path() {
                StoragePath::Memory => None,
                StoragePath::File(file) => Some(
                    file.parent()
                        .map(|dir| dir.join("tessera.key"))
                        .unwrap_or_else(|| PathBuf::from("tessera.key")),
                ),
            })
    }

    /// The longest any access token lives (global or per client): retired
    /// signing keys stay published this long.
    pub fn longest_access_token(&self) -> Duration {
        let longest = self
            .clients
            .iter()
            .filter_map(|c| c.access_token_ttl_secs)
            .chain([self.oauth.access_token_ttl_secs])
            .max()
            .unwrap_or(self.oauth.access_token_ttl_secs);
        seconds(longest)
    }

    pub fn journey_ttl(&self) -> Duration {
        seconds(self.journeys.ttl_secs)
    }
}

/// The longest duration accepted for any `*_secs` key: 10 years. Larger
/// values would overflow date arithmetic.
const MAX_SECONDS: u64 = 10 * 365 * 24 * 60 * 60;

/// Seconds to a `Duration`; `validate` has capped them at [`MAX_SECONDS`].
pub fn seconds(secs: u64) -> Duration {
    Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX))
}

fn validate_issuer(issuer: &str) -> Result<(), ConfigError> {
    let url = url::Url::parse(issuer)
        .map_err(|err| invalid("issuer", format!("`{issuer}` is not a URL: {err}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("issuer", "must be an http or https URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        // RFC 8414 §2: the issuer has no query or fragment component.
        return Err(invalid("issuer", "must not have a query or fragment"));
    }
    Ok(())
}

fn is_cookie_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(toml: &str) -> String {
        match Settings::from_toml(toml) {
            Ok(_) => panic!("expected {toml:?} to be rejected"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn an_empty_config_is_the_development_setup() {
        let settings = Settings::from_toml("").expect("defaults are valid");
        assert_eq!(settings.server.bind, "127.0.0.1:8080");
        assert_eq!(
            settings.storage_path(),
            StoragePath::File("tessera.redb".into())
        );
        assert_eq!(settings.passwords.memory_kib, 19456);
        assert_eq!(settings.passwords.iterations, 2);
        assert_eq!(settings.passwords.parallelism, 1);
    }

    #[test]
    fn invalid_values_name_their_key() {
        assert!(error_of("[server]\nbind = \"nowhere\"").contains("server.bind"));
        assert!(error_of("issuer = \"ftp://x\"").contains("`issuer`"));
        assert!(
            error_of("[sessions]\nidle_timeout_secs = 0").contains("sessions.idle_timeout_secs")
        );
        assert!(error_of("[passwords]\nmemory_kib = 1").contains("passwords"));
        assert!(error_of("[[users]]\nusername = \"bob\"").contains("users[0].password"));
        assert!(error_of("[server]\nworkers = \"many\"").contains("workers"));
        assert!(
            error_of("[journeys]\nttl_secs = 9223372036854775807").contains("journeys.ttl_secs")
        );
    }

    #[test]
    fn the_key_file_sits_beside_a_file_store_unless_configured() {
        let beside =
            Settings::from_toml("[storage]\npath = \"/var/lib/tessera/id.redb\"").expect("valid");
        assert_eq!(
            beside.key_file(),
            Some(PathBuf::from("/var/lib/tessera/tessera.key"))
        );
        let memory = Settings::from_toml("[storage]\npath = \":memory:\"").expect("valid");
        assert_eq!(memory.key_file(), None);
        let configured =
            Settings::from_toml("[storage]\npath = \":memory:\"\nkey_file = \"/etc/t.key\"")
                .expect("valid");
        assert_eq!(configured.key_file(), Some(PathBuf::from("/etc/t.key")));
        assert!(error_of("[storage]\nkey_file = \"\"").contains("storage.key_file"));
    }

    #[test]
    fn unknown_keys_are_rejected_rather_than_ignored() {
        assert!(error_of("[server]\nbnd = \"127.0.0.1:1\"").contains("bnd"));
    }

    #[test]
    fn the_issuer_defaults_to_the_bound_address() {
        let settings = Settings::default();
        let bound = "127.0.0.1:4321".parse().expect("address");
        assert_eq!(settings.issuer_or(bound), "http://127.0.0.1:4321");
        assert!(!settings.cookie_secure("http://127.0.0.1:4321"));
        assert!(settings.cookie_secure("https://id.example.com"));
    }
}
