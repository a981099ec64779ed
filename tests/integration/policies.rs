//! TTL, stale_if_error and the rate limiter, on a mock clock: no test sleeps.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cacher::{Cache, Clock, MemoryBackend, RateLimiter, SeparateFileBackend};
use cacher_tests::Calls;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

#[test]
fn an_entry_older_than_the_ttl_is_a_miss() {
    let (clock, mock) = Clock::mock();
    let cache: Cache<String, u64> = Cache::builder().ttl(DAY).clock(clock).build().unwrap();
    let calls = Calls::default();
    let compute = || {
        calls.hit();
        calls.count() as u64
    };
    assert_eq!(cache.get_or_compute("k", compute), 1);
    mock.advance(DAY - Duration::from_millis(1));
    assert_eq!(cache.get_or_compute("k", compute), 1, "still fresh");
    mock.advance(Duration::from_millis(1));
    assert_eq!(
        cache.get_or_compute("k", compute),
        2,
        "expired at exactly the ttl"
    );
    assert_eq!(cache.get("k"), Some(2));
}

#[test]
fn the_ttl_applies_to_file_entries_across_caches() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, mock) = Clock::mock();
    let build = || -> Cache<String, u64> {
        Cache::builder()
            .backend(SeparateFileBackend::new(dir.path()))
            .ttl(Duration::from_secs(60))
            .clock(clock.clone())
            .build()
            .unwrap()
    };
    build().insert("k", 1).unwrap();
    mock.advance(Duration::from_secs(59));
    assert_eq!(build().get("k"), Some(1));
    mock.advance(Duration::from_secs(1));
    assert_eq!(build().get("k"), None);
}

#[test]
fn a_tier_fill_keeps_the_original_creation_time() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, mock) = Clock::mock();
    let build = || -> Cache<String, u64> {
        Cache::builder()
            .backend(MemoryBackend::new())
            .backend(SeparateFileBackend::new(dir.path()))
            .ttl(Duration::from_secs(60))
            .clock(clock.clone())
            .build()
            .unwrap()
    };
    build().insert("k", 1).unwrap();
    mock.advance(Duration::from_secs(50));
    let cache = build();
    assert_eq!(cache.get("k"), Some(1)); // fills the memory tier
    mock.advance(Duration::from_secs(10));
    assert_eq!(
        cache.get("k"),
        None,
        "60 s after creation, not after the fill"
    );
}

#[test]
fn stale_if_error_serves_an_expired_entry_when_the_function_fails() {
    let (clock, mock) = Clock::mock();
    let cache: Cache<String, u64> = Cache::builder()
        .ttl(Duration::from_secs(60))
        .stale_if_error(Duration::from_secs(600))
        .clock(clock)
        .build()
        .unwrap();
    cache.insert("k", 1).unwrap();
    mock.advance(Duration::from_secs(61));
    // Expired: a successful call replaces it...
    assert_eq!(cache.try_get_or_compute("k", || Ok::<_, ()>(2)), Ok(2));
    mock.advance(Duration::from_secs(61));
    // ...and a failing call gets the stale value instead of the error.
    assert_eq!(
        cache.try_get_or_compute("k", || Err::<u64, _>("down")),
        Ok(2)
    );
    assert_eq!(cache.stats().stale_served, 1);
    // Past the grace, the error comes through.
    mock.advance(Duration::from_secs(600));
    assert_eq!(
        cache.try_get_or_compute("k", || Err::<u64, _>("down")),
        Err("down")
    );
}

#[test]
fn without_stale_if_error_an_expired_entry_is_never_served() {
    let (clock, mock) = Clock::mock();
    let cache: Cache<String, u64> = Cache::builder()
        .ttl(Duration::from_secs(60))
        .clock(clock)
        .build()
        .unwrap();
    cache.insert("k", 1).unwrap();
    mock.advance(Duration::from_secs(61));
    assert_eq!(
        cache.try_get_or_compute("k", || Err::<u64, _>("down")),
        Err("down")
    );
}

/// Records the mock time at which each underlying call starts.
fn start_times(clock: &Clock) -> (Arc<Mutex<Vec<Duration>>>, impl Fn() -> Duration + '_) {
    let starts = Arc::new(Mutex::new(Vec::new()));
    let record = {
        let starts = Arc::clone(&starts);
        move || {
            let now = clock.monotonic();
            starts.lock().unwrap().push(now);
            now
        }
    };
    (starts, record)
}

#[test]
fn the_rate_limiter_spaces_call_starts_and_hits_never_wait() {
    let (clock, mock) = Clock::mock();
    let cache: Cache<u32, Duration> = Cache::builder()
        .rate_limit(RateLimiter::new(Duration::from_secs(1)).with_clock(clock.clone()))
        .clock(clock.clone())
        .build()
        .unwrap();
    let (starts, record) = start_times(&clock);
    for key in 0..4 {
        cache.get_or_compute(&key, &record);
    }
    let starts = starts.lock().unwrap().clone();
    let gaps: Vec<_> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps, vec![Duration::from_secs(1); 3]);
    // Hits do not move the clock.
    let before = mock.elapsed();
    for key in 0..4 {
        cache.get_or_compute(&key, || unreachable!());
    }
    assert_eq!(mock.elapsed(), before);
}

#[test]
fn one_limiter_shared_by_two_caches_spaces_all_their_calls() {
    let (clock, _mock) = Clock::mock();
    let limiter = RateLimiter::new(Duration::from_millis(500)).with_clock(clock.clone());
    let build = || -> Cache<u32, Duration> {
        Cache::builder()
            .rate_limit(limiter.clone())
            .clock(clock.clone())
            .build()
            .unwrap()
    };
    let (a, b) = (build(), build());
    let (starts, record) = start_times(&clock);
    for key in 0..3 {
        a.get_or_compute(&key, &record);
        b.get_or_compute(&key, &record);
    }
    let starts = starts.lock().unwrap().clone();
    assert_eq!(starts.len(), 6);
    for pair in starts.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(500),
            "{starts:?}"
        );
    }
}

/// Four threads acquiring at once reserve four successive slots, a second apart. Each thread
/// jumps the mock clock to its own slot, so the clock ends 3 s after the first slot, which came
/// at once: not 2 s (two threads given one slot), nor more (a slot skipped). (What each thread
/// reads of the clock after its own jump depends on the others' jumps meanwhile: a thread
/// descheduled between its jump and its read sees a later one. The clock's end does not.)
#[test]
fn concurrent_misses_reserve_successive_slots() {
    let (clock, _mock) = Clock::mock();
    let limiter = RateLimiter::new(Duration::from_secs(1)).with_clock(clock.clone());
    let (starts, record) = start_times(&clock);
    let first = clock.monotonic();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                limiter.acquire();
                record();
            });
        }
    });
    assert_eq!(clock.monotonic() - first, Duration::from_secs(3));
    let starts = starts.lock().unwrap().clone();
    assert_eq!(starts.len(), 4);
    assert!(
        starts
            .iter()
            .all(|&start| start >= first && start - first <= Duration::from_secs(3)),
        "{starts:?}"
    );
}

/// A rate limit as long as a `Duration` holds is a limit, not an overflow: the first call runs.
#[test]
fn a_rate_limit_of_duration_max_lets_the_first_call_run() {
    let cache: Cache<u32, u32> = Cache::builder()
        .rate_limit(cacher::RateLimiter::new(Duration::MAX))
        .build()
        .unwrap();
    assert_eq!(cache.get_or_compute(&1, || 10), 10);
}

/// A machine-wide limiter (a schedule file) whose next slot is far away — taken by callers that
/// are gone, or by a limiter of the name with a longer interval — holds a caller at most its
/// `wait_timeout` (60 s by default), as the Redis schedule does: then the function runs.
/// (Failed: the caller slept until that slot, here a day, however far.)
#[test]
fn a_machine_schedule_far_ahead_holds_a_caller_no_longer_than_the_wait_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, mock) = Clock::mock();
    let day = Duration::from_secs(86_400);
    let daily = RateLimiter::file(dir.path(), "api", day).with_clock(clock.clone());
    daily.acquire();
    let cache: Cache<u32, u32> = Cache::builder()
        .rate_limit(
            RateLimiter::file(dir.path(), "api", Duration::from_secs(1)).with_clock(clock.clone()),
        )
        .clock(clock)
        .build()
        .unwrap();
    assert_eq!(cache.get_or_compute(&1, || 10), 10);
    assert_eq!(mock.elapsed(), Duration::from_secs(60));
}
