//! Entries in Redis: one string key per entry, Redis's own expiry as the ttl.

mod list;

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::PersistentBackend;
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
    /// written. Counted in whole milliseconds, rounded up (500 µs is 1 ms, never 0).
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

    /// `SET key bytes [PX ms]`, or `None` when the entry's time is already up.
    fn set_cmd<V: Serialize + DeserializeOwned>(
        &self,
        key: &EntryKey<'_>,
        entry: &Entry<V>,
    ) -> Result<Option<(String, redis::Cmd)>> {
        let redis_key = entry_redis_key(key.namespace, key.version, key.key);
        let bytes = entry::encode(&self.formatter, key, entry)?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(&redis_key).arg(bytes);
        match self.time_left(entry, system_now_ms()) {
            Some(0) => return Ok(None),
            Some(left_ms) => {
                cmd.arg("PX").arg(crate::redis::px(left_ms));
            }
            None => {}
        }
        Ok(Some((redis_key, cmd)))
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

    fn insert(&self, key: &EntryKey<'_>, entry: &Entry<V>) -> Result<()> {
        let Some((redis_key, cmd)) = self.set_cmd(key, entry)? else {
            return Ok(());
        };
        self.conn
            .query::<()>(&cmd)
            .map_err(|e| self.conn.error(&format!("SET {redis_key}"), e))
    }

    /// `SET … NX`: Redis writes the entry only if the key has none, in one command.
    fn fill(&self, key: &EntryKey<'_>, entry: &Entry<V>) -> Result<bool> {
        let Some((redis_key, mut cmd)) = self.set_cmd(key, entry)? else {
            return Ok(false);
        };
        cmd.arg("NX");
        self.conn
            .query::<Option<String>>(&cmd)
            .map(|set| set.is_some())
            .map_err(|e| self.conn.error(&format!("SET {redis_key} NX"), e))
    }

    fn remove(&self, key: &EntryKey<'_>) -> Result<()> {
        let redis_key = entry_redis_key(key.namespace, key.version, key.key);
        self.conn
            .query::<()>(redis::cmd("UNLINK").arg(&redis_key))
            .map_err(|e| self.conn.error(&format!("UNLINK {redis_key}"), e))
    }

    fn listing(&self) -> Option<&dyn super::Listing> {
        Some(self)
    }

    fn clear(&self, namespace: &str) -> Result<()> {
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
            let Some((redis_key, cmd)) = self.set_cmd(key, entry)? else {
                return Ok(());
            };
            self.conn
                .query_async::<()>(&cmd)
                .await
                .map_err(|e| self.conn.error(&format!("SET {redis_key}"), e))
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
mod tests {
    use super::*;

    #[test]
    fn a_zero_ttl_is_refused_when_the_cache_is_built() {
        let backend = RedisBackend::new(RedisOptions::new("redis://127.0.0.1:1/"))
            .unwrap()
            .ttl(Duration::ZERO);
        let built = crate::Cache::<u32, u32>::builder().backend(backend).build();
        assert!(matches!(built, Err(crate::Error::Config(_))), "{built:?}");
    }

    /// The tier's own ttl (`RedisBackend::ttl`) is counted in whole milliseconds rounded up:
    /// truncated, one under a millisecond was "already up" at the write (the tier stored
    /// nothing, ever), and 1.5 ms was 1 ms.
    #[test]
    fn a_sub_millisecond_ttl_of_the_tier_is_never_made_shorter() {
        let tier = |micros| {
            RedisBackend::new(RedisOptions::new("redis://127.0.0.1:1/"))
                .unwrap()
                .ttl(Duration::from_micros(micros))
        };
        let entry = Entry::new(7u32, 5_000);
        assert_eq!(tier(500).time_left(&entry, 5_000), Some(1));
        assert_eq!(tier(1_500).time_left(&entry, 5_000), Some(2));
        assert_eq!(tier(1_500).time_left(&entry, 5_001), Some(1));
    }

    #[test]
    fn keys_and_patterns() {
        assert_eq!(
            entry_redis_key("app::f", None, "a=1"),
            "cacher:{app::f}:a=1"
        );
        assert_eq!(entry_redis_key("a}b%", None, "k"), "cacher:{a%7Db%25}:k");
        assert_eq!(
            entry_redis_key("app::f", Some("2:%"), "a=1"),
            "cacher:{app::f}:v=2%3A%25:a=1"
        );
        assert_eq!(namespace_pattern("app::f"), "cacher:{app::f}:*");
        assert_eq!(namespace_pattern("a*[?]\\"), r"cacher:{a\*\[\?\]\\}:*");
    }

    /// What Redis's glob does for these patterns (no brackets, escapes, `*` only at the end).
    fn matches(pattern: &str, key: &str) -> bool {
        let body = pattern.strip_suffix('*').unwrap();
        let mut literal = String::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            literal.push(if c == '\\' { chars.next().unwrap() } else { c });
        }
        key.starts_with(&literal)
    }

    #[test]
    fn no_namespace_matches_another() {
        let namespaces = [
            "a", "a:", "a::b", "a}", "a}:x", "a%7D", "a%", "{a", "a*", "", ":",
        ];
        for ns in namespaces {
            for other in namespaces {
                let key = entry_redis_key(other, Some("v:}"), "k:}{*");
                assert_eq!(
                    matches(&namespace_pattern(ns), &key),
                    ns == other,
                    "{ns:?} vs {other:?}"
                );
            }
        }
    }
}
