//! `GET /admin/api/backup`: a fresh, consistent copy of the store as a
//! download, for `tessera backup --url` while the server holds the file.
//! The copy is taken from one snapshot (writers keep going) into a
//! temporary file that leaves its folder at once; it is streamed from the
//! open handle, so nothing is left on disk whatever becomes of the request.

use crate::context::Context;
use crate::http::error::AdminError;
use crate::http::extract::AdminCaller;
use crate::http::paths;
use crate::telemetry::blocking;
use actix_web::HttpResponse;
use actix_web::body::SizedStream;
use actix_web::http::header;
use actix_web::web::{self, Bytes};
use futures_core::Stream;
use std::io::Read;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use tokio::sync::mpsc;

/// How much of the file one chunk of the response carries.
const CHUNK: usize = 64 * 1024;

/// Streams a backup of the store to an administrator.
pub async fn get_backup(
    _admin: AdminCaller,
    ctx: web::Data<Context>,
) -> Result<HttpResponse, AdminError> {
    // Beside the store file, whose file system holds a store of this size
    // (a small tmpfs might not); the system's temporary folder for memory.
    let folder = ctx
        .settings
        .store_file()
        .and_then(|file| file.parent().map(PathBuf::from))
        .filter(|folder| !folder.as_os_str().is_empty())
        .unwrap_or_else(std::env::temp_dir);
    let store = ctx.clone();
    let (file, summary) = blocking(move || store.store.backup_to_send(&folder)).await??;
    tracing::info!(
        bytes = summary.bytes,
        users = summary.users,
        clients = summary.clients,
        "backup sent"
    );
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"tessera-backup.redb\"",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((paths::BACKUP_USERS_HEADER, summary.users))
        .insert_header((paths::BACKUP_CLIENTS_HEADER, summary.clients))
        // A declared length lets the client tell a cut transfer from a
        // whole one.
        .body(SizedStream::new(summary.bytes, chunks(file))))
}

/// The file's content, read on a blocking thread a chunk at a time and
/// handed over through a small channel, so a slow client holds back the
/// reading instead of filling memory.
fn chunks(mut file: std::fs::File) -> Chunks {
    let (sender, receiver) = mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        loop {
            let mut chunk = vec![0; CHUNK];
            let read = match file.read(&mut chunk) {
                Ok(0) => return,
                Ok(read) => read,
                Err(err) => {
                    // The receiver ends the response with this error; the
                    // declared length tells the client it is cut.
                    let _ = sender.blocking_send(Err(err));
                    return;
                }
            };
            chunk.truncate(read);
            if sender.blocking_send(Ok(Bytes::from(chunk))).is_err() {
                // The client went away.
                return;
            }
        }
    });
    Chunks(receiver)
}

/// The receiving end of [`chunks`], as a response body.
struct Chunks(mpsc::Receiver<std::io::Result<Bytes>>);

impl Stream for Chunks {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}
