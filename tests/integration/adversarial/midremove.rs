//! A forced `refresh` of a key begun while a `remove` of that key is under way (clearing a slow
//! tier): once the remove returns, the refresh's value — computed before it returned — must not
//! land in a tier after it, as no other store's may.

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cacher::PersistentBackend;
use cacher::entry::{Entry, EntryKey};

const WAIT: Duration = Duration::from_secs(10);

/// How long the test gives the refresh to reach its tier write: it does at once while a removal
/// is under way (the bug); a refresh that waits for the removal, as an insert does, never does.
const REACHED: Duration = Duration::from_secs(2);

/// A tier over a shared map whose `remove` and whose write of `2` each stop, once armed, until
/// the test lets them go: a disk slow to clear, a write the test holds.
#[derive(Clone, Default)]
pub(super) struct Gated {
    map: Arc<Mutex<HashMap<String, Entry<u64>>>>,
    pub(super) remove: Arc<Mutex<Option<Stop>>>,
    write_of_2: Arc<Mutex<Option<Stop>>>,
}

/// The tier's side of a stop: it says it got there, then waits to be let go.
pub(super) struct Stop {
    reached: Sender<()>,
    go: Receiver<()>,
}

/// The test's side of a stop.
pub(super) struct Cue {
    pub(super) reached: Receiver<()>,
    pub(super) go: Sender<()>,
}

pub(super) fn arm(slot: &Mutex<Option<Stop>>) -> Cue {
    let (reached, reached_rx) = mpsc::channel();
    let (go, go_rx) = mpsc::channel();
    *slot.lock().unwrap() = Some(Stop { reached, go: go_rx });
    Cue {
        reached: reached_rx,
        go,
    }
}

fn stop_at(slot: &Mutex<Option<Stop>>) {
    let stop = slot.lock().unwrap().take();
    if let Some(stop) = stop {
        let _ = stop.reached.send(());
        // Longer than the cache's own bounds (10 s): a test may hold the tier past them.
        let _ = stop.go.recv_timeout(6 * WAIT);
    }
}

impl Gated {
    fn value(&self, key: &str) -> Option<u64> {
        self.map.lock().unwrap().get(key).map(|entry| entry.value)
    }
}

impl PersistentBackend<u64> for Gated {
    fn name(&self) -> &'static str {
        "gated"
    }
    fn get(&self, key: &EntryKey<'_>) -> cacher::Result<Option<Entry<u64>>> {
        Ok(self.map.lock().unwrap().get(key.key).cloned())
    }
    fn insert(&self, key: &EntryKey<'_>, entry: &Entry<u64>) -> cacher::Result<()> {
        if entry.value == 2 {
            stop_at(&self.write_of_2);
        }
        self.map
            .lock()
            .unwrap()
            .insert(key.key.to_owned(), entry.clone());
        Ok(())
    }
    fn remove(&self, key: &EntryKey<'_>) -> cacher::Result<()> {
        stop_at(&self.remove);
        self.map.lock().unwrap().remove(key.key);
        Ok(())
    }
    fn clear(&self, _: &str) -> cacher::Result<()> {
        self.map.lock().unwrap().clear();
        Ok(())
    }
}

/// `remove(1)` stops in the tier (its generation moved, its wait for stores under way over:
/// none was); a forced refresh of key 1 begins then, notes the generation the removal left,
/// computes 2, and `Generations::begin_refresh` finds the key untouched since — it counts the
/// removals under way of its stripe but waits for none, unlike an insert's `begin_insert` — so
/// it writes memory and goes on to the tier. The remove, let go, clears the tier and memory and
/// returns; then the refresh's write lands: the tier serves 2, computed before the remove
/// returned, after it.
#[test]
fn a_refresh_begun_during_a_remove_of_its_key_does_not_store_after_the_remove_returned() {
    let tier = Gated::default();
    let cache = super::memory_over(tier.clone());
    let key = cache.key_of(&1).unwrap();
    cache.insert(&1, 1).unwrap();
    let removal = arm(&tier.remove);
    let remover = cache.clone();
    let remove = std::thread::spawn(move || remover.remove(&1).unwrap());
    removal
        .reached
        .recv_timeout(WAIT)
        .expect("the remove reached the tier");
    let write = arm(&tier.write_of_2);
    let refresher = cache.clone();
    let refresh =
        std::thread::spawn(move || refresher.refresh(|| refresher.get_or_compute(&1, || 2)));
    // The refresh writes its 2 at once (the bug), or waits for the removal (then it never
    // writes: the removal moved its key's generation).
    match write.reached.recv_timeout(REACHED) {
        Ok(()) | Err(RecvTimeoutError::Timeout) => {}
        Err(RecvTimeoutError::Disconnected) => panic!("the tier's stop went away"),
    }
    removal.go.send(()).unwrap();
    remove.join().unwrap();
    // remove(1) has returned: let the refresh's write go, if it is under way.
    let _ = write.go.send(());
    assert_eq!(
        refresh.join().unwrap(),
        2,
        "the refresh's caller gets its value"
    );
    assert_eq!(
        (cache.get(&1), tier.value(&key)),
        (None, None),
        "remove(1) returned, then a refresh begun while it was under way wrote its 2 (computed \
         before the remove returned) to the tier, served after it (cache, tier)"
    );
}
