//! The Redis client that [`RedisBackend`](crate::RedisBackend), [`RedisLock`](crate::RedisLock)
//! and [`RateLimiter::redis`](crate::RateLimiter::redis) share: one [`RedisOptions`] to
//! configure it, one [`Connector`] to run commands.

mod conn;
mod script;

pub(crate) use self::conn::Connector;
pub(crate) use self::script::{Eval, Lua};

use std::fmt;
use std::time::Duration;

/// Where the Redis server is and how long to wait for it: what [`RedisBackend`](crate::RedisBackend),
/// [`RedisLock`](crate::RedisLock) and [`RateLimiter::redis`](crate::RateLimiter::redis) take.
///
/// The URL is `redis://[user:password@]host[:port][/db]` or
/// `redis+unix:///path/to/socket[?db=N]` (TLS, `rediss://`, is not built in). It is parsed when
/// the backend, lock or limiter is made; nothing connects until the first command.
///
/// - Connections are opened on first use, with [`connect_timeout`](Self::connect_timeout).
/// - Every command waits at most [`response_timeout`](Self::response_timeout) for its reply.
/// - After a failed connection attempt, commands fail at once for
///   [`reconnect_backoff`](Self::reconnect_backoff), so an unreachable server costs one connect
///   timeout per backoff period, not one per call.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use cacher::RedisOptions;
///
/// let options = RedisOptions::new("redis://127.0.0.1:6379/3")
///     .connect_timeout(Duration::from_millis(300))
///     .response_timeout(Duration::from_millis(200))
///     .reconnect_backoff(Duration::from_secs(5));
/// assert_eq!(options.url(), "redis://127.0.0.1:6379/3");
///
/// // `$CACHER_REDIS_URL`, else the local default server.
/// let from_env = RedisOptions::from_env();
/// # let _ = from_env;
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RedisOptions {
    url: String,
    connect_timeout: Duration,
    response_timeout: Duration,
    reconnect_backoff: Duration,
}

impl RedisOptions {
    /// The environment variable naming the Redis server for [`from_env`](Self::from_env) (and
    /// for `#[cached(backend = "redis")]` without `redis_url`).
    pub const URL_ENV: &'static str = "CACHER_REDIS_URL";
    /// The server used when neither a URL nor [`URL_ENV`](Self::URL_ENV) is given.
    pub const DEFAULT_URL: &'static str = "redis://127.0.0.1:6379/";
    /// Default [`connect_timeout`](Self::connect_timeout): 1 s.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
    /// Default [`response_timeout`](Self::response_timeout): 500 ms.
    pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
    /// Default [`reconnect_backoff`](Self::reconnect_backoff): 1 s.
    pub const DEFAULT_RECONNECT_BACKOFF: Duration = Duration::from_secs(1);

    /// The server at `url`, with the default timeouts.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            response_timeout: Self::DEFAULT_RESPONSE_TIMEOUT,
            reconnect_backoff: Self::DEFAULT_RECONNECT_BACKOFF,
        }
    }

    /// The server at `$CACHER_REDIS_URL` when that is set and not empty, else at
    /// [`DEFAULT_URL`](Self::DEFAULT_URL).
    #[must_use]
    pub fn from_env() -> Self {
        Self::new(resolve_url(None))
    }

    /// Bound on opening a connection: on the TCP connect, then on each reply of the handshake.
    /// Default: [`DEFAULT_CONNECT_TIMEOUT`](Self::DEFAULT_CONNECT_TIMEOUT) (1 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Bound on each command's reply. Default:
    /// [`DEFAULT_RESPONSE_TIMEOUT`](Self::DEFAULT_RESPONSE_TIMEOUT) (500 ms).
    #[must_use]
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// After a failed connection attempt, commands fail at once for this long instead of each
    /// waiting for a connect timeout.
    /// Default: [`DEFAULT_RECONNECT_BACKOFF`](Self::DEFAULT_RECONNECT_BACKOFF) (1 s); zero tries
    /// again on every command.
    #[must_use]
    pub fn reconnect_backoff(mut self, backoff: Duration) -> Self {
        self.reconnect_backoff = backoff;
        self
    }

    /// The server's URL, as given.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL without its credentials (`redis://…@host:6379/`, and `?pass=…` in the query): what
    /// messages and tools print.
    ///
    /// ```
    /// let options = cacher::RedisOptions::new("redis://:hunter2@cache.internal:6379/0");
    /// assert_eq!(options.redacted_url(), "redis://…@cache.internal:6379/0");
    /// ```
    #[must_use]
    pub fn redacted_url(&self) -> String {
        redacted(&self.url)
    }
}

impl fmt::Debug for RedisOptions {
    /// Never shows a password the URL holds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisOptions")
            .field("url", &redacted(&self.url))
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("reconnect_backoff", &self.reconnect_backoff)
            .finish()
    }
}

/// `url` with its credentials written `…`: the `user:password@` of `scheme://user:password@host`,
/// and the values of query parameters that carry one (`?pass=`, which `redis+unix://` URLs take,
/// and any other whose name says password, token or auth).
fn redacted(url: &str) -> String {
    let (address, query) = match url.split_once('?') {
        Some((address, query)) => (address, Some(query)),
        None => (url, None),
    };
    let mut out = match address.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{scheme}://…{}", &rest[at..]),
                None => address.to_owned(),
            }
        }
        None => address.to_owned(),
    };
    if let Some(query) = query {
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((name, _)) if is_secret(name) => {
                    out.push_str(name);
                    out.push_str("=…");
                }
                _ => out.push_str(pair),
            }
        }
    }
    out
}

/// Whether a URL query parameter of this name carries a credential.
fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["pass", "pwd", "token", "auth", "secret", "key"]
        .iter()
        .any(|word| name.contains(word))
}

/// `configured`, else `$CACHER_REDIS_URL` (when set and not empty), else
/// [`RedisOptions::DEFAULT_URL`].
pub(crate) fn resolve_url(configured: Option<&str>) -> String {
    if let Some(url) = configured {
        return url.to_owned();
    }
    match std::env::var(RedisOptions::URL_ENV) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => RedisOptions::DEFAULT_URL.to_owned(),
    }
}

/// An expiry for `SET … PX` (an entry's time left, a lock's lease), in milliseconds, within
/// what Redis accepts: it refuses one that, added to its clock, passes `i64::MAX` ms ("invalid
/// expire time"), so that an entry or lease of `Duration::MAX` ("forever") was never written.
/// Half of that is still 146 million years.
pub(crate) fn px(ms: u64) -> u64 {
    ms.min(i64::MAX.unsigned_abs() / 2)
}

#[cfg(test)]
mod tests {
    use super::{RedisOptions, px, redacted, resolve_url};

    #[test]
    fn an_expiry_past_redis_range_is_brought_within_it() {
        assert_eq!(px(1), 1);
        assert_eq!(px(u64::MAX), i64::MAX.unsigned_abs() / 2);
    }

    #[test]
    fn url_resolution() {
        assert_eq!(resolve_url(Some("redis://h:1/")), "redis://h:1/");
    }

    #[test]
    fn debug_hides_the_password() {
        assert_eq!(redacted("redis://u:secret@h:1/2"), "redis://…@h:1/2");
        assert_eq!(redacted("redis://:secret@h/"), "redis://…@h/");
        assert_eq!(redacted("redis://h:1/2"), "redis://h:1/2");
        assert_eq!(
            redacted("redis+unix:///tmp/r.sock"),
            "redis+unix:///tmp/r.sock"
        );
        let debug = format!("{:?}", RedisOptions::new("redis://u:secret@h/"));
        assert!(!debug.contains("secret"), "{debug}");
    }

    /// Attack 21 left this: a password in the query (`redis+unix://` URLs take `?pass=`, which
    /// redis-rs reads) was printed as given by `Debug`, messages and the `cacher` command.
    #[test]
    fn debug_hides_a_password_in_the_query() {
        assert_eq!(
            redacted("redis+unix:///tmp/r.sock?db=1&user=app&pass=hunter2"),
            "redis+unix:///tmp/r.sock?db=1&user=app&pass=…"
        );
        assert_eq!(
            redacted("redis://u:secret@h:1/2?password=x&protocol=resp3&Auth_Token=y"),
            "redis://…@h:1/2?password=…&protocol=resp3&Auth_Token=…"
        );
        assert_eq!(redacted("redis://h/?db=2"), "redis://h/?db=2");
        let options = RedisOptions::new("redis+unix:///r.sock?pass=hunter2");
        for shown in [format!("{options:?}"), options.redacted_url()] {
            assert!(!shown.contains("hunter2"), "{shown}");
        }
    }
}
