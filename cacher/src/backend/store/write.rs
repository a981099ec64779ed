//! The store's writes, each in one write transaction (LMDB runs one writer at a time across
//! processes: nothing comes between a look and the write that follows it), synced when durable.

use std::sync::atomic::Ordering;

use serde::{Serialize, de::DeserializeOwned};

use super::StoreBackend;
use super::env::Store;
use super::gate::Entered;
use super::generations::{self, Moved};
use super::keys::{ns_of, with_id};
use super::table::{self, Times};
use crate::backend::Put;
use crate::entry::{self, Entry, EntryKey};
use crate::error::Result;
use crate::format::Formatter;

impl<F> StoreBackend<F> {
    /// Writes an encoded entry in one write transaction, synced when durable, as `put` says
    /// (LMDB runs one writer at a time across processes: nothing comes between the look and the
    /// write). Whether it wrote.
    pub(super) fn write(
        &self,
        at: (&str, &[u8]),
        bytes: &[u8],
        times: Times,
        put: Put,
    ) -> Result<bool> {
        let evicted = self.transact(|store, txn| {
            let go = match put {
                Put::Insert => {
                    generations::bump(store, txn, at.0, &Moved::Key(at.1)).map(|()| true)
                }
                Put::Fill(seen) => match store.entries.get(txn, at.1) {
                    Ok(None) => generations::admits(store, txn, at, seen),
                    held => held.map(|_| false),
                },
                Put::Since(seen) => generations::admits(store, txn, at, seen),
            }?;
            match go {
                true => table::put(store, txn, at, bytes, times, self.bounds).map(Some),
                false => Ok(None),
            }
        })?;
        let Some(evicted) = evicted else {
            return Ok(false);
        };
        self.evicted.fetch_add(evicted, Ordering::Relaxed);
        self.sync().map(|()| true)
    }

    /// Encodes `entry` and writes it as `put` says.
    pub(super) fn put<V: Serialize + DeserializeOwned>(
        &self,
        key: &EntryKey<'_>,
        entry: &Entry<V>,
        put: Put,
    ) -> Result<bool>
    where
        F: Formatter,
    {
        let bytes = entry::encode(&self.formatter, key, entry)?;
        let namespace = ns_of(key.namespace);
        with_id(key, |id| {
            self.write((&namespace, id), &bytes, Times::of(entry), put)
        })
    }

    /// Runs an invalidation's change to the tables with the generation it moves, in one write
    /// transaction, synced when durable.
    pub(super) fn invalidate(
        &self,
        namespace: &str,
        moved: &Moved<'_>,
        change: impl FnOnce(&Store, &mut heed::RwTxn<'_>) -> heed::Result<()>,
    ) -> Result<()> {
        let always = |_: &Store, _: &heed::RwTxn<'_>| Ok(true);
        self.invalidate_if(namespace, moved, always, change)
            .map(|_| ())
    }

    /// [`invalidate`](Self::invalidate), made only if `holds` (read in the same write
    /// transaction) says the tables still hold what the caller saw: whether it was made.
    pub(super) fn invalidate_if(
        &self,
        namespace: &str,
        moved: &Moved<'_>,
        holds: impl FnOnce(&Store, &heed::RwTxn<'_>) -> heed::Result<bool>,
        change: impl FnOnce(&Store, &mut heed::RwTxn<'_>) -> heed::Result<()>,
    ) -> Result<bool> {
        let made = self.transact(|store, txn| {
            if !holds(store, txn)? {
                return Ok(None);
            }
            generations::bump(store, txn, namespace, moved)
                .and_then(|()| change(store, txn))
                .map(Some)
        })?;
        if made.is_none() {
            return Ok(false);
        }
        self.sync().map(|()| true)
    }

    /// Runs `work` in one write transaction, behind the writers' gate: committed when it
    /// answers `Some`, dropped (nothing written) at `None`. The gate is left when it returns,
    /// before the caller's sync, which holds no writer lock.
    fn transact<T>(
        &self,
        work: impl FnOnce(&Store, &mut heed::RwTxn<'_>) -> heed::Result<Option<T>>,
    ) -> Result<Option<T>> {
        let store = self.writable()?;
        let _gate = self.enter(store)?;
        let mut txn = store.env.write_txn().map_err(|e| self.error(e))?;
        let done = work(store, &mut txn).map_err(|e| self.error(e))?;
        if done.is_some() {
            txn.commit().map_err(|e| self.error(e))?;
        }
        Ok(done)
    }

    /// The store, open to be written: one on a read-only mount, opened to be read, refuses
    /// (LMDB's own refusal said "Permission denied").
    fn writable(&self) -> Result<&Store> {
        let store = self.store()?;
        if !store.read_only {
            return Ok(store);
        }
        let why = "the store is on a read-only mount: opened to be read, it is not written";
        let error = std::io::Error::new(std::io::ErrorKind::ReadOnlyFilesystem, why);
        Err(crate::Error::io(&self.dir, error))
    }

    /// The store's writers' gate entered, waiting at most the write timeout for another
    /// process's write: past it, the service failed ([`Error::Backend`](crate::Error)). A gate
    /// whose file cannot be opened (a lock folder planted as a link out of the directory) is
    /// gone through without, to LMDB's own wait.
    fn enter<'s>(&self, store: &'s Store) -> Result<Option<Entered<'s>>> {
        match store.gate.enter(self.write_timeout) {
            Ok(entered) => Ok(Some(entered)),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                let place = format!("writer lock of {}", self.dir.display());
                Err(crate::Error::backend("store", place, e))
            }
            Err(_) => Ok(None),
        }
    }

    pub(super) fn sync(&self) -> Result<()> {
        match self.store.get() {
            Some(store) if self.durable => store.env.force_sync().map_err(|e| self.error(e)),
            _ => Ok(()),
        }
    }
}
