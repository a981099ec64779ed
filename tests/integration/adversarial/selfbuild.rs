//! A cache whose build uses the cache itself: its `clock` function calls the function, or its
//! companion. The build initialises a `OnceLock` (the function's static, the registry's cell)
//! that the call inside it asks again: it waited for itself for ever; it panics now, saying
//! why, and the program's other calls go on. A method's cache and a generic function's instance's
//! are in a slot per type, a `OnceLock` of its own too.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use cacher::{Clock, cached};
use cacher_tests::panic_of;

static CALL_ITSELF: AtomicBool = AtomicBool::new(false);

/// A clock function that, when told to, calls the function whose cache it is building.
fn calling_clock() -> Clock {
    if CALL_ITSELF.load(Ordering::SeqCst) {
        let _ = itself(1);
    }
    Clock::system()
}

#[cached(ttl = "1h", clock = calling_clock)]
fn itself(n: u32) -> u32 {
    n + 1
}

static ASK_COMPANION: AtomicBool = AtomicBool::new(false);

/// A clock function that, when told to, asks for the cache it is building.
fn asking_clock() -> Clock {
    if ASK_COMPANION.load(Ordering::SeqCst) {
        let _ = its_companion_cache();
    }
    Clock::system()
}

#[cached(ttl = "1h", clock = asking_clock)]
fn its_companion(n: u32) -> u32 {
    n + 2
}

#[test]
fn a_build_that_calls_its_own_function_panics_saying_why() {
    CALL_ITSELF.store(true, Ordering::SeqCst);
    let message = panic_of(|| {
        itself(1);
    });
    assert!(message.contains("used while it is built"), "{message}");
    assert!(message.contains("itself"), "{message}");
    // Nothing was left held: once the clock no longer calls it, the cache is built.
    CALL_ITSELF.store(false, Ordering::SeqCst);
    assert_eq!(itself(1), 2);
    assert_eq!(itself_cache().stats().misses, 1);
}

#[test]
fn a_build_that_asks_for_its_own_companion_panics_saying_why() {
    ASK_COMPANION.store(true, Ordering::SeqCst);
    let message = panic_of(|| {
        its_companion_cache();
    });
    assert!(message.contains("used while it is built"), "{message}");
    ASK_COMPANION.store(false, Ordering::SeqCst);
    assert_eq!(its_companion(1), 3);
    assert_eq!(its_companion_cache().stats().misses, 1);
}

/// What `call` returns on a thread of its own, or a failure saying it hung: a build that waits
/// for itself must fail the test, not hang the suite.
fn within<T: Send + 'static>(call: impl FnOnce() -> T + Send + 'static) -> T {
    let (sent, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sent.send(catch_unwind(AssertUnwindSafe(call)));
    });
    match received.recv_timeout(std::time::Duration::from_secs(30)) {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("the call waited for itself (30 s)"),
    }
}

static METER_CALLS_ITSELF: AtomicBool = AtomicBool::new(false);

/// A clock function that, when told to, calls the method whose cache it is building.
fn meter_clock() -> Clock {
    if METER_CALLS_ITSELF.load(Ordering::SeqCst) {
        let _ = Meter.read(1);
    }
    Clock::system()
}

/// A type whose method's cache lives in a per-type slot (one cache per `Self` type).
struct Meter;

impl Meter {
    #[cached(ttl = "1h", clock = meter_clock)]
    fn read(&self, n: u32) -> u32 {
        n + 3
    }
}

#[test]
fn a_methods_build_that_calls_the_method_panics_saying_why() {
    METER_CALLS_ITSELF.store(true, Ordering::SeqCst);
    let message = within(|| {
        panic_of(|| {
            Meter.read(1);
        })
    });
    assert!(message.contains("used while it is built"), "{message}");
    assert!(message.contains("Meter::read"), "{message}");
    // Nothing was left held: another thread's call, once the clock no longer calls it, builds.
    METER_CALLS_ITSELF.store(false, Ordering::SeqCst);
    assert_eq!(within(|| Meter.read(1)), 4);
    assert_eq!(within(|| Meter::read_cache().stats().misses), 1);
}

/// The regions a generic function prices in: each its own instance, and its own cache.
trait Region: Send + 'static {
    const NAME: &'static str;
}

struct Usd;
impl Region for Usd {
    const NAME: &'static str = "USD";
}

struct Eur;
impl Region for Eur {
    const NAME: &'static str = "EUR";
}

static PRICE_CALLS_ITSELF: AtomicBool = AtomicBool::new(false);

/// A clock function that, when told to, calls the instance (`Usd`) whose cache it is building.
fn price_clock() -> Clock {
    if PRICE_CALLS_ITSELF.load(Ordering::SeqCst) {
        let _ = price(Usd, 1);
    }
    Clock::system()
}

#[cached(ttl = "1h", clock = price_clock)]
fn price<R: Region>(#[cached(skip)] _region: R, id: u32) -> String {
    format!("{id} in {}", R::NAME)
}

#[test]
fn a_generic_instances_build_that_calls_the_instance_panics_saying_why() {
    PRICE_CALLS_ITSELF.store(true, Ordering::SeqCst);
    let message = within(|| {
        panic_of(|| {
            let _ = price(Usd, 1);
        })
    });
    assert!(message.contains("used while it is built"), "{message}");
    assert!(message.contains("price<"), "{message}");
    assert!(message.contains("Usd>"), "{message}");
    PRICE_CALLS_ITSELF.store(false, Ordering::SeqCst);
    assert_eq!(within(|| price(Usd, 1)), "1 in USD");
    assert_eq!(within(|| price_cache::<Usd>().stats().misses), 1);
}

static QUOTE_CALLS_USD: AtomicBool = AtomicBool::new(false);

/// A clock function that, the first time it is told to, calls the `Usd` instance: the build
/// of another instance (`Eur`) uses it, which is no cycle.
fn quote_clock() -> Clock {
    if QUOTE_CALLS_USD.swap(false, Ordering::SeqCst) {
        let _ = quote(Usd, 1);
    }
    Clock::system()
}

#[cached(ttl = "1h", clock = quote_clock)]
fn quote<R: Region>(#[cached(skip)] _region: R, id: u32) -> String {
    format!("{id} in {}", R::NAME)
}

/// The instances of a generic function share its slots: the build of one that calls another
/// instance must not wait on the slot its own build is taking.
#[test]
fn a_generic_instances_build_may_use_another_instance() {
    QUOTE_CALLS_USD.store(true, Ordering::SeqCst);
    assert_eq!(within(|| quote(Eur, 1)), "1 in EUR");
    assert_eq!(within(|| quote_cache::<Usd>().stats().misses), 1);
    assert_eq!(within(|| quote(Usd, 1)), "1 in USD");
    assert_eq!(within(|| quote_cache::<Usd>().stats().hits), 1);
    assert_eq!(within(|| quote_cache::<Eur>().stats().misses), 1);
}

static DIAL_ASKS_COMPANION: AtomicBool = AtomicBool::new(false);

/// A clock function that, when told to, asks for the method's cache it is building.
fn dial_clock() -> Clock {
    if DIAL_ASKS_COMPANION.load(Ordering::SeqCst) {
        let _ = Dial::turn_cache();
    }
    Clock::system()
}

struct Dial;

impl Dial {
    #[cached(ttl = "1h", clock = dial_clock)]
    fn turn(&self, n: u32) -> u32 {
        n + 4
    }
}

#[test]
fn a_methods_build_that_asks_for_its_companion_panics_saying_why() {
    DIAL_ASKS_COMPANION.store(true, Ordering::SeqCst);
    let message = within(|| {
        panic_of(|| {
            let _ = Dial::turn_cache();
        })
    });
    assert!(message.contains("used while it is built"), "{message}");
    assert!(message.contains("Dial::turn"), "{message}");
    DIAL_ASKS_COMPANION.store(false, Ordering::SeqCst);
    assert_eq!(within(|| Dial.turn(1)), 5);
    assert_eq!(within(|| Dial::turn_cache().stats().misses), 1);
}

static FAILED_BUILDS: AtomicUsize = AtomicUsize::new(0);

/// A clock function whose first two calls panic: the first build of each cache below fails.
fn failing_clock() -> Clock {
    if FAILED_BUILDS.fetch_add(1, Ordering::SeqCst) < 2 {
        panic!("this build fails");
    }
    Clock::system()
}

struct Gauge;

impl Gauge {
    #[cached(ttl = "1h", clock = failing_clock)]
    fn level(&self, n: u32) -> u32 {
        n * 5
    }
}

#[cached(ttl = "1h", clock = failing_clock)]
fn total<R: Region>(#[cached(skip)] _region: R, n: u32) -> u32 {
    n * 7
}

/// A build that panics for its own reason inside a per-type slot (a method's, a generic
/// instance's) leaves the slot empty: the next call, from other threads, builds one cache.
#[test]
fn a_failed_build_in_a_per_type_slot_leaves_it_usable() {
    let level = within(|| {
        panic_of(|| {
            let _ = Gauge.level(1);
        })
    });
    let total_message = within(|| {
        panic_of(|| {
            let _ = total(Eur, 1);
        })
    });
    assert!(level.contains("this build fails"), "{level}");
    assert!(
        total_message.contains("this build fails"),
        "{total_message}"
    );
    let caches: Vec<(usize, usize)> = (0..4)
        .map(|n| {
            within(move || {
                assert_eq!(Gauge.level(n), n * 5);
                assert_eq!(total(Eur, n), n * 7);
                let level = std::ptr::from_ref(Gauge::level_cache()).addr();
                (level, std::ptr::from_ref(total_cache::<Eur>()).addr())
            })
        })
        .collect();
    assert!(caches.windows(2).all(|w| w[0] == w[1]), "{caches:?}");
    assert_eq!(Gauge::level_cache().stats().misses, 4);
    assert_eq!(total_cache::<Eur>().stats().misses, 4);
}
