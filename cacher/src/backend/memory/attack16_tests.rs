//! Attack 16: a key's `Eq` that looks into the same tier (as a key interned through a cache
//! might, which `reentry_tests` holds to on a lookup) while another thread's write waits for the
//! shard: the lookup must still end.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use super::MemoryBackend;
use super::tests::at;

/// A key whose `Eq`, once [`ARMED`], lets a writer queue on the tier's one shard, then looks up
/// another key in the tier.
#[derive(Clone, serde::Serialize)]
struct Interned(u64);

impl std::hash::Hash for Interned {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

static TIER: OnceLock<MemoryBackend<Interned, u64>> = OnceLock::new();
static ARMED: AtomicBool = AtomicBool::new(false);
/// Set once the other thread's write returned.
static WRITTEN: AtomicBool = AtomicBool::new(false);

impl PartialEq for Interned {
    fn eq(&self, other: &Self) -> bool {
        if let Some(memory) = TIER.get()
            && ARMED.swap(false, Ordering::SeqCst)
        {
            // Another thread writes to the tier now (a new key: it needs the shard's write
            // lock), and waits for it: once it is queued, a reader can no longer take the lock.
            std::thread::spawn(|| {
                let memory = TIER.get().expect("set");
                memory.insert(Interned(3), 30, at(0));
                WRITTEN.store(true, Ordering::SeqCst);
            });
            // Until the writer is queued (or done, if this Eq holds no lock).
            let shard = &memory.tier.active()[0];
            while shard.try_read().is_ok() && !WRITTEN.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
            // The look this Eq makes into the tier: key 2, in the shared table, whose lock this
            // thread holds and a writer waits for. It ends: with key 2's value, or a miss (the
            // lock not free at once); never another value.
            let found = memory.get_hashed(memory.hash(&Interned(2)), &Interned(2));
            let found = found.ok().map(|(value, _)| value);
            assert!(matches!(found, Some(20) | None), "{found:?}");
        }
        self.0 == other.0
    }
}

impl Eq for Interned {}

#[test]
fn a_lookup_whose_keys_eq_looks_into_the_tier_ends_while_a_writer_waits() {
    let memory = TIER.get_or_init(|| MemoryBackend::new().max_entries(10)); // one shard
    memory.insert(Interned(1), 10, at(0));
    memory.insert(Interned(2), 20, at(0));
    ARMED.store(true, Ordering::SeqCst);
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        // Key 1, not in this new thread's index: found in the shared table, under its read lock,
        // where its Eq runs.
        let found = memory.get_hashed(memory.hash(&Interned(1)), &Interned(1));
        let _ = done.send(found.ok().map(|(value, _)| value));
    });
    let found = finished.recv_timeout(Duration::from_secs(10)).expect(
        "the lookup of key 1 never ended: its Eq's look into the tier waits for the shard's \
         read lock behind the queued writer, which waits for the read lock the outer lookup \
         holds (a deadlock)",
    );
    assert_eq!(found, Some(10));
}
