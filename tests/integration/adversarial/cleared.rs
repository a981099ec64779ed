//! A file tier bounded by `max_size` whose entries another process removes (`cacher clear`,
//! `cacher prune`, another process's `clear` or `remove`) while this one keeps writing: this
//! process's index of its entries still holds them. The bound must keep what it says — never
//! more than `max_size` of this process's writes on disk — without dropping entries it has room
//! for, nor counting evictions it did not make. The file tier alone, so that every call reaches
//! the disk; files are removed with `std::fs`, as another process removes them.

use std::path::Path;

use cacher::{Cache, SeparateFileBackend};

const NAMESPACE: &str = "adversarial::cleared";

/// A cache of `dir` whose `max_size` holds exactly ten entries of [`value`]s.
fn bounded(dir: &Path) -> Cache<u32, String> {
    let probe: Cache<u32, String> = Cache::builder()
        .namespace(NAMESPACE)
        .backend(SeparateFileBackend::new(dir.join("probe")))
        .build()
        .unwrap();
    probe.insert(&100, value(100)).unwrap();
    let size = std::fs::metadata(probe.path_of(&100).unwrap())
        .unwrap()
        .len();
    Cache::builder()
        .namespace(NAMESPACE)
        .backend(SeparateFileBackend::new(dir.join("bounded")).max_size(10 * size))
        .build()
        .unwrap()
}

/// Keys of three digits and values of one length: entries of one size.
fn value(key: u32) -> String {
    format!("value {key} {}", "x".repeat(100))
}

fn insert_all(cache: &Cache<u32, String>, keys: impl IntoIterator<Item = u32>) {
    for key in keys {
        cache.insert(&key, value(key)).unwrap();
    }
}

/// Removes the entries of `keys` as another process does: their files go.
fn removed_outside(cache: &Cache<u32, String>, keys: impl IntoIterator<Item = u32>) {
    for key in keys {
        std::fs::remove_file(cache.path_of(&key).unwrap()).unwrap();
    }
}

fn on_disk(cache: &Cache<u32, String>, keys: impl IntoIterator<Item = u32>) -> Vec<u32> {
    keys.into_iter()
        .filter(|key| cache.path_of(key).unwrap().exists())
        .collect()
}

/// After another process removed all ten entries, the cache writes ten new ones: they fit, and
/// nothing is evicted; then five more evict five, and ten stay. (Failed: the ten removed
/// entries, still in the index, were counted as evicted when the new ones pushed them out of it:
/// `stats().evictions` — and `cacher_evictions_total` — said 10 where no entry was dropped.)
#[test]
fn entries_removed_by_another_process_are_not_counted_as_evictions() {
    let dir = tempfile::tempdir().unwrap();
    let cache = bounded(dir.path());
    insert_all(&cache, 100..110);
    removed_outside(&cache, 100..110);
    insert_all(&cache, 200..210);
    assert_eq!(on_disk(&cache, 200..210).len(), 10);
    assert_eq!(cache.stats().evictions, 0, "no entry was dropped");
    insert_all(&cache, 210..215);
    assert_eq!(cache.stats().evictions, 5);
    assert_eq!(on_disk(&cache, 200..215), (205..215).collect::<Vec<_>>());
}

/// Another process removes the five entries this one used last (`cacher prune` goes by age of
/// write, not of use); this one then looks for them and finds them gone. Five new entries then
/// fit beside the five left: nothing is evicted. (Failed: the removed entries, the most
/// recently used in the index, kept counting, so the new ones evicted the five real entries
/// left: five entries on disk where `max_size` holds ten.)
#[test]
fn entries_found_removed_by_another_process_stop_counting_against_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let cache = bounded(dir.path());
    insert_all(&cache, 100..110);
    for key in 100..105 {
        assert_eq!(cache.get(&key), Some(value(key)));
    }
    removed_outside(&cache, 100..105);
    for key in 100..105 {
        assert_eq!(cache.get(&key), None);
    }
    insert_all(&cache, 200..205);
    let kept = on_disk(&cache, (105..110).chain(200..205));
    assert_eq!(kept.len(), 10, "{kept:?}");
    assert_eq!(cache.stats().evictions, 0);
}
