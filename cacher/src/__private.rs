//! What `#[cached]` expansions name, by absolute path (`::cacher::__private::…`), so that user
//! crates need no dependency but `cacher`. Not a public API: it changes without notice.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub use serde;

use crate::{Cache, CacheBuilder};

mod identity;
pub use identity::{PerType, Site, default_dir, function_cache, method_cache};

/// The environment variable under which relative cache directories resolve.
pub const CACHER_DIR_ENV: &str = "CACHER_DIR";

/// Where a `#[cached]` function's files go: `configured` (or, by default,
/// `.cacher/<module path>/<function>`), resolved when relative under `$CACHER_DIR` (when set and
/// not empty; itself taken from the current directory when relative), else under the current
/// directory — read once per process. The result is absolute, so a later `chdir` does not move
/// the cache.
pub fn cache_dir(configured: Option<&str>, module_path: &str, function: &str) -> PathBuf {
    let relative_or_absolute = match configured {
        Some(dir) => PathBuf::from(dir),
        None => {
            let mut dir = PathBuf::from(".cacher");
            dir.extend(module_path.split("::"));
            dir.push(function);
            dir
        }
    };
    if relative_or_absolute.is_absolute() {
        return relative_or_absolute;
    }
    base_dir().join(relative_or_absolute)
}

/// Where relative cache directories resolve: `$CACHER_DIR` when it is set and not empty (an
/// empty one is ignored), itself resolved against the current directory when relative; else the
/// current directory. Read once, when the first `#[cached]` cache is built, so that every cache
/// of the process resolves the same way and a later `chdir` or change of the variable moves
/// none. Absolute — unless the current directory cannot be read (it was deleted), which is
/// warned about: the caches then resolve against whatever it is when they are used.
fn base_dir() -> &'static Path {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(|| {
        let base = resolve_base(std::env::var_os(CACHER_DIR_ENV), std::env::current_dir());
        if base.is_relative() {
            tracing::warn!(
                base = %base.display(),
                "cacher: the current directory cannot be read; relative cache directories resolve against it when used"
            );
        }
        base
    })
}

/// [`base_dir`] from the variable's value and the current directory.
fn resolve_base(variable: Option<OsString>, current: std::io::Result<PathBuf>) -> PathBuf {
    let configured = variable.filter(|dir| !dir.is_empty()).map(PathBuf::from);
    match configured {
        Some(dir) if dir.is_absolute() => dir,
        relative => {
            let current = current.unwrap_or_default();
            relative.map_or_else(|| current.clone(), |dir| current.join(dir))
        }
    }
}

/// Builds a cache whose options the attribute already validated.
///
/// # Panics
/// When the runtime refuses a combination the attribute let through — a bug in `#[cached]`.
pub fn build<K, V>(builder: CacheBuilder<K, V>) -> Cache<K, V>
where
    K: std::hash::Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    builder
        .build()
        .unwrap_or_else(|e| panic!("#[cached] produced an invalid cache (a cacher bug): {e}"))
}

/// Values stored by the file (or Redis) backend are serialised (see [`StoredValue`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored by a persistent backend: it must implement serde's `Serialize` and `Deserialize`",
    label = "add `#[derive(serde::Serialize, serde::Deserialize)]` to this type, or use `backend = \"memory\"`"
)]
pub trait PersistentValue: serde::Serialize + serde::de::DeserializeOwned {}
impl<T: serde::Serialize + serde::de::DeserializeOwned> PersistentValue for T {}

/// Cache keys are built from the arguments' serde encoding (see [`KeyArg`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a cache key: it must implement serde's `Serialize`, `Hash` and `Eq`",
    label = "derive these for this type, or leave the argument out of the key with `#[cached(skip)]` on the parameter"
)]
pub trait KeyPart: serde::Serialize + std::hash::Hash + Eq {}
impl<T: serde::Serialize + std::hash::Hash + Eq + ?Sized> KeyPart for T {}

/// Wraps the async lookup of an `async fn` expansion: with the `tokio` feature it is the lookup
/// itself, without it a compile error naming the feature *instead of* the lookup — so the user
/// sees one error about the feature, not a second one about a missing `…_async` method.
#[cfg(feature = "tokio")]
#[macro_export]
#[doc(hidden)]
macro_rules! __cacher_require_tokio {
    ($($lookup:tt)*) => { $($lookup)* };
}

/// See the `tokio` variant.
#[cfg(not(feature = "tokio"))]
#[macro_export]
#[doc(hidden)]
macro_rules! __cacher_require_tokio {
    ($($lookup:tt)*) => {
        ::core::compile_error!(
            "#[cached] on an async fn needs cacher's `tokio` feature: cacher = { version = \"0.1\", features = [\"tokio\"] }"
        );
    };
}

pub use crate::__cacher_require_tokio as require_tokio;

/// The static in which a `#[cached]` function keeps its cache once found (see [`Site`]): a
/// `OnceLock` rather than a `LazyLock`, so that a refusal (a panic while finding it) is raised
/// again by the next call, rather than poisoning the static.
pub use std::sync::OnceLock;

/// The Redis server of a `#[cached(backend = "redis")]` function: the attribute's `redis_url`,
/// else `$CACHER_REDIS_URL`, else `redis://127.0.0.1:6379/`.
#[cfg(feature = "redis")]
pub fn redis_url(configured: Option<&str>) -> String {
    crate::redis::resolve_url(configured)
}

/// The Redis tier of a `#[cached(backend = "redis")]` function. The URL is only known at run
/// time (`$CACHER_REDIS_URL`): when it does not parse, the function runs without its Redis tier
/// and says so in an error log, rather than failing every call.
#[cfg(feature = "redis")]
pub fn redis_tier<F: crate::format::Formatter>(
    configured: Option<&str>,
    formatter: F,
) -> Option<crate::RedisBackend<F>> {
    match crate::RedisBackend::new(crate::RedisOptions::new(redis_url(configured))) {
        Ok(backend) => Some(backend.formatter(formatter)),
        Err(e) => {
            tracing::error!("#[cached] runs without its redis tier: {e}");
            None
        }
    }
}

/// Single-flight across processes for a `#[cached]` function with a Redis tier: a [`RedisLock`]
/// on the same server (see [`CacheBuilder::cross_process_lock`]). Like [`redis_tier`], a URL that
/// does not parse leaves it out, with an error log.
///
/// [`RedisLock`]: crate::RedisLock
#[cfg(feature = "redis")]
pub fn with_redis_lock<K, V>(
    builder: CacheBuilder<K, V>,
    configured: Option<&str>,
) -> CacheBuilder<K, V>
where
    K: std::hash::Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    match crate::RedisLock::new(crate::RedisOptions::new(redis_url(configured))) {
        Ok(lock) => builder.cross_process_lock(lock),
        Err(e) => {
            tracing::error!("#[cached] runs without its cross-process lock: {e}");
            builder
        }
    }
}

/// Adds `tier` to `builder` when there is one.
pub fn with_tier<K, V, B>(builder: CacheBuilder<K, V>, tier: Option<B>) -> CacheBuilder<K, V>
where
    K: std::hash::Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    B: crate::PersistentBackend<V>,
{
    match tier {
        Some(tier) => builder.backend(tier),
        None => builder,
    }
}

/// Wraps the Redis tier of an expansion: the tier with the `redis` feature, one compile error
/// naming the feature without it (as [`require_tokio`] does for async).
#[cfg(feature = "redis")]
#[macro_export]
#[doc(hidden)]
macro_rules! __cacher_require_redis {
    ($($tier:tt)*) => { $($tier)* };
}

/// See the `redis` variant.
#[cfg(not(feature = "redis"))]
#[macro_export]
#[doc(hidden)]
macro_rules! __cacher_require_redis {
    ($($tier:tt)*) => {
        ::core::compile_error!(
            "backend = \"redis\" needs cacher's `redis` feature: cacher = { version = \"0.1\", features = [\"redis\"] }"
        )
    };
}

pub use crate::__cacher_require_redis as require_redis;

/// Wraps the companion `<name>_cache()` of an expansion, as it is. A trait impl can hold no
/// item its trait does not declare, and the attribute cannot see that it is in one: there,
/// rustc's error ("method `fetch_cache` is not a member of trait `Provider`") ends with "this
/// error originates in the macro" and this macro's name, which says what to write.
#[macro_export]
#[doc(hidden)]
macro_rules! __cacher_companion {
    ($(#[$attr:meta])* $vis:vis fn $($companion:tt)*) => { $(#[$attr])* $vis fn $($companion)* };
}

pub use crate::__cacher_companion as in_a_trait_impl_write_cached_companion_false;

/// A `#[cached]` key argument as a lookup borrows it (`str` for `&str`, `u32` for `u32`): a
/// [`KeyPart`] that is `Sync`, with an owned form the cache can keep.
///
/// The attribute asserts it first in each generated body, at the same span as the cache calls,
/// and `do_not_recommend` reports the bound as a whole: a type that misses several traits gives
/// one error, which names it, instead of one per trait and per call.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a cache key: it must implement serde's `Serialize`, `Hash`, `Eq`, `Clone` (or `ToOwned`), `Send` and `Sync`",
    label = "an argument of type `{Self}` is part of this function's cache key",
    note = "derive the missing traits for `{Self}`, or leave the argument out of the key with `#[cached(skip)]` on its parameter; a float (`f32`, `f64`) has neither `Eq` nor `Hash`: key on an integer (`to_bits`, cents) or a wrapper with total equality"
)]
pub trait KeyArg: KeyPart + Sync + ToOwned<Owned: KeyPart + Clone + Send + Sync + 'static> {}
#[diagnostic::do_not_recommend]
impl<T> KeyArg for T where
    T: KeyPart + Sync + ToOwned<Owned: KeyPart + Clone + Send + Sync + 'static> + ?Sized
{
}

/// Asserts `T: KeyArg`; see [`KeyArg`].
pub const fn require_key_arg<T: KeyArg + ?Sized>() {}

/// What every `#[cached]` value must be: the cache hands out clones, across threads, from a
/// static. One error names the type, as for [`KeyArg`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a cached value: it must implement `Clone`, `Send` and `Sync`, and borrow nothing",
    label = "`#[cached]` keeps this function's `{Self}` values and returns clones of them",
    note = "derive `Clone` for `{Self}`, or return an `Arc` of it"
)]
pub trait CachedValue: Clone + Send + Sync + 'static {}
#[diagnostic::do_not_recommend]
impl<T: Clone + Send + Sync + 'static> CachedValue for T {}

/// Asserts `T: CachedValue`; see [`CachedValue`].
pub const fn require_cached_value<T: CachedValue>() {}

/// A value that a persistent tier can store: [`PersistentValue`], reported as one error at the
/// return type (the attribute spans the check and the tier's argument there).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored by a persistent backend: it must implement serde's `Serialize` and `Deserialize`",
    label = "a file or redis tier stores this type",
    note = "add `#[derive(serde::Serialize, serde::Deserialize)]` to `{Self}`, or use `backend = \"memory\"`"
)]
pub trait StoredValue: PersistentValue + Send + Sync + 'static {}
#[diagnostic::do_not_recommend]
impl<T: PersistentValue + Send + Sync + 'static> StoredValue for T {}

/// Asserts `T: StoredValue`; see [`StoredValue`].
pub const fn require_stored_value<T: StoredValue>() {}

/// The return type of a `#[cached]` function that is a `Result` by another name
/// (`type AppResult<T> = Result<T, AppError>`, with `result = true`): the cache stores its
/// `Ok` type. The expansion goes through it both ways, so that a type that is no `Result` is
/// one error, which says so.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a `Result`, so #[cached] cannot tell its errors from its values",
    label = "`result = true` says that this type is a `Result`",
    note = "remove `result = true`, or write `result = false` to cache every value the function returns"
)]
pub trait Fallible: Sized {
    /// What the cache stores: `T` of `Result<T, E>`.
    type Ok;
    /// What it never stores: `E` of `Result<T, E>`.
    type Err;
    /// As a `Result`.
    fn into_result(self) -> Result<Self::Ok, Self::Err>;
    /// From a `Result`.
    fn from_result(result: Result<Self::Ok, Self::Err>) -> Self;
}

impl<T, E> Fallible for Result<T, E> {
    type Ok = T;
    type Err = E;
    fn into_result(self) -> Result<T, E> {
        self
    }
    fn from_result(result: Result<T, E>) -> Self {
        result
    }
}

/// Runs the body of a function that returns a `Result` by another name, as a `Result`.
pub fn fallible<R: Fallible>(compute: impl FnOnce() -> R) -> Result<R::Ok, R::Err> {
    compute().into_result()
}

/// The `ttl_fn` option's function, typed: `fn(&T) -> Option<Duration>`, so that one of another
/// type is an error at its path, which says what it should be.
pub fn ttl_fn<V: 'static>(
    ttl_fn: fn(&V) -> Option<std::time::Duration>,
) -> impl Fn(&V) -> Option<std::time::Duration> + Send + Sync + 'static {
    ttl_fn
}

/// The `clock` option's function, called: `fn() -> Clock`, so that one of another type is an
/// error at its path.
pub fn clock(clock: fn() -> crate::Clock) -> crate::Clock {
    clock()
}

/// [`fallible`], for the body of an `async fn`.
pub async fn fallible_async<R: Fallible>(
    compute: impl std::future::Future<Output = R>,
) -> Result<R::Ok, R::Err> {
    compute.await.into_result()
}

/// A `#[cached]` key argument that holds references (`Option<&str>`, `(u32, &str)`,
/// `&[&str]`), as a lookup borrows it: it hashes and serialises as the argument does, and so as
/// its owned form (`Option<String>`, `(u32, String)`, `Vec<String>`) that the cache keeps,
/// which the attribute's generated functions make and compare without allocating.
pub struct Converted<'k, A: ?Sized, O> {
    value: &'k A,
    to_owned: fn(&A) -> O,
    matches: fn(&A, &O) -> bool,
}

impl<'k, A: ?Sized, O> Converted<'k, A, O> {
    /// `value`, its owned form made by `to_owned`, and compared with one by `matches`.
    pub fn new(value: &'k A, to_owned: fn(&A) -> O, matches: fn(&A, &O) -> bool) -> Self {
        Converted {
            value,
            to_owned,
            matches,
        }
    }

    /// The owned form, which the cache keeps.
    pub fn to_owned_part(&self) -> O {
        (self.to_owned)(self.value)
    }

    /// Whether `owned` is the owned form of this argument.
    pub fn is_part(&self, owned: &O) -> bool {
        (self.matches)(self.value, owned)
    }
}

impl<A: ?Sized + std::hash::Hash, O> std::hash::Hash for Converted<'_, A, O> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

impl<A: ?Sized + serde::Serialize, O> serde::Serialize for Converted<'_, A, O> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;
    use std::io;
    use std::path::PathBuf;

    use super::resolve_base;

    fn resolve(variable: Option<&str>, current: &str) -> PathBuf {
        resolve_base(variable.map(OsString::from), Ok(PathBuf::from(current)))
    }

    #[test]
    fn relative_cache_directories_resolve_to_absolute_ones() {
        assert_eq!(resolve(None, "/work"), PathBuf::from("/work"));
        // An empty CACHER_DIR is ignored, not a relative directory.
        assert_eq!(resolve(Some(""), "/work"), PathBuf::from("/work"));
        assert_eq!(
            resolve(Some("cache"), "/work"),
            PathBuf::from("/work/cache")
        );
        assert_eq!(resolve(Some("../c"), "/work"), PathBuf::from("/work/../c"));
        assert_eq!(resolve(Some("/var/c"), "/work"), PathBuf::from("/var/c"));
        let gone = || Err(io::Error::from(io::ErrorKind::NotFound));
        assert_eq!(
            resolve_base(Some("/var/c".into()), gone()),
            PathBuf::from("/var/c")
        );
        assert_eq!(resolve_base(None, gone()), PathBuf::new());
    }
}
