//! `/admin/audit`: the audit log, newest first, a page at a time, filtered
//! by a form (method GET: it changes nothing, so it needs no CSRF token),
//! with a link to the same events as JSON lines from the admin API. The
//! filters are read by `audit::Filters`, as the admin API reads them.

use super::AdminPage;
use crate::audit::{self, Entry, Filters};
use crate::context::Context;
use crate::http::error::{PageError, render};
use crate::http::paths;
use crate::telemetry::blocking;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use time::OffsetDateTime;
use time::macros::format_description;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::ADMIN_AUDIT_PAGE, web::get().to(get_audit));
}

/// Events listed per page.
const PAGE_SIZE: usize = 50;

struct EventRow {
    /// RFC 3339, for the `<time>` element.
    time: String,
    shown_time: String,
    kind: String,
    outcome: String,
    failed: bool,
    actor: String,
    subject: String,
    address: String,
    /// `name=value`, by name.
    details: Vec<String>,
}

impl From<Entry> for EventRow {
    fn from(entry: Entry) -> Self {
        Self {
            time: audit::timestamp(entry.time),
            shown_time: shown_time(entry.time),
            failed: entry.outcome == "failure",
            outcome: entry.outcome,
            kind: entry.kind,
            actor: entry.actor,
            subject: entry.subject.unwrap_or_default(),
            address: entry.client_ip.unwrap_or_default(),
            details: entry
                .details
                .into_iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect(),
        }
    }
}

/// To the second: events of one minute are told apart.
fn shown_time(at: OffsetDateTime) -> String {
    at.format(format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second]"
    ))
    .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    /// The navigation's notice: reading the log does nothing to announce.
    done: Option<&'static str>,
    since: String,
    kind: String,
    actor: String,
    subject: String,
    events: Vec<EventRow>,
    /// The first page with the same filters, when this one is not it.
    newest: Option<String>,
    /// The next (older) page with the same filters, if there is one.
    older: Option<String>,
    /// Every matching event as JSON lines, from the admin API.
    export: String,
}

/// `GET /admin/audit?since=&type=&actor=&subject=&cursor=`: a page of the
/// events that match, the filter form, and the links to the older events
/// and to the export.
pub async fn get_audit(
    _: AdminPage,
    ctx: web::Data<Context>,
    filters: web::Query<Filters>,
) -> Result<HttpResponse, PageError> {
    let filters = filters.into_inner();
    let query = filters.query(Some(PAGE_SIZE)).map_err(|err| {
        PageError::new(
            StatusCode::BAD_REQUEST,
            "Filter refused",
            format!("{err}. Go back and correct it."),
        )
    })?;
    let on_a_later_page = query.cursor.is_some();
    let page = blocking(move || audit::query(&ctx, &query)).await??;
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    render(
        StatusCode::OK,
        &AuditPage {
            done: None,
            since: text(&filters.since),
            kind: text(&filters.kind),
            actor: text(&filters.actor),
            subject: text(&filters.subject),
            events: page.items.into_iter().map(EventRow::from).collect(),
            newest: on_a_later_page.then(|| link(paths::ADMIN_AUDIT_PAGE, &filters, None)),
            older: page
                .next_cursor
                .map(|cursor| link(paths::ADMIN_AUDIT_PAGE, &filters, Some(("cursor", &cursor)))),
            export: link(
                &format!("{}{}", paths::ADMIN_API_PREFIX, paths::ADMIN_AUDIT),
                &filters,
                Some(("format", "jsonl")),
            ),
        },
    )
}

/// `path` with the filters given (not their cursor) and `extra` in its
/// query.
fn link(path: &str, filters: &Filters, extra: Option<(&str, &str)>) -> String {
    let given = [
        ("since", &filters.since),
        ("type", &filters.kind),
        ("actor", &filters.actor),
        ("subject", &filters.subject),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name, value.as_deref().filter(|v| !v.is_empty())?)));
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(given.chain(extra))
        .finish();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}
