//! Two stores whose values' `Clone` (run as each is inserted into memory) insert the other's
//! key: each insert waits for the other's store, which waits for it, until the invalidations'
//! bound (10 s) ends both waits and the inserts go on. The stores' older values then landed in
//! memory after the inserts had returned `Ok`, while the file tier held nothing (helper-116). A
//! store that an invalidation went on without writes no tier, memory included.

use std::sync::{Arc, Barrier, Mutex};

use cacher::{Cache, MemoryBackend, SeparateFileBackend};

use super::HookedValue as Hooked;

fn build(dir: &std::path::Path) -> Cache<u64, Hooked> {
    Cache::builder()
        .namespace("adversarial::crossstores")
        .backend(MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir))
        .build()
        .unwrap()
}

#[test]
fn stores_that_insert_each_others_key_from_their_values_clone_leave_the_tiers_agreeing() {
    let dir = tempfile::tempdir().unwrap();
    let cache = build(dir.path());
    let both_storing = Arc::new(Barrier::new(2));
    let store = |key: u64, other: u64| {
        let (cache, both) = (cache.clone(), Arc::clone(&both_storing));
        std::thread::spawn(move || {
            let value = Hooked::new(key * 10);
            let (inner, returned) = (cache.clone(), Arc::new(Mutex::new(None)));
            let result = Arc::clone(&returned);
            value.arm(move || {
                both.wait();
                *result.lock().unwrap() = Some(inner.insert(&other, Hooked::new(other * 100)));
            });
            let got = cache.get_or_compute(&key, || value).n;
            let inserted = returned.lock().unwrap().take();
            (got, inserted)
        })
    };
    let (a, b) = (store(1, 2), store(2, 1));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    assert_eq!((a.0, b.0), (10, 20), "each caller gets its value");
    let fresh = build(dir.path());
    for key in [1, 2] {
        let memory = cache.get(&key).map(|v| v.n);
        let file = fresh.get(&key).map(|v| v.n);
        assert_eq!(memory, file, "key {key}: memory and file agree");
        // An insert that returned Ok stands: no older value after it.
        let inserted = if key == 2 { &a.1 } else { &b.1 };
        if let Some(Ok(())) = inserted {
            assert_ne!(
                memory,
                Some(key * 10),
                "key {key}: the older value after an insert"
            );
        }
    }
}
