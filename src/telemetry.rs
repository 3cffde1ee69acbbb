//! Logging setup, and the helpers that run blocking work (redb commits,
//! argon2) off the async executor while keeping the request's span.

use crate::config::{LogFormat, LogSettings};
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber: logs go to stderr (stdout carries only
/// the ready line), as text or JSON. Text is coloured only on a terminal:
/// in a file, a pipe or a journal, escape codes are noise. Safe to call
/// more than once.
pub fn init(settings: &LogSettings) {
    // actix-server announces every worker at info; that is noise.
    let filter = EnvFilter::try_new(format!("actix_server=warn,{}", settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let _already_set = match settings.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// The blocking task panicked; it has been logged by the panic hook.
#[derive(Debug, thiserror::Error)]
#[error("a blocking task failed")]
pub struct BlockingError;

/// Runs `work` on the blocking thread pool, inside the caller's span.
pub async fn blocking<T, F>(work: F) -> Result<T, BlockingError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(work))
        .await
        .map_err(|_| BlockingError)
}

/// Admits CPU-heavy work (password hashing) a few at a time. Waiting
/// happens here, on the executor, not on a blocking thread: a flood of
/// logins queues cheaply instead of parking every blocking thread, which
/// would stall all other requests.
pub struct CpuGate {
    permits: tokio::sync::Semaphore,
}

impl CpuGate {
    /// A gate for `max` concurrent jobs.
    pub fn new(max: usize) -> Self {
        Self {
            permits: tokio::sync::Semaphore::new(max),
        }
    }

    /// Waits for a free slot, then runs `work` like [`blocking`].
    pub async fn run<T, F>(&self, work: F) -> Result<T, BlockingError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self.permits.acquire().await.map_err(|_| BlockingError)?;
        blocking(work).await
    }
}
