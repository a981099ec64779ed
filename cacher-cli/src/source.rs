//! Where the caches are (a directory or a Redis server), and the walk over them.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cacher::backend::{Found, Listed};
use cacher::entry::EntryMeta;
use cacher::{Listing, RedisBackend, RedisOptions, SeparateFileBackend, StoreBackend};
use indicatif::{ProgressBar, ProgressStyle};

use crate::{Global, waits};

/// What a walk found: cacher's things, how many things it looked at, the stores it passed.
pub struct Walked {
    pub listed: Vec<Listed>,
    pub seen: usize,
    pub stores: Vec<String>,
}

/// A place holding caches, opened.
pub struct Source {
    /// What to call it in messages: the directory or the server (without its password).
    pub name: String,
    pub listing: Box<dyn Listing>,
    /// Files: entries past the `--ttl` are expired. Redis drops its own.
    pub ttl: Option<Duration>,
    /// Whether it is a Redis server (which drops expired entries itself).
    pub redis: bool,
    /// The directory of file caches, when it is one.
    dir: Option<PathBuf>,
}

impl Source {
    /// The directory (`root`, else `--root`, else the default one) or `--redis` server.
    pub fn open(global: &Global, root: Option<&Path>) -> Result<Self, String> {
        if let Some(url) = &global.redis {
            let options = RedisOptions::new(url.clone());
            let name = options.redacted_url();
            let backend = RedisBackend::new(options)
                .map_err(|e| format!("{e}: write the URL as redis://[:password@]host:port/db"))?;
            return Ok(Self {
                name,
                listing: Box::new(backend),
                ttl: global.ttl,
                redis: true,
                dir: None,
            });
        }
        if let Some(dir) = &global.store {
            // Nothing is made where there is no store of cacher's. A removal waits for another
            // process's write however long it takes (the removal is what was asked), saying so
            // ([`removing`](Self::removing)), not the caches' `write_timeout` for each entry.
            let store = StoreBackend::open_existing(dir)
                .map_err(|e| format!("{e}: give the directory of a store cache"))?
                .write_timeout(Duration::MAX);
            return Ok(Self {
                name: dir.display().to_string(),
                listing: Box::new(store),
                ttl: global.ttl,
                redis: false,
                dir: None,
            });
        }
        let dir: PathBuf = root
            .or(global.root.as_deref())
            .map_or_else(|| cacher::root_dir().to_path_buf(), Path::to_path_buf);
        if !dir.is_dir() {
            return Err(format!(
                "{} is not a directory: give the directory of your caches (cacher ls DIR, or \
                 --root DIR), or set CACHER_DIR",
                dir.display()
            ));
        }
        if let Some(why) = holds_no_caches(&dir) {
            return Err(format!(
                "{} is not a directory of caches ({why}): give the directory of your caches \
                 (cacher ls DIR, or --root DIR), or set CACHER_DIR",
                dir.display()
            ));
        }
        Ok(Self {
            name: dir.display().to_string(),
            listing: Box::new(SeparateFileBackend::new(&dir)),
            ttl: global.ttl,
            redis: false,
            dir: Some(dir),
        })
    }

    /// Everything of cacher's in the place (entries and problems), how many things were
    /// looked at, and the stores passed (the directories of a `data.mdb`, whose entries a walk of
    /// files cannot read), with a spinner on stderr when it is a terminal. Files that are not
    /// cacher's are counted, not kept: the default root is the platform's cache directory, where
    /// other programs may keep millions.
    pub fn walk(&self) -> Result<Walked, String> {
        let spinner = ProgressBar::new_spinner();
        spinner.set_style(
            ProgressStyle::with_template("{spinner} {msg} {pos} files ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        spinner.set_message(format!("reading {}", crate::print::clean(&self.name)));
        let (mut all, mut seen, mut stores) = (Vec::<Listed>::new(), 0, Vec::new());
        // Where each kept thing is in `all`: a location listed twice is one entry, counted,
        // sized and removed once. (Redis's SCAN may return a key twice; `RedisBackend`'s listing
        // now leaves it out itself, as `Listing` promises: this keeps the promise for any other.)
        let mut at: HashMap<String, usize> = HashMap::new();
        let result = self.listing.list(&mut |listed| {
            if listed.found != Found::Other {
                match at.entry(listed.location.clone()) {
                    // The later reading, the newer.
                    Entry::Occupied(i) => all[*i.get()] = listed,
                    Entry::Vacant(slot) => {
                        seen += 1;
                        slot.insert(all.len());
                        all.push(listed);
                    }
                }
            } else if let Some(dir) = self.store_at(&listed.location) {
                seen += 1;
                stores.push(dir);
            } else {
                seen += 1;
            }
            spinner.inc(1);
            ControlFlow::Continue(())
        });
        spinner.finish_and_clear();
        result.map_err(|e| format!("cannot list {}: {e}", self.name))?;
        Ok(Walked {
            listed: all,
            seen,
            stores,
        })
    }

    /// The directory of the store whose database is at `location`, when it is a `data.mdb` in
    /// a directory of files.
    fn store_at(&self, location: &str) -> Option<String> {
        let dir = self.dir.as_ref()?;
        let parent = match location.rsplit_once('/') {
            Some((parent, "data.mdb")) => dir.join(parent),
            None if location == "data.mdb" => dir.clone(),
            _ => return None,
        };
        Some(parent.display().to_string())
    }

    /// Moves the generation of every key of each namespace of `doomed` (entries `clear` is
    /// about to remove), where they are: a value that a call began before the clear does not
    /// land after it, not even one of a key that has no entry yet, which no removal reaches.
    /// Says so when it waits, as [`removing`](Self::removing) does.
    pub fn invalidate_namespaces(&self, doomed: &[&Listed]) -> Result<(), String> {
        let mut namespaces: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for item in doomed {
            if let Some(meta) = item.meta() {
                let locations = namespaces.entry(meta.namespace.as_str()).or_default();
                locations.push(item.location.as_str());
            }
        }
        self.removing(|_| {
            (namespaces.iter())
                .try_for_each(|(namespace, locations)| self.invalidate(namespace, locations))
        })
    }

    /// What a problem `verify` finds here is called: a file in a directory of files, else an
    /// entry (a store's row, a Redis key).
    pub fn problems(&self, n: usize) -> String {
        match self.dir {
            Some(_) => crate::print::counted(n, "file", "files"),
            None => crate::print::entries(n),
        }
    }

    /// Moves the generation of every key of `namespace`, which has no entry here, where its
    /// name alone reaches them (a store, a Redis server; not a directory of files, whose
    /// namespace's directory only its entries give): a first value under way when `clear` found
    /// nothing to remove does not land after it either.
    pub fn invalidate_unlisted(&self, namespace: &str) -> Result<(), String> {
        if self.dir.is_some() {
            return Ok(());
        }
        self.removing(|_| self.invalidate(namespace, &[]))
    }

    /// Moves the generation of every key of `namespace`, whose entries are at `locations`
    /// ([`Listing::invalidate_namespace`]); its failure said as `clear` says it.
    fn invalidate(&self, namespace: &str, locations: &[&str]) -> Result<(), String> {
        (self.listing)
            .invalidate_namespace(namespace, locations)
            .map_err(|e| {
                let namespace = crate::print::quoted(namespace);
                format!("cannot clear the namespace {namespace}: {e}")
            })
    }

    /// Runs `work` with a removal of listed entries (`remove_listed`: whether the entry was
    /// still there as listed, and went) that says once on stderr, when one has not ended after
    /// a few seconds, what it waits for ([`waits`]).
    pub fn removing<T>(
        &self,
        work: impl FnOnce(&dyn Fn(&Listed) -> cacher::Result<bool>) -> T,
    ) -> T {
        let why = if self.redis {
            "the server does not answer"
        } else if self.dir.is_none() {
            "another process holds the store's writer lock (one stopped mid-write, by SIGSTOP or \
             a debugger, holds it until it resumes or exits)"
        } else {
            "the file system does not answer"
        };
        let waiting = format!(
            "still waiting to remove an entry of {}: {why}. Ctrl-C stops here; the entries not \
             yet removed stay as they are",
            crate::print::clean(&self.name)
        );
        waits::told(&waiting, |tick| {
            work(&|listed| {
                let removed = self.listing.remove_listed(listed);
                tick();
                removed
            })
        })
    }

    /// The ttl that applies to `meta`: its own (`ttl_fn`), else `--ttl` (in milliseconds,
    /// rounded up as the cache rounds its own: `ceil_ms`).
    pub fn ttl_of(&self, meta: &EntryMeta) -> Option<u64> {
        meta.ttl_ms.or_else(|| self.ttl.map(ceil_ms))
    }

    /// Whether `meta`'s entry is past its ttl.
    pub fn expired(&self, meta: &EntryMeta) -> bool {
        expired_at(self.ttl_of(meta), meta.created_ms, now_ms())
    }
}

/// Whether an entry made at `created_ms` with `ttl` (milliseconds) is expired at `now_ms`: from
/// `created + ttl` on, as the cache counts it (a hit is fresh only while its age is under the
/// ttl), and as `ls` shows it. An entry made further ahead of now than its ttl (by a clock
/// running ahead) is expired too, as the cache never serves it (`Ttl::freshness`).
fn expired_at(ttl: Option<u64>, created_ms: u64, now_ms: u64) -> bool {
    ttl.is_some_and(|ttl| match created_ms.checked_sub(now_ms) {
        Some(ahead) if ahead > 0 => ahead > ttl,
        _ => now_ms - created_ms >= ttl,
    })
}

/// `duration` in whole milliseconds, rounded up and saturating, as the cache rounds a ttl it is
/// given: `--ttl 1500us` is the 2 ms the cache uses, never the 1 ms after which it still serves.
fn ceil_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

/// Why `dir` cannot be a directory of caches, if it cannot: the file system's root (a walk of
/// it reads every file of the machine) or a file system of the kernel's (`/proc`, `/sys`),
/// whose files are not files of caches. (Below a directory of caches a walk does enter other
/// file systems: a cache's own entries may be on a mount there.)
fn holds_no_caches(dir: &Path) -> Option<String> {
    let dir = dir.canonicalize().ok()?;
    if dir.parent().is_none() {
        return Some("it is the file system's root".into());
    }
    #[cfg(target_os = "linux")]
    if let Some(name) = kernel_file_system(&dir) {
        return Some(format!("it is on {name}, a file system of the kernel's"));
    }
    None
}

/// The name of the kernel's file system `dir` is on, if it is on one (by `statfs`'s type).
#[cfg(target_os = "linux")]
fn kernel_file_system(dir: &Path) -> Option<&'static str> {
    const KERNEL: [(i128, &str); 14] = [
        (0x9fa0, "proc"),
        (0x6265_6572, "sysfs"),
        (0x6462_6720, "debugfs"),
        (0x7472_6163, "tracefs"),
        (0x7363_6673, "securityfs"),
        (0x0027_e0eb, "cgroup"),
        (0x6367_7270, "cgroup2"),
        (0xcafe_4a11, "bpf"),
        (0x1cd1, "devpts"),
        (0x6265_6570, "configfs"),
        (0xde5e_81e4, "efivarfs"),
        (0x6165_676c, "pstore"),
        (0x6573_5543, "fusectl"),
        (0x4249_4e4d, "binfmt_misc"),
    ];
    let kind = i128::from(rustix::fs::statfs(dir).ok()?.f_type);
    KERNEL
        .iter()
        .find(|(magic, _)| *magic == kind)
        .map(|(_, name)| *name)
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// How long ago `ms` was (0 for a time in the future).
pub fn age_ms(ms: u64) -> u64 {
    now_ms().saturating_sub(ms)
}

/// Whether a listed thing is a problem `verify` reports.
pub fn is_problem(found: &Found) -> bool {
    match found {
        Found::Temporary { orphaned } => *orphaned,
        Found::Foreign { .. } | Found::Corrupt | Found::Unreadable { .. } => true,
        Found::Entry(_) | Found::Other => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{Source, ceil_ms, expired_at};
    use cacher::backend::{Found, Listed};
    use cacher::entry::EntryMeta;
    use std::ops::ControlFlow;
    use std::time::Duration;

    /// Lists `a`, `b`, then `a` again (newer), as Redis's SCAN may when its table shrinks.
    struct Twice;

    impl cacher::Listing for Twice {
        fn list(&self, visit: &mut dyn FnMut(Listed) -> ControlFlow<()>) -> cacher::Result<()> {
            for (location, created_ms) in [("a", 1), ("b", 1), ("a", 2)] {
                let _ = visit(Listed {
                    location: location.into(),
                    size: 10,
                    modified_ms: None,
                    expires_in_ms: None,
                    found: Found::Entry(EntryMeta {
                        namespace: "ns".into(),
                        version: None,
                        key: location.into(),
                        args: None,
                        type_name: "u8".into(),
                        code: None,
                        created_ms,
                        ttl_ms: None,
                        touched_ms: created_ms,
                        format: "json",
                    }),
                });
            }
            Ok(())
        }
        fn read_at(&self, _: &str) -> cacher::Result<Option<Vec<u8>>> {
            Ok(None)
        }
        fn remove_at(&self, _: &str) -> cacher::Result<()> {
            Ok(())
        }
    }

    /// A key listed twice is one entry: `ls` and `stats` count it once, `prune --max-size`
    /// sizes it once (it removed entries to make room that two copies of one key took).
    #[test]
    fn a_location_listed_twice_is_one_entry_the_later_reading() {
        let source = Source {
            name: "twice".into(),
            listing: Box::new(Twice),
            ttl: None,
            redis: true,
            dir: None,
        };
        let walked = source.walk().unwrap();
        let found: Vec<_> = walked
            .listed
            .iter()
            .map(|l| (l.location.as_str(), l.meta().map(|m| m.created_ms)))
            .collect();
        assert_eq!(found, [("a", Some(2)), ("b", Some(1))]);
        assert_eq!(walked.seen, 2);
    }

    #[test]
    fn an_entry_whose_age_is_its_ttl_is_expired_as_the_cache_counts_it() {
        assert!(!expired_at(Some(1_000), 5_000, 5_999));
        assert!(expired_at(Some(1_000), 5_000, 6_000));
        assert!(!expired_at(None, 0, u64::MAX));
        // Ahead of now: fresh within its ttl, expired further ahead, as the cache judges it.
        assert!(!expired_at(Some(1_000), 6_000, 5_000));
        assert!(expired_at(Some(1_000), 6_001, 5_000));
    }

    #[test]
    fn a_ttl_that_is_not_whole_milliseconds_is_rounded_up_as_the_cache_does() {
        assert_eq!(ceil_ms(Duration::from_micros(1_500)), 2);
        assert_eq!(ceil_ms(Duration::from_micros(500)), 1);
        assert_eq!(ceil_ms(Duration::from_secs(90)), 90_000);
        assert_eq!(ceil_ms(Duration::MAX), u64::MAX);
    }
}
