//! `GET /admin/api/audit`: the audit log, a page of JSON at a time, or all
//! of it as JSON Lines (`format=jsonl`), streamed a page at a time so that
//! a long log never sits in memory whole.

use crate::audit::{self, Cursor, Filters, Page, Query};
use crate::context::Context;
use crate::http::error::AdminError;
use crate::http::extract::AdminCaller;
use crate::http::paths;
use crate::telemetry::blocking;
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use futures_core::Stream;
use serde::Deserialize;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

/// Registers the route under `/admin/api`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::ADMIN_AUDIT, web::get().to(get_audit));
}

/// `GET /admin/api/audit` parameters besides the filters
/// ([`audit::Filters`]).
#[derive(Deserialize)]
pub struct AuditQuery {
    limit: Option<usize>,
    /// `json` (the default: one page, also when empty) or `jsonl` (every
    /// event, streamed).
    format: Option<String>,
}

/// The media type of JSON Lines.
const JSON_LINES: &str = "application/jsonl; charset=utf-8";

/// `GET /admin/api/audit?since=&type=&actor=&subject=&cursor=&limit=&format=`:
/// events newest first; `200 {"items": [...], "next_cursor"}`, or with
/// `format=jsonl` every matching event, one JSON object a line.
pub async fn get_audit(
    _: AdminCaller,
    ctx: web::Data<Context>,
    filters: web::Query<Filters>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AdminError> {
    let AuditQuery { limit, format } = query.into_inner();
    let query = filters
        .query(limit)
        .map_err(|err| AdminError::bad_request(err.to_string()))?;
    match format.as_deref().filter(|format| !format.is_empty()) {
        None | Some("json") => {
            let page = blocking(move || audit::query(&ctx, &query)).await??;
            Ok(HttpResponse::Ok().json(page))
        }
        Some("jsonl") => Ok(HttpResponse::Ok()
            .content_type(JSON_LINES)
            .insert_header((
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"tessera-audit.jsonl\"",
            ))
            .streaming(Export::new(ctx.into_inner(), query))),
        Some(other) => Err(AdminError::bad_request(format!(
            "format `{other}` is not known; use json or jsonl"
        ))),
    }
}

/// Why the export stopped midway: the response is cut short, and the
/// cause logged.
type ExportError = Box<dyn std::error::Error>;

type Fetch = Pin<Box<dyn Future<Output = Result<(Bytes, Option<Query>), ExportError>>>>;

/// The JSON-lines export: each poll reads the next page off the executor
/// and yields its lines; it ends after the last page.
struct Export {
    ctx: std::sync::Arc<Context>,
    next: Option<Fetch>,
}

impl Export {
    fn new(ctx: std::sync::Arc<Context>, query: Query) -> Self {
        let query = Query {
            limit: Some(audit::MAX_PAGE),
            ..query
        };
        let next = Some(fetch(ctx.clone(), query));
        Self { ctx, next }
    }
}

/// One page as JSON lines, and the query of the page after it, if any.
fn fetch(ctx: std::sync::Arc<Context>, query: Query) -> Fetch {
    Box::pin(async move {
        let (page, query) =
            blocking(move || audit::query(&ctx, &query).map(|page| (page, query))).await??;
        let Page { items, next_cursor } = page;
        let lines: String = items.iter().map(audit::json_line).collect();
        let next = next_cursor
            .and_then(|cursor| Cursor::parse(&cursor))
            .map(|cursor| Query {
                cursor: Some(cursor),
                ..query
            });
        Ok((Bytes::from(lines), next))
    })
}

impl Stream for Export {
    type Item = Result<Bytes, ExportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let Some(fetching) = self.next.as_mut() else {
            return Poll::Ready(None);
        };
        match fetching.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(err)) => {
                tracing::warn!(error = %err, "audit export cut short");
                self.next = None;
                Poll::Ready(Some(Err(err)))
            }
            Poll::Ready(Ok((lines, next))) => {
                self.next = next.map(|query| fetch(self.ctx.clone(), query));
                Poll::Ready(Some(Ok(lines)))
            }
        }
    }
}
