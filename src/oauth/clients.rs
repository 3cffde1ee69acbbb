//! OAuth clients: seeding from `[[clients]]`, administration, client
//! authentication and redirect URI matching.
//!
//! Client secrets are checked on every token request, so they are not
//! hashed with argon2 (16 ms each would cap the token endpoint at ~60/s per
//! core). A generated secret carries 256 bits of entropy, so there is
//! nothing to brute-force: a keyed hash (HMAC-SHA256 under a key kept
//! outside the store, see `seal`) is enough, and a stolen store file alone
//! does not even allow an offline check of a guessed weak secret.
//! Configured secrets shorter than 32 characters are accepted with a
//! warning; failed authentications are throttled per client and address
//! (see [`authenticate`]).

use crate::accounts::lockout;
use crate::config::{SeedClient, Settings};
use crate::context::Context;
use crate::oauth::params::{ClientId, ClientSecret};
use crate::oauth::redirect::is_loopback;
use crate::oauth::{OAuthError, scopes};
use crate::seal::MacCheck;
use crate::secret::{SecretString, Token};
use crate::store::{Client, LoginThrottle, StoreError};
use url::Url;

/// Grant types tessera supports.
pub const GRANT_TYPES: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];

/// Shortest configured secret accepted without a warning.
const STRONG_SECRET_LEN: usize = 32;

/// Why a client cannot be created or used.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("a client `{0}` exists already")]
    Exists(String),
    #[error("no client `{0}`")]
    NotFound(String),
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks a `[[clients]]` entry; the error names the field.
pub fn check_seed(settings: &Settings, seed: &SeedClient) -> Result<(), (&'static str, String)> {
    if ClientId::parse(&seed.client_id).is_none() {
        return Err((
            "client_id",
            "use 1 to 128 letters, digits, '-', '_', '.', ':'".into(),
        ));
    }
    if let Some(secret) = &seed.client_secret
        && secret.expose().is_empty()
    {
        return Err((
            "client_secret",
            "must not be empty (omit it for a public client)".into(),
        ));
    }
    for uri in seed
        .redirect_uris
        .iter()
        .chain(&seed.post_logout_redirect_uris)
    {
        check_redirect_uri(uri).map_err(|message| ("redirect_uris", message))?;
    }
    // An undeclared scope is allowed (design.md): `warn_undeclared_scopes`
    // names it at start-up; only its syntax is checked here.
    if let Some(scope) = seed.scopes.iter().find(|s| !scopes::is_scope_token(s)) {
        return Err((
            "scopes",
            format!(
                "`{scope}` is not a scope name (RFC 6749 §3.3: no spaces, quotes or backslashes)"
            ),
        ));
    }
    for (field, uri) in [
        ("logo_uri", &seed.logo_uri),
        ("client_uri", &seed.client_uri),
    ] {
        if let Some(uri) = uri
            && !is_web_uri(uri)
        {
            return Err((
                field,
                format!("`{uri}` must be an https URL (http is allowed for loopback only)"),
            ));
        }
    }
    for grant in &seed.grant_types {
        if !GRANT_TYPES.contains(&grant.as_str()) {
            return Err(("grant_types", format!("unknown grant type `{grant}`")));
        }
    }
    let grants = |g: &str| seed.grant_types.iter().any(|x| x == g);
    if grants("authorization_code") && seed.redirect_uris.is_empty() {
        return Err((
            "redirect_uris",
            "the authorization_code grant needs at least one".into(),
        ));
    }
    if grants("client_credentials") && seed.client_secret.is_none() {
        return Err((
            "grant_types",
            "client_credentials needs a client_secret".into(),
        ));
    }
    if seed.token_exchange && !seed.first_party {
        return Err((
            "token_exchange",
            "only a first-party client (an app of the same service) may exchange sessions".into(),
        ));
    }
    if let Some(journey) = &seed.journey
        && !settings.journeys.definitions.contains_key(journey)
        && !crate::journeys::graph::builtin_definitions().contains_key(journey)
    {
        return Err(("journey", format!("no journey named `{journey}`")));
    }
    Ok(())
}

/// A redirect URI must be absolute, without fragment (RFC 6749 §3.1.2),
/// and https unless it is a loopback or private-use scheme (RFC 8252).
fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let url = Url::parse(uri).map_err(|err| format!("`{uri}` is not an absolute URL: {err}"))?;
    if url.fragment().is_some() {
        return Err(format!("`{uri}` must not have a fragment"));
    }
    match url.scheme() {
        _ if is_https_or_loopback(&url) => Ok(()),
        "http" => Err(format!(
            "`{uri}` must be https (http is allowed for loopback only)"
        )),
        // Private-use URI schemes of native apps (RFC 8252 §7.1).
        scheme if scheme.contains('.') => Ok(()),
        _ => Err(format!("`{uri}` has an unsupported scheme")),
    }
}

/// Whether a client's `logo_uri` or `client_uri` may be shown on the
/// consent page (as an image and a link): an https URL, or http on a
/// loopback host for development. Anything else (`javascript:`, `data:`,
/// plain http that anyone on the way could swap) is never rendered.
pub fn is_web_uri(uri: &str) -> bool {
    Url::parse(uri).is_ok_and(|url| is_https_or_loopback(&url))
}

fn is_https_or_loopback(url: &Url) -> bool {
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => is_loopback(url) || url.host_str() == Some("localhost"),
        _ => false,
    }
}

/// What the MACs of client secrets are made for (see `seal`).
const SECRET_PURPOSE: &str = "client-secret";

/// The stored form of a secret.
fn secret_hash(ctx: &Context, secret: &str) -> String {
    ctx.sealer.mac(SECRET_PURPOSE, secret.as_bytes())
}

fn record(
    ctx: &Context,
    seed: &SeedClient,
    secret_hash: Option<String>,
    created_at: time::OffsetDateTime,
) -> Client {
    Client {
        client_id: seed.client_id.clone(),
        secret_hash,
        name: seed.name.clone().unwrap_or_else(|| seed.client_id.clone()),
        redirect_uris: seed.redirect_uris.clone(),
        post_logout_redirect_uris: seed.post_logout_redirect_uris.clone(),
        scopes: seed.scopes.clone(),
        grant_types: seed.grant_types.clone(),
        first_party: seed.first_party,
        logo_uri: seed.logo_uri.clone(),
        client_uri: seed.client_uri.clone(),
        require_pkce: seed.require_pkce || seed.client_secret.is_none(),
        audience: seed.audience.clone(),
        access_token_ttl_secs: seed.access_token_ttl_secs,
        refresh_token_ttl_secs: seed.refresh_token_ttl_secs,
        signing_alg: seed.signing_alg,
        journey: seed.journey.clone(),
        require_nonce: seed.require_nonce,
        token_exchange: seed.token_exchange,
        resource_server: seed.resource_server,
        created_at: created_at.min(ctx.now()),
    }
}

/// Names the scopes a client may ask for that `[oauth.scopes]` does not
/// declare: they work, shown by name on the consent page, but a typo in a
/// scope name looks just like them.
fn warn_undeclared_scopes(settings: &Settings, seed: &SeedClient) {
    let undeclared = scopes::undeclared(settings, &seed.scopes);
    if !undeclared.is_empty() {
        tracing::warn!(
            client_id = %seed.client_id,
            scopes = %undeclared.join(" "),
            "the client may ask for scopes that [oauth.scopes] does not declare; \
             the consent page shows them by name: declare each with a description, \
             for example \"{}\" = \"Read your notes\"",
            undeclared[0]
        );
    }
}

/// Creates or updates the `[[clients]]` of the config; returns how many
/// were written (an unchanged client is not).
pub fn seed(ctx: &Context, seeds: &[SeedClient]) -> Result<usize, ClientError> {
    let mut written = 0;
    for seed in seeds {
        warn_undeclared_scopes(&ctx.settings, seed);
        if let Some(secret) = &seed.client_secret
            && secret.expose().len() < STRONG_SECRET_LEN
        {
            tracing::warn!(
                client_id = %seed.client_id,
                "the configured client_secret is shorter than {STRONG_SECRET_LEN} characters; \
                 generate one with `tessera clients add` or `openssl rand -base64 32`"
            );
        }
        let hash = seed
            .client_secret
            .as_ref()
            .map(|s| secret_hash(ctx, s.expose()));
        ctx.store.write(|tx| {
            let existing = tx.client(&seed.client_id)?;
            let created_at = existing
                .as_ref()
                .map_or_else(|| ctx.now(), |c| c.created_at);
            let client = record(ctx, seed, hash.clone(), created_at);
            if existing.as_ref() != Some(&client) {
                tx.put_client(&client)?;
                written += 1;
            }
            Ok::<_, StoreError>(())
        })?;
    }
    Ok(written)
}

/// Creates a client from the command line. A confidential client gets a
/// generated 256-bit secret, returned once and stored only hashed.
pub fn create(
    ctx: &Context,
    seed: &SeedClient,
    confidential: bool,
) -> Result<(Client, Option<SecretString>), ClientError> {
    check_seed(
        &ctx.settings,
        &SeedClient {
            client_secret: confidential.then(|| SecretString::new("generated")),
            ..seed.clone()
        },
    )
    .map_err(|(field, message)| ClientError::Invalid { field, message })?;
    warn_undeclared_scopes(&ctx.settings, seed);
    let secret = confidential.then(|| SecretString::new(Token::generate().expose()));
    let hash = secret.as_ref().map(|s| secret_hash(ctx, s.expose()));
    let mut seed = seed.clone();
    seed.client_secret = secret.clone();
    let client = record(ctx, &seed, hash, ctx.now());
    ctx.store.write(|tx| {
        if tx.client(&client.client_id)?.is_some() {
            return Err(ClientError::Exists(client.client_id.clone()));
        }
        tx.put_client(&client)?;
        Ok(())
    })?;
    Ok((client, secret))
}

/// Every client.
pub fn list(ctx: &Context) -> Result<Vec<Client>, StoreError> {
    ctx.store.read(|tx| tx.clients())
}

/// Removes a client.
pub fn remove(ctx: &Context, client_id: &str) -> Result<(), ClientError> {
    let removed = ctx.store.write(|tx| tx.delete_client(client_id))?;
    if removed {
        Ok(())
    } else {
        Err(ClientError::NotFound(client_id.to_owned()))
    }
}

/// The client with this id.
pub fn get(ctx: &Context, client_id: &str) -> Result<Option<Client>, StoreError> {
    ctx.store.read(|tx| tx.client(client_id))
}

/// Authenticates a client at the token, revocation or introspection
/// endpoint. A public client presents no secret; a confidential one must.
///
/// RFC 6749 §2.3.1 asks for protection against brute force: failures are
/// counted per client and client `address`, and after
/// `oauth.client_auth_max_failures` within the lockout window that address
/// must wait for this client, right secret or not, while the client keeps
/// working from everywhere else (an attacker elsewhere cannot lock it
/// out). A success does not reset the count: another client behind the
/// same address (a shared NAT) could otherwise reset it for an attacker.
/// An unknown client_id is not counted: it has no secret to guess, and
/// made-up ids would only fill the store with counters.
///
/// A failure is counted in the transaction that checks the lock, before
/// it is answered, so parallel guesses cannot get past the count. That
/// transaction does not wait for the disk: a crash forgets counters,
/// which only restarts an attacker's count.
pub fn authenticate(
    ctx: &Context,
    client_id: &ClientId,
    secret: Option<&ClientSecret>,
    address: Option<&str>,
) -> Result<Client, OAuthError> {
    let client_id = client_id.as_str();
    let client = get(ctx, client_id)?.ok_or_else(OAuthError::invalid_client)?;
    let check = match (&client.secret_hash, secret) {
        (Some(hash), Some(secret)) => {
            ctx.sealer
                .check_mac(SECRET_PURPOSE, secret.expose().as_bytes(), hash)
        }
        (None, None) => MacCheck::Matches,
        _ => MacCheck::Differs,
    };
    let ok = check != MacCheck::Differs;
    let key = address.map(|ip| lockout::client_key(client_id, &lockout::address_key(ip)));
    let now = ctx.now();
    let locked = |counted: Option<&LoginThrottle>| {
        lockout::locked_until(counted, now)
            .map(|until| OAuthError::client_locked(lockout::retry_after_secs(until, now)))
    };
    if ok {
        if let Some(key) = &key
            && let Some(refused) = locked(ctx.store.read(|tx| tx.throttle(key))?.as_ref())
        {
            return Err(refused);
        }
        return accepted(ctx, client, check, secret);
    }
    if let Some(key) = &key {
        ctx.store.write_volatile(|tx| {
            let counted = tx.throttle(key)?;
            if let Some(refused) = locked(counted.as_ref()) {
                return Err(refused);
            }
            let max = ctx.settings.oauth.client_auth_max_failures;
            let counted = lockout::record_attempt(counted, now, &ctx.settings.lockout, max);
            tx.put_throttle(key, &counted)?;
            Ok(())
        })?;
    }
    Err(OAuthError::invalid_client())
}

/// The authenticated client. A secret whose MAC a store from before schema 3 kept
/// (see `seal`) is hashed again under the current key, now that it is at
/// hand; unless the client changed meanwhile.
fn accepted(
    ctx: &Context,
    client: Client,
    check: MacCheck,
    secret: Option<&ClientSecret>,
) -> Result<Client, OAuthError> {
    let (MacCheck::MatchesLegacy, Some(secret)) = (check, secret) else {
        return Ok(client);
    };
    let hash = secret_hash(ctx, secret.expose());
    ctx.store.write(|tx| {
        if let Some(mut stored) = tx.client(&client.client_id)?
            && stored.secret_hash == client.secret_hash
        {
            stored.secret_hash = Some(hash);
            tx.put_client(&stored)?;
        }
        Ok::<_, StoreError>(())
    })?;
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_redirect_uris_are_https_loopback_or_private_schemes() {
        assert!(check_redirect_uri("https://app.example.com/cb").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:9000/cb").is_ok());
        assert!(check_redirect_uri("com.example.app:/oauth").is_ok());
        assert!(check_redirect_uri("http://app.example.com/cb").is_err());
        assert!(check_redirect_uri("https://app.example.com/cb#x").is_err());
        assert!(check_redirect_uri("/relative").is_err());
    }

    #[test]
    fn logo_and_client_uris_are_https_or_loopback_http_only() {
        for good in [
            "https://app.example.com/logo.png",
            "http://127.0.0.1:9000/",
            "http://localhost/logo.png",
            "http://[::1]/",
        ] {
            assert!(is_web_uri(good), "{good}");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:image/svg+xml,<svg/onload=alert(1)>",
            "http://app.example.com/",
            "com.example.app:/logo",
            "//app.example.com/logo.png",
            "/logo.png",
            "",
        ] {
            assert!(!is_web_uri(bad), "{bad}");
        }
    }
}
