//! The LMDB environment of a store directory: opened once per process (LMDB forbids opening one
//! environment twice in a process: its locks would be released by the second close), shared by
//! every [`StoreBackend`](super::StoreBackend) on that directory, and kept open until the
//! process exits.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use heed::types::Bytes;
use heed::{Database, Env, EnvFlags, EnvOpenOptions, RwTxn, WithTls};

use super::gate::Gate;
use super::uses::Uses;

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
    /// the namespace's entries, oldest written first (`seq`: the write's transaction id).
    pub(super) order: Database<Bytes, Bytes>,
    /// `seq` → the last sequence number; `n \0 namespace` → `count (8) | bytes (8)`;
    /// `t \0 namespace` → the newest `created_ms` seen.
    pub(super) meta: Database<Bytes, Bytes>,
    /// The entries this process read lately, for its evictions.
    pub(super) uses: Arc<Uses>,
    /// The writers' gate: LMDB's writer mutex waited for with a bound.
    pub(super) gate: Arc<Gate>,
    /// Opened to be read, on a read-only mount: its writes are refused as such.
    pub(super) read_only: bool,
}

/// The store in `dir`, open. With `create`, made (the directory with its parents, LMDB's files,
/// the tables) where missing; without, only a store of cacher's already there is opened, and
/// nothing is made where there is none. Either way, a directory that holds another program's
/// database is refused before anything is made or opened for writing there ([`whose`]).
pub(super) fn open(dir: &Path, create: bool, wait: Duration) -> heed::Result<Store> {
    if create {
        crate::private_dir::create(dir)?;
    }
    let path = dir
        .canonicalize()
        .map_err(|e| no_store(dir, &e.to_string()))?;
    super::opened::once(&path, wait, || open_at(&path, create, wait))
}

/// [`open`] of the store at the canonical `path`, under its slot's lock (`opened.rs`).
fn open_at(path: &Path, create: bool, wait: Duration) -> heed::Result<Store> {
    whose(path, create)?;
    // On a read-only mount (a store shipped in a container's image) without a lock file,
    // opened to be read without LMDB's locks (which cannot be written there): no process uses
    // them, so none writes. With a lock file, a process may be writing the same files through
    // another mount (a read-only bind of a directory the host writes), and a reader without the
    // locks would be killed by LMDB (an assertion, SIGABRT): refused instead — the tier fails,
    // values are computed (RELIABILITY.md).
    let read_only = on_a_read_only_mount(path);
    if read_only && root_has(path, "lock.mdb") {
        let why = format!("{}: {LOCKED_READ_ONLY}", path.display());
        return Err(io::Error::new(io::ErrorKind::ReadOnlyFilesystem, why).into());
    }
    own_files(path, !read_only)?;
    let flags = if read_only { READ_ONLY } else { READ_WRITE };
    let env = MAP_SIZES
        .iter()
        .map(|&size| open_env(path, size, flags))
        .find_map(Result::ok)
        .map_or_else(|| open_env(path, MAP_SIZES[MAP_SIZES.len() - 1], flags), Ok)?;
    whole(&env, path)?;
    // Looked at again now that it is open: another program may have written its database
    // since the look above.
    if ownership(&env)? == Ownership::Foreign {
        return Err(not_ours(path, FOREIGN_TABLES));
    }
    // Reader slots of processes that died (kill -9) are freed now, not when they fill up.
    if !read_only {
        env.clear_stale_readers()?;
    }
    Ok(Store {
        read_only,
        ..tables(&env, path, wait)?
    })
}

/// The flags of a store opened to be used (see [`open_env`]).
const READ_WRITE: EnvFlags = EnvFlags::NO_SYNC.union(EnvFlags::NO_READ_AHEAD);

/// The flags of a store on a read-only mount: read, without LMDB's locks.
const READ_ONLY: EnvFlags = EnvFlags::READ_ONLY
    .union(EnvFlags::NO_LOCK)
    .union(EnvFlags::NO_READ_AHEAD);

/// Why a store on a read-only mount with a lock file is not opened.
const LOCKED_READ_ONLY: &str = "the store is on a read-only mount but has a lock file (lock.mdb): a \
     process may be writing it through another mount, and it cannot be read safely without LMDB's \
     locks; ship a read-only store without its lock.mdb to have it read";

/// Whether `name` is in the store's directory (as anything).
fn root_has(path: &Path, name: &str) -> bool {
    path.join(name).symlink_metadata().is_ok()
}

/// Whether the store's database is on a read-only file system (`EROFS` when opened to be
/// written): no process can write it through this mount, whatever its permissions say.
fn on_a_read_only_mount(path: &Path) -> bool {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path.join("data.mdb"))
        .is_err_and(|e| e.kind() == io::ErrorKind::ReadOnlyFilesystem)
}

/// The store's tables: opened in a read transaction when they are there and the first layout's
/// entries are not (every open but a store's first), so that opening a store never waits for a
/// writer — one frozen mid-write (`SIGSTOP`, a debugger) holds LMDB's write lock as long as it
/// is frozen; else made (and the first layout emptied) in a write transaction.
fn tables(env: &Env<WithTls>, path: &Path, wait: Duration) -> heed::Result<Store> {
    let txn = env.read_txn()?;
    let first_layout = match env.open_database::<Bytes, Bytes>(&txn, Some("entries"))? {
        Some(first) => !first.is_empty(&txn)?,
        None => false,
    };
    let found = (
        env.open_database(&txn, None)?,
        env.open_database(&txn, Some("order"))?,
        env.open_database(&txn, Some("meta"))?,
    );
    if let (Some(entries), Some(order), Some(meta), false) =
        (found.0, found.1, found.2, first_layout)
    {
        // Committed, so that the tables' handles stay open in the environment.
        txn.commit()?;
        return Ok(store_of(
            env,
            (entries, order, meta),
            Arc::new(Gate::new(path)),
        ));
    }
    drop(txn);
    // Made behind the writers' gate, as every write is, waiting at most `wait` for it: a
    // process frozen in the first transaction of a new store (`SIGSTOP`, a debugger) cost
    // every other process's open, and so each of its calls, LMDB's wait without end.
    let gate = Arc::new(Gate::new(path));
    let _entered = match gate.enter(wait) {
        Err(e) if e.kind() == io::ErrorKind::TimedOut => return Err(heed::Error::Io(e)),
        entered => entered.ok(),
    };
    let mut txn = env.write_txn()?;
    // The entries are in the unnamed database: LMDB looks a named database's record up again
    // in every transaction that uses it (a hit's read transaction included: 6 % of a hit).
    let entries = env.create_database(&mut txn, None)?;
    let order = env.create_database(&mut txn, Some("order"))?;
    let meta = env.create_database(&mut txn, Some("meta"))?;
    let store = store_of(env, (entries, order, meta), Arc::clone(&gate));
    retire_first_layout(&store, &mut txn)?;
    txn.commit()?;
    Ok(store)
}

/// A store open to be written, of `env`'s three tables (entries, order, meta) and its `gate`.
fn store_of(
    env: &Env<WithTls>,
    (entries, order, meta): (Table, Table, Table),
    gate: Arc<Gate>,
) -> Store {
    Store {
        env: env.clone(),
        entries,
        order,
        meta,
        uses: Arc::new(Uses::new()),
        gate,
        read_only: false,
    }
}

/// One of the store's tables.
type Table = Database<Bytes, Bytes>;

/// The error of a directory that holds no store.
fn no_store(dir: &Path, why: &str) -> heed::Error {
    heed::Error::Io(io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} holds no store ({why})", dir.display()),
    ))
}

/// Refuses, making nothing there, a directory that holds another program's files where the
/// store's would be, and without `create` one that holds no store of cacher's: `data.mdb` must
/// be a regular file, `lock.mdb` one too or missing, and the database either a store's (its
/// `order` and `meta` tables) or, with `create`, empty — or `data.mdb` missing or empty, with
/// `create`. It is looked at read-only, and without LMDB's locks when there is no lock file
/// (which opening with them would make: no process uses them there), then closed before the
/// store is opened.
fn whose(path: &Path, create: bool) -> heed::Result<()> {
    let root = cap_std::fs::Dir::open_ambient_dir(path, cap_std::ambient_authority())?;
    // LMDB opens both by their paths and writes `lock.mdb` even to look (the first opener sizes
    // and writes its table): anything but cacher's own (a hard link, helper-108's review) is
    // refused before it opens them.
    let own = |name: &str, meta: &cap_std::fs::Metadata| {
        let why = crate::private_dir::not_owned_beneath(meta);
        why.map_or(Ok(()), |why| {
            Err(not_ours(path, &format!("its {name}: {why}")))
        })
    };
    match root.symlink_metadata("data.mdb") {
        Ok(data) => {
            own("data.mdb", &data)?;
            match data.len() {
                0 if create => return Ok(()),
                0 => return Err(no_store(path, "its data.mdb is empty")),
                _ => {}
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound && create => return Ok(()),
        Err(e) => return Err(no_store(path, &format!("no data.mdb: {e}"))),
    }
    let flags = match root.symlink_metadata("lock.mdb") {
        Ok(lock) => {
            own("lock.mdb", &lock)?;
            EnvFlags::READ_ONLY
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => EnvFlags::READ_ONLY | EnvFlags::NO_LOCK,
        Err(e) => return Err(e.into()),
    };
    let env = open_env(path, MAP_SIZES[MAP_SIZES.len() - 1], flags)
        .map_err(|e| not_ours(path, &format!("not an LMDB database: {e}")))?;
    if let Err(e) = whole(&env, path) {
        env.prepare_for_closing().wait();
        return Err(e);
    }
    let found = ownership(&env);
    env.prepare_for_closing().wait();
    match found? {
        Ownership::Ours => Ok(()),
        Ownership::Empty if create => Ok(()),
        Ownership::Empty => Err(not_ours(path, "its LMDB database is empty")),
        Ownership::Foreign => Err(not_ours(path, FOREIGN_TABLES)),
    }
}

/// Refuses a database whose file ends before the last page its meta page names (truncated: a
/// copy cut short, a power loss without `durable` on a file system that wrote the meta page
/// before the file's new pages): LMDB reads its pages through the map, and a page past the end
/// of the file is a `SIGBUS` that kills the process — the app's whole program, or `cacher ls`.
/// Looked at before any page is read (the meta pages are read with `pread` when opening).
fn whole(env: &Env<WithTls>, path: &Path) -> heed::Result<()> {
    let pages = env.info().last_page_number as u64 + 1;
    let needed = pages.saturating_mul(u64::from(env.stat().page_size));
    let len = std::fs::metadata(path.join("data.mdb"))?.len();
    if len >= needed {
        return Ok(());
    }
    Err(heed::Error::Io(io::Error::other(NotOurs(format!(
        "{} holds a damaged store: its data.mdb is {len} bytes, shorter than the {needed} its \
         last page needs (truncated), and reading it would kill the process; left as it is: \
         delete the directory to start the store anew",
        path.display()
    )))))
}

/// Whose an LMDB database is, by its tables.
#[derive(Debug, PartialEq, Eq)]
enum Ownership {
    /// A store's: its `order` and `meta` tables are there.
    Ours,
    /// No rows at all: a store made up to its environment and no further, or no one's.
    Empty,
    /// Rows, but not the store's `order` and `meta` tables: another program's, which a store
    /// must neither write its tables into nor take for its first layout and empty.
    Foreign,
}

/// Why a database is [`Ownership::Foreign`].
const FOREIGN_TABLES: &str =
    "its LMDB database has rows but not the store's `meta` and `order` tables";

/// Whose the database of `env` is, read in a read transaction.
fn ownership(env: &Env<WithTls>) -> heed::Result<Ownership> {
    let txn = env.read_txn()?;
    let has = |name| {
        matches!(
            env.open_database::<Bytes, Bytes>(&txn, Some(name)),
            Ok(Some(_))
        )
    };
    if has("order") && has("meta") {
        return Ok(Ownership::Ours);
    }
    let main: Option<Database<Bytes, Bytes>> = env.open_database(&txn, None)?;
    if main.map_or(Ok(true), |main| main.is_empty(&txn))? {
        Ok(Ownership::Empty)
    } else {
        Ok(Ownership::Foreign)
    }
}

/// The error of a directory whose `data.mdb` is not a store of cacher's ([`is_foreign`]).
fn not_ours(path: &Path, why: &str) -> heed::Error {
    heed::Error::Io(io::Error::other(NotOurs(format!(
        "{} is not a store of cacher's ({why}): left as it is",
        path.display()
    ))))
}

/// What [`not_ours`] says, as an error type of its own so that [`is_foreign`] tells it apart.
#[derive(Debug)]
struct NotOurs(String);

impl std::fmt::Display for NotOurs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotOurs {}

/// Whether `error` ([`io_error`] of [`open`]'s) refused a directory as another program's: a
/// verdict that holds for as long as the process runs (a backend does not look there again).
pub(super) fn is_foreign(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(<dyn std::error::Error + Send + Sync>::is::<NotOurs>)
}

/// LMDB's files in `dir`, made now as regular files beneath it when missing, or found there:
/// LMDB opens them by their paths and follows links, so a `data.mdb` or `lock.mdb` planted as a
/// link leading out of the directory would have it write another program's file (extend it to a
/// lock table, take an empty one for a database). Opened beneath the directory's handle
/// (cap-std: a link that leads out is refused, as the file tier's entries are); anything but a
/// regular file is refused. (A file swapped for a link between this check and LMDB's open is
/// not seen: that needs a writer in the directory at that instant.) Not `writable` (a read-only
/// mount): only `data.mdb`, found, as LMDB then opens no lock file.
fn own_files(dir: &Path, writable: bool) -> heed::Result<()> {
    let root = cap_std::fs::Dir::open_ambient_dir(dir, cap_std::ambient_authority())?;
    let mut options = cap_std::fs::OpenOptions::new();
    options.read(true).write(writable).create(writable);
    #[cfg(unix)]
    cap_std::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let names: &[&str] = match writable {
        true => &["data.mdb", "lock.mdb"],
        false => &["data.mdb"],
    };
    for name in names {
        let refused = |why: &str| {
            heed::Error::Io(io::Error::other(format!(
                "{}: {why}; the store does not open it",
                dir.join(name).display()
            )))
        };
        let file = root
            .open_with(name, &options)
            .map_err(|e| {
                refused(&format!(
                    "cannot be opened beneath the store's directory ({e})"
                ))
            })?
            .into_std();
        // LMDB writes both in place: a hard link planted there would have it write a file
        // outside the store's directory, as a symbolic link would.
        if let Some(why) = crate::private_dir::not_owned(&file.metadata()?) {
            return Err(refused(why));
        }
        if *name == "lock.mdb" {
            reserve_lock_table(&file).map_err(|e| match e.kind() {
                io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => refused(&format!(
                    "no room for LMDB's lock table on its device ({e}): a full disk"
                )),
                _ => refused(&format!(
                    "LMDB's lock table cannot be given its blocks ({e})"
                )),
            })?;
        }
    }
    Ok(())
}

/// The bytes of LMDB's lock table for [`MAX_READERS`] readers (`mdb_env_setup_locks`: its
/// header, two cache lines and a first reader's slot, then a 64-byte slot per other reader).
const LOCK_TABLE: u64 = 192 + 64 * (MAX_READERS as u64 - 1);

/// Gives `lock.mdb` the disk blocks of its whole lock table now. LMDB sizes the file with
/// `ftruncate`, which leaves it sparse, and writes it through its map: a reader's slot on a
/// page never written before needs a block then, and on a full disk the kernel kills the
/// process for it (`SIGBUS`, helper-105: a store opened on a full disk, or one whose 64th
/// reader thread came after the disk filled). Reserved here, a full disk is an error when the
/// store opens (the tier fails, the function's value is returned), never a signal later.
/// Blocks already there keep their bytes (other processes' slots); a file system that cannot
/// reserve (no `fallocate`) is left as LMDB leaves it.
fn reserve_lock_table(file: &std::fs::File) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    {
        let len = file.metadata()?.len().max(LOCK_TABLE);
        match rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), 0, len) {
            Ok(()) => Ok(()),
            Err(e) if e == rustix::io::Errno::OPNOTSUPP => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    {
        let _ = file;
        Ok(())
    }
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

/// Whether a key of the unnamed database is an entry's (`namespace \0 version \0 key`), not the
/// record of a named database (`order`, `meta`, `entries`: names without a NUL).
pub(super) fn is_entry(id: &[u8]) -> bool {
    id.contains(&0)
}

/// The environment at `path`, mapping `map_size` bytes, with `flags`: [`READ_WRITE`] for a
/// store in use, or read-only to look at a directory first ([`whose`]).
fn open_env(path: &Path, map_size: usize, flags: EnvFlags) -> heed::Result<Env<WithTls>> {
    let mut options = EnvOpenOptions::new();
    options
        .map_size(map_size)
        .max_dbs(3)
        .max_readers(MAX_READERS);
    // SAFETY: LMDB's rules for a memory-mapped environment are kept: it is opened once per
    // process (under its directory's slot in `opened.rs`; the read-only look of `whose` is closed
    // before, under the same lock), only through LMDB (the directory holds nothing else of ours
    // but the lock folder), and with NO_SYNC, whose only cost is durability across a power loss:
    // a process killed at any moment leaves the last committed transaction in the page cache,
    // whole.
    // Durable stores sync after their commits (`Env::force_sync`). NO_LOCK goes only with
    // READ_ONLY, and only where there is no lock file (no process uses LMDB's locks there) or
    // on a read-only mount (no process writes through it; a writer through another mount of
    // the same files is the one case not kept, documented as not supported).
    #[allow(unsafe_code)]
    unsafe {
        options.flags(flags);
        options.open(path)
    }
}

/// `error` of the store in `dir`, said as a full disk when it is one: LMDB reports a write cut
/// short as `EIO` ("Input/output error"), which does not tell an operator the disk is full
/// (helper-105); so an `EIO` on a file system with no block left for the process is said so.
pub(super) fn disk_full_said(dir: &Path, error: io::Error) -> io::Error {
    #[cfg(unix)]
    if error.raw_os_error() == Some(5) && rustix::fs::statvfs(dir).is_ok_and(|fs| fs.f_bavail == 0)
    {
        let why = format!("no space left on the device ({error}, as LMDB reports a short write)");
        return io::Error::new(io::ErrorKind::StorageFull, why);
    }
    let _ = dir;
    error
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

    use super::{MAP_SIZES, READ_WRITE, open, open_env};

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
            let env = open_env(&path, MAP_SIZES[MAP_SIZES.len() - 1], READ_WRITE).unwrap();
            put(&env, Some("entries"), &[(id, b"12345678old entry")]);
            put(&env, Some("order"), &[(b"app::f\0\0\0\0\0\0\0\0\x01", id)]);
            put(&env, Some("meta"), &[(b"seq", &1u64.to_be_bytes())]);
            put(&env, None, &[(b"app::g\0\0k", b"12345678written beside")]);
            env.prepare_for_closing().wait();
        }
        let store = open(&path, true, std::time::Duration::from_secs(5)).unwrap();
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
