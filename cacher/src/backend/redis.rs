//! Entries in Redis: one string key per entry, Redis's own expiry as the ttl.

mod generations;
mod list;

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Generation, PersistentBackend};
use crate::entry::{self, Entry, EntryKey};
use crate::error::Result;
use crate::format::{Formatter, JsonFormatter};
use crate::redis::{Connector, RedisOptions};

/// Keys `clear` asks `SCAN` for per round trip (and deletes per `UNLINK`).
const SCAN_BATCH: usize = 500;

/// Stores each entry as one Redis string, with the entry's ttl as Redis's expiry.
///
/// # Layout
///
/// - Key: `cacher:{<namespace>}:<key>`, where `<key>` is the keyer's output and `<namespace>`
///   the cache's namespace with `%` and `}` written as `%25` and `%7D` — e.g.
///   `cacher:{app::fetch_posts}:(v2)endpoint=%2Fposts_user_id=1`. The braces make the namespace
///   unambiguous (no namespace's keys match another's `cacher:{<namespace>}:*`), and are a Redis
///   Cluster hash tag: all of a namespace's entries live in one slot. With a cache `version`,
///   `cacher:{<namespace>}:v=<version>:<key>` (`%` and `:` of the version escaped): two versions
///   sharing a server keep their own entries, and `clear` removes every version's.
/// - Value: the bytes of [`entry::encode`] with the backend's formatter
///   (JSON by default): the value plus the namespace, version, key and type it is checked against
///   on every read. A value that fails the check is a miss and is overwritten.
/// - Expiry: `SET … PX`, so that Redis drops each entry once no read could accept it any more:
///   the entry's ttl (its own from `ttl_fn`, else the cache's) plus the longer of its
///   `stale_while_revalidate` and `stale_if_error` windows after the entry's creation time (a
///   copy filled from a lower tier keeps the original time), or its `time_to_idle` after its
///   write if that comes first (a use is recorded in memory, not here). Without a
///   ttl or idle time, entries stay until
///   [`Cache::clear`](crate::Cache::clear) or Redis's own eviction.
///
/// - Generations: one hash per namespace, `cacher:gen:{<namespace>}` (the same hash tag), that
///   keeps what Redis has seen of the namespace's invalidations, from every machine
///   ([`PersistentBackend::generation`]): field `all` counts its clears (from a random start,
///   so that a hash Redis lost and made anew never reads as the lost one), and the field of each key
///   stripe — the first 8 bytes of the blake3 hash of the entry's key, little-endian, modulo
///   4 096 — holds `count,h1,h2,h3,h4`, how many `insert`s and `remove`s moved it and the hashes
///   (the next 8 bytes) of the last four keys that did. `insert` and `remove` move it in the
///   script that writes; a computed value is written by a script that first checks that its key
///   was not invalidated since its generation was read (before its function ran): so a value one
///   machine computed before another machine's `remove` or `insert` does not land after it. The
///   hash has no expiry and `clear` keeps it (at most 4 097 short fields a namespace).
///
/// [`Cache::clear`](crate::Cache::clear) deletes the namespace's keys in batches
/// (`SCAN MATCH cacher:{<namespace>}:* COUNT 500`, then `UNLINK`), never with `KEYS` or
/// `FLUSHDB`: other keys in the same database are left alone. The rate limiter's keys
/// (`cacher:rate:…`) and the locks' (`cacher:lock:…`) never match that pattern.
///
/// # The ttl
///
/// The cache tells the backend its [`ttl`](crate::CacheBuilder::ttl) (plus the
/// [`stale_if_error`](crate::CacheBuilder::stale_if_error) grace) when it is built, and that
/// becomes Redis's expiry. [`ttl`](Self::ttl) overrides it — e.g. a longer Redis ttl for entries
/// that other caches read with a longer ttl. The cache checks freshness itself on every read, so a
/// longer Redis ttl only costs memory, never serves an expired value.
///
/// # Failures
///
/// Connections are opened on first use, re-opened after a failure, and every command has a
/// timeout (see [`RedisOptions`]).
/// When Redis is down, reads and writes return [`Error::Backend`](crate::Error::Backend): the
/// cache logs a warning, counts it in [`CacheStats::errors`](crate::CacheStats::errors) and
/// runs the function. When Redis is back, the next command reconnects.
///
/// Async methods (feature `tokio`) use a multiplexed connection, without blocking the executor.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use cacher::{Cache, PostcardFormatter, RedisBackend, RedisOptions};
///
/// # fn main() -> cacher::Result<()> {
/// let redis = RedisOptions::new("redis://127.0.0.1:6379/");
/// let cache: Cache<u64, String> = Cache::builder()
///     .namespace("app::user_name")
///     .backend(cacher::MemoryBackend::new())
///     .backend(RedisBackend::new(redis)?.formatter(PostcardFormatter))
///     // Also Redis's expiry (`SET … PX`).
///     .ttl(Duration::from_secs(3600))
///     .build()?;
/// let name = cache.get_or_compute(&7, || "seven".to_owned());
/// assert_eq!(name, "seven");
/// # Ok(())
/// # }
/// ```
pub struct RedisBackend<F = JsonFormatter> {
    conn: Connector,
    formatter: F,
    /// Redis's expiry: the user's [`ttl`](Self::ttl), else the cache's retention.
    ttl: Option<Duration>,
    ttl_set_by_user: bool,
}

impl RedisBackend<JsonFormatter> {
    /// A backend on the server of `options`, storing JSON. Connects on first use.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) when the URL does not parse.
    ///
    /// # Examples
    ///
    /// ```
    /// use cacher::{RedisBackend, RedisOptions};
    ///
    /// // Nothing is connected yet, so this works without a server.
    /// let backend = RedisBackend::new(RedisOptions::new("redis://127.0.0.1:6379/3")).unwrap();
    /// assert_eq!(backend.redis_key("app::f", None, "user=1"), "cacher:{app::f}:user=1");
    /// assert_eq!(backend.redis_key("app::f", Some("2"), "user=1"), "cacher:{app::f}:v=2:user=1");
    /// assert!(RedisBackend::new(RedisOptions::new("http://example.com")).is_err());
    /// ```
    pub fn new(options: RedisOptions) -> Result<Self> {
        Ok(Self {
            conn: Connector::new(&options)?,
            formatter: JsonFormatter,
            ttl: None,
            ttl_set_by_user: false,
        })
    }
}

impl<F: Formatter> RedisBackend<F> {
    /// Encodes entries with `formatter`.
    #[must_use]
    pub fn formatter<G: Formatter>(self, formatter: G) -> RedisBackend<G> {
        RedisBackend {
            conn: self.conn,
            formatter,
            ttl: self.ttl,
            ttl_set_by_user: self.ttl_set_by_user,
        }
    }

    /// Redis deletes each entry `ttl` after its creation time (`SET … PX`), instead of after the
    /// cache's ttl and grace. An entry whose time is already up when it is written is not
    /// written: the key's older entry is taken out instead, as the write would have replaced
    /// it. Counted in whole milliseconds, rounded up (500 µs is 1 ms, never 0).
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self.ttl_set_by_user = true;
        self
    }

    /// The Redis key of the entry for `key` in `namespace` under `version` (see
    /// [Layout](Self#layout)): each version has keys of its own, so that two versions sharing a
    /// server (a rolling deploy) keep both.
    #[must_use]
    pub fn redis_key(&self, namespace: &str, version: Option<&str>, key: &str) -> String {
        entry_redis_key(namespace, version, key)
    }

    /// The `SCAN MATCH` pattern of every entry of `namespace`.
    #[must_use]
    pub fn namespace_pattern(&self, namespace: &str) -> String {
        namespace_pattern(namespace)
    }

    /// The entry's key, bytes and `PX` (`None`: for ever; `Some(0)`: its time is already up,
    /// and the scripts take the key's older entry out instead of writing it).
    fn to_set<V: Serialize + DeserializeOwned>(
        &self,
        key: &EntryKey<'_>,
        entry: &Entry<V>,
    ) -> Result<Set> {
        let redis_key = entry_redis_key(key.namespace, key.version, key.key);
        let bytes = entry::encode(&self.formatter, key, entry)?;
        let px = self.time_left(entry, system_now_ms()).map(crate::redis::px);
        Ok(Set {
            redis_key,
            bytes,
            px,
        })
    }

    /// A computed value's write, or a fill's (`nx`), in a script that first checks that the
    /// key was not invalidated since `seen`: whether it wrote.
    fn write_since<V: Serialize + DeserializeOwned>(
        &self,
        key: &EntryKey<'_>,
        entry: &Entry<V>,
        (seen, nx): (Generation, bool),
    ) -> Result<bool> {
        let set = self.to_set(key, entry)?;
        let hash = Self::hash_key(key.namespace);
        let cmd = generations::since((&hash, &set.redis_key), (seen, nx), (&set.bytes, set.px));
        self.conn
            .eval::<i64>(&cmd)
            .map(|wrote| wrote == 1)
            .map_err(|e| self.conn.error(&format!("SET {}", set.redis_key), e))
    }

    /// The generations hash of `namespace`.
    fn hash_key(namespace: &str) -> String {
        generations::hash_key(&escape_namespace(namespace))
    }

    /// How long Redis keeps `entry` from `now_ms` (`Some(0)`: its time is up; `None`: for
    /// ever). The user's Redis ttl; else the entry's own end (its ttl from `ttl_fn`, the grace
    /// windows, its idle time), which the cache sets on each write; else the cache's retention.
    fn time_left<V>(&self, entry: &Entry<V>, now_ms: u64) -> Option<u64> {
        let from_created =
            |ttl: Duration| entry.created_ms.saturating_add(crate::clock::ceil_ms(ttl));
        let expires_ms = match (self.ttl_set_by_user, entry.expires_ms) {
            (false, Some(expires_ms)) => Some(expires_ms),
            _ => self.ttl.map(from_created),
        };
        expires_ms.map(|expires_ms| expires_ms.saturating_sub(now_ms))
    }

    /// A `GET`'s failure. A value of another Redis type under the entry's key (a list planted
    /// there, another program's hash) is a corrupt entry — a miss, which the next write's `SET`
    /// replaces, as a corrupt file is — not the server failing, which would skip the tier for
    /// the call, its write included, on every call until that value expired.
    fn read_error(&self, redis_key: &str, e: redis::RedisError) -> crate::Error {
        if e.code() == Some("WRONGTYPE") {
            return crate::Error::corrupt(redis_key, "a Redis value of another type than a string");
        }
        self.conn.error(&format!("GET {redis_key}"), e)
    }

    fn decode<V: DeserializeOwned>(
        &self,
        key: &EntryKey<'_>,
        redis_key: &str,
        bytes: Option<Vec<u8>>,
    ) -> Result<Option<Entry<V>>> {
        match bytes {
            None => Ok(None),
            Some(bytes) => entry::decode_current(&self.formatter, key, &bytes, &redis_key),
        }
    }
}

impl<F, V> PersistentBackend<V> for RedisBackend<F>
where
    F: Formatter,
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    fn name(&self) -> &'static str {
        "redis"
    }

    fn attach(&mut self, retention: Option<Duration>) -> Result<()> {
        if self.ttl == Some(Duration::ZERO) {
            return Err(crate::Error::Config(
                "a Redis ttl of zero would expire every entry as it is written: give a positive ttl"
                    .into(),
            ));
        }
        if !self.ttl_set_by_user {
            self.ttl = retention;
        }
        Ok(())
    }

    fn get(&self, key: &EntryKey<'_>) -> Result<Option<Entry<V>>> {
        let redis_key = entry_redis_key(key.namespace, key.version, key.key);
        let bytes: Option<Vec<u8>> = self
            .conn
            .query(redis::cmd("GET").arg(&redis_key))
            .map_err(|e| self.read_error(&redis_key, e))?;
        self.decode(key, &redis_key, bytes)
    }

    /// `SET`, with the move of the key's generation, in one script.
    fn insert(&self, key: &EntryKey<'_>, entry: &Entry<V>) -> Result<()> {
        let set = self.to_set(key, entry)?;
        let hash = Self::hash_key(key.namespace);
        let cmd = generations::invalidate((&hash, &set.redis_key), Some((&set.bytes, set.px)));
        self.conn
            .eval::<()>(&cmd)
            .map_err(|e| self.conn.error(&format!("SET {}", set.redis_key), e))
    }

    /// Redis writes the entry only if the key has none and was not invalidated since `since`,
    /// in one script.
    fn fill(&self, key: &EntryKey<'_>, entry: &Entry<V>, since: Generation) -> Result<bool> {
        self.write_since(key, entry, (since, true))
    }

    /// `HMGET` of the namespace's generations hash (after a script that starts it, the first
    /// time, or after Redis lost it).
    fn generation(&self, key: &EntryKey<'_>) -> Result<Generation> {
        let redis_key = entry_redis_key(key.namespace, key.version, key.key);
        let hash = Self::hash_key(key.namespace);
        let error = |e| self.conn.error(&format!("HMGET {hash}"), e);
        let read = self.conn.query(&generations::read(&hash, &redis_key));
        if let Some(generation) = generations::answered(read).map_err(error)? {
            return Ok(generation);
        }
        let start = self.conn.eval(&generations::start(&hash, &redis_key));
        generations::generation(start.map_err(error)?).ok_or_else(|| unstarted(&hash))
    }

    /// `SET`, in a script that first compares the key's generation with `since`.
    fn insert_since(
        &self,
        key: &EntryKey<'_>,
        entry: &Entry<V>,
        since: Generation,
    ) -> Result<bool> {
        self.write_since(key, entry, (since, false))
    }

    /// The move of the key's generation alone, in a script.
    fn begin_refresh(&self, key: &EntryKey<'_>) -> Result<()> {
        let redis_key = entry_redis_key(key.namespace, key.version, key.key);
        let hash = Self::hash_key(key.namespace);
        self.conn
            .eval::<()>(&generations::moved((&hash, &redis_key)))
            .map_err(|e| self.conn.error(&format!("HSET {hash}"), e))
    }

    /// `UNLINK`, with the move of the key's generation, in one script.
    fn remove(&self, key: &EntryKey<'_>) -> Result<()> {
        let redis_key = entry_redis_key(key.namespace, key.version, key.key);
        let hash = Self::hash_key(key.namespace);
        self.conn
            .eval::<()>(&generations::invalidate((&hash, &redis_key), None))
            .map_err(|e| self.conn.error(&format!("UNLINK {redis_key}"), e))
    }

    fn listing(&self) -> Option<&dyn super::Listing> {
        Some(self)
    }

    /// Moves every key's generation, then deletes the namespace's keys in batches.
    fn clear(&self, namespace: &str) -> Result<()> {
        let hash = Self::hash_key(namespace);
        self.conn
            .eval::<()>(&generations::clear(&hash))
            .map_err(|e| self.conn.error(&format!("HINCRBY {hash}"), e))?;
        let pattern = namespace_pattern(namespace);
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<Vec<u8>>) = self
                .conn
                .query(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(SCAN_BATCH),
                )
                .map_err(|e| self.conn.error(&format!("SCAN MATCH {pattern}"), e))?;
            if !keys.is_empty() {
                self.conn
                    .query::<()>(redis::cmd("UNLINK").arg(&keys))
                    .map_err(|e| self.conn.error(&format!("UNLINK ({pattern})"), e))?;
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }

    #[cfg(feature = "tokio")]
    fn get_async<'a>(
        &'a self,
        key: &'a EntryKey<'a>,
    ) -> super::BoxFuture<'a, Result<Option<Entry<V>>>>
    where
        V: Send + 'a,
    {
        Box::pin(async move {
            let redis_key = entry_redis_key(key.namespace, key.version, key.key);
            let bytes: Option<Vec<u8>> = self
                .conn
                .query_async(redis::cmd("GET").arg(&redis_key))
                .await
                .map_err(|e| self.read_error(&redis_key, e))?;
            self.decode(key, &redis_key, bytes)
        })
    }

    #[cfg(feature = "tokio")]
    fn insert_async<'a>(
        &'a self,
        key: &'a EntryKey<'a>,
        entry: &'a Entry<V>,
    ) -> super::BoxFuture<'a, Result<()>>
    where
        V: Send + Sync + 'a,
    {
        Box::pin(async move {
            let set = self.to_set(key, entry)?;
            let hash = Self::hash_key(key.namespace);
            let cmd = generations::invalidate((&hash, &set.redis_key), Some((&set.bytes, set.px)));
            self.conn
                .eval_async::<()>(&cmd)
                .await
                .map_err(|e| self.conn.error(&format!("SET {}", set.redis_key), e))
        })
    }

    /// [`begin_refresh`](PersistentBackend::begin_refresh)'s script, awaited.
    #[cfg(feature = "tokio")]
    fn begin_refresh_async<'a>(
        &'a self,
        key: &'a EntryKey<'a>,
    ) -> super::BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let redis_key = entry_redis_key(key.namespace, key.version, key.key);
            let hash = Self::hash_key(key.namespace);
            self.conn
                .eval_async::<()>(&generations::moved((&hash, &redis_key)))
                .await
                .map_err(|e| self.conn.error(&format!("HSET {hash}"), e))
        })
    }

    #[cfg(feature = "tokio")]
    fn generation_async<'a>(
        &'a self,
        key: &'a EntryKey<'a>,
    ) -> super::BoxFuture<'a, Result<Generation>> {
        Box::pin(async move {
            let redis_key = entry_redis_key(key.namespace, key.version, key.key);
            let hash = Self::hash_key(key.namespace);
            let error = |e| self.conn.error(&format!("HMGET {hash}"), e);
            let read = generations::read(&hash, &redis_key);
            let read = self.conn.query_async(&read).await;
            if let Some(generation) = generations::answered(read).map_err(error)? {
                return Ok(generation);
            }
            let start = generations::start(&hash, &redis_key);
            let start = self.conn.eval_async(&start).await.map_err(error)?;
            generations::generation(start).ok_or_else(|| unstarted(&hash))
        })
    }
}

impl<F: Formatter> fmt::Debug for RedisBackend<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBackend")
            .field("redis", &self.conn)
            .field("formatter", &self.formatter)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// An entry as Redis is to hold it.
struct Set {
    redis_key: String,
    bytes: Vec<u8>,
    /// Its `PX`; `None`: for ever.
    px: Option<u64>,
}

/// The script that starts a generations hash answered without its start: another program's
/// script, or a server that does not run them as Redis does.
#[cold]
fn unstarted(hash: &str) -> crate::Error {
    crate::Error::corrupt(
        hash,
        "a generations hash without its field `all` once started",
    )
}

fn system_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The namespace as it appears between the braces: `%` and `}` escaped, so that it ends at the
/// first `}`.
fn escape_namespace(namespace: &str) -> String {
    let mut out = String::with_capacity(namespace.len());
    for c in namespace.chars() {
        match c {
            '%' => out.push_str("%25"),
            '}' => out.push_str("%7D"),
            c => out.push(c),
        }
    }
    out
}

/// `cacher:{<namespace>}:<key>`, or `cacher:{<namespace>}:v=<version>:<key>`: the version's `%` and
/// `:` are escaped, so it ends at its first `:`. (The keyers' keys never start with `v=`.)
pub(crate) fn entry_redis_key(namespace: &str, version: Option<&str>, key: &str) -> String {
    let namespace = escape_namespace(namespace);
    match version {
        None => format!("cacher:{{{namespace}}}:{key}"),
        Some(version) => {
            let version = version.replace('%', "%25").replace(':', "%3A");
            format!("cacher:{{{namespace}}}:v={version}:{key}")
        }
    }
}

/// `cacher:{<namespace>}:*` with the glob characters of the namespace escaped.
pub(crate) fn namespace_pattern(namespace: &str) -> String {
    let mut pattern = String::from("cacher:{");
    for c in escape_namespace(namespace).chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push_str("}:*");
    pattern
}

#[cfg(test)]
mod tests;
