//! Dynamic client registration (RFC 7591) and its management (RFC 7592).
//!
//! Who may register: the bearer of an initial access token (RFC 7591 §3),
//! either `oauth.initial_access_token` or one an administrator minted
//! (stored as a keyed hash, with an expiry and a number of uses); or, in
//! fixture mode, anyone addressing tessera on loopback (the handler
//! decides that, see [`Permit`]).
//!
//! What a client may register is checked as a `[[clients]]` entry is, and
//! narrower: never first-party (consent is always asked), PKCE always, no
//! `client_credentials` (a client acting for nobody would get its scopes
//! without any user's consent) and not the admin scope. Metadata tessera
//! does not use is ignored, as §2 asks, and left out of the answer.
//!
//! Each client gets a registration access token (256 bits, stored as a
//! keyed hash) to read, replace and delete its registration at its
//! `registration_client_uri`.

use super::clients::{self, ClientError};
use super::params::GrantType;
use crate::audit::{self, Kind, Party};
use crate::config::SeedClient;
use crate::context::Context;
use crate::seal::MacCheck;
use crate::secret::{SecretString, Token, random_id};
use crate::store::{Client, ClientRegistration, InitialAccessToken, StoreError};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// What the MACs of initial access tokens are made for (see `seal`).
const INITIAL_TOKEN_PURPOSE: &str = "initial-access-token";
/// What the MACs of registration access tokens are made for.
const REGISTRATION_TOKEN_PURPOSE: &str = "registration-access-token";

/// The scope of the administration API, which no self-registered client may
/// ask for.
const ADMIN_SCOPE: &str = "tessera:admin";

/// Longest `client_name`: the consent page shows it.
const MAX_NAME_CHARS: usize = 100;

/// Client metadata as a client sends it (RFC 7591 §2), to register or, with
/// `client_id` (and optionally `client_secret`), to replace a registration
/// (RFC 7592 §2.2). Fields tessera does not use are ignored.
#[derive(Debug, Default, Deserialize)]
pub struct Metadata {
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub client_name: Option<String>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    /// Space-separated scope values.
    pub scope: Option<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// OpenID Connect Back-Channel Logout 1.0 §2.2.
    pub backchannel_logout_uri: Option<String>,
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    /// RFC 9449 §5.2: the client always sends DPoP proofs.
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
}

/// A client's registration as it is answered (RFC 7591 §3.2.1, RFC 7592
/// §3): what it registered, with what tessera provisioned.
#[derive(Debug, Serialize)]
pub struct Registered {
    pub client_id: String,
    /// Only when registering: tessera keeps no copy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub client_id_issued_at: i64,
    /// 0: the secret does not expire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    /// A new one in every answer: tessera keeps no copy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_access_token: Option<String>,
    /// Set by the handler, which knows the public URL.
    pub registration_client_uri: String,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    /// RFC 9449 §5.2.
    pub dpop_bound_access_tokens: bool,
}

/// Why a registration request was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// RFC 7591 §3.2.2 `invalid_redirect_uri`.
    #[error("{0}")]
    InvalidRedirectUri(String),
    /// RFC 7591 §3.2.2 `invalid_client_metadata`.
    #[error("{0}")]
    InvalidMetadata(String),
    /// No, an unknown, expired or spent initial access token; or a
    /// registration access token that is not the client's (RFC 6750
    /// `invalid_token`; RFC 7592 §3 answers an unknown client so too).
    #[error("{0}")]
    InvalidToken(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What allows a request to register a client.
pub enum Permit<'a> {
    /// A bearer token: an initial access token, configured or minted.
    Token(&'a str),
    /// Fixture mode, on loopback: registration is open.
    Fixture,
}

/// An initial access token just minted: shown once.
#[derive(Debug, Serialize)]
pub struct MintedToken {
    pub initial_access_token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub uses: u32,
}

/// Mints an initial access token for an administrator `by`: valid for
/// `ttl`, for `uses` registrations; recorded in the audit log.
pub fn mint(
    ctx: &Context,
    ttl: Duration,
    uses: u32,
    by: &audit::Caller,
) -> Result<MintedToken, StoreError> {
    let token = Token::generate();
    let hash = ctx
        .sealer
        .mac(INITIAL_TOKEN_PURPOSE, token.expose().as_bytes());
    let now = ctx.now();
    let record = InitialAccessToken {
        created_at: now,
        expires_at: now + ttl,
        uses_left: uses,
        created_by: by.actor.as_str().to_owned(),
    };
    ctx.store.write(|tx| {
        tx.put_initial_access_token(&hash, &record)?;
        audit::record(
            ctx,
            tx,
            audit::Event::success_by(Kind::Admin("registration_token.create"), by),
        )
    })?;
    Ok(MintedToken {
        initial_access_token: token.expose().to_owned(),
        expires_at: record.expires_at,
        uses,
    })
}

/// Removes the minted initial access tokens that have expired; returns how
/// many.
pub fn purge_expired(ctx: &Context) -> Result<usize, StoreError> {
    let now = ctx.now();
    ctx.store
        .write(|tx| tx.delete_expired_initial_access_tokens(now))
}

/// Registers a client (RFC 7591 §3.1) if `permit` allows it, from the
/// address `ip`.
pub fn register(
    ctx: &Context,
    permit: Permit<'_>,
    metadata: Metadata,
    ip: Option<&str>,
) -> Result<Registered, RegistrationError> {
    if metadata.client_id.is_some() || metadata.client_secret.is_some() {
        return Err(RegistrationError::InvalidMetadata(
            "client_id and client_secret are issued by tessera: leave them out".into(),
        ));
    }
    // The token first, so that nobody learns the metadata rules without
    // one; it is spent only once the metadata passed every check.
    if let Permit::Token(token) = permit {
        check_initial_token(ctx, token)?;
    }
    let client_id = random_id();
    let (seed, auth_method) = seed(&client_id, &metadata)?;
    let confidential = auth_method_is_confidential(&auth_method);
    clients::check_registered(ctx, &seed, confidential).map_err(refusal)?;
    if let Permit::Token(token) = permit {
        spend_initial_token(ctx, token)?;
    }
    let access_token = Token::generate();
    let registration = ClientRegistration {
        access_token_hash: ctx
            .sealer
            .mac(REGISTRATION_TOKEN_PURPOSE, access_token.expose().as_bytes()),
        token_endpoint_auth_method: auth_method,
    };
    let event = event("register", &client_id, ip);
    let (client, secret) =
        clients::insert(ctx, &seed, confidential, Some(registration), event).map_err(refusal)?;
    let mut registered = answer(&client);
    registered.client_secret = secret.map(|secret| secret.expose().to_owned());
    registered.registration_access_token = Some(access_token.expose().to_owned());
    Ok(registered)
}

/// The registration of `client_id` (RFC 7592 §2.1), for the bearer of its
/// registration access token, with a new one: RFC 7592 §3 asks for one in
/// every answer, and only its hash is kept.
pub fn read(ctx: &Context, client_id: &str, token: &str) -> Result<Registered, RegistrationError> {
    ctx.store.write(|tx| {
        let client = authorized(ctx, tx.client(client_id)?, token)?;
        let (client, token) = with_new_token(ctx, client);
        tx.put_client(&client)?;
        Ok(answer_with_token(&client, &token))
    })
}

/// `client` with a new registration access token, and the token.
fn with_new_token(ctx: &Context, mut client: Client) -> (Client, Token) {
    let token = Token::generate();
    if let Some(registration) = &mut client.registration {
        registration.access_token_hash = ctx
            .sealer
            .mac(REGISTRATION_TOKEN_PURPOSE, token.expose().as_bytes());
    }
    (client, token)
}

/// The answer about `client` with its new registration access token.
fn answer_with_token(client: &Client, token: &Token) -> Registered {
    Registered {
        registration_access_token: Some(token.expose().to_owned()),
        ..answer(client)
    }
}

/// Replaces the registration of `client_id` with `metadata` (RFC 7592
/// §2.2); its id and secret stay, and it gets a new registration access
/// token (see [`read`]).
pub fn replace(
    ctx: &Context,
    client_id: &str,
    token: &str,
    metadata: Metadata,
    ip: Option<&str>,
) -> Result<Registered, RegistrationError> {
    ctx.store.write(|tx| {
        let current = authorized(ctx, tx.client(client_id)?, token)?;
        if metadata.client_id.as_deref() != Some(client_id) {
            return Err(RegistrationError::InvalidMetadata(
                "client_id must be given, and be this client's".into(),
            ));
        }
        if let Some(secret) = &metadata.client_secret
            && !clients::secret_matches(ctx, &current, secret)
        {
            return Err(RegistrationError::InvalidMetadata(
                "client_secret is not this client's: leave it out, or send the one issued".into(),
            ));
        }
        let (seed, auth_method) = seed(client_id, &metadata)?;
        let registration = current.registration.clone();
        if registration.as_ref().map(|r| auth_method_is_confidential(&r.token_endpoint_auth_method))
            != Some(auth_method_is_confidential(&auth_method))
        {
            return Err(RegistrationError::InvalidMetadata(
                "token_endpoint_auth_method cannot change between none and a client secret: register a new client".into(),
            ));
        }
        let current = Client {
            registration: registration.map(|r| ClientRegistration {
                token_endpoint_auth_method: auth_method,
                ..r
            }),
            ..current
        };
        let (current, token) = with_new_token(ctx, current);
        let client = clients::replace(ctx, tx, &current, &seed, event("update", client_id, ip))
            .map_err(refusal)?;
        Ok(answer_with_token(&client, &token))
    })
}

/// Deletes the registration of `client_id` (RFC 7592 §2.3), with what
/// users granted it; its tokens stop working at once.
pub fn delete(
    ctx: &Context,
    client_id: &str,
    token: &str,
    ip: Option<&str>,
) -> Result<(), RegistrationError> {
    ctx.store.write(|tx| {
        authorized(ctx, tx.client(client_id)?, token)?;
        clients::delete_in(tx, client_id)?;
        audit::record(ctx, tx, event("delete", client_id, ip))?;
        Ok(())
    })
}

/// Whether a `token_endpoint_auth_method` needs a client secret.
fn auth_method_is_confidential(method: &str) -> bool {
    method != "none"
}

/// The client behind `client`, if `token` is its registration access
/// token. An unknown client and a wrong token are refused alike.
fn authorized(
    ctx: &Context,
    client: Option<Client>,
    token: &str,
) -> Result<Client, RegistrationError> {
    const REFUSED: &str = "the registration access token is not valid for this client";
    // A MAC is checked whether or not there is a registration, so that
    // timing does not tell which client ids have one.
    let stored = client
        .as_ref()
        .and_then(|client| client.registration.as_ref())
        .map_or("", |registration| registration.access_token_hash.as_str());
    let check = ctx
        .sealer
        .check_mac(REGISTRATION_TOKEN_PURPOSE, token.as_bytes(), stored);
    match client {
        Some(client) if check == MacCheck::Matches && !stored.is_empty() => Ok(client),
        _ => Err(RegistrationError::InvalidToken(REFUSED)),
    }
}

const REFUSED_INITIAL: &str = "the initial access token is not valid: ask an administrator for one (POST /admin/api/registration-tokens)";

/// Whether `hash` is the configured initial access token's.
fn is_configured(ctx: &Context, hash: &str) -> bool {
    ctx.settings
        .oauth
        .initial_access_token
        .as_ref()
        .is_some_and(|configured| {
            let expected = ctx
                .sealer
                .mac(INITIAL_TOKEN_PURPOSE, configured.expose().as_bytes());
            crate::secret::constant_time_eq(hash.as_bytes(), expected.as_bytes())
        })
}

/// Whether a minted token is still good at `now`.
fn usable(minted: &InitialAccessToken, now: OffsetDateTime) -> bool {
    minted.expires_at > now && minted.uses_left > 0
}

/// Refuses a token that is neither the configured one nor a usable
/// minted one; reads only.
fn check_initial_token(ctx: &Context, token: &str) -> Result<(), RegistrationError> {
    let hash = ctx.sealer.mac(INITIAL_TOKEN_PURPOSE, token.as_bytes());
    if is_configured(ctx, &hash) {
        return Ok(());
    }
    let now = ctx.now();
    match ctx.store.read(|tx| tx.initial_access_token(&hash))? {
        Some(minted) if usable(&minted, now) => Ok(()),
        _ => Err(RegistrationError::InvalidToken(REFUSED_INITIAL)),
    }
}

/// Spends one use of an initial access token: the configured one, which
/// never runs out, or a minted one, removed once spent (the purge removes
/// expired ones).
fn spend_initial_token(ctx: &Context, token: &str) -> Result<(), RegistrationError> {
    let hash = ctx.sealer.mac(INITIAL_TOKEN_PURPOSE, token.as_bytes());
    if is_configured(ctx, &hash) {
        return Ok(());
    }
    let now = ctx.now();
    ctx.store.write(|tx| {
        // Read again in the write: two registrations at once spend a
        // one-use token once.
        let Some(mut minted) = tx
            .initial_access_token(&hash)?
            .filter(|minted| usable(minted, now))
        else {
            return Err(RegistrationError::InvalidToken(REFUSED_INITIAL));
        };
        minted.uses_left -= 1;
        if minted.uses_left == 0 {
            tx.delete_initial_access_token(&hash)?;
        } else {
            tx.put_initial_access_token(&hash, &minted)?;
        }
        Ok(())
    })
}

/// The `[[clients]]` entry that `metadata` registers as `client_id`, and
/// its `token_endpoint_auth_method`.
fn seed(client_id: &str, metadata: &Metadata) -> Result<(SeedClient, String), RegistrationError> {
    let invalid = |message: String| Err(RegistrationError::InvalidMetadata(message));
    let auth_method = metadata
        .token_endpoint_auth_method
        .clone()
        .unwrap_or_else(|| "client_secret_basic".into());
    if !["none", "client_secret_basic", "client_secret_post"].contains(&auth_method.as_str()) {
        return invalid(format!(
            "token_endpoint_auth_method `{auth_method}` is not supported: use none, client_secret_basic or client_secret_post"
        ));
    }
    // RFC 7591 §2: the defaults when omitted.
    let grant_types = metadata
        .grant_types
        .clone()
        .unwrap_or_else(|| vec!["authorization_code".into()]);
    let response_types = metadata
        .response_types
        .clone()
        .unwrap_or_else(|| vec!["code".into()]);
    if grant_types
        .iter()
        .any(|grant| grant == "client_credentials")
    {
        return invalid(
            "client_credentials is not open to registration: its tokens carry scopes no user consented to; ask an administrator to create such a client".into(),
        );
    }
    if grant_types
        .iter()
        .any(|grant| grant == GrantType::DeviceCode.as_str())
    {
        return invalid(
            "the device_code grant is not open to registration: its consent page is reached by a code anyone can send, so an unvetted client name invites phishing (RFC 8628 §5.4); ask an administrator to create such a client".into(),
        );
    }
    if let Some(other) = response_types.iter().find(|r| *r != "code") {
        return invalid(format!(
            "response_type `{other}` is not supported: tessera offers the code flow only"
        ));
    }
    let code_grant = grant_types
        .iter()
        .any(|grant| grant == "authorization_code");
    if code_grant != response_types.iter().any(|r| r == "code") {
        return invalid(
            "grant_types and response_types disagree: the authorization_code grant goes with response_type code (RFC 7591 §2.1)".into(),
        );
    }
    if let Some(name) = &metadata.client_name
        && (name.chars().count() > MAX_NAME_CHARS || name.chars().any(is_hidden))
    {
        return invalid(format!(
            "client_name must be at most {MAX_NAME_CHARS} characters, without control or bidirectional formatting characters"
        ));
    }
    // The consent page shows the first two, and tessera itself posts
    // logout tokens to the third: a client that registered itself may not
    // make users' browsers, or tessera, reach into their own machine.
    for (field, uri) in [
        ("logo_uri", &metadata.logo_uri),
        ("client_uri", &metadata.client_uri),
        ("backchannel_logout_uri", &metadata.backchannel_logout_uri),
    ] {
        if uri
            .as_deref()
            .is_some_and(|uri| !uri.starts_with("https://"))
        {
            return invalid(format!("{field} must be an https URL"));
        }
    }
    // tessera itself posts to this one: not to its own machine or network
    // (a registrant could otherwise reach services behind the firewall).
    // A public name that resolves to a private address still passes; an
    // administrator's client may name any host.
    if let Some(uri) = &metadata.backchannel_logout_uri
        && !url::Url::parse(uri).is_ok_and(|url| is_public_host(&url))
    {
        return invalid(
            "backchannel_logout_uri must name a public host: not localhost, a name without a \
             dot, or a loopback, private or link-local address"
                .to_owned(),
        );
    }
    let scopes: Option<Vec<&str>> = metadata
        .scope
        .as_deref()
        .map(|scope| scope.split_whitespace().collect());
    if scopes
        .as_ref()
        .is_some_and(|scopes| scopes.contains(&ADMIN_SCOPE))
    {
        return invalid(format!(
            "the scope {ADMIN_SCOPE} is for clients an administrator creates"
        ));
    }
    // Through the `[[clients]]` reader, so that its defaults apply.
    let mut entry = serde_json::json!({
        "client_id": client_id,
        "name": metadata.client_name.clone().unwrap_or_else(|| client_id.to_owned()),
        "redirect_uris": metadata.redirect_uris,
        "post_logout_redirect_uris": metadata.post_logout_redirect_uris,
        "grant_types": grant_types,
        "logo_uri": metadata.logo_uri,
        "client_uri": metadata.client_uri,
        "backchannel_logout_uri": metadata.backchannel_logout_uri,
        "backchannel_logout_session_required": metadata.backchannel_logout_session_required,
        "require_pkce": true,
        "dpop_bound_access_tokens": metadata.dpop_bound_access_tokens,
    });
    if let Some(scopes) = scopes {
        entry["scopes"] = serde_json::json!(scopes);
    }
    let seed = serde_json::from_value(entry)
        .map_err(|err| RegistrationError::InvalidMetadata(err.to_string()))?;
    Ok((seed, auth_method))
}

/// A control character, or one that reorders or hides text (bidi
/// overrides, zero-width characters): a name could look like another's.
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A refusal of `clients` in the words of RFC 7591 §3.2.2.
fn refusal(err: ClientError) -> RegistrationError {
    match err {
        ClientError::Invalid {
            field: "redirect_uris" | "post_logout_redirect_uris",
            message,
        } => RegistrationError::InvalidRedirectUri(message),
        ClientError::Invalid { field, message } => {
            RegistrationError::InvalidMetadata(format!("{}: {message}", wire_name(field)))
        }
        ClientError::Store(err) => RegistrationError::Store(err),
        other => RegistrationError::InvalidMetadata(other.to_string()),
    }
}

/// The RFC 7591 name of a `[[clients]]` field.
fn wire_name(field: &str) -> &str {
    match field {
        "name" => "client_name",
        "scopes" => "scope",
        other => other,
    }
}

/// The audit record of a client's `action` on its own registration.
fn event(action: &'static str, client_id: &str, ip: Option<&str>) -> audit::Event {
    audit::Event::success(Kind::Client(action), Party::client(client_id)).from_ip(ip)
}

/// How a stored client's registration is answered; its secret and
/// registration access token are not kept, so never in it.
fn answer(client: &Client) -> Registered {
    let auth_method = client.registration.as_ref().map_or_else(
        || "client_secret_basic".to_owned(),
        |r| r.token_endpoint_auth_method.clone(),
    );
    Registered {
        client_id: client.client_id.clone(),
        client_secret: None,
        client_id_issued_at: client.created_at.unix_timestamp(),
        client_secret_expires_at: client.secret_hash.is_some().then_some(0),
        registration_access_token: None,
        registration_client_uri: String::new(),
        client_name: client.name.clone(),
        redirect_uris: client.redirect_uris.clone(),
        post_logout_redirect_uris: client.post_logout_redirect_uris.clone(),
        grant_types: client.grant_types.clone(),
        response_types: if client.grant_types.iter().any(|g| g == "authorization_code") {
            vec!["code".into()]
        } else {
            Vec::new()
        },
        token_endpoint_auth_method: auth_method,
        scope: client.scopes.join(" "),
        client_uri: client.client_uri.clone(),
        logo_uri: client.logo_uri.clone(),
        backchannel_logout_uri: client.backchannel_logout_uri.clone(),
        backchannel_logout_session_required: client.backchannel_logout_session_required,
        dpop_bound_access_tokens: client.dpop_bound_access_tokens,
    }
}

/// Whether `url`'s host is on the public internet, as far as its text
/// says: a dotted name other than `localhost`, or a global address.
fn is_public_host(url: &url::Url) -> bool {
    use std::net::Ipv4Addr;
    let public_v4 = |ip: Ipv4Addr| {
        let [a, b, ..] = ip.octets();
        !(ip.is_loopback()
            || ip.is_private()
            || ip.is_link_local()
            || ip.is_unspecified()
            || ip.is_broadcast()
            || ip.is_documentation()
            || a == 0
            // 100.64.0.0/10, carrier-grade NAT
            || (a == 100 && (64..128).contains(&b)))
    };
    match url.host() {
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name.contains('.') && name != "localhost" && !name.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => public_v4(ip),
        Some(url::Host::Ipv6(ip)) => match ip.to_ipv4_mapped() {
            Some(v4) => public_v4(v4),
            None => {
                let first = ip.segments()[0];
                !(ip.is_loopback()
                    || ip.is_unspecified()
                    || (first & 0xfe00) == 0xfc00 // unique local
                    || (first & 0xffc0) == 0xfe80) // link-local
            }
        },
        None => false,
    }
}
