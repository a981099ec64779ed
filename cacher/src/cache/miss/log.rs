//! What the miss path logs, once: each message a plain function of the namespace, so that its
//! `tracing` call site (a static, the formatting of its fields) is compiled once in cacher, not
//! once per key and value types of every cache; and the one panic of a machine out of step.

use std::time::Duration;

/// A waiter's bound passed: it runs the function itself.
#[cold]
#[inline(never)]
pub(super) fn waited_too_long(namespace: &str, bound: Duration) {
    tracing::warn!(
        namespace = %namespace,
        "waited {bound:?} for another caller computing this key; computing it here"
    );
}

/// The leader's own function asked for its key.
#[cold]
#[inline(never)]
pub(super) fn reentrant(namespace: &str) {
    tracing::warn!(
        namespace = %namespace,
        "the function computing this key asked for the same key; computing it again here"
    );
}

/// The cross-process lock's wait ended without the lock.
#[cold]
#[inline(never)]
pub(super) fn lock_waited(namespace: &str) {
    tracing::warn!(
        namespace = %namespace,
        "waited for another process computing this key; computing it here"
    );
}

/// A stale entry served while the function backs off after a failure.
#[cold]
#[inline(never)]
pub(super) fn backing_off(namespace: &str) {
    tracing::debug!(
        namespace = %namespace,
        "the function failed lately; serving the stale entry without calling it"
    );
}

/// A background refresh failed.
#[cold]
#[inline(never)]
pub(super) fn refresh_failed(namespace: &str) {
    tracing::warn!(
        namespace = %namespace,
        "the background refresh failed; the stale entry is served until it works \
         (stale_while_revalidate)"
    );
}

/// The function failed and an expired entry is served instead.
#[cold]
#[inline(never)]
pub(super) fn stale_if_error(namespace: &str) {
    tracing::warn!(
        namespace = %namespace,
        "the function failed; serving an expired entry (stale_if_error)"
    );
}

/// A state the machine never reaches, or an answer to a step not asked for: a bug. One panic
/// compiled once, where `unreachable!` would be one more per cache type (compile time).
#[cold]
pub(super) fn out_of_step(what: &str) -> ! {
    unreachable!("{what}")
}

/// The error of an `insert` made from a key's `Eq` or a value's `Clone` running under the key's
/// shard lock, which could not be taken: nothing was stored.
#[cold]
pub(super) fn skipped_insert() -> crate::Error {
    crate::Error::Reentrant(
        "insert made from a key's Eq or a value's Clone while the cache runs it under the key's \
         shard lock, or so slow to clone that a removal went on without it: not stored (insert \
         after the lookup returns instead)"
            .to_owned(),
    )
}
