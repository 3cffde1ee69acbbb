//! The PostgreSQL backend (`storage.url`): the store in a database that
//! several tessera processes share. The only code that touches PostgreSQL;
//! each table family's file implements that family's traits of
//! [`crate::store::tx`] on [`Tx`], which serves both kinds of transaction.
//!
//! Store calls are synchronous and come from actix's worker threads, which
//! already run a tokio runtime. The connections therefore live on a small
//! runtime of the backend's own (`Postgres::runtime`): a connection's
//! socket is driven there, while the calling thread sends each statement
//! down the connection's channel and parks until the answer comes back
//! ([`block_on`]), as it would on a redb commit. A transaction holds one
//! pooled connection from its start to its end.
//!
//! The guarantees of [`crate::store::tx`] come from the database: every
//! write transaction first takes one transaction-level advisory lock
//! ([`WRITE_LOCK`]), so writers, of every process, run one at a time as
//! redb's do, each seeing every earlier commit (READ COMMITTED, whose
//! statements read the latest committed state); read transactions are
//! `REPEATABLE READ READ ONLY`, one snapshot taken by their first
//! statement.

mod audit;
mod cache;
mod clients;
mod grants;
mod keys;
mod schema;
mod sessions;
mod small;
mod users;

use super::tx::{ReadTx, Transaction};
use super::{Backend, BackupSummary, Rekey, StoreError, Unavailable};
use crate::secret::SecretString;
use cache::{Cache, Cached, Key, Stamp};
use deadpool_postgres::{Manager, Object, Pool, Runtime};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::cell::{Cell, OnceCell, RefCell};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::types::ToSql;
use tokio_postgres::{AsyncMessage, Row, Socket};

/// The key of the advisory lock every write transaction (and a
/// migration) holds until it ends: `tessera` in ASCII. Other applications
/// sharing the database would have to pick another.
const WRITE_LOCK: i64 = 0x0074_6573_7365_7261;

/// Connections one process keeps at most. A transaction holds one for its
/// life, and a read may open a write inside it (the `users` command does),
/// so there are at least two.
const POOL_SIZE: usize = 16;

/// How long a transaction waits for a connection, or for one to be made,
/// before failing: with the database gone, requests fail (503) instead of
/// piling up.
const CONNECTION_WAIT: Duration = Duration::from_secs(5);

/// A PostgreSQL database holding tessera's tables.
pub struct Postgres {
    pool: Pool,
    /// The pool again, with a handle on the runtime.
    source: Source,
    cache: Arc<Cache>,
    /// Told when another process changed the signing keys.
    signing_keys_changed: Arc<Notify>,
    /// Drives the connections; always there until dropped.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Postgres {
    /// A runtime may not be dropped where blocking is not allowed, which
    /// is where the server drops its store (inside actix's runtime): it is
    /// shut down without waiting instead, after the idle connections were
    /// asked to close.
    fn drop(&mut self) {
        self.pool.close();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// `storage.url` with its password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        // Not a URL: only its scheme is safe to show.
        return url.split_once("://").map_or_else(
            || "(not a postgres:// URL)".to_owned(),
            |(scheme, _)| format!("{scheme}://…"),
        );
    };
    if parsed.password().is_some() {
        // Setting a password only fails on URLs without a host, which
        // have none to hide.
        let _ = parsed.set_password(Some("redacted"));
    }
    if parsed.query_pairs().any(|(key, _)| key == "password") {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(key, value)| {
                let value = if key == "password" {
                    "redacted".to_owned()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

/// The TLS tessera asks for. `prefer` goes on in plaintext when the answer
/// to the TLS request is no, which an active attacker can send: off this
/// machine it becomes `require` (`sslmode=disable` is the explicit opt-out,
/// for a trusted network).
fn ssl_mode(config: &tokio_postgres::Config) -> SslMode {
    match config.get_ssl_mode() {
        SslMode::Prefer if !on_this_machine(config) => SslMode::Require,
        mode => mode,
    }
}

/// Whether every host of `config` is this machine: a Unix socket or a
/// loopback name or address, where nobody can stand in the middle.
fn on_this_machine(config: &tokio_postgres::Config) -> bool {
    use tokio_postgres::config::Host;
    config.get_hosts().iter().all(|host| match host {
        Host::Tcp(name) => {
            name == "localhost"
                || name
                    .trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Host::Unix(_) => true,
    })
}

/// The error of a `storage.url` that cannot be used: unparsable, the
/// server unreachable, the credentials refused.
fn unreachable(url: &SecretString, err: StoreError) -> StoreError {
    let reason = match err {
        StoreError::Unavailable(Unavailable(reason)) => reason,
        other => other.to_string(),
    };
    StoreError::Unreachable {
        url: redact(url.expose()),
        reason,
    }
}

fn unavailable(reason: impl Into<String>) -> StoreError {
    StoreError::Unavailable(Unavailable(reason.into()))
}

/// A statement's error: the database gone (connection closed, shutting
/// down, a connection exception) is [`StoreError::Unavailable`], anything
/// else the backend's own.
fn statement_error(err: tokio_postgres::Error) -> StoreError {
    let gone = err.is_closed()
        || err.as_db_error().is_some_and(|db| {
            let code = db.code().code();
            // Class 08: connection exception; 57P0x: the server shutting
            // down or the session terminated by an administrator.
            code.starts_with("08") || code.starts_with("57P0")
        });
    if gone {
        unavailable(causes(&err))
    } else {
        // The client's own text is only "db error": the server's is below.
        StoreError::Backend(causes(&err).into())
    }
}

/// An error and its causes, in one line: the pool's and the client's
/// errors say little on their own ("db error"), their sources the rest.
fn causes(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line = format!("{line}: {text}");
        }
        source = cause.source();
    }
    line
}

/// PostgreSQL's errors are the backend's own: they reach logs as the
/// cause of a [`StoreError::Backend`].
fn backend(err: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Box::new(err))
}

impl Postgres {
    /// Connects to the database at `url`, then creates or migrates
    /// tessera's schema ([`schema::migrate`]), refusing one newer than this
    /// build.
    pub fn open(url: &SecretString, cache_for: Duration) -> Result<Self, StoreError> {
        let (backend, config) = Self::connect(url, cache_for)?;
        schema::migrate(backend.connection().map_err(|err| unreachable(url, err))?)?;
        backend.follow_changes(config);
        Ok(backend)
    }

    /// Checks, without creating or changing anything, that the database at
    /// `url` accepts tessera's connection and holds no schema newer than
    /// this build.
    pub fn check(url: &SecretString) -> Result<(), StoreError> {
        let (backend, _) = Self::connect(url, Duration::ZERO)?;
        schema::check(backend.connection().map_err(|err| unreachable(url, err))?)
    }

    /// The pool for `url`, and the runtime its connections run on; no
    /// connection is made yet. Also the connection settings, as used.
    fn connect(
        url: &SecretString,
        cache_for: Duration,
    ) -> Result<(Self, tokio_postgres::Config), StoreError> {
        let mut config: tokio_postgres::Config = url
            .expose()
            .parse()
            .map_err(|err: tokio_postgres::Error| unreachable(url, unavailable(causes(&err))))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECTION_WAIT);
        }
        // A database host that vanishes without a reset must not hold a
        // transaction for the two hours of the system's keepalive default.
        config.keepalives_idle(Duration::from_secs(30));
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(Duration::from_secs(30));
        }
        if config.get_application_name().is_none() {
            config.application_name("tessera");
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tessera-postgres")
            .enable_all()
            .build()
            .map_err(backend)?;
        config.ssl_mode(ssl_mode(&config));
        let manager = match config.get_ssl_mode() {
            SslMode::Disable => Manager::new(config.clone(), tokio_postgres::NoTls),
            // `prefer` and `require` both check the server's certificate
            // against Mozilla's roots: TLS that accepts any certificate
            // would only protect against a passive listener.
            _ => Manager::new(config.clone(), tls()),
        };
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .wait_timeout(Some(CONNECTION_WAIT))
            .create_timeout(Some(CONNECTION_WAIT))
            .recycle_timeout(Some(CONNECTION_WAIT))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(backend)?;
        let backend = Self {
            source: Source {
                pool: pool.clone(),
                runtime: runtime.handle().clone(),
            },
            pool,
            cache: Arc::new(Cache::new(cache_for)),
            signing_keys_changed: Arc::default(),
            runtime: Some(runtime),
        };
        Ok((backend, config))
    }

    /// Follows the notifications of changes on a connection of its own
    /// ([`listen`]), for as long as the store is open.
    fn follow_changes(&self, config: tokio_postgres::Config) {
        let changes = Changes {
            cache: self.cache.clone(),
            signing_keys: self.signing_keys_changed.clone(),
        };
        let runtime = &self.source.runtime;
        match config.get_ssl_mode() {
            SslMode::Disable => runtime.spawn(listen(config, tokio_postgres::NoTls, changes)),
            _ => runtime.spawn(listen(config, tls(), changes)),
        };
    }

    /// A connection, taken now: a failure here is the database's answer
    /// to tessera's credentials.
    fn connection(&self) -> Result<Conn, StoreError> {
        let conn = Conn::from(self.source.clone());
        conn.client()?;
        Ok(conn)
    }

    /// A transaction begun by `begin`, a batch of SQL statements sent
    /// with the transaction's first statement, on a connection taken then;
    /// `reading` for a read transaction that uses the cache (which may
    /// answer every read without a connection).
    fn begin(&self, begin: &str, reading: Option<Stamp>) -> Result<Tx, StoreError> {
        let conn = Conn::from(self.source.clone());
        conn.begin.set(Some(begin.to_owned()));
        Ok(Tx {
            conn,
            cache: self.cache.clone(),
            reading,
            changed: RefCell::default(),
        })
    }
}

impl Backend for Postgres {
    /// The snapshot is taken by the transaction's first statement.
    fn begin_read(&self) -> Result<Box<dyn ReadTx + '_>, StoreError> {
        let begin = "START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY";
        Ok(Box::new(self.begin(begin, Some(self.cache.stamp()))?))
    }

    fn begin_write(&self, durable: bool) -> Result<Box<dyn Transaction + '_>, StoreError> {
        let mut begin = format!(
            "START TRANSACTION ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock({WRITE_LOCK})"
        );
        if !durable {
            // The commit returns before its WAL reaches the disk; a crash
            // of the database may lose it, as `write_volatile` allows.
            begin.push_str("; SET LOCAL synchronous_commit = off");
        }
        Ok(Box::new(self.begin(&begin, None)?))
    }

    /// The schema is migrated when the store is opened; no data of an
    /// older embedded schema can be in a database.
    fn migrate(&self, _rekey: &dyn Rekey) -> Result<(), StoreError> {
        Ok(())
    }

    /// The size of the whole database (`pg_database_size`), tessera's
    /// tables and anything else in it.
    fn size_on_disk(&self) -> Result<Option<u64>, StoreError> {
        let tx = self.begin("START TRANSACTION READ ONLY", None)?;
        let size: i64 = tx
            .one("SELECT pg_database_size(current_database())", &[])?
            .get(0);
        Ok(u64::try_from(size).ok())
    }

    fn schema_version(&self) -> Result<u64, StoreError> {
        schema::version(&self.begin("START TRANSACTION READ ONLY", None)?.conn)
    }

    fn signing_keys_changed(&self) -> Option<Arc<Notify>> {
        Some(self.signing_keys_changed.clone())
    }

    /// Four per core: while one waits for PostgreSQL, others use the core
    /// (session validations without the cache ran 2.5 times as fast with
    /// eight workers as with two, README "Storage backends"). No more
    /// than the pool has connections.
    fn http_workers(&self) -> Option<usize> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Some((cores * 4).min(POOL_SIZE))
    }

    fn backup(&self, _to: &Path) -> Result<BackupSummary, StoreError> {
        Err(StoreError::NoBackup(super::NO_BACKUP_IN_A_DATABASE))
    }
}

/// Where a transaction takes its connection from.
#[derive(Clone)]
struct Source {
    pool: Pool,
    runtime: tokio::runtime::Handle,
}

impl Source {
    /// A connection from the pool, made if none is idle. Taken on the
    /// calling thread inside the backend's runtime context: a connection
    /// made here spawns its task, and registers its socket, on the
    /// backend's runtime, not on the caller's (actix's, which the caller
    /// blocks); an idle one is handed over without a thread switch.
    fn connection(&self) -> Result<Object, StoreError> {
        let _context = self.runtime.enter();
        block_on(self.pool.get()).map_err(|err| unavailable(causes(&err)))
    }
}

/// A pooled connection, taken by the transaction's first statement, that
/// knows whether a statement of its transaction failed; dropped in the
/// middle of a transaction, it rolls it back before going back to the pool.
///
/// Round trips are what a transaction costs, so it saves two: its begin
/// travels with its first statement (PostgreSQL runs a pipeline in order,
/// the begin first), and its rollback is sent without waiting for the
/// answer (the connection's next transaction queues behind it).
struct Conn {
    source: Source,
    object: OnceCell<Object>,
    /// The statements beginning the transaction, until they are sent.
    begin: Cell<Option<String>>,
    failed: Cell<bool>,
}

impl From<Source> for Conn {
    fn from(source: Source) -> Self {
        Self {
            source,
            object: OnceCell::new(),
            begin: Cell::new(None),
            failed: Cell::new(false),
        }
    }
}

impl Conn {
    /// The connection, taken from the pool the first time; a transaction
    /// that cannot have one cannot commit.
    fn client(&self) -> Result<&Object, StoreError> {
        if let Some(object) = self.object.get() {
            return Ok(object);
        }
        let object = self
            .source
            .connection()
            .inspect_err(|_| self.failed.set(true))?;
        Ok(self.object.get_or_init(|| object))
    }

    /// Runs `statement`, sending the transaction's begin ahead of it the
    /// first time, and notes a failure: the transaction it happened in
    /// cannot commit.
    fn run<T>(
        &self,
        client: &Object,
        statement: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, StoreError> {
        let result = match self.begin.take() {
            Some(begin) => block_on(async {
                // Polled in order (`biased`): the begin is sent first.
                let (begun, result) = tokio::join!(biased; client.batch_execute(&begin), statement);
                begun.and(result)
            }),
            None => block_on(statement),
        };
        result.map_err(|err| {
            self.failed.set(true);
            statement_error(err)
        })
    }

    /// Runs a batch of statements (no parameters, no rows).
    fn batch(&self, sql: &str) -> Result<(), StoreError> {
        let client = self.client()?;
        self.run(client, client.batch_execute(sql))
    }

    /// The rows of one statement, prepared once per connection.
    fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, StoreError> {
        let client = self.client()?;
        self.run(client, async {
            let statement = client.prepare_cached(sql).await?;
            client.query(&statement, params).await
        })
    }

    /// Runs one statement; returns how many rows it changed.
    fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        let client = self.client()?;
        self.run(client, async {
            let statement = client.prepare_cached(sql).await?;
            client.execute(&statement, params).await
        })
    }

    /// Ends the transaction: `COMMIT`, or a failure if a statement failed.
    /// One that never sent a statement has nothing to commit.
    fn commit(mut self) -> Result<(), StoreError> {
        if self.failed.get() {
            // Drop rolls it back.
            return Err(StoreError::Backend(
                "a statement of the transaction failed: nothing was committed".into(),
            ));
        }
        if self.begin.take().is_none() {
            self.batch("COMMIT")?;
        }
        drop(self.object.take());
        Ok(())
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let Some(object) = self.object.take() else {
            return;
        };
        if self.begin.take().is_some() {
            // Never begun on the server: nothing to roll back.
            return;
        }
        // Sent (by the first poll), not awaited: the answer is dropped
        // when it comes. Only a connection that is already closed refuses.
        let refused = {
            let rollback = std::pin::pin!(object.batch_execute("ROLLBACK"));
            rollback
                .poll(&mut Context::from_waker(Waker::noop()))
                .is_ready()
        };
        if refused {
            // A connection in an unknown state must not serve anyone else.
            drop(Object::take(object));
        }
    }
}

/// A transaction, read-only or read-write: the reads of every family run
/// the same way in both, and [`Backend::begin_read`] hands out only the
/// reads.
pub(super) struct Tx {
    conn: Conn,
    cache: Arc<Cache>,
    /// When a read transaction began: it reads sessions and users through
    /// the cache.
    reading: Option<Stamp>,
    /// The cached records a write transaction changed.
    changed: RefCell<Vec<Key>>,
}

impl Tx {
    fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, StoreError> {
        self.conn.query(sql, params)
    }

    /// The record under `key`: from the cache in a read transaction when
    /// it is there and fresh, otherwise by `read` (and then kept).
    fn cached<T: Cached>(
        &self,
        key: Key,
        read: impl FnOnce() -> Result<Option<T>, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let Some(stamp) = self.reading else {
            return read();
        };
        if let Some(record) = self.cache.get(&key) {
            return Ok(Some(record));
        }
        let record = read()?;
        if let Some(record) = &record {
            self.cache.put(key, record.clone(), stamp);
        }
        Ok(record)
    }

    /// Notes that this transaction changes the record under `key`, to be
    /// evicted from the cache when it commits.
    fn changes(&self, key: Key) {
        self.changed.borrow_mut().push(key);
    }

    /// The one row a statement returns, if any.
    fn optional(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        Ok(self.conn.query(sql, params)?.into_iter().next())
    }

    /// The row a statement always returns (an aggregate).
    fn one(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row, StoreError> {
        self.optional(sql, params)?
            .ok_or_else(|| StoreError::Backend(format!("no row from `{sql}`").into()))
    }

    fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        self.conn.execute(sql, params)
    }

    /// The record in column `column` of each row, decoded.
    fn records<T: DeserializeOwned>(
        &self,
        kind: &'static str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<T>, StoreError> {
        self.query(sql, params)?
            .iter()
            .map(|row| decode(kind, row.get(0)))
            .collect()
    }

    /// The record of the one row a statement returns, if any.
    fn record<T: DeserializeOwned>(
        &self,
        kind: &'static str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<T>, StoreError> {
        self.optional(sql, params)?
            .map(|row| decode(kind, row.get(0)))
            .transpose()
    }
}

impl Transaction for Tx {
    /// Evicts what it changed, whatever the outcome: a commit whose
    /// answer was lost may have happened.
    fn commit(self: Box<Self>) -> Result<(), StoreError> {
        let committed = self.conn.commit();
        let changed = self.changed.take();
        if !changed.is_empty() {
            self.cache.evict(&changed);
        }
        committed
    }
}

/// The channel of the notifications of schema migration 2's triggers.
const CHANNEL: &str = "tessera_changes";

/// Whom [`listen`] tells of changes.
struct Changes {
    /// Of changed sessions and users, by key.
    cache: Arc<Cache>,
    /// Of changed signing keys.
    signing_keys: Arc<Notify>,
}

impl Changes {
    fn notified(&self, payload: &str) {
        match payload {
            "signing keys" => self.signing_keys.notify_one(),
            payload => self.cache.notified(payload),
        }
    }

    /// Notifications may have been missed: whatever they would have said.
    fn missed(&self) {
        self.cache.clear();
        self.signing_keys.notify_one();
    }
}

/// Listens on [`CHANNEL`] and passes each notification on to `changes`.
/// A lost connection is made again a second later; once listening again,
/// it counts notifications as missed (the entries' age bounds the cache
/// anyway, and the signing keys are compared periodically).
async fn listen<T>(config: tokio_postgres::Config, tls: T, changes: Changes)
where
    T: MakeTlsConnect<Socket> + Clone + Send + Sync + 'static,
    T::Stream: Send + Sync,
    T::TlsConnect: Send + Sync,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    // A refused LISTEN (a pooler in transaction mode, a standby) is
    // reported once, not every second.
    let mut refusal_reported = false;
    loop {
        let Ok((client, mut connection)) = config.connect(tls.clone()).await else {
            // The database unreachable: requests say so (503, /healthz).
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        let notifications = async {
            loop {
                match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                    Some(Ok(AsyncMessage::Notification(note))) => changes.notified(note.payload()),
                    Some(Ok(_)) => {}
                    Some(Err(err)) => return Ended::Lost(causes(&err)),
                    None => return Ended::Lost("closed by the server".to_owned()),
                }
            }
        };
        let subscribe = async {
            match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                Ok(()) => {
                    changes.missed();
                    // Listening until the connection ends.
                    std::future::pending().await
                }
                Err(err) => Ended::Refused(causes(&err)),
            }
        };
        let ended = tokio::select! {
            ended = notifications => ended,
            ended = subscribe => ended,
        };
        match ended {
            Ended::Lost(reason) => {
                refusal_reported = false;
                tracing::warn!(
                    reason,
                    "lost the PostgreSQL connection that tells of sessions ended and keys \
                     rotated on other replicas; until it is back, they are noticed after \
                     storage.cache_secs and oauth::KEY_REFRESH"
                );
            }
            Ended::Refused(reason) if !refusal_reported => {
                refusal_reported = true;
                tracing::warn!(
                    reason,
                    "PostgreSQL refused LISTEN {CHANNEL}: sessions ended and keys rotated on \
                     other replicas are noticed after storage.cache_secs and \
                     oauth::KEY_REFRESH (a pooler in transaction mode cannot relay \
                     notifications: give tessera a session-mode pool or the server)"
                );
            }
            Ended::Refused(_) => {}
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Why [`listen`] stopped listening on a connection.
enum Ended {
    /// The connection ended while listening.
    Lost(String),
    /// `LISTEN` failed.
    Refused(String),
}

/// rustls on the one crypto provider (aws-lc-rs), with Mozilla's roots.
fn tls() -> tokio_postgres_rustls::MakeRustlsConnect {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    // The provider's defaults are its own: they are always consistent.
    .unwrap_or_else(|_| unreachable!("aws-lc-rs supports rustls' default protocol versions"))
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_postgres_rustls::MakeRustlsConnect::new(config)
}

/// Runs a future to its end on the calling thread, which parks while it
/// waits. The futures of a connection's client only exchange messages with
/// the connection's task, on the backend's runtime: they need no runtime
/// of their own, so this works on actix's threads as on any other.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::park();
    }
}

/// Encodes a record (JSON, as in the embedded store: old records load
/// with `#[serde(default)]` on new fields). Kept as `text`, not `jsonb`,
/// which refuses `\u0000` inside strings.
fn encode<T: Serialize>(record: &T) -> String {
    // Serialising plain structs of strings, numbers and timestamps cannot
    // fail; an empty record would be caught on the next read.
    serde_json::to_string(record).unwrap_or_default()
}

/// Decodes a stored record; `kind` names it in the error.
fn decode<T: DeserializeOwned>(kind: &'static str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|source| StoreError::Corrupt { kind, source })
}

/// The number of rows a statement changed, as the traits count them.
fn count(rows: u64) -> Result<usize, StoreError> {
    Ok(usize::try_from(rows).unwrap_or(usize::MAX))
}

/// A time as unix nanoseconds (years 1677 to 2262), the form of every
/// time column: exact, where `timestamptz` would round to microseconds.
fn nanos(at: time::OffsetDateTime) -> i64 {
    let nanos = at.unix_timestamp_nanos();
    i64::try_from(nanos).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
pub(super) mod testing;

#[cfg(test)]
mod tests {
    use super::{redact, ssl_mode, testing};

    #[test]
    fn prefer_means_require_off_this_machine_and_an_explicit_mode_is_kept() {
        use tokio_postgres::config::SslMode;
        let mode = |url: &str| ssl_mode(&url.parse().expect("a postgres URL"));
        assert!(matches!(
            mode("postgres://u:p@db.example.com/t"),
            SslMode::Require
        ));
        assert!(matches!(
            mode("postgres://u:p@10.0.0.5/t?sslmode=prefer"),
            SslMode::Require
        ));
        assert!(matches!(
            mode("postgres://u:p@127.0.0.1:5432/t"),
            SslMode::Prefer
        ));
        assert!(matches!(
            mode("postgres://u:p@localhost/t"),
            SslMode::Prefer
        ));
        assert!(matches!(mode("postgres://u:p@[::1]/t"), SslMode::Prefer));
        assert!(matches!(
            mode("postgres://u:p@db.example.com/t?sslmode=disable"),
            SslMode::Disable
        ));
    }
    use crate::secret::SecretString;
    use crate::store::{PasskeyRing, StoragePath, Store, StoreError};

    fn open(url: &str) -> Result<Store, StoreError> {
        Store::open(&StoragePath::Postgres {
            url: SecretString::new(url),
            cache_for: std::time::Duration::from_secs(1),
        })
    }

    fn ring(user_id: &str, handle: &str) -> PasskeyRing {
        PasskeyRing {
            user_id: user_id.into(),
            user_handle: handle.into(),
            credentials: Vec::new(),
            pending: None,
        }
    }

    #[test]
    fn a_database_gets_more_workers_than_cores_but_no_more_than_connections() {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let workers = open(&testing::database())
            .expect("store")
            .http_workers()
            .expect("a count of its own");
        assert!(workers > cores.min(super::POOL_SIZE - 1), "{workers}");
        assert!(workers <= super::POOL_SIZE, "{workers}");
        let redb = Store::open(&crate::store::StoragePath::Memory).expect("store");
        assert_eq!(redb.http_workers(), None, "one per core");
    }

    #[test]
    fn a_transaction_whose_statement_failed_does_not_commit_even_if_the_closure_goes_on() {
        let store = open(&testing::database()).expect("store");
        store
            .write(|tx| tx.put_passkeys(&ring("u1", "handle")))
            .expect("first ring");
        let user = crate::store::behaviour::records::user("u2", "bob", None);
        let outcome = store.write(|tx| {
            tx.put_user(&user)?;
            // The handle is another user's: refused, and ignored here.
            let refused = tx.put_passkeys(&ring("u2", "handle"));
            assert!(refused.is_err());
            Ok::<_, StoreError>(())
        });
        assert!(outcome.is_err(), "the commit reports the failed statement");
        assert_eq!(store.read(|tx| tx.user("u2")).expect("read"), None);
    }

    #[test]
    fn replicas_opening_a_new_database_at_once_migrate_it_once() {
        let url = testing::database();
        let opened: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                std::thread::spawn(move || open(&url).map(drop))
            })
            .collect();
        for replica in opened {
            replica.join().expect("thread").expect("each replica opens");
        }
        testing::run_sql(&url, "DO $$ BEGIN IF (SELECT count(*) FROM tessera_schema) <> 1 THEN RAISE 'not one version row'; END IF; END $$")
            .expect("one version row");
    }

    #[test]
    fn a_schema_newer_than_the_build_is_refused() {
        let url = testing::database();
        drop(open(&url).expect("store"));
        testing::run_sql(&url, "UPDATE tessera_schema SET version = 99").expect("newer");
        let refused = open(&url).map(drop);
        assert!(
            matches!(refused, Err(StoreError::NewerSchema { found: 99, .. })),
            "{refused:?}"
        );
        let checked = Store::check(&StoragePath::Postgres {
            url: SecretString::new(url),
            cache_for: std::time::Duration::ZERO,
        });
        assert!(
            matches!(checked, Err(StoreError::NewerSchema { .. })),
            "{checked:?}"
        );
    }

    #[test]
    fn a_refused_password_names_storage_url_and_never_the_password() {
        let url = testing::wrong_password();
        let err = open(&url).map(drop).expect_err("refused");
        let message = err.to_string();
        assert!(matches!(err, StoreError::Unreachable { .. }), "{message}");
        assert!(message.contains("`storage.url`"), "{message}");
        assert!(
            message.contains("password authentication failed"),
            "{message}"
        );
        assert!(!message.contains("not-the-password"), "{message}");
    }

    #[test]
    fn an_unreachable_server_is_named_without_the_password() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("port")
            .port();
        // Nothing listens there any more.
        let url = format!("postgres://tessera:hunter2@127.0.0.1:{port}/tessera");
        let message = open(&url).map(drop).expect_err("refused").to_string();
        assert!(message.contains("`storage.url`"), "{message}");
        assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[test]
    fn the_password_of_a_url_is_never_shown() {
        assert_eq!(
            redact("postgres://tessera:hunter2@db.example:5432/id?sslmode=require"),
            "postgres://tessera:redacted@db.example:5432/id?sslmode=require"
        );
        let query = redact("postgres://db.example/id?user=t&password=hunter2");
        assert!(!query.contains("hunter2"), "{query}");
        assert!(query.contains("user=t"), "{query}");
        assert_eq!(
            redact("host=db password=hunter2"),
            "(not a postgres:// URL)"
        );
        assert!(!redact("postgres://t:hunter2@[::1/id").contains("hunter2"));
    }
}
