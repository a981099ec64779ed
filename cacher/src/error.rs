//! The errors a cache reports.
//!
//! `get_or_compute` and the `#[cached]` functions never return these: a cache that fails to read
//! or write degrades to calling the function, logs a `tracing` warning and counts the failure in
//! [`CacheStats::errors`](crate::CacheStats::errors). They come back from the plain-store methods
//! that return a `Result` (`insert`, `remove`, `clear`) and from building a cache.

use std::path::PathBuf;

use crate::format::FormatError;
use crate::key::KeyError;
use crate::portable::InvalidPath;

/// What went wrong in a cache operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing an entry's file failed.
    #[error("cache I/O failed at {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A stored entry could not be decoded, or belongs to another key, type or version.
    #[error("corrupt cache entry at {location}: {reason}")]
    Corrupt {
        /// Where the entry is (a path, or a backend's key).
        location: String,
        /// Why it was refused.
        reason: String,
    },
    /// A value could not be encoded by the formatter.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The arguments could not be turned into a key.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A `filename_fn` produced a path that would leave the cache directory or is not a valid name.
    #[error(transparent)]
    InvalidPath(#[from] InvalidPath),
    /// The cache was configured in a way that cannot work.
    #[error("invalid cache configuration: {0}")]
    Config(String),
    /// A call of the cache made from code the cache runs — a key's `Eq`, `Clone` or
    /// `Serialize`, a value's `Clone` or `Serialize` — that it could not make there without
    /// waiting for itself: refused (or, for the memory tier, left undone), as the message says.
    /// Make the call after the one that runs that code returns.
    #[error("{0}")]
    Reentrant(String),
    /// A backend-specific failure (a network backend's connection, for instance), with the
    /// driver's error as its [`source`](std::error::Error::source).
    #[error("{backend} backend: {context}: {source}")]
    Backend {
        /// The backend's name ("redis").
        backend: &'static str,
        /// What was being done, and where: the command, its key and the server's address
        /// (never a password).
        context: String,
        /// The driver's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn backend(
        backend: &'static str,
        context: String,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Backend {
            backend,
            context,
            source: Box::new(source),
        }
    }

    /// Whether a tier's service failed (a dead or hung server: [`Backend`](Self::Backend)), not
    /// its entry or its files: the tier is down for the rest of the call, and a removal from it
    /// would wait out its own timeout and fail too.
    pub(crate) fn is_service_failure(&self) -> bool {
        matches!(self, Self::Backend { .. })
    }

    pub(crate) fn corrupt(location: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Corrupt {
            location: location.into(),
            reason: reason.into(),
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(all(test, feature = "redis"))]
mod tests {
    use std::error::Error as _;

    use super::Error;

    #[test]
    fn a_backend_error_keeps_the_driver_error_as_its_source() {
        let driver = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let error = Error::backend("redis", "GET k on h:6379".to_owned(), driver);
        assert_eq!(error.to_string(), "redis backend: GET k on h:6379: refused");
        let source = error.source().expect("the driver's error");
        assert!(source.downcast_ref::<std::io::Error>().is_some());
    }
}
