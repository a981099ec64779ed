//! Memory-only key forms (`key = …`, `key_type`, no arguments: `KeyRef::PERSISTENT` false)
//! through every mode: a background refresh, its async twin, a zero ttl (`ttl_fn`) refresh
//! that removes, the companion's controls and store methods (attacker's check, session 13).

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use cacher::{Clock, MockClock, Origin, cached};

use super::{MIN, eventually};

fn pair() -> &'static (Clock, Arc<MockClock>) {
    static MOCK: OnceLock<(Clock, Arc<MockClock>)> = OnceLock::new();
    MOCK.get_or_init(Clock::mock)
}

fn clock() -> Clock {
    pair().0.clone()
}

static NONE_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(ttl = "1m", stale_while_revalidate = "10m", clock = clock)]
fn no_args() -> usize {
    NONE_CALLS.fetch_add(1, SeqCst)
}

static NAMED_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(ttl = "1m", stale_while_revalidate = "10m", clock = clock, key = name.clone(), key_type = "String")]
fn named(name: String, extra: u32) -> String {
    let n = NAMED_CALLS.fetch_add(1, SeqCst);
    format!("{name}{extra}#{n}")
}

static EXPR_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(ttl = "1m", stale_while_revalidate = "10m", clock = clock, key = (name.clone(), 1u8))]
fn expr(name: String) -> String {
    let n = EXPR_CALLS.fetch_add(1, SeqCst);
    format!("{name}#{n}")
}

fn zero(value: &u32) -> Option<Duration> {
    Some(if *value == 7 {
        Duration::ZERO
    } else {
        60 * MIN
    })
}

static ZERO_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(ttl_fn = zero, key = n, key_type = "u32")]
fn zero_ttl(n: u32) -> u32 {
    ZERO_CALLS.fetch_add(1, SeqCst);
    n
}

#[test]
fn memory_only_forms_refresh_in_the_background_and_take_every_control() {
    assert_eq!(no_args(), 0);
    assert_eq!(named("a".into(), 1), "a1#0");
    assert_eq!(expr("a".into()), "a#0");
    pair().1.advance(2 * MIN);
    // Stale within the window: served at once, one refresh each in the background.
    assert_eq!(no_args(), 0);
    assert_eq!(named("a".into(), 2), "a1#0");
    assert_eq!(expr("a".into()), "a#0");
    eventually("the refreshes", || {
        NONE_CALLS.load(SeqCst) == 2
            && NAMED_CALLS.load(SeqCst) == 2
            && EXPR_CALLS.load(SeqCst) == 2
    });
    eventually("the refreshed values", || {
        no_args() == 1 && named("a".into(), 3) == "a2#1" && expr("a".into()) == "a#1"
    });
    // The companion's controls and store methods.
    assert_eq!(no_args_cache().refresh(no_args), 2);
    assert_eq!(no_args_cache().bypass(no_args), 3);
    assert_eq!(no_args_cache().lookup(no_args).origin, Origin::Hit);
    assert_eq!(no_args_cache().get(&()), Some(2));
    no_args_cache().remove(&()).unwrap();
    assert_eq!(no_args_cache().lookup(no_args).origin, Origin::Computed);
    assert_eq!(named_cache().refresh(|| named("a".into(), 4)), "a4#2");
    let name: &str = "a";
    assert_eq!(named_cache().peek(&name).as_deref(), Some("a4#2"));
    named_cache().insert(&name, "set".into()).unwrap();
    assert_eq!(named("a".into(), 5), "set");
    assert_eq!(expr_cache().lookup(|| expr("a".into())).origin, Origin::Hit);
    expr_cache().remove(&("a", 1u8)).unwrap();
    assert_eq!(
        expr_cache().lookup(|| expr("a".into())).origin,
        Origin::Computed
    );
    named_cache().clear().unwrap();
    assert_eq!(named_cache().get(&name), None);
    // A zero ttl: stored nowhere, and a refresh of it removes the entry there was.
    zero_ttl_cache().insert(&7u32, 70).unwrap();
    assert_eq!(zero_ttl_cache().get(&7u32), Some(70));
    assert_eq!(zero_ttl_cache().refresh(|| zero_ttl(7)), 7);
    assert_eq!(zero_ttl_cache().get(&7u32), None);
    assert_eq!(ZERO_CALLS.load(SeqCst), 1);
}

#[cfg(feature = "tokio")]
mod asynchronous {
    use super::*;

    fn pair() -> &'static (Clock, Arc<MockClock>) {
        static MOCK: OnceLock<(Clock, Arc<MockClock>)> = OnceLock::new();
        MOCK.get_or_init(Clock::mock)
    }

    fn clock() -> Clock {
        pair().0.clone()
    }

    static CALLS: AtomicUsize = AtomicUsize::new(0);

    #[cached(ttl = "1m", stale_while_revalidate = "10m", clock = clock)]
    async fn no_args_async() -> usize {
        CALLS.fetch_add(1, SeqCst)
    }

    static KEYED: AtomicUsize = AtomicUsize::new(0);

    #[cached(ttl = "1m", stale_while_revalidate = "10m", clock = clock, key = name.clone(), key_type = "String")]
    async fn named_async(name: String) -> String {
        let n = KEYED.fetch_add(1, SeqCst);
        format!("{name}#{n}")
    }

    #[tokio::test]
    async fn memory_only_async_forms_refresh_in_the_background_and_take_every_control() {
        let mock = &pair().1;
        let base = (no_args_async().await, named_async("b".into()).await);
        mock.advance(2 * MIN);
        assert_eq!((no_args_async().await, named_async("b".into()).await), base);
        for _ in 0..2000 {
            if CALLS.load(SeqCst) == base.0 + 2 && KEYED.load(SeqCst) == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(KEYED.load(SeqCst), 2);
        assert_eq!(named_async("b".into()).await, "b#1");
        let refreshed = named_async_cache()
            .refresh_async(named_async("b".into()))
            .await;
        assert_eq!(refreshed, "b#2");
        let bypassed = named_async_cache()
            .bypass_async(named_async("b".into()))
            .await;
        assert_eq!(bypassed, "b#3");
        let looked = named_async_cache()
            .lookup_async(named_async("b".into()))
            .await;
        assert_eq!((looked.value.as_str(), looked.origin), ("b#2", Origin::Hit));
        assert_eq!(
            no_args_async_cache()
                .lookup_async(no_args_async())
                .await
                .origin,
            Origin::Hit
        );
    }
}

// `clock` with each thing that reads it alone, and with a persistent tier alone (whose entries
// are stamped with its time): each compiles (the rule refuses only a clock nothing reads).

#[cached(time_to_idle = "10m", clock = clock)]
fn idle_only(n: u32) -> u32 {
    n
}

#[cached(rate_limit = "1ms", clock = clock)]
fn limited_only(n: u32) -> u32 {
    n
}

#[cached(ttl_fn = zero, key = n, key_type = "u32", clock = clock)]
fn ttl_fn_only(n: u32) -> u32 {
    n
}

#[cached(
    backend = "file",
    cache_dir = concat!(env!("CARGO_TARGET_TMPDIR"), "/freshness/clocked"),
    clock = clock
)]
fn file_only(n: u32) -> u32 {
    n
}

#[test]
fn a_clock_with_anything_that_reads_it_compiles() {
    assert_eq!(idle_only(1) + limited_only(1) + ttl_fn_only(1), 3);
    file_only_cache().clear().unwrap();
    assert_eq!(file_only(1), 1);
}
