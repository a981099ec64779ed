//! Connections to one Redis server, shared by the backend, the shared rate limiter and the lock:
//! lazily opened, re-opened after a failure, every command under a timeout.
//!
//! - Blocking commands take a connection from a small pool of idle ones (opening one when the
//!   pool is empty) and put it back after a success. A connection that failed — timeout, reset,
//!   refused — is dropped, so the next command opens a fresh one: a restarted server is picked up
//!   without restarting the process.
//! - Async commands (feature `tokio`) share one multiplexed connection per tokio runtime. Keyed by
//!   runtime because the connection's driver task lives on the runtime that opened it: a cache in
//!   a `static` outlives the runtimes of, say, consecutive `#[tokio::test]`s.
//! - A command that fails on a connection that was idle because the server closed it (it may have
//!   restarted since) is retried once on a fresh connection; a timeout is not retried. Every
//!   command sent this way is safe to repeat.
//! - After a failed connection attempt, commands fail at once for `reconnect_backoff`, so that an
//!   unreachable server costs one connect timeout per backoff period, not one per call.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::{Cmd, FromRedisValue, RedisError, RedisResult};

use super::RedisOptions;
use crate::error::Error;

/// Idle blocking connections kept for reuse; more concurrent callers open (and then drop) their own.
const MAX_IDLE: usize = 16;

/// The connection settings and connections to one server.
pub(crate) struct Connector {
    client: redis::Client,
    /// `host:port` (never the password), for messages.
    address: String,
    connect_timeout: Duration,
    response_timeout: Duration,
    reconnect_backoff: Duration,
    idle: Mutex<Vec<redis::Connection>>,
    /// Until when commands fail without trying, and why.
    down: Mutex<Option<(Instant, String)>>,
    #[cfg(feature = "tokio")]
    multiplexed: Mutex<Vec<(tokio::runtime::Id, redis::aio::MultiplexedConnection)>>,
}

impl Connector {
    /// Parses the options' URL; connects nothing yet.
    pub(crate) fn new(options: &RedisOptions) -> crate::Result<Self> {
        let client = redis::Client::open(options.url.as_str())
            .map_err(|e| Error::Config(format!("invalid Redis URL: {e}")))?;
        let address = client.get_connection_info().addr().to_string();
        Ok(Self {
            client,
            address,
            connect_timeout: options.connect_timeout,
            response_timeout: options.response_timeout,
            reconnect_backoff: options.reconnect_backoff,
            idle: Mutex::new(Vec::new()),
            down: Mutex::new(None),
            #[cfg(feature = "tokio")]
            multiplexed: Mutex::new(Vec::new()),
        })
    }

    /// The server's `host:port` (or socket path).
    pub(crate) fn address(&self) -> &str {
        &self.address
    }

    /// The crate's error for a failed command; `what` names the command and its key. A timeout
    /// says so: the driver's error reads "Resource temporarily unavailable" (helper-111).
    pub(crate) fn error(&self, what: &str, error: RedisError) -> Error {
        let timed_out = match error.is_timeout() {
            true => " (timed out)",
            false => "",
        };
        let context = format!("{what} on {}{timed_out}", self.address);
        Error::backend("redis", context, error)
    }

    /// Runs `cmd` on a pooled blocking connection.
    pub(crate) fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> RedisResult<T> {
        let (mut conn, reused) = match self.pop_idle() {
            Some(conn) => (conn, true),
            None => (self.connect()?, false),
        };
        let result = cmd.query::<T>(&mut conn);
        match result {
            Err(e) if reused && is_stale_connection(&e) => {
                // Idle connections may all be from before a server restart.
                drop(conn);
                self.lock_idle().clear();
                let mut conn = self.connect()?;
                let result = cmd.query::<T>(&mut conn);
                self.finish(conn, &result);
                result
            }
            result => {
                self.finish(conn, &result);
                result
            }
        }
    }

    /// Runs a script by its hash, and with its text when the server does not hold it yet.
    pub(crate) fn eval<T: FromRedisValue>(&self, eval: &super::Eval<'_>) -> RedisResult<T> {
        match self.query(&eval.cmd(true)) {
            Err(e) if super::script::not_held(&e) => self.query(&eval.cmd(false)),
            result => result,
        }
    }

    /// Runs `pipe` on a pooled blocking connection (no retry: a listing's reads are idempotent
    /// and a failure is reported to the user).
    pub(crate) fn query_pipe<T: FromRedisValue>(&self, pipe: &redis::Pipeline) -> RedisResult<T> {
        let mut conn = match self.pop_idle() {
            Some(conn) => conn,
            None => self.connect()?,
        };
        let result = pipe.query::<T>(&mut conn);
        self.finish(conn, &result);
        result
    }

    fn finish<T>(&self, conn: redis::Connection, result: &RedisResult<T>) {
        if result.as_ref().is_err_and(is_connection_error) {
            return; // dropped: its stream may hold a late reply, or be dead
        }
        let mut idle = self.lock_idle();
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    fn pop_idle(&self) -> Option<redis::Connection> {
        self.lock_idle().pop()
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<redis::Connection>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn connect(&self) -> RedisResult<redis::Connection> {
        self.check_backoff()?;
        let opened = self
            .client
            .get_connection_with_timeout(self.connect_timeout)
            .and_then(|conn| {
                conn.set_read_timeout(Some(self.response_timeout))?;
                conn.set_write_timeout(Some(self.response_timeout))?;
                Ok(conn)
            });
        self.record_connect(opened.as_ref().err());
        opened
    }

    /// Fails at once while a recent connection attempt's failure is fresh.
    fn check_backoff(&self) -> RedisResult<()> {
        let down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        match &*down {
            Some((until, why)) if Instant::now() < *until => Err(RedisError::from((
                redis::ErrorKind::Io,
                "not retrying yet after a failed connection attempt",
                why.clone(),
            ))),
            _ => Ok(()),
        }
    }

    fn record_connect(&self, error: Option<&RedisError>) {
        let mut down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        *down = match error {
            Some(e) if !self.reconnect_backoff.is_zero() => Some((
                crate::clock::deadline_after(self.reconnect_backoff),
                e.to_string(),
            )),
            _ => None,
        };
    }

    /// Runs `cmd` on this runtime's multiplexed connection.
    #[cfg(feature = "tokio")]
    pub(crate) async fn query_async<T: FromRedisValue>(&self, cmd: &Cmd) -> RedisResult<T> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| {
                RedisError::from((redis::ErrorKind::Client, "no tokio runtime", e.to_string()))
            })?
            .id();
        let (mut conn, reused) = match self.multiplexed_for(runtime) {
            Some(conn) => (conn, true),
            None => (self.connect_async(runtime).await?, false),
        };
        let result = cmd.query_async::<T>(&mut conn).await;
        match result {
            Err(e) if is_connection_error(&e) => {
                self.forget_multiplexed(runtime);
                if !reused || !is_stale_connection(&e) {
                    return Err(e);
                }
                let mut conn = self.connect_async(runtime).await?;
                let result = cmd.query_async::<T>(&mut conn).await;
                if result.as_ref().is_err_and(is_connection_error) {
                    self.forget_multiplexed(runtime);
                }
                result
            }
            result => result,
        }
    }

    /// [`eval`](Self::eval) on this runtime's multiplexed connection.
    #[cfg(feature = "tokio")]
    pub(crate) async fn eval_async<T: FromRedisValue>(
        &self,
        eval: &super::Eval<'_>,
    ) -> RedisResult<T> {
        match self.query_async(&eval.cmd(true)).await {
            Err(e) if super::script::not_held(&e) => self.query_async(&eval.cmd(false)).await,
            result => result,
        }
    }

    #[cfg(feature = "tokio")]
    fn lock_multiplexed(
        &self,
    ) -> std::sync::MutexGuard<'_, Vec<(tokio::runtime::Id, redis::aio::MultiplexedConnection)>>
    {
        self.multiplexed.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[cfg(feature = "tokio")]
    fn multiplexed_for(
        &self,
        runtime: tokio::runtime::Id,
    ) -> Option<redis::aio::MultiplexedConnection> {
        let conns = self.lock_multiplexed();
        conns
            .iter()
            .find(|(id, _)| *id == runtime)
            .map(|(_, conn)| conn.clone())
    }

    #[cfg(feature = "tokio")]
    fn forget_multiplexed(&self, runtime: tokio::runtime::Id) {
        self.lock_multiplexed().retain(|(id, _)| *id != runtime);
    }

    #[cfg(feature = "tokio")]
    async fn connect_async(
        &self,
        runtime: tokio::runtime::Id,
    ) -> RedisResult<redis::aio::MultiplexedConnection> {
        /// Runtimes remembered; the oldest is forgotten beyond this (they are usually gone).
        const MAX_RUNTIMES: usize = 8;
        self.check_backoff()?;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.response_timeout));
        let opened = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await;
        self.record_connect(opened.as_ref().err());
        let conn = opened?;
        let mut conns = self.lock_multiplexed();
        conns.retain(|(id, _)| *id != runtime);
        if conns.len() >= MAX_RUNTIMES {
            conns.remove(0);
        }
        conns.push((runtime, conn.clone()));
        Ok(conn)
    }
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("address", &self.address)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("reconnect_backoff", &self.reconnect_backoff)
            .finish_non_exhaustive()
    }
}

/// True for the failures of a connection the server closed (it restarted, or dropped idle
/// clients), after which one retry on a fresh connection is worth it. Not timeouts: a server that
/// did not answer in time is slow or hung, and a retry would only double the wait.
fn is_stale_connection(error: &RedisError) -> bool {
    is_connection_error(error) && !error.is_timeout()
}

/// True when the connection that produced `error` cannot be trusted any more.
fn is_connection_error(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_unrecoverable_error()
}
