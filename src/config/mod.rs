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
mod validate;

pub use oauth::{OAuthSettings, SeedClient};
pub use sections::{
    AccountSettings, AdminSettings, AuditSettings, FixtureSettings, JourneyDefinition,
    JourneySettings, LockoutSettings, LogFormat, LogSettings, MailSettings, MetricsSettings,
    NodeDefinition, PasskeySettings, PasswordSettings, SeedUser, ServerSettings, SessionSettings,
    StorageSettings,
};
pub(crate) use validate::MAX_SECONDS;

use serde::Deserialize;
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
    pub fixture: FixtureSettings,
    pub metrics: MetricsSettings,
    pub admin: AdminSettings,
    pub audit: AuditSettings,
    pub passkeys: PasskeySettings,
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

/// The configuration `sources` make. In fixture mode on an in-memory
/// store, password hashing defaults to 64 KiB and one pass, below any value
/// the sources set: tests want sign-ins in a fraction of a millisecond, not
/// brute-force resistance, and seeded users are hashed at start-up (1 MiB
/// costs ~2 ms a user here, a start-up budget of its own). Hashes written
/// to a file outlive the test, so they keep the default cost.
fn build(
    sources: impl Fn() -> config::ConfigBuilder<config::builder::DefaultState>,
) -> Result<config::Config, config::ConfigError> {
    let config = sources().build()?;
    let in_memory = config.get_string("storage.path").ok().as_deref() == Some(":memory:");
    if !(in_memory && config.get_bool("fixture.enabled").unwrap_or(false)) {
        return Ok(config);
    }
    sources()
        .set_default("passwords.memory_kib", FIXTURE_MEMORY_KIB)?
        .set_default("passwords.iterations", 1)?
        .build()
}

/// `storage.path` when neither it nor `storage.url` is set.
const DEFAULT_STORE_FILE: &str = "tessera.redb";

/// `passwords.memory_kib` in fixture mode, unless set.
const FIXTURE_MEMORY_KIB: u32 = 64;

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
        let settings: Settings = build(|| {
            let mut builder = config::Config::builder();
            if let Some(file) = file {
                builder = builder.add_source(config::File::from(file).required(true));
            }
            builder.add_source(environment())
        })?
        .try_deserialize()
        .map_err(|err| locate(err, file))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Parses a TOML document (no environment), for tests and fixtures.
    pub fn from_toml(toml: &str) -> Result<Self, ConfigError> {
        let settings: Settings = build(|| {
            config::Config::builder()
                .add_source(config::File::from_str(toml, config::FileFormat::Toml))
        })?
        .try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    /// The store's redb file: `storage.path`, `tessera.redb` by default;
    /// none for `":memory:"`, or for a store in PostgreSQL (`storage.url`).
    pub fn store_file(&self) -> Option<PathBuf> {
        if self.storage.url.is_some() {
            return None;
        }
        match self.storage.path.as_deref().unwrap_or(DEFAULT_STORE_FILE) {
            ":memory:" => None,
            path => Some(PathBuf::from(path)),
        }
    }

    /// The sealing key given as `storage.key` (`TESSERA__STORAGE__KEY`),
    /// decoded; `validate` has checked it.
    pub fn sealing_key(&self) -> Option<[u8; 32]> {
        let key = self.storage.key.as_ref()?;
        validate::decode_key(key.expose())
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

/// For `#[serde(default, deserialize_with = "present")]` on an
/// `Option<Option<T>>`: a field given (`null` included, as `Some(None)`),
/// told apart from one left out (`None`), as a partial update needs.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// Seconds to a `Duration`; `validate` has capped them at [`MAX_SECONDS`].
pub fn seconds(secs: u64) -> Duration {
    Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message with which `toml` is refused.
    pub(super) fn error_of(toml: &str) -> String {
        match Settings::from_toml(toml) {
            Ok(_) => panic!("expected {toml:?} to be rejected"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn fixture_mode_in_memory_lowers_the_password_defaults_but_not_what_is_set() {
        const FIXTURE: &str = "[fixture]\nenabled = true\n[storage]\npath = \":memory:\"\n";
        let fixture = Settings::from_toml(FIXTURE).expect("valid");
        assert_eq!(
            (fixture.passwords.memory_kib, fixture.passwords.iterations),
            (FIXTURE_MEMORY_KIB, 1)
        );
        let set =
            Settings::from_toml(&format!("{FIXTURE}[passwords]\niterations = 3")).expect("valid");
        assert_eq!(
            (set.passwords.memory_kib, set.passwords.iterations),
            (FIXTURE_MEMORY_KIB, 3)
        );
        let production = Settings::from_toml("").expect("valid");
        assert_eq!(
            production.passwords.memory_kib,
            argon2::Params::DEFAULT_M_COST
        );
        // Hashes in a file outlive the test that wrote them.
        let on_file = Settings::from_toml("[fixture]\nenabled = true").expect("valid");
        assert_eq!(
            (on_file.passwords.memory_kib, on_file.passwords.iterations),
            (
                argon2::Params::DEFAULT_M_COST,
                argon2::Params::DEFAULT_T_COST
            )
        );
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
    fn a_store_is_a_file_or_a_database_with_a_shared_key_never_both() {
        const URL: &str = "url = \"postgres://tessera:hunter2@db:5432/id\"";
        const KEY: &str = "key = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"";
        let database = Settings::from_toml(&format!("[storage]\n{URL}\n{KEY}")).expect("valid");
        assert_eq!(database.store_file(), None);
        assert_eq!(database.key_file(), None);
        let key: Vec<u8> = (0..32).collect();
        assert_eq!(database.sealing_key().map(Vec::from), Some(key));

        let both = error_of(&format!("[storage]\npath = \"t.redb\"\n{URL}\n{KEY}"));
        assert!(
            both.contains("storage.path") && both.contains("storage.url"),
            "{both}"
        );
        let keyless = error_of(&format!("[storage]\n{URL}"));
        assert!(keyless.contains("TESSERA__STORAGE__KEY"), "{keyless}");
        let short = error_of("[storage]\nkey = \"AAEC\"");
        assert!(
            short.contains("storage.key") && !short.contains("AAEC"),
            "{short}"
        );
        let twice = error_of(&format!("[storage]\n{KEY}\nkey_file = \"t.key\""));
        assert!(twice.contains("storage.key_file"), "{twice}");
        let mysql = error_of(&format!(
            "[storage]\nurl = \"mysql://t:hunter2@db/id\"\n{KEY}"
        ));
        assert!(
            mysql.contains("storage.url") && !mysql.contains("hunter2"),
            "{mysql}"
        );
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
