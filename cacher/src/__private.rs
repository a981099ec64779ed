//! What `#[cached]` expansions name, by absolute path (`::cacher::__private::…`), so that user
//! crates need no dependency but `cacher`. Not a public API: it changes without notice.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use serde;

#[cfg(doc)]
use crate::CacheBuilder;

mod body;
mod build;
mod files;
mod identity;
mod key_args;
mod key_expr;
mod not_result;
mod statics;
pub use crate::cache::{Settings, Typed};
pub use crate::callback::Spend;
pub use body::{
    AsyncBody, Borrowing, Compute, Holds, LocalBody, SendBody,
    a_recursive_call_goes_through_a_fn_returning_pin_box_dyn_future_send, boxed_local, erase,
    erase_send, fallible, fallible_async, for_a_body_not_send_write_cached_send_false,
};
pub use build::{NO_OPTIONS, Opt, Tier, add_tier, build, memory_build, settings, with_options};
pub use files::claim_files;
pub use identity::{
    FunctionSlot, Init, Instance, PerType, Site, companion_cache, default_dir, function_cache,
    instance_cache, konst, method_cache, type_key,
};
pub use key_args::{Args, Part};
pub use key_expr::{
    KeyExpr, NamedInKey, ReceiverClone, key_expr, key_form, named_in_key, receiver_clone,
};
pub use not_result::{AResult, AValue, NotAResult, Probe, ValueProbe, require_not_result};
pub use statics::Statics;

/// The environment variable that replaces the platform's cache directory.
pub const CACHER_DIR_ENV: &str = "CACHER_DIR";

/// Where a `#[cached]` function's files go: `configured` when it is absolute; else, below
/// `root_dir` and the calling package's name, `configured` (relative) or `default` (the
/// namespace's directories) — e.g. `~/.cache/my-app/my_app/api/fetch` on Linux. Never below the
/// current directory (unless there is no home directory): a binary run from anywhere finds its
/// cache.
pub fn cache_dir(configured: Option<&str>, package: &str, default: PathBuf) -> PathBuf {
    let relative_or_absolute = configured.map_or(default, PathBuf::from);
    if relative_or_absolute.is_absolute() {
        return relative_or_absolute;
    }
    root_dir().join(package).join(relative_or_absolute)
}

/// The directory below which every package's caches go: `$CACHER_DIR` when it is set and not
/// empty (an empty one is ignored; a relative one is taken from the current directory), else the
/// platform's cache directory (`$XDG_CACHE_HOME` or `~/.cache` on Linux, `~/Library/Caches` on
/// macOS, `{FOLDERID_LocalAppData}` on Windows), else — no home directory — `.cacher` in the
/// current directory, with a warning. Read once, when the first `#[cached]` cache is built, so
/// that every cache of the process resolves the same way and a later `chdir` or change of the
/// variable moves none.
pub(crate) fn root_dir() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let platform = directories::BaseDirs::new().map(|dirs| dirs.cache_dir().to_path_buf());
        let variable = std::env::var_os(CACHER_DIR_ENV);
        let (root, homeless) = resolve_root(variable, platform, std::env::current_dir());
        if root.is_relative() {
            tracing::warn!(
                root = %root.display(),
                "cacher: the current directory cannot be read; cache directories resolve against it when used"
            );
        } else if homeless {
            tracing::warn!(
                root = %root.display(),
                "cacher: no home directory, so no platform cache directory: caches go below the current directory; set CACHER_DIR"
            );
        }
        root
    })
}

/// [`root_dir`] from the variable's value, the platform's cache directory and the current one;
/// `true` when there was neither a variable nor a platform directory (the fallback).
fn resolve_root(
    variable: Option<OsString>,
    platform: Option<PathBuf>,
    current: std::io::Result<PathBuf>,
) -> (PathBuf, bool) {
    let configured = variable.filter(|dir| !dir.is_empty()).map(PathBuf::from);
    match (configured, platform) {
        (Some(dir), _) if dir.is_absolute() => (dir, false),
        (Some(dir), _) => (current.unwrap_or_default().join(dir), false),
        (None, Some(platform)) if platform.is_absolute() => (platform, false),
        (None, _) => (current.unwrap_or_default().join(".cacher"), true),
    }
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
pub fn with_redis_lock(settings: Settings, configured: Option<&str>) -> Settings {
    match crate::RedisLock::new(crate::RedisOptions::new(redis_url(configured))) {
        Ok(lock) => settings.cross_process_lock(lock),
        Err(e) => {
            tracing::error!("#[cached] runs without its cross-process lock: {e}");
            settings
        }
    }
}

/// Adds `tier` to `typed` when there is one, as [`add_tier`].
pub fn with_tier<V: StoredValue>(typed: Typed<V>, tier: Option<impl Tier>) -> Typed<V> {
    match tier {
        Some(tier) => add_tier(typed, tier),
        None => typed,
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

/// The [`Site`] of the expansion of `#[cached]` on the function `$function`, its `$expansion`
/// (its number, `"#n"`), with its key's argument `$names` and its `$options`: written here
/// rather than by the attribute, so that the attribute emits a few tokens where the `Site` is
/// some seventy, twice a function (compile time).
#[macro_export]
#[doc(hidden)]
macro_rules! __cacher_site {
    (
        $function:literal, $expansion:literal, $persistent:literal, $pinned:expr,
        $names:expr, $options:expr
    ) => {
        $crate::__private::Site {
            marker: ::core::any::type_name::<__CacherSite>,
            module: ::core::module_path!(),
            function: $function,
            location: ::core::concat!(
                ::core::file!(),
                ":",
                ::core::line!(),
                ":",
                ::core::column!(),
                $expansion
            ),
            persistent: $persistent,
            package: ::core::env!("CARGO_PKG_NAME"),
            pinned: $pinned,
            names: $names,
            options: $options,
        }
    };
}

pub use crate::__cacher_site as site;

/// A `#[cached]` key argument as a lookup borrows it (`str` for `&str`, `u32` for `u32`): a
/// [`KeyPart`] that is `Sync`, with an owned form the cache can keep.
///
/// The attribute asserts it first in each generated body (through [`Kept`]), at the same span
/// as the cache calls, and `do_not_recommend` reports the bound as a whole: a type that misses several traits gives
/// one error, which names it, instead of one per trait and per call.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a cache key: it must implement serde's `Serialize`, `Hash`, `Eq`, `Clone` (or `ToOwned`), `Send` and `Sync`",
    label = "an argument of type `{Self}` is part of this function's cache key",
    note = "derive the missing traits for `{Self}`, or leave the argument out of the key with `#[cached(skip)]` on its parameter; a float (`f32`, `f64`) has neither `Eq` nor `Hash`: #[cached] keys one written `f32`/`f64`, and elsewhere write `cacher::Float<f64>` (equal by bits); a `HashMap` or `HashSet` has no `Hash`: take a `BTreeMap` or `BTreeSet`; an `Rc` is neither `Send` nor `Sync`: take an `Arc` or the owned value (`String` for `Rc<str>`)"
)]
pub trait KeyArg: KeyPart + Sync + ToOwned<Owned: KeyPart + Clone + Send + Sync + 'static> {}
#[diagnostic::do_not_recommend]
impl<T> KeyArg for T where
    T: KeyPart + Sync + ToOwned<Owned: KeyPart + Clone + Send + Sync + 'static> + ?Sized
{
}

/// What the cache keeps of a [`KeyArg`]: its `ToOwned::Owned`. The attribute names its key's
/// parts so, in its checks and in the static that keeps the cache (the same obligation at the
/// same span: reported once), so that an argument that is no `KeyArg` (an `Rc<str>`, neither
/// `Send` nor `Sync`) is that one error, the key's, rather than the static's `Send` and `Sync`
/// errors beside it, which listed cacher's private types.
pub trait Kept {
    /// `ToOwned::Owned`.
    type Kept;
}
impl<T: KeyArg + ?Sized> Kept for T {
    type Kept = T::Owned;
}

/// What every `#[cached]` value must be: the cache hands out clones, across threads, from a
/// static. One error names the type, as for [`KeyArg`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a cached value: it must implement `Clone`, `Send` and `Sync`, and borrow nothing",
    label = "`#[cached]` keeps this function's `{Self}` values and returns clones of them",
    note = "derive `Clone` for `{Self}`, or return an `Arc` of it (`Rc`, `Cell` and `RefCell` are neither `Send` nor `Sync`: `Arc`, `Mutex` or `RwLock` are)"
)]
pub trait CachedValue: Clone + Send + Sync + 'static {}
#[diagnostic::do_not_recommend]
impl<T: Clone + Send + Sync + 'static> CachedValue for T {}

/// A value that a persistent tier can store: [`PersistentValue`], reported as one error at the
/// return type (the attribute spans the check and the tier's argument there).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored by a persistent backend: it must implement serde's `Serialize` and `Deserialize`",
    label = "a file, store or redis tier stores this type",
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

/// The `ttl_fn` option's function, typed: `fn(&T) -> Option<Duration>` or `fn(&T) -> Duration`
/// (helper-106 wrote the latter first, and met a bare type mismatch), so that one of another
/// type is an error at its path, which says what it should be.
pub fn ttl_fn<V: 'static, T: TtlAnswer + 'static>(
    ttl_fn: fn(&V) -> T,
) -> impl Fn(&V) -> Option<std::time::Duration> + Send + Sync + 'static {
    move |value| ttl_fn(value).ttl()
}

/// What a `ttl_fn` may answer: a value's own ttl, or `None` for the cache's.
#[diagnostic::on_unimplemented(
    message = "`ttl_fn`'s function returns `{Self}`: it must return a `Duration` (the value's own ttl) or an `Option<Duration>` (`None`: the cache's `ttl`)",
    label = "the function `ttl_fn` names"
)]
pub trait TtlAnswer {
    /// The value's own ttl, or `None` for the cache's.
    fn ttl(self) -> Option<std::time::Duration>;
}

impl TtlAnswer for Option<std::time::Duration> {
    fn ttl(self) -> Option<std::time::Duration> {
        self
    }
}

impl TtlAnswer for std::time::Duration {
    fn ttl(self) -> Option<std::time::Duration> {
        Some(self)
    }
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

    use super::{cache_dir, resolve_root, root_dir};

    fn resolve(variable: Option<&str>, current: &str) -> PathBuf {
        let platform = Some(PathBuf::from("/home/u/.cache"));
        resolve_root(
            variable.map(OsString::from),
            platform,
            Ok(PathBuf::from(current)),
        )
        .0
    }

    #[test]
    fn cache_directories_resolve_to_absolute_ones_that_do_not_depend_on_the_current_one() {
        assert_eq!(resolve(None, "/work"), PathBuf::from("/home/u/.cache"));
        // An empty CACHER_DIR is ignored, not a relative directory.
        assert_eq!(resolve(Some(""), "/work"), PathBuf::from("/home/u/.cache"));
        assert_eq!(
            resolve(Some("cache"), "/work"),
            PathBuf::from("/work/cache")
        );
        assert_eq!(resolve(Some("../c"), "/work"), PathBuf::from("/work/../c"));
        assert_eq!(resolve(Some("/var/c"), "/work"), PathBuf::from("/var/c"));
        let gone = || Err(io::Error::from(io::ErrorKind::NotFound));
        assert_eq!(
            resolve_root(Some("/var/c".into()), None, gone()),
            (PathBuf::from("/var/c"), false)
        );
        // No home directory: below the current one, said in a warning.
        let no_home = resolve_root(None, None, Ok(PathBuf::from("/work")));
        assert_eq!(no_home, (PathBuf::from("/work/.cacher"), true));
        assert_eq!(
            resolve_root(None, None, gone()),
            (PathBuf::from(".cacher"), true)
        );
    }

    #[test]
    fn a_relative_cache_dir_is_below_the_package_directory_and_an_absolute_one_as_given() {
        let relative = cache_dir(Some("api"), "my-app", PathBuf::from("unused"));
        assert_eq!(relative, root_dir().join("my-app").join("api"));
        let default = cache_dir(None, "my-app", PathBuf::from("my_app/api/fetch"));
        assert_eq!(default, root_dir().join("my-app/my_app/api/fetch"));
        let absolute = std::env::temp_dir().join("api");
        let given = cache_dir(absolute.to_str(), "my-app", PathBuf::new());
        assert_eq!(given, absolute);
    }
}
