//! The miss machine stepped by hand, where a race between two callers has no point in user code
//! to stop at.

use super::Goal;
use crate::Cache;
use crate::cache::call::Call;
use crate::cache::inner::Memory;
use crate::cache::origin::Origin;
use crate::key::Borrowed;

/// A caller misses in memory; before it looks for a flight, another caller computes and stores
/// the value and leaves. The first, leading a flight of its own, must look again and serve the
/// stored value, not run the function. (Through the API the window holds no code of the key's
/// since an observed call hashes once, so the race is set up here, between the lookup and the
/// miss.)
#[test]
fn a_miss_answered_before_it_joined_serves_the_stored_value() {
    let cache: Cache<u64, u64> = Cache::builder().build().unwrap();
    let inner = &*cache.inner;
    let key = Borrowed::<u64, u64, _>::new(&7);
    let mut hash = 0;
    let memory = inner.lookup_memory_inline(&key, &mut hash);
    assert!(matches!(memory, Memory::Missing(_)), "no entry yet");
    cache.insert(&7, 1).unwrap();
    let mut call = Call::new(&key);
    let mut miss = super::Miss::new(inner, &mut call, hash, Goal::Compute, memory);
    let mut function = Some(|| -> Result<u64, ()> { panic!("the function ran") });
    assert_eq!(miss.run(&mut function), Ok(1));
    assert_eq!(miss.core.origin(), Origin::Hit);
    assert_eq!(cache.stats().misses, 0);
}
