//! The token endpoint's grants (RFC 6749 §4.1.3, §6, §4.4), revocation
//! (RFC 7009) and introspection (RFC 7662). Access tokens are RFC 9068
//! JWTs; refresh tokens are opaque, stored hashed, rotated at every use,
//! and a reused rotated token (past a short grace period) revokes its
//! whole family.
//!
//! `aud` of an access token is the client's configured `audience`, or the
//! client_id when it has none: the resource servers a client calls are
//! named in its configuration, and they check `aud`.

use crate::config::seconds;
use crate::context::Context;
use crate::oauth::authorize::verifier_matches;
use crate::oauth::{Authentication, ErrorKind, OAuthError, scopes};
use crate::secret::{Token, random_id};
use crate::store::{
    Client, Issued, RefreshToken, StoreError, User, WriteTx, clients as stored_clients, grants,
    users,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The form of a token request (client credentials already taken out).
#[derive(Debug, Default, Deserialize)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
    /// OpenID Connect: when `openid` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// RFC 8693: for token exchange responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
}

/// RFC 9068 access token claims.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Vec<String>,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub auth_time: Option<i64>,
}

/// Who a token is for: a user (with when they signed in) or the client
/// itself (`client_credentials`).
enum Subject<'a> {
    User(&'a User, &'a Authentication),
    Client,
}

/// Runs a grant for an authenticated client.
pub fn exchange(
    ctx: &Context,
    client: &Client,
    request: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let grant = request
        .grant_type
        .as_deref()
        .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    if !crate::oauth::clients::GRANT_TYPES.contains(&grant) {
        return Err(OAuthError::new(
            ErrorKind::UnsupportedGrantType,
            format!("grant_type `{grant}` is not supported"),
        ));
    }
    if !client.grant_types.iter().any(|g| g == grant) {
        return Err(OAuthError::new(
            ErrorKind::UnauthorizedClient,
            format!("this client may not use the {grant} grant"),
        ));
    }
    match grant {
        "authorization_code" => redeem_code(ctx, client, request),
        "refresh_token" => refresh(ctx, client, request),
        _ => client_credentials(ctx, client, request),
    }
}

fn access_ttl(ctx: &Context, client: &Client) -> time::Duration {
    seconds(
        client
            .access_token_ttl_secs
            .unwrap_or(ctx.settings.oauth.access_token_ttl_secs),
    )
}

fn refresh_ttl(ctx: &Context, client: &Client) -> time::Duration {
    seconds(
        client
            .refresh_token_ttl_secs
            .unwrap_or(ctx.settings.oauth.refresh_token_ttl_secs),
    )
}

/// Signs an access token; returns it, its jti and expiry.
fn mint(
    ctx: &Context,
    client: &Client,
    subject: &Subject<'_>,
    scope: &[String],
) -> Result<(String, Issued), OAuthError> {
    let now = ctx.now();
    let expires = now + access_ttl(ctx, client);
    let (sub, auth_time) = match subject {
        Subject::User(user, auth) => (user.id.clone(), Some(auth.auth_time.unix_timestamp())),
        Subject::Client => (client.client_id.clone(), None),
    };
    let claims = AccessClaims {
        iss: ctx.issuer.clone(),
        sub,
        aud: if client.audience.is_empty() {
            vec![client.client_id.clone()]
        } else {
            client.audience.clone()
        },
        exp: expires.unix_timestamp(),
        iat: now.unix_timestamp(),
        jti: random_id(),
        client_id: client.client_id.clone(),
        scope: scopes::join(scope),
        auth_time,
    };
    let alg = client.signing_alg.unwrap_or(ctx.settings.oauth.signing_alg);
    let keys = ctx.keys().map_err(|err| OAuthError::server(&err))?;
    let token = keys
        .sign(alg, "at+jwt", &claims)
        .map_err(|err| OAuthError::server(&err))?;
    Ok((
        token,
        Issued {
            jti: claims.jti,
            access_expires_at: expires,
            family: None,
        },
    ))
}

/// Stores a new refresh token in `family`.
fn new_refresh(
    ctx: &Context,
    tx: &WriteTx,
    client: &Client,
    user: &User,
    scope: &[String],
    auth: &Authentication,
    family: &str,
) -> Result<Token, StoreError> {
    let token = Token::generate();
    grants::put_refresh(
        tx,
        &token.hash(),
        &RefreshToken {
            family: family.to_owned(),
            client_id: client.client_id.clone(),
            user_id: user.id.clone(),
            scopes: scope.to_vec(),
            auth_time: auth.auth_time,
            amr: auth.amr.clone(),
            acr: auth.acr.clone(),
            expires_at: ctx.now() + refresh_ttl(ctx, client),
            rotated_at: None,
        },
    )?;
    Ok(token)
}

fn response(
    ctx: &Context,
    client: &Client,
    access: String,
    refresh: Option<Token>,
    scope: &[String],
) -> TokenResponse {
    TokenResponse {
        access_token: access,
        token_type: "Bearer",
        expires_in: access_ttl(ctx, client).whole_seconds(),
        refresh_token: refresh.map(|t| t.expose().to_owned()),
        scope: scopes::join(scope),
        id_token: None,
        issued_token_type: None,
    }
}

/// A user's token response, with an ID token when `openid` was granted.
#[allow(clippy::too_many_arguments)]
fn user_response(
    ctx: &Context,
    client: &Client,
    user: &User,
    auth: &Authentication,
    scope: &[String],
    nonce: Option<&str>,
    access: String,
    refresh: Option<Token>,
) -> Result<TokenResponse, OAuthError> {
    let id_token = scope
        .iter()
        .any(|s| s == "openid")
        .then(|| crate::oidc::id_token(ctx, client, user, auth, scope, nonce, &access))
        .transpose()?;
    Ok(TokenResponse {
        id_token,
        ..response(ctx, client, access, refresh, scope)
    })
}

fn wants_refresh(client: &Client) -> bool {
    client.grant_types.iter().any(|g| g == "refresh_token")
}

/// The user of a grant, if they may still receive tokens.
fn active_user(tx: &impl crate::store::Read, user_id: &str) -> Result<User, OAuthError> {
    users::get_by_id(tx, user_id)?
        .filter(|user| !user.disabled)
        .ok_or_else(|| {
            OAuthError::invalid_grant("the user of this grant no longer exists or is disabled")
        })
}

fn redeem_code(
    ctx: &Context,
    client: &Client,
    request: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let code = request
        .code
        .as_deref()
        .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let hash = Token::from_presented(code).hash();
    let now = ctx.now();
    let stored = ctx.store.read(|tx| grants::get_code(tx, &hash))?;
    let Some(stored) = stored else {
        return Err(OAuthError::invalid_grant("the code is invalid"));
    };
    if let Some(issued) = &stored.redeemed {
        // RFC 6749 §4.1.2 / RFC 9700 §4.5: a code used twice revokes what
        // it issued.
        let issued = issued.clone();
        ctx.store.write(|tx| {
            grants::revoke_jti(tx, &issued.jti, issued.access_expires_at)?;
            if let Some(family) = &issued.family {
                grants::delete_family(tx, family)?;
            }
            Ok::<_, StoreError>(())
        })?;
        tracing::warn!(client_id = %stored.client_id, "authorization code replayed; its tokens are revoked");
        return Err(OAuthError::invalid_grant("the code was already used"));
    }
    if stored.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if stored.expires_at <= now {
        return Err(OAuthError::invalid_grant("the code has expired"));
    }
    match &request.redirect_uri {
        Some(uri) if *uri != stored.redirect_uri => {
            return Err(OAuthError::invalid_grant(
                "redirect_uri differs from the authorization request",
            ));
        }
        None if client.redirect_uris.len() > 1 => {
            return Err(OAuthError::invalid_request("redirect_uri is required"));
        }
        _ => {}
    }
    match (&stored.code_challenge, request.code_verifier.as_deref()) {
        (Some(challenge), Some(verifier)) if verifier_matches(verifier, challenge) => {}
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier does not match the code_challenge",
            ));
        }
        (Some(_), None) => return Err(OAuthError::invalid_grant("code_verifier is required")),
        // RFC 9700 §2.1.1: a verifier for a code without a challenge is refused.
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "the code was issued without a code_challenge",
            ));
        }
        (None, None) => {}
    }
    let user = ctx
        .store
        .read(|tx| Ok(active_user(tx, &stored.user_id)))??;
    let auth = Authentication {
        auth_time: stored.auth_time,
        amr: stored.amr.clone(),
        acr: stored.acr.clone(),
    };
    let (access, mut issued) = mint(ctx, client, &Subject::User(&user, &auth), &stored.scopes)?;
    let refresh = ctx.store.write(|tx| {
        // Taken again inside the transaction: a concurrent redemption
        // loses here, and this one counts as the replay.
        let current = grants::get_code(tx, &hash)?;
        if current.as_ref().is_none_or(|c| c.redeemed.is_some()) {
            return Err(OAuthError::invalid_grant("the code was already used"));
        }
        let refresh = if wants_refresh(client) {
            let family = random_id();
            issued.family = Some(family.clone());
            Some(new_refresh(
                ctx,
                tx,
                client,
                &user,
                &stored.scopes,
                &auth,
                &family,
            )?)
        } else {
            None
        };
        let mut redeemed = stored.clone();
        redeemed.redeemed = Some(issued.clone());
        grants::put_code(tx, &hash, &redeemed)?;
        Ok(refresh)
    })?;
    user_response(
        ctx,
        client,
        &user,
        &auth,
        &stored.scopes,
        stored.nonce.as_deref(),
        access,
        refresh,
    )
}

fn refresh(
    ctx: &Context,
    client: &Client,
    request: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let presented = request
        .refresh_token
        .as_deref()
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let hash = Token::from_presented(presented).hash();
    let now = ctx.now();
    let grace = seconds(ctx.settings.oauth.refresh_reuse_grace_secs);
    let (new_token, user, token) = ctx.store.write(|tx| {
        let token = grants::get_refresh(tx, &hash)?
            .filter(|t| t.client_id == client.client_id)
            .ok_or_else(|| OAuthError::invalid_grant("the refresh token is invalid"))?;
        if token.expires_at <= now {
            return Err(OAuthError::invalid_grant("the refresh token has expired"));
        }
        if let Some(rotated_at) = token.rotated_at
            && rotated_at + grace < now
        {
            grants::delete_family(tx, &token.family)?;
            tracing::warn!(client_id = %client.client_id, "rotated refresh token reused; its family is revoked");
            return Err(OAuthError::invalid_grant("the refresh token was already used"));
        }
        let scope = match request.scope.as_deref() {
            None => token.scopes.clone(),
            Some(raw) => {
                let asked = scopes::parse(raw).ok_or_else(|| OAuthError::invalid_scope("the scope parameter is malformed"))?;
                // RFC 6749 §6: no scope beyond what was originally granted.
                if let Some(extra) = asked.iter().find(|s| !token.scopes.contains(s)) {
                    return Err(OAuthError::invalid_scope(format!("`{extra}` was not granted")));
                }
                asked
            }
        };
        let user = active_user(tx, &token.user_id)?;
        // The consent behind the grant must still stand.
        if !client.first_party && stored_clients::get_consent(tx, &user.id, &client.client_id)?.is_none() {
            grants::delete_family(tx, &token.family)?;
            return Err(OAuthError::invalid_grant("the user revoked this client's access"));
        }
        let mut rotated = token.clone();
        rotated.rotated_at = Some(token.rotated_at.unwrap_or(now));
        grants::put_refresh(tx, &hash, &rotated)?;
        let auth = Authentication {
            auth_time: token.auth_time,
            amr: token.amr.clone(),
            acr: token.acr.clone(),
        };
        let new_token = new_refresh(ctx, tx, client, &user, &scope, &auth, &token.family)?;
        let mut token = token;
        token.scopes = scope;
        Ok((new_token, user, token))
    })?;
    let auth = Authentication {
        auth_time: token.auth_time,
        amr: token.amr.clone(),
        acr: token.acr.clone(),
    };
    let (access, _) = mint(ctx, client, &Subject::User(&user, &auth), &token.scopes)?;
    // OpenID Connect Core §12.2: a refreshed ID token carries no nonce.
    user_response(ctx, client, &user, &auth, &token.scopes, None, access, Some(new_token))
}

fn client_credentials(
    ctx: &Context,
    client: &Client,
    request: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    if client.secret_hash.is_none() {
        return Err(OAuthError::new(
            ErrorKind::UnauthorizedClient,
            "a public client cannot use client_credentials",
        ));
    }
    let scope = match request.scope.as_deref() {
        None => client
            .scopes
            .iter()
            .filter(|s| !is_user_scope(s))
            .cloned()
            .collect(),
        Some(raw) => scopes::parse(raw)
            .ok_or_else(|| OAuthError::invalid_scope("the scope parameter is malformed"))?,
    };
    if let Some(bad) = scope
        .iter()
        .find(|s| !client.scopes.contains(s) || is_user_scope(s))
    {
        return Err(OAuthError::invalid_scope(format!(
            "`{bad}` cannot be granted to this client"
        )));
    }
    let (access, _) = mint(ctx, client, &Subject::Client, &scope)?;
    Ok(response(ctx, client, access, None, &scope))
}

/// Scopes about a user, which a client acting for itself cannot have.
fn is_user_scope(scope: &str) -> bool {
    matches!(scope, "openid" | "profile" | "email" | "offline_access")
}

/// RFC 7009: revokes a refresh token (its whole family) or an access token
/// (its `jti` until it expires) that was issued to `client`. Unknown
/// tokens are ignored, as the RFC asks.
pub fn revoke(ctx: &Context, client: &Client, token: &str) -> Result<(), OAuthError> {
    let hash = Token::from_presented(token).hash();
    let refresh = ctx.store.read(|tx| grants::get_refresh(tx, &hash))?;
    if let Some(refresh) = refresh.filter(|t| t.client_id == client.client_id) {
        ctx.store
            .write(|tx| grants::delete_family(tx, &refresh.family))?;
        return Ok(());
    }
    let keys = ctx.keys().map_err(|err| OAuthError::server(&err))?;
    if let Some(claims) = keys.verify::<AccessClaims>(token, &ctx.issuer)
        && claims.client_id == client.client_id
    {
        let expires = OffsetDateTime::from_unix_timestamp(claims.exp).unwrap_or(ctx.now());
        ctx.store
            .write(|tx| grants::revoke_jti(tx, &claims.jti, expires))?;
    }
    Ok(())
}

/// RFC 7662 §2.2: what introspection says of a token.
#[derive(Debug, Serialize)]
pub struct Introspection {
    pub active: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub details: Option<Details>,
}

/// The claims of an active token.
#[derive(Debug, Serialize)]
pub struct Details {
    pub scope: String,
    pub client_id: String,
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub token_type: &'static str,
    pub exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Vec<String>>,
    pub iss: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// RFC 7662: whether a token is active, with its claims.
pub fn introspect(ctx: &Context, token: &str) -> Result<Introspection, OAuthError> {
    let inactive = Introspection {
        active: false,
        details: None,
    };
    let keys = ctx.keys().map_err(|err| OAuthError::server(&err))?;
    if let Some(claims) = keys.verify::<AccessClaims>(token, &ctx.issuer) {
        let revoked = ctx
            .store
            .read(|tx| grants::is_jti_revoked(tx, &claims.jti))?;
        if revoked || claims.exp <= ctx.now().unix_timestamp() {
            return Ok(inactive);
        }
        let username = ctx
            .store
            .read(|tx| users::get_by_id(tx, &claims.sub))?
            .map(|u| u.username);
        return Ok(Introspection {
            active: true,
            details: Some(Details {
                scope: claims.scope,
                client_id: claims.client_id,
                sub: claims.sub,
                username,
                token_type: "Bearer",
                exp: claims.exp,
                iat: Some(claims.iat),
                aud: Some(claims.aud),
                iss: claims.iss,
                jti: Some(claims.jti),
            }),
        });
    }
    let hash = Token::from_presented(token).hash();
    let now = ctx.now();
    let grace = seconds(ctx.settings.oauth.refresh_reuse_grace_secs);
    let refresh = ctx.store.read(|tx| grants::get_refresh(tx, &hash))?;
    let Some(refresh) =
        refresh.filter(|t| t.expires_at > now && t.rotated_at.is_none_or(|at| at + grace >= now))
    else {
        return Ok(inactive);
    };
    let username = ctx
        .store
        .read(|tx| users::get_by_id(tx, &refresh.user_id))?
        .map(|u| u.username);
    Ok(Introspection {
        active: true,
        details: Some(Details {
            scope: scopes::join(&refresh.scopes),
            client_id: refresh.client_id,
            sub: refresh.user_id,
            username,
            token_type: "refresh_token",
            exp: refresh.expires_at.unix_timestamp(),
            iat: None,
            aud: None,
            iss: ctx.issuer.clone(),
            jti: None,
        }),
    })
}

/// A user's consents, for /account.
pub fn consents(
    ctx: &Context,
    user_id: &str,
) -> Result<Vec<(crate::store::Consent, Option<Client>)>, StoreError> {
    ctx.store.read(|tx| {
        stored_clients::consents_of(tx, user_id)?
            .into_iter()
            .map(|consent| {
                let client = stored_clients::get_by_id(tx, &consent.client_id)?;
                Ok((consent, client))
            })
            .collect()
    })
}

/// Revokes a user's consent to a client and that client's refresh tokens
/// for the user, in one transaction.
pub fn revoke_consent(ctx: &Context, user_id: &str, client_id: &str) -> Result<bool, StoreError> {
    ctx.store.write(|tx| {
        for family in grants::families_of(tx, user_id, client_id)? {
            grants::delete_family(tx, &family)?;
        }
        stored_clients::delete_consent(tx, user_id, client_id)
    })
}

/// Removes expired codes, refresh tokens and deny-list entries.
pub fn purge_expired(ctx: &Context) -> Result<usize, StoreError> {
    let now = ctx.now();
    let keep = ctx.settings.longest_access_token();
    ctx.store.write(|tx| grants::delete_expired(tx, now, keep))
}
