//! What `#[cached]` expansions name, by absolute path (`::cacher::__private::…`), so that user
//! crates need no dependency but `cacher`. Not a public API: it changes without notice.

use std::path::{Path, PathBuf};

pub use serde;
pub use std::sync::LazyLock;

use crate::{Cache, CacheBuilder};

/// The environment variable under which relative cache directories resolve.
pub const CACHER_DIR_ENV: &str = "CACHER_DIR";

/// Where a `#[cached]` function's files go: `configured` (or, by default,
/// `.cacher/<module path>/<function>`), resolved under `$CACHER_DIR` when relative and that is
/// set, else under the current directory. The result is absolute, so a later `chdir` does not
/// move the cache.
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
    let base = std::env::var_os(CACHER_DIR_ENV)
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| Path::new(".").to_path_buf());
    base.join(relative_or_absolute)
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

/// Values stored by the file (or Redis) backend are serialised: the attribute asks for this bound
/// at the return type's span, so the error points at the type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored by a persistent backend: it must implement serde's `Serialize` and `Deserialize`",
    label = "add `#[derive(serde::Serialize, serde::Deserialize)]` to this type, or use `backend = \"memory\"`"
)]
pub trait PersistentValue: serde::Serialize + serde::de::DeserializeOwned {}
impl<T: serde::Serialize + serde::de::DeserializeOwned> PersistentValue for T {}

/// Asserts `T: PersistentValue` at the span of the type the attribute passes.
pub const fn require_persistent<T: PersistentValue>() {}

/// Cache keys are built from the arguments' serde encoding.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a cache key: it must implement serde's `Serialize`, `Hash`, `Eq` and `Clone`",
    label = "derive these for this type, or leave the argument out of the key with ``#[cached(skip)]` on the parameter`"
)]
pub trait KeyPart: serde::Serialize + std::hash::Hash + Eq {}
impl<T: serde::Serialize + std::hash::Hash + Eq + ?Sized> KeyPart for T {}

/// Asserts `T: KeyPart` at the span of the argument type the attribute passes.
pub const fn require_key_part<T: KeyPart + ?Sized>() {}

/// Expands to nothing when the `tokio` feature is on, and to a compile error naming it when off:
/// `#[cached]` on an `async fn` calls it so that the error is about the feature, not a missing
/// method.
#[cfg(feature = "tokio")]
#[macro_export]
#[doc(hidden)]
macro_rules! __cacher_require_tokio {
    () => {};
}

/// See the `tokio` variant.
#[cfg(not(feature = "tokio"))]
#[macro_export]
#[doc(hidden)]
macro_rules! __cacher_require_tokio {
    () => {
        ::core::compile_error!(
            "#[cached] on an async fn needs cacher's `tokio` feature: cacher = { version = \"0.1\", features = [\"tokio\"] }"
        );
    };
}

pub use crate::__cacher_require_tokio as require_tokio;
