//! `/admin/api/clients`: register, read, change, delete OAuth clients and
//! rotate their secrets. What a client may declare is checked exactly as a
//! `[[clients]]` entry; the running server uses a change on the next
//! request.

use super::Items;
use crate::http::error::AdminError;
use crate::http::extract::AdminCaller;
use crate::http::paths;
use crate::jwa::SigningAlg;
use crate::oauth::Provider;
use crate::oauth::clients::{self, ClientChanges, ClientError};
use crate::oauth::registration;
use crate::store::Client;
use crate::telemetry::blocking;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

/// Registers the routes under `/admin/api/clients`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::ADMIN_CLIENTS, web::get().to(get_clients))
        .route(paths::ADMIN_CLIENTS, web::post().to(post_clients))
        .route(paths::ADMIN_CLIENT, web::get().to(get_client))
        .route(paths::ADMIN_CLIENT, web::patch().to(patch_client))
        .route(paths::ADMIN_CLIENT, web::delete().to(delete_client))
        .route(
            paths::ADMIN_CLIENT_SECRET,
            web::post().to(post_client_secret),
        )
        .route(
            paths::ADMIN_REGISTRATION_TOKENS,
            web::post().to(post_registration_token),
        );
}

/// A client as the API shows one: its metadata as in `[[clients]]`, never
/// its secret.
#[derive(Serialize)]
struct ClientResponse {
    client_id: String,
    /// Has a secret (else a public client, which must use PKCE).
    confidential: bool,
    name: String,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    scopes: Vec<String>,
    grant_types: Vec<String>,
    first_party: bool,
    logo_uri: Option<String>,
    client_uri: Option<String>,
    require_pkce: bool,
    audience: Vec<String>,
    access_token_ttl_secs: Option<u64>,
    refresh_token_ttl_secs: Option<u64>,
    signing_alg: Option<SigningAlg>,
    journey: Option<String>,
    require_nonce: bool,
    token_exchange: bool,
    resource_server: bool,
    /// Its authorization requests must be pushed first (RFC 9126).
    require_pushed_authorization_requests: bool,
    /// Where it takes back-channel logout tokens.
    backchannel_logout_uri: Option<String>,
    backchannel_logout_session_required: bool,
    /// Its token requests must carry a DPoP proof (RFC 9449 §5.2).
    dpop_bound_access_tokens: bool,
    /// Declared in the config file: changes are refused (409).
    managed_by_config: bool,
    /// Registered by itself (RFC 7591), at `/oauth2/register`.
    self_registered: bool,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

impl From<Client> for ClientResponse {
    fn from(client: Client) -> Self {
        Self {
            client_id: client.client_id,
            confidential: client.secret_hash.is_some(),
            name: client.name,
            redirect_uris: client.redirect_uris,
            post_logout_redirect_uris: client.post_logout_redirect_uris,
            scopes: client.scopes,
            grant_types: client.grant_types,
            first_party: client.first_party,
            logo_uri: client.logo_uri,
            client_uri: client.client_uri,
            require_pkce: client.require_pkce,
            audience: client.audience,
            access_token_ttl_secs: client.access_token_ttl_secs,
            refresh_token_ttl_secs: client.refresh_token_ttl_secs,
            signing_alg: client.signing_alg,
            journey: client.journey,
            require_nonce: client.require_nonce,
            token_exchange: client.token_exchange,
            resource_server: client.resource_server,
            require_pushed_authorization_requests: client.require_pushed_authorization_requests,
            backchannel_logout_uri: client.backchannel_logout_uri,
            backchannel_logout_session_required: client.backchannel_logout_session_required,
            dpop_bound_access_tokens: client.dpop_bound_access_tokens,
            managed_by_config: client.managed_by_config,
            self_registered: client.registration.is_some(),
            created_at: client.created_at,
        }
    }
}

/// A new client, with the secret generated for it (shown once).
#[derive(Serialize)]
struct CreatedResponse {
    #[serde(flatten)]
    client: ClientResponse,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

/// `GET /admin/api/clients`: every client, by client_id.
pub async fn get_clients(
    _: AdminCaller,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, AdminError> {
    let all = blocking(move || clients::list(&provider.ctx)).await??;
    Ok(HttpResponse::Ok().json(Items::<ClientResponse>::all(all)))
}

/// Makes sure the running server can sign for a client that names an
/// algorithm no other client used.
fn signable(provider: &Provider, client: &Client) -> Result<(), AdminError> {
    if let Some(alg) = client.signing_alg {
        provider.ensure_signing_key(alg)?;
    }
    Ok(())
}

/// `POST /admin/api/clients`: 201 with the client and, for a confidential
/// one, its generated `client_secret`, shown this once.
pub async fn post_clients(
    AdminCaller(by): AdminCaller,
    provider: web::Data<Provider>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AdminError> {
    let (seed, confidential) = clients::new_metadata(body.into_inner())?;
    let (client, secret) = blocking(move || {
        let created = clients::create(&provider.ctx, &seed, confidential, &by)?;
        signable(&provider, &created.0)?;
        Ok::<_, AdminError>(created)
    })
    .await??;
    Ok(HttpResponse::Created()
        .insert_header(("cache-control", "no-store"))
        .json(CreatedResponse {
            client: client.into(),
            client_secret: secret.map(|secret| secret.expose().to_owned()),
        }))
}

/// `GET /admin/api/clients/{client_id}`.
pub async fn get_client(
    _: AdminCaller,
    provider: web::Data<Provider>,
    client_id: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    let client = blocking(move || {
        clients::get(&provider.ctx, &client_id)?
            .ok_or_else(|| ClientError::NotFound(client_id.into_inner()))
    })
    .await??;
    Ok(HttpResponse::Ok().json(ClientResponse::from(client)))
}

/// `PATCH /admin/api/clients/{client_id}`: any metadata but the client_id
/// and the secret.
pub async fn patch_client(
    AdminCaller(by): AdminCaller,
    provider: web::Data<Provider>,
    client_id: web::Path<String>,
    changes: web::Json<ClientChanges>,
) -> Result<HttpResponse, AdminError> {
    let client = blocking(move || {
        let client = clients::update(&provider.ctx, &client_id, changes.into_inner(), &by)?;
        signable(&provider, &client)?;
        Ok::<_, AdminError>(client)
    })
    .await??;
    Ok(HttpResponse::Ok().json(ClientResponse::from(client)))
}

/// `DELETE /admin/api/clients/{client_id}`: 204; the client stops
/// authenticating at once.
pub async fn delete_client(
    AdminCaller(by): AdminCaller,
    provider: web::Data<Provider>,
    client_id: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    blocking(move || clients::delete(&provider.ctx, &client_id, &by)).await??;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize)]
struct SecretResponse {
    client_secret: String,
}

/// `POST /admin/api/clients/{client_id}/secret`: a new generated secret,
/// shown this once; the old one stops working.
pub async fn post_client_secret(
    AdminCaller(by): AdminCaller,
    provider: web::Data<Provider>,
    client_id: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    let secret = blocking(move || clients::rotate_secret(&provider.ctx, &client_id, &by)).await??;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(SecretResponse {
            client_secret: secret.expose().to_owned(),
        }))
}

/// What an administrator asks of a new initial access token.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRegistrationToken {
    /// Seconds it stays valid: a day unless given, at most 30 days.
    #[serde(default = "a_day")]
    expires_in: u32,
    /// Registrations it allows: one unless given.
    #[serde(default = "one")]
    uses: u32,
}

fn a_day() -> u32 {
    24 * 60 * 60
}

fn one() -> u32 {
    1
}

/// `POST /admin/api/registration-tokens`: 201 with an initial access
/// token for `POST /oauth2/register` (RFC 7591 §3), shown this once.
pub async fn post_registration_token(
    AdminCaller(by): AdminCaller,
    provider: web::Data<Provider>,
    body: web::Json<NewRegistrationToken>,
) -> Result<HttpResponse, AdminError> {
    const MAX_SECS: u32 = 30 * 24 * 60 * 60;
    const MAX_USES: u32 = 1000;
    let NewRegistrationToken { expires_in, uses } = body.into_inner();
    if expires_in == 0 || expires_in > MAX_SECS || uses == 0 || uses > MAX_USES {
        return Err(AdminError::bad_request(format!(
            "expires_in must be between 1 and {MAX_SECS} seconds, and uses between 1 and {MAX_USES}"
        )));
    }
    let ttl = time::Duration::seconds(expires_in.into());
    let minted = blocking(move || registration::mint(&provider.ctx, ttl, uses, &by)).await??;
    Ok(HttpResponse::Created()
        .insert_header(("cache-control", "no-store"))
        .json(minted))
}
