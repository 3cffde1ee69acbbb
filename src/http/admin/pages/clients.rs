//! `/admin/clients`: list, create (a generated secret shown once), edit
//! redirect URIs, scopes, grant types and first-party, rotate the secret,
//! delete.

use super::{ADVICE, ActionForm, AdminPage, Done, DoneQuery, managed, refused};
use crate::config::SeedClient;
use crate::context::Context;
use crate::http::error::{PageError, render};
use crate::http::extract::{CsrfForm, PageForm};
use crate::http::pages::account::display_time;
use crate::http::paths;
use crate::oauth::clients::{self, ClientChanges, ClientError};
use crate::secret::SecretString;
use crate::store::Client;
use crate::telemetry::blocking;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::ADMIN_CLIENTS_PAGE, web::get().to(get_clients))
        .route(paths::ADMIN_CLIENTS_PAGE, web::post().to(post_create))
        .route(paths::ADMIN_CLIENT_PAGE, web::get().to(get_client))
        .route(paths::ADMIN_CLIENT_PAGE, web::post().to(post_edit))
        .route(
            paths::ADMIN_CLIENT_SECRET_PAGE,
            web::post().to(post_rotate_secret),
        )
        .route(paths::ADMIN_CLIENT_DELETE, web::post().to(post_delete));
}

/// Clients listed per page.
const PAGE_SIZE: usize = 50;

fn client_path(client_id: &str) -> String {
    let id: String = url::form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
    format!("{}/{id}", paths::ADMIN_CLIENTS_PAGE)
}

/// A client change the domain refused, as a page.
fn client_refusal(err: ClientError) -> PageError {
    let message = err.to_string();
    match err {
        ClientError::ManagedByConfig(_) => managed(message),
        ClientError::NotFound(_) => not_found(),
        ClientError::Invalid { .. } | ClientError::Unreadable(_) | ClientError::Public(_) => {
            refused(StatusCode::BAD_REQUEST, message)
        }
        ClientError::Exists(_) => refused(StatusCode::CONFLICT, message),
        err @ ClientError::Store(_) => PageError::internal(err),
    }
}

fn not_found() -> PageError {
    PageError::new(
        StatusCode::NOT_FOUND,
        "Client not found",
        "There is no such client (any more). Go back to the list of clients.",
    )
}

/// Space- or line-separated values of a form field.
fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

struct ClientRow {
    path: String,
    client_id: String,
    name: String,
    confidential: bool,
    first_party: bool,
    managed_by_config: bool,
}

impl From<&Client> for ClientRow {
    fn from(client: &Client) -> Self {
        Self {
            path: client_path(&client.client_id),
            client_id: client.client_id.clone(),
            name: client.name.clone(),
            confidential: client.secret_hash.is_some(),
            first_party: client.first_party,
            managed_by_config: client.managed_by_config,
        }
    }
}

#[derive(Template)]
#[template(path = "admin_clients.html")]
struct ClientsPage {
    csrf_token: String,
    done: Option<&'static str>,
    clients: Vec<ClientRow>,
    next: Option<String>,
}

/// `?cursor=`: the client_id the previous page ended with.
#[derive(Deserialize)]
pub struct PageQuery {
    cursor: Option<String>,
}

/// `GET /admin/clients?cursor=`: the clients by client_id, a page at a
/// time, and the form to create one.
pub async fn get_clients(
    page: AdminPage,
    ctx: web::Data<Context>,
    query: web::Query<PageQuery>,
    done: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let mut all = blocking(move || clients::list(&ctx)).await??;
    all.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    let after = query.into_inner().cursor.unwrap_or_default();
    let mut listed: Vec<&Client> = all
        .iter()
        .filter(|client| client.client_id.as_str() > after.as_str())
        .take(PAGE_SIZE + 1)
        .collect();
    let next = (listed.len() > PAGE_SIZE).then(|| {
        listed.truncate(PAGE_SIZE);
        let last = listed.last().map_or("", |client| client.client_id.as_str());
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("cursor", last)
            .finish();
        format!("{}?{query}", paths::ADMIN_CLIENTS_PAGE)
    });
    render(
        StatusCode::OK,
        &ClientsPage {
            csrf_token: page.csrf_token,
            done: done.message(),
            clients: listed.into_iter().map(ClientRow::from).collect(),
            next,
        },
    )
}

#[derive(Template)]
#[template(path = "admin_client_secret.html")]
struct SecretPage {
    path: String,
    client_id: String,
    secret: String,
    created: bool,
}

/// The page that shows a new secret, the only time it is shown: never
/// cached.
fn secret_page(
    client_id: &str,
    secret: &SecretString,
    created: bool,
) -> Result<HttpResponse, PageError> {
    let mut response = render(
        StatusCode::OK,
        &SecretPage {
            path: client_path(client_id),
            client_id: client_id.to_owned(),
            secret: secret.expose().to_owned(),
            created,
        },
    )?;
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

#[derive(Deserialize)]
pub struct CreateForm {
    client_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    redirect_uris: String,
    #[serde(default)]
    scopes: String,
    #[serde(default)]
    grant_types: String,
    /// Checkboxes: present when ticked.
    public: Option<String>,
    first_party: Option<String>,
}

impl PageForm for CreateForm {
    const ADVICE: &'static str = ADVICE;
}

/// The new client's metadata from the form (what it leaves empty takes the
/// config file's default), and whether the client is confidential.
fn new_client(form: &CreateForm) -> Result<(SeedClient, bool), ClientError> {
    let mut fields = serde_json::Map::new();
    fields.insert("client_id".into(), form.client_id.trim().into());
    if !form.name.trim().is_empty() {
        fields.insert("name".into(), form.name.trim().into());
    }
    fields.insert("redirect_uris".into(), words(&form.redirect_uris).into());
    for (field, text) in [("scopes", &form.scopes), ("grant_types", &form.grant_types)] {
        if !text.trim().is_empty() {
            fields.insert(field.into(), words(text).into());
        }
    }
    fields.insert("first_party".into(), form.first_party.is_some().into());
    fields.insert("public".into(), form.public.is_some().into());
    clients::new_metadata(fields.into())
}

/// `POST /admin/clients`: creates a client; a confidential one's secret is
/// shown on the answer, once.
pub async fn post_create(
    page: AdminPage,
    ctx: web::Data<Context>,
    CsrfForm(form): CsrfForm<CreateForm>,
) -> Result<HttpResponse, PageError> {
    let (seed, confidential) = new_client(&form).map_err(client_refusal)?;
    let (client, secret) = blocking(move || clients::create(&ctx, &seed, confidential, &page.by))
        .await?
        .map_err(client_refusal)?;
    match secret {
        Some(secret) => secret_page(&client.client_id, &secret, true),
        None => Ok(Done::ClientSaved.at(&client_path(&client.client_id))),
    }
}

#[derive(Template)]
#[template(path = "admin_client.html")]
struct ClientPage {
    csrf_token: String,
    done: Option<&'static str>,
    row: ClientRow,
    redirect_uris: String,
    scopes: String,
    grant_types: String,
    created: String,
}

/// `GET /admin/clients/{id}`.
pub async fn get_client(
    page: AdminPage,
    ctx: web::Data<Context>,
    id: web::Path<String>,
    done: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let client = blocking(move || clients::get(&ctx, &id))
        .await??
        .ok_or_else(not_found)?;
    render(
        StatusCode::OK,
        &ClientPage {
            csrf_token: page.csrf_token,
            done: done.message(),
            row: ClientRow::from(&client),
            redirect_uris: client.redirect_uris.join("\n"),
            scopes: client.scopes.join(" "),
            grant_types: client.grant_types.join(" "),
            created: display_time(client.created_at),
        },
    )
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    redirect_uris: String,
    #[serde(default)]
    scopes: String,
    #[serde(default)]
    grant_types: String,
    first_party: Option<String>,
}

impl PageForm for EditForm {
    const ADVICE: &'static str = ADVICE;
}

/// `POST /admin/clients/{id}`: saves the edited metadata, checked as a
/// `[[clients]]` entry would be.
pub async fn post_edit(
    page: AdminPage,
    ctx: web::Data<Context>,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<EditForm>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let path = client_path(&id);
    let name = form.name.trim();
    let changes = ClientChanges {
        name: (!name.is_empty()).then(|| name.to_owned()),
        redirect_uris: Some(words(&form.redirect_uris)),
        scopes: Some(words(&form.scopes)),
        grant_types: Some(words(&form.grant_types)),
        first_party: Some(form.first_party.is_some()),
        ..ClientChanges::default()
    };
    blocking(move || clients::update(&ctx, &id, changes, &page.by))
        .await?
        .map_err(client_refusal)?;
    Ok(Done::ClientSaved.at(&path))
}

/// `POST /admin/clients/{id}/secret`: a new secret, shown once; the old
/// one stops working at once.
pub async fn post_rotate_secret(
    page: AdminPage,
    ctx: web::Data<Context>,
    id: web::Path<String>,
    _: CsrfForm<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let secret = {
        let id = id.clone();
        blocking(move || clients::rotate_secret(&ctx, &id, &page.by))
            .await?
            .map_err(client_refusal)?
    };
    secret_page(&id, &secret, false)
}

/// `POST /admin/clients/{id}/delete`.
pub async fn post_delete(
    page: AdminPage,
    ctx: web::Data<Context>,
    id: web::Path<String>,
    _: CsrfForm<ActionForm>,
) -> Result<HttpResponse, PageError> {
    blocking(move || clients::delete(&ctx, &id, &page.by))
        .await?
        .map_err(client_refusal)?;
    Ok(Done::ClientDeleted.at(paths::ADMIN_CLIENTS_PAGE))
}
