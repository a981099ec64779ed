//! The stores this process has open: one environment per store directory (LMDB allows a process
//! one open of a store), each opened under a lock of its own directory's — so that an open that
//! waits (for the writers' gate, to make a new store's tables beside a process frozen making
//! them) holds up only the opens of that store, not every store's — and an open that timed out
//! there remembered for as long as its bound: the threads that waited for it fail at once rather
//! than each wait the bound again, one after another.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::env::Store;

/// Each store directory's slot, by its canonical path.
static OPEN: LazyLock<Mutex<HashMap<PathBuf, Arc<Mutex<Opened>>>>> =
    LazyLock::new(Default::default);

/// What became of a directory's open.
#[derive(Default)]
enum Opened {
    /// Not opened yet (or it failed otherwise than by a timeout: tried again at once).
    #[default]
    Not,
    Store(Store),
    /// It timed out at this instant: a later open within its bound fails at once.
    TimedOut(Instant),
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The store at `path`, opened by `open` unless this process has it open already, under the lock
/// of `path`'s slot alone; `wait` is the bound `open` waits for a frozen process.
pub(super) fn once(
    path: &Path,
    wait: Duration,
    open: impl FnOnce() -> heed::Result<Store>,
) -> heed::Result<Store> {
    let slot = Arc::clone(lock(&OPEN).entry(path.to_owned()).or_default());
    let mut opened = lock(&slot);
    match &*opened {
        Opened::Store(store) => return Ok(store.clone()),
        Opened::TimedOut(at) if at.elapsed() < wait => return Err(waited(at.elapsed())),
        Opened::TimedOut(_) | Opened::Not => {}
    }
    let result = open();
    *opened = match &result {
        Ok(store) => Opened::Store(store.clone()),
        Err(heed::Error::Io(e)) if e.kind() == io::ErrorKind::TimedOut => {
            Opened::TimedOut(Instant::now())
        }
        Err(_) => Opened::Not,
    };
    result
}

/// The error of an open that did not try, its directory's last open having timed out `ago`.
fn waited(ago: Duration) -> heed::Error {
    let why = format!(
        "the store's last open timed out {ago:?} ago at its writer lock (a process frozen making \
         it?): not tried again within its bound"
    );
    heed::Error::Io(io::Error::new(io::ErrorKind::TimedOut, why))
}
