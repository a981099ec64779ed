//! A cache whose build uses the cache itself: its `clock` function calls the function, or its
//! companion. The build initialises a `OnceLock` (the function's static, the registry's cell)
//! that the call inside it asks again: it waited for itself for ever; it panics now, saying
//! why, and the program's other calls go on.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};

use cacher::{Clock, cached};

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

/// The message of `call`'s panic.
fn panic_of(call: impl FnOnce()) -> String {
    let panic = catch_unwind(AssertUnwindSafe(call)).expect_err("a panic, not a wait");
    match panic.downcast::<String>() {
        Ok(message) => *message,
        Err(panic) => panic
            .downcast::<&str>()
            .map(|m| m.to_string())
            .unwrap_or_default(),
    }
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
