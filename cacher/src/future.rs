//! The boxed future that the async methods of the extension traits return
//! ([`PersistentBackend`](crate::PersistentBackend), [`FlightLock`](crate::FlightLock)).

/// A boxed, `Send` future: what the async methods of [`PersistentBackend`](crate::PersistentBackend)
/// and [`FlightLock`](crate::FlightLock) return, so that both traits stay object safe.
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
