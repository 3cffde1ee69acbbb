//! OAuth clients: seeding from `[[clients]]`, administration and client
//! authentication. What a client may declare is checked in
//! `client_metadata`; redirect URIs are matched in `redirect`.
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
use crate::audit::{self, Caller};
use crate::config::{SeedClient, Settings};
use crate::context::Context;
use crate::oauth::client_metadata::check_seed;
use crate::oauth::params::{ClientId, ClientSecret};
use crate::oauth::{OAuthError, scopes};
use crate::seal::MacCheck;
use crate::secret::{SecretString, Token};
use crate::store::{Client, ClientRegistration, LoginThrottle, StoreError};

/// Shortest configured secret accepted without a warning.
const STRONG_SECRET_LEN: usize = 32;

/// Why a client cannot be created or used.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("a client `{0}` exists already")]
    Exists(String),
    #[error("no client `{0}`")]
    NotFound(String),
    /// Metadata that is not a `[[clients]]` entry at all.
    #[error("{0}")]
    Unreadable(String),
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// A `[[clients]]` entry of the config declares the client: the file
    /// manages it, so that a restart never silently undoes an edit.
    #[error("the client `{0}` is declared in the config file, which manages it")]
    ManagedByConfig(String),
    #[error("the client `{0}` is public: it has no secret to rotate")]
    Public(String),
    #[error(transparent)]
    Store(#[from] StoreError),
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
        require_pushed_authorization_requests: seed.require_pushed_authorization_requests,
        backchannel_logout_uri: seed.backchannel_logout_uri.clone(),
        backchannel_logout_session_required: seed.backchannel_logout_session_required,
        dpop_bound_access_tokens: seed.dpop_bound_access_tokens,
        managed_by_config: false,
        created_at: created_at.min(ctx.now()),
        registration: None,
    }
}

/// A client nobody registered, as fixture mode's tokens may name one: the
/// defaults of a registration (`aud` is the client_id; the configured
/// algorithm and lifetime).
pub fn unregistered(ctx: &Context, client_id: &ClientId) -> Client {
    Client {
        client_id: client_id.as_str().to_owned(),
        secret_hash: None,
        name: client_id.as_str().to_owned(),
        redirect_uris: Vec::new(),
        post_logout_redirect_uris: Vec::new(),
        scopes: Vec::new(),
        grant_types: Vec::new(),
        first_party: false,
        logo_uri: None,
        client_uri: None,
        require_pkce: true,
        audience: Vec::new(),
        access_token_ttl_secs: None,
        refresh_token_ttl_secs: None,
        signing_alg: None,
        journey: None,
        require_nonce: false,
        token_exchange: false,
        resource_server: false,
        require_pushed_authorization_requests: false,
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
        dpop_bound_access_tokens: false,
        managed_by_config: false,
        created_at: ctx.now(),
        registration: None,
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

/// Creates or updates the `[[clients]]` of the config, marked as managed
/// by it, and hands those whose entry is gone over to administration;
/// returns how many were written (an unchanged client is not).
pub fn seed(ctx: &Context, seeds: &[SeedClient]) -> Result<usize, ClientError> {
    let released: Vec<Client> = list(ctx)?
        .into_iter()
        .filter(|c| c.managed_by_config && !seeds.iter().any(|s| s.client_id == c.client_id))
        .map(|client| Client {
            managed_by_config: false,
            ..client
        })
        .collect();
    if !released.is_empty() {
        ctx.store
            .write(|tx| released.iter().try_for_each(|client| tx.put_client(client)))?;
    }
    let mut written = released.len();
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
            let client = Client {
                managed_by_config: true,
                ..record(ctx, seed, hash.clone(), created_at)
            };
            if existing.as_ref() != Some(&client) {
                tx.put_client(&client)?;
                written += 1;
            }
            Ok::<_, StoreError>(())
        })?;
    }
    Ok(written)
}

/// Checks what an administrator registers (from the command line or the
/// admin API) exactly as a `[[clients]]` entry, with a placeholder for the
/// secret of a confidential client; and that its access tokens live no
/// longer than the retired signing keys stay published (the longest
/// lifetime the config sets).
pub(super) fn check_registered(
    ctx: &Context,
    seed: &SeedClient,
    confidential: bool,
) -> Result<(), ClientError> {
    check_seed(
        &ctx.settings,
        &SeedClient {
            client_secret: confidential.then(|| SecretString::new("generated")),
            ..seed.clone()
        },
    )
    .map_err(|(field, message)| ClientError::Invalid { field, message })?;
    let longest = ctx.settings.longest_access_token();
    if let Some(ttl) = seed.access_token_ttl_secs
        && (ttl == 0 || crate::config::seconds(ttl) > longest)
    {
        return Err(ClientError::Invalid {
            field: "access_token_ttl_secs",
            message: format!(
                "must be between 1 and {} seconds (oauth.access_token_ttl_secs, or the longest a [[clients]] entry sets), so that retired signing keys outlive its tokens",
                longest.whole_seconds()
            ),
        });
    }
    Ok(())
}

/// Reads the metadata of a new client, as the admin API and `tessera
/// clients add` take it: a `[[clients]]` entry as JSON, without
/// `client_secret` (secrets are generated), and `"public": true` for a
/// client without one. Returns the entry and whether the client is
/// confidential.
pub fn new_metadata(metadata: serde_json::Value) -> Result<(SeedClient, bool), ClientError> {
    let unreadable = |message: &str| Err(ClientError::Unreadable(message.to_owned()));
    let serde_json::Value::Object(mut fields) = metadata else {
        return unreadable("The body must be a JSON object of client metadata.");
    };
    if fields.contains_key("client_secret") {
        return unreadable(
            "client_secret is generated, and shown once in the answer: leave it out (\"public\": true for a client without one).",
        );
    }
    let public = match fields.remove("public") {
        None => false,
        Some(serde_json::Value::Bool(public)) => public,
        Some(_) => return unreadable("public must be true or false."),
    };
    let seed = serde_json::from_value(serde_json::Value::Object(fields)).map_err(|err| {
        ClientError::Unreadable(format!("The client metadata cannot be read: {err}."))
    })?;
    Ok((seed, !public))
}

/// Creates a client for `by` (at the command line, or an administrator),
/// recorded in the audit log with it. A confidential client gets a
/// generated 256-bit secret, returned once and stored only hashed.
pub fn create(
    ctx: &Context,
    seed: &SeedClient,
    confidential: bool,
    by: &Caller,
) -> Result<(Client, Option<SecretString>), ClientError> {
    insert(
        ctx,
        seed,
        confidential,
        None,
        admin_event("client.create", by, &seed.client_id),
    )
}

/// Checks and stores a new client with what it registered itself, if it
/// did, and `event` in the same write; returns it with its generated
/// secret (for a confidential client).
pub(super) fn insert(
    ctx: &Context,
    seed: &SeedClient,
    confidential: bool,
    registration: Option<ClientRegistration>,
    event: audit::Event,
) -> Result<(Client, Option<SecretString>), ClientError> {
    check_registered(ctx, seed, confidential)?;
    warn_undeclared_scopes(&ctx.settings, seed);
    let secret = confidential.then(|| SecretString::new(Token::generate().expose()));
    let hash = secret.as_ref().map(|s| secret_hash(ctx, s.expose()));
    let mut seed = seed.clone();
    seed.client_secret = secret.clone();
    let client = Client {
        registration,
        ..record(ctx, &seed, hash, ctx.now())
    };
    ctx.store.write(|tx| {
        if tx.client(&client.client_id)?.is_some() {
            return Err(ClientError::Exists(client.client_id.clone()));
        }
        tx.put_client(&client)?;
        audit::record(ctx, tx, event)?;
        Ok(())
    })?;
    Ok((client, secret))
}

/// Every client.
pub fn list(ctx: &Context) -> Result<Vec<Client>, StoreError> {
    ctx.store.read(|tx| tx.clients())
}

/// Removes a client from the command line, managed by the config or not
/// (the next start seeds a declared one again), and records it.
pub fn remove(ctx: &Context, client_id: &str, by: &Caller) -> Result<(), ClientError> {
    ctx.store.write(|tx| {
        if !delete_in(tx, client_id)? {
            return Err(ClientError::NotFound(client_id.to_owned()));
        }
        audit::record(ctx, tx, admin_event("client.delete", by, client_id))?;
        Ok(())
    })
}

/// Deletes a client for an administrator `by`, with the consents and
/// refresh tokens users granted it, and records it: refused for one the
/// config manages. It stops authenticating at once.
pub fn delete(ctx: &Context, client_id: &str, by: &Caller) -> Result<Client, ClientError> {
    ctx.store.write(|tx| {
        let client = administered(tx, client_id)?;
        delete_in(tx, client_id)?;
        audit::record(ctx, tx, admin_event("client.delete", by, client_id))?;
        Ok(client)
    })
}

/// Deletes a client in `tx` with what users granted it; returns whether it
/// existed.
pub(super) fn delete_in(
    tx: &dyn crate::store::WriteTx,
    client_id: &str,
) -> Result<bool, StoreError> {
    let existed = tx.delete_client(client_id)?;
    revoke_grants(tx, client_id)?;
    Ok(existed)
}

/// Withdraws what users granted a deleted client: their consents, and its
/// refresh tokens with the access tokens they issued, so that a client
/// registered again under the same id starts with nothing. A rare
/// administrator's action: it reads every user.
fn revoke_grants(tx: &dyn crate::store::WriteTx, client_id: &str) -> Result<(), StoreError> {
    for user in tx.users()? {
        tx.delete_consent(&user.id, client_id)?;
        for family in tx.families_of(&user.id, client_id)? {
            tx.delete_family(&family)?;
        }
    }
    Ok(())
}

/// The record of `by`'s `action` on the client `client_id`.
fn admin_event(action: &'static str, by: &Caller, client_id: &str) -> audit::Event {
    audit::Event::admin(action, by, audit::Party::client(client_id))
}

/// The client `client_id` if an administrator may change it.
fn administered(tx: &dyn crate::store::WriteTx, client_id: &str) -> Result<Client, ClientError> {
    let client = tx
        .client(client_id)?
        .ok_or_else(|| ClientError::NotFound(client_id.to_owned()))?;
    if client.managed_by_config {
        return Err(ClientError::ManagedByConfig(client.client_id));
    }
    Ok(client)
}

/// Changes an administrator makes to a client's metadata; `None` leaves a
/// field as it is, `Some(None)` clears an optional one. The client_id and
/// whether it is confidential do not change (see [`rotate_secret`]).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub first_party: Option<bool>,
    #[serde(default, deserialize_with = "crate::config::present")]
    pub logo_uri: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::config::present")]
    pub client_uri: Option<Option<String>>,
    pub require_pkce: Option<bool>,
    pub audience: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::config::present")]
    pub access_token_ttl_secs: Option<Option<u64>>,
    #[serde(default, deserialize_with = "crate::config::present")]
    pub refresh_token_ttl_secs: Option<Option<u64>>,
    #[serde(default, deserialize_with = "crate::config::present")]
    pub signing_alg: Option<Option<crate::jwa::SigningAlg>>,
    #[serde(default, deserialize_with = "crate::config::present")]
    pub journey: Option<Option<String>>,
    pub require_nonce: Option<bool>,
    pub token_exchange: Option<bool>,
    pub resource_server: Option<bool>,
    pub require_pushed_authorization_requests: Option<bool>,
    #[serde(default, deserialize_with = "crate::config::present")]
    pub backchannel_logout_uri: Option<Option<String>>,
    pub backchannel_logout_session_required: Option<bool>,
    pub dpop_bound_access_tokens: Option<bool>,
}

/// The registration a stored client came from, as a `[[clients]]` entry
/// (without its secret).
fn seed_of(client: &Client) -> SeedClient {
    SeedClient {
        client_id: client.client_id.clone(),
        client_secret: None,
        name: Some(client.name.clone()),
        redirect_uris: client.redirect_uris.clone(),
        post_logout_redirect_uris: client.post_logout_redirect_uris.clone(),
        scopes: client.scopes.clone(),
        grant_types: client.grant_types.clone(),
        first_party: client.first_party,
        logo_uri: client.logo_uri.clone(),
        client_uri: client.client_uri.clone(),
        require_pkce: client.require_pkce,
        audience: client.audience.clone(),
        access_token_ttl_secs: client.access_token_ttl_secs,
        refresh_token_ttl_secs: client.refresh_token_ttl_secs,
        signing_alg: client.signing_alg,
        journey: client.journey.clone(),
        require_nonce: client.require_nonce,
        token_exchange: client.token_exchange,
        resource_server: client.resource_server,
        require_pushed_authorization_requests: client.require_pushed_authorization_requests,
        backchannel_logout_uri: client.backchannel_logout_uri.clone(),
        backchannel_logout_session_required: client.backchannel_logout_session_required,
        dpop_bound_access_tokens: client.dpop_bound_access_tokens,
    }
}

impl ClientChanges {
    fn apply(self, seed: &mut SeedClient) {
        fn set<T>(field: &mut T, value: Option<T>) {
            if let Some(value) = value {
                *field = value;
            }
        }
        set(&mut seed.name, self.name.map(Some));
        set(&mut seed.redirect_uris, self.redirect_uris);
        set(
            &mut seed.post_logout_redirect_uris,
            self.post_logout_redirect_uris,
        );
        set(&mut seed.scopes, self.scopes);
        set(&mut seed.grant_types, self.grant_types);
        set(&mut seed.first_party, self.first_party);
        set(&mut seed.logo_uri, self.logo_uri);
        set(&mut seed.client_uri, self.client_uri);
        set(&mut seed.require_pkce, self.require_pkce);
        set(&mut seed.audience, self.audience);
        set(&mut seed.access_token_ttl_secs, self.access_token_ttl_secs);
        set(
            &mut seed.refresh_token_ttl_secs,
            self.refresh_token_ttl_secs,
        );
        set(&mut seed.signing_alg, self.signing_alg);
        set(&mut seed.journey, self.journey);
        set(&mut seed.require_nonce, self.require_nonce);
        set(&mut seed.token_exchange, self.token_exchange);
        set(&mut seed.resource_server, self.resource_server);
        set(
            &mut seed.require_pushed_authorization_requests,
            self.require_pushed_authorization_requests,
        );
        set(
            &mut seed.backchannel_logout_uri,
            self.backchannel_logout_uri,
        );
        set(
            &mut seed.backchannel_logout_session_required,
            self.backchannel_logout_session_required,
        );
        set(
            &mut seed.dpop_bound_access_tokens,
            self.dpop_bound_access_tokens,
        );
    }
}

/// Applies an administrator's `changes` to a client, checked as a
/// `[[clients]]` entry would be, and records them; it works so on the next
/// request. Refused for a client the config manages.
pub fn update(
    ctx: &Context,
    client_id: &str,
    changes: ClientChanges,
    by: &Caller,
) -> Result<Client, ClientError> {
    ctx.store.write(|tx| {
        let current = administered(tx, client_id)?;
        let mut seed = seed_of(&current);
        changes.apply(&mut seed);
        // A client that registered itself could put back what an
        // administrator changed: their change ends its self-management.
        let current = Client {
            registration: None,
            ..current
        };
        replace(
            ctx,
            tx,
            &current,
            &seed,
            admin_event("client.update", by, client_id),
        )
    })
}

/// Stores `current` with the metadata of `seed`, checked as a
/// `[[clients]]` entry would be, and `event`; its secret, creation time and
/// registration stay.
pub(super) fn replace(
    ctx: &Context,
    tx: &dyn crate::store::WriteTx,
    current: &Client,
    seed: &SeedClient,
    event: audit::Event,
) -> Result<Client, ClientError> {
    let confidential = current.secret_hash.is_some();
    check_registered(ctx, seed, confidential)?;
    let mut seed = seed.clone();
    // `record` reads a confidential client's secret only to know it has one.
    seed.client_secret = confidential.then(|| SecretString::new("stored"));
    let client = Client {
        registration: current.registration.clone(),
        ..record(ctx, &seed, current.secret_hash.clone(), current.created_at)
    };
    tx.put_client(&client)?;
    audit::record(ctx, tx, event)?;
    Ok(client)
}

/// Replaces a confidential client's secret with a generated one, returned
/// once, and records it: the old secret stops working at once. Refused for
/// a public client and for one the config manages.
pub fn rotate_secret(
    ctx: &Context,
    client_id: &str,
    by: &Caller,
) -> Result<SecretString, ClientError> {
    let secret = SecretString::new(Token::generate().expose());
    let hash = secret_hash(ctx, secret.expose());
    ctx.store.write(|tx| {
        let mut client = administered(tx, client_id)?;
        if client.secret_hash.is_none() {
            return Err(ClientError::Public(client.client_id));
        }
        client.secret_hash = Some(hash);
        tx.put_client(&client)?;
        audit::record(ctx, tx, admin_event("client.secret.rotate", by, client_id))?;
        Ok(())
    })?;
    Ok(secret)
}

/// Whether `secret` is the secret of the confidential `client`, compared
/// in constant time.
pub(super) fn secret_matches(ctx: &Context, client: &Client, secret: &SecretString) -> bool {
    client.secret_hash.as_ref().is_some_and(|hash| {
        ctx.sealer
            .check_mac(SECRET_PURPOSE, secret.expose().as_bytes(), hash)
            != MacCheck::Differs
    })
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
