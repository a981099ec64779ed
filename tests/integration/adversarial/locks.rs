//! User code (a key's `Eq`, a value's `Clone`) that runs under a memory shard's lock and looks
//! into, or stores into, another shard that another thread's user code holds: each waits for the
//! other's lock. Ordered by hooks in `Eq` and `Clone`, and channels, never sleeps.

use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use cacher::Cache;
use serde::{Deserialize, Serialize};

/// How long a wait here counts as a deadlock: well past the 10 s bound on an invalidation's
/// wait for a store in progress, which a refresh from an insert's `Eq` meets when its key shares
/// a generation stripe with the insert's (it waits for its own caller's store, then goes on).
/// At 10 s the two bounds raced, and the test failed on a loaded machine with a random hasher
/// that put the keys in one stripe.
const WAIT: Duration = Duration::from_secs(30);

type Hook = Box<dyn FnOnce() + Send>;

/// The hooks the next [`LockKey`] `Eq` and [`LockValue`] `Clone` run (once).
static KEY_HOOK: Mutex<Option<Hook>> = Mutex::new(None);
static VALUE_HOOK: Mutex<Option<Hook>> = Mutex::new(None);

fn run_hook(slot: &Mutex<Option<Hook>>) {
    let hook = slot.lock().unwrap().take();
    if let Some(hook) = hook {
        hook();
    }
}

/// A key whose `Eq` runs [`KEY_HOOK`] first.
#[derive(Clone, Serialize, Deserialize)]
struct LockKey(u32);

impl PartialEq for LockKey {
    fn eq(&self, other: &Self) -> bool {
        run_hook(&KEY_HOOK);
        self.0 == other.0
    }
}

impl Eq for LockKey {}

impl std::hash::Hash for LockKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

/// A value whose `Clone` runs [`VALUE_HOOK`] first.
#[derive(Serialize, Deserialize)]
struct LockValue(u32);

impl Clone for LockValue {
    fn clone(&self) -> Self {
        run_hook(&VALUE_HOOK);
        Self(self.0)
    }
}

/// How a try of [`deadlocks_across_two_shards`] went.
#[derive(PartialEq, Debug)]
enum Outcome {
    /// Both calls ended.
    Ended,
    /// They waited for each other's lock, for good.
    Deadlocked,
    /// `other` shares key 1's shard (the hasher is random): the insert waited for the hit's read
    /// lock before running its `Eq`, so the scenario did not arise.
    SameShard,
}

/// Whether user code run under two shards' locks, on two threads, deadlocks: a hit of key 1
/// (its shard's read lock) whose value's `Clone` looks up key `other`, while an insert replacing
/// `other` (the other shard's write lock) runs `other`'s `Eq`, which refreshes key 1 (a store
/// into the first shard). Each thread holds the lock the other waits for.
fn deadlocks_across_two_shards(other: u32) -> Outcome {
    let cache: Cache<LockKey, LockValue> = Cache::builder().build().unwrap();
    cache.insert(&LockKey(1), LockValue(1)).unwrap();
    cache.insert(&LockKey(other), LockValue(2)).unwrap();
    let (in_clone_tx, in_clone) = mpsc::channel::<()>();
    let (go_tx, go) = mpsc::channel::<()>();
    let (done_tx, done) = mpsc::channel::<()>();
    let hit = cache.clone();
    *VALUE_HOOK.lock().unwrap() = Some(Box::new(move || {
        in_clone_tx.send(()).unwrap();
        go.recv_timeout(WAIT).expect("let go");
        let _ = hit.get(&LockKey(other));
    }));
    let reader = cache.clone();
    std::thread::spawn(move || {
        let _ = reader.get(&LockKey(1));
        let _ = done_tx.send(());
    });
    in_clone
        .recv_timeout(WAIT)
        .expect("the hit is in the value's Clone");
    // Key 1's shard is read-locked. The insert replacing `other` runs its Eq under its shard's
    // write lock.
    let (in_eq_tx, in_eq) = mpsc::channel::<()>();
    let (stored_tx, stored) = mpsc::channel::<()>();
    let refresher = cache.clone();
    *KEY_HOOK.lock().unwrap() = Some(Box::new(move || {
        in_eq_tx.send(()).unwrap();
        refresher.refresh(|| refresher.get_or_compute(&LockKey(1), || LockValue(5)));
    }));
    let inserter = cache.clone();
    std::thread::spawn(move || {
        let _ = inserter.insert(&LockKey(other), LockValue(9));
        let _ = stored_tx.send(());
    });
    // In the same shard as key 1, the insert waits for the hit's lock: its Eq does not run yet.
    // (Or, on a loaded machine, it is slow to start: then this try counts for nothing.)
    let same_shard = in_eq.recv_timeout(Duration::from_secs(3)).is_err();
    go_tx.send(()).unwrap();
    if done.recv_timeout(WAIT).is_err() || stored.recv_timeout(WAIT).is_err() {
        return Outcome::Deadlocked;
    }
    *KEY_HOOK.lock().unwrap() = None;
    // Whatever the waits gave up, no value is another key's, and the insert's value is there.
    assert_eq!(cache.get(&LockKey(other)).map(|v| v.0), Some(9));
    assert!(matches!(cache.get(&LockKey(1)).map(|v| v.0), Some(1 | 5)));
    if same_shard {
        Outcome::SameShard
    } else {
        Outcome::Ended
    }
}

/// Lookups and stores from a key's `Eq` or a value's `Clone` (supported: only `insert`,
/// `remove` and `clear` from there are not) must not deadlock two threads when their shards
/// differ. Tried with keys until three were in another shard than key 1's, as the shards are
/// the hasher's (random): most are (15 in 16). A try whose insert was slow to reach its `Eq`
/// counts as same-shard, so a loaded machine takes more tries, not a failure.
#[test]
fn user_code_under_two_shards_locks_on_two_threads_does_not_deadlock() {
    let mut across = 0;
    for other in 2..40 {
        if across == 3 {
            break;
        }
        match deadlocks_across_two_shards(other) {
            Outcome::Deadlocked => panic!(
                "key 1's hit (its value's Clone looking up {other}) and insert({other}) (its Eq \
                 refreshing key 1) wait for each other's shard lock, forever"
            ),
            Outcome::Ended => across += 1,
            Outcome::SameShard => {}
        }
    }
    assert!(
        across >= 3,
        "only {across} keys in another shard than key 1's"
    );
}
