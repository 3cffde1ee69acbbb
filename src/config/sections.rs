//! The sections of the configuration, each with its defaults.

use crate::secret::SecretString;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// `HOST:PORT` to listen on; port 0 picks a free port.
    pub bind: String,
    /// HTTP worker threads; 0 means one per CPU core (four on PostgreSQL,
    /// `Store::http_workers`).
    pub workers: usize,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long in-flight requests may take to finish on shutdown.
    pub shutdown_timeout_secs: u64,
    /// How long a client may take to send a request's headers; then 408.
    pub request_timeout_secs: u64,
    /// How long a client may take to send a request's body, counted from
    /// the end of its headers; then 408 and the connection closes.
    pub body_timeout_secs: u64,
    /// How long an idle connection stays open for a next request; 0 closes
    /// every connection after its response.
    pub keep_alive_secs: u64,
    /// Addresses of reverse proxies whose `X-Forwarded-For` is believed:
    /// behind them, the client address (for throttling and the sessions
    /// list) is the last one they forwarded, not their own.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSettings {
    /// Path of the redb file, or `:memory:` for a store that lives and dies
    /// with the process; `tessera.redb` unless `url` is set.
    pub path: Option<String>,
    /// `postgres://USER:PASS@HOST:PORT/DB`: the store in a PostgreSQL
    /// database that several replicas share, instead of a redb file.
    pub url: Option<SecretString>,
    /// The file holding the 256-bit key that seals secrets the server must
    /// read back (TOTP secrets). Kept apart from the store so that a copy of
    /// the store alone reveals none of them; made with owner-only
    /// permissions on first start. Defaults to `tessera.key` beside a file
    /// store; with `:memory:` and no key file, a random key lives in memory.
    /// Back it up with the store: without it, TOTP enrollments are lost.
    pub key_file: Option<PathBuf>,
    /// The same key given directly, as standard base64 of its 32 bytes
    /// (`TESSERA__STORAGE__KEY`): how replicas that share no file system
    /// share it.
    pub key: Option<SecretString>,
    /// With `url`: how long a replica uses the sessions and users it read
    /// before reading them again, and so how long a session ended on one
    /// replica stays valid on the others; 0 reads them every time.
    pub cache_secs: u64,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            path: None,
            url: None,
            key_file: None,
            key: None,
            cache_secs: 1,
        }
    }
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
    /// Origins (`https://app.example.com`) of first-party web apps that
    /// share the session cookie: `goto` may send the browser back to them
    /// after a journey, as it may to tessera and to registered clients.
    pub return_origins: Vec<String>,
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
    /// Registration attempts (submissions of a `register` step) within
    /// `window_secs` that lock out one client address for `duration_secs`.
    pub max_registrations_per_address: u32,
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
    /// random password printed once to the terminal (not in fixture mode).
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

/// `[fixture]`: endpoints for other projects' tests (`/fixture/token`,
/// `/fixture/outbox`); refused unless `server.bind` is a loopback address.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FixtureSettings {
    pub enabled: bool,
}

/// `[metrics]`: `GET /metrics` in the Prometheus text format.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// Whether `/metrics` is served at all.
    pub enabled: bool,
    /// `HOST:PORT` of a listener of its own for `/metrics`, which then
    /// answers any client there and is gone from the main listener. Unset:
    /// `/metrics` on `server.bind`, for loopback clients only.
    pub bind: Option<String>,
}

/// `[admin]`: who may administer tessera while it runs (`/admin`,
/// `/admin/api`), besides holding the admin role.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminSettings {
    /// The journey an administrator's session must come from: `login` by
    /// default; name one that asks for a second factor to require it.
    pub journey: String,
    /// The most sensitive actions (deleting a user, rotating keys) need a
    /// session that authenticated at most this long ago; so does changing
    /// one's own password on /account without typing the current one.
    pub reauth_secs: u64,
}

impl Default for AdminSettings {
    fn default() -> Self {
        Self {
            journey: "login".into(),
            reauth_secs: 5 * 60,
        }
    }
}

/// `[audit]`: how long the audit log keeps its events.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditSettings {
    /// Events older than this many days are removed by the background
    /// purge; 0 keeps them forever.
    pub retention_days: u32,
}

/// `[passkeys]`: the WebAuthn relying party. Every key defaults from the
/// issuer: its host is the relying-party id and its origin the one origin.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasskeySettings {
    /// The relying-party id passkeys are bound to: a domain that is the
    /// issuer's host or a parent of it (`example.com` for
    /// `https://id.example.com`). Changing it orphans every passkey.
    pub rp_id: Option<String>,
    /// The origins pages that use passkeys are served from; the issuer's
    /// origin when empty. Add the origins of native apps' associated
    /// domains here.
    pub origins: Vec<String>,
    /// The name authenticators show beside the passkey; the rp id when
    /// unset.
    pub rp_name: Option<String>,
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
    /// Holds the administrator role (`/admin`, `/admin/api`).
    #[serde(default)]
    pub admin: bool,
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

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            bind: None,
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
            request_timeout_secs: 5,
            body_timeout_secs: 10,
            keep_alive_secs: 5,
            trusted_proxies: Vec::new(),
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
            return_origins: Vec::new(),
            cookie_secure: None,
            idle_timeout_secs: 30 * 60,
            absolute_lifetime_secs: 12 * 60 * 60,
            purge_interval_secs: 5 * 60,
        }
    }
}

impl PasswordSettings {
    /// How many hashes may run at once: `max_concurrent`, or one per CPU
    /// core when it is 0.
    pub fn concurrent_hashes(&self) -> usize {
        match self.max_concurrent {
            0 => std::thread::available_parallelism().map_or(2, usize::from),
            n => n,
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
            max_registrations_per_address: 20,
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

impl Default for AuditSettings {
    fn default() -> Self {
        Self { retention_days: 90 }
    }
}
