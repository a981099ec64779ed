//! The adversarial suite: each way an attacker or a careless neighbour could make cacher serve a
//! wrong value, touch a file that is not its own, crash, or wait without bound — one test per
//! attack, named as the promise that defeats it. docs/RELIABILITY.md maps attacks to tests.

mod aborts;
mod aheadfill;
#[cfg(feature = "tokio")]
mod aheadsame;
#[cfg(feature = "tokio")]
mod asyncbody;
#[cfg(feature = "tokio")]
mod asynccontrol;
#[cfg(feature = "tokio")]
mod asyncmut;
#[cfg(feature = "tokio")]
mod asyncself;
mod attack17;
mod bomb;
#[cfg(feature = "tokio")]
mod cancel;
mod cleared;
mod collide;
mod crossstores;
mod deep;
#[cfg(feature = "tokio")]
mod driven;
mod drops;
mod exclusive;
mod expansions;
mod fallback;
#[cfg(feature = "redis")]
mod farexpiry;
mod files;
mod fillback;
mod flightkeys;
mod foreign;
#[cfg(feature = "redis")]
mod forever;
mod forget;
mod formats;
mod generic;
mod genfiles;
mod handedhash;
mod hungrefresh;
#[cfg(feature = "tokio")]
mod hungremove;
#[cfg(feature = "tokio")]
mod interleave;
mod keys;
mod kindname;
mod listed;
mod locks;
mod macros;
mod memstores;
mod midremove;
mod mounted;
mod neighbours;
mod noruntime;
mod overlaps;
mod ownstore;
mod races;
#[cfg(feature = "tokio")]
mod ratecancel;
#[cfg(feature = "redis")]
mod redisgen;
#[cfg(feature = "redis")]
mod redistype;
mod refused;
mod regrown;
mod samecontrol;
mod selfbuild;
mod sites;
mod skewed;
mod store;
mod storelinks;
mod stores;
mod touchback;
#[cfg(feature = "tokio")]
mod unawaited;
mod underlock;
mod userfns;
mod writes;

/// A memory tier in front of `tier`: the cache of the tests that watch what a persistent tier is
/// written (`tier` a test tier shared with the test, or a directory's).
fn memory_over<Kind>(tier: impl cacher::IntoBackend<u32, u64, Kind>) -> cacher::Cache<u32, u64> {
    cacher::Cache::builder()
        .backend(cacher::MemoryBackend::new())
        .backend(tier)
        .build()
        .unwrap()
}

/// A callback a test arms for one moment of a tier's work, or of a value's.
type Hook = Box<dyn FnOnce() + Send>;

/// A value whose next clone, once armed, runs a hook first (once): user code that the cache
/// runs — under a shard's lock on a hit, as it stores a computed value.
#[derive(serde::Serialize, serde::Deserialize)]
struct HookedValue {
    n: u64,
    #[serde(skip)]
    hook: std::sync::Arc<std::sync::Mutex<Option<Hook>>>,
}

impl HookedValue {
    fn new(n: u64) -> Self {
        Self {
            n,
            hook: std::sync::Arc::default(),
        }
    }

    /// Runs `hook` at the next clone.
    fn arm(&self, hook: impl FnOnce() + Send + 'static) {
        *self.hook.lock().unwrap() = Some(Box::new(hook));
    }
}

impl Clone for HookedValue {
    fn clone(&self) -> Self {
        let hook = self.hook.lock().unwrap().take();
        if let Some(hook) = hook {
            hook();
        }
        Self {
            n: self.n,
            hook: std::sync::Arc::clone(&self.hook),
        }
    }
}

/// When an armed [`Hooked`] tier runs its hook.
#[derive(Clone, Copy, PartialEq, Eq)]
enum When {
    /// Right after its next read: another process's write landing just after this one's read
    /// (as a process scheduled there would), for the tests of what a call writes back from what
    /// it read (`touchback`, `fillback`).
    AfterRead,
    /// Before its next `remove` or `clear`: a call coming between another process's removal of
    /// the key from an earlier tier and from this one (tiers are cleared one after the other).
    BeforeInvalidation,
}

/// A file tier that runs a hook, once armed, at one moment of its work ([`When`]).
#[derive(Clone)]
struct Hooked {
    file: std::sync::Arc<cacher::SeparateFileBackend>,
    hook: std::sync::Arc<std::sync::Mutex<Option<Hook>>>,
    when: When,
}

impl Hooked {
    fn new(dir: &std::path::Path, when: When) -> Self {
        Self {
            file: std::sync::Arc::new(cacher::SeparateFileBackend::new(dir)),
            hook: std::sync::Arc::default(),
            when,
        }
    }

    /// Runs `hook` at the next moment the tier was made for.
    fn arm(&self, hook: impl FnOnce() + Send + 'static) {
        *self.hook.lock().unwrap() = Some(Box::new(hook));
    }

    /// Runs the armed hook, if `now` is its moment.
    fn at(&self, now: When) {
        if now != self.when {
            return;
        }
        let hook = self.hook.lock().unwrap().take();
        if let Some(hook) = hook {
            hook();
        }
    }
}

impl cacher::PersistentBackend<u64> for Hooked {
    fn name(&self) -> &'static str {
        "file"
    }
    fn get(
        &self,
        key: &cacher::entry::EntryKey<'_>,
    ) -> cacher::Result<Option<cacher::entry::Entry<u64>>> {
        let read = cacher::PersistentBackend::<u64>::get(&*self.file, key);
        self.at(When::AfterRead);
        read
    }
    fn insert(
        &self,
        key: &cacher::entry::EntryKey<'_>,
        entry: &cacher::entry::Entry<u64>,
    ) -> cacher::Result<()> {
        self.file.insert(key, entry)
    }
    fn remove(&self, key: &cacher::entry::EntryKey<'_>) -> cacher::Result<()> {
        self.at(When::BeforeInvalidation);
        cacher::PersistentBackend::<u64>::remove(&*self.file, key)
    }
    fn clear(&self, namespace: &str) -> cacher::Result<()> {
        self.at(When::BeforeInvalidation);
        cacher::PersistentBackend::<u64>::clear(&*self.file, namespace)
    }
}
