//! The boxed future that the async methods of the extension traits return
//! ([`PersistentBackend`](crate::PersistentBackend), [`FlightLock`](crate::FlightLock)).

/// A boxed, `Send` future: what the async methods of [`PersistentBackend`](crate::PersistentBackend)
/// and [`FlightLock`](crate::FlightLock) return, so that both traits stay object safe.
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Runs `work` on tokio's blocking threads when called inside a runtime (so that file and store
/// I/O, fsync included, never holds an executor thread), and inline otherwise.
#[cfg(feature = "tokio")]
pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => runtime
            .spawn_blocking(work)
            .await
            .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic())),
        Err(_) => work(),
    }
}

/// An [`EntryKey`](crate::entry::EntryKey) that owns its strings, to cross to a blocking thread.
#[cfg(feature = "tokio")]
pub(crate) struct OwnedKey {
    namespace: String,
    version: Option<String>,
    key: String,
    args: Option<String>,
    type_name: &'static str,
    code: Option<String>,
}

#[cfg(feature = "tokio")]
impl OwnedKey {
    pub(crate) fn of(key: &crate::entry::EntryKey<'_>) -> Self {
        Self {
            namespace: key.namespace.to_owned(),
            version: key.version.map(str::to_owned),
            key: key.key.to_owned(),
            args: key.args.map(str::to_owned),
            type_name: key.type_name,
            code: key.code.map(str::to_owned),
        }
    }

    pub(crate) fn borrow(&self) -> crate::entry::EntryKey<'_> {
        crate::entry::EntryKey {
            namespace: &self.namespace,
            version: self.version.as_deref(),
            key: &self.key,
            args: self.args.as_deref(),
            type_name: self.type_name,
            code: self.code.as_deref(),
        }
    }
}
