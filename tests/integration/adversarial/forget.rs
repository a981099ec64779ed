//! `forget_on_failure`: a write a tier refuses (a value its format cannot hold, a full disk)
//! removes the key's entry from that tier, whoever wrote it. Across processes that may be
//! another process's newer entry: the removal is unconditional, and this shows what it costs.

use cacher::{Cache, JsonFormatter, MemoryBackend, SeparateFileBackend};

/// One process's cache over the shared directory.
fn process(dir: &std::path::Path) -> Cache<u32, f64> {
    Cache::builder()
        .namespace("tests::adversarial::forget")
        .backend(MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir).formatter(JsonFormatter))
        .build()
        .unwrap()
}

/// Process B stores 2.0 after process A's call began; A's value (NaN) is refused by JSON, and
/// A's removal takes B's newer entry out of the directory. What is lost is the entry, never a
/// value: had A's write gone through, it would have replaced B's entry all the same (processes
/// writing one key at once: the last write stands), and a removal only turns a hit into a miss
/// (or lets a later tier answer, as the tier's own eviction does). Every process is served its
/// own value or a value computed for the key; a third one computes again.
#[test]
fn a_refused_write_that_removes_another_processs_newer_entry_costs_a_computation_not_a_value() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (process(dir.path()), process(dir.path()));
    a.insert(&1, 1.0).unwrap();
    let refreshed = a.refresh(|| {
        a.get_or_compute(&1, || {
            b.insert(&1, 2.0).unwrap();
            f64::NAN
        })
    });
    assert!(refreshed.is_nan(), "A's caller gets A's value");
    assert!(a.get(&1).is_some_and(f64::is_nan), "A's memory keeps it");
    assert_eq!(b.get(&1), Some(2.0), "B's memory keeps its own");
    let c = process(dir.path());
    assert_eq!(c.get(&1), None, "B's entry went with A's removal");
    assert_eq!(
        c.get_or_compute(&1, || 3.0),
        3.0,
        "a third process computes"
    );
    assert!(a.stats().errors >= 1, "the refused write is counted");
}
