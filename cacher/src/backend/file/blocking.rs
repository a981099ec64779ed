//! The file backend's async reads and writes: their I/O (fsync included, when durable) runs on
//! tokio's blocking threads, never on the executor's.

use serde::{Serialize, de::DeserializeOwned};

use super::SeparateFileBackend;
use super::store::Times;
use crate::backend::{Generation, PersistentBackend, Put};
use crate::entry::{self, Entry, EntryKey};
use crate::error::Result;
use crate::format::Formatter;
use crate::future::{OwnedKey, blocking, blocking_write};

impl<F: Formatter> SeparateFileBackend<F> {
    /// A copy for a blocking task: the same directory handle, index and settings.
    pub(super) fn share(&self) -> Self {
        Self {
            root: self.root.clone(),
            formatter: self.formatter.clone(),
            filename_fn: self.filename_fn.clone(),
            durable: self.durable,
            modes: self.modes,
            max_entry_size: self.max_entry_size,
            index: self.index.clone(),
            version_dir: self.version_dir.clone(),
        }
    }
}

/// [`PersistentBackend::get`] on a blocking thread.
pub(super) async fn get<F, V>(
    backend: SeparateFileBackend<F>,
    key: &EntryKey<'_>,
) -> Result<Option<Entry<V>>>
where
    F: Formatter,
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    let key = OwnedKey::of(key);
    blocking(move || PersistentBackend::<V>::get(&backend, &key.borrow())).await
}

/// [`PersistentBackend::generation`] on a blocking thread.
pub(super) async fn generation<F, V>(
    backend: SeparateFileBackend<F>,
    key: &EntryKey<'_>,
) -> Result<Generation>
where
    F: Formatter,
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    let key = OwnedKey::of(key);
    blocking(move || PersistentBackend::<V>::generation(&backend, &key.borrow())).await
}

/// [`PersistentBackend::begin_refresh`] on a blocking thread.
pub(super) async fn begin_refresh<F, V>(
    backend: SeparateFileBackend<F>,
    key: &EntryKey<'_>,
) -> Result<()>
where
    F: Formatter,
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    let key = OwnedKey::of(key);
    blocking(move || PersistentBackend::<V>::begin_refresh(&backend, &key.borrow())).await
}

/// Encodes `entry` here, stores it on a blocking thread.
pub(super) async fn insert<F, V>(
    backend: &SeparateFileBackend<F>,
    key: &EntryKey<'_>,
    entry: &Entry<V>,
) -> Result<()>
where
    F: Formatter,
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    let bytes = entry::encode(&backend.formatter, key, entry)?;
    let times = Times::of(entry);
    let (backend, key) = (backend.share(), OwnedKey::of(key));
    blocking_write(move || {
        backend
            .store_encoded(&key.borrow(), (&bytes, times), Put::Insert)
            .map(drop)
    })
    .await
}
