//! The boxed future that the async methods of the extension traits return
//! ([`PersistentBackend`](crate::PersistentBackend), [`FlightLock`](crate::FlightLock)).

/// A boxed, `Send` future: what the async methods of [`PersistentBackend`](crate::PersistentBackend)
/// and [`FlightLock`](crate::FlightLock) return, so that both traits stay object safe.
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// A boxed future pinned once it is a `dyn`: `Box::pin(future)` instead would compile
/// `Box::pin` for each future's type — each `#[cached]` async fn's body, each cache type's engine
/// — where this is one function per output type (compile time).
pub(crate) fn pinned<'a, T>(
    future: Box<dyn std::future::Future<Output = T> + Send + 'a>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>> {
    Box::into_pin(future)
}

/// Whether a tokio runtime is current: its timer is then what an async wait sleeps on. Outside
/// one (another executor: `futures::executor::block_on`, `smol`) tokio's timer panics ("there
/// is no reactor running"), and a wait blocks the thread instead, as that executor's own
/// blocking calls do. A runtime must have its timer on (`enable_all` or `enable_time`, as
/// `#[tokio::main]` and `#[tokio::test]` do).
#[cfg(feature = "tokio")]
pub(crate) fn in_runtime() -> bool {
    tokio::runtime::Handle::try_current().is_ok()
}

/// Waits `duration`: on tokio's timer inside a runtime, without blocking the executor; by
/// blocking this thread outside one ([`in_runtime`]).
#[cfg(feature = "tokio")]
pub(crate) async fn sleep(duration: std::time::Duration) {
    match in_runtime() {
        true => tokio::time::sleep(duration).await,
        false => std::thread::sleep(duration),
    }
}

/// Runs `work` on tokio's blocking threads when called inside a runtime (so that file and store
/// I/O, fsync included, never holds an executor thread), and inline otherwise — also when the
/// runtime drops it unrun ([`spawned`]).
#[cfg(feature = "tokio")]
pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => spawned(&runtime, work).await,
        Err(_) => work(),
    }
}

/// Like [`blocking`], for a write: if the caller's future is dropped (a timeout, a cancelled
/// task) while `work` runs, the drop waits for it to end, as a blocking call would have. Else
/// the write would land after the call gave up, and after a `remove` or `clear` that the call's
/// store no longer held back: a value computed before the invalidation would be found after it.
/// A write dropped before it started never starts.
#[cfg(feature = "tokio")]
pub(crate) async fn blocking_write<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return work();
    };
    let state = std::sync::Arc::new(WriteState::default());
    let guard = WaitOnDrop(std::sync::Arc::clone(&state));
    let out = spawned(&runtime, move || {
        if !state.start() {
            return None;
        }
        let out = work();
        state.finish();
        Some(out)
    })
    .await;
    drop(guard);
    out.expect("a write whose caller waits is never skipped")
}

/// Runs `work` on `runtime`'s blocking threads: its output, or its panic resumed. A runtime
/// shutting down drops the blocking work it has not started, and its task ends cancelled: the
/// work is then run here, inline, as without a runtime — a read still reads, a write still
/// writes, and the call gets their outcome rather than a panic with tokio's message
/// ("`JoinError` reason is not a panic") from a future that may well go on (polled by another
/// executor, or on a thread that only entered the runtime). The work waits in a slot shared
/// with the task, so that the task's drop does not drop it: it is dropped (unrun) only once
/// its caller is gone too.
#[cfg(feature = "tokio")]
async fn spawned<T: Send + 'static>(
    runtime: &tokio::runtime::Handle,
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let slot = std::sync::Arc::new(std::sync::Mutex::new(Some(work)));
    let shared = std::sync::Arc::clone(&slot);
    let task = runtime.spawn_blocking(move || take(&shared).map(|work| work()));
    match task.await {
        Ok(Some(out)) => out,
        Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        // Cancelled: dropped unrun, the work is still in its slot.
        Ok(None) | Err(_) => match take(&slot) {
            Some(work) => work(),
            None => unreachable!("blocking work runs once, there or here"),
        },
    }
}

/// The work in `slot`, taken out (a panic while it was held poisons nothing it needs).
#[cfg(feature = "tokio")]
fn take<W>(slot: &std::sync::Mutex<Option<W>>) -> Option<W> {
    slot.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
}

/// Where a [`blocking_write`] is: `None` not started, `Some(false)` under way, `Some(true)`
/// ended or skipped.
#[cfg(feature = "tokio")]
#[derive(Default)]
struct WriteState {
    phase: std::sync::Mutex<Option<bool>>,
    ended: std::sync::Condvar,
}

#[cfg(feature = "tokio")]
impl WriteState {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<bool>> {
        self.phase
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts the write, unless its caller is gone.
    fn start(&self) -> bool {
        let mut phase = self.lock();
        if phase.is_some() {
            return false;
        }
        *phase = Some(false);
        true
    }

    fn finish(&self) {
        *self.lock() = Some(true);
        self.ended.notify_all();
    }
}

/// Dropped with the caller's future: skips the write if it has not started, else waits for it.
/// (A write that panics is counted as ended by its task's unwinding: see `Drop`.)
#[cfg(feature = "tokio")]
struct WaitOnDrop(std::sync::Arc<WriteState>);

#[cfg(feature = "tokio")]
impl Drop for WaitOnDrop {
    fn drop(&mut self) {
        let mut phase = self.0.lock();
        match *phase {
            None => *phase = Some(true),
            Some(false) => {
                // Bounded by the write: each backend's writes have bounds of their own.
                while *phase == Some(false) && std::sync::Arc::strong_count(&self.0) > 1 {
                    phase = self
                        .0
                        .ended
                        .wait_timeout(phase, std::time::Duration::from_millis(10))
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0;
                }
            }
            Some(true) => {}
        }
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
