//! The adversarial suite: each way an attacker or a careless neighbour could make cacher serve a
//! wrong value, touch a file that is not its own, crash, or wait without bound — one test per
//! attack, named as the promise that defeats it. docs/RELIABILITY.md maps attacks to tests.

mod aborts;
mod aheadfill;
#[cfg(feature = "tokio")]
mod aheadsame;
#[cfg(feature = "tokio")]
mod asyncmut;
#[cfg(feature = "tokio")]
mod asyncself;
mod bomb;
#[cfg(feature = "tokio")]
mod cancel;
mod cleared;
mod collide;
mod deep;
#[cfg(feature = "tokio")]
mod driven;
mod drops;
mod exclusive;
mod fallback;
#[cfg(feature = "redis")]
mod farexpiry;
mod files;
mod fillback;
mod foreign;
#[cfg(feature = "redis")]
mod forever;
mod forget;
mod formats;
mod genfiles;
mod hungrefresh;
#[cfg(feature = "tokio")]
mod hungremove;
#[cfg(feature = "tokio")]
mod interleave;
mod keys;
mod locks;
mod macros;
mod memstores;
mod midremove;
mod mounted;
mod neighbours;
mod overlaps;
mod races;
#[cfg(feature = "redis")]
mod redisgen;
#[cfg(feature = "redis")]
mod redistype;
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

/// A callback a test arms for one moment of a tier's work.
type Hook = Box<dyn FnOnce() + Send>;

/// A file tier whose next read, once armed, runs a hook right after reading: another process's
/// write landing just after this one's read (as a process scheduled there would), for the tests
/// of what a call writes back from what it read (`touchback`, `fillback`).
#[derive(Clone)]
struct ReadThenHook {
    file: std::sync::Arc<cacher::SeparateFileBackend>,
    hook: std::sync::Arc<std::sync::Mutex<Option<Hook>>>,
}

impl ReadThenHook {
    fn new(dir: &std::path::Path) -> Self {
        Self {
            file: std::sync::Arc::new(cacher::SeparateFileBackend::new(dir)),
            hook: std::sync::Arc::default(),
        }
    }

    /// Runs `hook` after the next read.
    fn arm(&self, hook: impl FnOnce() + Send + 'static) {
        *self.hook.lock().unwrap() = Some(Box::new(hook));
    }
}

impl cacher::PersistentBackend<u64> for ReadThenHook {
    fn name(&self) -> &'static str {
        "file"
    }
    fn get(
        &self,
        key: &cacher::entry::EntryKey<'_>,
    ) -> cacher::Result<Option<cacher::entry::Entry<u64>>> {
        let read = cacher::PersistentBackend::<u64>::get(&*self.file, key);
        let hook = self.hook.lock().unwrap().take();
        if let Some(hook) = hook {
            hook();
        }
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
        cacher::PersistentBackend::<u64>::remove(&*self.file, key)
    }
    fn clear(&self, namespace: &str) -> cacher::Result<()> {
        cacher::PersistentBackend::<u64>::clear(&*self.file, namespace)
    }
}
