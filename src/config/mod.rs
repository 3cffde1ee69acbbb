//! Settings: built-in defaults < TOML file < `TESSERA__SECTION__KEY`
//! environment variables, loaded once with the `config` crate and validated
//! before anything binds. The only reader of config files and env vars; the
//! result is passed around as an `Arc`, never a global.
//!
//! A leaf of the module graph: plain settings and syntactic checks. The
//! checks that need the domain run in the composition root (`app`), still
//! before anything binds, and name the key the same way.

mod oauth;
mod sections;

pub use oauth::{OAuthSettings, SeedClient};
pub use sections::{
    AccountSettings, JourneyDefinition, JourneySettings, LockoutSettings, LogFormat, LogSettings,
    MailSettings, NodeDefinition, PasswordSettings, SeedUser, ServerSettings, SessionSettings,
    StorageSettings,
};

use serde::Deserialize;
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

/// A configuration error: which key, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config: {0}")]
    Load(#[from] config::ConfigError),
    /// A value that does not fit, where it was written: the file, or the
    /// environment variable.
    #[error("in {origin}: {error}")]
    In {
        origin: String,
        error: config::ConfigError,
    },
    #[error("config key `{key}`: {message}")]
    Invalid { key: String, message: String },
}

/// The `TESSERA__SECTION__KEY` variables.
fn environment() -> config::Environment {
    config::Environment::with_prefix("TESSERA").separator("__")
}

/// Says where a value that does not fit the settings was written. The
/// `config` crate merges the file and the environment before they are
/// read, so its error names a key (`for key 'server'`) but not whether a
/// typo is in the file or in a variable: each is read alone to find out.
fn locate(error: config::ConfigError, file: Option<&Path>) -> ConfigError {
    if let Some(file) = file
        && let Some(error) = read_alone(config::File::from(file).required(true))
    {
        return ConfigError::In {
            origin: format!("`{}`", file.display()),
            error,
        };
    }
    if let Some(error) = read_alone(environment()) {
        let origin = env_variable(&error).unwrap_or_else(|| "the environment".to_owned());
        return ConfigError::In { origin, error };
    }
    ConfigError::Load(error)
}

/// The error of reading `source` alone over the defaults, if any.
fn read_alone(source: impl config::Source + Send + Sync + 'static) -> Option<config::ConfigError> {
    config::Config::builder()
        .add_source(source)
        .build()
        .and_then(config::Config::try_deserialize::<Settings>)
        .err()
}

/// The `TESSERA__…` variable that sets the key an error is about.
fn env_variable(error: &config::ConfigError) -> Option<String> {
    let (key, inner) = match error {
        config::ConfigError::At { key, error, .. } => (key.clone(), error.to_string()),
        config::ConfigError::Type { key, .. } => (key.clone(), String::new()),
        other => (None, other.to_string()),
    };
    // serde's wording: "unknown field `bnd`, expected one of …"
    let unknown = inner
        .split_once("unknown field `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(field, _)| field);
    let path = match (key, unknown) {
        (Some(key), Some(field)) => format!("{key}.{field}"),
        (Some(key), None) => key,
        (None, Some(field)) => field.to_owned(),
        (None, None) => return None,
    };
    std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .find(|name| {
            name.strip_prefix("TESSERA__").is_some_and(|rest| {
                rest.to_lowercase()
                    .split("__")
                    .collect::<Vec<_>>()
                    .join(".")
                    == path
            })
        })
}

/// A [`ConfigError::Invalid`] naming `key`.
pub fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
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
            .add_source(environment())
            .build()?
            .try_deserialize()
            .map_err(|err| locate(err, file))?;
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

    /// Checks every value that types alone cannot, without the domain: what
    /// only the domain can judge (journey graphs, mail, seeded users and
    /// clients) is checked at composition, by `app::check_settings`.
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
        // A connection is held for as long as these allow: an hour is
        // already far beyond any honest client.
        for (key, value, least) in [
            (
                "server.request_timeout_secs",
                self.server.request_timeout_secs,
                1,
            ),
            ("server.body_timeout_secs", self.server.body_timeout_secs, 1),
            ("server.keep_alive_secs", self.server.keep_alive_secs, 0),
        ] {
            if !(least..=MAX_CONNECTION_SECONDS).contains(&value) {
                return Err(invalid(
                    key,
                    format!("must be between {least} and {MAX_CONNECTION_SECONDS} seconds"),
                ));
            }
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
        for origin in &sessions.return_origins {
            validate_return_origin(origin)?;
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
        if self.lockout.max_registrations_per_address == 0 {
            return Err(invalid(
                "lockout.max_registrations_per_address",
                "must be at least 1",
            ));
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
    fn validate_users(&self) -> Result<(), ConfigError> {
        let mut seen = std::collections::HashSet::new();
        for (i, user) in self.users.iter().enumerate() {
            let key = |field: &str| format!("users[{i}].{field}");
            let username = crate::username::Username::parse(&user.username)
                .map_err(|err| invalid(key("username"), err.to_string()))?;
            if !seen.insert(username.normalized().to_owned()) {
                return Err(invalid(key("username"), "is declared twice"));
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
                _ => {}
            }
        }
        Ok(())
    }

    /// The store's file; none for `storage.path = ":memory:"`.
    pub fn store_file(&self) -> Option<PathBuf> {
        match self.storage.path.as_str() {
            ":memory:" => None,
            path => Some(PathBuf::from(path)),
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
        self.mail.outbox_dir.clone().or_else(|| {
            let file = self.store_file()?;
            Some(
                file.parent()
                    .map(|dir| dir.join("outbox"))
                    .unwrap_or_else(|| PathBuf::from("outbox")),
            )
        })
    }

    /// The file of the sealing key: configured, or `tessera.key` beside a
    /// file store; none for an in-memory store.
    pub fn key_file(&self) -> Option<PathBuf> {
        self.storage.key_file.clone().or_else(|| {
            let file = self.store_file()?;
            Some(
                file.parent()
                    .map(|dir| dir.join("tessera.key"))
                    .unwrap_or_else(|| PathBuf::from("tessera.key")),
            )
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
pub(crate) const MAX_SECONDS: u64 = 10 * 365 * 24 * 60 * 60;

/// The longest a connection may wait for headers, a body or a next request.
const MAX_CONNECTION_SECONDS: u64 = 60 * 60;

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

/// A `sessions.return_origins` entry: an http(s) origin and nothing more,
/// so that what is allowed is exactly what the entry reads as.
fn validate_return_origin(origin: &str) -> Result<(), ConfigError> {
    let key = "sessions.return_origins";
    let url = url::Url::parse(origin)
        .map_err(|err| invalid(key, format!("`{origin}` is not a URL: {err}")))?;
    let bare = url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if !matches!(url.scheme(), "http" | "https") || !bare {
        return Err(invalid(
            key,
            format!(
                "`{origin}` must be an origin such as \"https://app.example.com\" (http or https, no path)"
            ),
        ));
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
        assert_eq!(settings.store_file(), Some("tessera.redb".into()));
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
        assert!(error_of("[server]\nbody_timeout_secs = 0").contains("server.body_timeout_secs"));
        assert!(error_of("[server]\nkeep_alive_secs = 86400").contains("server.keep_alive_secs"));
        assert!(error_of("[[users]]\nusername = \"bob\"").contains("users[0].password"));
        assert!(error_of("[server]\nworkers = \"many\"").contains("workers"));
        assert!(
            error_of("[journeys]\nttl_secs = 9223372036854775807").contains("journeys.ttl_secs")
        );
    }

    #[test]
    fn return_origins_are_bare_http_origins() {
        for origin in [
            "wiki.example.com",
            "ftp://wiki.example.com",
            "https://wiki.example.com/path",
            "https://user@wiki.example.com",
            "https://wiki.example.com/?x=1",
        ] {
            let toml = format!("[sessions]\nreturn_origins = [\"{origin}\"]");
            assert!(
                error_of(&toml).contains("sessions.return_origins"),
                "{origin}"
            );
        }
        assert!(
            Settings::from_toml("[sessions]\nreturn_origins = [\"https://wiki.example.com\"]")
                .is_ok()
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
