//! The checks types alone cannot make, without the domain: ranges, URLs,
//! names. What only the domain can judge (journey graphs, mail, seeded
//! users and clients) is checked at composition, by `app::check_settings`.

use super::{ConfigError, Settings, invalid};
use std::net::ToSocketAddrs;

/// The longest duration accepted for any `*_secs` key: 10 years. Larger
/// values would overflow date arithmetic.
pub(crate) const MAX_SECONDS: u64 = 10 * 365 * 24 * 60 * 60;

/// The longest audit retention: a hundred years, well inside what dates hold.
const MAX_RETENTION_DAYS: u32 = 36_500;

/// The longest a connection may wait for headers, a body or a next request.
const MAX_CONNECTION_SECONDS: u64 = 60 * 60;

impl Settings {
    /// Whether every address `server.bind` resolves to is a loopback one.
    fn binds_loopback_only(&self) -> bool {
        self.server
            .bind
            .to_socket_addrs()
            .is_ok_and(|mut addrs| addrs.all(|addr| addr.ip().is_loopback()))
    }

    /// Checks every value that types alone cannot, without the domain: what
    /// only the domain can judge (journey graphs, mail, seeded users and
    /// clients) is checked at composition, by `app::check_settings`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(issuer) = &self.issuer {
            validate_issuer(issuer)?;
        }
        validate_bind("server.bind", &self.server.bind, "127.0.0.1:8080")?;
        if let Some(bind) = &self.metrics.bind {
            validate_bind("metrics.bind", bind, "127.0.0.1:9090")?;
        }
        if self.fixture.enabled && !self.binds_loopback_only() {
            return Err(invalid(
                "fixture.enabled",
                format!(
                    "fixture mode mints tokens for anyone who asks, so it is allowed only on a loopback \
                     address, and server.bind is `{}` (try \"127.0.0.1:0\")",
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
        self.validate_storage()?;
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
            validate_origin("sessions.return_origins", origin)?;
        }
        self.validate_passkeys()?;
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
            ("admin.reauth_secs", self.admin.reauth_secs),
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
        if self.audit.retention_days > MAX_RETENTION_DAYS {
            return Err(invalid(
                "audit.retention_days",
                "must be at most 36500 (100 years); 0 keeps events forever",
            ));
        }
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
}

/// A `HOST:PORT` to listen on: it must resolve to an address.
fn validate_bind(key: &str, bind: &str, example: &str) -> Result<(), ConfigError> {
    if bind
        .to_socket_addrs()
        .is_ok_and(|mut addrs| addrs.next().is_some())
    {
        return Ok(());
    }
    Err(invalid(
        key,
        format!(
            "`{bind}` is not a HOST:PORT address (try \"{example}\", or port 0 for a free port)"
        ),
    ))
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

/// The longest `storage.cache_secs`: a bound on how long a revocation may
/// go unseen that an operator would still call prompt.
const MAX_CACHE_SECS: u64 = 60;

/// The 32 bytes of a sealing key given as standard base64 (`storage.key`).
pub(super) fn decode_key(base64: &str) -> Option<[u8; 32]> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(base64.trim())
        .ok()?
        .try_into()
        .ok()
}

impl Settings {
    /// `[storage]`: a redb file or a PostgreSQL database, not both; the
    /// sealing key from a file or given, not both, and one of them for a
    /// database, whose replicas must share it. A value that holds a
    /// password or a key is never repeated in a message.
    fn validate_storage(&self) -> Result<(), ConfigError> {
        let storage = &self.storage;
        if storage.path.is_some() && storage.url.is_some() {
            return Err(invalid(
                "storage.url",
                "`storage.path` and `storage.url` are both set: the store is a redb file \
                 or a PostgreSQL database, not both; remove one",
            ));
        }
        if storage
            .path
            .as_ref()
            .is_some_and(|path| path.trim().is_empty())
        {
            return Err(invalid(
                "storage.path",
                "must name a file, or be \":memory:\"",
            ));
        }
        if let Some(url) = &storage.url {
            let scheme = url::Url::parse(url.expose()).map(|url| url.scheme().to_owned());
            if !matches!(scheme.as_deref(), Ok("postgres" | "postgresql")) {
                return Err(invalid(
                    "storage.url",
                    "must be a URL postgres://USER:PASSWORD@HOST:PORT/DATABASE",
                ));
            }
        }
        if storage
            .key_file
            .as_ref()
            .is_some_and(|file| file.as_os_str().is_empty())
        {
            return Err(invalid("storage.key_file", "must name a file"));
        }
        if let Some(key) = &storage.key {
            if storage.key_file.is_some() {
                return Err(invalid(
                    "storage.key",
                    "`storage.key` and `storage.key_file` are both set: give the sealing key one way",
                ));
            }
            if decode_key(key.expose()).is_none() {
                return Err(invalid(
                    "storage.key",
                    "must be the standard base64 of 32 bytes (`head -c 32 /dev/urandom | base64`)",
                ));
            }
        }
        if storage.cache_secs > MAX_CACHE_SECS {
            return Err(invalid(
                "storage.cache_secs",
                format!(
                    "at most {MAX_CACHE_SECS}: a session ended on one replica stays valid on the \
                     others that long"
                ),
            ));
        }
        if storage.url.is_some() && storage.key.is_none() && storage.key_file.is_none() {
            return Err(invalid(
                "storage.key_file",
                "a store in PostgreSQL needs the sealing key every replica shares: set \
                 storage.key_file, or TESSERA__STORAGE__KEY (standard base64 of 32 bytes)",
            ));
        }
        Ok(())
    }
}

impl Settings {
    /// `[passkeys]`: origins are origins, and each (the issuer's when none
    /// is listed and the issuer is set) is on the relying-party id or a
    /// subdomain of it, as WebAuthn requires. The rp id is a host name:
    /// WebAuthn refuses IP addresses.
    fn validate_passkeys(&self) -> Result<(), ConfigError> {
        let passkeys = &self.passkeys;
        let mut origins = Vec::new();
        for origin in &passkeys.origins {
            origins.push(validate_origin("passkeys.origins", origin)?);
        }
        let Some(rp_id) = &passkeys.rp_id else {
            return Ok(());
        };
        if !matches!(url::Host::parse(rp_id), Ok(url::Host::Domain(_))) {
            return Err(invalid(
                "passkeys.rp_id",
                format!(
                    "`{rp_id}` must be a host name such as \"example.com\" (WebAuthn refuses IP addresses)"
                ),
            ));
        }
        if origins.is_empty()
            && let Some(issuer) = &self.issuer
            && let Ok(issuer) = url::Url::parse(issuer)
        {
            origins.push(issuer);
        }
        for origin in origins {
            let host = origin.host_str().unwrap_or_default();
            if host != rp_id && !host.ends_with(&format!(".{rp_id}")) {
                return Err(invalid(
                    "passkeys.rp_id",
                    format!(
                        "`{rp_id}` is neither the host of `{origin}` nor a parent domain of it"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// An entry of an origins list (`key`): an http(s) origin and nothing more,
/// so that what is allowed is exactly what the entry reads as.
fn validate_origin(key: &str, origin: &str) -> Result<url::Url, ConfigError> {
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
    Ok(url)
}

fn is_cookie_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::super::tests::error_of;
    use super::*;

    #[test]
    fn invalid_values_name_their_key() {
        assert!(error_of("[server]\nbind = \"nowhere\"").contains("server.bind"));
        assert!(error_of("[metrics]\nbind = \"9090\"").contains("metrics.bind"));
        assert!(error_of("issuer = \"ftp://x\"").contains("`issuer`"));
        assert!(
            error_of("[sessions]\nidle_timeout_secs = 0").contains("sessions.idle_timeout_secs")
        );
        assert!(error_of("[passwords]\nmemory_kib = 1").contains("passwords"));
        assert!(error_of("[server]\nbody_timeout_secs = 0").contains("server.body_timeout_secs"));
        assert!(error_of("[server]\nkeep_alive_secs = 86400").contains("server.keep_alive_secs"));
        assert!(error_of("[[users]]\nusername = \"bob\"").contains("users[0].password"));
        assert!(error_of("[server]\nworkers = \"many\"").contains("workers"));
        assert!(error_of("[storage]\ncache_secs = 61").contains("storage.cache_secs"));
        assert!(Settings::from_toml("[storage]\ncache_secs = 0").is_ok());
        assert!(
            error_of("[journeys]\nttl_secs = 9223372036854775807").contains("journeys.ttl_secs")
        );
        assert!(
            error_of("[oauth]\ninitial_access_token = \"short\"")
                .contains("oauth.initial_access_token")
        );
    }

    #[test]
    fn fixture_mode_is_refused_off_loopback() {
        let refused = error_of("[server]\nbind = \"0.0.0.0:8080\"\n[fixture]\nenabled = true");
        assert!(refused.contains("fixture.enabled"), "{refused}");
        for bind in ["127.0.0.1:0", "[::1]:8080", "localhost:0"] {
            let config = format!("[server]\nbind = \"{bind}\"\n[fixture]\nenabled = true");
            assert!(Settings::from_toml(&config).is_ok(), "{bind}");
        }
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
    fn passkey_relying_parties_that_webauthn_refuses_are_config_errors() {
        for toml in [
            "[passkeys]\nrp_id = \"127.0.0.1\"",
            "issuer = \"https://id.example.com\"\n[passkeys]\nrp_id = \"other.com\"",
            "[passkeys]\nrp_id = \"example.com\"\norigins = [\"https://example.org\"]",
        ] {
            assert!(error_of(toml).contains("passkeys.rp_id"), "{toml}");
        }
        assert!(error_of("[passkeys]\norigins = [\"example.com\"]").contains("passkeys.origins"));
        assert!(
            Settings::from_toml(
                "issuer = \"https://id.example.com\"\n[passkeys]\nrp_id = \"example.com\""
            )
            .is_ok()
        );
    }

    #[test]
    fn unknown_keys_are_rejected_rather_than_ignored() {
        assert!(error_of("[server]\nbnd = \"127.0.0.1:1\"").contains("bnd"));
    }
}
