//! The composition root: open the store, seed it, bind (port 0 allowed),
//! print the ready line, serve until stopped. Tests build this same object.

mod checks;
mod metrics;

pub use checks::check_settings;

use crate::accounts::{self, Accounts};
use crate::audit;
use crate::clock::{Clock, SystemClock};
use crate::config::{ConfigError, Settings, seconds};
use crate::context::Context;
use crate::http;
use crate::journeys;
use crate::oauth;
use crate::oidc::backchannel::{self, Courier};
use crate::sessions;
use crate::store::{Store, StoreError, WriteTx};
use crate::telemetry::{CpuGate, blocking};
use actix_web::dev::Server;
use actix_web::http::KeepAlive;
use actix_web::rt::signal;
use actix_web::{App, HttpServer, middleware as actix_middleware, web};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid configuration: {0}")]
    Config(#[from] Box<ConfigError>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {bind}: {source}")]
    Bind {
        bind: String,
        source: std::io::Error,
    },
    #[error("cannot seed users: {0}")]
    Seed(#[from] accounts::AccountError),
    #[error(transparent)]
    Context(#[from] crate::context::ContextError),
    #[error("cannot seed clients: {0}")]
    Clients(#[from] oauth::clients::ClientError),
    #[error(transparent)]
    Journeys(#[from] journeys::graph::GraphError),
    #[error("signing keys: {0}")]
    Keys(#[from] crate::keys::SigningKeyError),
    #[error(transparent)]
    Passwords(#[from] crate::passwords::HashError),
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
}

/// A bound, ready-to-run tessera server.
pub struct Application {
    server: Server,
    address: SocketAddr,
    /// The listener of its own that `metrics.bind` gives `/metrics`.
    metrics: Option<(Server, SocketAddr)>,
    ctx: web::Data<Context>,
    engine: web::Data<journeys::Engine>,
    provider: web::Data<oauth::Provider>,
    connections: Connections,
}

impl Application {
    /// Builds the server with the system clock.
    pub fn build(settings: Settings) -> Result<Self, StartError> {
        Self::build_with_clock(settings, Arc::new(SystemClock))
    }

    /// Builds the server with the given clock (tests use a manual one).
    /// The settings are checked against the domain first ([`check_settings`]).
    /// The store is opened before the socket is bound, so a store held by
    /// another process fails without taking the port.
    pub fn build_with_clock(settings: Settings, clock: Arc<dyn Clock>) -> Result<Self, StartError> {
        check_settings(&settings).map_err(Box::new)?;
        let store = Store::open(&crate::context::storage(&settings))?;
        let listener =
            TcpListener::bind(&settings.server.bind).map_err(|source| StartError::Bind {
                bind: settings.server.bind.clone(),
                source,
            })?;
        let address = listener.local_addr().map_err(|source| StartError::Bind {
            bind: settings.server.bind.clone(),
            source,
        })?;
        let metrics_listener = metrics::bind(&settings)?;
        let issuer = settings.issuer_or(address);
        let settings = Arc::new(settings);
        let ctx = web::Data::new(Context::new(settings.clone(), store, clock, issuer)?);
        let accounts = Arc::new(Accounts::new(ctx.clone().into_inner())?);
        prepare_accounts(&ctx, &accounts)?;
        if settings.fixture.enabled {
            tracing::warn!(
                "fixture mode: /fixture/token mints tokens for anyone who asks, /fixture/outbox shows every message sent; for tests only"
            );
        }
        let clients = oauth::clients::seed(&ctx, &ctx.settings.clients)?;
        if clients > 0 {
            tracing::info!(clients, "seeded OAuth clients from config");
        }
        let mut algs = vec![settings.oauth.signing_alg];
        for client in oauth::clients::list(&ctx)? {
            algs.extend(client.signing_alg);
        }
        algs.sort();
        algs.dedup();
        let provider = web::Data::new(oauth::Provider::new(ctx.clone().into_inner(), &algs)?);

        let engine = web::Data::new(journeys::Engine::new(
            ctx.clone().into_inner(),
            accounts,
            journeys::Registry::from_settings(&settings)?,
        )?);
        // One gate for all workers: the limit is per process.
        let gate = web::Data::new(CpuGate::new(settings.passwords.concurrent_hashes()));
        let app_ctx = ctx.clone();
        let app_engine = engine.clone();
        let app_provider = provider.clone();
        let connections = Connections::default();
        let counted = connections.clone();
        let limits = &settings.server;
        let count_requests = settings.metrics.enabled;
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(actix_middleware::from_fn(http::middleware::body_deadline))
                .wrap(http::middleware::security_headers(&app_ctx))
                .wrap(actix_middleware::from_fn(http::middleware::request_log))
                .wrap(actix_middleware::Condition::new(
                    count_requests,
                    actix_middleware::from_fn(http::middleware::record_metrics),
                ))
                .configure(http::configure(
                    app_ctx.clone(),
                    app_engine.clone(),
                    app_provider.clone(),
                    gate.clone(),
                ))
        })
        .on_connect(move |_, data| {
            data.insert(counted.opened());
        })
        .client_request_timeout(Duration::from_secs(limits.request_timeout_secs))
        .keep_alive(match limits.keep_alive_secs {
            0 => KeepAlive::Disabled,
            secs => KeepAlive::Timeout(Duration::from_secs(secs)),
        })
        .shutdown_timeout(limits.shutdown_timeout_secs)
        // `run_until_stopped` handles SIGTERM and SIGINT itself.
        .disable_signals();
        let workers = match settings.server.workers {
            0 => ctx.store.http_workers(),
            workers => Some(workers),
        };
        if let Some(workers) = workers {
            server = server.workers(workers);
        }
        let server = server
            .listen(listener)
            .map_err(|source| StartError::Bind {
                bind: settings.server.bind.clone(),
                source,
            })?
            .run();
        let metrics = match metrics_listener {
            Some((listener, address)) => {
                Some((metrics::serve(listener, address, ctx.clone())?, address))
            }
            None => None,
        };
        Ok(Self {
            server,
            address,
            metrics,
            ctx,
            engine,
            provider,
            connections,
        })
    }

    /// The bound port (the real one when configured with port 0).
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The port of `metrics.bind`'s listener (the real one for port 0);
    /// none when `/metrics` is on the main listener or off.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(_, address)| address.port())
    }

    /// The issuer: configured, or `http://HOST:PORT` of the bound socket.
    pub fn issuer(&self) -> &str {
        &self.ctx.issuer
    }

    /// The domain context, for tests that inspect the store directly.
    pub fn context(&self) -> web::Data<Context> {
        self.ctx.clone()
    }

    /// The journey engine, and through it the accounts service, for tests
    /// that act as an administrator or a purge would.
    pub fn engine(&self) -> web::Data<journeys::Engine> {
        self.engine.clone()
    }

    /// Prints the ready line and serves until SIGINT/SIGTERM; expired
    /// records are purged meanwhile. A stop lets the requests in flight
    /// finish (within `server.shutdown_timeout_secs`) and closes idle
    /// keep-alive connections at once, so a server with nothing in flight
    /// stops in milliseconds.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Self {
            mut server,
            address,
            metrics,
            ctx,
            engine,
            provider,
            connections,
        } = self;
        // Listening for signals before the ready line: a SIGTERM sent as
        // soon as it is read must stop the server gracefully, not kill it.
        let stop = stop_signal();
        if let Some((_, address)) = &metrics {
            // To the log: stdout has one line, the ready line below.
            tracing::info!("metrics on http://{address}{}", http::paths::METRICS);
        }
        println!("tessera listening on http://{address}");
        let handle = server.handle();
        let metrics = metrics.map(|(server, _)| {
            let handle = server.handle();
            tokio::spawn(async move {
                if let Err(err) = server.await {
                    tracing::error!(error = %err, "the metrics listener failed");
                }
            });
            handle
        });
        let purge = purge_loop(engine.clone(), provider.clone());
        let key_refresh = key_refresh_loop(provider.clone(), ctx.store.signing_keys_changed());
        let logouts = logout_loop(provider.clone());
        let result = tokio::select! {
            result = &mut server => result,
            () = purge => Ok(()),
            () = key_refresh => Ok(()),
            () = logouts => Ok(()),
            () = stop => {
                // actix stops accepting, closes idle connections and closes
                // busy ones after their response. Its workers notice that
                // they have no connection left only once a second, though:
                // once the last connection has closed, dropping the server
                // stops them at once.
                tracing::info!("stopping: requests in flight may finish");
                drop(handle.stop(true));
                tokio::select! {
                    result = &mut server => result,
                    () = connections.all_closed() => Ok(()),
                }
            }
        };
        drop(server);
        // A scrape lost to a stop costs nothing: no grace for this one.
        if let Some(metrics) = metrics {
            metrics.stop(false).await;
        }
        drop((engine, provider));
        close(ctx).await;
        result
    }
}

/// Resolves at the first SIGTERM or SIGINT (Ctrl-C). The handlers are
/// installed when this is called, not when it is first awaited.
fn stop_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let signals = {
        use signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        )
    };
    async move {
        #[cfg(unix)]
        if let (Ok(mut term), Ok(mut int)) = signals {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            return;
        }
        // Without unix signal handlers, Ctrl-C still stops; an error there
        // means that no signal can ever come.
        if signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The open HTTP connections, so that a stop knows when the last one has
/// closed.
#[derive(Clone, Default)]
struct Connections(Arc<ConnectionCount>);

#[derive(Default)]
struct ConnectionCount {
    open: AtomicUsize,
    none_left: Notify,
}

/// Kept in a connection's data: counts it open until the connection ends.
struct OpenConnection(Arc<ConnectionCount>);

impl Connections {
    fn opened(&self) -> OpenConnection {
        self.0.open.fetch_add(1, Ordering::SeqCst);
        OpenConnection(self.0.clone())
    }

    /// Resolves when no connection is open.
    async fn all_closed(&self) {
        loop {
            let none_left = self.0.none_left.notified();
            tokio::pin!(none_left);
            // Registered before the count is read, so a close in between
            // is not missed.
            none_left.as_mut().enable();
            if self.0.open.load(Ordering::SeqCst) == 0 {
                return;
            }
            none_left.await;
        }
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        if self.0.open.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.none_left.notify_waiters();
        }
    }
}

/// Seeds `[[users]]` (releasing those no longer declared), or bootstraps an
/// administrator on an empty store, and names stored usernames that the
/// username rule no longer tells apart.
fn prepare_accounts(ctx: &Context, accounts: &Accounts) -> Result<(), StartError> {
    for conflict in ctx.store.read(accounts::username_conflicts)? {
        tracing::warn!("{conflict}");
    }
    let seeds = &ctx.settings.users;
    let report = accounts.seed(seeds)?;
    if !seeds.is_empty() {
        tracing::info!(
            created = report.created,
            updated = report.updated,
            unchanged = report.unchanged,
            "seeded users from config"
        );
    } else if ctx.settings.accounts.bootstrap_admin
        // Tests seed the users they need; a fixture has no terminal to
        // show a password on, and start-up no time for its hash.
        && !ctx.settings.fixture.enabled
        && let Some(admin) = accounts.bootstrap_admin()?
    {
        // Shown once on the terminal, deliberately not through the logs.
        // The password can be changed while the server runs: no stop.
        eprintln!(
            "\n  First start: created administrator `{user}` with password `{password}`\n  \
             Sign in at {issuer}/login, then change the password at {issuer}/account\n  \
             (an administrator sets any user's at {issuer}/admin) while the server runs.\n",
            user = admin.username,
            password = admin.password.expose(),
            issuer = ctx.issuer,
        );
    }
    Ok(())
}

/// Removes expired sessions, journeys, push requests, lockout counters,
/// OAuth grants, retired signing keys and audit events past their
/// retention, forever. Servers sharing a store take turns: the one that
/// holds the purge lease purges, and keeps it by renewing it at each round;
/// if it stops, another takes over within two rounds.
async fn purge_loop(engine: web::Data<journeys::Engine>, provider: web::Data<oauth::Provider>) {
    let every = seconds(engine.ctx.settings.sessions.purge_interval_secs);
    // The first purge a while after the start, not during it: a start-up
    // is for serving (and a purge racing a test's clock would take what
    // the test looks for). A minute at most, so that a process restarted
    // more often than the interval still purges.
    let period = every.unsigned_abs();
    let first = period.min(Duration::from_secs(60));
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + first, period);
    let holder: Arc<str> = crate::secret::random_id().into();
    loop {
        ticks.tick().await;
        let (engine, provider, holder) = (engine.clone(), provider.clone(), holder.clone());
        let purged = blocking(move || -> Result<_, crate::http::error::Failure> {
            let ctx = &engine.ctx;
            let now = ctx.now();
            let lease = |tx: &dyn WriteTx| tx.take_lease("purge", &holder, now, now + every * 2);
            if !ctx.store.write(lease)? {
                return Ok(0);
            }
            Ok(sessions::purge_expired(ctx)?
                + engine.purge_expired()?
                + journeys::push::purge_expired(ctx)?
                + engine.accounts.purge_stale_throttles()?
                + provider.purge_expired()?
                + provider.purge_retired_keys()?
                + oauth::registration::purge_expired(ctx)?
                + audit::purge_expired(ctx)?)
        })
        .await;
        match purged {
            Ok(Ok(0)) => {}
            Ok(Ok(records)) => tracing::info!(records, "purged expired records"),
            Ok(Err(err)) => tracing::warn!(error = %err, "purge failed"),
            Err(err) => tracing::warn!(error = %err, "purge failed"),
        }
    }
}

/// Picks up signing keys that another server sharing the store rotated or
/// generated, forever (see `oauth::Provider::refresh_keys`): when the store
/// tells of a change, and every `oauth::KEY_REFRESH` in case it could not.
/// A store no other process shares (`changed` is `None`) needs none of it.
async fn key_refresh_loop(provider: web::Data<oauth::Provider>, changed: Option<Arc<Notify>>) {
    let Some(changed) = changed else {
        return std::future::pending().await;
    };
    let mut ticks = tokio::time::interval(oauth::KEY_REFRESH);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = changed.notified() => {}
        }
        let provider = provider.clone();
        match blocking(move || provider.refresh_keys()).await {
            Ok(Ok(false)) => {}
            Ok(Ok(true)) => tracing::info!("signing keys changed in the store: reloaded"),
            Ok(Err(err)) => tracing::warn!(error = %err, "cannot look for new signing keys"),
            Err(err) => tracing::warn!(error = %err, "cannot look for new signing keys"),
        }
    }
}

/// Delivers back-channel logout tokens for the sessions that ended, here
/// or in another process sharing the store, forever (see
/// `oidc::backchannel`).
async fn logout_loop(provider: web::Data<oauth::Provider>) {
    let courier = Arc::new(Courier::new());
    let mut ticks = tokio::time::interval(backchannel::POLL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let (provider, courier) = (provider.clone(), courier.clone());
        match blocking(move || courier.deliver_due(&provider)).await {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => tracing::warn!(error = %err, "back-channel logout delivery failed"),
            Err(err) => tracing::warn!(error = %err, "back-channel logout delivery failed"),
        }
    }
}

/// Waits (briefly) for the workers to release the context, so the store is
/// dropped, and the redb file closed, before the process exits.
async fn close(ctx: web::Data<Context>) {
    let mut ctx = ctx.into_inner();
    // Worker threads end within milliseconds of a stop: look often.
    for _ in 0..1000 {
        match Arc::try_unwrap(ctx) {
            Ok(ctx) => {
                drop(ctx);
                tracing::info!("store closed");
                return;
            }
            Err(shared) => {
                ctx = shared;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    }
    tracing::warn!("workers still hold the store; it closes with the process");
}
