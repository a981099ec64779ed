//! The LMDB environment of a store directory: opened once per process (LMDB forbids opening one
//! environment twice in a process: its locks would be released by the second close), shared by
//! every [`StoreBackend`](super::StoreBackend) on that directory, and kept open until the
//! process exits.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex, PoisonError};

use heed::types::Bytes;
use heed::{Database, Env, EnvFlags, EnvOpenOptions, RwTxn, WithTls};

/// The address space the store may grow into, largest first. LMDB maps its file at a fixed size,
/// but the file itself grows only as entries are written (and never past the store's
/// `max_size`): a large map costs virtual addresses, not disk or memory. 1 TiB on 64-bit
/// targets; where the process may not reserve that much (`ulimit -v`, valgrind), the next size
/// that it may.
#[cfg(target_pointer_width = "64")]
const MAP_SIZES: [usize; 4] = [1 << 40, 1 << 36, 1 << 32, 1 << 30];
#[cfg(not(target_pointer_width = "64"))]
const MAP_SIZES: [usize; 2] = [1 << 30, 1 << 28];

/// Threads that read at once across all processes (a reader slot per thread, kept until it exits).
const MAX_READERS: u32 = 4096;

/// An open store: its environment and its three tables.
#[derive(Clone)]
pub(super) struct Store {
    pub(super) env: Env<WithTls>,
    /// `namespace \0 version \0 key` → `seq (8 bytes) | encoded entry`: LMDB's unnamed
    /// database, which also holds the records of the named ones (keys without a NUL).
    pub(super) entries: Database<Bytes, Bytes>,
    /// `namespace \0 seq (8 bytes, big-endian)` → `end_ms (8) | len (8) | entries' key`:
    /// the namespace's entries, oldest written first.
    pub(super) order: Database<Bytes, Bytes>,
    /// `seq` → the last sequence number; `n \0 namespace` → `count (8) | bytes (8)`;
    /// `t \0 namespace` → the newest `created_ms` seen.
    pub(super) meta: Database<Bytes, Bytes>,
}

static OPEN: LazyLock<Mutex<HashMap<PathBuf, Store>>> = LazyLock::new(Default::default);

/// The store in `dir` (created, with its parents, when missing), open.
pub(super) fn open(dir: &Path) -> heed::Result<Store> {
    crate::private_dir::create(dir)?;
    let path = dir.canonicalize()?;
    let mut open = OPEN.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(store) = open.get(&path) {
        return Ok(store.clone());
    }
    own_files(&path)?;
    let env = MAP_SIZES
        .iter()
        .map(|&size| open_env(&path, size))
        .find_map(Result::ok)
        .map_or_else(|| open_env(&path, MAP_SIZES[MAP_SIZES.len() - 1]), Ok)?;
    refuse_another_programs(&env, &path)?;
    // Reader slots of processes that died (kill -9) are freed now, not when they fill up.
    env.clear_stale_readers()?;
    let mut txn = env.write_txn()?;
    // The entries are in the unnamed database: LMDB looks a named database's record up again
    // in every transaction that uses it (a hit's read transaction included: 6 % of a hit).
    let entries = env.create_database(&mut txn, None)?;
    let order = env.create_database(&mut txn, Some("order"))?;
    let meta = env.create_database(&mut txn, Some("meta"))?;
    let store = Store {
        env: env.clone(),
        entries,
        order,
        meta,
    };
    retire_first_layout(&store, &mut txn)?;
    txn.commit()?;
    open.insert(path, store.clone());
    Ok(store)
}

/// LMDB's files in `dir`, made now as regular files beneath it when missing, or found there:
/// LMDB opens them by their paths and follows links, so a `data.mdb` or `lock.mdb` planted as a
/// link leading out of the directory would have it write another program's file (extend it to a
/// lock table, take an empty one for a database). Opened beneath the directory's handle
/// (cap-std: a link that leads out is refused, as the file tier's entries are); anything but a
/// regular file is refused. (A file swapped for a link between this check and LMDB's open is
/// not seen: that needs a writer in the directory at that instant.)
fn own_files(dir: &Path) -> heed::Result<()> {
    let root = cap_std::fs::Dir::open_ambient_dir(dir, cap_std::ambient_authority())?;
    let mut options = cap_std::fs::OpenOptions::new();
    options.read(true).write(true).create(true);
    #[cfg(unix)]
    cap_std::fs::OpenOptionsExt::mode(&mut options, 0o600);
    for name in ["data.mdb", "lock.mdb"] {
        let refused = |why: &str| {
            heed::Error::Io(io::Error::other(format!(
                "{}: {why}; the store does not open it",
                dir.join(name).display()
            )))
        };
        let file = root.open_with(name, &options).map_err(|e| {
            refused(&format!(
                "cannot be opened beneath the store's directory ({e})"
            ))
        })?;
        if !file.metadata()?.is_file() {
            return Err(refused("not a regular file"));
        }
    }
    Ok(())
}

/// Empties a store of the first layout, whose entries were in a database named `entries`:
/// its entries, and the order and totals that count them, go (their pages are reused; the
/// database's empty record stays). Each cache loses its stored entries once, and reads none of
/// them as anything. A process of that version still writing to the store meanwhile writes where
/// this version does not read: its entries are misses here, and emptied again at the next open.
fn retire_first_layout(store: &Store, txn: &mut RwTxn<'_>) -> heed::Result<()> {
    let first: Option<Database<Bytes, Bytes>> = store.env.open_database(txn, Some("entries"))?;
    let Some(first) = first else {
        return Ok(());
    };
    if first.is_empty(txn)? {
        return Ok(());
    }
    first.clear(txn)?;
    // Entries this version wrote beside them go too, so that every entry keeps its order row.
    let ids: Vec<Vec<u8>> = store
        .entries
        .iter(txn)?
        .filter_map(|item| {
            item.map(|(id, _)| is_entry(id).then(|| id.to_vec()))
                .transpose()
        })
        .collect::<heed::Result<_>>()?;
    for id in &ids {
        store.entries.delete(txn, id)?;
    }
    store.order.clear(txn)?;
    store.meta.clear(txn)
}

/// Refuses an environment that holds rows but not the store's `meta` and `order` databases:
/// another program's LMDB, which a store must neither write its databases into nor take for its
/// first layout and empty.
fn refuse_another_programs(env: &Env<WithTls>, path: &Path) -> heed::Result<()> {
    let txn = env.read_txn()?;
    let main: Option<Database<Bytes, Bytes>> = env.open_database(&txn, None)?;
    if main.map_or(Ok(true), |main| main.is_empty(&txn))? {
        return Ok(());
    }
    let has = |name| {
        matches!(
            env.open_database::<Bytes, Bytes>(&txn, Some(name)),
            Ok(Some(_))
        )
    };
    if has("meta") && has("order") {
        return Ok(());
    }
    Err(heed::Error::Io(io::Error::other(format!(
        "{} is not a store of cacher's (its LMDB database has rows but not its `meta` and \
         `order` tables): left as it is",
        path.display()
    ))))
}

/// Whether a key of the unnamed database is an entry's (`namespace \0 version \0 key`), not the
/// record of a named database (`order`, `meta`, `entries`: names without a NUL).
pub(super) fn is_entry(id: &[u8]) -> bool {
    id.contains(&0)
}

/// The environment at `path`, mapping `map_size` bytes.
fn open_env(path: &Path, map_size: usize) -> heed::Result<Env<WithTls>> {
    let mut options = EnvOpenOptions::new();
    options
        .map_size(map_size)
        .max_dbs(3)
        .max_readers(MAX_READERS);
    // SAFETY: LMDB's rules for a memory-mapped environment are kept: it is opened once per
    // process (the map `OPEN`), only through LMDB (the directory holds nothing else of ours but
    // the lock folder), and with NO_SYNC, whose only cost is durability across a power loss: a
    // process killed at any moment leaves the last committed transaction in the page cache,
    // whole. Durable stores sync after their commits (`Env::force_sync`).
    #[allow(unsafe_code)]
    unsafe {
        options.flags(EnvFlags::NO_SYNC | EnvFlags::NO_READ_AHEAD);
        options.open(path)
    }
}

/// An LMDB error as an I/O error, for [`Error::io`](crate::Error).
pub(super) fn io_error(error: heed::Error) -> io::Error {
    match error {
        heed::Error::Io(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use heed::types::Bytes;
    use heed::{Database, Env};

    use super::{MAP_SIZES, open, open_env};

    fn put(env: &Env<super::WithTls>, db: Option<&str>, rows: &[(&[u8], &[u8])]) {
        let mut txn = env.write_txn().unwrap();
        let table: Database<Bytes, Bytes> = env.create_database(&mut txn, db).unwrap();
        for (key, value) in rows {
            table.put(&mut txn, key, value).unwrap();
        }
        txn.commit().unwrap();
    }

    /// A store of the first layout (entries in a database named `entries`) opens emptied: its
    /// entries are not read by this version, and nothing counts them any more.
    #[test]
    fn a_store_of_the_first_layout_opens_emptied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().canonicalize().unwrap();
        let id = &b"app::f\0\0k"[..];
        {
            let env = open_env(&path, MAP_SIZES[MAP_SIZES.len() - 1]).unwrap();
            put(&env, Some("entries"), &[(id, b"12345678old entry")]);
            put(&env, Some("order"), &[(b"app::f\0\0\0\0\0\0\0\0\x01", id)]);
            put(&env, Some("meta"), &[(b"seq", &1u64.to_be_bytes())]);
            put(&env, None, &[(b"app::g\0\0k", b"12345678written beside")]);
            env.prepare_for_closing().wait();
        }
        let store = open(&path).unwrap();
        let txn = store.env.read_txn().unwrap();
        assert_eq!(store.entries.get(&txn, id).unwrap(), None);
        let rows = store.entries.iter(&txn).unwrap().map(Result::unwrap);
        assert!(rows.filter(|(key, _)| super::is_entry(key)).count() == 0);
        assert!(store.order.is_empty(&txn).unwrap());
        assert!(store.meta.is_empty(&txn).unwrap());
        let first: Database<Bytes, Bytes> = store
            .env
            .open_database(&txn, Some("entries"))
            .unwrap()
            .unwrap();
        assert!(first.is_empty(&txn).unwrap());
    }
}
