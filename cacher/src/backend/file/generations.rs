//! The file tier's generations of its keys ([`PersistentBackend::generation`]): records in 64
//! small files of the directory's lock folder (`.cacher-locks/generations-XX`), each with the
//! records ([`Moves`]) of 64 of the 4 096 key stripes and a count of the directory's clears,
//! moved by every `insert`, `remove` and `clear`, and a forced refresh's start. A computed value's write compares them and
//! renames its file in while it holds the file's lock (std's `File::try_lock`): no invalidation
//! of any process comes between the look and the write.
//!
//! Each file starts with a random number written when it is made: a directory deleted and made
//! again (its counts back at zero) never gives a generation read before the deletion. Only a
//! read makes a file: an invalidation finds none when no generation was ever read from it (no
//! store can be comparing with one), and leaves a directory that only `insert` wrote to without
//! a lock folder.
//!
//! [`PersistentBackend::generation`]: crate::PersistentBackend::generation

use std::fs::File;
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::time::{Duration, Instant};

use cap_std::fs::{Dir, OpenOptions};

use super::root::Modes;
use crate::backend::Generation;
use crate::backend::generation::{self, Moves, stripe_of};
use crate::lock::LOCK_DIR;
#[cfg(unix)]
use crate::private_dir::nonblocking_flags;

/// What the files begin with: not `{`, so that no listing takes one for a JSON entry.
const MAGIC: &[u8; 16] = b"cacher-gens v1\n\0";
/// The files, and the stripes counted in each.
const FILES: u64 = 64;
const PER_FILE: u64 = 64;
/// Where the random number, the clears' count and the first stripe's count are in a file.
const ID_AT: usize = 16;
const CLEARS_AT: usize = 24;
const STRIPES_AT: usize = 32;
const LEN: usize = STRIPES_AT + Moves::LEN * PER_FILE as usize;
/// The longest a caller waits for another holder of a file's lock (held for one rename, or one
/// record's update): past it, a generation is not read (the value is then not stored) and an
/// invalidation still makes its change, then fails.
const WAIT: Duration = Duration::from_secs(5);

/// Which count an invalidation moves.
pub(super) enum Moved<'a> {
    /// The key whose entry is at this path.
    Key(&'a str),
    /// Every key of the directory (`clear`).
    All,
}

/// The stripe of the entry at `rel`: its file, its record's place in it, and the key's hash.
fn stripe(rel: &str) -> (u64, usize, u64) {
    let (stripe, key) = stripe_of(rel.as_bytes(), FILES * PER_FILE);
    let at = STRIPES_AT + Moves::LEN * (stripe % PER_FILE) as usize;
    (stripe / PER_FILE, at, key)
}

/// A generations file, locked: its counts read (a file made now gets its random number).
struct Locked {
    file: File,
    bytes: [u8; LEN],
}

impl Locked {
    /// The file `number`, locked; made if missing when `create`, else `None` then, and also
    /// when no generation can be read from what is there (see [`unusable`]).
    ///
    /// Opened as an entry is read (`private_dir::nonblocking_flags`): a FIFO planted there opens
    /// at once and is refused by its handle's metadata, never read (a read of it would block for
    /// good); a hard link is refused too (`private_dir::not_owned`).
    fn open(root: &Dir, number: u64, modes: Modes, create: bool) -> io::Result<Option<Self>> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(create);
        #[cfg(unix)]
        {
            cap_std::fs::OpenOptionsExt::mode(&mut options, modes.file);
            cap_std::fs::OpenOptionsExt::custom_flags(&mut options, nonblocking_flags());
        }
        let name = format!("{LOCK_DIR}/generations-{number:02x}");
        let opened = match root.open_with(&name, &options) {
            // The lock folder made on the first use only (not a `mkdir` per call).
            Err(e) if create && e.kind() == io::ErrorKind::NotFound => {
                root.create_dir_with(LOCK_DIR, &modes.dir_builder())?;
                root.open_with(&name, &options)
            }
            opened => opened,
        };
        let file = match opened {
            Ok(file) => file.into_std(),
            Err(e) if !create && unusable(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        // Written in place: a hard link planted there would have a file outside the cache's
        // directory written (`private_dir::not_owned`).
        if let Some(why) = crate::private_dir::not_owned(&file.metadata()?) {
            if !create {
                return Ok(None);
            }
            let why = format!("{name}: {why}; no generation is read from it");
            return Err(io::Error::new(io::ErrorKind::InvalidData, why));
        }
        lock(&file)?;
        let mut locked = Self {
            file,
            bytes: [0; LEN],
        };
        let read = read_up_to(&mut locked.file, &mut locked.bytes)?;
        if read < LEN || locked.bytes[..16] != MAGIC[..] {
            // Made now (or cut short: counted from a new number, which no generation read
            // before has).
            locked.bytes = [0; LEN];
            locked.bytes[..16].copy_from_slice(MAGIC);
            locked.bytes[ID_AT..CLEARS_AT].copy_from_slice(&generation::random().to_le_bytes());
            locked.save()?;
        }
        Ok(Some(locked))
    }

    /// The file `number`, made if missing.
    fn made(root: &Dir, number: u64, modes: Modes) -> io::Result<Self> {
        Self::open(root, number, modes, true)?.ok_or_else(|| io::ErrorKind::NotFound.into())
    }

    fn u64_at(&self, at: usize) -> u64 {
        u64::from_le_bytes(self.bytes[at..at + 8].try_into().expect("8 bytes"))
    }

    /// The file's number and clears, as one word of a generation.
    fn cleared(&self) -> u64 {
        self.u64_at(ID_AT) ^ self.u64_at(CLEARS_AT)
    }

    fn moves(&self, at: usize) -> Moves {
        Moves::from_bytes(&self.bytes[at..at + Moves::LEN])
    }

    fn generation(&self, at: usize) -> Generation {
        Generation::new(u128::from(self.cleared()) << 64 | u128::from(self.moves(at).count()))
    }

    /// Records an invalidation: of the key of hash `key` at `at`, or a clear (`None`).
    fn bump(&mut self, moved: Option<(usize, u64)>) -> io::Result<()> {
        match moved {
            Some((at, key)) => {
                let mut moves = self.moves(at);
                moves.moved(key);
                self.bytes[at..at + Moves::LEN].copy_from_slice(&moves.to_bytes());
            }
            None => {
                let next = self.u64_at(CLEARS_AT).wrapping_add(1);
                self.bytes[CLEARS_AT..CLEARS_AT + 8].copy_from_slice(&next.to_le_bytes());
            }
        }
        self.save()
    }

    fn save(&mut self) -> io::Result<()> {
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(&self.bytes)
    }
}

/// Whether a failed open of a generations file says that no process can read a generation from
/// it either: nothing there, the lock folder not a folder, a folder in the file's place, a
/// symlink leading out of the directory (which cap-std refuses to every process, with an error
/// of its own: no OS error code, unlike a denied permission). An invalidation finds no
/// generation to move then (no store can be comparing with one).
fn unusable(error: &io::Error) -> bool {
    match error.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory | io::ErrorKind::IsADirectory => {
            true
        }
        io::ErrorKind::PermissionDenied => error.raw_os_error().is_none(),
        _ => false,
    }
}

fn read_up_to(file: &mut File, bytes: &mut [u8]) -> io::Result<usize> {
    let mut read = 0;
    while read < bytes.len() {
        match file.read(&mut bytes[read..])? {
            0 => break,
            n => read += n,
        }
    }
    Ok(read)
}

/// Takes `file`'s lock, waiting at most [`WAIT`] (released when the file closes).
fn lock(file: &File) -> io::Result<()> {
    match crate::private_dir::lock_until(file, Instant::now() + WAIT)? {
        true => Ok(()),
        false => {
            let why = "another process held the cache's generations file past 5 s";
            Err(io::Error::new(io::ErrorKind::TimedOut, why))
        }
    }
}

/// The generation of the key whose entry is at `rel`.
pub(super) fn read(root: &Dir, rel: &str, modes: Modes) -> io::Result<Generation> {
    let (number, at, _) = stripe(rel);
    Ok(Locked::made(root, number, modes)?.generation(at))
}

/// Moves the generation of `moved`, then runs the invalidation's `change` (the lock released:
/// a store that compared before the move has renamed its file in, which `change` takes out;
/// one after it finds the generation moved).
///
/// The change is made even when a move failed (a file locked past [`WAIT`], one this user may
/// not write): an invalidation that cannot order the stores under way still takes out what it
/// invalidates, which never makes a value wrong; the first failure is returned then.
pub(super) fn bump<T>(
    root: &Dir,
    moved: &Moved<'_>,
    modes: Modes,
    change: impl FnOnce() -> T,
) -> io::Result<T> {
    let (numbers, moved) = match moved {
        Moved::Key(rel) => {
            let (number, at, key) = stripe(rel);
            (number..number + 1, Some((at, key)))
        }
        Moved::All => (0..FILES, None),
    };
    let mut failed = None;
    for number in numbers {
        let bumped = Locked::open(root, number, modes, false)
            .and_then(|locked| locked.map_or(Ok(()), |mut locked| locked.bump(moved)));
        if let Err(e) = bumped {
            failed.get_or_insert(e);
        }
    }
    let changed = change();
    failed.map_or(Ok(changed), Err)
}

/// The lock of the generations file of the key at `rel`, held, if the key was not invalidated
/// since its generation was `seen` (other keys of its stripe may have been): `None` when it
/// was. A computed value's file is renamed in while it is held (and only then: its temporary
/// file is written, and synced, before), so that no invalidation comes between.
pub(super) fn hold_if_unmoved(
    root: &Dir,
    (rel, seen): (&str, Generation),
    modes: Modes,
) -> io::Result<Option<Held>> {
    let (number, at, key) = stripe(rel);
    let locked = Locked::made(root, number, modes)?;
    let seen = seen.value();
    let unmoved =
        (seen >> 64) as u64 == locked.cleared() && locked.moves(at).admits(seen as u64, key);
    Ok(unmoved.then_some(Held(locked)))
}

/// A generations file's lock, held until dropped ([`hold_if_unmoved`]).
pub(super) struct Held(#[allow(dead_code)] Locked);

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> (tempfile::TempDir, Dir) {
        let temp = tempfile::tempdir().unwrap();
        let dir = Dir::open_ambient_dir(temp.path(), cap_std::ambient_authority()).unwrap();
        (temp, dir)
    }

    #[test]
    fn an_invalidation_moves_the_generation_of_its_key_and_a_clear_every_key() {
        let (_temp, root) = dir();
        let modes = Modes::PRIVATE;
        let (a, b) = (
            read(&root, "ns/a.json", modes).unwrap(),
            read(&root, "ns/b.json", modes).unwrap(),
        );
        assert_eq!(
            read(&root, "ns/a.json", modes).unwrap(),
            a,
            "reading moves nothing"
        );
        bump(&root, &Moved::Key("ns/a.json"), modes, || ()).unwrap();
        assert_ne!(read(&root, "ns/a.json", modes).unwrap(), a);
        let b_now = read(&root, "ns/b.json", modes).unwrap();
        assert!(b_now == b || stripe("ns/a.json") == stripe("ns/b.json"));
        bump(&root, &Moved::All, modes, || ()).unwrap();
        assert_ne!(read(&root, "ns/b.json", modes).unwrap(), b_now);
    }

    #[test]
    fn a_store_runs_only_while_its_generation_is_unmoved() {
        let (_temp, root) = dir();
        let modes = Modes::PRIVATE;
        let seen = read(&root, "ns/k.json", modes).unwrap();
        let held = hold_if_unmoved(&root, ("ns/k.json", seen), modes).unwrap();
        assert!(held.is_some());
        drop(held);
        bump(&root, &Moved::Key("ns/k.json"), modes, || ()).unwrap();
        let held = hold_if_unmoved(&root, ("ns/k.json", seen), modes).unwrap();
        assert!(
            held.is_none(),
            "a value computed before the removal is not stored"
        );
    }

    /// While a store holds the lock, an invalidation waits for it (it comes after the rename).
    #[test]
    fn an_invalidation_waits_for_a_store_that_holds_the_lock() {
        let (_temp, root) = dir();
        let modes = Modes::PRIVATE;
        let seen = read(&root, "ns/k.json", modes).unwrap();
        let held = hold_if_unmoved(&root, ("ns/k.json", seen), modes).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                bump(&root, &Moved::Key("ns/k.json"), modes, || ()).unwrap();
                tx.send(()).unwrap();
            });
            let waited = rx.recv_timeout(Duration::from_millis(200));
            assert!(
                waited.is_err(),
                "the invalidation went on while the store held the lock"
            );
            drop(held);
            rx.recv_timeout(Duration::from_secs(10)).unwrap();
        });
    }

    #[test]
    fn a_store_goes_on_past_another_keys_invalidation_in_its_stripe() {
        let (_temp, root) = dir();
        let modes = Modes::PRIVATE;
        let (number, at, _) = stripe("ns/k.json");
        let other = (0..)
            .map(|n| format!("ns/{n}.json"))
            .find(|rel| stripe(rel).0 == number && stripe(rel).1 == at)
            .unwrap();
        let seen = read(&root, "ns/k.json", modes).unwrap();
        bump(&root, &Moved::Key(&other), modes, || ()).unwrap();
        assert_ne!(
            read(&root, "ns/k.json", modes).unwrap(),
            seen,
            "the stripe moved"
        );
        let held = hold_if_unmoved(&root, ("ns/k.json", seen), modes).unwrap();
        assert!(held.is_some(), "for another key");
    }

    #[test]
    fn a_directory_made_again_never_gives_a_generation_read_before() {
        let (temp, root) = dir();
        let modes = Modes::PRIVATE;
        let key = Moved::Key("ns/k.json");
        read(&root, "ns/k.json", modes).unwrap();
        bump(&root, &key, modes, || ()).unwrap();
        let seen = read(&root, "ns/k.json", modes).unwrap();
        // Deleted and made again, its counts back at zero, then one removal: the count is what
        // it was when `seen` was read, the file's random number is not.
        std::fs::remove_dir_all(temp.path().join(LOCK_DIR)).unwrap();
        read(&root, "ns/k.json", modes).unwrap();
        bump(&root, &key, modes, || ()).unwrap();
        assert_ne!(read(&root, "ns/k.json", modes).unwrap(), seen);
    }

    #[test]
    fn an_invalidation_makes_no_file_where_no_generation_was_read() {
        let (temp, root) = dir();
        bump(&root, &Moved::Key("ns/k.json"), Modes::PRIVATE, || ()).unwrap();
        bump(&root, &Moved::All, Modes::PRIVATE, || ()).unwrap();
        assert!(!temp.path().join(LOCK_DIR).exists());
    }

    /// A generations file held by another process past [`WAIT`] fails the move, not the
    /// invalidation's change.
    #[test]
    fn an_invalidation_whose_move_fails_still_makes_its_change() {
        let (temp, root) = dir();
        let modes = Modes::PRIVATE;
        read(&root, "ns/k.json", modes).unwrap();
        let (number, ..) = stripe("ns/k.json");
        let name = format!("generations-{number:02x}");
        let held = File::open(temp.path().join(LOCK_DIR).join(name)).unwrap();
        held.try_lock().unwrap();
        let mut changed = false;
        let moved = bump(&root, &Moved::Key("ns/k.json"), modes, || changed = true);
        assert_eq!(moved.unwrap_err().kind(), io::ErrorKind::TimedOut);
        assert!(changed, "the change was made");
    }

    /// Generations files linked out of the directory hold no generation: none is read from
    /// them, an invalidation moves none and makes its change, and nothing outside is touched.
    #[cfg(unix)]
    #[test]
    fn generations_files_linked_outside_are_neither_read_nor_written() {
        let (temp, root) = dir();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("target");
        std::fs::write(&target, b"not the cache's").unwrap();
        let locks = temp.path().join(LOCK_DIR);
        std::fs::create_dir(&locks).unwrap();
        for number in 0..FILES {
            let name = locks.join(format!("generations-{number:02x}"));
            std::os::unix::fs::symlink(&target, name).unwrap();
        }
        let modes = Modes::PRIVATE;
        for moved in [Moved::Key("ns/k.json"), Moved::All] {
            let mut changed = false;
            assert!(bump(&root, &moved, modes, || changed = true).is_ok());
            assert!(changed, "the change was made");
        }
        assert!(
            read(&root, "ns/k.json", modes).is_err(),
            "no generation read"
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"not the cache's");
    }

    #[test]
    fn a_file_cut_short_or_not_ours_is_counted_anew() {
        let (temp, root) = dir();
        let modes = Modes::PRIVATE;
        let seen = read(&root, "ns/k.json", modes).unwrap();
        let (number, ..) = stripe("ns/k.json");
        let path = temp
            .path()
            .join(LOCK_DIR)
            .join(format!("generations-{number:02x}"));
        std::fs::write(&path, b"{\"not\": 1}").unwrap();
        assert_ne!(read(&root, "ns/k.json", modes).unwrap(), seen);
        assert_eq!(std::fs::read(&path).unwrap().len(), LEN);
        assert!(std::fs::read(&path).unwrap().starts_with(MAGIC));
    }
}
